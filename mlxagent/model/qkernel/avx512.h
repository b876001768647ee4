// The quantised products' inner loops with AVX-512 (products.h's block() picks them where the CPU
// has AVX-512 F, DQ and VL; MLXAGENT_KERNEL_NO_AVX512=1 keeps avx2.h's).
//
// Every (row of x, output row) product keeps avx2.h's arithmetic exactly: an accumulator of 8
// lanes, each lane one chain of FMAs in the same order (block after block, the block's four
// widened vectors in turn), summed by the same hsum. A 16-lane register holds two such
// accumulators, one output row in each half: the weights of two output rows are widened side by
// side and each 8 floats of x are read into both halves. So the results are the AVX2 loops', bit
// for bit (tests/test_qkernel.py compares the two), with twice the lanes an FMA and, for several
// rows of x, each 8 floats of x read once for four output rows where the AVX2 tile read them for
// one (speculative verification was bound by those reads, not by the FMAs). One row of x (a decode
// step, bound by memory) stays on avx2.h's loop, which measured faster there.
#pragma once

#include <cstddef>
#include <cstdint>

#include "avx2.h"
#include "cpu.h"

namespace mlxagent {
namespace products {

#ifdef MLXAGENT_X86
#define MLXAGENT_AVX512 "avx512f,avx512dq,avx512vl,avx2,fma,f16c"

// The block of 32 weights at k0 of output rows a and b as avx2.h's widen() gives each of them:
// f[j]'s lanes 0-7 are a's f[j], lanes 8-15 b's.
template <int BITS>
__attribute__((target(MLXAGENT_AVX512))) inline void widen_two(const uint8_t* wa, const uint8_t* wb, int k0,
                                                            __m512 s, __m512 b, __m512 (&f)[4]) {
  if (BITS == 4) {
    // As avx2.h's widen: a's and b's bytes 0-7 (then 8-15) side by side, widened to 32-bit lanes,
    // the low nibbles and the high ones taken from the lanes.
    const __m512i low4 = _mm512_set1_epi32(0x0F);
    const __m512i lo8 = _mm512_cvtepu8_epi32(
        _mm_unpacklo_epi64(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(wa + k0 / 2)),
                           _mm_loadl_epi64(reinterpret_cast<const __m128i*>(wb + k0 / 2))));
    const __m512i hi8 = _mm512_cvtepu8_epi32(
        _mm_unpacklo_epi64(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(wa + k0 / 2 + 8)),
                           _mm_loadl_epi64(reinterpret_cast<const __m128i*>(wb + k0 / 2 + 8))));
    const __m512i q[4] = {_mm512_and_si512(lo8, low4), _mm512_and_si512(hi8, low4),
                          _mm512_srli_epi32(lo8, 4), _mm512_srli_epi32(hi8, 4)};
    for (int j = 0; j < 4; ++j) {
      f[j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(q[j]), s, b);
    }
  } else {
    for (int j = 0; j < 4; ++j) {
      const __m128i part = _mm_unpacklo_epi64(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(wa + k0 + 8 * j)),
                                              _mm_loadl_epi64(reinterpret_cast<const __m128i*>(wb + k0 + 8 * j)));
      f[j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(part)), s, b);
    }
  }
}

// The scales and biases of 2 * NP consecutive output rows as floats, for tile_avx512: for each
// group g and pair p, (scale a, scale b, bias a, bias b) at out[(g * NP + p) * 4].
template <typename S, int NP>
__attribute__((target(MLXAGENT_AVX512))) inline void pair_scales(const S* sc, const S* bi, int groups, float* out) {
  for (int p = 0; p < NP; ++p) {
    const size_t ra = static_cast<size_t>(2 * p) * groups, rb = ra + groups;
    for (int g = 0; g < groups; ++g) {
      float* o = out + (static_cast<size_t>(g) * NP + p) * 4;
      o[0] = fast_f(sc + ra + g);
      o[1] = fast_f(sc + rb + g);
      o[2] = fast_f(bi + ra + g);
      o[3] = fast_f(bi + rb + g);
    }
  }
}

// MR rows of x (xp, K floats apart, as load_x reordered them) against 2 * NP consecutive output
// rows (w, wstride bytes apart; their scales and biases as pair_scales gives them):
// out[m * out_stride + r].
template <int MR, int NP, int BITS>
__attribute__((target(MLXAGENT_AVX512))) void tile_avx512(const uint8_t* w, size_t wstride, const float* sb,
                                                       const float* xp, int K, int gs, float* out,
                                                       size_t out_stride) {
  __m512 acc[MR][NP];
  for (int m = 0; m < MR; ++m) {
    for (int p = 0; p < NP; ++p) {
      acc[m][p] = _mm512_setzero_ps();
    }
  }
  const __m512i first = _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
  const __m512i second = _mm512_setr_epi32(2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
  for (int g0 = 0; g0 < K; g0 += gs, sb += 4 * NP) {
    __m512 s[NP], b[NP];
    for (int p = 0; p < NP; ++p) {
      const __m512 four = _mm512_castps128_ps512(_mm_loadu_ps(sb + 4 * p));
      s[p] = _mm512_permutexvar_ps(first, four);
      b[p] = _mm512_permutexvar_ps(second, four);
    }
    for (int k0 = g0; k0 < g0 + gs; k0 += 32) {
      __m512 f[NP][4];
      for (int p = 0; p < NP; ++p) {
        widen_two<BITS>(w + 2 * p * wstride, w + (2 * p + 1) * wstride, k0, s[p], b[p], f[p]);
      }
      for (int j = 0; j < 4; ++j) {
        for (int m = 0; m < MR; ++m) {
          const __m512 xv = _mm512_broadcast_f32x8(_mm256_loadu_ps(xp + static_cast<size_t>(m) * K + k0 + 8 * j));
          for (int p = 0; p < NP; ++p) {
            acc[m][p] = _mm512_fmadd_ps(f[p][j], xv, acc[m][p]);
          }
        }
      }
    }
  }
  for (int m = 0; m < MR; ++m) {
    for (int p = 0; p < NP; ++p) {
      float* o = out + static_cast<size_t>(m) * out_stride + 2 * p;
      o[0] = hsum(_mm512_castps512_ps256(acc[m][p]));
      o[1] = hsum(_mm512_extractf32x8_ps(acc[m][p], 1));
    }
  }
}

// `rows` rows of x against 2 * NP consecutive output rows (their scales and biases: `sb`, as
// pair_scales gives them): tiles of MR rows, the rest by smaller ones.
template <int NP, int BITS, int MR = 8>
void rows_avx512(const uint8_t* w, size_t wstride, const float* sb, const float* xp, int rows, int K, int gs,
                 float* out, size_t out_stride) {
  if constexpr (MR >= 1) {
    int m = 0;
    for (; m + MR <= rows; m += MR) {
      tile_avx512<MR, NP, BITS>(w, wstride, sb, xp + static_cast<size_t>(m) * K, K, gs, out + m * out_stride,
                                out_stride);
    }
    if (m < rows) {
      rows_avx512<NP, BITS, MR - 1>(w, wstride, sb, xp + static_cast<size_t>(m) * K, rows - m, K, gs,
                                    out + m * out_stride, out_stride);
    }
  }
}

#undef MLXAGENT_AVX512
#endif

}  // namespace products
}  // namespace mlxagent
