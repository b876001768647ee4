"""A SwiGLU MLP's gate and up products and activation as one native node (qkernel/mlp.cpp):
bit-equal to MLX's compiled swiglu of the two native products, close to MLX's own quantised
matmul, bad input in one line; on the real model, the MLPs swapped, prefill chunks and adapters
left to mlx-lm's code, and greedy and speculative decoding equal to the unfused layers."""

from __future__ import annotations

import mlx.core as mx
import mlx.nn as nn
import pytest

from mlxagent.model import qkernel

from test_qkernel_fused import _unfused, loaded  # noqa: F401 - the real model, loaded once a module

KERNEL = qkernel.status()
pytestmark = pytest.mark.skipif(not KERNEL.available, reason=f"native kernel: {KERNEL.line}")


def _layers(N, K, bits, gs, dtype=mx.float32, seed=0):
    key = mx.random.key(seed)
    kg, ku = mx.random.split(key)
    gate = mx.quantize(mx.random.normal((N, K), key=kg).astype(dtype), group_size=gs, bits=bits)
    up = mx.quantize(mx.random.normal((N, K), key=ku).astype(dtype), group_size=gs, bits=bits)
    return gate, up


@pytest.mark.parametrize("bits,gs", [(4, 32), (4, 64), (8, 32), (8, 64)])
@pytest.mark.parametrize("shape", [(1, 1, 576), (1, 3, 576), (2, 16, 192), (1, 20, 576), (5, 64)])
def test_equals_mlx_swiglu_of_the_native_products_bit_for_bit(bits, gs, shape):
    from mlx_lm.models.activations import swiglu

    K = shape[-1]
    gate, up = _layers(96, K, bits, gs)
    x = mx.random.normal(shape, key=mx.random.key(3))
    m = KERNEL.module
    want = swiglu(m.native_qmm(x, *gate, gs, bits), m.native_qmm(x, *up, gs, bits))
    got = m.native_swiglu(x, *gate, *up, gs, bits)
    assert got.shape == (*shape[:-1], 96) and got.dtype == mx.float32
    assert mx.array_equal(got, want).item()
    # and close to MLX's own quantised matmul, silu and product
    ref = nn.silu(mx.quantized_matmul(x, *gate, True, gs, bits)) * mx.quantized_matmul(x, *up, True, gs, bits)
    assert mx.allclose(got, ref, rtol=1e-4, atol=1e-3).item()


@pytest.mark.parametrize("dtype", [mx.float16, mx.bfloat16])
def test_half_precision_rounds_as_mlx_does(dtype):
    from mlx_lm.models.activations import swiglu

    gate, up = _layers(64, 128, 4, 32, dtype=dtype)
    x = mx.random.normal((1, 2, 128), key=mx.random.key(4)).astype(dtype)
    m = KERNEL.module
    got = m.native_swiglu(x, *gate, *up, 32, 4)
    assert got.dtype == dtype
    want = swiglu(m.native_qmm(x, *gate, 32, 4), m.native_qmm(x, *up, 32, 4)).astype(mx.float32)
    scale = mx.max(mx.abs(want)).item()
    assert mx.max(mx.abs(got.astype(mx.float32) - want)).item() <= 2e-3 * scale  # a half ulp or so


def test_the_activation_at_the_edges_is_mlxs():
    """Large and small gate values (MLX's exp saturates past ±88), zeros and NaN as MLX gives them."""
    from mlx_lm.models.activations import swiglu

    K = 32
    gate_w = mx.zeros((4, K))
    gate_w[:, 0] = mx.array([1.0, -1.0, 0.0, 1.0])
    gate, up = mx.quantize(gate_w, group_size=32, bits=8), mx.quantize(mx.ones((4, K)), group_size=32, bits=8)
    for scale in (0.0, 1e-3, 5.0, 90.0, 200.0, float("nan")):
        x = mx.zeros((1, K))
        x[0, 0] = scale
        m = KERNEL.module
        want = swiglu(m.native_qmm(x, *gate, 32, 8), m.native_qmm(x, *up, 32, 8))
        got = m.native_swiglu(x, *gate, *up, 32, 8)
        assert mx.array_equal(got, want, equal_nan=True).item(), (scale, got, want)


@pytest.mark.parametrize("call, message", [
    (lambda m, g, u: m.native_swiglu(mx.zeros((1, 100)), *g, *u, 32, 4), "[native_swiglu] x's last axis does not "
                                                                          "match the weights"),
    (lambda m, g, u: m.native_swiglu(mx.zeros((1, 64)), *g, *_layers(32, 64, 4, 32)[1], 32, 4),
     "[native_swiglu] the gate and up layers differ in shape or scale type"),
    (lambda m, g, u: m.native_swiglu(mx.zeros((1, 64)), *g, *u, 32, 3), "[native_swiglu] bits must be 4 or 8"),
])
def test_bad_input_is_one_line(call, message):
    gate, up = _layers(16, 64, 4, 32)
    with pytest.raises(ValueError) as info:
        call(KERNEL.module, gate, up)
    assert str(info.value) == message


# ----------------------------------------------------------------------------- the real model

def _on_mlx_lm(loaded):
    """The MLPs back on mlx-lm's own code (the native products stay)."""
    return _unfused(loaded, "mlp", "NativeSwiGLUMLP")


@pytest.mark.real_model
def test_the_real_models_mlps_run_fused_and_give_the_same_logits(loaded):
    layers = loaded.model.model.layers
    assert {type(layer.mlp).__name__ for layer in layers} == {"NativeSwiGLUMLP"}
    mlp = layers[3].mlp
    x = mx.random.normal((1, 1, mlp.gate_proj["weight"].shape[1] * 32 // mlp.gate_proj.bits), key=mx.random.key(5))
    fused_out = mlp(x)
    with _on_mlx_lm(loaded):
        plain_out = mlp(x)
    assert mx.array_equal(fused_out, plain_out).item()
    # a prefill chunk (over 16 rows) runs mlx-lm's code, the same two products and swiglu
    long = mx.random.normal((1, 40, x.shape[-1]), key=mx.random.key(6))
    with _on_mlx_lm(loaded):
        want = mlp(long)
    assert mx.array_equal(mlp(long), want).item()


@pytest.mark.real_model
def test_greedy_and_speculative_decoding_equal_the_unfused_mlp(loaded):
    from mlxagent.model.kv_cache import ChatSession

    def text(prompt, speculative):
        p = loaded.tokenizer.apply_chat_template([{"role": "user", "content": prompt}], add_generation_prompt=True,
                                                 tokenize=False)
        session = ChatSession(loaded, speculative=speculative)
        return "".join(c.text for c in session.generate(p, max_tokens=40))

    prompts = ["What is the capital of France?", "Repeat this code exactly:\n\ndef add(a, b):\n    return a + b\n"]
    fused = [(text(p, False), text(p, True)) for p in prompts]
    with _on_mlx_lm(loaded):
        plain = [text(p, False) for p in prompts]
    assert [f[0] for f in fused] == plain
    assert [f[1] for f in fused] == plain
    assert "Paris" in plain[0]


def test_an_adapter_on_the_gate_leaves_the_mlp_to_mlx_lm():
    """A LoRA layer in place of gate_proj (training on a quantised base): not fusable, mlx-lm's code runs."""
    from mlx_lm.models.llama import MLP, ModelArgs

    args = ModelArgs(model_type="llama", hidden_size=64, num_hidden_layers=1, intermediate_size=96,
                     num_attention_heads=2, rms_norm_eps=1e-5, vocab_size=32, num_key_value_heads=2)
    mlp = MLP(args)
    nn.quantize(mlp, group_size=32, bits=4)
    model = nn.Module()
    model.mlp = mlp
    assert qkernel.install(model) == 3 and qkernel.install_mlp(model) == 1
    x = mx.random.normal((1, 1, 64), key=mx.random.key(7))
    fused = mlp(x)
    mlp.gate_proj = nn.Linear(64, 96, bias=False)  # stands in for an adapter: not on the kernel
    assert not qkernel._fusable(mlp)
    out = mlp(x)  # runs mlx-lm's MLP, no error
    assert out.shape == fused.shape
