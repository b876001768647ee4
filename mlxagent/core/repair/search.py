"""The search itself: candidates → ranked by the model → checked in a scratch copy until one
passes (`search()`, returning a `RepairResult`), and `first_change()` to show the winner as an edit."""

from __future__ import annotations

import difflib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

from ..testing.report import TestReport
from .candidates import Candidate, candidates
from .ranking import MORE_SCORED, SCORE_CHUNK, SCORE_SECONDS, Scorer, _context, rank
from .sampled import sampled
from .scratch import ScratchCopy, clean_stale
from .sources import Sources

MAX_CHECKED = 14  # candidates the tests check, best-ranked first, whatever the tests cost
CHECK_SECONDS = 150.0  # time for all checks together
# When the tests are fast, more are checked: past MAX_CHECKED, the next one is tried while the checks
# so far plus one more of their average length fit in FAST_SECONDS, up to FAST_CHECKED in all.
FAST_CHECKED = 120  # (ranking.MAX_SCORED: every candidate the model scored, while the checks stay fast)
FAST_SECONDS = 30.0
SAMPLED_CHECKED = 8  # the model's own rewrites checked, when no rule-made candidate passed
MORE_CHECKED = 14  # of the candidates past the best by prior, when none of those passed (ranking.MORE_SCORED)

Checker = Callable[[Path], bool]  # runs the tests in a scratch root; True when they pass


@dataclass
class RepairResult:
    found: Candidate | None
    considered: int = 0
    scored: int = 0
    checked: list[tuple[Candidate, bool]] = field(default_factory=list)
    message: str = ""
    interrupted: bool = False  # cancelled before it was done: not a verdict on the candidates


def search(sources: Sources, request: str, report: TestReport | None, scorer: Scorer | None,
           checker: Checker, *, max_checked: int = MAX_CHECKED, check_seconds: float = CHECK_SECONDS,
           fast_checked: int = FAST_CHECKED, fast_seconds: float = FAST_SECONDS,
           cancel: Callable[[], bool] = lambda: False,
           exclude: Iterable[tuple[tuple[str, str], ...]] = (),
           spectrum: dict[tuple[str, int], float] | None = None,
           sample: Callable | None = None,
           sampled_checked: int = SAMPLED_CHECKED,
           first: Sequence[Candidate] = ()) -> Iterator[tuple[str, int, int, str]]:
    """The whole search: candidates → ranked → checked in a scratch copy until one passes.

    A generator: yields (stage, candidates, checked, message) as it goes and returns the
    RepairResult (`result = yield from search(...)`). `spectrum`: Ochiai scores of the lines the
    tests ran (spectrum.py), for where to look; None: the traceback and the request only.
    `max_checked` are checked in any case (within `check_seconds`); more, up to `fast_checked`, only
    while all the checks fit in `fast_seconds` (fast tests: a wider search costs little). When none
    passed, the model scores more of the candidates past the best by prior (ranking.MORE_SCORED,
    within ranking.SCORE_SECONDS) and the best MORE_CHECKED of those are checked. `sample`: a
    model's `sample_batch`; when no rule-made candidate passed, the model's own rewrites of the top
    suspect lines (sampled.py) are ranked and the best `sampled_checked` checked, within the same time.
    `first`: candidates the tests' own values call for (conditions.py), ranked by the model among
    themselves and checked before all others (which are ranked only when none of these passed)."""
    excluded = set(exclude)
    first = [c for c in first if c.files not in excluded]
    firsts = {c.files for c in first}
    cands = first + [c for c in candidates(sources, request, report, spectrum=spectrum)
                     if c.files not in excluded and c.files not in firsts]
    yield ("candidates", len(cands), 0, f"{len(cands)} candidate edits near the failure")
    result = RepairResult(None, considered=len(cands))
    if not cands:
        result.message = "no candidate edits: nothing in the failure or the request points at a line to change"
        return result
    context = _context(request, report)
    main = cands[len(first):]

    def rank_main() -> list[Candidate]:
        return _with_prior_best(rank(main, sources, scorer, context), max_checked)

    # the synthesised ones first, and only when none of them passes are the others ranked
    ranked = rank(first, sources, scorer, context, max_scored=len(first)) if first else rank_main()
    ranked_main: list[Candidate] = [] if first else ranked
    result.scored = len(ranked) if scorer is not None else 0
    yield ("ranked", len(ranked), 0, f"the model ranked {result.scored} of them")
    if cancel():
        result.interrupted = True
        result.message = f"the candidate search was interrupted before any of {len(cands)} candidate edits was checked"
        yield ("interrupted", len(ranked), 0, result.message)
        return result
    clean_stale()  # copies left by searches that were killed
    scratch = ScratchCopy(sources.root, sources.paths)
    started = time.monotonic()
    deadline = started + check_seconds
    total = len(ranked)

    def check(batch: list[Candidate], most: int, fast: int) -> Iterator[tuple[str, int, int, str]]:
        """Check `batch` in order until one passes: `most` in any case, up to `fast` while fast."""
        began, done_before = time.monotonic(), len(result.checked)
        for c in batch[:max(most, fast)]:
            if cancel():
                result.interrupted = True
                return
            now = time.monotonic()
            done = len(result.checked) - done_before
            if now > deadline or (done >= most and (now - began) * (done + 1) / done > fast_seconds):
                return  # out of time, or slow tests: the best-ranked few only
            scratch.apply(c.files)
            try:
                ok = checker(scratch.root)
            finally:
                scratch.restore()
            if cancel() and not ok:  # cut short: a failed check says nothing about this candidate
                result.interrupted = True
                return
            result.checked.append((c, ok))
            yield ("checked", total, len(result.checked), c.description)
            if ok:
                result.found = c
                return

    try:
        if first:
            yield from check(ranked, len(ranked), len(ranked))
            if result.found is None and not result.interrupted and main:
                ranked_main = rank_main()
                result.scored += len(ranked_main) if scorer is not None else 0
                total += len(ranked_main)
                yield ("ranked", total, len(result.checked),
                       f"none of those passed: the model ranked {len(ranked_main)} more")
        if result.found is None and not result.interrupted and ranked_main:
            yield from check(ranked_main, max_checked, fast_checked)
        if result.found is None and not result.interrupted and scorer is not None and len(main) > len(ranked_main) \
                and time.monotonic() < deadline:
            # Past the best by prior: a long function whose lines the tests cannot tell apart gives
            # hundreds of candidates of one place; the model scores more of them while that is quick.
            yield ("ranked", total, len(result.checked), "none of those passed: the model ranks more of the candidates")
            rest = rank(sorted(main, key=lambda c: -c.prior)[len(ranked_main):], sources, scorer, context,
                        max_scored=SCORE_CHUNK, more=MORE_SCORED - len(ranked_main), seconds=SCORE_SECONDS)
            result.scored += len(rest)
            total += len(rest)
            yield ("ranked", total, len(result.checked), f"the model ranked {len(rest)} more")
            yield from check(rest, MORE_CHECKED, MORE_CHECKED)
        if result.found is None and not result.interrupted and sample is not None and time.monotonic() < deadline:
            # The rules ran out: the model's own rewrites of the top suspect lines (sampled.py).
            yield ("sampled", total, len(result.checked), "the model writes its own rewrites of the suspect lines")
            tried = excluded | {c.files for c, _ in result.checked}
            extra = sampled(sources, request, report, sample, spectrum=spectrum, cancel=cancel, exclude=tried)
            result.considered += len(extra)
            total += len(extra)
            yield ("sampled", total, len(result.checked), f"{len(extra)} rewrites sampled from the model")
            yield from check(rank(extra, sources, scorer, context), sampled_checked, sampled_checked)
            cands = cands + extra
    finally:
        scratch.close()
    if result.found is not None:
        result.message = (f"{result.found.description} makes the tests pass (checked {len(result.checked)} of "
                          f"{len(cands)} candidates in a scratch copy)")
        yield ("found", total, len(result.checked), result.message)
    elif result.interrupted:
        result.message = (f"the candidate search was interrupted after checking {len(result.checked)} of "
                          f"{len(cands)} candidate edits (none of those passed; the rest were not tried)")
        yield ("interrupted", total, len(result.checked), result.message)
    else:
        result.message = f"none of the {len(result.checked)} best-ranked of {len(cands)} candidate edits made the tests pass"
        yield ("none", total, len(result.checked), result.message)
    return result


PRIOR_CHECKED = 3  # the best by prior alone, checked within the first `max_checked` whatever the model says


def _with_prior_best(ranked: list[Candidate], max_checked: int) -> list[Candidate]:
    """The model's order, with the best PRIOR_CHECKED by prior moved up to just before the
    `max_checked`-th place where the model put them later: a candidate on the failing line by the
    likeliest rule is worth a check even when the model does not like its text."""
    best = sorted(ranked, key=lambda c: -c.prior)[:PRIOR_CHECKED]
    head = ranked[:max(max_checked - PRIOR_CHECKED, 0)]
    in_head = {id(c) for c in head}
    moved = [c for c in best if id(c) not in in_head]
    gone = {id(c) for c in moved}
    return head + moved + [c for c in ranked[len(head):] if id(c) not in gone]


def first_change(old: str, new: str) -> tuple[str, str]:
    """The smallest (search, replace) pair of whole lines that turns `old` into `new` in one
    place (unique in `old`), for showing a candidate as an edit_file call."""
    a, b = old.splitlines(keepends=True), new.splitlines(keepends=True)
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    ops = [op for op in matcher.get_opcodes() if op[0] != "equal"]
    if not ops:
        return "", ""
    i1, i2, j1, j2 = ops[0][1], ops[-1][2], ops[0][3], ops[-1][4]
    while True:
        search = "".join(a[i1:i2])
        if search and old.count(search) == 1:
            return search, "".join(b[j1:j2])
        if i1 == 0 and i2 >= len(a):
            return old, new
        if i1 > 0:
            i1, j1 = i1 - 1, j1 - 1
        if i2 < len(a):
            i2, j2 = i2 + 1, j2 + 1
