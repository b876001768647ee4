"""AVX-512 (mlxagent/model/qkernel/avx512.h, attend.h): where the CPU has it, the products of
several rows of x and the attention hold two of the AVX2 loops' 8-lane chains in one register and
keep each lane's order, so every output equals, bit for bit, the one a process limited to AVX2
(MLXAGENT_KERNEL_NO_AVX512=1) computes. The products' comparison is in test_qkernel.py (with
the thread counts); this file compares the attention: cached (decode, verification rows with
causal lengths that are not multiples of 8, float32 and float16 caches) and on (B, H, L, D) heads."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mlxagent.model import qkernel

KERNEL = qkernel.status()
REPO = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.skipif(not KERNEL.fast, reason=f"no AVX2 path here: {KERNEL.line}")

_DUMP = r"""
import sys
import mlx.core as mx
import numpy as np
from mlxagent.model import qkernel

m = qkernel.status().module
out = {}
rope = (64, False, 10000.0, 1.0)
for i, (L, offset, causal, dtype) in enumerate([(1, 5, False, mx.float32), (1, 1203, False, mx.float16),
                                                (3, 61, True, mx.float32), (23, 700, True, mx.float16),
                                                (33, 66, True, mx.float16), (8, 130, False, mx.float32)]):
    keys = mx.random.normal((1, 3, offset + L + 7, 64), key=mx.random.key(3 * i)).astype(dtype)
    values = mx.random.normal((1, 3, offset + L + 7, 64), key=mx.random.key(3 * i + 1)).astype(dtype)
    q = mx.random.normal((1, L, 9 * 64), key=mx.random.key(3 * i + 2))
    out[f"cached-{i}"] = np.array(m.native_cached_attention(q, keys, values, 9, offset, *rope, 0.125, causal))
for i, (H, Hk, L, Tk, causal) in enumerate([(9, 3, 100, 612, True), (4, 2, 7, 7, False), (2, 2, 37, 37, True)]):
    k1, k2, k3 = mx.random.split(mx.random.key(100 + i), 3)
    q, k, v = (mx.random.normal((1, H, L, 64), key=k1), mx.random.normal((1, Hk, Tk, 64), key=k2),
               mx.random.normal((1, Hk, Tk, 64), key=k3))
    out[f"heads-{i}"] = np.array(m.native_attention(q, k, v, 0.125, causal))
np.savez(sys.argv[1], **out)
print(m.simd())
"""


def _dump(tmp_path: Path, name: str, **env: str) -> tuple[str, dict]:
    path = tmp_path / f"{name}.npz"
    full = {k: v for k, v in os.environ.items() if not k.startswith("MLXAGENT_KERNEL_")}
    full.update(env)
    run = subprocess.run([sys.executable, "-c", _DUMP, str(path)], capture_output=True, text=True, env=full,
                         timeout=120, cwd=REPO)
    assert run.returncode == 0, run.stderr[-2000:]
    with np.load(path) as data:
        return run.stdout.strip(), {k: data[k] for k in data.files}


def test_attention_with_avx512_equals_the_avx2_loops_bit_for_bit(tmp_path):
    simd, wide = _dump(tmp_path, "wide")
    narrow_simd, narrow = _dump(tmp_path, "narrow", MLXAGENT_KERNEL_NO_AVX512="1")
    assert narrow_simd == "avx2+fma" and simd in ("avx2+fma", "avx2+fma+avx512")
    assert wide.keys() == narrow.keys() and len(wide) == 9
    for key in wide:
        assert np.isfinite(wide[key]).all(), key
        assert np.array_equal(wide[key], narrow[key]), key
