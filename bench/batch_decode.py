"""What a batch of sequences costs per decode step: the question behind sampling many rewrites at once.

    .venv/bin/python bench/batch_decode.py [--model smollm2-135m] [--batches 1,4,16,32,64] [--steps 32]
                                           [--prompt-tokens 600] [--json bench/results/batch_decode.json]

Decode on this CPU is memory-bound: each step reads every weight once, whatever the batch. So B
sequences decoded together should cost little more per step than one. This measures it with the
real model and mlx-lm's KV cache: one prompt (a file-sized context) prefilled once per batch, its
cache repeated B times, then `--steps` decode steps of B tokens each, timed after a warm-up step.
Reported per batch: ms per step, tokens per second over all sequences, and the step cost relative
to batch 1 (the ratio is what holds across machines; absolute times vary ~2x day to day here).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, write_results  # noqa: E402

from mlxagent.blas import reexec_openblas  # noqa: E402


def _step_times(loaded, prompt: list[int], batch: int, steps: int) -> list[float]:
    import mlx.core as mx
    from mlx_lm.models.cache import make_prompt_cache

    model = loaded.model
    cache = make_prompt_cache(model)
    tokens = mx.array([prompt] * batch)
    logits = model(tokens, cache=cache)
    mx.eval(logits, [c.state for c in cache])
    nxt = mx.argmax(logits[:, -1, :], axis=-1).reshape(batch, 1)
    times = []
    for i in range(steps + 1):
        t0 = time.perf_counter()
        logits = model(nxt, cache=cache)
        nxt = mx.argmax(logits[:, -1, :], axis=-1).reshape(batch, 1)
        mx.eval(nxt)
        if i:  # the first step warms up the kernels for this shape
            times.append(time.perf_counter() - t0)
    return times


def main() -> int:
    reexec_openblas(__file__)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--batches", default="1,4,16,32,64")
    parser.add_argument("--steps", type=int, default=32)
    parser.add_argument("--prompt-tokens", type=int, default=600)
    parser.add_argument("--json", default=str(ROOT / "bench" / "results" / "batch_decode.json"))
    args = parser.parse_args()

    import statistics

    from mlxagent.model.runtime import ModelRuntime

    loaded = ModelRuntime().load(args.model)
    text = (Path(ROOT / "mlxagent" / "core" / "repair" / "search.py").read_text() * 4)
    prompt = loaded.tokenizer.encode(text)[: args.prompt_tokens]
    rows = []
    base = None
    print(f"{'batch':>5} {'ms/step':>9} {'tok/s':>9} {'step vs 1':>10}")
    for b in [int(x) for x in args.batches.split(",") if x.strip()]:
        times = _step_times(loaded, prompt, b, args.steps)
        ms = statistics.median(times) * 1000
        base = base or ms
        row = {"batch": b, "ms_per_step": round(ms, 2), "tokens_per_s": round(b * 1000 / ms, 1),
               "step_vs_batch_1": round(ms / base, 2)}
        rows.append(row)
        print(f"{b:>5} {row['ms_per_step']:>9} {row['tokens_per_s']:>9} {row['step_vs_batch_1']:>10}")
    write_results({"model": args.model, "prompt_tokens": len(prompt), "steps": args.steps, "rows": rows}, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
