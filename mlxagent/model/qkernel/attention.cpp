// Decode-time rope and attention for MLX's CPU backend, beside the quantised matmul (qmm.cpp).
//
// On x86, mx.fast.rope and mx.fast.scaled_dot_product_attention run on the CPU as compositions of
// small scalar ops: per token of SmolLM2 they cost 3.4 and 3.6 ms against the 15 ms of all its
// products (BENCHMARKS.md). These two primitives compute them in one pass each, for the shapes a
// decode step and a speculative verification have (a few query rows against a KV cache). The
// Python side (qkernel/__init__.py) uses them only there and keeps MLX's own ops elsewhere.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <type_traits>
#include <vector>

#include <nanobind/nanobind.h>
#include <nanobind/stl/variant.h>

#include "mlx/backend/cpu/encoder.h"
#include "mlx/mlx.h"
#include "mlx/primitives.h"
#include "mlx/transforms.h"
#include "mlx/utils.h"
#include "attend.h"
#include "cpu.h"

namespace nb = nanobind;
namespace mx = mlx::core;
using namespace nb::literals;

namespace {


// ---------------------------------------------------------------- rope

// x (..., L, D): the first `dims` features of row l rotated by (offset + l) * scale * base^(-2i/dims),
// pairs (i, i + dims/2), or (2i, 2i + 1) when traditional; the rest copied.
class NativeRope : public mx::UnaryPrimitive {
 public:
  NativeRope(mx::Stream s, int dims, bool traditional, float base, float scale, int offset)
      : mx::UnaryPrimitive(s), dims_(dims), traditional_(traditional), base_(base), scale_(scale),
        offset_(offset) {}

  void eval_cpu(const std::vector<mx::array>& inputs, mx::array& out) override {
    const auto& x = inputs[0];
    auto& enc = mlxagent::encoder_for(stream(), inputs, {&out});
    enc.dispatch([x, out, dims = dims_, trad = traditional_, base = base_, scale = scale_,
                  offset = offset_]() mutable {
      switch (x.dtype()) {
        case mx::float16:
          run<mx::float16_t>(x, out, dims, trad, base, scale, offset);
          break;
        case mx::bfloat16:
          run<mx::bfloat16_t>(x, out, dims, trad, base, scale, offset);
          break;
        default:
          run<float>(x, out, dims, trad, base, scale, offset);
      }
    });
  }

  void eval_gpu(const std::vector<mx::array>&, mx::array&) override {
    throw std::runtime_error("[native_rope] CPU only");
  }

  // A rotation: its transpose rotates by the opposite angle (scale negated), and it is linear, so
  // its forward derivative is itself (LoRA tuning runs through rope).
  std::vector<mx::array> vjp(const std::vector<mx::array>&, const std::vector<mx::array>& cotangents,
                             const std::vector<int>&, const std::vector<mx::array>&) override {
    return {rotate(cotangents[0], -scale_)};
  }
  std::vector<mx::array> jvp(const std::vector<mx::array>&, const std::vector<mx::array>& tangents,
                             const std::vector<int>&) override {
    return {rotate(tangents[0], scale_)};
  }
  const char* name() const override {
    return "NativeRope";
  }
  bool is_equivalent(const mx::Primitive& other) const override {
    const auto& o = static_cast<const NativeRope&>(other);
    return dims_ == o.dims_ && traditional_ == o.traditional_ && base_ == o.base_ &&
           scale_ == o.scale_ && offset_ == o.offset_;
  }
  std::vector<mx::Shape> output_shapes(const std::vector<mx::array>& inputs) override {
    return {inputs[0].shape()};
  }

 private:
  template <typename T>
  static void run(const mx::array& x, mx::array& out, int dims, bool trad, float base, float scale,
                  int offset) {
    const int D = x.shape(-1);
    const int L = x.ndim() >= 2 ? x.shape(-2) : 1;
    const int64_t outer = static_cast<int64_t>(x.size()) / (static_cast<int64_t>(L) * D);
    const int half = dims / 2;
    std::vector<float> cosv(static_cast<size_t>(L) * half), sinv(static_cast<size_t>(L) * half);
    mlxagent::rope_tables(L, half, base, scale, offset, cosv.data(), sinv.data());
    const T* src = x.data<T>();
    T* dst = out.data<T>();
    for (int64_t o = 0; o < outer; ++o) {
      for (int l = 0; l < L; ++l) {
        const int64_t row = (o * L + l) * D;
        mlxagent::rotate_row(src + row, 1, D, dims, trad, cosv.data() + static_cast<size_t>(l) * half,
                             sinv.data() + static_cast<size_t>(l) * half, dst + row);
      }
    }
  }

  mx::array rotate(const mx::array& x, float scale) {
    return mx::array(x.shape(), x.dtype(),
                     std::make_shared<NativeRope>(stream(), dims_, traditional_, base_, scale, offset_),
                     {mx::contiguous(x, false, stream())});
  }

  int dims_;
  bool traditional_;
  float base_, scale_;
  int offset_;
};

mx::array native_rope(const mx::array& x, int dims, bool traditional, float base, float scale,
                      int offset, mx::StreamOrDevice s) {
  auto stream = mx::to_stream(s);
  if (x.ndim() < 2 || dims <= 0 || dims % 2 != 0 || dims > x.shape(-1)) {
    throw std::invalid_argument("[native_rope] dims must be even and at most the last axis");
  }
  if (x.dtype() != mx::float32 && x.dtype() != mx::float16 && x.dtype() != mx::bfloat16) {
    throw std::invalid_argument("[native_rope] x must be float32, float16 or bfloat16");
  }
  if (stream.device != mx::Device::cpu) {
    return mx::fast::rope(x, dims, traditional, base, scale, offset, std::nullopt, s);
  }
  return mx::array(x.shape(), x.dtype(),
                   std::make_shared<NativeRope>(stream, dims, traditional, base, scale, offset),
                   {mx::contiguous(x, false, stream)});
}

// ---------------------------------------------------------------- attention

// q (B, Hq, L, D) against k (B, Hkv, T, D), v (B, Hkv, T, Dv), Hq a multiple of Hkv (grouped
// queries); causal: query row l sees keys up to T - L + l. Softmax in float32 with the maximum
// subtracted, as MLX's own. k and v are read through their strides (a KV cache hands views).
std::vector<mx::array> composite(const std::vector<mx::array>& in, float scale, bool causal) {
  const auto& q = in[0];
  const auto& k = in[1];
  const auto& v = in[2];
  const int B = q.shape(0), Hq = q.shape(1), L = q.shape(2), D = q.shape(3);
  const int Hkv = k.shape(1), T = k.shape(2), Dv = v.shape(3);
  const int rep = Hq / Hkv;
  auto qr = mx::reshape(mx::multiply(q, mx::array(scale, q.dtype())), {B, Hkv, rep * L, D});
  auto scores = mx::matmul(qr, mx::swapaxes(k, -1, -2));
  if (causal) {
    auto rows = mx::remainder(mx::arange(rep * L), mx::array(L));
    auto allowed = mx::less_equal(mx::reshape(mx::arange(T), {1, T}),
                                  mx::add(mx::reshape(rows, {rep * L, 1}), mx::array(T - L)));
    scores = mx::where(allowed, scores, mx::array(-INFINITY, scores.dtype()));
  }
  auto p = mx::softmax(scores, std::vector<int>{-1}, true);
  return {mx::reshape(mx::matmul(p, v), {B, Hq, L, Dv})};
}

class NativeAttention : public mx::UnaryPrimitive {
 public:
  NativeAttention(mx::Stream s, float scale, bool causal)
      : mx::UnaryPrimitive(s), scale_(scale), causal_(causal) {}

  void eval_cpu(const std::vector<mx::array>& inputs, mx::array& out) override {
    auto& enc = mlxagent::encoder_for(stream(), inputs, {&out});
    enc.dispatch([q = inputs[0], k = inputs[1], v = inputs[2], out, scale = scale_,
                  causal = causal_]() mutable {
      switch (q.dtype()) {
        case mx::float16:
          run<mx::float16_t>(q, k, v, out, scale, causal);
          break;
        case mx::bfloat16:
          run<mx::bfloat16_t>(q, k, v, out, scale, causal);
          break;
        default:
          if (k.dtype() == mx::float16) {  // a float16 KV cache
            run<float, mx::float16_t>(q, k, v, out, scale, causal);
          } else {
            run<float>(q, k, v, out, scale, causal);
          }
      }
    });
  }

  void eval_gpu(const std::vector<mx::array>&, mx::array&) override {
    throw std::runtime_error("[native_attention] CPU only");
  }

  // Gradients through the same computation in MLX's own ops (tuning never meets this path in
  // practice: it runs long sequences; the product is exact either way).
  std::vector<mx::array> vjp(const std::vector<mx::array>& primals,
                             const std::vector<mx::array>& cotangents,
                             const std::vector<int>& argnums,
                             const std::vector<mx::array>&) override {
    float scale = scale_;
    bool causal = causal_;
    auto [_, grads] = mx::vjp(
        [scale, causal](const std::vector<mx::array>& in) { return composite(in, scale, causal); },
        primals, cotangents);
    std::vector<mx::array> out;
    for (int a : argnums) {
      out.push_back(grads[a]);
    }
    return out;
  }

  const char* name() const override {
    return "NativeAttention";
  }
  bool is_equivalent(const mx::Primitive& other) const override {
    const auto& o = static_cast<const NativeAttention&>(other);
    return scale_ == o.scale_ && causal_ == o.causal_;
  }
  std::vector<mx::Shape> output_shapes(const std::vector<mx::array>& in) override {
    return {{in[0].shape(0), in[0].shape(1), in[0].shape(2), in[2].shape(3)}};
  }

 private:
  template <typename T, typename KV = T>
  static void run(const mx::array& q, const mx::array& k, const mx::array& v, mx::array& out,
                  float scale, bool causal) {
    const int B = q.shape(0), Hq = q.shape(1), L = q.shape(2), Dv = v.shape(3);
    const auto& qs = q.strides();
    const auto& ks = k.strides();
    const auto& vs = v.strides();
    const mlxagent::Rope none;  // q as it is
    mlxagent::attend<T, KV>(q.data<T>(), {qs[0], qs[1], qs[2], qs[3]}, k.data<KV>(), {ks[0], ks[1], ks[2], ks[3]},
                        v.data<KV>(), {vs[0], vs[1], vs[2], vs[3]}, B, L, Hq, k.shape(1), q.shape(3), Dv, k.shape(2),
                        causal, none, mlxagent::RopeTables(none, L, 0), scale, out.data<T>(),
                        {static_cast<int64_t>(Hq) * L * Dv, static_cast<int64_t>(L) * Dv, Dv, 1});
  }

  float scale_;
  bool causal_;
};

mx::array native_attention(const mx::array& q, const mx::array& k, const mx::array& v,
                           float scale, bool causal, mx::StreamOrDevice s) {
  auto stream = mx::to_stream(s);
  if (q.ndim() != 4 || k.ndim() != 4 || v.ndim() != 4 || k.shape(0) != q.shape(0) ||
      v.shape(0) != q.shape(0) || k.shape(1) != v.shape(1) || k.shape(2) != v.shape(2) ||
      k.shape(3) != q.shape(3) || k.shape(1) == 0 || q.shape(1) % k.shape(1) != 0) {
    throw std::invalid_argument(
        "[native_attention] q (B, Hq, L, D), k (B, Hkv, T, D), v (B, Hkv, T, Dv), Hq a multiple of Hkv");
  }
  if (causal && q.shape(2) > k.shape(2)) {
    throw std::invalid_argument("[native_attention] causal needs at least as many keys as queries");
  }
  const bool half_cache = q.dtype() == mx::float32 && k.dtype() == mx::float16 && v.dtype() == mx::float16;
  if (!half_cache && (q.dtype() != k.dtype() || q.dtype() != v.dtype() ||
                      (q.dtype() != mx::float32 && q.dtype() != mx::float16 && q.dtype() != mx::bfloat16))) {
    throw std::invalid_argument("[native_attention] q, k and v must share one float dtype (or float32 q with "
                                "float16 k and v)");
  }
  if (stream.device != mx::Device::cpu) {
    return composite({q, k, v}, scale, causal)[0];
  }
  mx::Shape shape = {q.shape(0), q.shape(1), q.shape(2), v.shape(3)};
  return mx::array(shape, q.dtype(), std::make_shared<NativeAttention>(stream, scale, causal),
                   {q, k, v});
}

}  // namespace

void register_attention(nb::module_& m) {
  m.def("native_rope", &native_rope, "x"_a, "dims"_a, "traditional"_a, "base"_a, "scale"_a,
        "offset"_a, nb::kw_only(), "stream"_a = nb::none(),
        "mx.fast.rope for an integer offset, in one pass on the CPU");
  m.def("native_attention", &native_attention, "q"_a, "k"_a, "v"_a, "scale"_a, "causal"_a = false,
        nb::kw_only(), "stream"_a = nb::none(),
        "softmax(q k^T * scale) v with grouped queries (causal: aligned to the last key), on the CPU");
}
