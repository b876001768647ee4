// One row of an RMS norm as MLX's composition rounds it: norm.cpp's node and layer.cpp's layer.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include "mlx/array.h"
#include "mlx/types/half_types.h"

namespace mlxagent {

// o = x * rsqrt(mean(x^2) + eps) * w over K features (x's feature stride xs; w as floats), in
// float32, rounded to O before the weight as MLX's composition does.
template <typename T, typename O>
inline void rms_row(const T* x, int64_t xs, const float* w, int K, float eps, O* o) {
  float ss = 0.0f;
  for (int k = 0; k < K; ++k) {
    const float v = static_cast<float>(x[k * xs]);
    ss += v * v;
  }
  const float inv = 1.0f / std::sqrt(ss / static_cast<float>(K) + eps);
  for (int k = 0; k < K; ++k) {
    o[k] = static_cast<O>(static_cast<float>(static_cast<O>(static_cast<float>(x[k * xs]) * inv)) * w[k]);
  }
}

// A norm's weight (1-D, any stride, float32 or a half type) as floats.
inline void weight_floats(const mlx::core::array& w, std::vector<float>& wf) {
  namespace mx = mlx::core;
  const int K = w.shape(0);
  const int64_t ws = w.strides().back();
  wf.resize(K);
  switch (w.dtype()) {
    case mx::float16:
      for (int k = 0; k < K; ++k) wf[k] = static_cast<float>(w.data<mx::float16_t>()[k * ws]);
      break;
    case mx::bfloat16:
      for (int k = 0; k < K; ++k) wf[k] = static_cast<float>(w.data<mx::bfloat16_t>()[k * ws]);
      break;
    default:
      for (int k = 0; k < K; ++k) wf[k] = w.data<float>()[k * ws];
  }
}

}  // namespace mlxagent
