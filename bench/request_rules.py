"""The request rules alone, without the model: on each instruction set, is the candidate the rules rank
first (core/repair/requested.py's priors) the expected edit? Seconds, not minutes: no model is loaded.

    .venv/bin/python bench/request_rules.py [--sets dev,heldout,blind,fresh,third,fourth] [--show]

Per set: tasks, first-ranked right, first-ranked wrong (an edit that --yes would write unless the model
reorders an exact tie), ties at the top, none (the model is left to write), and "cannot" requests
that got a candidate. The real agent (bench/tasks.py) adds the model's order of exact ties and the
turn; this is the rules' share of it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, write_results  # noqa: E402,F401


def _sets(names: list[str]) -> dict[str, list]:
    from mlxagent.tasksuite import instructions, instructions_blind, instructions_fourth, instructions_fresh
    from mlxagent.tasksuite import instructions_heldout, instructions_third

    loaders = {"dev": lambda: instructions.instruction_tasks(),
               "heldout": instructions_heldout.heldout_tasks, "blind": instructions_blind.blind_tasks,
               "fresh": instructions_fresh.fresh_tasks, "third": instructions_third.third_tasks,
               "fourth": instructions_fourth.fourth_tasks}
    return {n: loaders[n]() for n in names}


def _right(task, edit) -> bool:
    out = dict(task.files)
    out.update(dict(edit.files))
    return all(out[p] == text for p, text in task.expected.items()) and all(
        out[p] == task.files[p] for p in task.files if p not in task.expected)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sets", default="dev,heldout,blind,fresh,third,fourth")
    parser.add_argument("--show", action="store_true", help="print each task that is not right first")
    parser.add_argument("--json", default=str(ROOT / "bench" / "results" / "request_rules.json"))
    args = parser.parse_args()
    from mlxagent.core.repair.requested import validated

    results = {}
    print(f"{'set':8} {'tasks':>5} {'right':>5} {'wrong':>5} {'tie':>4} {'none':>4} {'cannot+':>7}")
    for name, tasks in _sets([s.strip() for s in args.sets.split(",") if s.strip()]).items():
        row = {"tasks": 0, "right": 0, "wrong": 0, "tie": 0, "none": 0, "cannot": 0, "cannot_with_candidate": 0}
        for task in tasks:
            edits = sorted(validated(dict(task.files), task.text), key=lambda e: -e.prior)
            if task.kind == "cannot":
                row["cannot"] += 1
                row["cannot_with_candidate"] += bool(edits)
                continue
            row["tasks"] += 1
            if not edits:
                row["none"] += 1
                continue
            tied = [e for e in edits if e.prior == edits[0].prior]
            key = "tie" if len(tied) > 1 else "right" if _right(task, edits[0]) else "wrong"
            row[key] += 1
            if args.show and key != "right":
                print(f"  {task.id}: {key}: {edits[0].description[:80]}")
        results[name] = row
        print(f"{name:8} {row['tasks']:5} {row['right']:5} {row['wrong']:5} {row['tie']:4} {row['none']:4} "
              f"{row['cannot_with_candidate']:3}/{row['cannot']:<3}")
    write_results(results, args.json)


if __name__ == "__main__":
    main()
