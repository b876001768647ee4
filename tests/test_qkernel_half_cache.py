"""The float16 KV cache (mlxagent/model/qkernel/half_cache.py): the native cache write, cached
attention and prefill attention read and write float16 caches with exactly the arithmetic of a
float32 cache holding the same (rounded) values; the real model gets one where it had mlx-lm's
plain KVCache, and keeps it through sessions, scoring and batches; MLXAGENT_KV_FLOAT32 keeps float32."""

from __future__ import annotations

import mlx.core as mx
import pytest

from mlxagent.model import qkernel

KERNEL = qkernel.status()
pytestmark = pytest.mark.skipif(not KERNEL.available, reason=f"native kernel: {KERNEL.line}")


def _half(shape, seed):
    return mx.random.normal(shape, key=mx.random.key(seed)).astype(mx.float16)


@pytest.mark.parametrize("Hq,Hkv,D,L,offset,causal", [(9, 3, 64, 1, 399, False), (9, 3, 64, 23, 150, True),
                                                      (4, 2, 32, 5, 0, True), (6, 3, 24, 2, 9, False)])
def test_cached_attention_on_a_float16_cache_equals_it_on_the_same_values_in_float32(Hq, Hkv, D, L, offset, causal):
    keys, values = _half((1, Hkv, offset + L + 4, D), 1), _half((1, Hkv, offset + L + 4, D), 2)
    q = mx.random.normal((1, L, Hq * D), key=mx.random.key(3))
    rope = (D, False, 10000.0, 1.0)
    half = KERNEL.module.native_cached_attention(q, keys, values, Hq, offset, *rope, 0.125, causal)
    full = KERNEL.module.native_cached_attention(q, keys.astype(mx.float32), values.astype(mx.float32), Hq, offset,
                                                 *rope, 0.125, causal)
    assert half.dtype == mx.float32 and mx.array_equal(half, full).item()


def test_a_cache_write_rounds_the_rotated_rows_to_float16_in_place():
    cache = mx.zeros((1, 3, 16, 64), mx.float16)
    rows = mx.random.normal((1, 2, 3 * 64), key=mx.random.key(4))
    mx.eval(cache, rows)
    rope = (64, False, 10000.0, 1.0)
    half = KERNEL.module.native_cache_write(cache, rows, 5, *rope)
    full = KERNEL.module.native_cache_write(mx.zeros((1, 3, 16, 64)), rows, 5, *rope)
    assert half.dtype == mx.float16
    assert mx.array_equal(half, full.astype(mx.float16)).item()
    assert mx.sum(mx.abs(half[:, :, 5:7].astype(mx.float32))).item() > 0


@pytest.mark.parametrize("L,T,causal", [(7, 7, True), (40, 300, True), (3, 12, False)])
def test_prefill_attention_reads_float16_keys_and_values_as_their_float32_values(L, T, causal):
    q = mx.random.normal((1, 9, L, 64), key=mx.random.key(5))
    k, v = _half((1, 3, T, 64), 6), _half((1, 3, T, 64), 7)
    half = KERNEL.module.native_attention(q, k, v, 0.125, causal)
    full = KERNEL.module.native_attention(q, k.astype(mx.float32), v.astype(mx.float32), 0.125, causal)
    assert half.dtype == mx.float32 and mx.array_equal(half, full).item()
    mlx = mx.fast.scaled_dot_product_attention(q, k, v, scale=0.125, mask="causal" if causal else None)
    assert mx.allclose(half, mlx, atol=2e-5).item()


@pytest.mark.parametrize("call,message", [
    (lambda m: m.native_cached_attention(mx.zeros((1, 1, 8)), mx.zeros((1, 2, 8, 4), mx.float16),
                                         mx.zeros((1, 2, 8, 4)), 2, 0),
     "[native_cached_attention] takes float32 queries and float32 or float16 caches"),
    (lambda m: m.native_cache_write(mx.zeros((1, 2, 8, 4), mx.bfloat16), mx.zeros((1, 1, 8)), 0),
     "[native_cache_write] takes float32 rows and a float32 or float16 cache"),
    (lambda m: m.native_attention(mx.zeros((1, 2, 3, 4), mx.float16), mx.zeros((1, 2, 3, 4)), mx.zeros((1, 2, 3, 4)),
                                  1.0),
     "[native_attention] q, k and v must share one float dtype (or float32 q with float16 k and v)"),
])
def test_mixed_or_other_cache_types_get_one_line(call, message):
    with pytest.raises(ValueError) as info:
        call(KERNEL.module)
    assert str(info.value) == message


# ----------------------------------------------------------------------------- the real model

@pytest.fixture(scope="module")
def loaded(real_model_dir):
    from mlxagent.model.runtime import load_model_dir

    return load_model_dir(real_model_dir, "smollm2-135m")


@pytest.mark.real_model
def test_the_model_keeps_float16_keys_and_values_through_prefill_decode_sessions_and_scoring(loaded):
    from mlx_lm.models.cache import make_prompt_cache

    from mlxagent.model.kv_cache import ChatSession
    from mlxagent.model.qkernel.half_cache import HalfKVCache
    from mlxagent.model.scoring import _cut_cache

    cache = make_prompt_cache(loaded.model)
    assert all(type(c) is HalfKVCache for c in cache)
    mx.eval(loaded.model(mx.array([list(range(1, 300))]), cache=cache))  # prefill: mlx-lm's layer code
    mx.eval(loaded.model(mx.array([[7]]), cache=cache))  # a decode step: the native nodes
    assert cache[0].keys.dtype == cache[0].values.dtype == mx.float16 and cache[0].offset == 300
    assert cache[0].keys.nbytes == 2 * cache[0].keys.size
    assert all(type(c) is HalfKVCache for c in _cut_cache(cache, 10))
    session = ChatSession(loaded, reuse=True, speculative=True)
    text = "".join(c.text for c in session.generate("def add(a, b):\n    return a", max_tokens=8))
    assert text
    fork = session.fork(5)
    assert fork is not None and all(type(c) is HalfKVCache for c in fork._cache)


@pytest.mark.real_model
def test_a_float16_cache_answers_the_suites_prompts_as_a_float32_cache_does(loaded, monkeypatch):
    """The rounding of keys and values changed no greedy token on these prompts (BENCHMARKS.md)."""
    from test_qkernel_fused import PROMPTS, _chat_text

    half = [_chat_text(loaded, p, False) for p in PROMPTS]
    own = loaded.model.make_cache
    monkeypatch.delattr(loaded.model, "make_cache")  # the architecture's own: float32 KVCache
    try:
        from mlx_lm.models.cache import KVCache, make_prompt_cache

        assert type(make_prompt_cache(loaded.model)[0]) is KVCache
        full = [_chat_text(loaded, p, False) for p in PROMPTS]
    finally:
        object.__setattr__(loaded.model, "make_cache", own)
    assert half == full
    assert "Paris" in half[0]


def test_mlxagent_kv_float32_keeps_the_float32_cache(monkeypatch):
    from mlxagent.model.qkernel import half_cache

    class Model:
        __module__ = "mlx_lm.models.llama"
        layers = [object(), object()]

    monkeypatch.setenv("MLXAGENT_KV_FLOAT32", "1")
    model = Model()
    assert not half_cache.install(model, ("mlx_lm.models.llama",)) and not hasattr(model, "make_cache")
    monkeypatch.delenv("MLXAGENT_KV_FLOAT32")
    assert half_cache.install(model, ("mlx_lm.models.llama",))
    assert [type(c).__name__ for c in model.make_cache()] == ["HalfKVCache", "HalfKVCache"]
    assert not half_cache.install(Model(), ("mlx_lm.models.qwen2",))
