"""The request rules alone, without the model: on each instruction set, is the candidate the rules rank
first (core/repair/requested.py's priors) the expected edit? Seconds, not minutes: no model is loaded.

    .venv/bin/python bench/request_rules.py [--sets dev,heldout,blind,fresh,third,fourth,fifth,sixth,seventh,eighth] [--show] [--by-kind]

Per set: tasks, first-ranked right, first-ranked wrong (an edit that --yes would write unless the model
reorders an exact tie), ties at the top, none (the model is left to write), and "cannot" requests
that got a candidate. Then what unattended approval (--yes) applies, before and after the trust gate
(core/repair/trust.py: only candidates of a trusted kind are applied unread): right and wrong edits
applied (a candidate for a "cannot" request counts as wrong; a tie is taken in the rules' order, the
model may reorder it). The real agent (bench/tasks.py) adds the model's order of exact ties and the
turn; this is the rules' share of it.

--by-kind: per hypothesis kind of the first-ranked candidate (trust.kind_of; a tie at the top is left
out: the model orders it in a turn, so it says nothing of the rules' precision), right/wrong per set, and
per specificity (trust.label); then the trust table these figures give (`suggested`), beside
trust.TRUSTED, and the same table derived with each set left out and applied to it.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, write_results  # noqa: E402,F401

MIN_PRECISION = 0.9
MIN_SEEN = 5
CONDITIONS = (frozenset(), frozenset({"file"}), frozenset({"old"}), frozenset({"file", "old"}))


def _sets(names: list[str]) -> dict[str, list]:
    from mlxagent.tasksuite import instructions, instructions_blind, instructions_fifth, instructions_fourth
    from mlxagent.tasksuite import instructions_eighth, instructions_fresh, instructions_seventh, instructions_sixth
    from mlxagent.tasksuite import instructions_heldout, instructions_third

    loaders = {"dev": lambda: instructions.instruction_tasks(),
               "heldout": instructions_heldout.heldout_tasks, "blind": instructions_blind.blind_tasks,
               "fresh": instructions_fresh.fresh_tasks, "third": instructions_third.third_tasks,
               "fourth": instructions_fourth.fourth_tasks, "fifth": instructions_fifth.fifth_tasks,
               "sixth": instructions_sixth.sixth_tasks, "seventh": instructions_seventh.seventh_tasks,
               "eighth": instructions_eighth.eighth_tasks}
    return {n: loaders[n]() for n in names}


def _right(task, edit) -> bool:
    out = dict(task.files)
    out.update(dict(edit.files))
    return all(out[p] == text for p, text in task.expected.items()) and all(
        out[p] == task.files[p] for p in task.files if p not in task.expected)


def _tied(edits: list) -> bool:
    """The best two candidates tie on the priors (the model orders them in a turn)."""
    return len(edits) > 1 and edits[1].prior == edits[0].prior


def suggested(seen: list[tuple[str, frozenset, bool]]) -> dict[str, tuple[frozenset, int, int]]:
    """kind -> (specificity, right, all): of the specificities at which a kind's first choices
    reach the bar (MIN_PRECISION over MIN_SEEN or more), the most precise, the least specific of
    equals (a wrong edit applied unread costs more than a question)."""
    out = {}
    for kind in sorted({k for k, _, _ in seen}):
        best = None
        for need in CONDITIONS:
            hits = [ok for k, spec, ok in seen if k == kind and need <= spec]
            if len(hits) >= MIN_SEEN and sum(hits) >= MIN_PRECISION * len(hits):
                if best is None or sum(hits) / len(hits) > best[1] / best[2]:
                    best = (need, sum(hits), len(hits))
        if best:
            out[kind] = best
    return out


def _by_kind(names: list[str], firsts: list[tuple[str, str, str, bool]]) -> None:
    from mlxagent.core.repair.trust import TRUSTED

    table: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    split = {kind for _, kind, lab, _ in firsts if lab != kind}  # kinds seen with some specificity
    for set_name, kind, lab, ok in firsts:
        for row in (kind, "  " + (lab if lab != kind else kind + " (neither)")) if kind in split else (kind,):
            table[row][set_name][0 if ok else 1] += 1
            table[row]["all"][0 if ok else 1] += 1
    order = sorted(table, key=lambda r: (r.strip().split("+")[0], r.startswith(" "), r))
    print(f"\n{'kind (+specificity)':30}" + "".join(f"{n:>8}" for n in names + ["all"]) + "   right")
    for row in order:
        cells = "".join(f"{'%d/%d' % tuple(table[row][n]) if sum(table[row][n]) else '-':>8}" for n in names + ["all"])
        right, wrong = table[row]["all"]
        print(f"{row:30}{cells}   {right / (right + wrong):5.0%}")
    print("(cells: first-ranked right/wrong)")
    seen = [(kind, frozenset(lab.split("+")[1:]), ok) for _, kind, lab, ok in firsts]
    got = suggested(seen)
    print(f"\ntrusted by these figures (>= {MIN_PRECISION:.0%} over >= {MIN_SEEN}; the most precise specificity, "
          "the least specific of equals):")
    for kind, (need, right, n) in got.items():
        mark = "" if TRUSTED.get(kind) == need else "   (differs from trust.TRUSTED)"
        print(f"  {kind:24} {'+'.join(sorted(need)) or '(any)':10} {right}/{n}{mark}")
    for kind in sorted(set(TRUSTED) - set(got)):
        print(f"  {kind:24} in trust.TRUSTED but not reached here")
    print("\nleave one set out (the table derived from the other sets, applied to this one): "
          "right applied, wrong applied, of right/wrong first choices")
    for held in names:
        table = suggested([(k, spec, ok) for (n, *_), (k, spec, ok) in zip(firsts, seen) if n != held])
        mine = [(k, spec, ok) for (n, *_), (k, spec, ok) in zip(firsts, seen) if n == held]
        applied = [ok for k, spec, ok in mine if k in table and table[k][0] <= spec]
        print(f"  {held:8} {sum(applied):3} {len(applied) - sum(applied):3}   of {sum(ok for *_, ok in mine)}/"
              f"{sum(not ok for *_, ok in mine)}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sets", default="dev,heldout,blind,fresh,third,fourth,fifth,sixth")
    parser.add_argument("--show", action="store_true", help="print each task that is not right first")
    parser.add_argument("--by-kind", action="store_true", help="right/wrong first choices per hypothesis kind")
    parser.add_argument("--json", default=str(ROOT / "bench" / "results" / "request_rules.json"))
    args = parser.parse_args()
    from mlxagent.core.repair.requested import validated
    from mlxagent.core.repair.trust import kind_of, label, trusted

    results = {}
    firsts: list[tuple[str, str, str, bool]] = []
    print(f"{'set':8} {'tasks':>5} {'right':>5} {'wrong':>5} {'tie':>4} {'none':>4} {'cannot+':>7}"
          f"   unattended: right applied before/after, wrong applied before/after, held")
    names = [s.strip() for s in args.sets.split(",") if s.strip()]
    for name, tasks in _sets(names).items():
        row = {"tasks": 0, "right": 0, "wrong": 0, "tie": 0, "none": 0, "cannot": 0, "cannot_with_candidate": 0,
               "right_applied_before": 0, "right_applied_after": 0, "wrong_applied_before": 0,
               "wrong_applied_after": 0, "held": 0}
        for task in tasks:
            edits = sorted(validated(dict(task.files), task.text), key=lambda e: -e.prior)
            if edits:
                ok = task.kind != "cannot" and _right(task, edits[0])
                gate = trusted(edits[0], task.text)
                if not _tied(edits):  # a tie at the top is the model's to order in a turn, not the rules'
                    firsts.append((name, kind_of(edits[0]), label(edits[0], task.text), ok))
                row["right_applied_before" if ok else "wrong_applied_before"] += 1
                row["right_applied_after" if ok else "wrong_applied_after"] += gate
                row["held"] += not gate
            if task.kind == "cannot":
                row["cannot"] += 1
                row["cannot_with_candidate"] += bool(edits)
                continue
            row["tasks"] += 1
            if not edits:
                row["none"] += 1
                if args.show:
                    print(f"  {task.id}: none")
                continue
            tied = [e for e in edits if e.prior == edits[0].prior]
            key = "tie" if len(tied) > 1 else "right" if _right(task, edits[0]) else "wrong"
            row[key] += 1
            if args.show and key != "right":
                print(f"  {task.id}: {key}: {label(edits[0], task.text)}: {edits[0].description[:80]}")
        results[name] = row
        print(f"{name:8} {row['tasks']:5} {row['right']:5} {row['wrong']:5} {row['tie']:4} {row['none']:4} "
              f"{row['cannot_with_candidate']:3}/{row['cannot']:<3}   {row['right_applied_before']:3} → "
              f"{row['right_applied_after']:<3} {row['wrong_applied_before']:3} → {row['wrong_applied_after']:<3}"
              f" {row['held']:3}")
    if args.by_kind:
        _by_kind(names, firsts)
        results["first_choices"] = [list(f) for f in firsts]
    write_results(results, args.json)


if __name__ == "__main__":
    main()
