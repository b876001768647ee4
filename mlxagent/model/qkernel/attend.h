// The inner loops of decode attention, shared by attention.cpp (q, k, v as MLX hands them to the
// attention op), fused.cpp (a whole decode attention: rope, KV-cache write, attention) and
// layer.cpp (a whole decoder layer): one head's softmax, rope's tables and rotation, the cache
// write and the cached attention over all heads.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
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

#endif

// One query row (scaled, float) against `seen` keys and values of any dtype and strides (row
// strides kt, vt; feature strides kd, vd): out = softmax(q k^T) v, the loop where AVX2 is not.
template <typename T, typename O = T>
void head_portable(const float* q, const T* k, int64_t kt, int64_t kd, const T* v, int64_t vt,
                   int64_t vd, int D, int Dv, int seen, float* scores, float* acc, O* out) {
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
    out[d] = static_cast<O>(acc[d] * inv);
  }
}

#ifdef MLXAGENT_X86
// Keys a block of query rows takes at a time: 64 rows of K (or V) of 64 features are 16 KB, which
// stay in L1 while every query row of the block reads them.
constexpr int kKeyBlock = 64;

// Eight features of a key or value row as floats: float32 as they are, float16 through F16C (a
// float16 KV cache: half the bytes a decode step reads, each value widened exactly).
__attribute__((target("avx2,fma,f16c"))) inline __m256 load8(const float* p) {
  return _mm256_loadu_ps(p);
}
__attribute__((target("avx2,fma,f16c"))) inline __m256 load8(const mlx::core::float16_t* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

// Keys [t0, t1) of a KV head as floats, two keys side by side: keys t0 + 2p and t0 + 2p + 1 are
// pair p, and for each 8 features the pair holds 8 of the first key, then 8 of the second, so one
// 16-lane read holds two keys' features (AVX-512) and an 8-lane read one key's (AVX2). The block is
// widened once for all the query rows that read it (a float16 cache: exactly, through F16C).
template <typename KV>
__attribute__((target("avx2,fma,f16c"))) inline void keys_in_pairs(const KV* k, int64_t kt, int t0, int t1, int D,
                                                             float* out) {
  for (int t = t0; t < t1; ++t) {
    const KV* kr = k + t * kt;
    float* o = out + static_cast<int64_t>((t - t0) >> 1) * 2 * D + ((t - t0) & 1) * 8;
    for (int d = 0; d < D; d += 8) {
      _mm256_storeu_ps(o + 2 * d, load8(kr + d));
    }
  }
}

// Values [t0, t1) as float rows of Dv features.
template <typename KV>
__attribute__((target("avx2,fma,f16c"))) inline void values_as_floats(const KV* v, int64_t vt, int t0, int t1, int Dv,
                                                                float* out) {
  for (int t = t0; t < t1; ++t) {
    const KV* vr = v + t * vt;
    float* o = out + static_cast<int64_t>(t - t0) * Dv;
    for (int d = 0; d < Dv; d += 8) {
      _mm256_storeu_ps(o + d, load8(vr + d));
    }
  }
}

// Key i of a block in pairs (keys_in_pairs), its features d..d+7.
inline const float* paired(const float* kb, int i, int D, int d) {
  return kb + static_cast<int64_t>(i >> 1) * 2 * D + (i & 1) * 8 + 2 * d;
}

// sr[i] = q . key i for the block's keys i in [0, n): one chain of FMAs per key over its features
// in order, summed by hsum8.
__attribute__((target("avx2,fma"))) inline void scores_avx2(const float* q, const float* kb, int n, int D, float* sr) {
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    for (int d = 0; d < D; d += 8) {
      const __m256 qd = _mm256_loadu_ps(q + d);
      a0 = _mm256_fmadd_ps(qd, _mm256_loadu_ps(paired(kb, i, D, d)), a0);
      a1 = _mm256_fmadd_ps(qd, _mm256_loadu_ps(paired(kb, i + 1, D, d)), a1);
      a2 = _mm256_fmadd_ps(qd, _mm256_loadu_ps(paired(kb, i + 2, D, d)), a2);
      a3 = _mm256_fmadd_ps(qd, _mm256_loadu_ps(paired(kb, i + 3, D, d)), a3);
    }
    sr[i] = hsum8(a0);
    sr[i + 1] = hsum8(a1);
    sr[i + 2] = hsum8(a2);
    sr[i + 3] = hsum8(a3);
  }
  for (; i < n; ++i) {
    __m256 a = _mm256_setzero_ps();
    for (int d = 0; d < D; d += 8) {
      a = _mm256_fmadd_ps(_mm256_loadu_ps(q + d), _mm256_loadu_ps(paired(kb, i, D, d)), a);
    }
    sr[i] = hsum8(a);
  }
}

// acc (N*8 floats) += p[t] * row t of vb (float rows of Dv), t in [0, n): one chain per feature,
// in t's order.
template <int N>
__attribute__((target("avx2,fma"))) inline void values_avx2(const float* p, int n, const float* vb, int Dv, float* acc) {
  __m256 a[N];
  for (int j = 0; j < N; ++j) {
    a[j] = _mm256_loadu_ps(acc + 8 * j);
  }
  for (int t = 0; t < n; ++t) {
    const __m256 pt = _mm256_set1_ps(p[t]);
    const float* vr = vb + static_cast<int64_t>(t) * Dv;
    for (int j = 0; j < N; ++j) {
      a[j] = _mm256_fmadd_ps(pt, _mm256_loadu_ps(vr + 8 * j), a[j]);
    }
  }
  for (int j = 0; j < N; ++j) {
    _mm256_storeu_ps(acc + 8 * j, a[j]);
  }
}

#define MLXAGENT_ATTEND512 "avx512f,avx512dq,avx512vl,avx2,fma,f16c"

// The sums of 8 keys' 8-lane chains, two keys a register (z0: keys 0 and 1, ... z3: 6 and 7), each
// in hsum8's order (lanes i and i + 4, then lanes 0 + 2 and 1 + 3, then those two), all 8 at once:
// sr[0..7].
__attribute__((target(MLXAGENT_ATTEND512))) inline void sums8(__m512 z0, __m512 z1, __m512 z2, __m512 z3,
                                                           float* sr) {
  const __m512 u = _mm512_add_ps(_mm512_shuffle_f32x4(z0, z1, _MM_SHUFFLE(2, 0, 2, 0)),
                                 _mm512_shuffle_f32x4(z0, z1, _MM_SHUFFLE(3, 1, 3, 1)));  // keys 0-3
  const __m512 u2 = _mm512_add_ps(_mm512_shuffle_f32x4(z2, z3, _MM_SHUFFLE(2, 0, 2, 0)),
                                  _mm512_shuffle_f32x4(z2, z3, _MM_SHUFFLE(3, 1, 3, 1)));  // keys 4-7
  const __m512 w = _mm512_add_ps(_mm512_shuffle_ps(u, u2, _MM_SHUFFLE(1, 0, 1, 0)),
                                 _mm512_shuffle_ps(u, u2, _MM_SHUFFLE(3, 2, 3, 2)));
  const __m512 sums = _mm512_add_ps(w, _mm512_movehdup_ps(w));  // key k in lane 4k, key 4 + k in 4k + 2
  const __m512i order = _mm512_setr_epi32(0, 4, 8, 12, 2, 6, 10, 14, 0, 0, 0, 0, 0, 0, 0, 0);
  _mm256_storeu_ps(sr, _mm512_castps512_ps256(_mm512_permutexvar_ps(order, sums)));
}

// scores_avx2's chains two keys a register (a pair's halves), for two query rows at once (q1 may
// be null: q0 alone): the same arithmetic, bit for bit. Returns the keys done (a multiple of 8);
// the caller scores the rest.
__attribute__((target(MLXAGENT_ATTEND512))) inline int scores_avx512(const float* q0, const float* q1,
                                                                  const float* kb, int n, int D, float* s0,
                                                                  float* s1) {
  int i = 0;
  for (; i + 8 <= n; i += 8) {
    __m512 a[4], b[4];
    for (int j = 0; j < 4; ++j) {
      a[j] = b[j] = _mm512_setzero_ps();
    }
    for (int d = 0; d < D; d += 8) {
      const __m512 qa = _mm512_broadcast_f32x8(_mm256_loadu_ps(q0 + d));
      if (q1 != nullptr) {
        const __m512 qb = _mm512_broadcast_f32x8(_mm256_loadu_ps(q1 + d));
        for (int j = 0; j < 4; ++j) {
          const __m512 kv = _mm512_loadu_ps(paired(kb, i + 2 * j, D, d));
          a[j] = _mm512_fmadd_ps(qa, kv, a[j]);
          b[j] = _mm512_fmadd_ps(qb, kv, b[j]);
        }
      } else {
        for (int j = 0; j < 4; ++j) {
          a[j] = _mm512_fmadd_ps(qa, _mm512_loadu_ps(paired(kb, i + 2 * j, D, d)), a[j]);
        }
      }
    }
    sums8(a[0], a[1], a[2], a[3], s0 + i);
    if (q1 != nullptr) {
      sums8(b[0], b[1], b[2], b[3], s1 + i);
    }
  }
  return i;
}

// values_avx2<8>'s 64 features in four 16-lane chains, for two rows at once (p1 null: p0 alone):
// each feature's chain is the same.
__attribute__((target(MLXAGENT_ATTEND512))) inline void values64_avx512(const float* p0, const float* p1, int n,
                                                                     const float* vb, int Dv, float* acc0,
                                                                     float* acc1) {
  __m512 a[4], b[4];
  for (int j = 0; j < 4; ++j) {
    a[j] = _mm512_loadu_ps(acc0 + 16 * j);
    b[j] = p1 != nullptr ? _mm512_loadu_ps(acc1 + 16 * j) : a[j];
  }
  for (int t = 0; t < n; ++t) {
    const float* vr = vb + static_cast<int64_t>(t) * Dv;
    const __m512 pa = _mm512_set1_ps(p0[t]);
    if (p1 != nullptr) {
      const __m512 pb = _mm512_set1_ps(p1[t]);
      for (int j = 0; j < 4; ++j) {
        const __m512 vv = _mm512_loadu_ps(vr + 16 * j);
        a[j] = _mm512_fmadd_ps(pa, vv, a[j]);
        b[j] = _mm512_fmadd_ps(pb, vv, b[j]);
      }
    } else {
      for (int j = 0; j < 4; ++j) {
        a[j] = _mm512_fmadd_ps(pa, _mm512_loadu_ps(vr + 16 * j), a[j]);
      }
    }
  }
  for (int j = 0; j < 4; ++j) {
    _mm512_storeu_ps(acc0 + 16 * j, a[j]);
    if (p1 != nullptr) {
      _mm512_storeu_ps(acc1 + 16 * j, b[j]);
    }
  }
}
#undef MLXAGENT_ATTEND512

// R query rows (scaled, rotated; R x D floats) that share one KV head, row r against its first
// seen[r] keys and values (features contiguous, row strides kt and vt): out[r] = softmax(q_r k^T) v,
// Dv floats. Keys and values are read a block at a time and widened once for all R rows (a decode
// step's query heads of one KV head, a verification's rows); each row's arithmetic is the same in
// any block and with or without AVX-512, so a row's output is the same alone or with others.
template <typename KV>
__attribute__((target("avx2,fma,f16c"))) inline void heads_avx2(const float* q, int R, const int* seen, const KV* k,
                                                         int64_t kt, const KV* v, int64_t vt, int D, int Dv,
                                                    float* scores, int64_t ld, float* acc, float* const* out) {
  const bool wide = cpu_has_avx512();
  thread_local std::vector<float> block;
  block.resize(static_cast<size_t>(kKeyBlock) * std::max(D, Dv));
  int most = 0;
  for (int r = 0; r < R; ++r) {
    most = std::max(most, seen[r]);
  }
  for (int c0 = 0; c0 < most; c0 += kKeyBlock) {
    keys_in_pairs(k, kt, c0, std::min(most, c0 + kKeyBlock), D, block.data());
    for (int r = 0; r < R; r += wide ? 2 : 1) {
      const bool two = wide && r + 1 < R;  // AVX-512: two rows share each read of a key pair
      const int rows = two ? 2 : 1;
      int n[2] = {0, 0}, done = 0;
      for (int i = 0; i < rows; ++i) {
        n[i] = std::max(0, std::min(seen[r + i], c0 + kKeyBlock) - c0);
      }
      const float* qr = q + static_cast<int64_t>(r) * D;
      float* sr = scores + r * ld + c0;
      if (wide) {
        done = scores_avx512(qr, two ? qr + D : nullptr, block.data(), two ? std::min(n[0], n[1]) : n[0], D, sr,
                             sr + ld);
      }
      for (int i = 0; i < rows; ++i) {  // keys past those: a row at a time
        if (n[i] > done) {
          const float* kb = paired(block.data(), done, D, 0);  // done is even
          const float* qi = qr + i * D;
          float* si = sr + i * ld + done;
          const int more = wide ? scores_avx512(qi, nullptr, kb, n[i] - done, D, si, nullptr) : 0;
          scores_avx2(qi, paired(kb, more, D, 0), n[i] - done - more, D, si + more);
        }
      }
    }
  }
  thread_local std::vector<float> totals;
  totals.resize(R);
  for (int r = 0; r < R; ++r) {
    float* sr = scores + r * ld;
    const int n = seen[r];
    float top = -INFINITY;  // a maximum is exact in any order: eight lanes, then the rest
    int t = 0;
    if (n >= 8) {
      __m256 m8 = _mm256_loadu_ps(sr);
      for (t = 8; t + 8 <= n; t += 8) {
        m8 = _mm256_max_ps(m8, _mm256_loadu_ps(sr + t));
      }
      alignas(32) float lanes[8];
      _mm256_store_ps(lanes, m8);
      for (float f : lanes) {
        top = std::max(top, f);
      }
    }
    for (; t < n; ++t) {
      top = std::max(top, sr[t]);
    }
    const __m256 shift = _mm256_set1_ps(top);
    __m256 sum = _mm256_setzero_ps();
    t = 0;
    for (; t + 8 <= n; t += 8) {
      const __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(sr + t), shift));
      _mm256_storeu_ps(sr + t, e);
      sum = _mm256_add_ps(sum, e);
    }
    float total = hsum8(sum);
    for (; t < n; ++t) {
      sr[t] = std::exp(sr[t] - top);
      total += sr[t];
    }
    totals[r] = total;
  }
  std::fill(acc, acc + static_cast<size_t>(R) * Dv, 0.0f);
  for (int c0 = 0; c0 < most; c0 += kKeyBlock) {
    values_as_floats(v, vt, c0, std::min(most, c0 + kKeyBlock), Dv, block.data());
    for (int r = 0; r < R; r += wide ? 2 : 1) {
      const bool two = wide && r + 1 < R;
      const int rows = two ? 2 : 1;
      int n[2] = {0, 0};
      for (int i = 0; i < rows; ++i) {
        n[i] = std::max(0, std::min(seen[r + i], c0 + kKeyBlock) - c0);
      }
      const float* sr = scores + r * ld + c0;
      for (int d0 = 0; d0 < Dv; d0 += 64) {
        float* ar = acc + static_cast<int64_t>(r) * Dv + d0;
        const float* vb = block.data() + d0;
        if (Dv - d0 >= 64 && wide) {  // both rows' common keys together, then each row's own
          const int both = two ? std::min(n[0], n[1]) : 0;
          if (both > 0) {
            values64_avx512(sr, sr + ld, both, vb, Dv, ar, ar + Dv);
          }
          for (int i = 0; i < rows; ++i) {
            if (n[i] > both) {
              values64_avx512(sr + i * ld + both, nullptr, n[i] - both, vb + static_cast<int64_t>(both) * Dv, Dv,
                              ar + i * Dv, nullptr);
            }
          }
          continue;
        }
        for (int i = 0; i < rows; ++i) {
          if (Dv - d0 >= 64) {  // eight accumulators the compiler keeps in registers
            values_avx2<8>(sr + i * ld, n[i], vb, Dv, ar + i * Dv);
            continue;
          }
          for (int j = 0; j < (Dv - d0) / 8; ++j) {  // the rest: a chain per 8 features
            values_avx2<1>(sr + i * ld, n[i], vb + 8 * j, Dv, ar + i * Dv + 8 * j);
          }
        }
      }
    }
  }
  for (int r = 0; r < R; ++r) {
    const __m256 inv = _mm256_set1_ps(seen[r] > 0 ? 1.0f / totals[r] : 0.0f);
    const float* ar = acc + static_cast<int64_t>(r) * Dv;
    for (int d = 0; d < Dv; d += 8) {
      _mm256_storeu_ps(out[r] + d, _mm256_mul_ps(_mm256_loadu_ps(ar + d), inv));
    }
  }
}
#endif

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

// A KV cache's element type: float32, or float16 (half the bytes; qkernel/__init__.py's HalfKVCache),
// keys and values alike.
inline bool cache_dtype_ok(const mlx::core::array& keys, const mlx::core::array& values) {
  return keys.dtype() == values.dtype() &&
         (keys.dtype() == mlx::core::float32 || keys.dtype() == mlx::core::float16);
}

// f(C{}) for a cache's element type C: float or float16.
template <typename F>
void by_cache(const mlx::core::array& cache, F&& f) {
  if (cache.dtype() == mlx::core::float16) {
    f(mlx::core::float16_t{});
  } else {
    f(float{});
  }
}

// A cache (B, H, S, D) of any strides copied into a row-major buffer (a cache someone else holds);
// C: its element type (float, or float16 for a float16 KV cache).
template <typename C>
inline void copy_cache(const mlx::core::array& cache, C* dst) {
  const int D = cache.shape(3);
  const int64_t rows = static_cast<int64_t>(cache.size()) / std::max(D, 1);
  const int64_t sd = cache.strides()[3];
  const C* src = cache.data<C>();
  for (int64_t r = 0; r < rows; ++r) {
    const C* row = src + row_offset(cache, r);
    for (int d = 0; d < D; ++d) {
      dst[r * D + d] = row[d * sd];
    }
  }
}

// L rows of H heads of D features (src: (B, L, H*D), strides rs), rotated when rope.dims, written
// into a row-major cache buffer (B, H, S, D) at rows [offset, offset + L).
template <typename C>
inline void write_cache(const float* src, Strides3 rs, int B, int L, int H, int S, int D, int offset,
                        const Rope& rope, const RopeTables& t, C* dst) {
  for (int b = 0; b < B; ++b) {
    for (int l = 0; l < L; ++l) {
      for (int h = 0; h < H; ++h) {
        const float* in = src + b * rs.b + l * rs.l + static_cast<int64_t>(h) * D * rs.f;
        C* o = dst + ((static_cast<int64_t>(b) * H + h) * S + offset + l) * D;
        rotate_row(in, rs.f, D, rope.dims, rope.traditional, t.cos_row(l), t.sin_row(l), o);
      }
    }
  }
}

// Query rows of one KV head that a job of the blocked attention takes: all of them where that
// still gives each thread of the pool two jobs, else fewer (MLXAGENT_ATTENTION_ROWS=n for trials).
inline int block_rows(int rows, int kv_heads) {
  static const int fixed = [] {
    const char* v = std::getenv("MLXAGENT_ATTENTION_ROWS");
    return v ? std::max(1, std::atoi(v)) : 0;
  }();
  if (fixed) {
    return std::min(rows, fixed);
  }
  const int want = 2 * pool().size();
  const int per_head = std::max(1, (want + kv_heads - 1) / kv_heads);
  return std::max(1, std::min(rows, (rows + per_head - 1) / per_head));
}

// Query rows of B sequences and Hq heads (q's element (b, h, l, d) at b*qs.b + h*qs.h + l*qs.s +
// d*qs.d), rotated by rope where its dims are not 0 and scaled, each head against its KV head's Tk
// keys and values: row l of L sees the first Tk - L + l + 1 of them when causal, else all; its
// output (Dv features, contiguous) at b*os.b + h*os.h + l*os.s. The (sequence, head) pairs are
// split over the pool (a pair's arithmetic is the same on any thread). attention.cpp's
// attention on (B, H, L, D) heads and the cached attention below. KV: the keys' and values' type
// (T, or float16 with float T: a float16 KV cache).
template <typename T, typename KV = T>
inline void attend(const T* qp, Strides4 qs, const KV* kp, Strides4 ks, const KV* vp, Strides4 vs, int B, int L,
                   int Hq, int Hkv, int D, int Dv, int Tk, bool causal, const Rope& rope, const RopeTables& t,
                   float scale, T* op, Strides4 os) {
  const int rep = Hq / Hkv;
#ifdef MLXAGENT_X86
  if constexpr (std::is_same_v<T, float> &&
                (std::is_same_v<KV, float> || std::is_same_v<KV, mlx::core::float16_t>)) {
    if (cpu_has_avx2() && ks.d == 1 && vs.d == 1 && D % 8 == 0 && Dv % 8 == 0) {
      // the rep * L query rows of each KV head in groups that read its keys and values once
      const int rows = rep * L;
      const int group = block_rows(rows, B * Hkv);
      const int groups = (rows + group - 1) / group;
      const std::function<void(int)> job = [&](int chunk) {
        const int b = chunk / (Hkv * groups), hk = chunk / groups % Hkv, g0 = chunk % groups * group;
        const int R = std::min(group, rows - g0);
        thread_local std::vector<float> qrows, scores, acc;
        thread_local std::vector<int> seen;
        thread_local std::vector<float*> outs;
        qrows.resize(static_cast<size_t>(R) * D);
        scores.resize(static_cast<size_t>(R) * Tk);
        acc.resize(static_cast<size_t>(R) * Dv);
        seen.resize(R);
        outs.resize(R);
        for (int r = 0; r < R; ++r) {
          const int h = hk * rep + (g0 + r) / L, l = (g0 + r) % L;
          seen[r] = causal ? std::min(Tk, Tk - L + l + 1) : Tk;
          float* qrow = qrows.data() + static_cast<size_t>(r) * D;
          rotate_row(qp + b * qs.b + h * qs.h + l * qs.s, qs.d, D, rope.dims, rope.traditional, t.cos_row(l),
                     t.sin_row(l), qrow);
          for (int d = 0; d < D; ++d) {
            qrow[d] *= scale;
          }
          outs[r] = op + b * os.b + h * os.h + l * os.s;
        }
        heads_avx2(qrows.data(), R, seen.data(), kp + b * ks.b + hk * ks.h, ks.s, vp + b * vs.b + hk * vs.h, vs.s,
                   D, Dv, scores.data(), Tk, acc.data(), outs.data());
      };
      pool().run(B * Hkv * groups, job);
      return;
    }
  }
#endif
  const std::function<void(int)> job = [&](int chunk) {
    const int b = chunk / Hq, h = chunk % Hq;
    thread_local std::vector<float> qrow, scores, acc;
    qrow.resize(D);
    scores.resize(Tk);
    acc.resize(Dv);
    const KV* kb = kp + b * ks.b + (h / rep) * ks.h;
    const KV* vb = vp + b * vs.b + (h / rep) * vs.h;
    for (int l = 0; l < L; ++l) {
      const int seen = causal ? std::min(Tk, Tk - L + l + 1) : Tk;
      const T* qr = qp + b * qs.b + h * qs.h + l * qs.s;
      rotate_row(qr, qs.d, D, rope.dims, rope.traditional, t.cos_row(l), t.sin_row(l), qrow.data());
      for (int d = 0; d < D; ++d) {
        qrow[d] *= scale;
      }
      T* orow = op + b * os.b + h * os.h + l * os.s;
      head_portable(qrow.data(), kb, ks.s, ks.d, vb, vs.s, vs.d, D, Dv, seen, scores.data(), acc.data(), orow);
    }
  };
  pool().run(B * Hq, job);
}

// Query rows (B, L, Hq*D; strides qs) rotated by rope and scaled, each head against its KV head's
// first offset + l + 1 cached rows (causal) or offset + L: out (B, L, Hq*Dv) row-major.
template <typename KV>
inline void attend_cached(const float* qp, Strides3 qs, const KV* kp, Strides4 ks, const KV* vp,
                          Strides4 vs, int B, int L, int Hq, int Hkv, int D, int Dv, int offset,
                          bool causal, const Rope& rope, const RopeTables& t, float scale, float* op) {
  const int64_t row = static_cast<int64_t>(Hq) * Dv;
  attend<float, KV>(qp, {qs.b, D * qs.f, qs.l, qs.f}, kp, ks, vp, vs, B, L, Hq, Hkv, D, Dv, offset + L, causal, rope,
                t, scale, op, {L * row, Dv, row, 1});
}

}  // namespace mlxagent
