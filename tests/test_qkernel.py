"""The native 4/8-bit quantised matmul (mlxagent/model/qkernel) against MLX's own ops.

Products on random shapes against a float32 reference and mx.quantized_matmul; the portable loop
and the thread count in subprocesses; the real SmolLM2 model's layers, greedy decoding and
speculative decoding on the kernel; gradients through the primitive; the fallbacks and the refusal
of bad input.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import mlx.core as mx
import mlx.nn as nn
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlxagent.model import qkernel

KERNEL = qkernel.status()
pytestmark = pytest.mark.skipif(not KERNEL.available, reason=f"native kernel: {KERNEL.line}")
REPO = Path(__file__).resolve().parent.parent

# The relative size of one rounding of the output, by dtype.
ULP = {mx.float32: 2.0 ** -23, mx.float16: 2.0 ** -10, mx.bfloat16: 2.0 ** -7}


@pytest.fixture(autouse=True)
def _activations(request):
    """The products here are checked on the kernel's float path, whatever MLXAGENT_KERNEL_INT8 says
    (the int8 path is checked in test_qkernel_int8.py); tests that take `default_activations` run
    the product as this process has it."""
    if "default_activations" in request.fixturenames:
        yield
    else:
        yield request.getfixturevalue("exact_products")


@pytest.fixture
def default_activations():
    return KERNEL.module.activations()


def _qmm(x, wq, s, b, gs, bits):
    return KERNEL.module.native_qmm(x, wq, s, b, gs, bits)


def _case(M, N, K, gs, bits, xdtype=mx.float32, sdtype=mx.float32, seed=0, batch=()):
    k1, k2 = mx.random.split(mx.random.key(seed))
    w = mx.random.normal((N, K), key=k1)
    wq, s, b = mx.quantize(w, group_size=gs, bits=bits)
    x = mx.random.normal((*batch, M, K), key=k2).astype(xdtype)
    return x, wq, s.astype(sdtype), b.astype(sdtype)


def _check(x, wq, s, b, gs, bits):
    """The kernel's product against (1) x @ dequantize(W).T in float32 within the summation error
    of float32 and one rounding of the output, (2) mx.quantized_matmul within MLX's own error
    (MLX accumulates a float16/bfloat16 product in that type)."""
    got = _qmm(x, wq, s, b, gs, bits)
    want_shape = (*x.shape[:-1], wq.shape[0])
    out_dtype = (mx.zeros((1,), dtype=x.dtype) + mx.zeros((1,), dtype=s.dtype)).dtype  # MLX's promotion
    assert got.shape == want_shape and got.dtype == out_dtype
    dense = mx.dequantize(wq, s.astype(mx.float32), b.astype(mx.float32), group_size=gs, bits=bits)
    xf = x.astype(mx.float32)
    ref = xf @ dense.T
    mag = mx.abs(xf) @ mx.abs(dense).T  # bounds every partial sum
    bound = 1e-5 * mag + ULP[out_dtype] * mx.abs(ref) + 1e-6
    err = mx.abs(got.astype(mx.float32) - ref)
    assert mx.all(err <= bound).item(), f"max error {mx.max(err).item()} (bound {mx.max(bound).item()})"
    mlx = mx.quantized_matmul(x, wq, s, b, transpose=True, group_size=gs, bits=bits)
    lower = max(ULP[x.dtype], ULP[s.dtype]) if mlx.dtype != mx.float32 else 2.0 ** -23
    mlx_bound = 2e-5 * mag + 4 * lower * mag + ULP[x.dtype] * mx.abs(ref) + 1e-6
    diff = mx.abs(got.astype(mx.float32) - mlx.astype(mx.float32))
    assert mx.all(diff <= mlx_bound).item(), f"vs quantized_matmul: {mx.max(diff).item()}"
    return got


# ----------------------------------------------------------------------------- 1. products

@pytest.mark.parametrize("bits", [4, 8])
@pytest.mark.parametrize("gs", [32, 64, 128])
@pytest.mark.parametrize("M", [1, 2, 3, 7, 8, 9, 16, 17, 20, 37])
def test_products_equal_mlx_for_every_format_and_row_count(bits, gs, M):
    x, wq, s, b = _case(M, 44, 256, gs, bits, seed=M * 100 + gs + bits)
    _check(x, wq, s, b, gs, bits)


DTYPES = [mx.float32, mx.float16, mx.bfloat16]


@pytest.mark.parametrize("xdtype", DTYPES, ids=str)
@pytest.mark.parametrize("sdtype", DTYPES, ids=str)
@pytest.mark.parametrize("bits", [4, 8])
def test_products_for_every_x_and_scale_dtype(xdtype, sdtype, bits):
    x, wq, s, b = _case(5, 27, 384, 64, bits, xdtype, sdtype, seed=bits)
    _check(x, wq, s, b, 64, bits)


@settings(max_examples=40, deadline=None)
@given(M=st.integers(1, 20), N=st.integers(1, 70), groups=st.integers(1, 4),
       gs=st.sampled_from([32, 64, 128]), bits=st.sampled_from([4, 8]),
       xdtype=st.sampled_from(DTYPES), sdtype=st.sampled_from(DTYPES), seed=st.integers(0, 2 ** 16))
def test_random_shapes_equal_mlx(M, N, groups, gs, bits, xdtype, sdtype, seed):
    x, wq, s, b = _case(M, N, groups * gs, gs, bits, xdtype, sdtype, seed)
    _check(x, wq, s, b, gs, bits)


@pytest.mark.parametrize("bits", [4, 8])
def test_large_inputs_span_several_tiles_and_thread_chunks(bits):
    # 300 rows: 19 tiles of 16 (the last of 12); N=300 over K=1024: 10 chunks of 32 output rows.
    x, wq, s, b = _case(300, 300, 1024, 64, bits, sdtype=mx.float16, seed=3)
    _check(x, wq, s, b, 64, bits)


def test_leading_batch_dimensions():
    x, wq, s, b = _case(5, 33, 128, 32, 4, batch=(2,), seed=4)
    got = _check(x, wq, s, b, 32, 4)
    assert got.shape == (2, 5, 33)
    assert mx.array_equal(got[1], _qmm(x[1], wq, s, b, 32, 4)).item()
    x3, *_ = _case(3, 33, 128, 32, 4, batch=(2, 3), seed=4)
    assert _check(x3, wq, s, b, 32, 4).shape == (2, 3, 3, 33)


def test_non_contiguous_x():
    _, wq, s, b = _case(1, 20, 256, 64, 4, seed=5)
    xt = mx.random.normal((256, 6), key=mx.random.key(6)).T  # a transposed view
    strided = mx.random.normal((12, 256), key=mx.random.key(7))[::2]  # every other row
    broadcast = mx.broadcast_to(mx.random.normal((1, 256), key=mx.random.key(8)), (4, 256))
    for x in (xt, strided, broadcast):
        got = _check(x, wq, s, b, 64, 4)
        assert mx.array_equal(got, _qmm(mx.array(np.array(x)), wq, s, b, 64, 4)).item()


def test_each_row_is_independent_of_the_others_bitwise():
    """Speculative verification (several rows) must give what decoding (one row) gives."""
    for bits in (4, 8):
        x, wq, s, b = _case(23, 50, 256, 32, bits, sdtype=mx.float16, seed=9)
        together = _qmm(x, wq, s, b, 32, bits)
        for i in (0, 7, 8, 15, 16, 22):
            assert mx.array_equal(together[i:i + 1], _qmm(x[i:i + 1], wq, s, b, 32, bits)).item(), (bits, i)


def test_output_dtype_follows_mlx_type_promotion():
    x, wq, s, b = _case(2, 8, 64, 32, 4, xdtype=mx.float16, sdtype=mx.float32)
    want = mx.quantized_matmul(x, wq, s, b, transpose=True, group_size=32, bits=4)
    assert _qmm(x, wq, s, b, 32, 4).dtype == want.dtype


# ----------------------------------------------------------------------------- 2. portable loop and threads

_DUMP = r"""
import sys
import mlx.core as mx
import numpy as np
from mlxagent.model import qkernel

k = qkernel.status()
assert k.available, k.line
m = k.module
out = {}
cases = [(1, 40, 128, 32, 4), (5, 300, 256, 64, 4), (16, 130, 1024, 128, 8), (21, 77, 512, 32, 8),
         (37, 200, 1024, 64, 4)]
for i, (M, N, K, gs, bits) in enumerate(cases):
    for sd in (mx.float32, mx.float16, mx.bfloat16):
        k1, k2 = mx.random.split(mx.random.key(i))
        wq, s, b = mx.quantize(mx.random.normal((N, K), key=k1), group_size=gs, bits=bits)
        x = mx.random.normal((M, K), key=k2)
        y = m.native_qmm(x, wq, s.astype(sd), b.astype(sd), gs, bits)
        out[f"{i}-{sd}"] = np.array(y)
np.savez(sys.argv[1], **out)
print(m.simd(), m.threads())
"""


def _dump(tmp_path: Path, name: str, **env: str) -> tuple[str, dict]:
    path = tmp_path / f"{name}.npz"
    full = {k: v for k, v in os.environ.items() if not k.startswith("MLXAGENT_KERNEL_")}
    full.update(env)
    run = subprocess.run([sys.executable, "-c", _DUMP, str(path)], capture_output=True, text=True,
                         env=full, timeout=120, cwd=REPO)
    assert run.returncode == 0, run.stderr[-2000:]
    with np.load(path) as data:
        return run.stdout.strip(), {k: data[k] for k in data.files}


@pytest.mark.skipif(not KERNEL.fast, reason="the AVX2 path is not in use here")
def test_portable_loop_and_thread_counts(tmp_path):
    base = {"MLXAGENT_NATIVE_KERNEL": "1"}
    int8 = {"MLXAGENT_KERNEL_INT8": "1"}
    line2, avx2 = _dump(tmp_path, "avx2-2", **base, MLXAGENT_KERNEL_THREADS="2")
    line1, avx1 = _dump(tmp_path, "avx2-1", **base, MLXAGENT_KERNEL_THREADS="1")
    _, int2 = _dump(tmp_path, "int8-2", **base, **int8, MLXAGENT_KERNEL_THREADS="2")
    _, int1 = _dump(tmp_path, "int8-1", **base, **int8, MLXAGENT_KERNEL_THREADS="1")
    _, unhinted = _dump(tmp_path, "avx2-nopf", **base, MLXAGENT_KERNEL_THREADS="2", MLXAGENT_KERNEL_NO_PREFETCH="1")
    line2p, port2 = _dump(tmp_path, "port-2", **base, MLXAGENT_KERNEL_THREADS="2", MLXAGENT_KERNEL_PORTABLE="1")
    line1p, port1 = _dump(tmp_path, "port-1", **base, MLXAGENT_KERNEL_THREADS="1", MLXAGENT_KERNEL_PORTABLE="1")
    line2n, narrow = _dump(tmp_path, "avx2-only", **base, MLXAGENT_KERNEL_THREADS="2", MLXAGENT_KERNEL_NO_AVX512="1")
    simd = line2.split()[0]
    assert simd in ("avx2+fma", "avx2+fma+avx512")
    assert (line2, line1, line2n, line2p, line1p) == (f"{simd} 2", f"{simd} 1", "avx2+fma 2", "portable 2", "portable 1")
    assert avx2.keys() == port1.keys() and len(avx2) == 15
    for key in avx2:
        # The arithmetic of an output row does not depend on which thread computes it.
        assert np.array_equal(avx2[key], avx1[key]), key
        assert np.array_equal(avx2[key], unhinted[key]), key  # prefetch hints change no arithmetic
        # avx512.h keeps avx2.h's lanes, each in the same order: the same bits (where the CPU has it).
        assert np.array_equal(avx2[key], narrow[key]), key
        assert np.array_equal(port2[key], port1[key]), key
        assert np.array_equal(int2[key], int1[key]), key
        assert not np.array_equal(int1[key], avx1[key]), key  # x rounded to int8: another path ran
        # The portable loop sums in another order: equal within float32 rounding.
        scale = np.abs(avx2[key]).max()
        np.testing.assert_allclose(port1[key], avx2[key], rtol=1e-5, atol=1e-5 * scale, err_msg=key)
    assert not np.array_equal(port1["1-mlx.core.float32"], avx2["1-mlx.core.float32"])  # two loops ran


# ----------------------------------------------------------------------------- 3. the real model's layers

@pytest.fixture(scope="module")
def native_model(real_model_dir):
    from mlxagent.model.runtime import load_model_dir

    return load_model_dir(real_model_dir, "smollm2-135m")


@pytest.fixture(scope="module")
def float_model(real_model_dir):
    from mlxagent.model.runtime import load_model_dir

    return load_model_dir(real_model_dir, "smollm2-135m", dequantize=True)


def _native_modules(model):
    return [(name, layer) for name, layer in model.named_modules()
            if getattr(layer, "native_kernel", False) and "scales" in layer]  # not the native rope layers


@pytest.mark.real_model
@pytest.mark.skipif(not KERNEL.fast, reason="the runtime dequantises without the AVX2 kernel")
def test_real_model_loads_quantised_on_the_kernel(native_model):
    assert native_model.dequantized is False
    assert native_model.native_layers == qkernel.installed(native_model.model) == 211
    assert qkernel.covers(native_model.model)
    kinds = {type(layer).__name__ for _, layer in _native_modules(native_model.model)}
    assert kinds == {"NativeQuantizedLinear", "NativeQuantizedEmbedding"}
    assert not any(type(layer) is nn.QuantizedLinear for _, layer in native_model.model.named_modules())


@pytest.mark.real_model
@pytest.mark.skipif(not KERNEL.fast, reason="the runtime dequantises without the AVX2 kernel")
def test_real_model_layers_equal_mlx_quantized_matmul(native_model):
    layers = _native_modules(native_model.model)
    sample = layers[::17] + layers[-3:]
    assert len(sample) >= 14
    for i, (name, layer) in enumerate(sample):
        weight, scales, biases = layer["weight"], layer["scales"], layer["biases"]
        K = weight.shape[1] * 32 // layer.bits
        for dtype in (mx.float32, mx.float16):
            x = mx.random.normal((3, K), key=mx.random.key(i)).astype(dtype)
            got = layer.as_linear(x) if hasattr(layer, "as_linear") else layer(x)
            # The product against the float32 reference and mx.quantized_matmul (MLX's float16
            # product accumulates in float16: _check allows for that), then the layer's output.
            product = _check(x, weight, scales, biases, layer.group_size, layer.bits)
            want = product + layer["bias"] if "bias" in layer else product
            assert mx.array_equal(got, want).item(), name
            if dtype == mx.float32:
                mlx = mx.quantized_matmul(x, weight, scales, biases, transpose=True,
                                          group_size=layer.group_size, bits=layer.bits)
                scale = mx.max(mx.abs(mlx)).item()
                assert mx.allclose(product, mlx, rtol=1e-5, atol=1e-5 * scale).item(), name
    # The tied embedding still looks tokens up as MLX's QuantizedEmbedding does.
    embed = native_model.model.model.embed_tokens
    ids = mx.array([[1, 17, 2000, 49151]])
    dense = mx.dequantize(embed["weight"], embed["scales"], embed["biases"], embed.group_size, embed.bits)
    assert mx.array_equal(embed(ids), dense[ids]).item()


# ----------------------------------------------------------------------------- 4. greedy decoding

PROMPTS = ["What is the capital of France?", "Write a Python function that reverses a string.",
           "List three colours of the rainbow."]


def _greedy(loaded, text: str, n: int) -> tuple[list[int], list[float]]:
    """Greedy tokens, and at each step the gap between the best and second-best logit."""
    from mlx_lm.models.cache import make_prompt_cache

    tok = loaded.tokenizer
    ids = tok.apply_chat_template([{"role": "user", "content": text}], add_generation_prompt=True)
    cache = make_prompt_cache(loaded.model)
    logits = loaded.model(mx.array([ids]), cache=cache)[0, -1]
    out, gaps = [], []
    for _ in range(n):
        top2 = mx.sort(logits.astype(mx.float32))[-2:]
        gaps.append((top2[1] - top2[0]).item())
        nxt = int(mx.argmax(logits).item())
        out.append(nxt)
        logits = loaded.model(mx.array([[nxt]]), cache=cache)[0, -1]
    return out, gaps


@pytest.mark.real_model
@pytest.mark.skipif(not KERNEL.fast, reason="the runtime dequantises without the AVX2 kernel")
def test_greedy_decoding_equals_the_float32_path(native_model, float_model):
    assert float_model.dequantized is True and float_model.native_layers == 0
    diverged = []
    for text in PROMPTS:
        native, _ = _greedy(native_model, text, 32)
        dense, gaps = _greedy(float_model, text, 32)
        if native != dense:
            first = next(i for i, (a, b) in enumerate(zip(native, dense)) if a != b)
            diverged.append((text, first, gaps[first]))
    # Only the float summation order differs between the paths; on these prompts no step is a
    # near tie, so the tokens are the same (a divergence says where, and how close the tie was).
    assert diverged == []


# ----------------------------------------------------------------------------- 5. speculative decoding

SPEC_PROMPTS = [
    "Repeat this code exactly:\n\ndef add(a, b):\n    return a + b\n\ndef sub(a, b):\n    return a - b\n",
    "Copy this list: apples, pears, plums, cherries, apples, pears, plums, cherries.",
    "What is the capital of France?",
]


@pytest.mark.real_model
@pytest.mark.skipif(not KERNEL.fast, reason="the runtime dequantises without the AVX2 kernel")
def test_speculative_decoding_on_the_kernel_is_plain_decodings_token_for_token(native_model,
                                                                             default_activations):
    from mlxagent.model.kv_cache import ChatSession

    tok = native_model.tokenizer
    accepted = 0
    for text in SPEC_PROMPTS:
        prompt = tok.apply_chat_template([{"role": "user", "content": text}], add_generation_prompt=True)
        runs = {}
        for speculative in (False, True):
            session = ChatSession(native_model, reuse=False, speculative=speculative)
            chunks = list(session.generate(prompt, max_tokens=40))
            runs[speculative] = ("".join(c.text for c in chunks), chunks[-1])
        (plain, plain_last), (spec, spec_last) = runs[False], runs[True]
        assert spec == plain, (text, plain, spec)
        assert spec_last.finish_reason == plain_last.finish_reason
        assert spec_last.stats.generated_tokens == plain_last.stats.generated_tokens
        assert plain_last.stats.draft_tokens == 0
        accepted += spec_last.stats.accepted_draft_tokens
    assert accepted > 0  # the drafts were verified by multi-row products on the kernel


# ----------------------------------------------------------------------------- 6. gradients

def _layer_pair(bias: bool, gs: int, bits: int):
    linear = nn.Linear(256, 40, bias=bias)
    ours = nn.QuantizedLinear.from_linear(linear, group_size=gs, bits=bits)
    mlx = nn.QuantizedLinear.from_linear(linear, group_size=gs, bits=bits)
    holder = nn.Sequential(ours)
    assert qkernel.install(holder) == 1 and qkernel.installed(holder) == 1
    return ours, mlx


@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("bits", [4, 8])
def test_gradient_through_the_kernel_equals_mlxs(bias, bits):
    ours, mlx = _layer_pair(bias, 64, bits)
    x = mx.random.normal((2, 3, 256), key=mx.random.key(11))
    c = mx.random.normal((2, 3, 40), key=mx.random.key(12))

    def loss(layer):
        return lambda v: mx.sum(mx.tanh(layer(v)) * c)

    assert mx.allclose(loss(ours)(x), loss(mlx)(x), rtol=1e-5, atol=1e-4).item()
    g_ours, g_mlx = mx.grad(loss(ours))(x), mx.grad(loss(mlx))(x)
    assert g_ours.shape == x.shape
    assert mx.allclose(g_ours, g_mlx, rtol=1e-4, atol=1e-5).item()
    assert mx.max(mx.abs(g_ours)).item() > 0.1
    # Forward-mode derivatives too.
    t = mx.random.normal(x.shape, key=mx.random.key(13))
    (_, (j_ours,)), (_, (j_mlx,)) = mx.jvp(ours, [x], [t]), mx.jvp(mlx, [x], [t])
    assert mx.allclose(j_ours, j_mlx, rtol=1e-4, atol=1e-4).item()
    assert mx.max(mx.abs(j_ours)).item() > 0.1


def test_gradient_for_the_quantised_weights_is_refused():
    ours, _ = _layer_pair(False, 32, 4)
    x = mx.random.normal((1, 256))

    def f(scales):
        return mx.sum(KERNEL.module.native_qmm(x, ours["weight"], scales, ours["biases"], 32, 4))

    with pytest.raises(ValueError, match="no gradient for the quantised weights"):
        mx.eval(mx.grad(f)(ours["scales"]))


# ----------------------------------------------------------------------------- 7. fallbacks and bad input

@pytest.mark.real_model
def test_kernel_off_loads_the_float32_path_and_doctor_says_why(real_model_dir):
    code = ("import sys\nfrom pathlib import Path\nfrom mlxagent.model.runtime import load_model_dir\n"
            "m = load_model_dir(Path(sys.argv[1]))\nprint(m.dequantized, m.native_layers)\n"
            "from mlxagent.doctor import decode_kernel_line\nprint(decode_kernel_line())\n")
    run = subprocess.run([sys.executable, "-c", code, str(real_model_dir)], capture_output=True, text=True,
                         env={**os.environ, "MLXAGENT_NATIVE_KERNEL": "0"}, timeout=180, cwd=REPO)
    assert run.returncode == 0, run.stderr[-2000:]
    first, line = run.stdout.strip().splitlines()[-2:]
    assert first == "True 0"
    assert "float32 weights dequantised" in line and "MLXAGENT_NATIVE_KERNEL=0" in line


@pytest.mark.parametrize("mode", ["off", "portable", "native"])
def test_doctor_prints_the_decode_kernel_line(mode):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLXAGENT_KERNEL_")}
    env["MLXAGENT_NATIVE_KERNEL"] = "0" if mode == "off" else "1"
    if mode == "portable":
        env["MLXAGENT_KERNEL_PORTABLE"] = "1"
    run = subprocess.run([sys.executable, "-m", "mlxagent", "doctor"], capture_output=True, text=True,
                         env=env, timeout=180, cwd=REPO)
    lines = [line for line in run.stdout.splitlines() if line.startswith("decode kernel:")]
    assert len(lines) == 1, run.stdout + run.stderr[-2000:]
    line = lines[0]
    if mode == "off":
        assert "float32 weights dequantised" in line and "off (MLXAGENT_NATIVE_KERNEL=0)" in line
    elif mode == "portable":  # slower than OpenBLAS on float32 weights: doctor says so
        assert "float32 weights dequantised" in line and "native portable 4/8-bit" in line
        assert "slower than that" in line
    elif KERNEL.fast:
        assert re.search(r"native avx2\+fma(\+avx512)? 4/8-bit, float activations", line) and "keep their 4/8-bit weights" in line


@pytest.fixture
def kernel_copy(tmp_path, monkeypatch):
    """The package's kernel files in tmp_path, and qkernel pointed at them."""
    for path in qkernel.HERE.iterdir():
        if path.is_file():
            shutil.copy(path, tmp_path / path.name)
    monkeypatch.setattr(qkernel, "HERE", tmp_path)
    return tmp_path


def test_a_module_built_for_another_mlx_is_refused(kernel_copy):
    from importlib.metadata import version

    assert qkernel._load().available  # the copy as built loads
    info = json.loads((kernel_copy / "_qmm.json").read_text())
    (kernel_copy / "_qmm.json").write_text(json.dumps({**info, "mlx": "0.0.1"}))
    status = qkernel._load()
    assert not status.available and not status.fast
    assert "0.0.1" in status.line and version("mlx") in status.line and "\n" not in status.line
    assert "rebuild" in status.line


def test_a_missing_build_and_the_switch_are_said(kernel_copy, monkeypatch):
    (kernel_copy / "_qmm.json").unlink()
    assert qkernel._load().line.startswith("not built")
    monkeypatch.setenv("MLXAGENT_NATIVE_KERNEL", "0")
    assert qkernel._load().line == "off (MLXAGENT_NATIVE_KERNEL=0)"


def test_the_self_check_refuses_a_wrong_kernel():
    class Wrong:
        @staticmethod
        def native_qmm(x, w, s, b, gs, bits, stream=None):
            y = KERNEL.module.native_qmm(x, w, s, b, gs, bits, stream=stream)
            return y * 1.001 if bits == 8 else y

    assert qkernel._self_check(KERNEL.module, mx) is None
    assert "8-bit product differs" in qkernel._self_check(Wrong, mx)


@pytest.mark.parametrize("bad, message", [
    (dict(K=96), "x's last axis does not match the weights"),
    (dict(bits=3), "bits must be 4 or 8"),
    (dict(gs=16), "group size must be a multiple of 32"),
    (dict(scales_rows=39), "scales and biases do not match the weights"),
    (dict(bias_dtype=mx.float16), "scales and biases do not match the weights"),
    (dict(x_dtype=mx.int32), "x must be float32, float16 or bfloat16"),
    (dict(w_dtype=mx.int32), "weights must be a 2-D uint32 array"),
])
def test_bad_input_raises_one_line_value_error(bad, message):
    w = mx.random.normal((40, 128), key=mx.random.key(1))
    wq, s, b = mx.quantize(w, group_size=32, bits=4)
    x = mx.random.normal((2, bad.get("K", 128)))
    if "x_dtype" in bad:
        x = x.astype(bad["x_dtype"])
    if "scales_rows" in bad:
        s, b = s[:39], b[:39]
    if "bias_dtype" in bad:
        b = b.astype(bad["bias_dtype"])
    if "w_dtype" in bad:
        wq = wq.view(mx.int32)
    with pytest.raises(ValueError) as info:
        KERNEL.module.native_qmm(x, wq, s, b, bad.get("gs", 32), bad.get("bits", 4))
    text = str(info.value)
    assert text == f"[native_qmm] {message}"


@pytest.mark.parametrize("view", ["weights", "scales", "broadcast", "evaluated column-major"])
def test_lazy_views_of_the_weights_are_computed_or_refused(view):
    w = mx.random.normal((40, 128), key=mx.random.key(1))
    wq, s, b = mx.quantize(w, group_size=32, bits=4)
    mx.eval(wq, s, b)
    x = mx.random.normal((2, 128))
    if view in ("weights", "evaluated column-major"):
        wq = mx.array(np.ascontiguousarray(np.array(wq).T)).T  # lazy: not evaluated yet
        if view == "evaluated column-major":
            mx.eval(wq)  # evaluated: its flags say column-major, and it is copied row-major first
    elif view == "scales":
        s = mx.array(np.ascontiguousarray(np.array(s).T)).T
    else:
        s, b = mx.broadcast_to(s[:1], s.shape), mx.broadcast_to(b[:1], b.shape)
    want = mx.quantized_matmul(x, wq, s, b, transpose=True, group_size=32, bits=4)
    got = KERNEL.module.native_qmm(x, wq, s, b, 32, 4)
    assert mx.allclose(got, want, rtol=1e-4, atol=1e-3).item(), mx.max(mx.abs(got - want)).item()
