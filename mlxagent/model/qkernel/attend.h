// The inner loops of decode attention, shared by attention.cpp (q, k, v as MLX hands them to the
// attention op), fused.cpp (a whole decode attention: rope, KV-cache write, attention) and
// layer.cpp (a whole decoder layer): one head's softmax, rope's tables and rotation, the cache
// write and the cached attention over all heads.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <type_traits>
#include <vector>

#include "cpu.h"
#include "pool.h"

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

// ---------------------------------------------------------------- a decode attention on a KV cache

// Rope as a decode attention applies it to q and k: dims 0 for none (values).
struct Rope {
  int dims = 0;
  bool traditional = false;
  float base = 10000.0f;
  float scale = 1.0f;

  bool operator==(const Rope& o) const {
    return dims == o.dims && traditional == o.traditional && base == o.base && scale == o.scale;
  }
};

inline Rope make_rope(int dims, bool traditional, float base, float scale, int D) {
  if (dims < 0 || dims % 2 != 0 || dims > D) {
    throw std::invalid_argument("[native_cache] rope dims must be even, between 0 and the head size");
  }
  return Rope{dims, traditional, base, scale};
}

// Rows offset..offset+L-1's cos and sin tables (L x dims/2 each), or none when rope is off.
struct RopeTables {
  std::vector<float> c, s;
  int half = 0;

  RopeTables(const Rope& r, int L, int offset) : half(r.dims / 2) {
    if (r.dims == 0) {
      return;
    }
    c.resize(static_cast<size_t>(L) * half);
    s.resize(c.size());
    rope_tables(L, half, r.base, r.scale, offset, c.data(), s.data());
  }
  const float* cos_row(int l) const {
    return c.data() + static_cast<size_t>(l) * half;
  }
  const float* sin_row(int l) const {
    return s.data() + static_cast<size_t>(l) * half;
  }
};

// Strides of a 3-axis (B, L, features) and a 4-axis (B, H, S, D) array, in elements.
struct Strides3 {
  int64_t b, l, f;
};
struct Strides4 {
  int64_t b, h, s, d;
};

// Whether a cache write may go into the cache's own buffer: no one else holds it (the cache's array,
// replaced by the node's output, is the only holder in a decode step), as MLX's slice update decides.
inline bool writable_in_place(const mlx::core::array& cache) {
  return cache.is_donatable() && cache.flags().row_contiguous && cache.data_size() == cache.size();
}

// A cache (B, H, S, D) of any strides copied into a row-major buffer (a cache someone else holds).
inline void copy_cache(const mlx::core::array& cache, float* dst) {
  const int D = cache.shape(3);
  const int64_t rows = static_cast<int64_t>(cache.size()) / std::max(D, 1);
  const int64_t sd = cache.strides()[3];
  const float* src = cache.data<float>();
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = src + row_offset(cache, r);
    for (int d = 0; d < D; ++d) {
      dst[r * D + d] = row[d * sd];
    }
  }
}

// L rows of H heads of D features (src: (B, L, H*D), strides rs), rotated when rope.dims, written
// into a row-major cache buffer (B, H, S, D) at rows [offset, offset + L).
inline void write_cache(const float* src, Strides3 rs, int B, int L, int H, int S, int D, int offset,
                        const Rope& rope, const RopeTables& t, float* dst) {
  for (int b = 0; b < B; ++b) {
    for (int l = 0; l < L; ++l) {
      for (int h = 0; h < H; ++h) {
        const float* in = src + b * rs.b + l * rs.l + static_cast<int64_t>(h) * D * rs.f;
        float* o = dst + ((static_cast<int64_t>(b) * H + h) * S + offset + l) * D;
        rotate_row(in, rs.f, D, rope.dims, rope.traditional, t.cos_row(l), t.sin_row(l), o);
      }
    }
  }
}

// Query rows of B sequences and Hq heads (q's element (b, h, l, d) at b*qs.b + h*qs.h + l*qs.s +
// d*qs.d), rotated by rope where its dims are not 0 and scaled, each head against its KV head's Tk
// keys and values: row l of L sees the first Tk - L + l + 1 of them when causal, else all; its
// output (Dv features, contiguous) at b*os.b + h*os.h + l*os.s. The (sequence, head) pairs are
// split over the pool (a pair's arithmetic is the same on any thread). attention.cpp's
// attention on (B, H, L, D) heads and the cached attention below.
template <typename T>
inline void attend(const T* qp, Strides4 qs, const T* kp, Strides4 ks, const T* vp, Strides4 vs, int B, int L,
                   int Hq, int Hkv, int D, int Dv, int Tk, bool causal, const Rope& rope, const RopeTables& t,
                   float scale, T* op, Strides4 os) {
  const int rep = Hq / Hkv;
  const std::function<void(int)> job = [&](int chunk) {
    const int b = chunk / Hq, h = chunk % Hq;
    thread_local std::vector<float> qrow, scores, acc;
    qrow.resize(D);
    scores.resize(Tk);
    acc.resize(Dv);
    const T* kb = kp + b * ks.b + (h / rep) * ks.h;
    const T* vb = vp + b * vs.b + (h / rep) * vs.h;
    for (int l = 0; l < L; ++l) {
      const int seen = causal ? std::min(Tk, Tk - L + l + 1) : Tk;
      const T* qr = qp + b * qs.b + h * qs.h + l * qs.s;
      rotate_row(qr, qs.d, D, rope.dims, rope.traditional, t.cos_row(l), t.sin_row(l), qrow.data());
      for (int d = 0; d < D; ++d) {
        qrow[d] *= scale;
      }
      T* orow = op + b * os.b + h * os.h + l * os.s;
      head(qrow.data(), kb, ks.s, ks.d, vb, vs.s, vs.d, D, Dv, seen, scores.data(), acc.data(), orow);
    }
  };
  pool().run(B * Hq, job);
}

// Query rows (B, L, Hq*D; strides qs) rotated by rope and scaled, each head against its KV head's
// first offset + l + 1 cached rows (causal) or offset + L: out (B, L, Hq*Dv) row-major.
inline void attend_cached(const float* qp, Strides3 qs, const float* kp, Strides4 ks, const float* vp,
                          Strides4 vs, int B, int L, int Hq, int Hkv, int D, int Dv, int offset,
                          bool causal, const Rope& rope, const RopeTables& t, float scale, float* op) {
  const int64_t row = static_cast<int64_t>(Hq) * Dv;
  attend<float>(qp, {qs.b, D * qs.f, qs.l, qs.f}, kp, ks, vp, vs, B, L, Hq, Hkv, D, Dv, offset + L, causal, rope,
                t, scale, op, {L * row, Dv, row, 1});
}

}  // namespace mlxagent
