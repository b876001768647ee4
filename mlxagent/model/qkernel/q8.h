// The integer path of the native products: x quantised to int8 in blocks of 32 (one scale per
// block, the scheme of llama.cpp's Q8 blocks), then whole 32-weight blocks multiplied as integers
// with AVX2's u8 x s8 -> s16 pair sums, one float multiply-add a block. Against the float path
// (widen every weight to float, then multiply) this is about half the instructions per weight;
// the price is x rounded to 8 bits per block (relative error ~ 1/254 of the block's largest
// element), which is what llama.cpp computes too. It is opt-in (MLXAGENT_KERNEL_INT8=1): on the
// default model it changed greedy answers at near-ties ("What is the capital of France?" no longer
// began with Paris), so by default x stays in float and decoding equals the float32 path.
//
// For 4-bit layers a block of x is stored as [x0, x2, .., x30, x1, x3, .., x31]: a 16-byte block of
// weights split into its low nibbles (even elements) and high nibbles (odd elements) lines up with
// it as one 32-byte vector. 8-bit layers keep x in order and shift the weights to signed (q - 128),
// folding 128 * scale into the bias.
#pragma once

#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "cpu.h"

namespace mlxagent {

// Whether the integer path is wanted: where AVX2 is and MLXAGENT_KERNEL_INT8=1; set_int8_activations
// switches it (bench/kernel.py times both).
inline std::atomic<int>& int8_state() {
  static const char* want = std::getenv("MLXAGENT_KERNEL_INT8");
  static std::atomic<int> on{cpu_has_avx2() && want && std::string(want) == "1" ? 1 : 0};
  return on;
}
inline bool int8_activations() {
  return int8_state().load(std::memory_order_relaxed) != 0;
}
inline bool set_int8_activations(bool on) {
  int8_state().store(on && cpu_has_avx2() ? 1 : 0);
  return int8_activations();
}

// rows x K values of x into int8 blocks: q (rows x K), d (rows x K/32 scales), sums (rows x K/32:
// each rounded block's sum, for the bias term).
template <typename T>
void quantize_x(const T* x, int rows, int K, int bits, int8_t* q, float* d, float* sums) {
  const int nb = K / 32;
  float v[32];
  for (int m = 0; m < rows; ++m) {
    const T* xr = x + static_cast<size_t>(m) * K;
    for (int blk = 0; blk < nb; ++blk) {
      float amax = 0.0f;
      for (int j = 0; j < 32; ++j) {
        v[j] = static_cast<float>(xr[blk * 32 + j]);
        amax = std::max(amax, std::fabs(v[j]));
      }
      const float scale = amax / 127.0f;
      const float inv = amax > 0.0f ? 127.0f / amax : 0.0f;
      int8_t* o = q + static_cast<size_t>(m) * K + blk * 32;
      int qsum = 0;
      for (int j = 0; j < 32; ++j) {
        const int pos = bits == 4 ? (j % 2) * 16 + j / 2 : j;
        const long r = std::lrintf(v[j] * inv);
        o[pos] = static_cast<int8_t>(r);
        qsum += static_cast<int>(r);
      }
      d[m * nb + blk] = scale;
      // The rounded x's sum, so that the product is exactly rounded-x @ dequant(W): the prefill
      // path (float32 products on x rounded the same way, qkernel/__init__.py) then agrees with
      // this one up to float summation order, and speculative verification stays exact.
      sums[m * nb + blk] = scale * static_cast<float>(qsum);
    }
  }
}

#ifdef MLXAGENT_X86

// MT rows of x against one output row: each block of weights is unpacked once and used MT times.
template <typename S, int MT, int BITS>
__attribute__((target("avx2,fma,f16c"))) void row_q8(const uint8_t* w, const S* sc, const S* bi,
                                                const int8_t* xq, const float* xd,
                                                const float* xs, int K, int gs, float* out,
                                                size_t out_stride) {
  const int nb = K / 32;
  __m256 acc[MT];
  float bias[MT];
  for (int m = 0; m < MT; ++m) {
    acc[m] = _mm256_setzero_ps();
    bias[m] = 0.0f;
  }
  const __m256i ones = _mm256_set1_epi16(1);
  const __m128i low4 = _mm_set1_epi8(0x0F);
  const __m256i flip = _mm256_set1_epi8(static_cast<char>(0x80));
  for (int g0 = 0; g0 < K; g0 += gs) {
    const float s = fast_f(sc + g0 / gs);
    const float b = fast_f(bi + g0 / gs) + (BITS == 8 ? 128.0f * s : 0.0f);
    for (int k0 = g0; k0 < g0 + gs; k0 += 32) {
      const int blk = k0 / 32;
      __m256i wv, wabs;
      if (BITS == 4) {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w + k0 / 2));
        const __m128i lo = _mm_and_si128(v, low4);
        const __m128i hi = _mm_and_si128(_mm_srli_epi16(v, 4), low4);
        wv = _mm256_set_m128i(hi, lo);
        wabs = wv;
      } else {
        wv = _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + k0)), flip);
        wabs = _mm256_sign_epi8(wv, wv);
      }
      for (int m = 0; m < MT; ++m) {
        __m256i xv = _mm256_loadu_si256(
            reinterpret_cast<const __m256i*>(xq + static_cast<size_t>(m) * K + k0));
        if (BITS == 8) {
          xv = _mm256_sign_epi8(xv, wv);
        }
        const __m256i dot = _mm256_madd_epi16(_mm256_maddubs_epi16(wabs, xv), ones);
        acc[m] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_set1_ps(s * xd[m * nb + blk]),
                                 acc[m]);
        bias[m] += b * xs[m * nb + blk];
      }
    }
  }
  for (int m = 0; m < MT; ++m) {
    out[m * out_stride] = hsum8(acc[m]) + bias[m];
  }
}

// Rows of x in tiles of up to MT, the remainder by a smaller tile.
template <typename S, int BITS, int MT = 4>
void rows_q8(const uint8_t* w, const S* sc, const S* bi, const int8_t* xq, const float* xd,
             const float* xs, int rows, int K, int gs, float* out, size_t out_stride) {
  if constexpr (MT >= 1) {
    const int nb = K / 32;
    int m = 0;
    for (; m + MT <= rows; m += MT) {
      row_q8<S, MT, BITS>(w, sc, bi, xq + static_cast<size_t>(m) * K, xd + m * nb, xs + m * nb, K,
                          gs, out + m * out_stride, out_stride);
    }
    if (m < rows) {
      rows_q8<S, BITS, MT - 1>(w, sc, bi, xq + static_cast<size_t>(m) * K, xd + m * nb,
                               xs + m * nb, rows - m, K, gs, out + m * out_stride, out_stride);
    }
  }
}
#endif

}  // namespace mlxagent
