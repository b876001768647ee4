"""Native CPU kernels for MLX (qmm.cpp, mlp.cpp, attention.cpp, norm.cpp, fused.cpp, layer.cpp), and their use in a loaded model.

mlx-cpu's own quantised kernels are scalar on x86, so until this kernel the runtime kept small
models' weights dequantised to float32 and decode streamed four times the bytes of the 4-bit file.
`_qmm.native_qmm` computes x @ dequant(W).T for MLX's affine 4/8-bit layers with AVX2 + FMA (a
portable loop elsewhere) as an MLX primitive inside the lazy graph. x enters the products in
float, so decoding equals the float32 path; with MLXAGENT_KERNEL_INT8=1 (or
`_qmm.set_activations("int8")`) and AVX2, as int8 blocks of 32 instead (integer dot products, as
llama.cpp's Q8 blocks; q8.h): 1.13x faster decode, different greedy text at near-ties. `install(model)` swaps the
quantised linear layers (and a tied embedding's output projection) of a loaded mlx-lm model to
it; the model code is unchanged.

On x86 MLX's CPU rope and attention also run as compositions of small scalar ops; `_qmm` carries
`native_rope`, `native_attention` (a few query rows against a KV cache) and `native_rms_norm`
too, each one graph node where MLX's CPU composition is several; for llama and qwen2 layers
`native_cache_write` and `native_cached_attention` (fused.cpp) take a decode step's whole
attention, and `native_swiglu` (mlp.cpp) its MLP's gate and up products with the activation
(`install_mlp`). `install_attention(model)` routes a decode step there, on any model of the CPU
backend, quantised or not, leaving every other case (masks given as arrays, batched offsets,
sinks, quantised KV caches, long prompts) to MLX. `install_layers(model)` then runs a decode step
of such a layer whose seven projections are all on the kernel as four nodes (layer.cpp:
`native_norm_qkv`, two cache writes, `native_layer_tail`), bit-equal to the thirteen it replaces.

`status()` says, in one line, which kernel is in use and why (doctor's `decode kernel:` line):
the module may be missing (no compiler at install, not Linux x86-64), built for another MLX
(C++ ABI), or refused by its self-check; then the runtime stays on the float32 path.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..speculative import MAX_TOTAL

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class KernelStatus:
    module: Any | None  # the loaded _qmm module, or None
    line: str  # for doctor: what is in use, or why not

    @property
    def available(self) -> bool:
        return self.module is not None

    @property
    def fast(self) -> bool:
        """The AVX2 path: faster than the float32 OpenBLAS path (the portable loop is not)."""
        return self.module is not None and self.module.simd() != "portable"


_status: KernelStatus | None = None


def status() -> KernelStatus:
    """Load the module once, check it against this MLX and a small product, and say so."""
    global _status
    if _status is None:
        _status = _load()
    return _status


def _load() -> KernelStatus:
    if os.environ.get("MLXAGENT_NATIVE_KERNEL", "1") == "0":
        return KernelStatus(None, "off (MLXAGENT_NATIVE_KERNEL=0)")
    from .build import INFO, why_not

    reason = why_not()
    if reason:
        return KernelStatus(None, f"not built: {reason}")
    info_path = HERE / INFO
    if not info_path.exists():
        return KernelStatus(None, "not built (no compiler or cmake at install? "
                            "python -m mlxagent.model.qkernel.build)")
    try:
        info = json.loads(info_path.read_text())
    except (OSError, ValueError):
        info = {}
    from importlib.metadata import version

    running = version("mlx")
    if info.get("mlx") != running:
        return KernelStatus(None, f"built for mlx {info.get('mlx', '?')}, running {running}: rebuild with "
                            "python -m mlxagent.model.qkernel.build")
    import mlx.core as mx  # before the module: it links against libmlx and shares nanobind types

    try:
        module = importlib.import_module(f"{__name__}._qmm")
    except ImportError as e:
        return KernelStatus(None, f"not loadable ({str(e)[:120]})")
    problem = _self_check(module, mx)
    if problem:
        return KernelStatus(None, f"refused by its self-check ({problem})")
    return KernelStatus(module, f"native {module.simd()} 4/8-bit, {module.activations()} activations, "
                                f"{module.threads()} threads")


def _self_check(module: Any, mx: Any) -> str | None:
    """A small product against MLX's own quantized_matmul: a wrong kernel never runs a model."""
    try:
        key = mx.random.key(7)
        w = mx.random.normal((40, 128), key=key)
        # Whole numbers with 127 in every block of 32: exact in the int8 path's blocks too, so any
        # difference is a wrong kernel, not rounding.
        x = mx.random.randint(-127, 128, (3, 128), key=mx.random.key(8)).astype(mx.float32)
        x = mx.where(mx.arange(128) % 32 == 0, 127.0, x)
        for bits in (4, 8):
            wq, s, b = mx.quantize(w, group_size=32, bits=bits)
            want = mx.quantized_matmul(x, wq, s, b, transpose=True, group_size=32, bits=bits)
            got = module.native_qmm(x, wq, s, b, 32, bits, stream=mx.cpu)
            if not mx.allclose(got, want, rtol=1e-4, atol=1e-2).item():
                return f"{bits}-bit product differs from mx.quantized_matmul"
    except Exception as e:  # noqa: BLE001 - any failure means: do not use it
        return f"{type(e).__name__}: {str(e)[:100]}"
    return None


def usable(layer: Any) -> bool:
    """A quantised layer the kernel computes: affine 4 or 8 bits, groups of a multiple of 32."""
    return (getattr(layer, "mode", "affine") == "affine" and getattr(layer, "bits", None) in (4, 8)
            and getattr(layer, "group_size", 0) % 32 == 0 and "biases" in layer)


def covers(model: Any) -> bool:
    """Whether the kernel computes most of the model's quantised weights (by bytes): a model of
    other bit widths (3, 5, 6 bits) is better served dequantised."""
    import mlx.nn as nn

    done = total = 0
    for _, layer in model.named_modules():
        if isinstance(layer, (nn.QuantizedLinear, nn.QuantizedEmbedding)):
            size = layer["weight"].nbytes
            total += size
            done += size if usable(layer) else 0
    return total > 0 and done >= 0.9 * total


def install(model: Any) -> int:
    """Swap the model's quantised linear layers to the kernel; how many were swapped (0 if none
    or no kernel). Only on the CPU backend: Metal and CUDA keep MLX's own kernels."""
    import mlx.core as mx
    import mlx.nn as nn

    kernel = status()
    if not kernel.available or mx.default_device() != mx.cpu:
        return 0
    mx.eval(model.parameters())  # evaluated row-major weights: the kernel reads them with no copy
    count = 0
    for _, layer in model.named_modules():
        if type(layer) is nn.QuantizedLinear and usable(layer):
            layer.__class__ = _native_linear(kernel.module)
            count += 1
        elif type(layer) is nn.QuantizedEmbedding and usable(layer):
            layer.__class__ = _native_embedding(kernel.module)
            count += 1
    return count


def install_mlp(model: Any) -> int:
    """Run the SwiGLU MLPs of llama and qwen2 layers whose gate and up products are on the kernel
    as one node (mlp.cpp: both products and the activation, one thread hand-off); how many."""
    kernel = status()
    if (not kernel.available or not hasattr(kernel.module, "native_swiglu")
            or os.environ.get("MLXAGENT_KERNEL_NO_FUSED_MLP")):  # bench/kernel.py's comparison row
        return 0
    count = 0
    for _, layer in model.named_modules():
        if type(layer).__name__ == "MLP" and type(layer).__module__ in FUSED_ATTENTION and _fusable(layer):
            layer.__class__ = _native_mlp(kernel.module, type(layer))
            count += 1
    return count


def _fusable(mlp: Any) -> bool:
    gate, up = getattr(mlp, "gate_proj", None), getattr(mlp, "up_proj", None)
    return (getattr(gate, "native_kernel", False) and getattr(up, "native_kernel", False)
            and "bias" not in gate and "bias" not in up and "scales" in gate and "scales" in up
            and (gate.group_size, gate.bits) == (up.group_size, up.bits)
            and gate["weight"].shape == up["weight"].shape and gate["scales"].dtype == up["scales"].dtype)


def _native_mlp(module: Any, base_class: type) -> type:
    key = f"mlp:{base_class.__module__}"
    if key not in _classes:
        import mlx.core as mx

        class NativeSwiGLUMLP(base_class):
            native_kernel = True

            def __call__(self, x):
                gate, up = self.gate_proj, self.up_proj
                if (x.size // max(1, x.shape[-1]) > PREFILL_ROWS or x.dtype != mx.float32
                        or mx.default_device() != mx.cpu or not _fusable(self)):
                    return super().__call__(x)  # prefill chunks, adapters (LoRA), other devices
                h = module.native_swiglu(x, gate["weight"], gate["scales"], gate["biases"], up["weight"],
                                         up["scales"], up["biases"], gate.group_size, gate.bits)
                return self.down_proj(h)

        _classes[key] = NativeSwiGLUMLP
    return _classes[key]


def installed(model: Any) -> int:
    """How many of the model's quantised layers run on the kernel now."""
    return sum(1 for _, layer in model.named_modules() if getattr(layer, "native_kernel", False) and "scales" in layer)


_classes: dict[str, type] = {}

# Rows of x above which a product dequantises the layer to a transient float32 matrix (native,
# multi-threaded) and multiplies through MLX's matmul (OpenBLAS): prefill chunks. Up to it, the
# quantised kernel: a decode step and a speculative verification, whose pending token and up to
# speculative.MAX_TOTAL drafts are then all computed as decoding computes them (every row's
# product is the same in any tile), and one kernel tile of up to 40 rows costs less than a
# dequantisation (BENCHMARKS.md: prefill 0.6x slower on the kernel's tiles than through OpenBLAS;
# decode 2.6x faster on the kernel; a 23-row verification was ~5x a 16-row one through OpenBLAS).
PREFILL_ROWS = 1 + MAX_TOTAL


def _product(module: Any, layer: Any, x: Any) -> Any:
    rows = x.size // max(1, x.shape[-1])
    if rows > PREFILL_ROWS and x.dtype == _float32():
        dense = module.native_dequantize(layer["weight"], layer["scales"], layer["biases"], layer.group_size,
                                         layer.bits)
        if module.activations() == "int8":
            x = round_to_int8_blocks(x)
        return x @ dense.T
    return module.native_qmm(x, layer["weight"], layer["scales"], layer["biases"], layer.group_size, layer.bits)


def round_to_int8_blocks(x: Any) -> Any:
    """x rounded as the int8 path rounds it (blocks of 32 along the last axis, scale max|x| / 127,
    to nearest even), in float32: prefill chunks multiply this through OpenBLAS, so that a
    token's keys and values are the same whether it was prefilled or decoded (up to float
    summation order), and speculative decoding stays plain decoding token for token."""
    import mlx.core as mx

    blocks = x.reshape(*x.shape[:-1], x.shape[-1] // 32, 32)
    amax = mx.max(mx.abs(blocks), axis=-1, keepdims=True)
    inv = mx.where(amax > 0, mx.array(127.0, mx.float32) / mx.where(amax > 0, amax, 1.0), 0.0)
    q = mx.round(blocks * inv)
    return (q * (amax / mx.array(127.0, mx.float32))).reshape(x.shape)


def _float32() -> Any:
    import mlx.core as mx

    return mx.float32


def _native_linear(module: Any) -> type:
    if "linear" not in _classes:
        import mlx.nn as nn

        class NativeQuantizedLinear(nn.QuantizedLinear):
            native_kernel = True

            def __call__(self, x):
                y = _product(module, self, x)
                return y + self["bias"] if "bias" in self else y

        _classes["linear"] = NativeQuantizedLinear
    return _classes["linear"]


def _native_embedding(module: Any) -> type:
    if "embedding" not in _classes:
        import mlx.nn as nn

        class NativeQuantizedEmbedding(nn.QuantizedEmbedding):
            native_kernel = True

            def as_linear(self, x):
                return _product(module, self, x)

        _classes["embedding"] = NativeQuantizedEmbedding
    return _classes["embedding"]


# Query rows up to which the fused decode attention runs (a decode step, a speculative verification).
ATTENTION_MAX_ROWS = PREFILL_ROWS
# Query rows up to which mlx-lm's attention helper runs the native attention (attention.cpp, the
# heads over the pool): prefill chunks too, whose cost with MLX's CPU composition grows with the
# context much faster than its arithmetic (BENCHMARKS.md: a 1,536-token prompt in 256-token
# chunks 1.8x faster). Longer chunks keep MLX's own. bench/kernel.py sets it to 0 to compare.
PREFILL_ATTENTION_ROWS = 512


def install_attention(model: Any) -> int:
    """Route the model's rope (nn.RoPE layers, by class swap) and its architecture's
    scaled_dot_product_attention (mlx-lm's module-level helper, wrapped once per architecture) to
    the native ops; returns how many rope layers were swapped. CPU backend only."""
    import mlx.core as mx
    import mlx.nn as nn

    kernel = status()
    if not kernel.available or mx.default_device() != mx.cpu:
        return 0
    count = fused = 0
    for _, layer in model.named_modules():
        if type(layer) is nn.RoPE and layer.base is not None:
            layer.__class__ = _native_rope(kernel.module)
            count += 1
        elif type(layer) is nn.RMSNorm and hasattr(kernel.module, "native_rms_norm"):
            layer.__class__ = _native_norm(kernel.module)
        elif (type(layer).__name__ == "Attention" and type(layer).__module__ in FUSED_ATTENTION
              and hasattr(kernel.module, "native_cached_attention")):
            layer.__class__ = _native_decode_attention(kernel.module, type(layer))
            fused += 1
    if fused:  # keys and values kept as float16 (half_cache.py)
        from . import half_cache

        half_cache.install(model, FUSED_ATTENTION)
    arch = sys.modules.get(type(model).__module__)
    original = getattr(arch, "scaled_dot_product_attention", None)
    if callable(original) and not getattr(original, "native_kernel", False):
        arch.scaled_dot_product_attention = _native_sdpa(kernel.module, original)
    return count


# Architectures whose attention layer is q/k/v products, heads, rope, a KV cache and o_proj in
# mlx-lm's plain form: a decode step runs it as native_cache_write (keys, values) and
# native_cached_attention (fused.cpp), three graph nodes where it was about fifteen.
FUSED_ATTENTION = ("mlx_lm.models.llama", "mlx_lm.models.qwen2")


def _cache_write(module: Any, cache: Any, rope: Any, keys: Any, values: Any) -> tuple[int, tuple]:
    """A decode step's keys (rotated) and values (B, L, H*D) into the KVCache's buffers at its offset,
    which moves on by L; returns the offset they went to and rope's (dims, traditional, base, scale)."""
    offset = cache.offset
    turn = (rope.dims, rope.traditional, float(rope.base), float(rope.scale))
    cache.keys = module.native_cache_write(cache.keys, keys, offset, *turn)
    cache.values = module.native_cache_write(cache.values, values, offset)
    cache.offset += keys.shape[1]
    return offset, turn


def _native_decode_attention(module: Any, base_class: type) -> type:
    key = f"attention:{base_class.__module__}"
    if key not in _classes:

        class NativeDecodeAttention(base_class):
            native_kernel = True

            def __call__(self, x, mask=None, cache=None):
                if not _decode_fits(self, x, mask, cache):
                    return super().__call__(x, mask=mask, cache=cache)
                queries = self.q_proj(x)
                offset, turn = _cache_write(module, cache, self.rope, self.k_proj(x), self.v_proj(x))
                out = module.native_cached_attention(queries, cache.keys, cache.values, self.n_heads, offset, *turn,
                                                     float(self.scale), mask is not None)
                return self.o_proj(out)

        _classes[key] = NativeDecodeAttention
    return _classes[key]


def _decode_fits(attn: Any, x: Any, mask: Any, cache: Any, x_float32: bool = True) -> bool:
    """Whether a llama/qwen2 attention layer's call is a decode step the fused nodes compute: a plain
    KVCache with room for x's rows, at most ATTENTION_MAX_ROWS of them, no mask or a causal one,
    the native rope, float32 throughout but the cache (float32 or float16) (x_float32=False: x may be
    a half type), the CPU."""
    mx, plain = _mlx()
    if not plain(cache) or cache.keys is None or x.ndim != 3 or x.shape[1] > ATTENTION_MAX_ROWS:
        return False
    return (cache.offset + x.shape[1] <= cache.keys.shape[2]
            and (mask is None or (isinstance(mask, str) and mask == "causal"))
            and getattr(attn.rope, "native_kernel", False)
            and (x.dtype == mx.float32 or (not x_float32 and x.dtype in (mx.float16, mx.bfloat16)))
            and cache.keys.dtype == cache.values.dtype and cache.keys.dtype in (mx.float32, mx.float16)
            and mx.default_device() == mx.cpu)


_mlx_modules: tuple = ()


def _mlx() -> tuple:
    """mlx.core and whether a cache is a plain KV cache (float32 or float16), imported once (a decode
    step asks 60 times)."""
    global _mlx_modules
    if not _mlx_modules:
        import mlx.core as mx

        from .half_cache import plain

        _mlx_modules = (mx, plain)
    return _mlx_modules


def install_layers(model: Any) -> int:
    """Run a decode step of llama and qwen2 decoder layers whose attention and MLP are the fused
    native ones as four nodes (layer.cpp: the norm and q, k, v products; two cache writes; the
    attention to the layer's output); how many layers. MLXAGENT_KERNEL_NO_FUSED_LAYER=1: off."""
    kernel = status()
    if (not kernel.available or not hasattr(kernel.module, "native_layer_tail")
            or os.environ.get("MLXAGENT_KERNEL_NO_FUSED_LAYER")):  # bench/kernel.py's comparison row
        return 0
    count = 0
    for _, layer in model.named_modules():
        if (type(layer).__name__ == "TransformerBlock" and type(layer).__module__ in FUSED_ATTENTION
                and getattr(type(layer.get("self_attn")), "native_kernel", False)
                and getattr(type(layer.get("mlp")), "native_kernel", False)):
            layer.__class__ = _native_layer(kernel.module, type(layer))
            count += 1
    return count


_LINEARS = (("self_attn", "q_proj"), ("self_attn", "k_proj"), ("self_attn", "v_proj"), ("self_attn", "o_proj"),
            ("mlp", "gate_proj"), ("mlp", "up_proj"), ("mlp", "down_proj"))


def _layer_weights(block: Any, x: Any) -> tuple[list, int, int, Any, Any] | None:
    """The block's seven projections as (weights, scales, biases) in order, with their group size
    and bits, and its two norms, when all projections are on the kernel alike (no bias, no adapter)
    and both norms are native (and float32 where x is a half type: the first layer's input, a
    quantised embedding's rows); else None (the block's own code runs)."""
    native, norm = _classes.get("linear"), _classes.get("norm")
    norm1, norm2 = block["input_layernorm"], block["post_attention_layernorm"]
    if type(norm1) is not norm or type(norm2) is not norm:
        return None
    float32 = _mlx()[0].float32
    if x.dtype != float32 and not (norm1["weight"].dtype == norm2["weight"].dtype == float32):
        return None
    arrays, first = [], None
    for part, name in _LINEARS:
        layer = block[part][name]
        if type(layer) is not native or "bias" in layer:
            return None
        scales = layer["scales"]
        if first is None:
            first = layer
        elif (layer.group_size != first.group_size or layer.bits != first.bits
              or scales.dtype != arrays[1].dtype):
            return None
        arrays += (layer["weight"], scales, layer["biases"])
    return arrays, first.group_size, first.bits, norm1, norm2


def _native_layer(module: Any, base_class: type) -> type:
    key = f"layer:{base_class.__module__}"
    if key not in _classes:

        class NativeDecoderLayer(base_class):
            native_kernel = True

            def __call__(self, x, mask=None, cache=None):
                attn = self["self_attn"]
                plan = (_layer_weights(self, x) if _decode_fits(attn, x, mask, cache, x_float32=False)
                        and x.shape[0] * x.shape[1] <= PREFILL_ROWS else None)
                if plan is None:
                    return super().__call__(x, mask, cache)
                arrays, group_size, bits, norm1, norm2 = plan
                q, k, v = module.native_norm_qkv(x, norm1["weight"], norm1.eps, arrays[:9], group_size, bits)
                offset, turn = _cache_write(module, cache, attn.rope, k, v)
                return module.native_layer_tail(x, q, cache.keys, cache.values, norm2["weight"], norm2.eps, arrays[9:],
                                                attn.n_heads, offset, *turn, float(attn.scale), mask is not None,
                                                group_size, bits)

        _classes[key] = NativeDecoderLayer
    return _classes[key]


def _native_rope(module: Any) -> type:
    if "rope" not in _classes:
        import mlx.nn as nn

        class NativeRoPE(nn.RoPE):
            native_kernel = True

            def __call__(self, x, offset=0):
                if isinstance(offset, int) and x.ndim >= 2:
                    return module.native_rope(x, self.dims, self.traditional, float(self.base), float(self.scale),
                                              offset)
                return super().__call__(x, offset)

        _classes["rope"] = NativeRoPE
    return _classes["rope"]


def _native_norm(module: Any) -> type:
    if "norm" not in _classes:
        import mlx.nn as nn

        class NativeRMSNorm(nn.RMSNorm):
            native_kernel = True

            def __call__(self, x):
                return module.native_rms_norm(x, self["weight"], self.eps)

        _classes["norm"] = NativeRMSNorm
    return _classes["norm"]


def _native_sdpa(module: Any, original: Any) -> Any:
    import mlx.core as mx

    def scaled_dot_product_attention(queries, keys, values, cache=None, scale=1.0, mask=None, sinks=None, **kw):
        if (not kw and sinks is None and not hasattr(cache, "bits") and (mask is None or (
                isinstance(mask, str) and mask == "causal")) and queries.ndim == 4
                and queries.shape[2] <= PREFILL_ATTENTION_ROWS and keys.ndim == 4 and values.ndim == 4
                and (queries.dtype == keys.dtype == values.dtype or (  # or a float16 KV cache
                    queries.dtype == mx.float32 and keys.dtype == values.dtype == mx.float16))
                and mx.default_device() == mx.cpu):
            return module.native_attention(queries, keys, values, float(scale), mask is not None)
        return original(queries, keys, values, cache=cache, scale=scale, mask=mask, sinks=sinks, **kw)

    scaled_dot_product_attention.native_kernel = True
    scaled_dot_product_attention.original = original
    return scaled_dot_product_attention
