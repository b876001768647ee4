// mlxagent's native quantised matmul for MLX's CPU backend.
//
// y = x @ dequant(W).T for MLX's affine 4- and 8-bit formats (dequant(W)[n, k] =
// scale[n, k / gs] * q[n, k] + bias[n, k / gs]), as a custom MLX primitive so that it sits inside
// the lazy graph like MLX's own quantized_matmul. Built for decode and speculative verification
// (1 to 33 rows of x); larger inputs work too, tiled by rows of x. An AVX2 + FMA path chosen at run
// time (the CPU is asked, not the compiler), the same lanes two at a time with AVX-512 for several
// rows of x where the CPU has it (avx512.h), a portable path elsewhere; several threads over the
// output rows from one small pool. Other devices get MLX's own quantized_matmul.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include <nanobind/nanobind.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/variant.h>

#include "mlx/backend/cpu/encoder.h"
#include "mlx/mlx.h"
#include "mlx/primitives.h"
#include "mlx/utils.h"
#include "cpu.h"
#include "pool.h"
#include "products.h"
#include "q8.h"

namespace nb = nanobind;
using namespace nb::literals;
namespace mx = mlx::core;

namespace {

using mlxagent::cpu_has_avx2;
using mlxagent::int8_activations;
using mlxagent::pool;
using namespace mlxagent::products;

template <typename T>
void qmm_scales(const mx::array& x, const std::vector<mx::array>& in, mx::array& y, int M, int K, int N, int gs,
                int bits) {
  std::vector<T> copy;
  by_scales(in[2].dtype(), [&](auto s) {
    using S = decltype(s);
    product<T, S>(rows_of<T>(x, copy), layer_at<S>(in, 1), y.data<T>(), M, K, N, gs, bits);
  });
}

// ---------------------------------------------------------------- the primitive

class NativeQMM : public QuantizedPrimitive {
 public:
  using QuantizedPrimitive::QuantizedPrimitive;

  void eval_cpu(const std::vector<mx::array>& inputs, mx::array& out) override {
    const auto& x = inputs[0];
    auto& encoder = mlxagent::encoder_for(stream(), inputs, {&out});
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
          qmm_scales<mx::float16_t>(x, inputs, out, M, K, N, gs, bits);
          break;
        case mx::bfloat16:
          qmm_scales<mx::bfloat16_t>(x, inputs, out, M, K, N, gs, bits);
          break;
        default:
          qmm_scales<float>(x, inputs, out, M, K, N, gs, bits);
      }
    });
  }

  void eval_gpu(const std::vector<mx::array>&, mx::array&) override {
    throw std::runtime_error("[native_qmm] the native kernel runs on the CPU only");
  }

  // Gradients and forward derivatives through MLX's own op (LoRA training on a quantised base).
  std::vector<mx::array> vjp(const std::vector<mx::array>& primals,
                             const std::vector<mx::array>& cotangents,
                             const std::vector<int>& argnums,
                             const std::vector<mx::array>&) override {
    std::vector<mx::array> grads;
    for (int arg : argnums) {
      if (arg != 0) {
        throw std::invalid_argument("[native_qmm] no gradient for the quantised weights");
      }
      grads.push_back(mx::quantized_matmul(cotangents[0], primals[1], primals[2], primals[3],
                                           false, group_size_, bits_, "affine", stream()));
    }
    return grads;
  }

  std::vector<mx::array> jvp(const std::vector<mx::array>& primals,
                             const std::vector<mx::array>& tangents,
                             const std::vector<int>& argnums) override {
    if (argnums.size() != 1 || argnums[0] != 0) {
      throw std::invalid_argument("[native_qmm] no derivative for the quantised weights");
    }
    return {mx::quantized_matmul(tangents[0], primals[1], primals[2], primals[3], true,
                                 group_size_, bits_, "affine", stream())};
  }

  const char* name() const override {
    return "NativeQMM";
  }
};

mx::array native_qmm(const mx::array& x, const mx::array& w, const mx::array& scales,
                     const mx::array& biases, int group_size, int bits, mx::StreamOrDevice s) {
  auto stream = mx::to_stream(s);
  if (stream.device != mx::Device::cpu) {
    return mx::quantized_matmul(x, w, scales, biases, true, group_size, bits, "affine", s);
  }
  std::string why;
  if (!supported(x, w, scales, biases, group_size, bits, &why)) {
    throw std::invalid_argument("[native_qmm] " + why);
  }
  // The output follows MLX's promotion of x and scales.
  const auto dtype = mx::promote_types(x.dtype(), scales.dtype());
  auto xin = x.dtype() == dtype ? x : mx::astype(x, dtype, stream);
  auto shape = x.shape();
  shape.back() = w.shape(0);
  return mx::array(shape, dtype, std::make_shared<NativeQMM>(stream, group_size, bits),
                   {xin, row_major(w, stream), row_major(scales, stream), row_major(biases, stream)});
}

}  // namespace

void register_attention(nb::module_& m);   // attention.cpp
void register_dequantize(nb::module_& m);  // dequant.cpp
void register_norm(nb::module_& m);        // norm.cpp
void register_fused(nb::module_& m);       // fused.cpp
void register_mlp(nb::module_& m);         // mlp.cpp
void register_layer(nb::module_& m);       // layer.cpp

NB_MODULE(_qmm, m) {
  m.doc() = "mlxagent's native 4/8-bit quantised matmul for MLX's CPU backend";
  m.def("native_qmm", &native_qmm, "x"_a, "w"_a, "scales"_a, "biases"_a, "group_size"_a = 64,
        "bits"_a = 4, nb::kw_only(), "stream"_a = nb::none(),
        "x @ dequantize(w, scales, biases).T on the CPU (affine 4/8-bit, groups of 32k)");
  m.def("simd", [] {
    return mlxagent::cpu_has_avx512() ? std::string("avx2+fma+avx512")
           : cpu_has_avx2()           ? std::string("avx2+fma")
                                      : std::string("portable");
  });
  m.def("threads", [] { return pool().size(); });
  m.def("activations", [] { return int8_activations() ? std::string("int8") : std::string("float"); },
        "how x enters the 1-16 row products: int8 blocks of 32 (AVX2) or float");
  m.def("set_activations", [](const std::string& how) {
    if (how != "int8" && how != "float") {
      throw std::invalid_argument("activations are \"int8\" or \"float\"");
    }
    return mlxagent::set_int8_activations(how == "int8") ? std::string("int8") : std::string("float");
  }, "how"_a, "switch the 1-16 row products' activations (\"int8\" needs AVX2)");
  m.def(
      "stats",
      [](bool reset) {
        nb::dict d;
        d["calls"] = reset ? g_calls.exchange(0) : g_calls.load();
        d["seconds"] = (reset ? g_nanos.exchange(0) : g_nanos.load()) * 1e-9;
        return d;
      },
      "reset"_a = false, "calls and seconds spent in the kernel (reset: and zero them)");
  register_attention(m);
  register_dequantize(m);
  register_norm(m);
  register_fused(m);
  register_mlp(m);
  register_layer(m);
}
