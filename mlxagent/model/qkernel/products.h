// The quantised products' inner loops, shared by the kernels that compute them: the plain product
// (qmm.cpp: y = x @ dequant(W).T) and the fused gate and up products of a SwiGLU MLP (mlp.cpp).
// `products()` runs one tile of x's rows against one or more layers of the same shape with one
// thread hand-off for all of them; a kernel says what becomes of the tile's products (`emit`).
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include <typeinfo>

#include "mlx/array.h"
#include "mlx/ops.h"
#include "mlx/primitives.h"
#include "avx512.h"  // the inner loops: avx2.h, and its lanes two at a time
#include "cpu.h"
#include "pool.h"
#include "q8.h"

namespace mlxagent {
namespace products {

namespace mx = mlx::core;

#ifdef MLXAGENT_X86
using mlxagent::fast_f;
#endif

// ---------------------------------------------------------------- the inner loops

template <typename S>
inline float to_f(S v) {
  return static_cast<float>(v);
}


// x rows in float, each 32-block of a 4-bit layer reordered as [0,2,..,14, 16,..,30, 1,..,15,
// 17,..,31] so that a block's low nibbles meet the even positions and its high nibbles the odd
// ones without a shuffle. 8-bit layers keep x in order.
template <typename T>
void load_x(const T* x, int rows, int K, int bits, float* out) {
  for (int m = 0; m < rows; ++m) {
    const T* xr = x + static_cast<size_t>(m) * K;
    float* o = out + static_cast<size_t>(m) * K;
    if (bits != 4) {
      for (int k = 0; k < K; ++k) {
        o[k] = static_cast<float>(xr[k]);
      }
      continue;
    }
    for (int k0 = 0; k0 < K; k0 += 32) {
      for (int j = 0; j < 8; ++j) {
        o[k0 + j] = static_cast<float>(xr[k0 + 2 * j]);
        o[k0 + 8 + j] = static_cast<float>(xr[k0 + 16 + 2 * j]);
        o[k0 + 16 + j] = static_cast<float>(xr[k0 + 2 * j + 1]);
        o[k0 + 24 + j] = static_cast<float>(xr[k0 + 17 + 2 * j]);
      }
    }
  }
}

// Portable: one output row n against `rows` rows of x (already reordered by load_x).
template <typename S>
void row_portable(const uint8_t* w, const S* sc, const S* bi, const float* xp, int rows, int K,
                  int gs, int bits, float* acc) {
  for (int m = 0; m < rows; ++m) {
    acc[m] = 0.0f;
  }
  float wf[32];
  for (int k0 = 0; k0 < K; k0 += 32) {
    const float s = to_f(sc[k0 / gs]);
    const float b = to_f(bi[k0 / gs]);
    if (bits == 4) {
      const uint8_t* wb = w + k0 / 2;
      for (int j = 0; j < 8; ++j) {
        wf[j] = s * static_cast<float>(wb[j] & 15) + b;
        wf[8 + j] = s * static_cast<float>(wb[8 + j] & 15) + b;
        wf[16 + j] = s * static_cast<float>(wb[j] >> 4) + b;
        wf[24 + j] = s * static_cast<float>(wb[8 + j] >> 4) + b;
      }
    } else {
      const uint8_t* wb = w + k0;
      for (int j = 0; j < 32; ++j) {
        wf[j] = s * static_cast<float>(wb[j]) + b;
      }
    }
    for (int m = 0; m < rows; ++m) {
      const float* xm = xp + static_cast<size_t>(m) * K + k0;
      float a = 0.0f;
      for (int j = 0; j < 32; ++j) {
        a += wf[j] * xm[j];
      }
      acc[m] += a;
    }
  }
}

// How many output rows ahead the weights are asked for (AVX2 paths). A row of SmolLM2's layers is
// a few hundred bytes of 4-bit weights and two short rows of scales and biases: the hardware
// prefetcher, which follows each stream on its own and stops at page ends, left most rows waiting
// on memory (BENCHMARKS.md: decode 1.3x, a product 1.45x with these hints, paired runs).
// MLXAGENT_KERNEL_NO_PREFETCH=1 turns them off (bench/kernel.py compares).
constexpr int kPrefetchRows = 4;

template <typename S>
inline void prefetch_row(const uint8_t* w, const S* sc, const S* bi, size_t wstride, int groups,
                         int n, int n1) {
#ifdef MLXAGENT_X86
  static const bool off = std::getenv("MLXAGENT_KERNEL_NO_PREFETCH") != nullptr;
  if (n >= n1 || off) {
    return;
  }
  const char* row = reinterpret_cast<const char*>(w + n * wstride);
  for (size_t at = 0; at < wstride; at += 64) {
    _mm_prefetch(row + at, _MM_HINT_T0);
  }
  const char* s = reinterpret_cast<const char*>(sc + static_cast<size_t>(n) * groups);
  const char* b = reinterpret_cast<const char*>(bi + static_cast<size_t>(n) * groups);
  for (size_t at = 0; at < groups * sizeof(S); at += 64) {
    _mm_prefetch(s + at, _MM_HINT_T0);
    _mm_prefetch(b + at, _MM_HINT_T0);
  }
#endif
}

#ifdef MLXAGENT_X86
// avx512.h's loops for several rows of x (speculative verification, prefill tiles): tiles of 8
// rows of x by 4 output rows, over output rows [n0, n1); returns the first output row left to the
// AVX2 loops. One row of x (a decode step, bound by memory) stays on avx2.h's loop, which was
// faster there (BENCHMARKS.md).
template <typename S>
int block_avx512(const uint8_t* w, size_t wstride, const S* sc, const S* bi, int groups, const float* xp,
                 int rows, int K, int N, int gs, int bits, int n0, int n1, float* out) {
  constexpr int step = 4;
  int n = n0;
  if (rows == 1) {
    return n;
  }
  thread_local std::vector<float> sb;
  sb.resize(static_cast<size_t>(groups) * step * 2);
  for (; n + step <= n1; n += step) {
    for (int r = 0; r < step; ++r) {
      prefetch_row(w, sc, bi, wstride, groups, n + r + kPrefetchRows, n1);
    }
    const uint8_t* wn = w + n * wstride;
    pair_scales<S, step / 2>(sc + static_cast<size_t>(n) * groups, bi + static_cast<size_t>(n) * groups, groups,
                             sb.data());
    if (bits == 4) {
      rows_avx512<step / 2, 4>(wn, wstride, sb.data(), xp, rows, K, gs, out + n, N);
    } else {
      rows_avx512<step / 2, 8>(wn, wstride, sb.data(), xp, rows, K, gs, out + n, N);
    }
  }
  return n;
}
#endif

// Output rows [n0, n1) for `rows` rows of x; out is rows x N floats.
template <typename S>
void block(const uint8_t* w, const S* sc, const S* bi, const float* xp, int rows, int K, int N,
           int gs, int bits, int n0, int n1, float* out) {
  const size_t wstride = static_cast<size_t>(K) * bits / 8;
  const int groups = K / gs;
#ifdef MLXAGENT_X86
  if (cpu_has_avx2()) {
    int n = n0;
    if (cpu_has_avx512()) {  // avx512.h: the same lanes, two output rows a register
      n = block_avx512<S>(w, wstride, sc, bi, groups, xp, rows, K, N, gs, bits, n0, n1, out);
    }
    if (rows == 1) {  // a decode step: four output rows at a time
      constexpr int NT = 4;
      for (; n + NT <= n1; n += NT) {
        for (int r = 0; r < NT; ++r) {
          prefetch_row(w, sc, bi, wstride, groups, n + r + kPrefetchRows, n1);
        }
        if (bits == 4) {
          rows_of_one_avx2<S, NT, 4>(w + n * wstride, wstride, sc + n * groups, bi + n * groups, groups, xp, K,
                                     gs, out + n);
        } else {
          rows_of_one_avx2<S, NT, 8>(w + n * wstride, wstride, sc + n * groups, bi + n * groups, groups, xp, K,
                                     gs, out + n);
        }
      }
    }
    for (; n < n1; ++n) {
      prefetch_row(w, sc, bi, wstride, groups, n + kPrefetchRows, n1);
      if (bits == 4) {
        rows_avx2<S, 4>(w + n * wstride, sc + n * groups, bi + n * groups, xp, rows, K, gs, out + n,
                        N);
      } else {
        rows_avx2<S, 8>(w + n * wstride, sc + n * groups, bi + n * groups, xp, rows, K, gs, out + n,
                        N);
      }
    }
    return;
  }
#endif
  std::vector<float> acc(rows);
  for (int n = n0; n < n1; ++n) {
    row_portable<S>(w + n * wstride, sc + n * groups, bi + n * groups, xp, rows, K, gs, bits,
                    acc.data());
    for (int m = 0; m < rows; ++m) {
      out[static_cast<size_t>(m) * N + n] = acc[m];
    }
  }
}

#ifdef MLXAGENT_X86
// The integer path's output rows [n0, n1) (q8.h).
template <typename S>
void block_q8(const uint8_t* w, const S* sc, const S* bi, const int8_t* xq, const float* xd,
              const float* xs, int rows, int K, int N, int gs, int bits, int n0, int n1,
              float* out) {
  const size_t wstride = static_cast<size_t>(K) * bits / 8;
  const int groups = K / gs;
  for (int n = n0; n < n1; ++n) {
    prefetch_row(w, sc, bi, wstride, groups, n + kPrefetchRows, n1);
    if (bits == 4) {
      mlxagent::rows_q8<S, 4>(w + n * wstride, sc + n * groups, bi + n * groups, xq, xd, xs, rows,
                              K, gs, out + n, N);
    } else {
      mlxagent::rows_q8<S, 8>(w + n * wstride, sc + n * groups, bi + n * groups, xq, xd, xs, rows,
                              K, gs, out + n, N);
    }
  }
}
#endif

// ---------------------------------------------------------------- a tile of rows, several layers

// One layer's quantised weights: N rows of K/gs groups.
template <typename S>
struct Layer {
  const uint8_t* w;
  const S* sc;
  const S* bi;
};

// Quantised layers as (weights, scales, biases) triples of a primitive's inputs, from in[first].
template <typename S>
Layer<S> layer_at(const std::vector<mx::array>& in, size_t first) {
  return Layer<S>{reinterpret_cast<const uint8_t*>(in[first].data<uint32_t>()), in[first + 1].data<S>(),
                  in[first + 2].data<S>()};
}

// f(S{}) for the scales' type S: float16, bfloat16 or float.
template <typename F>
void by_scales(mx::Dtype scales, F&& f) {
  switch (scales) {
    case mx::float16:
      f(mx::float16_t{});
      break;
    case mx::bfloat16:
      f(mx::bfloat16_t{});
      break;
    default:
      f(float{});
  }
}

// A tile of up to 40 rows of x (a verification's 1 + speculative.MAX_TOTAL fit one) as the inner loops read it: floats reordered for 4-bit blocks
// (load_x), or int8 blocks with their scales and sums when int8 activations are on (q8.h).
template <typename T>
struct XTile {
  static constexpr int kRows = 40;
  const bool q8 = int8_activations();
  int K, bits, rows = 0;
  std::vector<float> xp;
  std::vector<int8_t> xq;
  std::vector<float> xd, xs;

  XTile(int M, int K_, int bits_) : K(K_), bits(bits_) {
    const size_t tile = static_cast<size_t>(std::min(M, kRows));
    if (!q8) {
      xp.resize(tile * K);
    } else {
      xq.resize(tile * K);
      xd.resize(tile * (K / 32));
      xs.resize(tile * (K / 32));
    }
  }
  // Rows m0..m0+n of x (row-major, K features) into the tile.
  void load(const T* x, int m0, int n) {
    rows = n;
    if (q8) {
      quantize_x<T>(x + static_cast<size_t>(m0) * K, n, K, bits, xq.data(), xd.data(), xs.data());
    } else {
      load_x<T>(x + static_cast<size_t>(m0) * K, n, K, bits, xp.data());
    }
  }
  // Output rows [n0, n1) of one layer (N outputs) for the tile's rows; out is rows x N floats.
  template <typename S>
  void block_of(const Layer<S>& a, int N, int gs, int n0, int n1, float* out) const {
#ifdef MLXAGENT_X86
    if (q8) {
      block_q8<S>(a.w, a.sc, a.bi, xq.data(), xd.data(), xs.data(), rows, K, N, gs, bits, n0, n1, out);
      return;
    }
#endif
    block<S>(a.w, a.sc, a.bi, xp.data(), rows, K, N, gs, bits, n0, n1, out);
  }
};

// Output rows a pool chunk takes: about 32k weights of a layer (a few microseconds), whole
// multiples of 8 rows; all of them where the pool has one thread.
inline int chunk_rows(int K, int N) {
  return pool().size() == 1 ? std::max(N, 1) : std::max(8, (32768 / std::max(K, 1) + 7) / 8 * 8);
}

// Rows of x in tiles of 40 (decode and speculative verification fit one tile: the weights are read once) against L layers of
// the same shape (N outputs of K inputs): x is read and rounded once, and the output rows of all
// of them are split over the pool in one hand-off, when there is enough work to pay for waking a
// thread. `emit(m0, rows, out, stride)` gets each tile's products: layer l's rows x N floats at
// out + l * stride.
template <typename T, typename S, int L, typename Emit>
void tiled(const T* x, const Layer<S> (&layers)[L], int M, int K, int N, int gs, int bits, Emit emit) {
  XTile<T> xt(M, K, bits);
  const size_t stride = static_cast<size_t>(std::min(M, XTile<T>::kRows)) * N;
  std::vector<float> out(L * stride);
  const int span = chunk_rows(K, N);
  const int chunks = (N + span - 1) / span;
  for (int m0 = 0; m0 < M; m0 += XTile<T>::kRows) {
    xt.load(x, m0, std::min(XTile<T>::kRows, M - m0));
    std::function<void(int)> job = [&](int c) {
      const int n0 = std::min(N, c * span);
      const int n1 = std::min(N, n0 + span);
      for (int l = 0; l < L && n0 < n1; ++l) {
        xt.block_of(layers[l], N, gs, n0, n1, out.data() + l * stride);
      }
    };
    pool().run(chunks, job);
    emit(m0, xt.rows, out.data(), stride);
  }
}

// Rows of x against several layers of K inputs and their own output counts Ns[l], every layer's
// output rows in one hand-off (a decoder layer's q, k and v products): y[l] gets M x Ns[l], each
// product rounded to T.
template <typename T, typename S>
void products_of(const T* x, const std::vector<Layer<S>>& layers, const std::vector<int>& Ns, int M, int K,
                 int gs, int bits, const std::vector<T*>& y) {
  XTile<T> xt(M, K, bits);
  const size_t tile = static_cast<size_t>(std::min(M, XTile<T>::kRows));
  std::vector<size_t> at(layers.size() + 1, 0);
  std::vector<int> first(layers.size() + 1, 0), span(layers.size());
  for (size_t l = 0; l < layers.size(); ++l) {
    at[l + 1] = at[l] + tile * Ns[l];
    span[l] = chunk_rows(K, Ns[l]);
    first[l + 1] = first[l] + (Ns[l] + span[l] - 1) / span[l];
  }
  std::vector<float> out(at.back());
  for (int m0 = 0; m0 < M; m0 += XTile<T>::kRows) {
    xt.load(x, m0, std::min(XTile<T>::kRows, M - m0));
    std::function<void(int)> job = [&](int c) {
      const size_t l = std::upper_bound(first.begin(), first.end(), c) - first.begin() - 1;
      const int n0 = (c - first[l]) * span[l];
      const int n1 = std::min(Ns[l], n0 + span[l]);
      xt.block_of(layers[l], Ns[l], gs, n0, n1, out.data() + at[l]);
    };
    pool().run(first.back(), job);
    for (size_t l = 0; l < layers.size(); ++l) {
      T* yr = y[l] + static_cast<size_t>(m0) * Ns[l];
      for (size_t i = 0; i < static_cast<size_t>(xt.rows) * Ns[l]; ++i) {
        yr[i] = static_cast<T>(out[at[l] + i]);
      }
    }
  }
}

// y = x @ dequant(W).T for M rows of x, each product rounded to T (qmm.cpp, layer.cpp).
template <typename T, typename S>
void product(const T* x, const Layer<S>& layer, T* y, int M, int K, int N, int gs, int bits) {
  const Layer<S> layers[1] = {layer};
  tiled<T, S, 1>(x, layers, M, K, N, gs, bits, [&](int m0, int rows, const float* out, size_t) {
    T* yr = y + static_cast<size_t>(m0) * N;
    for (size_t i = 0; i < static_cast<size_t>(rows) * N; ++i) {
      yr[i] = static_cast<T>(out[i]);
    }
  });
}

// ---------------------------------------------------------------- inputs

// x's rows as one row-major block: itself when it is one, else a copy (a view of x reaches the
// kernel without a copy node in the graph; the model's own inputs are row-major already).
template <typename T>
const T* rows_of(const mx::array& x, std::vector<T>& buf) {
  if (x.flags().row_contiguous) {
    return x.data<T>();
  }
  const int K = x.shape(-1);
  const int64_t rows = K == 0 ? 0 : static_cast<int64_t>(x.size()) / K;
  const int64_t ks = x.strides().back();
  buf.resize(x.size());
  for (int64_t r = 0; r < rows; ++r) {
    const T* src = x.data<T>() + mlxagent::row_offset(x, r);
    for (int k = 0; k < K; ++k) {
      buf[r * K + k] = src[k * ks];
    }
  }
  return buf.data();
}

// Whether the kernels compute rows of K features against (w, s, b); else why not.
inline bool supported_layer(int K, const mx::array& w, const mx::array& s, const mx::array& b, int gs, int bits,
                            std::string* why) {
  if (bits != 4 && bits != 8) {
    *why = "bits must be 4 or 8";
  } else if (gs % 32 != 0 || gs <= 0) {
    *why = "group size must be a multiple of 32";
  } else if (w.dtype() != mx::uint32 || w.ndim() != 2) {
    *why = "weights must be a 2-D uint32 array";
  } else if (K != w.shape(1) * 32 / bits) {
    *why = "x's last axis does not match the weights";
  } else if (K % gs != 0) {
    *why = "x's last axis is not a whole number of groups";
  } else if (s.ndim() != 2 || s.shape(0) != w.shape(0) || s.shape(1) != K / gs || b.shape() != s.shape() ||
             b.dtype() != s.dtype()) {
    *why = "scales and biases do not match the weights";
  } else {
    return true;
  }
  return false;
}

// Whether the kernels compute x against (w, s, b); else why not.
inline bool supported(const mx::array& x, const mx::array& w, const mx::array& s, const mx::array& b,
               int gs, int bits, std::string* why) {
  if (x.ndim() < 1) {
    *why = "x's last axis does not match the weights";
    return false;
  }
  if (!supported_layer(x.shape(-1), w, s, b, gs, bits, why)) {
    return false;
  }
  if (x.dtype() != mx::float32 && x.dtype() != mx::float16 && x.dtype() != mx::bfloat16) {
    *why = "x must be float32, float16 or bfloat16";
    return false;
  }
  return true;
}

// ---------------------------------------------------------------- the primitives' common part

// Calls and time inside the quantised products (qmm.cpp's and mlp.cpp's) since the last
// stats(reset=True): bench/kernel.py's share of a decode step spent in them.
inline std::atomic<uint64_t> g_calls{0}, g_nanos{0};

// Times one call into g_calls and g_nanos.
struct Timed {
  std::chrono::steady_clock::time_point t0 = std::chrono::steady_clock::now();
  ~Timed() {
    g_calls.fetch_add(1, std::memory_order_relaxed);
    g_nanos.fetch_add(std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::steady_clock::now() - t0).count(),
                      std::memory_order_relaxed);
  }
};

// A primitive of quantised products (qmm.cpp's, mlp.cpp's): its group size and bits, equal to one
// of its own kind with the same, and an output of x's shape with the layers' output rows last.
class QuantizedPrimitive : public mx::UnaryPrimitive {
 public:
  QuantizedPrimitive(mx::Stream stream, int group_size, int bits)
      : mx::UnaryPrimitive(stream), group_size_(group_size), bits_(bits) {}

  bool is_equivalent(const mx::Primitive& other) const override {
    if (typeid(*this) != typeid(other)) {
      return false;
    }
    const auto& o = static_cast<const QuantizedPrimitive&>(other);
    return group_size_ == o.group_size_ && bits_ == o.bits_;
  }

  std::vector<mx::Shape> output_shapes(const std::vector<mx::array>& inputs) override {
    auto shape = inputs[0].shape();
    shape.back() = inputs[1].shape(0);
    return {shape};
  }

 protected:
  int group_size_;
  int bits_;
};

// Weights that are not evaluated row-major buffers yet (a lazy view) are made so first; a loaded
// model's weights are, and get no extra op.
inline mx::array row_major(const mx::array& a, mx::Stream stream) {
  return a.is_available() && a.flags().row_contiguous ? a : mx::contiguous(a, false, stream);
}

}  // namespace products
}  // namespace mlxagent
