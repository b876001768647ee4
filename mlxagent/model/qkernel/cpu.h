// What every native kernel of mlxagent asks of the CPU, once, and the scalar conversions of
// MLX's half types that the AVX2 loops use (MLX's own float16_t converts in software on x86).
#pragma once

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <type_traits>

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#define MLXAGENT_X86 1
#endif

#include <vector>

#include "mlx/allocator.h"
#include "mlx/array.h"
#include "mlx/backend/cpu/encoder.h"
#include "mlx/types/half_types.h"

namespace mlxagent {

// AVX2, FMA and F16C, unless MLXAGENT_KERNEL_PORTABLE asks for the portable loops.
inline bool cpu_has_avx2() {
#if defined(MLXAGENT_X86) && (defined(__GNUC__) || defined(__clang__))
  static const bool has = [] {
    if (std::getenv("MLXAGENT_KERNEL_PORTABLE")) {
      return false;
    }
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
           __builtin_cpu_supports("f16c");
  }();
  return has;
#else
  return false;
#endif
}

// AVX-512 (F, DQ, VL) beside AVX2, unless MLXAGENT_KERNEL_NO_AVX512 asks for the AVX2 loops only.
// The AVX-512 products hold two of the AVX2 loops' 8-lane accumulators in one register and do
// each lane's arithmetic in the same order, so their results are the AVX2 loops', bit for bit.
inline bool cpu_has_avx512() {
#if defined(MLXAGENT_X86) && (defined(__GNUC__) || defined(__clang__))
  static const bool has = [] {
    if (!cpu_has_avx2() || std::getenv("MLXAGENT_KERNEL_NO_AVX512")) {
      return false;
    }
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
           __builtin_cpu_supports("avx512vl");
  }();
  return has;
#else
  return false;
#endif
}

// Element offset of row r (every axis but the last) of a strided array: the kernels read views
// (a transposed or sliced x) without a copy node in the graph.
inline int64_t row_offset(const mlx::core::array& a, int64_t r) {
  int64_t off = 0;
  for (int ax = static_cast<int>(a.ndim()) - 2; ax >= 0; --ax) {
    const int64_t n = a.shape(ax);
    off += (r % n) * a.strides()[ax];
    r /= n;
  }
  return off;
}

// The opening of every native primitive's eval_cpu: the outputs get fresh buffers (unless
// `allocate` is false: the primitive set them, as a cache write in place does), and the CPU
// stream's encoder holds every input and output until the dispatched work has run.
inline mlx::core::cpu::CommandEncoder& encoder_for(mlx::core::Stream stream, const std::vector<mlx::core::array>& inputs,
                                                   std::vector<mlx::core::array*> outputs, bool allocate = true) {
  auto& enc = mlx::core::cpu::get_command_encoder(stream);
  for (const auto& a : inputs) {
    enc.set_input_array(a);
  }
  for (auto* o : outputs) {
    if (allocate) {
      o->set_data(mlx::core::allocator::malloc(o->nbytes()));
    }
    enc.set_output_array(*o);
  }
  return enc;
}

#ifdef MLXAGENT_X86
// The sum of 8 floats.
__attribute__((target("avx2,fma"))) inline float hsum8(__m256 v) {
  __m128 lo = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
  lo = _mm_add_ss(lo, _mm_movehdup_ps(lo));
  return _mm_cvtss_f32(lo);
}

// One scale or bias: float16 through F16C, bfloat16 by a shift, float as it is.
template <typename S>
__attribute__((target("avx2,fma,f16c"))) inline float fast_f(const S* p) {
  if constexpr (std::is_same_v<S, mlx::core::float16_t>) {
    uint16_t h;
    std::memcpy(&h, p, 2);
    return _cvtsh_ss(h);
  } else if constexpr (std::is_same_v<S, mlx::core::bfloat16_t>) {
    uint16_t h;
    std::memcpy(&h, p, 2);
    uint32_t u = static_cast<uint32_t>(h) << 16;
    float f;
    std::memcpy(&f, &u, 4);
    return f;
  } else {
    return static_cast<float>(*p);
  }
}
#endif

}  // namespace mlxagent
