"""The kernel's int8 path (x rounded to int8 blocks of 32, integer dot products: qkernel/q8.h), its
native RMS norm (norm.cpp), views of x read without a copy, and what they do to the real model.

The int8 path is exact where x already is int8 blocks (whole numbers with 127 in every block),
and elsewhere within the bound of rounding x: each element moves by at most half a step of its
block (max |x| / 254), so |error| <= sum_k |w_k| * step_k / 2 plus float32 summation.
"""

from __future__ import annotations

import os
import subprocess
import sys

import mlx.core as mx
import mlx.nn as nn
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlxagent.model import qkernel

KERNEL = qkernel.status()
pytestmark = pytest.mark.skipif(not KERNEL.fast, reason=f"the AVX2 int8 path is not in use here: {KERNEL.line}")
DTYPES = [mx.float32, mx.float16, mx.bfloat16]


@pytest.fixture(autouse=True)
def _int8():
    """The int8 path is opt-in (MLXAGENT_KERNEL_INT8=1); each test here switches it on."""
    shipped = KERNEL.module.activations()
    assert KERNEL.module.set_activations("int8") == "int8"
    yield
    KERNEL.module.set_activations(shipped)


@pytest.mark.parametrize("value, want", [(None, "float"), ("1", "int8"), ("0", "float"), ("yes", "float")])
def test_int8_activations_are_opt_in(value, want):
    env = {k: v for k, v in os.environ.items() if k != "MLXAGENT_KERNEL_INT8"}
    if value is not None:
        env["MLXAGENT_KERNEL_INT8"] = value
    code = "from mlxagent.model import qkernel; print(qkernel.status().line)"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert f", {want} activations," in run.stdout


def _weights(N, K, gs, bits, sdtype=mx.float32, seed=0):
    w = mx.random.normal((N, K), key=mx.random.key(seed))
    wq, s, b = mx.quantize(w, group_size=gs, bits=bits)
    return wq, s.astype(sdtype), b.astype(sdtype)


def _int8_blocks(M, K, seed):
    """Whole numbers in [-127, 127] with 127 first in every block of 32: int8 blocks exactly."""
    x = mx.random.randint(-127, 128, (M, K), key=mx.random.key(seed)).astype(mx.float32)
    return mx.where(mx.arange(K) % 32 == 0, 127.0, x)


def _dense(wq, s, b, gs, bits):
    return mx.dequantize(wq, s.astype(mx.float32), b.astype(mx.float32), group_size=gs, bits=bits)


@pytest.mark.parametrize("bits", [4, 8])
@pytest.mark.parametrize("gs", [32, 64, 128])
@pytest.mark.parametrize("M", [1, 3, 4, 5, 8, 16])
def test_int8_blocks_give_the_exact_product(bits, gs, M):
    wq, s, b = _weights(37, 256, gs, bits, seed=M + gs + bits)
    x = _int8_blocks(M, 256, seed=M)
    got = KERNEL.module.native_qmm(x, wq, s, b, gs, bits)
    ref = x @ _dense(wq, s, b, gs, bits).T
    mag = mx.abs(x) @ mx.abs(_dense(wq, s, b, gs, bits)).T
    assert mx.all(mx.abs(got - ref) <= 1e-5 * mag + 1e-4).item()


def _rounding_bound(x, dense):
    """sum_k |w_k| * (max |x| of k's block / 254): the most that rounding x to int8 can move y."""
    xf = x.astype(mx.float32)
    M, K = xf.shape
    amax = mx.max(mx.abs(xf.reshape(M, K // 32, 32)), axis=-1, keepdims=True)
    half_step = mx.broadcast_to(amax / 254.0, (M, K // 32, 32)).reshape(M, K)
    return half_step @ mx.abs(dense).T


@settings(max_examples=40, deadline=None)
@given(M=st.integers(1, 16), N=st.integers(1, 60), groups=st.integers(1, 4),
       gs=st.sampled_from([32, 64, 128]), bits=st.sampled_from([4, 8]),
       sdtype=st.sampled_from(DTYPES), seed=st.integers(0, 2 ** 16))
def test_random_x_is_within_the_rounding_bound(M, N, groups, gs, bits, sdtype, seed):
    K = groups * gs
    wq, s, b = _weights(N, K, gs, bits, sdtype, seed)
    x = mx.random.normal((M, K), key=mx.random.key(seed + 1)) * mx.random.uniform(
        0.01, 30.0, (M, 1), key=mx.random.key(seed + 2))
    dense = _dense(wq, s, b, gs, bits)
    got = KERNEL.module.native_qmm(x, wq, s, b, gs, bits)
    ref = x @ dense.T
    scaled = dense - mx.repeat(b.astype(mx.float32), gs, axis=1)  # s * q
    bound = _rounding_bound(x, dense) * 1.0001 + 2e-5 * (mx.abs(x) @ (mx.abs(dense) + mx.abs(scaled)).T) + 1e-5
    err = mx.abs(got.astype(mx.float32) - ref)
    assert mx.all(err <= bound).item(), f"max error {mx.max(err).item()} (bound {mx.max(bound).item()})"


@pytest.mark.parametrize("bits", [4, 8])
@pytest.mark.parametrize("gs", [32, 64])
def test_the_product_is_rounded_x_times_the_weights_as_prefill_computes_it(bits, gs):
    """Prefill chunks multiply round_to_int8_blocks(x) by the dequantised weights through
    OpenBLAS; the kernel computes the same product (bias term included) up to summation order."""
    wq, s, b = _weights(70, 384, gs, bits, mx.float16, seed=bits + gs)
    x = mx.random.normal((9, 384), key=mx.random.key(4)) * 5
    got = KERNEL.module.native_qmm(x, wq, s, b, gs, bits)
    xr = qkernel.round_to_int8_blocks(x)
    dense = KERNEL.module.native_dequantize(wq, s, b, gs, bits)
    mag = mx.abs(xr) @ mx.abs(dense).T
    assert mx.all(mx.abs(got - xr @ dense.T) <= 1e-5 * mag + 1e-6).item()
    assert not mx.array_equal(xr, x).item()
    assert mx.array_equal(qkernel.round_to_int8_blocks(xr), xr).item()  # rounding twice changes nothing


def test_the_float_path_is_still_there_and_differs():
    wq, s, b = _weights(40, 128, 32, 4)
    x = mx.random.normal((2, 128), key=mx.random.key(3))
    rounded = KERNEL.module.native_qmm(x, wq, s, b, 32, 4)
    mx.eval(rounded)  # the switch is read when a product is computed, not when it is written
    assert KERNEL.module.set_activations("float") == "float"
    exact = KERNEL.module.native_qmm(x, wq, s, b, 32, 4)
    assert mx.allclose(exact, x @ _dense(wq, s, b, 32, 4).T, rtol=1e-5, atol=1e-5).item()
    assert not mx.array_equal(exact, rounded).item()
    assert KERNEL.module.set_activations("int8") == "int8"


def test_a_bad_activation_name_is_one_line():
    with pytest.raises(ValueError) as info:
        KERNEL.module.set_activations("int4")
    assert str(info.value) == 'activations are "int8" or "float"'
    assert KERNEL.module.activations() == "int8"


@pytest.mark.parametrize("bits", [4, 8])
def test_each_row_is_independent_of_the_others_bitwise(bits):
    """Speculative verification (several rows) gives what decoding (one row) gives."""
    wq, s, b = _weights(50, 256, 32, bits, mx.float16, seed=9)
    x = mx.random.normal((16, 256), key=mx.random.key(10))
    together = KERNEL.module.native_qmm(x, wq, s, b, 32, bits)
    for i in range(16):
        assert mx.array_equal(together[i:i + 1], KERNEL.module.native_qmm(x[i:i + 1], wq, s, b, 32, bits)).item(), i


@pytest.mark.parametrize("how", ["int8", "float"])
def test_views_of_x_are_read_as_they_are(how):
    KERNEL.module.set_activations(how)
    wq, s, b = _weights(20, 256, 64, 4, seed=5)
    views = [mx.random.normal((256, 6), key=mx.random.key(6)).T,
             mx.random.normal((12, 256), key=mx.random.key(7))[::2],
             mx.broadcast_to(mx.random.normal((1, 256), key=mx.random.key(8)), (4, 256)),
             mx.random.normal((2, 256, 3), key=mx.random.key(9)).transpose(0, 2, 1)]
    for x in views:
        assert not x.flags.row_contiguous if hasattr(x, "flags") else True
        got = KERNEL.module.native_qmm(x, wq, s, b, 64, 4)
        copy = KERNEL.module.native_qmm(mx.array(np.array(x)), wq, s, b, 64, 4)
        assert got.shape == copy.shape and mx.array_equal(got, copy).item()


# ----------------------------------------------------------------------------- RMS norm

def _mlx_rms_norm(x, w, eps):
    """MLX's own composition on the CPU (what mx.fast.rms_norm runs there)."""
    xf = x.astype(mx.float32)
    y = (xf * mx.rsqrt(mx.mean(mx.square(xf), axis=-1, keepdims=True) + eps)).astype(x.dtype)
    return w * y


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("shape", [(1, 576), (3, 5, 64), (7, 1536), (2, 1, 1, 96)])
def test_rms_norm_equals_mlx(dtype, shape):
    x = (mx.random.normal(shape, key=mx.random.key(1)) * 3).astype(dtype)
    w = mx.random.normal((shape[-1],), key=mx.random.key(2)).astype(dtype)
    got = KERNEL.module.native_rms_norm(x, w, 1e-5)
    want = mx.fast.rms_norm(x, w, 1e-5)
    assert got.dtype == want.dtype == dtype and got.shape == want.shape
    tol = {mx.float32: 1e-5, mx.float16: 2e-3, mx.bfloat16: 1.6e-2}[dtype]
    assert mx.allclose(got.astype(mx.float32), want.astype(mx.float32), rtol=tol, atol=tol).item()
    assert mx.allclose(got.astype(mx.float32), _mlx_rms_norm(x, w, 1e-5).astype(mx.float32),
                       rtol=tol, atol=tol).item()


@pytest.mark.parametrize("dtype", [mx.float16, mx.bfloat16], ids=str)
def test_rms_norm_of_half_x_with_a_float32_weight_is_float32_as_mlxs(dtype):
    x = (mx.random.normal((3, 576), key=mx.random.key(1)) * 3).astype(dtype)
    w = mx.random.normal((576,), key=mx.random.key(2))
    got = KERNEL.module.native_rms_norm(x, w, 1e-5)
    want = mx.fast.rms_norm(x, w, 1e-5)
    assert got.dtype == want.dtype == mx.float32
    assert mx.allclose(got, want, rtol=1e-5, atol=1e-5).item()


def test_rms_norm_of_a_view_and_a_zero_row():
    w = mx.random.normal((64,), key=mx.random.key(3))
    x = mx.random.normal((64, 4), key=mx.random.key(4)).T  # a transposed view
    assert mx.allclose(KERNEL.module.native_rms_norm(x, w, 1e-6), mx.fast.rms_norm(x, w, 1e-6), atol=1e-5).item()
    zero = KERNEL.module.native_rms_norm(mx.zeros((2, 64)), w, 1e-6)
    assert mx.array_equal(zero, mx.zeros((2, 64))).item()


def test_rms_norm_gradients_equal_mlxs():
    x = mx.random.normal((3, 64), key=mx.random.key(5))
    w = mx.random.normal((64,), key=mx.random.key(6))
    cot = mx.random.normal((3, 64), key=mx.random.key(7))

    def ours(x, w):
        return mx.sum(KERNEL.module.native_rms_norm(x, w, 1e-5) * cot)

    def theirs(x, w):
        return mx.sum(mx.fast.rms_norm(x, w, 1e-5) * cot)

    for a, b in zip(mx.grad(ours, argnums=(0, 1))(x, w), mx.grad(theirs, argnums=(0, 1))(x, w)):
        assert mx.allclose(a, b, rtol=1e-5, atol=1e-5).item()
    _, jv = mx.jvp(lambda x: KERNEL.module.native_rms_norm(x, w, 1e-5), [x], [cot])
    _, jw = mx.jvp(lambda x: mx.fast.rms_norm(x, w, 1e-5), [x], [cot])
    assert mx.allclose(jv[0], jw[0], rtol=1e-5, atol=1e-5).item()


@pytest.mark.parametrize("bad,message", [
    (dict(w=(3,)), "[native_rms_norm] the weight must be 1-D, as long as x's last axis"),
    (dict(w=(2, 64)), "[native_rms_norm] the weight must be 1-D, as long as x's last axis"),
    (dict(dtype=mx.int32), "[native_rms_norm] x and the weight must be float32, float16 or bfloat16"),
])
def test_rms_norm_bad_input_is_one_line(bad, message):
    x = mx.ones((2, 64), dtype=bad.get("dtype", mx.float32))
    with pytest.raises(ValueError) as info:
        KERNEL.module.native_rms_norm(x, mx.ones(bad.get("w", (64,))), 1e-5)
    assert str(info.value) == message


def test_a_model_norm_is_swapped_and_computes_the_same():
    norm = nn.RMSNorm(64, eps=1e-5)
    norm.weight = mx.random.normal((64,), key=mx.random.key(8))
    x = mx.random.normal((2, 3, 64), key=mx.random.key(9))
    want = norm(x)
    holder = nn.Sequential(norm)
    qkernel.install_attention(holder)
    assert type(norm).__name__ == "NativeRMSNorm"
    assert mx.allclose(norm(x), want, rtol=1e-5, atol=1e-5).item()


# ----------------------------------------------------------------------------- the real model

@pytest.fixture(scope="module")
def native_model(real_model_dir):
    from mlxagent.model.runtime import load_model_dir

    return load_model_dir(real_model_dir, "smollm2-135m")


PROMPTS = ["What is the capital of France?", "Write a Python function that reverses a string.",
           "List three colours of the rainbow."]


@pytest.mark.real_model
def test_greedy_text_with_int8_activations_differs_only_at_near_ties(native_model):
    """Rounding x to int8 moves the logits a little; greedy tokens may part from the float path's
    only where the two best logits were within that movement (measured: the texts part at a step
    where the two best logits were less than 0.15 apart, on one to three of the three prompts)."""
    from mlx_lm.models.cache import make_prompt_cache

    def greedy(text):
        tok = native_model.tokenizer
        ids = tok.apply_chat_template([{"role": "user", "content": text}], add_generation_prompt=True)
        cache = make_prompt_cache(native_model.model)
        logits = native_model.model(mx.array([ids]), cache=cache)[0, -1]
        out, gaps = [], []
        for _ in range(24):
            top2 = mx.sort(logits)[-2:]
            gaps.append((top2[1] - top2[0]).item())
            out.append(int(mx.argmax(logits).item()))
            logits = native_model.model(mx.array([[out[-1]]]), cache=cache)[0, -1]
        return out, gaps

    for text in PROMPTS:
        KERNEL.module.set_activations("float")
        exact, gaps = greedy(text)
        KERNEL.module.set_activations("int8")
        rounded, _ = greedy(text)
        if rounded == exact:
            continue
        first = next(i for i, (a, b) in enumerate(zip(rounded, exact)) if a != b)
        print(f"{text!r}: parts at token {first}, gap {gaps[first]:.3f}")
        assert gaps[first] < 0.25, (text, first, gaps[first])
