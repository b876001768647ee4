"""Why decode runs at the speed it does on this machine: weight bytes per token against the
memory bandwidth a mat-vec reaches, and the mat-vec's time in each weight format MLX offers.

    .venv/bin/python bench/bandwidth.py [--json bench/results/bandwidth.json]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import write_results  # noqa: E402

from mlxagent.blas import reexec_openblas  # noqa: E402

ROWS, COLS = 49152, 576  # SmolLM2-135M's output projection: its largest matrix


def timed(fn, repeats: int = 10) -> float:
    import mlx.core as mx

    for _ in range(3):
        mx.eval(fn())
    start = time.perf_counter()
    for _ in range(repeats):
        mx.eval(fn())
    return (time.perf_counter() - start) / repeats


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--json", default="bench/results/bandwidth.json")
    args = parser.parse_args()

    import mlx.core as mx
    from mlx.utils import tree_flatten
    from mlx_lm.models.cache import make_prompt_cache

    from mlxagent.model import backend, default_model
    from mlxagent.model.runtime import load_model_dir

    loaded = load_model_dir(default_model.ensure(), default_model.NAME)
    model = loaded.model
    weight_bytes = sum(v.nbytes for _, v in tree_flatten(model.parameters()))
    cache = make_prompt_cache(model)
    mx.eval(model(mx.array([list(range(1, 9))]), cache=cache))
    token = mx.array([[42]])
    step = timed(lambda: model(token, cache=cache), 20)

    x = mx.random.normal((1, COLS))
    w = mx.random.normal((ROWS, COLS))
    formats = {}
    for name, dtype in (("f32", mx.float32), ("bf16", mx.bfloat16), ("f16", mx.float16)):
        wd, xd = w.astype(dtype), x.astype(dtype)
        mx.eval(wd, xd)
        formats[name] = timed(lambda wd=wd, xd=xd: xd @ wd.T)
    for bits in (4, 8):
        wq, scales, biases = mx.quantize(w, group_size=32, bits=bits)
        mx.eval(wq, scales, biases)
        formats[f"q{bits}"] = timed(lambda wq=wq, s=scales, b=biases, bits=bits: mx.quantized_matmul(
            x, wq, s, b, transpose=True, group_size=32, bits=bits))

    results = {
        "backend": backend.backend_name(), "blas": backend.blas_name(), "dequantized": loaded.dequantized,
        "weight_mb": weight_bytes / 1e6, "decode_step_ms": step * 1000, "decode_tok_s": 1 / step,
        "weights_gb_per_s": weight_bytes / step / 1e9,
        "matvec_ms": {k: v * 1000 for k, v in formats.items()},
        "matvec_f32_gb_per_s": ROWS * COLS * 4 / formats["f32"] / 1e9,
    }
    print(f"backend {results['backend']}, BLAS {results['blas']}, weights dequantised: {loaded.dequantized}")
    print(f"weights {results['weight_mb']:.0f} MB; one decode step {results['decode_step_ms']:.1f} ms "
          f"({results['decode_tok_s']:.1f} tok/s) = {results['weights_gb_per_s']:.1f} GB/s of weights")
    print(f"{ROWS}x{COLS} mat-vec, f32 at {results['matvec_f32_gb_per_s']:.1f} GB/s:")
    for name, ms in results["matvec_ms"].items():
        print(f"  {name:5} {ms:7.2f} ms")
    write_results(results, args.json)
    return 0


if __name__ == "__main__":
    reexec_openblas(__file__)
    raise SystemExit(main())
