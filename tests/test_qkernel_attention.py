"""The native rope and decode attention (mlxagent/model/qkernel/attention.cpp) against MLX's own
mx.fast ops, their gradients, and their use in a loaded model: greedy decoding with every native
op equals a process that runs none of them (MLXAGENT_NATIVE_KERNEL=0)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import mlx.core as mx
import pytest

from mlxagent.model import qkernel

KERNEL = qkernel.status()


pytestmark = pytest.mark.skipif(not KERNEL.available, reason=f"native kernel: {KERNEL.line}")
TOL = {mx.float32: 2e-5, mx.float16: 4e-3, mx.bfloat16: 3e-2}


def _qkv(B, Hq, Hkv, L, T, D, Dv, dtype, seed=0, spare=0):
    keys = mx.random.split(mx.random.key(seed), 3)
    q = mx.random.normal((B, Hq, L, D), key=keys[0]).astype(dtype)
    # k and v as a KV cache hands them: views of the first T rows of a larger buffer
    k = mx.random.normal((B, Hkv, T + spare, D), key=keys[1]).astype(dtype)[:, :, :T, :]
    v = mx.random.normal((B, Hkv, T + spare, Dv), key=keys[2]).astype(dtype)[:, :, :T, :]
    return q, k, v


@pytest.mark.parametrize("dtype", [mx.float32, mx.float16, mx.bfloat16])
@pytest.mark.parametrize("shape", [
    (1, 9, 3, 1, 400, 64, 64),   # SmolLM2's decode step
    (1, 9, 3, 7, 40, 64, 64),    # a speculative verification
    (2, 4, 4, 3, 3, 32, 32),     # batch 2, no grouping, as many keys as queries
    (1, 8, 2, 16, 100, 64, 64),  # 16 rows
    (1, 6, 3, 2, 9, 12, 20),     # head sizes not a multiple of 8 (the scalar loop)
])
@pytest.mark.parametrize("causal", [False, True])
def test_attention_equals_mlx(dtype, shape, causal):
    q, k, v = _qkv(*shape, dtype, spare=17)
    want = mx.fast.scaled_dot_product_attention(q, k, v, scale=0.125, mask="causal" if causal else None)
    got = KERNEL.module.native_attention(q, k, v, 0.125, causal)
    assert got.shape == want.shape and got.dtype == want.dtype
    err = mx.max(mx.abs(got.astype(mx.float32) - want.astype(mx.float32))).item()
    assert err <= TOL[dtype], err


def test_causal_rows_see_only_keys_up_to_their_own_position():
    q, k, v = _qkv(1, 2, 1, 4, 6, 8, 8, mx.float32)
    got = KERNEL.module.native_attention(q, k, v, 0.3, True)
    # the last query row sees every key; the first sees the first three only (6 - 4 + 0)
    first = KERNEL.module.native_attention(q[:, :, :1], k[:, :, :3], v[:, :, :3], 0.3, False)
    assert mx.allclose(got[:, :, :1], first, atol=1e-6).item()
    assert not mx.allclose(got[:, :, :1], KERNEL.module.native_attention(q[:, :, :1], k, v, 0.3, False),
                           atol=1e-3).item()


def test_attention_gradients_equal_mlx():
    q, k, v = _qkv(1, 4, 2, 3, 10, 16, 16, mx.float32)

    def loss(fn):
        return lambda q, k, v: mx.sum(fn(q, k, v) * mx.arange(16))

    native = mx.grad(loss(lambda q, k, v: KERNEL.module.native_attention(q, k, v, 0.25, True)), argnums=(0, 1, 2))
    mlx = mx.grad(loss(lambda q, k, v: mx.fast.scaled_dot_product_attention(q, k, v, scale=0.25, mask="causal")),
                  argnums=(0, 1, 2))
    for a, b in zip(native(q, k, v), mlx(q, k, v)):
        assert mx.allclose(a, b, atol=1e-4, rtol=1e-4).item()


@pytest.mark.parametrize("dtype", [mx.float32, mx.float16, mx.bfloat16])
@pytest.mark.parametrize("traditional", [False, True])
@pytest.mark.parametrize("dims,offset,base,scale", [(64, 0, 10000.0, 1.0), (64, 417, 100000.0, 1.0),
                                                    (32, 5, 10000.0, 0.5), (16, 4000, 500000.0, 1.0)])
def test_rope_equals_mlx(dtype, traditional, dims, offset, base, scale):
    x = mx.random.normal((2, 9, 5, 64), key=mx.random.key(3)).astype(dtype)
    want = mx.fast.rope(x, dims, traditional=traditional, base=base, scale=scale, offset=offset)
    got = KERNEL.module.native_rope(x, dims, traditional, base, scale, offset)
    assert got.dtype == want.dtype
    err = mx.max(mx.abs(got.astype(mx.float32) - want.astype(mx.float32))).item()
    # an angle of position p rounds to p * 2^-24 in float32, and MLX's exp, cos and sin are its own
    # approximations: the bound grows with the position
    assert err <= TOL[dtype] * (1 + offset / 100), err
    assert mx.array_equal(got[..., dims:], x[..., dims:]).item()


def test_rope_gradients_equal_mlx():
    x = mx.random.normal((1, 4, 6, 64), key=mx.random.key(4))
    weights = mx.random.normal((1, 4, 6, 64), key=mx.random.key(5))

    def grad(fn):
        return mx.grad(lambda x: mx.sum(fn(x) * weights))(x)

    native = grad(lambda x: KERNEL.module.native_rope(x, 32, False, 10000.0, 1.0, 7))
    mlx = grad(lambda x: mx.fast.rope(x, 32, traditional=False, base=10000.0, scale=1.0, offset=7))
    assert mx.allclose(native, mlx, atol=1e-5).item()
    _, tangent = mx.jvp(lambda x: KERNEL.module.native_rope(x, 32, False, 10000.0, 1.0, 7), [x], [weights])
    assert mx.allclose(tangent[0], mx.fast.rope(weights, 32, traditional=False, base=10000.0, scale=1.0, offset=7),
                       atol=1e-5).item()


@pytest.mark.parametrize("call,message", [
    (lambda m: m.native_attention(mx.zeros((1, 5, 1, 8)), mx.zeros((1, 2, 4, 8)), mx.zeros((1, 2, 4, 8)), 1.0),
     "[native_attention] q (B, Hq, L, D), k (B, Hkv, T, D), v (B, Hkv, T, Dv), Hq a multiple of Hkv"),
    (lambda m: m.native_attention(mx.zeros((1, 2, 5, 8)), mx.zeros((1, 2, 4, 8)), mx.zeros((1, 2, 4, 8)), 1.0, True),
     "[native_attention] causal needs at least as many keys as queries"),
    (lambda m: m.native_rope(mx.zeros((1, 2, 3, 8)), 7, False, 10000.0, 1.0, 0),
     "[native_rope] dims must be even and at most the last axis"),
])
def test_bad_input_is_one_line(call, message):
    with pytest.raises(ValueError) as info:
        call(KERNEL.module)
    assert str(info.value) == message


def test_the_model_routes_rope_and_attention_and_falls_back_elsewhere(real_model):
    import mlx.nn as nn

    model = real_model.model
    ropes = [layer for _, layer in model.named_modules() if isinstance(layer, nn.RoPE)]
    assert ropes and all(getattr(layer, "native_kernel", False) for layer in ropes)
    arch = sys.modules[type(model).__module__]
    sdpa = arch.scaled_dot_product_attention
    assert getattr(sdpa, "native_kernel", False)
    assert qkernel.install_attention(model) == 0  # already routed: nothing swapped twice
    assert arch.scaled_dot_product_attention is sdpa  # and the helper is wrapped once
    q, k, v = _qkv(1, 9, 3, 2, 30, 64, 64, mx.float32)
    mask = mx.array([[True] * 29 + [False], [True] * 30])  # an array mask: MLX's own op
    want = sdpa.original(q, k, v, cache=None, scale=0.125, mask=mask)
    assert mx.allclose(sdpa(q, k, v, cache=None, scale=0.125, mask=mask), want).item()
    long_q = mx.random.normal((1, 9, 40, 64))  # a prefill chunk: the native op, close to MLX's
    long_k, long_v = mx.random.normal((1, 3, 40, 64)), mx.random.normal((1, 3, 40, 64))
    native = sdpa(long_q, long_k, long_v, cache=None, scale=0.125, mask="causal")
    assert mx.array_equal(native, KERNEL.module.native_attention(long_q, long_k, long_v, 0.125, True)).item()
    assert mx.allclose(native, sdpa.original(long_q, long_k, long_v, cache=None, scale=0.125, mask="causal"),
                       atol=1e-5).item()
    # past PREFILL_ATTENTION_ROWS query rows: MLX's own op
    huge_q = mx.random.normal((1, 9, qkernel.PREFILL_ATTENTION_ROWS + 1, 64))
    huge_k, huge_v = (mx.random.normal((1, 3, qkernel.PREFILL_ATTENTION_ROWS + 1, 64)) for _ in range(2))
    assert mx.array_equal(sdpa(huge_q, huge_k, huge_v, cache=None, scale=0.125, mask="causal"),
                          sdpa.original(huge_q, huge_k, huge_v, cache=None, scale=0.125, mask="causal")).item()


PROMPTS = ["Write a Python function that reverses a string.",
           "What does git rebase do? Answer in two sentences.",
           "List three uses of a hash map."]

_GREEDY = r"""
import json, sys
from mlxagent.model import default_model
from mlxagent.model.kv_cache import ChatSession
from mlxagent.model.runtime import load_model_dir
loaded = load_model_dir(default_model.ensure(), "m")
out = {"native_layers": loaded.native_layers, "dequantized": loaded.dequantized, "texts": []}
for p in json.loads(sys.argv[1]):
    prompt = loaded.tokenizer.apply_chat_template([{"role": "user", "content": p}], add_generation_prompt=True,
                                                  tokenize=False)
    out["texts"].append("".join(c.text for c in ChatSession(loaded, reuse=False, speculative=False)
                                .generate(prompt, max_tokens=32)))
print(json.dumps(out))
"""


@pytest.mark.real_model
def test_greedy_decoding_with_every_native_op_equals_a_process_without_any():
    def run(env):
        proc = subprocess.run([sys.executable, "-c", _GREEDY, json.dumps(PROMPTS)], capture_output=True, text=True,
                              timeout=600, env={**os.environ, **env})
        assert proc.returncode == 0, proc.stderr[-2000:]
        return json.loads(proc.stdout.strip().splitlines()[-1])

    # The products' float path (as it ships): this compares the other native ops (rope, attention,
    # norm) with MLX's; the opt-in int8 products' own effect on greedy text is in test_qkernel_int8.py.
    native = run({"MLXAGENT_KERNEL_INT8": "0"})
    plain = run({"MLXAGENT_NATIVE_KERNEL": "0"})
    assert native["native_layers"] > 0 and not native["dequantized"]
    assert plain["native_layers"] == 0 and plain["dequantized"]
    for prompt, a, b in zip(PROMPTS, native["texts"], plain["texts"]):
        assert a == b, (prompt, a, b)


# ----------------------------------------------------------------------------- the prefill path

@pytest.mark.parametrize("bits", [4, 8])
@pytest.mark.parametrize("gs", [32, 64, 128])
@pytest.mark.parametrize("sdtype", [mx.float32, mx.float16, mx.bfloat16])
def test_dequantize_equals_mlx_in_float32(bits, gs, sdtype):
    w = mx.random.normal((70, 384), key=mx.random.key(5))
    wq, s, b = mx.quantize(w, group_size=gs, bits=bits)
    s, b = s.astype(sdtype), b.astype(sdtype)
    got = KERNEL.module.native_dequantize(wq, s, b, gs, bits)
    want = mx.dequantize(wq, s.astype(mx.float32), b.astype(mx.float32), group_size=gs, bits=bits)
    assert got.dtype == mx.float32 and got.shape == (70, 384)
    assert mx.allclose(got, want, atol=1e-6, rtol=1e-6).item()


def test_a_prefill_chunk_goes_through_float32_and_a_decode_row_through_the_kernel(real_model, exact_products):
    layer = real_model.model.model.layers[3].mlp.down_proj
    assert getattr(layer, "native_kernel", False)
    k = layer["scales"].shape[1] * layer.group_size
    module = KERNEL.module
    dense = mx.dequantize(layer["weight"], layer["scales"].astype(mx.float32), layer["biases"].astype(mx.float32),
                          group_size=layer.group_size, bits=layer.bits)
    for rows in (1, qkernel.PREFILL_ROWS, qkernel.PREFILL_ROWS + 1, 256):
        x = mx.random.normal((1, rows, k), key=mx.random.key(rows))
        got = layer(x)
        assert mx.allclose(got, x @ dense.T, atol=1e-4, rtol=1e-4).item(), rows
        quantised = module.native_qmm(x, layer["weight"], layer["scales"], layer["biases"], layer.group_size,
                                      layer.bits)
        # up to PREFILL_ROWS rows the layer is exactly the quantised kernel; above, the float32 product
        if rows <= qkernel.PREFILL_ROWS:
            assert mx.array_equal(got, quantised).item(), rows
