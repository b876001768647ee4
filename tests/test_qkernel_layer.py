"""A decode step's decoder layer in four native nodes (mlxagent/model/qkernel/layer.cpp): the norm
and q, k, v products as one node, the attention to the layer's output as another, each bit-equal to
the nodes it replaces; a layer through them equal to the layer's own code (outputs and KV caches,
decode steps and a causal verification of several rows); the cases left to the layer's own code;
the real model's step graph, and its greedy and speculative decoding; bad input in one line."""

from __future__ import annotations

import mlx.core as mx
import mlx.nn as nn
import pytest

from mlxagent.model import qkernel

from test_qkernel_fused import (  # noqa: F401 - loaded: the real model, once a module
    PROMPTS, _step_nodes, _unfused, assert_decoding_unchanged, loaded)

KERNEL = qkernel.status()
pytestmark = pytest.mark.skipif(not KERNEL.available, reason=f"native kernel: {KERNEL.line}")


def _tiny(bits=4, gs=32, seed=0, heads=4, kv_heads=2, arch="llama"):
    """A small llama (or qwen2) model, quantised and put on the native kernels as the runtime does."""
    import importlib

    module = importlib.import_module(f"mlx_lm.models.{arch}")
    extra = {"tie_word_embeddings": True} if arch == "qwen2" else {}
    args = module.ModelArgs(model_type=arch, hidden_size=128, num_hidden_layers=2, intermediate_size=256,
                            num_attention_heads=heads, rms_norm_eps=1e-5, vocab_size=96,
                            num_key_value_heads=kv_heads, rope_theta=10000.0, **extra)
    mx.random.seed(seed)
    model = module.Model(args)
    nn.quantize(model, group_size=gs, bits=bits)
    mx.eval(model.parameters())
    assert qkernel.install(model) > 0
    qkernel.install_mlp(model)
    qkernel.install_attention(model)
    return model


def _layers_own(model):
    """The decoder layers back on their own code (attention and MLP stay fused) while in the `with`."""
    layers = model.model.layers
    fused = type(layers[0])

    class Swap:
        def __enter__(self):
            for layer in layers:
                layer.__class__ = fused.__mro__[1]

        def __exit__(self, *exc):
            for layer in layers:
                layer.__class__ = fused

    return Swap()


def _decode(model, prompt, steps, verify=None):
    """Logits of a prefill, `steps` greedy steps and (optionally) one step of several rows, and the caches."""
    from mlx_lm.models.cache import make_prompt_cache

    cache = make_prompt_cache(model)
    outs = [model(mx.array([prompt]), cache=cache)]
    token = mx.argmax(outs[-1][:, -1:], axis=-1)
    for _ in range(steps):
        outs.append(model(token, cache=cache))
        token = mx.argmax(outs[-1][:, -1:], axis=-1)
    if verify:
        outs.append(model(mx.array([verify]), cache=cache))
    mx.eval(outs, [c.state for c in cache])
    return outs, cache


@pytest.mark.parametrize("bits,gs", [(4, 32), (4, 64), (8, 32)])
@pytest.mark.parametrize("arch", ["llama", "qwen2"])
def test_a_layer_equals_its_own_code_bit_for_bit(bits, gs, arch):
    model = _tiny(bits, gs, arch=arch)
    if arch == "qwen2":  # q, k and v carry biases there: the layer's own code runs
        assert qkernel.install_layers(model) == 2
        layer = model.model.layers[0]
        assert qkernel._layer_weights(layer, mx.zeros((1, 1, 128))) is None
        return
    assert qkernel.install_layers(model) == 2
    assert type(model.model.layers[0]).__name__ == "NativeDecoderLayer"
    prompt = [3, 14, 15, 92, 65, 35, 89, 79, 32, 38]
    fused, fused_cache = _decode(model, prompt, 6, verify=[5, 6, 7, 8, 9])
    with _layers_own(model):
        own, own_cache = _decode(model, prompt, 6, verify=[5, 6, 7, 8, 9])
    assert len(fused) == len(own) == 8
    for a, b in zip(fused, own):
        assert mx.array_equal(a, b).item()
    for a, b in zip(fused_cache, own_cache):
        assert a.offset == b.offset == len(prompt) + 6 + 5
        assert mx.array_equal(a.keys[..., :a.offset, :], b.keys[..., :b.offset, :]).item()
        assert mx.array_equal(a.values[..., :a.offset, :], b.values[..., :b.offset, :]).item()


def test_a_verification_of_many_rows_equals_decoding_them_one_by_one():
    """A speculative verification (the pending token and up to MAX_TOTAL drafts) runs on the kernel and
    gives, row for row, the logits decoding gives: speculative output stays plain greedy output."""
    from mlx_lm.models.cache import make_prompt_cache

    from mlxagent.model.speculative import MAX_TOTAL

    model = _tiny(4, 32, seed=8)
    qkernel.install_layers(model)
    assert qkernel.PREFILL_ROWS >= 1 + MAX_TOTAL
    prompt, rows = list(range(3, 13)), [(7 * i) % 90 + 1 for i in range(1 + MAX_TOTAL)]
    caches = [make_prompt_cache(model) for _ in range(2)]
    for cache in caches:
        mx.eval(model(mx.array([prompt]), cache=cache))
    together = model(mx.array([rows]), cache=caches[0])[0]
    one_by_one = mx.concatenate([model(mx.array([[t]]), cache=caches[1])[0] for t in rows])
    assert mx.array_equal(together, one_by_one).item()


def test_a_layer_is_close_to_mlx_lms_own_model():
    """Against the same weights with no native code at all (mlx-lm's layers, MLX's quantised matmul)."""
    model = _tiny(4, 32, seed=1)
    qkernel.install_layers(model)
    prompt = [1, 2, 3, 4, 5, 6, 7]
    fused, _ = _decode(model, prompt, 4)
    import importlib

    for _, m in model.named_modules():  # every native class back to mlx-lm's / MLX's own
        while getattr(type(m), "native_kernel", False):
            m.__class__ = type(m).__mro__[1]
    arch = importlib.import_module("mlx_lm.models.llama")
    arch.scaled_dot_product_attention = getattr(arch.scaled_dot_product_attention, "original",
                                                arch.scaled_dot_product_attention)
    try:
        plain, _ = _decode(model, prompt, 4)
    finally:
        qkernel.install_attention(model)
    for a, b in zip(fused, plain):
        assert mx.allclose(a, b, rtol=1e-3, atol=1e-3).item()


def _weights(*layers):
    return [a for layer in layers for a in (layer["weight"], layer["scales"], layer["biases"])]


def test_the_norm_and_qkv_node_equals_a_norm_and_three_products():
    model = _tiny(4, 32, seed=2)
    block = model.model.layers[1]
    attn, m = block.self_attn, KERNEL.module
    for rows in (1, 3, 16):
        x = mx.random.normal((1, rows, 128), key=mx.random.key(rows))
        q, k, v = m.native_norm_qkv(x, block.input_layernorm.weight, 1e-5,
                                    _weights(attn.q_proj, attn.k_proj, attn.v_proj), 32, 4)
        n = m.native_rms_norm(x, block.input_layernorm.weight, 1e-5)
        for got, layer in ((q, attn.q_proj), (k, attn.k_proj), (v, attn.v_proj)):
            want = m.native_qmm(n, *_weights(layer), 32, 4)
            assert got.shape == want.shape and mx.array_equal(got, want).item()
    # a strided x (a view) reads as the same rows
    wide = mx.random.normal((1, 2, 256), key=mx.random.key(9))
    view = wide[..., ::2]
    q, _, _ = m.native_norm_qkv(view, block.input_layernorm.weight, 1e-5,
                                _weights(attn.q_proj, attn.k_proj, attn.v_proj), 32, 4)
    want = m.native_qmm(m.native_rms_norm(mx.contiguous(view), block.input_layernorm.weight, 1e-5),
                        *_weights(attn.q_proj), 32, 4)
    assert mx.array_equal(q, want).item()


def test_the_tail_node_equals_attention_products_norm_and_mlp():
    from mlx_lm.models.cache import KVCache

    model = _tiny(4, 32, seed=3)
    block = model.model.layers[0]
    attn, mlp, m = block.self_attn, block.mlp, KERNEL.module
    cache = KVCache()
    block(mx.random.normal((1, 20, 128), key=mx.random.key(1)), "causal", cache)  # a prefill fills 20 rows
    mx.eval(cache.keys, cache.values)
    rope = attn.rope
    turn = (rope.dims, rope.traditional, float(rope.base), float(rope.scale))
    for rows, causal in ((1, False), (4, True)):
        x = mx.random.normal((1, rows, 128), key=mx.random.key(10 + rows))
        q = mx.random.normal((1, rows, attn.n_heads * 32), key=mx.random.key(20 + rows))
        args = (x, q, cache.keys, cache.values, block.post_attention_layernorm.weight, 1e-5,
                _weights(attn.o_proj, mlp.gate_proj, mlp.up_proj, mlp.down_proj), attn.n_heads, 16, *turn,
                float(attn.scale), causal, 32, 4)
        got = m.native_layer_tail(*args)
        a = m.native_cached_attention(q, cache.keys, cache.values, attn.n_heads, 16, *turn, float(attn.scale), causal)
        h = x + m.native_qmm(a, *_weights(attn.o_proj), 32, 4)
        n = m.native_rms_norm(h, block.post_attention_layernorm.weight, 1e-5)
        g = m.native_swiglu(n, *_weights(mlp.gate_proj), *_weights(mlp.up_proj), 32, 4)
        want = h + m.native_qmm(g, *_weights(mlp.down_proj), 32, 4)
        assert got.shape == (1, rows, 128) and mx.array_equal(got, want).item()


def test_other_calls_take_the_layers_own_code():
    from mlx_lm.models.cache import KVCache, QuantizedKVCache

    model = _tiny(4, 32, seed=4)
    assert qkernel.install_layers(model) == 2
    block = model.model.layers[0]
    x = mx.random.normal((1, 1, 128), key=mx.random.key(2))
    assert block(x).shape == (1, 1, 128)  # no cache (training)
    q = QuantizedKVCache(group_size=32)
    assert block(x, cache=q).shape == (1, 1, 128) and q.offset == 1
    plain = KVCache()
    block(mx.random.normal((1, 4, 128)), "causal", plain)
    with_mask = block(x, mx.zeros((1, plain.offset + 1)), plain)  # an array mask
    assert with_mask.shape == (1, 1, 128) and plain.offset == 5
    # 2 sequences x 9 rows: more rows than a decode tile (prefill products): the layer's own code
    batch = KVCache()
    block(mx.random.normal((2, 3, 128)), "causal", batch)
    assert block(mx.random.normal((2, 9, 128)), "causal", batch).shape == (2, 9, 128) and batch.offset == 12
    # an adapter (not a native product) on q_proj: the layer's own code
    assert qkernel._layer_weights(block, x) is not None
    block.self_attn.q_proj = nn.Linear(128, 128, bias=False)
    assert qkernel._layer_weights(block, x) is None
    assert block(x, cache=plain).shape == (1, 1, 128) and plain.offset == 6


def test_batched_rows_equal_the_layers_own_code():
    """Two sequences of one row each (a batched decode step) go through the fused nodes too."""
    from mlx_lm.models.cache import KVCache

    model = _tiny(4, 32, seed=5)
    qkernel.install_layers(model)
    block = model.model.layers[1]
    prefill = mx.random.normal((2, 6, 128), key=mx.random.key(3))
    step = mx.random.normal((2, 1, 128), key=mx.random.key(4))
    outs = []
    for own in (False, True):
        cache = KVCache()
        if own:
            block.__class__ = type(block).__mro__[1]
        block(prefill, "causal", cache)
        outs.append((block(step, None, cache), cache.keys[..., :7, :]))
        if own:
            block.__class__ = qkernel._classes["layer:mlx_lm.models.llama"]
    assert mx.array_equal(outs[0][0], outs[1][0]).item() and mx.array_equal(outs[0][1], outs[1][1]).item()


@pytest.mark.parametrize("dtype", [mx.float16, mx.bfloat16])
def test_a_half_x_with_float32_norms_equals_its_own_code(dtype):
    """The first layer's x is a quantised embedding's rows, in its scales' type (float16 for a GGUF)."""
    from mlx_lm.models.cache import KVCache

    model = _tiny(4, 32, seed=7)
    qkernel.install_layers(model)
    block = model.model.layers[0]
    fused = type(block)
    outs = []
    for own in (False, True):
        block.__class__ = fused.__mro__[1] if own else fused
        cache = KVCache()
        block(mx.random.normal((1, 5, 128), key=mx.random.key(1)).astype(dtype), "causal", cache)
        out = block(mx.random.normal((1, 1, 128), key=mx.random.key(2)).astype(dtype), None, cache)
        outs.append((out, cache.keys[..., :6, :], cache.values[..., :6, :]))
    block.__class__ = fused
    assert outs[0][0].dtype == outs[1][0].dtype == mx.float32
    assert all(mx.array_equal(a, b).item() for a, b in zip(*outs))


@pytest.mark.parametrize("call,message", [
    (lambda m, w: m.native_norm_qkv(mx.zeros((1, 1, 128)), mx.ones((128,)), 1e-5, w[:6], 32, 4),
     "takes 3 quantised layers"),
    (lambda m, w: m.native_norm_qkv(mx.zeros((1, 1, 64)), mx.ones((64,)), 1e-5, w[:9], 32, 4),
     "x's last axis does not match"),
    (lambda m, w: m.native_norm_qkv(mx.zeros((1, 1, 128), mx.float16), mx.ones((128,), mx.float16), 1e-5, w[:9],
                                    32, 4), "float32 norm weights"),
    (lambda m, w: m.native_norm_qkv(mx.zeros((1, 1, 128), mx.int32), mx.ones((128,)), 1e-5, w[:9], 32, 4),
     "takes a float32 x"),
    (lambda m, w: m.native_layer_tail(mx.zeros((1, 1, 128)), mx.zeros((1, 1, 128)), mx.zeros((1, 2, 8, 32)),
                                      mx.zeros((1, 2, 8, 32)), mx.ones((128,)), 1e-5, w[9:], 4, 8),
     "offset + rows exceed the cache"),
    (lambda m, w: m.native_layer_tail(mx.zeros((1, 1, 128)), mx.zeros((1, 1, 100)), mx.zeros((1, 2, 8, 32)),
                                      mx.zeros((1, 2, 8, 32)), mx.ones((128,)), 1e-5, w[9:], 4, 0),
     "heads a multiple of Hkv"),
])
def test_bad_input_is_one_line(call, message):
    model = _tiny(4, 32, seed=6)
    block = model.model.layers[0]
    a, p = block.self_attn, block.mlp
    w = _weights(a.q_proj, a.k_proj, a.v_proj, a.o_proj, p.gate_proj, p.up_proj, p.down_proj)
    with pytest.raises(ValueError) as err:
        call(KERNEL.module, w)
    assert message in str(err.value) and "\n" not in str(err.value)


# ----------------------------------------------------------------------------- the real model

@pytest.mark.real_model
def test_a_decode_step_of_the_real_model_is_four_nodes_a_layer(loaded):
    assert {type(layer).__name__ for layer in loaded.model.model.layers} == {"NativeDecoderLayer"}
    nodes = _step_nodes(loaded)
    # the first layer too, whose x is the quantised embedding's float16 rows
    assert nodes["NativeNormQKV"] == 30 and nodes["NativeLayerTail"] == 30 and nodes["NativeCacheWrite"] == 60
    # what is left: the quantised embedding's lookup (MLX's gather and dequantise, ~35 small nodes),
    # the final norm and the tied output product
    assert nodes["NativeRMSNorm"] == 1 and nodes["NativeQMM"] == 1 and nodes["NativeCachedAttention"] == 0
    assert nodes["Add"] <= 1 and nodes["NativeSwiGLU"] == 0
    assert sum(nodes.values()) < 170, nodes.most_common(8)  # 429 with the layers' own code
    with _unfused(loaded, None):
        assert sum(_step_nodes(loaded).values()) > 400


@pytest.mark.real_model
def test_greedy_and_speculative_decoding_equal_the_layers_own_code(loaded):
    assert_decoding_unchanged(loaded, _unfused(loaded, None), PROMPTS[:2])
