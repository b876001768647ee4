"""`mlxagent tune --eval`: the base model against the tuned one on held-out generated tasks.

The tasks come from the task generator's held-out modules (none of them in any training trace)
with another seed than the traces. Each runs with the harness of bench/tasks.py in its
configuration (d): tests on (auto-test before and after each edit, a failing edit is undone and
the model tries again), the candidate search off, so what is measured is the model's own edits.
A task passes when its tests pass and no test file changed.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Callable

EVAL_SEED = 2  # the traces use synthetic.TRAIN_SEED, on the main modules
EVAL_CONFIG = "d"


def eval_tasks(count: int, seed: int = EVAL_SEED) -> list[Any]:
    from ..tasksuite import generate

    return generate(seed, count, heldout=True)


@dataclass
class EvalReport:
    config: str
    rows: dict[str, list[dict]] = field(default_factory=dict)  # model label -> one row per task

    def summary(self, label: str) -> dict:
        from ..tasksuite.harness import summarise

        return summarise(self.rows.get(label, []))

    def lines(self) -> list[str]:
        out = [f"{'model':28} {'tasks':>5} {'passed':>6} {'rate':>6} {'test files changed':>18}"]
        for label in self.rows:
            s = self.summary(label)
            if s:
                out.append(f"{label:28} {s['tasks']:5} {s['passed']:6} {s['success_rate']:6.0%} "
                           f"{s['test_files_modified_any']:18}")
        return out


def run_eval(models: dict[str, Any], tasks: list[Any], config: str = EVAL_CONFIG, max_steps: int = 8,
             max_tokens: int = 256, on_row: Callable[[str, dict], None] | None = None,
             cancel: threading.Event | None = None) -> EvalReport:
    """Each (label -> LoadedModel) on each task, one agent turn per task with the harness."""
    from ..tasksuite.harness import run_task
    from .synthetic import quiet_pytest

    report = EvalReport(config, {label: [] for label in models})
    with quiet_pytest():
        for label, loaded in models.items():
            for task in tasks:
                if cancel is not None and cancel.is_set():
                    return report
                row = run_task(task, config, loaded, max_steps=max_steps, max_tokens=max_tokens)
                row["model"] = label
                report.rows[label].append(row)
                if on_row:
                    on_row(label, row)
    return report
