// A decode step's attention in three graph nodes instead of about fifteen.
//
// mlx-lm's attention layer turns the q, k and v products into heads (reshape, transpose: six
// nodes), rotates q and k (two), writes k and v into the KV cache (two slice updates), reads the
// cache back (two slices), attends, and turns the heads back (two more). On the CPU each node costs
// a dispatch whatever its size, and a decode step of SmolLM2 has 30 such layers. Here:
//   native_cache_write: k (or v) rows straight from the product's (B, L, H*D) layout, rotated when
//     rope dims are given, into the cache's (B, H, S, D) buffer at [offset, offset + L), in place
//     when MLX may donate the buffer (exactly as its own slice update decides), else into a copy;
//   native_cached_attention: q rows from (B, L, Hq*D), rotated and scaled, against the cache's
//     first offset + L rows (causal for several rows), out as (B, L, Hq*Dv), ready for o_proj.
// The arithmetic is the native rope's and the native attention's (attend.h), so a step through
// these equals a step through those. CPU only, float32 (the cache float32 or float16);
// qkernel/__init__.py uses them for a
// plain KVCache with room for the new rows and leaves every other case to the layer's own code.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <vector>

#include <nanobind/nanobind.h>
#include <nanobind/stl/variant.h>

#include "mlx/backend/cpu/encoder.h"
#include "mlx/mlx.h"
#include "mlx/primitives.h"
#include "attend.h"
#include "cpu.h"

namespace nb = nanobind;
namespace mx = mlx::core;
using namespace nb::literals;

namespace {

using mlxagent::Rope;
using mlxagent::RopeTables;

// ---------------------------------------------------------------- the cache write

class NativeCacheWrite : public mx::UnaryPrimitive {
 public:
  NativeCacheWrite(mx::Stream s, int offset, Rope rope)
      : mx::UnaryPrimitive(s), offset_(offset), rope_(rope) {}

  void eval_cpu(const std::vector<mx::array>& inputs, mx::array& out) override {
    const auto& cache = inputs[0];
    const auto& rows = inputs[1];
    const bool in_place = mlxagent::writable_in_place(cache);
    if (in_place) {
      out.copy_shared_buffer(cache);
    } else {
      out.set_data(mx::allocator::malloc(out.nbytes()));
    }
    auto& enc = mlxagent::encoder_for(stream(), inputs, {&out}, /*allocate=*/false);
    enc.dispatch([cache, rows, out, in_place, offset = offset_, rope = rope_]() mutable {
      const int B = out.shape(0), H = out.shape(1), S = out.shape(2), D = out.shape(3);
      const int L = rows.shape(1);
      mlxagent::by_cache(out, [&](auto c) {
        using C = decltype(c);
        C* dst = out.data<C>();
        if (!in_place) {
          mlxagent::copy_cache(cache, dst);
        }
        const auto& rs = rows.strides();
        mlxagent::write_cache(rows.data<float>(), {rs[0], rs[1], rs[2]}, B, L, H, S, D, offset, rope,
                              RopeTables(rope, L, offset), dst);
      });
    });
  }

  void eval_gpu(const std::vector<mx::array>&, mx::array&) override {
    throw std::runtime_error("[native_cache_write] CPU only");
  }
  const char* name() const override {
    return "NativeCacheWrite";
  }
  bool is_equivalent(const mx::Primitive& other) const override {
    const auto& o = static_cast<const NativeCacheWrite&>(other);
    return offset_ == o.offset_ && rope_ == o.rope_;
  }
  std::vector<mx::Shape> output_shapes(const std::vector<mx::array>& inputs) override {
    return {inputs[0].shape()};
  }

 private:
  int offset_;
  Rope rope_;
};

// ---------------------------------------------------------------- the attention

class NativeCachedAttention : public mx::UnaryPrimitive {
 public:
  NativeCachedAttention(mx::Stream s, int heads, int offset, Rope rope, float scale, bool causal)
      : mx::UnaryPrimitive(s), heads_(heads), offset_(offset), rope_(rope), scale_(scale),
        causal_(causal) {}

  void eval_cpu(const std::vector<mx::array>& inputs, mx::array& out) override {
    auto& enc = mlxagent::encoder_for(stream(), inputs, {&out});
    enc.dispatch([q = inputs[0], k = inputs[1], v = inputs[2], out, Hq = heads_, offset = offset_,
                  rope = rope_, scale = scale_, causal = causal_]() mutable {
      const auto& qs = q.strides();
      const auto& ks = k.strides();
      const auto& vs = v.strides();
      mlxagent::by_cache(k, [&](auto c) {
        using C = decltype(c);
        mlxagent::attend_cached(q.data<float>(), {qs[0], qs[1], qs[2]}, k.data<C>(), {ks[0], ks[1], ks[2], ks[3]},
                                v.data<C>(), {vs[0], vs[1], vs[2], vs[3]}, q.shape(0), q.shape(1), Hq,
                                k.shape(1), k.shape(3), v.shape(3), offset, causal, rope,
                                RopeTables(rope, q.shape(1), offset), scale, out.data<float>());
      });
    });
  }

  void eval_gpu(const std::vector<mx::array>&, mx::array&) override {
    throw std::runtime_error("[native_cached_attention] CPU only");
  }
  const char* name() const override {
    return "NativeCachedAttention";
  }
  bool is_equivalent(const mx::Primitive& other) const override {
    const auto& o = static_cast<const NativeCachedAttention&>(other);
    return heads_ == o.heads_ && offset_ == o.offset_ && rope_ == o.rope_ && scale_ == o.scale_ &&
           causal_ == o.causal_;
  }
  std::vector<mx::Shape> output_shapes(const std::vector<mx::array>& in) override {
    return {{in[0].shape(0), in[0].shape(1), heads_ * in[2].shape(3)}};
  }

 private:
  int heads_, offset_;
  Rope rope_;
  float scale_;
  bool causal_;
};

using mlxagent::make_rope;

void check_cpu_float(const mx::Stream& stream, std::initializer_list<const mx::array*> arrays,
                     const char* who) {
  if (stream.device != mx::Device::cpu) {
    throw std::invalid_argument(std::string(who) + " runs on the CPU only");
  }
  for (const auto* a : arrays) {
    if (a->dtype() != mx::float32) {
      throw std::invalid_argument(std::string(who) + " takes float32 arrays");
    }
  }
}

mx::array native_cache_write(const mx::array& cache, const mx::array& rows, int offset, int dims,
                             bool traditional, float base, float scale, mx::StreamOrDevice s) {
  auto stream = mx::to_stream(s);
  check_cpu_float(stream, {&rows}, "[native_cache_write]");
  if (!mlxagent::cache_dtype_ok(cache, cache)) {
    throw std::invalid_argument("[native_cache_write] takes float32 rows and a float32 or float16 cache");
  }
  if (cache.ndim() != 4 || rows.ndim() != 3 || rows.shape(0) != cache.shape(0) ||
      rows.shape(2) != cache.shape(1) * cache.shape(3)) {
    throw std::invalid_argument("[native_cache_write] cache (B, H, S, D) and rows (B, L, H*D)");
  }
  if (offset < 0 || offset + rows.shape(1) > cache.shape(2)) {
    throw std::invalid_argument("[native_cache_write] the rows do not fit the cache at this offset");
  }
  auto rope = make_rope(dims, traditional, base, scale, cache.shape(3));
  return mx::array(cache.shape(), cache.dtype(), std::make_shared<NativeCacheWrite>(stream, offset, rope),
                   {cache, rows});
}

mx::array native_cached_attention(const mx::array& q, const mx::array& keys, const mx::array& values,
                                  int heads, int offset, int dims, bool traditional, float base,
                                  float rope_scale, float scale, bool causal, mx::StreamOrDevice s) {
  auto stream = mx::to_stream(s);
  check_cpu_float(stream, {&q}, "[native_cached_attention]");
  if (!mlxagent::cache_dtype_ok(keys, values)) {
    throw std::invalid_argument("[native_cached_attention] takes float32 queries and float32 or float16 caches");
  }
  if (q.ndim() != 3 || keys.ndim() != 4 || values.ndim() != 4 || keys.shape(0) != q.shape(0) ||
      values.shape(0) != q.shape(0) || values.shape(1) != keys.shape(1) ||
      values.shape(2) != keys.shape(2) || heads <= 0 || keys.shape(1) == 0 ||
      heads % keys.shape(1) != 0 || q.shape(2) != heads * keys.shape(3)) {
    throw std::invalid_argument(
        "[native_cached_attention] q (B, L, heads*D), keys (B, Hkv, S, D), values (B, Hkv, S, Dv), "
        "heads a multiple of Hkv");
  }
  if (offset < 0 || offset + q.shape(1) > keys.shape(2)) {
    throw std::invalid_argument("[native_cached_attention] offset + rows exceed the cache");
  }
  auto rope = make_rope(dims, traditional, base, rope_scale, keys.shape(3));
  return mx::array({q.shape(0), q.shape(1), heads * values.shape(3)}, mx::float32,
                   std::make_shared<NativeCachedAttention>(stream, heads, offset, rope, scale, causal),
                   {q, keys, values});
}

}  // namespace

void register_fused(nb::module_& m) {
  m.def("native_cache_write", &native_cache_write, "cache"_a, "rows"_a, "offset"_a, "dims"_a = 0,
        "traditional"_a = false, "base"_a = 10000.0f, "scale"_a = 1.0f, nb::kw_only(),
        "stream"_a = nb::none(),
        "rows (B, L, H*D), rotated by rope when dims > 0, written into cache (B, H, S, D) at offset");
  m.def("native_cached_attention", &native_cached_attention, "q"_a, "keys"_a, "values"_a, "heads"_a,
        "offset"_a, "dims"_a = 0, "traditional"_a = false, "base"_a = 10000.0f, "rope_scale"_a = 1.0f,
        "scale"_a = 1.0f, "causal"_a = false, nb::kw_only(), "stream"_a = nb::none(),
        "q (B, L, heads*D) rotated and scaled against the cache's first offset + L rows; (B, L, heads*Dv)");
}
