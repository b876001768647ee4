// A SwiGLU MLP's gate and up products and its activation as one node of MLX's graph:
// silu(x @ dequant(Wg).T) * (x @ dequant(Wu).T), for llama and qwen2 layers on the CPU.
//
// mlx-lm computes it as two quantised products and a compiled swiglu: three nodes, two thread
// hand-offs and x rounded twice. Here x is read once, both layers' output rows are split over the
// pool in one hand-off (products.h), and the activation is applied as the tile's products come
// back. The sigmoid is MLX's own arithmetic (its CPU exp polynomial and select), so the result
// equals silu(g) * u as MLX computes it from the same products.

#include <cmath>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include <nanobind/nanobind.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/variant.h>

#include "mlx/backend/cpu/encoder.h"
#include "mlx/mlx.h"
#include "mlx/primitives.h"
#include "mlp.h"
#include "products.h"

namespace nb = nanobind;
using namespace nb::literals;
namespace mx = mlx::core;

namespace {

using namespace mlxagent::products;

template <typename T>
void swiglu(const mx::array& x, const std::vector<mx::array>& in, mx::array& y, int M, int K, int N, int gs,
            int bits) {
  std::vector<T> copy;
  by_scales(in[2].dtype(), [&](auto s) {
    using S = decltype(s);
    const Layer<S> layers[2] = {layer_at<S>(in, 1), layer_at<S>(in, 4)};
    swiglu_rows<T, S>(rows_of<T>(x, copy), layers, y.data<T>(), M, K, N, gs, bits);
  });
}

class NativeSwiGLU : public QuantizedPrimitive {
 public:
  using QuantizedPrimitive::QuantizedPrimitive;

  void eval_cpu(const std::vector<mx::array>& inputs, mx::array& out) override {
    auto& encoder = mlxagent::encoder_for(stream(), inputs, {&out});
    const auto& x = inputs[0];
    const int K = x.shape(-1);
    const int N = inputs[1].shape(0);
    const int M = static_cast<int>(x.size() / K);
    const int gs = group_size_;
    const int bits = bits_;
    encoder.dispatch([inputs, out, M, K, N, gs, bits]() mutable {
      Timed timed;
      const auto& x = inputs[0];
      switch (x.dtype()) {
        case mx::float16:
          swiglu<mx::float16_t>(x, inputs, out, M, K, N, gs, bits);
          break;
        case mx::bfloat16:
          swiglu<mx::bfloat16_t>(x, inputs, out, M, K, N, gs, bits);
          break;
        default:
          swiglu<float>(x, inputs, out, M, K, N, gs, bits);
      }
    });
  }

  void eval_gpu(const std::vector<mx::array>&, mx::array&) override {
    throw std::runtime_error("[native_swiglu] the native kernel runs on the CPU only");
  }

  const char* name() const override {
    return "NativeSwiGLU";
  }
};

mx::array native_swiglu(const mx::array& x, const mx::array& wg, const mx::array& sg, const mx::array& bg,
                        const mx::array& wu, const mx::array& su, const mx::array& bu, int group_size, int bits,
                        mx::StreamOrDevice s) {
  auto stream = mx::to_stream(s);
  std::string why;
  if (!supported(x, wg, sg, bg, group_size, bits, &why) || !supported(x, wu, su, bu, group_size, bits, &why)) {
    throw std::invalid_argument("[native_swiglu] " + why);
  }
  if (wg.shape() != wu.shape() || sg.dtype() != su.dtype()) {
    throw std::invalid_argument("[native_swiglu] the gate and up layers differ in shape or scale type");
  }
  const auto dtype = mx::promote_types(x.dtype(), sg.dtype());
  auto xin = x.dtype() == dtype ? x : mx::astype(x, dtype, stream);
  if (stream.device != mx::Device::cpu) {  // MLX's own ops elsewhere
    auto g = mx::quantized_matmul(xin, wg, sg, bg, true, group_size, bits, "affine", stream);
    auto u = mx::quantized_matmul(xin, wu, su, bu, true, group_size, bits, "affine", stream);
    return mx::multiply(mx::multiply(g, mx::sigmoid(g, stream), stream), u, stream);
  }
  auto shape = x.shape();
  shape.back() = wg.shape(0);
  std::vector<mx::array> inputs = {xin};
  for (const auto* a : {&wg, &sg, &bg, &wu, &su, &bu}) {
    inputs.push_back(row_major(*a, stream));
  }
  return mx::array(shape, dtype, std::make_shared<NativeSwiGLU>(stream, group_size, bits), std::move(inputs));
}

}  // namespace

void register_mlp(nb::module_& m) {
  m.def("native_swiglu", &native_swiglu, "x"_a, "gate_w"_a, "gate_scales"_a, "gate_biases"_a, "up_w"_a,
        "up_scales"_a, "up_biases"_a, "group_size"_a = 64, "bits"_a = 4, nb::kw_only(), "stream"_a = nb::none(),
        "silu(x @ dequantize(gate).T) * (x @ dequantize(up).T) on the CPU, one node (affine 4/8-bit)");
}
