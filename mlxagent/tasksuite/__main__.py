"""python -m mlxagent.tasksuite --seed 0 --count 40 --list"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

from . import generate, materialize, suite


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mlxagent.tasksuite",
                                     description="List (or write out) the bug-fix task suite.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--count", type=int, default=40)
    parser.add_argument("--heldout", action="store_true", help="generate from the held-out modules")
    parser.add_argument("--suite", action="store_true", help="include the fixture tasks (suite())")
    parser.add_argument("--list", action="store_true", help="print id, kind and text per task")
    parser.add_argument("--materialize", metavar="DIR", type=Path,
                        help="write each task as a git repo DIR/<id>")
    args = parser.parse_args(argv)
    try:
        if args.suite:
            if args.heldout:
                parser.error("--suite and --heldout do not combine")
            tasks = suite(args.seed, args.count)
        else:
            tasks = generate(args.seed, args.count, heldout=args.heldout)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.list:
        for task in tasks:
            print(f"{task.id}\t{task.mutation}\t{task.text}")
    if args.materialize:
        for task in tasks:
            materialize(task, args.materialize / task.id)
        print(f"wrote {len(tasks)} repos under {args.materialize}", file=sys.stderr)
    if not args.list and not args.materialize:
        print(f"{len(tasks)} tasks from {len({t.module for t in tasks})} modules")
        for kind, n in sorted(Counter(t.mutation for t in tasks).items()):
            print(f"  {kind:16} {n}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
