"""How the model ranks candidates: `rank()` scores each candidate file against the buggy one,
after the chat `scoring_messages()` builds from the task and the failure (`_context`)."""

from __future__ import annotations

from typing import Callable

from ..testing.report import TestReport
from .candidates import Candidate
from .sources import Sources

MAX_SCORED = 120  # candidates the model scores

Scorer = Callable[[str, str, str, list[str]], list[float]]  # (path, request+failure text, base, variants)


def rank(cands: list[Candidate], sources: Sources, scorer: Scorer | None, context: str,
         max_scored: int = MAX_SCORED) -> list[Candidate]:
    """Candidates ordered by the model's score (prior order breaks ties; unscored ones last)."""
    head = sorted(cands, key=lambda c: -c.prior)[:max_scored]
    if scorer is None:
        return head
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
    return sorted(scored, key=lambda c: -c.score)


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
