"""The candidate search's rules alone on HumanEvalFix: is the solution's edit among the candidates
the rules make, and where does it rank by its prior? No model, no checks: seconds an item.

    .venv/bin/python bench/repair_rules.py --data $G --rev HEAD [--lang both] [--items 10,24] [--json PATH] [-v]

Each item becomes the same git repo bench/public_bugs.py makes; its tests run once for the report
the agent would have (pytest with this Python and the agent's flags, or `node --test`), the spectrum
is measured for Python (as the agent does), and `candidates()` runs with the item's request. An item
is "made" when a candidate's file equals the solution's (white space ignored: the dataset's solutions add blank
lines, and `n+1` is `n + 1`): a lower bound, as
another edit may pass the tests too. Reported per language: made, the prior rank of the solution's
candidate (the model scores the best MAX_SCORED by prior, and when none of those passes more, up to
MORE_SCORED while the scoring is quick: a rank past that is never seen), and the
candidates' count; with `--check N` the tests also run on the best N by prior, and the first that
passes is counted ("passing": the tests' verdict, the lower bound's upper partner). The agent's own runs (public_bugs.py) say what the model and the checks then do.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import write_results  # noqa: E402
from public_bugs import DEFAULT_SUBDIR, Dataset, DatasetError, convert, select  # noqa: E402

from mlxagent.blas import reexec_openblas  # noqa: E402
from mlxagent.core.repair import Sources, candidates  # noqa: E402
from mlxagent.core.repair.ranking import MAX_SCORED, MORE_SCORED  # noqa: E402
from mlxagent.core.repair.spectrum import measure  # noqa: E402
from mlxagent.core.testing.detect import PYTEST_FLAGS, TestCommand  # noqa: E402
from mlxagent.core.testing.report import parse_test_output  # noqa: E402
from mlxagent.core.testing.runner import run_command  # noqa: E402
from mlxagent.tasksuite import materialize  # noqa: E402


def _norm(text: str) -> str:
    return re.sub(r"\s+", "", text)


def command_of(lang: str) -> TestCommand:
    if lang == "python":
        return TestCommand((sys.executable, "-m", "pytest", *PYTEST_FLAGS), "pytest", "bench")
    return TestCommand(("node", "--test"), "node", "bench")


def first_passing(root: Path, cands, command: TestCommand, upto: int) -> int | None:
    """The prior rank of the first of the best `upto` candidates whose files make the tests pass."""
    for n, c in enumerate(cands[:upto], 1):
        saved = {rel: (root / rel).read_bytes() for rel, _ in c.files}
        for rel, text in c.files:
            (root / rel).write_text(text, encoding="utf-8")
        try:
            result = run_command(list(command.argv), root, timeout=10)
        finally:
            for rel, data in saved.items():
                (root / rel).write_bytes(data)
        if result.exit_code == 0:
            return n
    return None


def one(task, lang: str, timeout: float = 30, check: int = 0) -> dict:
    command = command_of(lang)
    (path, fixed), = task.fixed.items()
    with tempfile.TemporaryDirectory(prefix="mlxagent-rules-") as tmp:
        root = materialize(task, Path(tmp) / "repo")
        files = sorted(task.files)
        result = run_command(list(command.argv), root, timeout=timeout)
        report = parse_test_output(result.output, result.exit_code, root, command.runner)
        spectrum = measure(root, files, command) if lang == "python" and result.exit_code is not None else None
        started = time.monotonic()
        cands = sorted(candidates(Sources(root, files), task.text, report, spectrum=spectrum), key=lambda c: -c.prior)
        seconds = time.monotonic() - started
        want = _norm(fixed)
        rank = next((n for n, c in enumerate(cands, 1) if _norm(dict(c.files).get(path, "")) == want), None)
        passing = rank if rank is not None and rank <= check else (
            first_passing(root, cands, command, check) if check else None)
    rule = cands[rank - 1].rule if rank else None
    return {"item": task.id.removeprefix("humanevalfix-"), "lang": lang, "made": rank is not None, "rank": rank,
            "rule": rule, "passing": passing, "candidates": len(cands), "failures": len(report.failures) if report else 0,
            "timed_out": result.exit_code is None, "seconds": round(seconds, 2)}


def summary(rows: list[dict]) -> dict:
    made = [r for r in rows if r["made"]]
    ranks = [r["rank"] for r in made]
    return {"items": len(rows), "made": len(made), "within_scored": sum(1 for r in ranks if r <= MAX_SCORED),
            "within_more": sum(1 for r in ranks if r <= MORE_SCORED),
            "top14": sum(1 for r in ranks if r <= 14),
            "passing": sum(1 for r in rows if r["passing"]), "top1": sum(1 for r in ranks if r == 1),
            "median_rank": statistics.median(ranks) if ranks else None,
            "median_candidates": statistics.median([r["candidates"] for r in rows]) if rows else None}


def main() -> int:
    reexec_openblas(__file__)
    os.environ.setdefault("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--rev", default=None)
    parser.add_argument("--subdir", default=DEFAULT_SUBDIR)
    parser.add_argument("--lang", choices=("python", "javascript", "both"), default="both")
    parser.add_argument("--items", default="", help="only these item numbers, e.g. 10,114")
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--sample-seed", type=int, default=None)
    parser.add_argument("--check", type=int, default=0,
                        help="also run the tests on the best N by prior (first passing one's rank: another fix may pass)")
    parser.add_argument("--json", default=None)
    parser.add_argument("-v", "--verbose", action="store_true", help="a line per item")
    args = parser.parse_args()
    try:
        dataset = Dataset(args.data, args.rev, args.subdir)
    except DatasetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    wanted = {int(n) for n in args.items.split(",") if n.strip()} if args.items else None
    langs = ["python", "javascript"] if args.lang == "both" else [args.lang]
    rows: list[dict] = []
    for lang in langs:
        folders = dataset.folders(lang)
        numbers = [int(f.rsplit("_", 1)[1]) for f in folders]
        if wanted is not None:
            numbers = [n for n in numbers if n in wanted]
        numbers = select(numbers, args.limit, args.sample_seed)
        dataset.prefetch([f"{lang}_{n}" for n in numbers],
                         ("instruction.md", f"solution/solution.{'py' if lang == 'python' else 'js'}",
                          "tests/test_code.txt"))
        for n in numbers:
            try:
                task = convert(dataset, f"{lang}_{n}")
            except ValueError as exc:
                print(f"{lang}_{n}: skipped: {exc}", file=sys.stderr)
                continue
            row = one(task, lang, check=args.check)
            rows.append(row)
            if args.verbose:
                print(f"{row['item']:16} {'made' if row['made'] else '-':5} rank={str(row['rank']):>5} "
                      f"{row['rule'] or '':10} of {row['candidates']:4d} passing={row['passing']}{'  (timed out)' if row['timed_out'] else ''}",
                      flush=True)
    out = {lang: summary([r for r in rows if r["lang"] == lang]) for lang in langs}
    print(f"\n{'lang':11} {'items':>5} {'made':>5} {'<=' + str(MAX_SCORED):>6} {'<=14':>5} {'first':>5} "
          f"{'<=' + str(MORE_SCORED):>6} {'med rank':>8} {'med cands':>9} {'passing':>7}")
    for lang, s in out.items():
        print(f"{lang:11} {s['items']:5d} {s['made']:5d} {s['within_scored']:6d} {s['top14']:5d} {s['top1']:5d} "
              f"{s['within_more']:6d} {str(s['median_rank']):>8} {str(s['median_candidates']):>9} {s['passing']:7d}")
    if args.json:
        write_results({"summary": out, "rows": rows}, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
