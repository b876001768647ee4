"""`mlxagent tune` benchmark: train on generated traces, time it, then base vs tuned on held-out tasks.

    .venv/bin/python bench/tune.py [--synthetic 40] [--steps N] [--layers 4] [--rank 16] [--lr 2e-4]
                                   [--batch 2] [--eval-count 20] [--configs d] [--models base,tuned]
                                   [--name bench] [--json PATH]

1. Traces: the scripted fix of `--synthetic` generated tasks from the task generator's main modules
   (seed synthetic.TRAIN_SEED), recorded from the real agent with the tests on.
2. Training: the default model with a LoRA adapter, mlx-lm's tuner, exactly as `mlxagent tune`
   does it; the adapter is stored as smollm2-135m+NAME. Timed: preparing (the frozen blocks run
   once per sequence) and the optimizer steps.
3. Evaluation: bench/tasks.py's harness (mlxagent/tasksuite/harness.py) on `--eval-count` tasks from
   the held-out modules (seed evaluate.EVAL_SEED), configuration d (tests on, verified retries,
   candidate search off) for base and tuned; `--configs d,c` adds c (with the candidate search).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, write_results  # noqa: E402

from mlxagent.blas import reexec_openblas  # noqa: E402


def load_average() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


def main() -> int:
    reexec_openblas(__file__)
    os.environ.setdefault("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    from mlxagent.tune.defaults import DEFAULT_EPOCHS, DEFAULT_SYNTHETIC
    from mlxagent.tune.train import TuneSettings

    d = TuneSettings()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--synthetic", type=int, default=DEFAULT_SYNTHETIC)
    parser.add_argument("--steps", type=int, default=0, help="0: about 3 passes over the data, as mlxagent tune")
    parser.add_argument("--layers", type=int, default=d.layers)
    parser.add_argument("--rank", type=int, default=d.rank)
    parser.add_argument("--scale", type=float, default=d.scale)
    parser.add_argument("--lr", type=float, default=d.learning_rate)
    parser.add_argument("--batch", type=int, default=d.batch_size)
    parser.add_argument("--eval-count", type=int, default=20)
    parser.add_argument("--configs", default="d")
    parser.add_argument("--models", default="base,tuned")
    parser.add_argument("--max-steps", type=int, default=8)
    parser.add_argument("--name", default="bench")
    parser.add_argument("--no-train", action="store_true", help="evaluate the stored smollm2-135m+NAME")
    parser.add_argument("--json", default=str(ROOT / "bench" / "results" / "tune.json"))
    args = parser.parse_args()

    from mlxagent.core.formats import detect_format
    from mlxagent.model.catalog import resolve
    from mlxagent.model.runtime import load_model_dir
    from mlxagent.model import adapters
    from mlxagent.tune.command import progress_line, train_into_store
    from mlxagent.tune.dataset import build_dataset, examples_from_records
    from mlxagent.tune.evaluate import EVAL_SEED, eval_tasks, run_eval
    from mlxagent.tune.synthetic import TRAIN_SEED, synthetic_traces
    from mlxagent.tune.packing import describe_data, pack

    out: dict = {"args": vars(args), "load_average_start": load_average()}
    base_dir, base_name = resolve("smollm2-135m")
    spec = adapters.spec_for(base_name, args.name)
    if not args.no_train:
        loaded = load_model_dir(base_dir, base_name)
        fmt = detect_format(f"{loaded.name} {loaded.path}", loaded.tokenizer.chat_template)
        started = time.perf_counter()
        traces = synthetic_traces(args.synthetic, base_name, fmt, seed=TRAIN_SEED)
        trace_seconds = time.perf_counter() - started
        settings = replace(d, layers=args.layers, rank=args.rank, scale=args.scale, learning_rate=args.lr,
                           batch_size=args.batch)
        dataset = build_dataset(loaded.tokenizer, fmt, examples_from_records(traces, include_reads=True),
                                settings.max_seq_length)
        seqs = len(pack(dataset.items))
        steps = args.steps or max(1, math.ceil(DEFAULT_EPOCHS * seqs / settings.batch_size))
        settings = replace(settings, steps=steps)
        figures = {**describe_data(dataset.items), "dropped_long": dataset.dropped_long,
                   "traces": len(traces), "trace_seconds": round(trace_seconds, 1)}
        print(f"traces: {len(traces)} in {trace_seconds:.1f}s; dataset {json.dumps(figures)}", flush=True)
        print(f"settings: {settings}", flush=True)
        print(f"load average before training: {load_average()}", flush=True)
        result, info = train_into_store(loaded, base_name, base_dir, args.name, dataset, settings,
                                        progress=progress_line(sys.stdout))
        out["training"] = {"dataset": figures, "settings": asdict(settings),
                           "steps": result.steps, "seconds": round(result.seconds, 1),
                           "prepare_seconds": round(result.prepare_seconds, 1),
                           "step_seconds": round(result.seconds - result.prepare_seconds, 1),
                           "loss_first": result.losses[:5], "loss_last": result.losses[-5:],
                           "load_average_after": load_average()}
        print(f"trained in {result.seconds:.0f}s ({result.prepare_seconds:.0f}s preparing, "
              f"{result.seconds - result.prepare_seconds:.0f}s for {result.steps} steps); "
              f"loss {result.losses[0]:.3f} -> {result.loss:.3f}; load average {load_average()}", flush=True)
        del loaded
        if info is None:
            print("nothing saved", file=sys.stderr)
            return 1
    tasks = eval_tasks(args.eval_count)
    print(f"evaluating on {len(tasks)} held-out tasks (seed {EVAL_SEED})", flush=True)
    wanted = [m.strip() for m in args.models.split(",") if m.strip()]
    models = {}
    if "base" in wanted:
        models[base_name] = load_model_dir(base_dir, base_name)
    if "tuned" in wanted:
        models[spec] = load_model_dir(resolve(spec)[0], spec)
    partial = Path(args.json).with_suffix(".rows.jsonl")
    partial.parent.mkdir(parents=True, exist_ok=True)
    partial.write_text("")
    out["eval"] = {}
    for config in [c.strip() for c in args.configs.split(",") if c.strip()]:
        def row(label: str, r: dict, config=config) -> None:
            with partial.open("a") as f:
                f.write(json.dumps(r) + "\n")
            mark = "PASS" if r["passed"] else "fail"
            print(f"{config} {label:22} {mark} {r['task']:36} {r['reason']:14} calls={r['tool_calls']:2} "
                  f"{r['seconds']:6.1f}s  {r['detail'][:50]}", flush=True)

        report = run_eval(models, tasks, config, max_steps=args.max_steps, on_row=row)
        out["eval"][config] = {label: {"summary": report.summary(label), "rows": report.rows[label]}
                               for label in report.rows}
        print(f"\nconfiguration {config}:")
        for line in report.lines():
            print(line)
    out["load_average_end"] = load_average()
    write_results(out, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
