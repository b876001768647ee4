// The AVX2 inner loops of the quantised products (products.h): a block of 32 4- or 8-bit weights
// widened to floats as MLX dequantises them, and FMA chains of 8 lanes, one chain for each (row of
// x, output row), so a row's product is the same in any tile. avx512.h does the same lanes two at a time.
#pragma once

#include <cstddef>
#include <cstdint>

#include "cpu.h"

namespace mlxagent {
namespace products {
#ifdef MLXAGENT_X86
__attribute__((target("avx2,fma"))) inline float hsum(__m256 v) {
  __m128 lo = _mm256_castps256_ps128(v);
  __m128 hi = _mm256_extractf128_ps(v, 1);
  lo = _mm_add_ps(lo, hi);
  __m128 sh = _mm_movehdup_ps(lo);
  __m128 sums = _mm_add_ps(lo, sh);
  sh = _mm_movehl_ps(sh, sums);
  sums = _mm_add_ss(sums, sh);
  return _mm_cvtss_f32(sums);
}

// The 32 weights of one block of a 4- or 8-bit row as floats, dequantised as MLX does: s * q + b.
template <int BITS>
__attribute__((target("avx2,fma,f16c"))) inline void widen(const uint8_t* w, int k0, __m256 s, __m256 b,
                                                       __m256 (&f)[4]) {
  if (BITS == 4) {
    // Bytes 0-7 and 8-15 widened to 32-bit lanes as they are loaded; the low nibbles (the even
    // weights) and the high ones (the odd) taken from the lanes: two shuffles where splitting the
    // nibbles first and widening each half took six (the loop is bound by them, not by memory).
    const __m256i low4 = _mm256_set1_epi32(0x0F);
    const __m256i a = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(w + k0 / 2)));
    const __m256i c = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(w + k0 / 2 + 8)));
    f[0] = _mm256_cvtepi32_ps(_mm256_and_si256(a, low4));
    f[1] = _mm256_cvtepi32_ps(_mm256_and_si256(c, low4));
    f[2] = _mm256_cvtepi32_ps(_mm256_srli_epi32(a, 4));
    f[3] = _mm256_cvtepi32_ps(_mm256_srli_epi32(c, 4));
  } else {
    for (int j = 0; j < 4; ++j) {
      const __m128i v = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(w + k0 + 8 * j));
      f[j] = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(v));
    }
  }
  for (int j = 0; j < 4; ++j) {
    f[j] = _mm256_fmadd_ps(f[j], s, b);
  }
}

// AVX2: MT rows of x at once against one output row; a block's 32 weights are widened once and
// used MT times. Each (row of x, output row) sums into one accumulator, block after block, so a
// row's product is the same in any tile (speculative verification equals decoding bit for bit).
template <typename S, int MT, int BITS>
__attribute__((target("avx2,fma,f16c"))) void row_avx2(const uint8_t* w, const S* sc, const S* bi,
                                                  const float* xp, int K, int gs, float* out,
                                                  size_t out_stride) {
  __m256 acc[MT];
  for (int m = 0; m < MT; ++m) {
    acc[m] = _mm256_setzero_ps();
  }
  for (int g0 = 0; g0 < K; g0 += gs) {
    const __m256 s = _mm256_set1_ps(fast_f(sc + g0 / gs));
    const __m256 b = _mm256_set1_ps(fast_f(bi + g0 / gs));
    for (int k0 = g0; k0 < g0 + gs; k0 += 32) {
      __m256 f[4];
      widen<BITS>(w, k0, s, b, f);
      for (int m = 0; m < MT; ++m) {
        const float* xm = xp + static_cast<size_t>(m) * K + k0;
        acc[m] = _mm256_fmadd_ps(f[0], _mm256_loadu_ps(xm), acc[m]);
        acc[m] = _mm256_fmadd_ps(f[1], _mm256_loadu_ps(xm + 8), acc[m]);
        acc[m] = _mm256_fmadd_ps(f[2], _mm256_loadu_ps(xm + 16), acc[m]);
        acc[m] = _mm256_fmadd_ps(f[3], _mm256_loadu_ps(xm + 24), acc[m]);
      }
    }
  }
  for (int m = 0; m < MT; ++m) {
    out[m * out_stride] = hsum(acc[m]);
  }
}

// AVX2, one row of x (a decode step): NT consecutive output rows at once, each its own chain of
// FMAs in the same order as row_avx2's, so the result is bit-equal to it; the NT chains keep the
// FMA units busy where one row's chain waits 4 cycles a step (BENCHMARKS.md: decode 1.06x).
template <typename S, int NT, int BITS>
__attribute__((target("avx2,fma,f16c"))) void rows_of_one_avx2(const uint8_t* w, size_t wstride, const S* sc,
                                                          const S* bi, int groups, const float* x, int K,
                                                          int gs, float* out) {
  __m256 acc[NT];
  for (int r = 0; r < NT; ++r) {
    acc[r] = _mm256_setzero_ps();
  }
  for (int g0 = 0; g0 < K; g0 += gs) {
    __m256 s[NT], b[NT];
    for (int r = 0; r < NT; ++r) {
      s[r] = _mm256_set1_ps(fast_f(sc + static_cast<size_t>(r) * groups + g0 / gs));
      b[r] = _mm256_set1_ps(fast_f(bi + static_cast<size_t>(r) * groups + g0 / gs));
    }
    for (int k0 = g0; k0 < g0 + gs; k0 += 32) {
      const __m256 x0 = _mm256_loadu_ps(x + k0), x1 = _mm256_loadu_ps(x + k0 + 8);
      const __m256 x2 = _mm256_loadu_ps(x + k0 + 16), x3 = _mm256_loadu_ps(x + k0 + 24);
      for (int r = 0; r < NT; ++r) {
        __m256 f[4];
        widen<BITS>(w + r * wstride, k0, s[r], b[r], f);
        acc[r] = _mm256_fmadd_ps(f[0], x0, acc[r]);
        acc[r] = _mm256_fmadd_ps(f[1], x1, acc[r]);
        acc[r] = _mm256_fmadd_ps(f[2], x2, acc[r]);
        acc[r] = _mm256_fmadd_ps(f[3], x3, acc[r]);
      }
    }
  }
  for (int r = 0; r < NT; ++r) {
    out[r] = hsum(acc[r]);
  }
}

// Rows of x in tiles of up to 8 (8 accumulators + 4 widened weight vectors + scale and bias fit
// the 16 AVX registers), the remainder by a smaller tile.
template <typename S, int BITS, int MT = 8>
void rows_avx2(const uint8_t* w, const S* sc, const S* bi, const float* xp, int rows, int K,
               int gs, float* out, size_t out_stride) {
  if constexpr (MT >= 1) {
    int m = 0;
    for (; m + MT <= rows; m += MT) {
      row_avx2<S, MT, BITS>(w, sc, bi, xp + static_cast<size_t>(m) * K, K, gs,
                            out + m * out_stride, out_stride);
    }
    if (m < rows) {
      rows_avx2<S, BITS, MT - 1>(w, sc, bi, xp + static_cast<size_t>(m) * K, rows - m, K, gs,
                                 out + m * out_stride, out_stride);
    }
  }
}
#endif

}  // namespace products
}  // namespace mlxagent
