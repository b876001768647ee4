"""A float16 KV cache for the native attention on the CPU (issue 28).

A decode step reads the whole KV cache once per layer: at a 1,600-token context SmolLM2's float32
cache is about 74 MB a step, as much as its 4-bit weights, and the attention's time is that read.
Kept as float16 (what llama.cpp keeps by default, and what MLX keeps for a half-precision model)
it is half of that. Keys and values are rounded to float16 once, when they are written; the
attention widens each back exactly (F16C) and computes in float32, so decoding, a speculative
verification and a prefill chunk all see the same numbers. What changes is the rounding of the
keys and values themselves: answers may differ from a float32 cache in the last digits of the
logits (BENCHMARKS.md says on which prompts a greedy token changed).

`install(model)` gives a llama or qwen2 model whose attention is native a `make_cache()` that
mlx-lm's `make_prompt_cache` calls, one `HalfKVCache` a layer. MLXAGENT_KV_FLOAT32=1 keeps the
float32 cache (bench/kernel.py's comparison row).
"""

from __future__ import annotations

import os
from typing import Any

import mlx.core as mx
from mlx_lm.models.cache import KVCache


class HalfKVCache(KVCache):
    """mlx-lm's KVCache with keys and values stored as float16."""

    def update_and_fetch(self, keys, values):
        return super().update_and_fetch(keys.astype(mx.float16), values.astype(mx.float16))


PLAIN_CACHES = (KVCache, HalfKVCache)  # the caches the native decode nodes write into


def plain(cache: Any) -> bool:
    """A KVCache of either kind (not a rotating, quantised or other cache)."""
    return type(cache) in PLAIN_CACHES


def empty_like(cache: Any) -> Any:
    """A new, empty cache of the same kind."""
    return type(cache)()


def install(model: Any, families: tuple[str, ...]) -> bool:
    """Give `model` float16 KV caches where it would have mlx-lm's plain KVCache, when it is one of
    `families` (model modules); False where it keeps its caches as they were."""
    if os.environ.get("MLXAGENT_KV_FLOAT32") or type(model).__module__ not in families:
        return False
    if getattr(model.make_cache, "half_cache", False) if "make_cache" in vars(model) else False:
        return True
    if hasattr(type(model), "make_cache"):
        own = model.make_cache  # the architecture's own (sliding windows get a rotating cache)
    elif hasattr(model, "layers"):
        count = len(model.layers)

        def own():
            return [KVCache() for _ in range(count)]
    else:
        return False

    def make_cache():
        return [HalfKVCache() if type(c) is KVCache else c for c in own()]

    make_cache.half_cache = True
    object.__setattr__(model, "make_cache", make_cache)
    return True
