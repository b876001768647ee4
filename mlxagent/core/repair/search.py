"""The search itself: candidates → ranked by the model → checked in a scratch copy until one
passes (`search()`, returning a `RepairResult`), and `first_change()` to show the winner as an edit."""

from __future__ import annotations

import difflib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

from ..testing.report import TestReport
from .candidates import Candidate, candidates
from .ranking import MAX_SCORED, Scorer, _context, rank
from .sampled import sampled
from .scratch import ScratchCopy, clean_stale
from .sources import Sources

MAX_CHECKED = 14  # candidates the tests check, best-ranked first, whatever the tests cost
CHECK_SECONDS = 150.0  # time for all checks together
# When the tests are fast, more are checked: past MAX_CHECKED, the next one is tried while the checks
# so far plus one more of their average length fit in FAST_SECONDS, up to FAST_CHECKED in all.
FAST_CHECKED = 48
FAST_SECONDS = 30.0
SAMPLED_CHECKED = 8  # the model's own rewrites checked, when no rule-made candidate passed

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
           sampled_checked: int = SAMPLED_CHECKED) -> Iterator[tuple[str, int, int, str]]:
    """The whole search: candidates → ranked → checked in a scratch copy until one passes.

    A generator: yields (stage, candidates, checked, message) as it goes and returns the
    RepairResult (`result = yield from search(...)`). `spectrum`: Ochiai scores of the lines the
    tests ran (spectrum.py), for where to look; None: the traceback and the request only.
    `max_checked` are checked in any case (within `check_seconds`); more, up to `fast_checked`, only
    while all the checks fit in `fast_seconds` (fast tests: a wider search costs little). `sample`: a
    model's `sample_batch`; when no rule-made candidate passed, the model's own rewrites of the top
    suspect lines (sampled.py) are ranked and the best `sampled_checked` checked, within the same time."""
    excluded = set(exclude)
    cands = [c for c in candidates(sources, request, report, spectrum=spectrum) if c.files not in excluded]
    yield ("candidates", len(cands), 0, f"{len(cands)} candidate edits near the failure")
    result = RepairResult(None, considered=len(cands))
    if not cands:
        result.message = "no candidate edits: nothing in the failure or the request points at a line to change"
        return result
    context = _context(request, report)
    ranked = rank(cands, sources, scorer, context)
    result.scored = min(len(cands), MAX_SCORED) if scorer is not None else 0
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
    try:
        for c in ranked[:max(max_checked, fast_checked)]:
            if cancel():
                result.interrupted = True
                break
            now = time.monotonic()
            if now > deadline:
                break
            done = len(result.checked)
            if done >= max_checked and (now - started) * (done + 1) / done > fast_seconds:
                break  # slow tests: the best-ranked few only
            scratch.apply(c.files)
            try:
                ok = checker(scratch.root)
            finally:
                scratch.restore()
            if cancel() and not ok:  # cut short: a failed check says nothing about this candidate
                result.interrupted = True
                break
            result.checked.append((c, ok))
            yield ("checked", len(ranked), len(result.checked), c.description)
            if ok:
                result.found = c
                break
        if result.found is None and not result.interrupted and sample is not None and time.monotonic() < deadline:
            # The rules ran out: the model's own rewrites of the top suspect lines (sampled.py).
            yield ("sampled", len(ranked), len(result.checked),
                   "the model writes its own rewrites of the suspect lines")
            tried = excluded | {c.files for c, _ in result.checked}
            extra = sampled(sources, request, report, sample, spectrum=spectrum, cancel=cancel, exclude=tried)
            result.considered += len(extra)
            yield ("sampled", len(ranked) + len(extra), len(result.checked),
                   f"{len(extra)} rewrites sampled from the model")
            for c in rank(extra, sources, scorer, context)[:sampled_checked]:
                if cancel() or time.monotonic() > deadline:
                    result.interrupted = cancel()
                    break
                scratch.apply(c.files)
                try:
                    ok = checker(scratch.root)
                finally:
                    scratch.restore()
                if cancel() and not ok:
                    result.interrupted = True
                    break
                result.checked.append((c, ok))
                yield ("checked", len(ranked) + len(extra), len(result.checked), c.description)
                if ok:
                    result.found = c
                    break
            cands = cands + extra
    finally:
        scratch.close()
    if result.found is not None:
        result.message = (f"{result.found.description} makes the tests pass (checked {len(result.checked)} of "
                          f"{len(cands)} candidates in a scratch copy)")
        yield ("found", len(ranked), len(result.checked), result.message)
    elif result.interrupted:
        result.message = (f"the candidate search was interrupted after checking {len(result.checked)} of "
                          f"{len(cands)} candidate edits (none of those passed; the rest were not tried)")
        yield ("interrupted", len(ranked), len(result.checked), result.message)
    else:
        result.message = f"none of the {len(result.checked)} best-ranked of {len(cands)} candidate edits made the tests pass"
        yield ("none", len(ranked), len(result.checked), result.message)
    return result


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
