"""How the model ranks candidates: `rank()` scores each candidate file against the buggy one,
after the chat `scoring_messages()` builds from the task and the failure (`_context`)."""

from __future__ import annotations

import time
from typing import Callable

from ..testing.report import TestReport
from .candidates import Candidate
from .sources import Sources

MAX_SCORED = 120  # candidates the model scores in any case
MORE_SCORED = 360  # at most in all, when none of the first passed, while the scoring stays within SCORE_SECONDS
SCORE_SECONDS = 30.0
SCORE_CHUNK = 60  # candidates scored together past MAX_SCORED (each call prefills the file again)

Scorer = Callable[[str, str, str, list[str]], list[float]]  # (path, request+failure text, base, variants)


def rank(cands: list[Candidate], sources: Sources, scorer: Scorer | None, context: str,
         max_scored: int = MAX_SCORED, more: int | None = None, seconds: float = SCORE_SECONDS,
         clock: Callable[[], float] = time.monotonic) -> list[Candidate]:
    """Candidates ordered by the model's score (prior order breaks ties; unscored ones are left out).

    The best `max_scored` by prior are scored in any case; with `more`, past them, up to `more` in
    all, a chunk at a time while the time spent and a chunk more at the pace so far fit in
    `seconds` (search.py does this when none of the first ones passed: a long function whose lines
    the tests cannot tell apart gives hundreds of candidates of one place, and the model, not the
    prior, is the judge that finds the fix among them)."""
    more = max_scored if more is None else more
    ordered = sorted(cands, key=lambda c: -c.prior)
    if scorer is None:
        return ordered[:max_scored]
    started = clock()
    scored = _scored(ordered[:max_scored], sources, scorer, context)
    while len(scored) < min(more, len(ordered)):
        spent = clock() - started
        chunk = ordered[len(scored):min(more, len(scored) + SCORE_CHUNK)]
        if spent + spent / max(len(scored), 1) * len(chunk) > seconds:
            break
        new = _scored(chunk, sources, scorer, context)
        scored += new
        if len(new) < len(chunk) or any(c.score == float("-inf") for c in new):
            break  # the scorer was cancelled
    return sorted(scored, key=lambda c: -c.score)


def _scored(head: list[Candidate], sources: Sources, scorer: Scorer, context: str) -> list[Candidate]:
    """`head` with the model's scores (a file's candidates in one call to the scorer)."""
    by_path: dict[str, list[int]] = {}
    for i, c in enumerate(head):
        by_path.setdefault(c.path, []).append(i)
    scored = list(head)
    for path, indices in by_path.items():
        base = sources.text(path) or ""
        variants = [dict(head[i].files)[path] for i in indices]
        scores = scorer(path, context, base, variants)
        scores = list(scores) + [float("-inf")] * (len(indices) - len(scores))  # a cancelled scorer stops early
        for i, s in zip(indices, scores):
            scored[i] = _with_score(head[i], s)
    return scored


def _with_score(c: Candidate, score: float) -> Candidate:
    from dataclasses import replace

    return replace(c, score=score)


def _context(request: str, report: TestReport | None) -> str:
    parts = [f"Task: {request.strip()}"]
    if report is not None and report.failures:
        f = report.failures[0]
        parts.append(f"Failing test: {f.name}\n{f.message.strip()[:400]}")
    return "\n".join(parts)


def scoring_messages(path: str, context: str, base: str) -> tuple[list[dict], str]:
    """The chat the model scores candidate files after, and how a file is written as the reply."""
    fence = "```"
    lang = {"py": "python", "js": "javascript", "ts": "typescript", "rs": "rust", "go": "go"}.get(
        path.rsplit(".", 1)[-1], "")
    messages = [
        {"role": "system", "content": "You are a careful programmer who fixes bugs."},
        {"role": "user", "content": f"{context}\n\n{path}:\n{fence}{lang}\n{base}{fence}\n\nWrite the fixed file."},
    ]
    return messages, f"{fence}{lang}\n{{}}{fence}"
