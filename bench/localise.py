"""Localisation alone: where does the true buggy line rank in `suspects()`, without and with the
spectrum (mlxagent/core/repair/spectrum.py: the tests run once under coverage, Ochiai scores)?

    .venv/bin/python bench/localise.py [--seed 0] [--count 40] [--limit N] [--json PATH] [-v]

Each task of the suite (mlxagent/tasksuite: the fixtures plus generated bug-fix tasks) becomes a
git repo in a temp dir; its tests run once for the report the agent would have (the same command
detection gives a pytest project: this Python, `-m pytest` and its flags), then `suspects()` ranks
the lines with the report and the task's request, once as it is and once with the spectrum.
Reported: mean reciprocal rank of the true buggy line (0 when it is not listed), top-1, top-5,
top-10, and the seconds the spectrum took. No model is loaded.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import write_results  # noqa: E402

from mlxagent.blas import reexec_openblas  # noqa: E402
from mlxagent.core.repair import Sources, suspects  # noqa: E402
from mlxagent.core.repair.spectrum import measure  # noqa: E402
from mlxagent.core.testing.detect import PYTEST_FLAGS, TestCommand  # noqa: E402
from mlxagent.core.testing.report import parse_test_output  # noqa: E402
from mlxagent.core.testing.runner import run_command  # noqa: E402
from mlxagent.tasksuite import materialize, suite  # noqa: E402


def rank_of(found, path: str, line: int) -> int | None:
    """1-based rank of (path, line) among the suspects, or None."""
    for n, s in enumerate(found, 1):
        if s.path == path and s.line == line:
            return n
    return None


def buggy_path(task) -> str | None:
    if len(task.fixed) != 1 or not task.line:
        return None
    return next(iter(task.fixed))


def one(task, command: TestCommand) -> dict | None:
    path = buggy_path(task)
    if path is None:
        return None
    with tempfile.TemporaryDirectory(prefix="mlxagent-localise-") as tmp:
        root = materialize(task, Path(tmp) / "repo")
        files = sorted(task.files)
        result = run_command(list(command.argv), root, timeout=120)
        report = parse_test_output(result.output, result.exit_code, root, command.runner)
        sources = Sources(root, files)
        before = rank_of(suspects(sources, report, task.text), path, task.line)
        started = time.monotonic()
        spectrum = measure(root, files, command)
        seconds = time.monotonic() - started
        after = rank_of(suspects(Sources(root, files), report, task.text, spectrum), path, task.line)
    return {"id": task.id, "kind": task.mutation, "before": before, "after": after,
            "spectrum": spectrum is not None, "seconds": round(seconds, 2)}


def metrics(ranks: list[int | None]) -> dict:
    n = len(ranks) or 1
    return {"mrr": round(sum(1 / r for r in ranks if r) / n, 3),
            "top1": sum(1 for r in ranks if r and r <= 1), "top5": sum(1 for r in ranks if r and r <= 5),
            "top10": sum(1 for r in ranks if r and r <= 10), "missed": sum(1 for r in ranks if not r),
            "tasks": len(ranks)}


def main() -> int:
    reexec_openblas(__file__)
    os.environ.setdefault("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")  # as bench/tasks.py: the task repos need none
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--count", type=int, default=40)
    parser.add_argument("--limit", type=int, default=0, help="run only this many tasks (0: all)")
    parser.add_argument("--json", default=None, help="also write the rows and metrics here")
    parser.add_argument("-v", "--verbose", action="store_true", help="a line per task")
    args = parser.parse_args()
    command = TestCommand((sys.executable, "-m", "pytest", *PYTEST_FLAGS), "pytest", "bench")
    tasks = suite(seed=args.seed, count=args.count)
    if args.limit:
        tasks = tasks[:args.limit]
    rows = []
    for task in tasks:
        row = one(task, command)
        if row is None:
            continue
        rows.append(row)
        if args.verbose:
            print(f"{row['id']:40} {str(row['before']):>5} -> {str(row['after']):>5}"
                  f"  {'spectrum' if row['spectrum'] else 'no spectrum'} {row['seconds']:.1f}s", flush=True)
    without, with_ = metrics([r["before"] for r in rows]), metrics([r["after"] for r in rows])
    print(f"\n{len(rows)} tasks with a known buggy line (of {len(tasks)}); spectrum measured for "
          f"{sum(r['spectrum'] for r in rows)}, median {statistics.median([r['seconds'] for r in rows] or [0]):.1f} s")
    print(f"{'':16} {'MRR':>6} {'top-1':>6} {'top-5':>6} {'top-10':>7} {'missed':>7}")
    for name, m in (("without spectrum", without), ("with spectrum", with_)):
        print(f"{name:16} {m['mrr']:6.3f} {m['top1']:6d} {m['top5']:6d} {m['top10']:7d} {m['missed']:7d}")
    better = sum(1 for r in rows if (r["after"] or 10**9) < (r["before"] or 10**9))
    worse = sum(1 for r in rows if (r["after"] or 10**9) > (r["before"] or 10**9))
    print(f"rank better on {better} tasks, worse on {worse}")
    if args.json:
        write_results({"seed": args.seed, "count": args.count, "without": without, "with": with_, "rows": rows},
                      args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
