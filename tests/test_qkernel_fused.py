"""A decode step's attention in three native nodes (mlxagent/model/qkernel/fused.cpp): the KV-cache
write and the cached attention against MLX's own ops and against the native rope and attention
they replace; the cache buffer written in place only where no one else holds it; the real model's
greedy and speculative decoding equal to the layer's own code; the fallbacks; bad input."""

from __future__ import annotations

import re
import tempfile
from collections import Counter

import mlx.core as mx
import numpy as np
import pytest

from mlxagent.model import qkernel

KERNEL = qkernel.status()
pytestmark = pytest.mark.skipif(not KERNEL.available, reason=f"native kernel: {KERNEL.line}")


def _heads(rows, H):
    """(B, L, H*D) -> (B, H, L, D), as mlx-lm's attention layer makes heads."""
    B, L, HD = rows.shape
    return rows.reshape(B, L, H, HD // H).transpose(0, 2, 1, 3)


def _cache(B, H, S, D, seed):
    return mx.random.normal((B, H, S, D), key=mx.random.key(seed))


@pytest.mark.parametrize("B,H,S,D,L,offset", [(1, 3, 512, 64, 1, 400), (1, 3, 256, 64, 7, 249),
                                              (2, 4, 64, 32, 3, 0), (1, 2, 16, 12, 16, 0)])
@pytest.mark.parametrize("rope", [None, (64, False, 100000.0, 1.0), (16, True, 10000.0, 0.5)])
def test_cache_write_equals_a_slice_update_of_the_rotated_rows(B, H, S, D, L, offset, rope):
    if rope and rope[0] > D:
        rope = (D, *rope[1:])
    cache = _cache(B, H, S, D, 1)
    rows = mx.random.normal((B, L, H * D), key=mx.random.key(2))
    mx.eval(cache, rows)
    want = mx.array(np.array(cache))
    heads = _heads(rows, H)
    if rope:
        heads = KERNEL.module.native_rope(heads, rope[0], rope[1], rope[2], rope[3], offset)
    want[:, :, offset:offset + L, :] = heads
    got = KERNEL.module.native_cache_write(cache, rows, offset, *(rope or ()))
    assert got.shape == cache.shape and got.dtype == mx.float32
    assert mx.array_equal(got, want).item()  # the native rope's arithmetic, bit for bit
    if rope:
        mlx = mx.fast.rope(_heads(rows, H), rope[0], traditional=rope[1], base=rope[2], scale=rope[3], offset=offset)
        assert mx.allclose(got[:, :, offset:offset + L, :], mlx, atol=2e-5).item()


def test_a_cache_someone_else_holds_is_copied_not_written_over():
    cache = _cache(1, 3, 32, 8, 3)
    mx.eval(cache)
    kept = np.array(cache)
    rows = mx.ones((1, 2, 24))
    out = KERNEL.module.native_cache_write(cache, rows, 5)
    mx.eval(out)
    assert np.array_equal(np.array(cache), kept)  # `cache` is still referenced here: not donated
    assert mx.array_equal(out[:, :, 5:7, :], mx.ones((1, 3, 2, 8))).item()
    assert np.array_equal(np.array(out[:, :, :5, :]), kept[:, :, :5, :])


def test_a_cache_no_one_else_holds_is_written_in_place():
    """The decode step's case: the KV cache replaces its array by the node's output, so the old
    buffer is reused (as MLX's own slice update reuses it) and the step allocates no new cache."""
    big = (1, 3, 8192, 64)  # 6 MB
    cache = mx.zeros(big)
    mx.eval(cache)
    rows = mx.ones((1, 1, 192))
    mx.eval(rows)
    mx.reset_peak_memory()
    before = mx.get_active_memory()
    for offset in range(4):
        cache = KERNEL.module.native_cache_write(cache, rows, offset)
        mx.eval(cache)
    assert mx.get_peak_memory() - before < 1_000_000, mx.get_peak_memory() - before
    assert mx.array_equal(cache[:, :, :4, :], mx.ones((1, 3, 4, 64))).item()
    assert mx.sum(cache[:, :, 4:, :]).item() == 0


@pytest.mark.parametrize("Hq,Hkv,S,D,Dv,L,offset", [(9, 3, 512, 64, 64, 1, 399), (9, 3, 512, 64, 64, 7, 40),
                                                    (4, 4, 16, 32, 32, 3, 0), (6, 3, 32, 12, 20, 2, 9),
                                                    (8, 2, 128, 64, 64, 16, 100)])
@pytest.mark.parametrize("causal", [False, True])
def test_cached_attention_equals_the_native_ops_and_mlx(Hq, Hkv, S, D, Dv, L, offset, causal):
    B = 2 if Hq == 4 else 1
    keys, values = _cache(B, Hkv, S, D, 4), _cache(B, Hkv, S, Dv, 5)
    q = mx.random.normal((B, L, Hq * D), key=mx.random.key(6))
    mx.eval(keys, values, q)
    rope = (D, False, 10000.0, 1.0)
    got = KERNEL.module.native_cached_attention(q, keys, values, Hq, offset, *rope, 0.125, causal)
    assert got.shape == (B, L, Hq * Dv)
    seen = offset + L
    qh = KERNEL.module.native_rope(_heads(q, Hq), *rope, offset)
    native = KERNEL.module.native_attention(qh, keys[:, :, :seen], values[:, :, :seen], 0.125, causal)
    assert mx.array_equal(got, native.transpose(0, 2, 1, 3).reshape(B, L, -1)).item()
    qm = mx.fast.rope(_heads(q, Hq), D, traditional=False, base=10000.0, scale=1.0, offset=offset)
    mlx = mx.fast.scaled_dot_product_attention(qm, keys[:, :, :seen], values[:, :, :seen], scale=0.125,
                                               mask="causal" if causal else None)
    assert mx.allclose(got, mlx.transpose(0, 2, 1, 3).reshape(B, L, -1), atol=2e-5).item()


@pytest.mark.parametrize("Hq,Hkv,D,Dv,L,offset", [(9, 3, 64, 64, 33, 130), (9, 3, 64, 64, 5, 0),
                                                  (4, 2, 128, 128, 9, 61), (6, 3, 32, 24, 7, 3)])
def test_each_causal_row_equals_that_row_decoded_alone(Hq, Hkv, D, Dv, L, offset):
    """The attention reads keys and values a block of 64 at a time for all the query rows of a KV
    head (its query heads, a verification's rows); a row's output must not depend on the rows it
    shares a block with: verification equals decoding bit for bit."""
    keys, values = _cache(1, Hkv, offset + L + 8, D, 7), _cache(1, Hkv, offset + L + 8, Dv, 8)
    q = mx.random.normal((1, L, Hq * D), key=mx.random.key(9))
    mx.eval(keys, values, q)
    rope = (D, False, 10000.0, 1.0)
    together = KERNEL.module.native_cached_attention(q, keys, values, Hq, offset, *rope, 0.125, True)
    for row in range(L):
        alone = KERNEL.module.native_cached_attention(q[:, row:row + 1], keys, values, Hq, offset + row, *rope,
                                                      0.125, False)
        assert mx.array_equal(together[:, row:row + 1], alone).item(), row


@pytest.mark.parametrize("call,message", [
    (lambda m: m.native_cache_write(mx.zeros((1, 3, 8, 4)), mx.zeros((1, 2, 12)), 7),
     "[native_cache_write] the rows do not fit the cache at this offset"),
    (lambda m: m.native_cache_write(mx.zeros((1, 3, 8, 4)), mx.zeros((1, 2, 10)), 0),
     "[native_cache_write] cache (B, H, S, D) and rows (B, L, H*D)"),
    (lambda m: m.native_cache_write(mx.zeros((1, 3, 8, 4), mx.float16), mx.zeros((1, 2, 12), mx.float16), 0),
     "[native_cache_write] takes float32 arrays"),
    (lambda m: m.native_cache_write(mx.zeros((1, 3, 8, 4)), mx.zeros((1, 2, 12)), 0, 3),
     "[native_cache] rope dims must be even, between 0 and the head size"),
    (lambda m: m.native_cached_attention(mx.zeros((1, 1, 20)), mx.zeros((1, 3, 8, 4)), mx.zeros((1, 3, 8, 4)), 5, 0),
     "[native_cached_attention] q (B, L, heads*D), keys (B, Hkv, S, D), values (B, Hkv, S, Dv), heads a multiple "
     "of Hkv"),
    (lambda m: m.native_cached_attention(mx.zeros((1, 2, 24)), mx.zeros((1, 3, 8, 4)), mx.zeros((1, 3, 8, 4)), 6, 7),
     "[native_cached_attention] offset + rows exceed the cache"),
])
def test_bad_input_is_one_line(call, message):
    with pytest.raises(ValueError) as info:
        call(KERNEL.module)
    assert str(info.value) == message


# ----------------------------------------------------------------------------- the real model

@pytest.fixture(scope="module")
def loaded(real_model_dir):
    from mlxagent.model.runtime import load_model_dir

    return load_model_dir(real_model_dir, "smollm2-135m")


def _unfused(loaded, part: str = "self_attn", native: str = "NativeDecodeAttention"):
    """A part of every layer (the attention; test_qkernel_mlp.py: the MLP) back on mlx-lm's own
    code while in the `with` (the native rope, attention and products stay); the decoder layers
    too when they are fused (layer.cpp), so that the part's own code runs at all. part=None: only
    the decoder layers."""
    layers = loaded.model.model.layers
    fused_layer = type(layers[0])
    fused = type(getattr(layers[0], part)) if part else None
    assert part is None or fused.__name__ == native

    class Swap:
        def __enter__(self):
            for layer in layers:
                if fused_layer.__name__ == "NativeDecoderLayer":
                    layer.__class__ = fused_layer.__mro__[1]
                if part:
                    getattr(layer, part).__class__ = fused.__mro__[1]

        def __exit__(self, *exc):
            for layer in layers:
                layer.__class__ = fused_layer
                if part:
                    getattr(layer, part).__class__ = fused

    return Swap()


def _step_nodes(loaded) -> Counter:
    from mlx_lm.models.cache import make_prompt_cache

    cache = make_prompt_cache(loaded.model)
    mx.eval(loaded.model(mx.array([list(range(1, 40))]), cache=cache))
    out = loaded.model(mx.array([[5]]), cache=cache)
    with tempfile.NamedTemporaryFile("r", suffix=".dot") as f:
        mx.export_to_dot(f.name, out)
        return Counter(re.findall(r'label ="([A-Za-z0-9]+)"', f.read()))


@pytest.mark.real_model
def test_a_decode_step_has_three_attention_nodes_a_layer(loaded):
    with _unfused(loaded, None):  # the decoder layers' own code (test_qkernel_layer.py: fused)
        nodes = _step_nodes(loaded)
    assert nodes["NativeCacheWrite"] == 60 and nodes["NativeCachedAttention"] == 30
    assert nodes["SliceUpdate"] == 0 and nodes["Transpose"] == 0 and nodes["NativeRope"] == 0
    assert nodes["NativeRMSNorm"] == 61 and nodes["NativeQMM"] == 151  # + 60 gate and up in NativeSwiGLU
    assert nodes["NativeSwiGLU"] == 30 and not any(name.startswith("Compiled") for name in nodes)
    # MLX's CPU composition of an RMS norm (square, sum, rsqrt, broadcasts, multiplies) is gone,
    # and the products read x as it is (once: a Contiguous node in front of each of the 211).
    assert nodes["Square"] == 0 and nodes["Rsqrt"] == 0 and nodes["Contiguous"] == 0
    assert sum(nodes.values()) < 440, nodes.most_common(8)  # 1,731 before the norm, 860 before this, 489 before mlp.cpp
    with _unfused(loaded):
        before = _step_nodes(loaded)
    assert before["SliceUpdate"] == 60 and sum(before.values()) > 800


PROMPTS = ["What is the capital of France?", "Repeat this code exactly:\n\ndef add(a, b):\n    return a + b\n",
           "List three colours of the rainbow."]


def _chat_text(loaded, prompt: str, speculative: bool) -> str:
    """40 greedy tokens of the real model's answer to `prompt` (speculative decoding or plain)."""
    from mlxagent.model.kv_cache import ChatSession

    p = loaded.tokenizer.apply_chat_template([{"role": "user", "content": prompt}], add_generation_prompt=True,
                                             tokenize=False)
    return "".join(c.text for c in ChatSession(loaded, reuse=False, speculative=speculative)
                   .generate(p, max_tokens=40))


def assert_decoding_unchanged(loaded, unfused, prompts=PROMPTS) -> None:
    """Greedy and speculative text now equal greedy text inside `unfused` (a context), and Paris."""
    for prompt in prompts:
        fused, spec = _chat_text(loaded, prompt, False), _chat_text(loaded, prompt, True)
        with unfused:
            own = _chat_text(loaded, prompt, False)
        assert fused == own == spec, (prompt, fused, own, spec)
    assert "Paris" in _chat_text(loaded, prompts[0], False)


@pytest.mark.real_model
def test_greedy_and_speculative_decoding_equal_the_layers_own_code(loaded):
    assert_decoding_unchanged(loaded, _unfused(loaded))


@pytest.mark.real_model
def test_other_caches_and_masks_take_the_layers_own_code(loaded):
    from mlx_lm.models.cache import KVCache, QuantizedKVCache

    attn = loaded.model.model.layers[0].self_attn
    x = mx.random.normal((1, 1, 576), key=mx.random.key(9))
    # no cache (training), a quantised cache, an array mask, a full cache: the layer's own code runs
    assert attn(x).shape == (1, 1, 576)
    q = QuantizedKVCache()
    assert attn(x, cache=q).shape == (1, 1, 576) and q.offset == 1
    plain = KVCache()
    attn(mx.random.normal((1, 4, 576)), mask="causal", cache=plain)  # prefill: allocates the buffer
    full = plain.keys.shape[2]
    assert attn(x, mask=mx.zeros((1, plain.offset + 1)), cache=plain).shape == (1, 1, 576)
    plain.offset = full  # the next row does not fit: mlx-lm grows the buffer
    assert attn(x, cache=plain).shape == (1, 1, 576) and plain.keys.shape[2] > full
