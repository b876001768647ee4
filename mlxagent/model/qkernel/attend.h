// The inner loops of decode attention, shared by attention.cpp (q, k, v as MLX hands them to the
// attention op) and fused.cpp (a whole decode attention: rope, KV-cache write, attention).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <type_traits>

#include "cpu.h"

namespace mlxagent {

template <typename T>
inline float load(const T* p, int64_t i) {
  return static_cast<float>(p[i]);
}

#ifdef MLXAGENT_X86

// e^x for 8 floats: x = n ln2 + r, |r| <= ln2/2, e^r by a degree-6 polynomial (relative error
// about 2e-7, like a float's rounding), times 2^n through the exponent bits.
__attribute__((target("avx2,fma"))) inline __m256 exp8(__m256 x) {
  x = _mm256_max_ps(_mm256_min_ps(x, _mm256_set1_ps(88.37f)), _mm256_set1_ps(-87.3f));
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504089f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
  p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
  const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

// One query row (scaled) of a float32 head against `seen` keys and values whose last axis is
// contiguous (row strides kt, vt): out = softmax(q k^T) v.
__attribute__((target("avx2,fma"))) inline void head_avx2(const float* q, const float* k, int64_t kt,
                                                   const float* v, int64_t vt, int D, int Dv,
                                                   int seen, float* scores, float* out) {
  float top = -INFINITY;
  for (int t = 0; t < seen; ++t) {
    const float* kr = k + t * kt;
    __m256 acc = _mm256_setzero_ps();
    for (int d = 0; d < D; d += 8) {
      acc = _mm256_fmadd_ps(_mm256_loadu_ps(q + d), _mm256_loadu_ps(kr + d), acc);
    }
    scores[t] = hsum8(acc);
    top = std::max(top, scores[t]);
  }
  const __m256 shift = _mm256_set1_ps(top);
  __m256 sum = _mm256_setzero_ps();
  int t = 0;
  for (; t + 8 <= seen; t += 8) {
    const __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(scores + t), shift));
    _mm256_storeu_ps(scores + t, e);
    sum = _mm256_add_ps(sum, e);
  }
  float total = hsum8(sum);
  for (; t < seen; ++t) {
    scores[t] = std::exp(scores[t] - top);
    total += scores[t];
  }
  // the weighted values, 64 features at a time in registers
  for (int d0 = 0; d0 < Dv; d0 += 64) {
    const int blocks = std::min(8, (Dv - d0) / 8);
    __m256 acc[8];
    for (int j = 0; j < 8; ++j) {
      acc[j] = _mm256_setzero_ps();
    }
    for (int t2 = 0; t2 < seen; ++t2) {
      const __m256 p = _mm256_set1_ps(scores[t2]);
      const float* vr = v + t2 * vt + d0;
      for (int j = 0; j < blocks; ++j) {
        acc[j] = _mm256_fmadd_ps(p, _mm256_loadu_ps(vr + 8 * j), acc[j]);
      }
    }
    for (int j = 0; j < blocks; ++j) {
      _mm256_storeu_ps(out + d0 + 8 * j, acc[j]);
    }
  }
  const __m256 inv = _mm256_set1_ps(seen > 0 ? 1.0f / total : 0.0f);
  for (int d = 0; d < Dv; d += 8) {
    _mm256_storeu_ps(out + d, _mm256_mul_ps(_mm256_loadu_ps(out + d), inv));
  }
}
#endif

// One query row (scaled, float) against `seen` keys and values of any dtype and strides (row
// strides kt, vt; feature strides kd, vd): out = softmax(q k^T) v, the loop where AVX2 is not.
template <typename T>
void head_portable(const float* q, const T* k, int64_t kt, int64_t kd, const T* v, int64_t vt,
                   int64_t vd, int D, int Dv, int seen, float* scores, float* acc, T* out) {
  float top = -INFINITY;
  for (int t = 0; t < seen; ++t) {
    const T* kr = k + t * kt;
    float dot = 0.0f;
    for (int d = 0; d < D; ++d) {
      dot += q[d] * load(kr, d * kd);
    }
    scores[t] = dot;
    top = std::max(top, dot);
  }
  float total = 0.0f;
  for (int t = 0; t < seen; ++t) {
    scores[t] = std::exp(scores[t] - top);
    total += scores[t];
  }
  std::fill(acc, acc + Dv, 0.0f);
  for (int t = 0; t < seen; ++t) {
    const T* vr = v + t * vt;
    const float p = scores[t];
    for (int d = 0; d < Dv; ++d) {
      acc[d] += p * load(vr, d * vd);
    }
  }
  const float inv = seen > 0 ? 1.0f / total : 0.0f;
  for (int d = 0; d < Dv; ++d) {
    out[d] = static_cast<T>(acc[d] * inv);
  }
}

// One head's query row against its keys and values: the AVX2 loop where it applies (float32, the
// features contiguous, sizes a multiple of 8), else the portable one.
template <typename T>
inline void head(const float* q, const T* k, int64_t kt, int64_t kd, const T* v, int64_t vt,
                 int64_t vd, int D, int Dv, int seen, float* scores, float* acc, T* out) {
#ifdef MLXAGENT_X86
  if constexpr (std::is_same_v<T, float>) {
    if (cpu_has_avx2() && kd == 1 && vd == 1 && D % 8 == 0 && Dv % 8 == 0) {
      head_avx2(q, k, kt, v, vt, D, Dv, seen, scores, out);
      return;
    }
  }
#endif
  head_portable(q, k, kt, kd, v, vt, vd, D, Dv, seen, scores, acc, out);
}

// cos and sin of rope's angles for rows offset..offset+L-1: (offset + l) * scale * base^(-i/half),
// i < half, in the order MLX computes them (tables of L x half).
inline void rope_tables(int L, int half, float base, float scale, int offset, float* cosv, float* sinv) {
  const float coeff = -std::log(base) / static_cast<float>(half);
  for (int i = 0; i < half; ++i) {
    const float inv = std::exp(static_cast<float>(i) * coeff);
    for (int l = 0; l < L; ++l) {
      const float angle = (static_cast<float>(offset + l) * scale) * inv;
      cosv[static_cast<size_t>(l) * half + i] = std::cos(angle);
      sinv[static_cast<size_t>(l) * half + i] = std::sin(angle);
    }
  }
}

// One row of D features (src, feature stride sd) rotated by rope's angles for that row (c, s: dims/2
// values each): pairs (i, i + dims/2), or (2i, 2i + 1) when traditional; features past dims
// copied (dims 0: a plain copy). The native rope's and the fused cache write's arithmetic, one place.
template <typename T, typename O>
inline void rotate_row(const T* src, int64_t sd, int D, int dims, bool traditional, const float* c,
                       const float* s, O* dst) {
  const int half = dims / 2;
  for (int i = 0; i < half; ++i) {
    const int a = traditional ? 2 * i : i;
    const int b = traditional ? 2 * i + 1 : i + half;
    const float x1 = load(src, a * sd);
    const float x2 = load(src, b * sd);
    dst[a] = static_cast<O>(x1 * c[i] - x2 * s[i]);
    dst[b] = static_cast<O>(x1 * s[i] + x2 * c[i]);
  }
  for (int d = dims; d < D; ++d) {
    dst[d] = static_cast<O>(src[d * sd]);
  }
}

}  // namespace mlxagent
