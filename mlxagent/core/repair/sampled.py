"""When the rules run out: the model's own rewrites of the most suspect lines (`sampled()`).

For each of the top few suspect lines (localise.py), the model sees the enclosing function with the
line marked and the failing test's message, and writes the corrected line; N samples per line are
drawn together in one batch (a model's duck-typed `sample_batch`, model/batch_sample.py; a model
without it, such as a remote one, gives none). Kept: one line, changed, same indentation, the file
still parses; deduplicated. Each becomes a `Candidate` (rule "sampled", a low prior) for the same
ranking and checks as the rule-made ones (search.py).
"""

from __future__ import annotations

import ast
from typing import Any, Callable

from ..testing.report import TestReport
from ..validation.gate import syntax_problem
from .candidates import Candidate
from .localise import suspects
from .sources import Sources, _enclosing, is_test_path

TOP_SUSPECTS = 3  # lines rewritten
SAMPLES = 16  # rewrites drawn per line, in one batch
TEMPERATURE = 0.8
TOP_P = 0.95
MAX_TOKENS = 48
PRIOR = 0.05  # below the rules': the model's score decides among them
CONTEXT_LINES = 8  # around the line, when no enclosing Python function is known
MARK = "  # <-- this line is wrong"


def sampler_of(model: Any):
    """The model's `sample_batch`, or None when it has none (remote models)."""
    return getattr(model, "sample_batch", None)


def _window(sources: Sources, path: str, line: int) -> tuple[int, int]:
    """1-based first and last line shown around `line`."""
    fn = _enclosing(sources.functions(path), line) if path.endswith(".py") else None
    if fn is not None and (fn.end_lineno or fn.lineno) - fn.lineno < 60:
        return fn.lineno, fn.end_lineno or fn.lineno
    total = len(sources.lines(path))
    return max(1, line - CONTEXT_LINES), min(total, line + CONTEXT_LINES)


def prompt_for(sources: Sources, path: str, line: int, failure: str) -> tuple[list[dict], str]:
    """The chat asking for the corrected line, and the start of the reply (fence and indentation)."""
    lines = sources.lines(path)
    first, last = _window(sources, path, line)
    shown = []
    for i in range(first, last + 1):
        text = lines[i - 1].rstrip("\r\n")
        shown.append(text + MARK if i == line else text)
    original = lines[line - 1].rstrip("\r\n")
    indent = original[:len(original) - len(original.lstrip())]
    fence = "```"
    body = "\n".join(shown)
    user = (f"{failure.strip()}\n\n{path}:\n{fence}\n{body}\n{fence}\n\n"
            f"The marked line is wrong:\n{fence}\n{original}\n{fence}\nWrite the corrected line only.")
    messages = [{"role": "system", "content": "You are a careful programmer who fixes bugs."},
                {"role": "user", "content": user}]
    # One space short: a tokenizer that joins a word's leading space to it writes that space itself.
    return messages, f"{fence}\n{indent[:-1]}"


def _failure_text(report: TestReport | None, request: str) -> str:
    if report is not None and report.failures:
        f = report.failures[0]
        return f"Failing test: {f.name}\n{f.message.strip()[:400]}"
    return f"Task: {request.strip()[:400]}"


def _parses(path: str, before: str, after: str) -> bool:
    if path.endswith(".py"):
        try:
            ast.parse(after)
            return True
        except (SyntaxError, ValueError):
            return False
    return syntax_problem(path, before.encode(), after.encode()) is None


def rewrites(original: str, samples: list[str], indent: str) -> list[str]:
    """The usable rewrites of one line (without its line ending), each sample written after the
    indentation less one space (`prompt_for`): one line, changed, indented like the original,
    deduplicated, in the order drawn."""
    out: list[str] = []
    for s in samples:
        text = (indent[:-1] + s).rstrip()
        if text.endswith(MARK.strip()):  # the prompt's marker copied back
            text = text[:-len(MARK.strip())].rstrip()
        if "\n" in text or "\r" in text or not text.strip():
            continue
        if text.strip() == original.strip() or not text.startswith(indent) or text[len(indent):][:1].isspace():
            continue
        if text not in out:
            out.append(text)
    return out


def sampled(sources: Sources, request: str, report: TestReport | None, sample: Callable | None, *,
            spectrum: dict[tuple[str, int], float] | None = None, top: int = TOP_SUSPECTS, n: int = SAMPLES,
            cancel: Callable[[], bool] = lambda: False, exclude=()) -> list[Candidate]:
    """Candidates from the model's sampled rewrites of the `top` suspect lines (none without `sample`)."""
    if sample is None:
        return []
    excluded = set(exclude)
    failure = _failure_text(report, request)
    out: list[Candidate] = []
    seen: set = set()
    done = 0
    for suspect in suspects(sources, report, request, spectrum):
        if done >= top or cancel():
            break
        path, line = suspect.path, suspect.line
        lines = sources.lines(path)
        text = sources.text(path)
        if is_test_path(path) or text is None or not 1 <= line <= len(lines) or not lines[line - 1].strip():
            continue
        done += 1
        messages, prefix = prompt_for(sources, path, line, failure)
        raw = lines[line - 1]
        original = raw.rstrip("\r\n")
        ending = raw[len(original):]
        indent = original[:len(original) - len(original.lstrip())]
        samples = sample(messages, n, temperature=TEMPERATURE, top_p=TOP_P, max_tokens=MAX_TOKENS,
                         stop=("\n", "```"), prefix=prefix, cancel=cancel)
        for new in rewrites(original, list(samples), indent):
            new_text = "".join(lines[:line - 1]) + new + ending + "".join(lines[line:])
            files = ((path, new_text),)
            if files in seen or files in excluded or not _parses(path, text, new_text):
                continue
            seen.add(files)
            out.append(Candidate(files, path, line, "sampled",
                                 f"{path}:{line}: {original.strip()} → {new.strip()}", prior=PRIOR * suspect.weight))
    return out
