"""GGUF import: time and peak memory, and what the imported model is worth.

    python bench/gguf_import.py            # writes bench/results/gguf_import.json

Files: SmolLM2-135M-Instruct Q4_1 (the default model: MLX reads it natively) and Gemma 3
270M base Q4_K_M (Q4_K, Q5_0, Q6_K and Q8_0 tensors: dequantised with `gguf`, quantised
again to MLX affine 4/8-bit, groups of 64). Each import runs in a fresh child process into
an empty folder, so its peak RSS is the import's own.

For the Gemma file it also reports the logit correlation and top-1 agreement against a
float32 (dequantised) import of the same file, and greedy decode speed beside llama.cpp on
the same GGUF (2 threads) when llama-cpp-python is installed (`make bench-deps`).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "gguf_import.json"
CODE = ("def fibonacci(n):\n    if n <= 1:\n        return n\n"
        "    return fibonacci(n - 1) + fibonacci(n - 2)\n")

_CHILD = r"""
import json, resource, sys, time
from pathlib import Path
from mlxagent.model.gguf_import import import_gguf
t = time.perf_counter()
d = import_gguf(sys.argv[1], dest_root=Path(sys.argv[2]), dequantized=sys.argv[3] == "1")
took = time.perf_counter() - t
size = sum(p.stat().st_size for p in d.iterdir())
print(json.dumps({"dir": str(d), "seconds": took, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "output_mb": size / 1e6}))
"""


def import_in_child(gguf: Path, dest: Path, dequantized: bool = False) -> dict:
    done = subprocess.run([sys.executable, "-c", _CHILD, str(gguf), str(dest), "1" if dequantized else "0"],
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def baseline_rss_mb() -> float:
    code = ("import resource, mlx.core as mx, gguf, tokenizers, mlxagent.model.gguf_import;"
            "mx.eval(mx.zeros(1) + 1);"  # the backend started, as in an import
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)")
    return float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)


def largest_tensor_f32_mb(gguf: Path) -> float:
    from gguf import GGUFReader

    return max(int(t.n_elements) for t in GGUFReader(gguf).tensors) * 4 / 1e6


def quality(model_dir: Path, reference_dir: Path) -> dict:
    import mlx.core as mx
    import numpy as np

    from mlxagent.model.runtime import load_model_dir

    got_model = load_model_dir(model_dir, dequantize=False)
    ref_model = load_model_dir(reference_dir, dequantize=False)
    ids = got_model.tokenizer.encode(CODE)
    got = np.array(got_model.model(mx.array([ids]))[0].astype(mx.float32))
    ref = np.array(ref_model.model(mx.array([ids]))[0].astype(mx.float32))
    corr = [float(np.corrcoef(got[i], ref[i])[0, 1]) for i in range(len(ids))]
    return {"positions": len(ids), "logit_corr_mean": float(np.mean(corr)), "logit_corr_min": float(np.min(corr)),
            "top1_agreement": float(np.mean(got.argmax(-1) == ref.argmax(-1)))}


def decode_speed(model_dir: Path, gguf: Path, tokens: int = 64) -> dict:
    from mlx_lm.generate import stream_generate

    from mlxagent.model.runtime import load_model_dir

    loaded = load_model_dir(model_dir)  # as the product loads it (dequantised on CPU + OpenBLAS)
    prompt = loaded.tokenizer.encode(CODE)
    last = None
    for last in stream_generate(loaded.model, loaded.tokenizer, prompt, max_tokens=tokens):
        pass
    out = {"mlxagent_decode_tok_s": last.generation_tps, "mlxagent_prefill_tok_s": last.prompt_tps,
           "dequantized_at_load": loaded.dequantized}
    del loaded
    kept = load_model_dir(model_dir, dequantize=False)  # the other choice: MLX's quantised kernels
    for last in stream_generate(kept.model, kept.tokenizer, prompt, max_tokens=tokens):
        pass
    out.update(quantized_decode_tok_s=last.generation_tps, quantized_prefill_tok_s=last.prompt_tps)
    del kept
    try:
        from llama_cpp import Llama
    except ImportError:
        out["llama_cpp"] = "not installed (make bench-deps)"
        return out
    llm = Llama(str(gguf), n_ctx=512, n_threads=2, verbose=False)
    t = time.perf_counter()
    llm.eval(prompt)
    prefill = time.perf_counter() - t
    t = time.perf_counter()
    for _ in range(tokens):
        llm.eval([llm.sample(temp=0.0)])
    out.update({"llama_cpp_decode_tok_s": tokens / (time.perf_counter() - t),
                "llama_cpp_prefill_tok_s": len(prompt) / prefill})
    out["decode_ratio"] = out["mlxagent_decode_tok_s"] / out["llama_cpp_decode_tok_s"]
    return out


def main() -> None:
    sys.path.insert(0, str(ROOT / "tests"))
    from gemma_model import ensure_gemma_gguf

    from mlxagent.model import default_model

    files = {"smollm2-135m Q4_1": default_model.gguf_path(), "gemma-3-270m Q4_K_M": ensure_gemma_gguf()}
    if not files["smollm2-135m Q4_1"].exists():
        default_model.ensure()
    results: dict = {"baseline_rss_mb": baseline_rss_mb(), "files": {}}
    with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp:
        for label, gguf in files.items():
            row = import_in_child(gguf, Path(tmp) / label.split()[0])
            row.update(source_mb=gguf.stat().st_size / 1e6, largest_tensor_f32_mb=largest_tensor_f32_mb(gguf))
            results["files"][label] = row
            print(label, json.dumps({k: round(v, 2) if isinstance(v, float) else v for k, v in row.items()}))
        gemma = results["files"]["gemma-3-270m Q4_K_M"]
        reference = import_in_child(files["gemma-3-270m Q4_K_M"], Path(tmp) / "gemma-f32", dequantized=True)
        gemma["quality_vs_f32"] = quality(Path(gemma["dir"]), Path(reference["dir"]))
        gemma["speed"] = decode_speed(Path(gemma["dir"]), files["gemma-3-270m Q4_K_M"])
        print("gemma quality", gemma["quality_vs_f32"])
        print("gemma speed", gemma["speed"])
        for row in results["files"].values():
            row.pop("dir")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2))
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    from mlxagent.blas import reexec_openblas

    reexec_openblas(__file__)
    main()
