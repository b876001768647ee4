// A SwiGLU MLP's activation as MLX computes it, over the gate and up products of one thread hand-off
// (products.h): mlp.cpp's node and layer.cpp's decoder layer.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#include "products.h"

namespace mlxagent {
namespace products {

// MLX's CPU exp (simd/math.h): a degree-6 polynomial of the fraction times 2**integer part.
inline float mlx_exp(float x_init) {
  float x = x_init * 1.442695f;
  const float ipart = std::floor(x + 0.5f);
  const float fpart = x - ipart;
  x = 1.535336188319500e-4f;
  x = std::fma(x, fpart, 1.339887440266574e-3f);
  x = std::fma(x, fpart, 9.618437357674640e-3f);
  x = std::fma(x, fpart, 5.550332471162809e-2f);
  x = std::fma(x, fpart, 2.402264791363012e-1f);
  x = std::fma(x, fpart, 6.931472028550421e-1f);
  x = std::fma(x, fpart, 1.000000000000000f);
  const int32_t epart = (static_cast<int32_t>(ipart) + 127) << 23;
  float two;
  std::memcpy(&two, &epart, sizeof two);
  float result = std::isnan(x_init) ? x_init : two * x;
  if (x_init > 88.0f) {
    result = INFINITY;
  }
  if (x_init < -88.0f) {
    result = 0.0f;
  }
  return result;
}

// MLX's Sigmoid (unary_ops.h).
inline float sigmoid(float g) {
  const float y = 1.0f / (1.0f + mlx_exp(std::fabs(g)));
  return g < 0.0f ? y : 1.0f - y;
}

// silu(x @ dequant(Wg).T) * (x @ dequant(Wu).T) for M row-major rows of x: layers = {gate, up}.
template <typename T, typename S>
void swiglu_rows(const T* x, const Layer<S> (&layers)[2], T* out, int M, int K, int N, int gs, int bits) {
  tiled<T, S, 2>(x, layers, M, K, N, gs, bits, [&](int m0, int rows, const float* p, size_t stride) {
    T* yr = out + static_cast<size_t>(m0) * N;
    const float* gate = p;
    const float* up = p + stride;
    for (size_t i = 0; i < static_cast<size_t>(rows) * N; ++i) {
      // as MLX's swiglu: the products in T, then sigmoid, gate * sigmoid and that * up, each in T
      const float g = static_cast<float>(static_cast<T>(gate[i]));
      const float u = static_cast<float>(static_cast<T>(up[i]));
      const float sg = static_cast<float>(static_cast<T>(sigmoid(g)));
      yr[i] = static_cast<T>(static_cast<float>(static_cast<T>(g * sg)) * u);
    }
  });
}

}  // namespace products
}  // namespace mlxagent
