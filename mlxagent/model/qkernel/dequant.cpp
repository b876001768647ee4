// Dequantise MLX's affine 4/8-bit weights to float32 on the CPU, fast: the prefill path.
//
// A prompt of many tokens is a matrix product that OpenBLAS does well in float32, and the 16-row
// tiles of the quantised kernel (qmm.cpp) do less well. So a long prefill chunk dequantises each
// layer's weights into a transient float32 matrix (AVX2 + F16C, several threads; MLX's own
// dequantize is scalar on x86) and multiplies through MLX's matmul; decode never does.

#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <type_traits>

#include <nanobind/nanobind.h>
#include <nanobind/stl/variant.h>

#include "mlx/backend/cpu/encoder.h"
#include "mlx/mlx.h"
#include "mlx/primitives.h"
#include "mlx/utils.h"
#include "cpu.h"
#include "pool.h"

namespace nb = nanobind;
namespace mx = mlx::core;
using namespace nb::literals;

namespace {

template <typename S>
void row_portable(const uint8_t* w, const S* sc, const S* bi, int K, int gs, int bits, float* out) {
  for (int k = 0; k < K; ++k) {
    const int q = bits == 4 ? (w[k / 2] >> (4 * (k & 1))) & 15 : w[k];
    out[k] = static_cast<float>(sc[k / gs]) * static_cast<float>(q) + static_cast<float>(bi[k / gs]);
  }
}

#ifdef MLXAGENT_X86
template <typename S>
__attribute__((target("avx2,fma,f16c"))) void row_avx2(const uint8_t* w, const S* sc, const S* bi,
                                                       int K, int gs, int bits, float* out) {
  const __m128i low4 = _mm_set1_epi8(0x0F);
  for (int g0 = 0; g0 < K; g0 += gs) {
    const __m256 s = _mm256_set1_ps(mlxagent::fast_f(sc + g0 / gs));
    const __m256 b = _mm256_set1_ps(mlxagent::fast_f(bi + g0 / gs));
    for (int k0 = g0; k0 < g0 + gs; k0 += 32) {
      __m128i part[4];
      if (bits == 4) {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w + k0 / 2));
        const __m128i lo = _mm_and_si128(v, low4);
        const __m128i hi = _mm_and_si128(_mm_srli_epi16(v, 4), low4);
        const __m128i first = _mm_unpacklo_epi8(lo, hi);  // elements 0..15 in order
        const __m128i second = _mm_unpackhi_epi8(lo, hi);  // 16..31
        part[0] = first;
        part[1] = _mm_srli_si128(first, 8);
        part[2] = second;
        part[3] = _mm_srli_si128(second, 8);
      } else {
        for (int j = 0; j < 4; ++j) {
          part[j] = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(w + k0 + 8 * j));
        }
      }
      for (int j = 0; j < 4; ++j) {
        const __m256 f = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(part[j]));
        _mm256_storeu_ps(out + k0 + 8 * j, _mm256_fmadd_ps(f, s, b));
      }
    }
  }
}
#endif

template <typename S>
void dequantize_rows(const uint8_t* w, const S* sc, const S* bi, int N, int K, int gs, int bits,
                     float* out) {
  const size_t wstride = static_cast<size_t>(K) * bits / 8;
  const int groups = K / gs;
  const int per = std::max(8, 65536 / std::max(K, 1));
  const int chunks = (N + per - 1) / per;
  std::function<void(int)> job = [&](int c) {
    for (int n = c * per; n < std::min(N, (c + 1) * per); ++n) {
#ifdef MLXAGENT_X86
      if (mlxagent::cpu_has_avx2()) {
        row_avx2<S>(w + n * wstride, sc + n * groups, bi + n * groups, K, gs, bits,
                    out + static_cast<size_t>(n) * K);
        continue;
      }
#endif
      row_portable<S>(w + n * wstride, sc + n * groups, bi + n * groups, K, gs, bits,
                      out + static_cast<size_t>(n) * K);
    }
  };
  mlxagent::pool().run(chunks, job);
}

class NativeDequantize : public mx::UnaryPrimitive {
 public:
  NativeDequantize(mx::Stream s, int gs, int bits) : mx::UnaryPrimitive(s), gs_(gs), bits_(bits) {}

  void eval_cpu(const std::vector<mx::array>& inputs, mx::array& out) override {
    auto& enc = mlxagent::encoder_for(stream(), inputs, {&out});
    enc.dispatch([w = inputs[0], s = inputs[1], b = inputs[2], out, gs = gs_, bits = bits_]() mutable {
      const int N = w.shape(0);
      const int K = out.shape(1);
      const auto* wp = reinterpret_cast<const uint8_t*>(w.data<uint32_t>());
      float* o = out.data<float>();
      switch (s.dtype()) {
        case mx::float16:
          dequantize_rows(wp, s.data<mx::float16_t>(), b.data<mx::float16_t>(), N, K, gs, bits, o);
          break;
        case mx::bfloat16:
          dequantize_rows(wp, s.data<mx::bfloat16_t>(), b.data<mx::bfloat16_t>(), N, K, gs, bits, o);
          break;
        default:
          dequantize_rows(wp, s.data<float>(), b.data<float>(), N, K, gs, bits, o);
      }
    });
  }
  void eval_gpu(const std::vector<mx::array>&, mx::array&) override {
    throw std::runtime_error("[native_dequantize] CPU only");
  }
  const char* name() const override {
    return "NativeDequantize";
  }
  bool is_equivalent(const mx::Primitive& other) const override {
    const auto& o = static_cast<const NativeDequantize&>(other);
    return gs_ == o.gs_ && bits_ == o.bits_;
  }
  std::vector<mx::Shape> output_shapes(const std::vector<mx::array>& in) override {
    return {{in[0].shape(0), in[0].shape(1) * 32 / bits_}};
  }

 private:
  int gs_, bits_;
};

mx::array native_dequantize(const mx::array& w, const mx::array& scales, const mx::array& biases,
                            int group_size, int bits, mx::StreamOrDevice s) {
  auto stream = mx::to_stream(s);
  if ((bits != 4 && bits != 8) || group_size <= 0 || group_size % 32 != 0 ||
      w.dtype() != mx::uint32 || w.ndim() != 2 || scales.ndim() != 2 ||
      scales.shape(0) != w.shape(0) || scales.shape(1) * group_size != w.shape(1) * 32 / bits ||
      biases.shape() != scales.shape() || biases.dtype() != scales.dtype()) {
    throw std::invalid_argument(
        "[native_dequantize] 4/8-bit uint32 weights with matching scales and biases");
  }
  if (stream.device != mx::Device::cpu) {
    return mx::astype(mx::dequantize(w, scales, biases, group_size, bits, "affine", std::nullopt,
                                     std::nullopt, s),
                      mx::float32, s);
  }
  auto row_major = [&](const mx::array& a) {
    return a.is_available() && a.flags().row_contiguous ? a : mx::contiguous(a, false, stream);
  };
  return mx::array({w.shape(0), w.shape(1) * 32 / bits}, mx::float32,
                   std::make_shared<NativeDequantize>(stream, group_size, bits),
                   {row_major(w), row_major(scales), row_major(biases)});
}

}  // namespace

void register_dequantize(nb::module_& m) {
  m.def("native_dequantize", &native_dequantize, "w"_a, "scales"_a, "biases"_a, "group_size"_a,
        "bits"_a, nb::kw_only(), "stream"_a = nb::none(),
        "float32 weights from MLX's affine 4/8-bit format, on the CPU");
}
