// A decode step's decoder layer (llama, qwen2 without projection biases) in four graph nodes.
//
// After fused.cpp and mlp.cpp a layer was still thirteen nodes a step: the input norm, the q, k and
// v products, two cache writes, the cached attention, o_proj, a residual add, the second norm, the
// fused MLP, down_proj and another add. On the CPU every node costs a dispatch and every product a
// thread hand-off, and SmolLM2 has 30 layers. Here:
//   native_norm_qkv: the input norm and the q, k and v products (three outputs of one node, one
//     thread hand-off for the three layers' rows);
//   native_cache_write (fused.cpp) twice: keys rotated, values, into the KV cache's buffer, in place
//     where MLX may donate it (a node of its own: an input shared by several outputs is never
//     donatable);
//   native_layer_tail: the cached attention, o_proj, the residual add, the second norm, the MLP and
//     the last add.
// Every step is the arithmetic of the node it replaces (norm.h, products.h, mlp.h, attend.h), in
// the same order, so a layer through these equals the layer through those bit for bit. CPU only,
// float32 caches, x float32 (or half with float32 norms: the first layer, after a quantised
// embedding), up to 16 rows (the Python side checks and keeps the other cases).

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include <nanobind/nanobind.h>
#include <nanobind/stl/variant.h>
#include <nanobind/stl/vector.h>

#include "mlx/backend/cpu/encoder.h"
#include "mlx/mlx.h"
#include "mlx/primitives.h"
#include "attend.h"
#include "mlp.h"
#include "norm.h"
#include "products.h"

namespace nb = nanobind;
namespace mx = mlx::core;
using namespace nb::literals;

namespace {

using namespace mlxagent::products;
using mlxagent::Rope;
using mlxagent::RopeTables;

// x's rows (any strides; float32, or a half type widened exactly) as row-major floats: x itself
// where it is that already.
template <typename H>
const float* widened(const mx::array& x, std::vector<float>& buf) {
  std::vector<H> copy;
  const H* rows = rows_of<H>(x, copy);
  buf.assign(rows, rows + x.size());
  return buf.data();
}

const float* rows_as_float(const mx::array& x, std::vector<float>& buf) {
  switch (x.dtype()) {
    case mx::float16:
      return widened<mx::float16_t>(x, buf);
    case mx::bfloat16:
      return widened<mx::bfloat16_t>(x, buf);
    default:
      return rows_of<float>(x, buf);
  }
}

// M rows of E features (row-major floats) normed into n.
void norm_rows(const float* x, int64_t M, int E, const mx::array& w, float eps, std::vector<float>& n) {
  std::vector<float> wf;
  mlxagent::weight_floats(w, wf);
  n.resize(static_cast<size_t>(M) * E);
  for (int64_t r = 0; r < M; ++r) {
    mlxagent::rms_row(x + r * E, 1, wf.data(), E, eps, n.data() + r * E);
  }
}

// ---------------------------------------------------------------- the norm and q, k, v

class NativeNormQKV : public mx::Primitive {
 public:
  NativeNormQKV(mx::Stream s, int gs, int bits, float eps)
      : mx::Primitive(s), gs_(gs), bits_(bits), eps_(eps) {}

  void eval_cpu(const std::vector<mx::array>& inputs, std::vector<mx::array>& outputs) override {
    auto& enc = mlxagent::encoder_for(stream(), inputs, {&outputs[0], &outputs[1], &outputs[2]});
    enc.dispatch([inputs, q = outputs[0], k = outputs[1], v = outputs[2], gs = gs_, bits = bits_,
                  eps = eps_]() mutable {
      Timed timed;
      const auto& x = inputs[0];
      const int E = x.shape(-1);
      const int M = static_cast<int>(x.size() / E);
      std::vector<float> buf, n;
      norm_rows(rows_as_float(x, buf), M, E, inputs[1], eps, n);
      by_scales(inputs[3].dtype(), [&](auto s) {
        using S = decltype(s);
        products_of<float, S>(n.data(), {layer_at<S>(inputs, 2), layer_at<S>(inputs, 5), layer_at<S>(inputs, 8)},
                              {q.shape(-1), k.shape(-1), v.shape(-1)}, M, E, gs, bits,
                              {q.data<float>(), k.data<float>(), v.data<float>()});
      });
    });
  }

  void eval_gpu(const std::vector<mx::array>&, std::vector<mx::array>&) override {
    throw std::runtime_error("[native_norm_qkv] CPU only");
  }
  const char* name() const override {
    return "NativeNormQKV";
  }
  bool is_equivalent(const mx::Primitive& other) const override {
    const auto& o = static_cast<const NativeNormQKV&>(other);
    return gs_ == o.gs_ && bits_ == o.bits_ && eps_ == o.eps_;
  }
  std::vector<mx::Shape> output_shapes(const std::vector<mx::array>& in) override {
    std::vector<mx::Shape> shapes;
    for (size_t i : {2, 5, 8}) {
      auto shape = in[0].shape();
      shape.back() = in[i].shape(0);
      shapes.push_back(shape);
    }
    return shapes;
  }

 private:
  int gs_, bits_;
  float eps_;
};

// ---------------------------------------------------------------- attention to the layer's output

struct Tail {
  int gs, bits, heads, offset;
  Rope rope;
  float scale;
  bool causal;
  float eps;

  bool operator==(const Tail& o) const {
    return gs == o.gs && bits == o.bits && heads == o.heads && offset == o.offset && rope == o.rope &&
           scale == o.scale && causal == o.causal && eps == o.eps;
  }
};

// inputs: x, q, keys, values, the second norm's weight, then o, gate, up, down as triples.
template <typename S>
void tail(const std::vector<mx::array>& in, mx::array& out, const Tail& t) {
  const auto& x = in[0];
  const auto& q = in[1];
  const auto& keys = in[2];
  const auto& values = in[3];
  const int B = x.shape(0), L = x.shape(1), E = x.shape(2), M = B * L;
  const int Hkv = keys.shape(1), D = keys.shape(3), Dv = values.shape(3);
  const int F = in[8].shape(0);  // the MLP's width (gate's output rows)
  const auto& qs = q.strides();
  const auto& ks = keys.strides();
  const auto& vs = values.strides();
  std::vector<float> attn(static_cast<size_t>(M) * t.heads * Dv), o(static_cast<size_t>(M) * E);
  mlxagent::by_cache(keys, [&](auto c) {
    using C = decltype(c);
    mlxagent::attend_cached(q.data<float>(), {qs[0], qs[1], qs[2]}, keys.data<C>(), {ks[0], ks[1], ks[2], ks[3]},
                            values.data<C>(), {vs[0], vs[1], vs[2], vs[3]}, B, L, t.heads, Hkv, D, Dv, t.offset,
                            t.causal, t.rope, RopeTables(t.rope, L, t.offset), t.scale, attn.data());
  });
  product<float, S>(attn.data(), layer_at<S>(in, 5), o.data(), M, t.heads * Dv, E, t.gs, t.bits);
  // h = x + o (MLX's add; a half x widens exactly, as MLX promotes it), into the output
  float* h = out.data<float>();
  std::vector<float> buf;
  const float* xp = rows_as_float(x, buf);
  for (size_t i = 0; i < static_cast<size_t>(M) * E; ++i) {
    h[i] = xp[i] + o[i];
  }
  std::vector<float> wf, n(static_cast<size_t>(M) * E), g(static_cast<size_t>(M) * F);
  mlxagent::weight_floats(in[4], wf);
  for (int64_t r = 0; r < M; ++r) {
    mlxagent::rms_row(h + r * E, 1, wf.data(), E, t.eps, n.data() + r * E);
  }
  const Layer<S> mlp[2] = {layer_at<S>(in, 8), layer_at<S>(in, 11)};
  swiglu_rows<float, S>(n.data(), mlp, g.data(), M, E, F, t.gs, t.bits);
  product<float, S>(g.data(), layer_at<S>(in, 14), o.data(), M, F, E, t.gs, t.bits);
  for (size_t i = 0; i < static_cast<size_t>(M) * E; ++i) {
    h[i] = h[i] + o[i];
  }
}

class NativeLayerTail : public mx::UnaryPrimitive {
 public:
  NativeLayerTail(mx::Stream s, Tail t) : mx::UnaryPrimitive(s), t_(t) {}

  void eval_cpu(const std::vector<mx::array>& inputs, mx::array& out) override {
    auto& enc = mlxagent::encoder_for(stream(), inputs, {&out});
    enc.dispatch([inputs, out, t = t_]() mutable {
      Timed timed;
      by_scales(inputs[6].dtype(), [&](auto s) { tail<decltype(s)>(inputs, out, t); });
    });
  }

  void eval_gpu(const std::vector<mx::array>&, mx::array&) override {
    throw std::runtime_error("[native_layer_tail] CPU only");
  }
  const char* name() const override {
    return "NativeLayerTail";
  }
  bool is_equivalent(const mx::Primitive& other) const override {
    return t_ == static_cast<const NativeLayerTail&>(other).t_;
  }
  std::vector<mx::Shape> output_shapes(const std::vector<mx::array>& inputs) override {
    return {inputs[0].shape()};
  }

 private:
  Tail t_;
};

// ---------------------------------------------------------------- checks and the Python API

[[noreturn]] void bad(const char* who, const std::string& why) {
  throw std::invalid_argument(std::string(who) + " " + why);
}

// `layers` holds whole (w, s, b) triples the kernel computes from rows of `E` features in turn
// (each layer's input width given by `widths`), one scale type; they are made row-major.
std::vector<mx::array> check_layers(const char* who, const std::vector<mx::array>& layers,
                                    const std::vector<int>& widths, int gs, int bits, mx::Stream stream) {
  if (layers.size() != widths.size() * 3) {
    bad(who, "takes " + std::to_string(widths.size()) + " quantised layers as (weights, scales, biases)");
  }
  std::vector<mx::array> out;
  for (size_t i = 0; i < widths.size(); ++i) {
    const auto& w = layers[3 * i];
    const auto& s = layers[3 * i + 1];
    const auto& b = layers[3 * i + 2];
    std::string why;
    if (!supported_layer(widths[i], w, s, b, gs, bits, &why)) {
      bad(who, "layer " + std::to_string(i) + ": " + why);
    }
    if (s.dtype() != layers[1].dtype()) {
      bad(who, "the layers' scales differ in type");
    }
    for (const auto* a : {&w, &s, &b}) {
      out.push_back(row_major(*a, stream));
    }
  }
  return out;
}

// CPU only; float32 queries and caches; x float32 or a half type, with float32 norm weights (so
// that every step computes in float32, as MLX promotes a half x meeting float32 weights).
void check_cpu_float(const mx::Stream& stream, const mx::array& x, const mx::array& norm,
                     std::initializer_list<const mx::array*> arrays, const char* who) {
  if (stream.device != mx::Device::cpu) {
    bad(who, "runs on the CPU only");
  }
  for (const auto* a : arrays) {
    if (a->dtype() != mx::float32) {
      bad(who, "takes float32 queries and caches");
    }
  }
  const bool half = x.dtype() == mx::float16 || x.dtype() == mx::bfloat16;
  if (!(x.dtype() == mx::float32 || (half && norm.dtype() == mx::float32))) {
    bad(who, "takes a float32 x (or a half x with float32 norm weights)");
  }
}

std::vector<mx::array> native_norm_qkv(const mx::array& x, const mx::array& norm, float eps,
                                       const std::vector<mx::array>& layers, int group_size, int bits,
                                       mx::StreamOrDevice s) {
  const char* who = "[native_norm_qkv]";
  auto stream = mx::to_stream(s);
  check_cpu_float(stream, x, norm, {}, who);
  if (x.ndim() != 3 || norm.ndim() != 1 || norm.shape(0) != x.shape(2)) {
    bad(who, "x (B, L, E) and a norm weight of E");
  }
  const int E = x.shape(2);
  std::vector<mx::array> inputs = {x, norm};
  for (auto& a : check_layers(who, layers, {E, E, E}, group_size, bits, stream)) {
    inputs.push_back(a);
  }
  std::vector<mx::Shape> shapes;
  for (size_t i : {2, 5, 8}) {
    shapes.push_back({x.shape(0), x.shape(1), inputs[i].shape(0)});
  }
  return mx::array::make_arrays(shapes, {mx::float32, mx::float32, mx::float32},
                                std::make_shared<NativeNormQKV>(stream, group_size, bits, eps), inputs);
}

mx::array native_layer_tail(const mx::array& x, const mx::array& q, const mx::array& keys, const mx::array& values,
                            const mx::array& norm, float eps, const std::vector<mx::array>& layers, int heads,
                            int offset, int dims, bool traditional, float base, float rope_scale, float scale,
                            bool causal, int group_size, int bits, mx::StreamOrDevice s) {
  const char* who = "[native_layer_tail]";
  auto stream = mx::to_stream(s);
  check_cpu_float(stream, x, norm, {&q}, who);
  if (!mlxagent::cache_dtype_ok(keys, values)) {
    bad(who, "takes float32 or float16 caches, keys and values alike");
  }
  if (x.ndim() != 3 || q.ndim() != 3 || keys.ndim() != 4 || values.ndim() != 4 || q.shape(0) != x.shape(0) ||
      q.shape(1) != x.shape(1) || keys.shape(0) != x.shape(0) || values.shape(0) != x.shape(0) ||
      values.shape(1) != keys.shape(1) || values.shape(2) != keys.shape(2) || heads <= 0 ||
      keys.shape(1) == 0 || heads % keys.shape(1) != 0 || q.shape(2) != heads * keys.shape(3)) {
    bad(who, "x (B, L, E), q (B, L, heads*D), keys (B, Hkv, S, D), values (B, Hkv, S, Dv), heads a multiple of Hkv");
  }
  if (offset < 0 || offset + x.shape(1) > keys.shape(2)) {
    bad(who, "offset + rows exceed the cache");
  }
  if (norm.ndim() != 1 || norm.shape(0) != x.shape(2)) {
    bad(who, "the norm weight must be as long as x's last axis");
  }
  const int E = x.shape(2);
  if (layers.size() == 12 && (layers[0].ndim() != 2 || layers[3].ndim() != 2 || layers[0].shape(0) != E ||
                               layers[6].shape() != layers[3].shape() || layers[9].ndim() != 2 ||
                               layers[9].shape(0) != E)) {
    bad(who, "o_proj and down_proj must give E outputs, gate and up the same shape");
  }
  const int F = layers.size() == 12 ? layers[3].shape(0) : 0;
  std::vector<mx::array> inputs = {x, q, keys, values, norm};
  for (auto& a : check_layers(who, layers, {heads * values.shape(3), E, E, F}, group_size, bits, stream)) {
    inputs.push_back(a);
  }
  Tail t{group_size, bits, heads, offset, mlxagent::make_rope(dims, traditional, base, rope_scale, keys.shape(3)),
         scale, causal, eps};
  return mx::array(x.shape(), mx::float32, std::make_shared<NativeLayerTail>(stream, t), inputs);
}

}  // namespace

void register_layer(nb::module_& m) {
  m.def("native_norm_qkv", &native_norm_qkv, "x"_a, "norm"_a, "eps"_a, "layers"_a, "group_size"_a = 64,
        "bits"_a = 4, nb::kw_only(), "stream"_a = nb::none(),
        "[q, k, v] = rms_norm(x) @ dequantize(W).T for the three layers (9 arrays: w, s, b each); one node");
  m.def("native_layer_tail", &native_layer_tail, "x"_a, "q"_a, "keys"_a, "values"_a, "norm"_a, "eps"_a,
        "layers"_a, "heads"_a, "offset"_a, "dims"_a = 0, "traditional"_a = false, "base"_a = 10000.0f,
        "rope_scale"_a = 1.0f, "scale"_a = 1.0f, "causal"_a = false, "group_size"_a = 64, "bits"_a = 4,
        nb::kw_only(), "stream"_a = nb::none(),
        "h = x + o_proj(attention(q, cache)); h + down(swiglu(rms_norm(h))): one node (layers: o, gate, up, "
        "down as w, s, b)");
}
