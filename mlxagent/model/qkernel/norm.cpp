// RMS norm for MLX's CPU backend as one primitive: y = x * rsqrt(mean(x^2) + eps) * w.
//
// mx.fast.rms_norm has no CPU kernel: on the CPU it runs as its composition (astype, square, sum,
// rsqrt, broadcasts, multiplies: about ten graph nodes), and a decode step of SmolLM2 has 61 of
// them. Each node costs a dispatch whatever its size; this computes the same in one pass, in
// float32, and rounds as MLX's composition does. Gradients go through
// mx.fast.rms_norm (tuning).

#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include <nanobind/nanobind.h>
#include <nanobind/stl/variant.h>

#include "mlx/backend/cpu/encoder.h"
#include "mlx/fast.h"
#include "mlx/mlx.h"
#include "mlx/primitives.h"
#include "mlx/transforms.h"
#include "cpu.h"
#include "norm.h"

namespace nb = nanobind;
namespace mx = mlx::core;
using namespace nb::literals;

namespace {

class NativeRMSNorm : public mx::UnaryPrimitive {
 public:
  NativeRMSNorm(mx::Stream s, float eps) : mx::UnaryPrimitive(s), eps_(eps) {}

  void eval_cpu(const std::vector<mx::array>& inputs, mx::array& out) override {
    const auto& x = inputs[0];
    const auto& w = inputs[1];
    auto& enc = mlxagent::encoder_for(stream(), inputs, {&out});
    enc.dispatch([x, w, out, eps = eps_]() mutable {
      const bool wide = out.dtype() == mx::float32;  // a half x with a float32 weight
      switch (x.dtype()) {
        case mx::float16:
          wide ? run<mx::float16_t, float>(x, w, out, eps)
               : run<mx::float16_t, mx::float16_t>(x, w, out, eps);
          break;
        case mx::bfloat16:
          wide ? run<mx::bfloat16_t, float>(x, w, out, eps)
               : run<mx::bfloat16_t, mx::bfloat16_t>(x, w, out, eps);
          break;
        default:
          run<float, float>(x, w, out, eps);
      }
    });
  }

  void eval_gpu(const std::vector<mx::array>&, mx::array&) override {
    throw std::runtime_error("[native_rms_norm] CPU only");
  }

  std::vector<mx::array> vjp(const std::vector<mx::array>& primals,
                             const std::vector<mx::array>& cotangents,
                             const std::vector<int>& argnums,
                             const std::vector<mx::array>&) override {
    const float eps = eps_;
    auto [_, grads] = mx::vjp(
        [eps](const std::vector<mx::array>& in) {
          return std::vector<mx::array>{mx::fast::rms_norm(in[0], in[1], eps)};
        },
        primals, cotangents);
    std::vector<mx::array> out;
    for (int a : argnums) {
      out.push_back(grads[a]);
    }
    return out;
  }

  std::vector<mx::array> jvp(const std::vector<mx::array>& primals,
                             const std::vector<mx::array>& tangents,
                             const std::vector<int>& argnums) override {
    const float eps = eps_;
    std::vector<mx::array> t(primals.size(), mx::zeros_like(primals[0]));
    t[1] = mx::zeros_like(primals[1]);
    for (size_t i = 0; i < argnums.size(); ++i) {
      t[argnums[i]] = tangents[i];
    }
    auto [_, out] = mx::jvp(
        [eps](const std::vector<mx::array>& in) {
          return std::vector<mx::array>{mx::fast::rms_norm(in[0], in[1], eps)};
        },
        primals, t);
    return out;
  }

  const char* name() const override {
    return "NativeRMSNorm";
  }
  bool is_equivalent(const mx::Primitive& other) const override {
    return eps_ == static_cast<const NativeRMSNorm&>(other).eps_;
  }
  std::vector<mx::Shape> output_shapes(const std::vector<mx::array>& inputs) override {
    return {inputs[0].shape()};
  }

 private:
  // T: x's dtype; O: the output's (MLX's promotion of x and the weight).
  template <typename T, typename O>
  static void run(const mx::array& x, const mx::array& w, mx::array& out, float eps) {
    const int K = x.shape(-1);
    const int64_t rows = K == 0 ? 0 : static_cast<int64_t>(x.size()) / K;
    const int64_t xs = x.strides().back();
    std::vector<float> wf;
    mlxagent::weight_floats(w, wf);
    const T* src = x.data<T>();
    O* dst = out.data<O>();
    for (int64_t r = 0; r < rows; ++r) {
      mlxagent::rms_row(src + mlxagent::row_offset(x, r), xs, wf.data(), K, eps, dst + r * K);
    }
  }

  float eps_;
};

mx::array native_rms_norm(const mx::array& x, const mx::array& w, float eps, mx::StreamOrDevice s) {
  auto stream = mx::to_stream(s);
  if (x.ndim() < 1 || w.ndim() != 1 || w.shape(0) != x.shape(-1)) {
    throw std::invalid_argument("[native_rms_norm] the weight must be 1-D, as long as x's last axis");
  }
  if ((x.dtype() != mx::float32 && x.dtype() != mx::float16 && x.dtype() != mx::bfloat16) ||
      (w.dtype() != mx::float32 && w.dtype() != mx::float16 && w.dtype() != mx::bfloat16)) {
    throw std::invalid_argument("[native_rms_norm] x and the weight must be float32, float16 or bfloat16");
  }
  const auto dtype = mx::promote_types(x.dtype(), w.dtype());
  if (stream.device != mx::Device::cpu || (dtype != x.dtype() && dtype != mx::float32)) {
    return mx::fast::rms_norm(x, w, eps, s);
  }
  return mx::array(x.shape(), dtype, std::make_shared<NativeRMSNorm>(stream, eps), {x, w});
}

}  // namespace

void register_norm(nb::module_& m) {
  m.def("native_rms_norm", &native_rms_norm, "x"_a, "weight"_a, "eps"_a, nb::kw_only(),
        "stream"_a = nb::none(), "mx.fast.rms_norm in one pass on the CPU");
}
