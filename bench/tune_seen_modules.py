"""Base vs tuned on generated tasks from the modules the training traces came from, other seeds.

    MLXAGENT_HOME=... .venv/bin/python bench/tune_seen_modules.py MODEL [MODEL ...]

bench/tune.py evaluates on the held-out modules (code the adapter never saw). This asks the
easier question the issue names, "other seeds than the training traces": tasks of seed 2 from the
main modules, leaving out any task that is also one of the 30 training traces (seed 1), in
configuration d (tests on, verified retries, candidate search off). Results go to
bench/results/tune_same_modules_seed2.json.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from mlxagent.blas import reexec_openblas

TRAIN_TRACES = 30
SEED = 2
COUNT = 10


def main() -> int:
    reexec_openblas(__file__)
    os.environ.setdefault("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    from mlxagent.model.runtime import ModelRuntime
    from mlxagent.tasksuite import generate
    from mlxagent.tune.evaluate import run_eval
    from mlxagent.tune.synthetic import TRAIN_SEED

    train = {t.id for t in generate(TRAIN_SEED, TRAIN_TRACES)}
    tasks = [t for t in generate(SEED, COUNT) if t.id not in train]
    print("tasks", [t.id for t in tasks], flush=True)
    out = {}
    for label in sys.argv[1:]:
        runtime = ModelRuntime()
        loaded = runtime.load(label)
        report = run_eval({label: loaded}, tasks, on_row=lambda name, row: print(
            name, row["task"], row["passed"], row["reason"], row["seconds"], flush=True))
        out[label] = report.summary(label)
        print(label, out[label], flush=True)
        runtime.unload()
    path = Path(__file__).resolve().parent / "results" / "tune_same_modules_seed2.json"
    path.write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
