"""Instruction tasks: plain requests with no test behind them (mlxagent/tasksuite/instructions.py and
instructions_heldout.py), their check and the per-file-kind summary (harness.run_task runs the turn).

A normal task passes when the repository's files afterwards are exactly the expected bytes (the
files in `expected` equal it, every other file is byte-identical, nothing was deleted or added).
A "cannot" task (a request no rule can carry out) passes when nothing was deleted and every file
that parsed before still parses. Every check also reports the files left unparseable.
"""

from __future__ import annotations

import configparser
import json
import statistics
import tomllib
from dataclasses import dataclass
from pathlib import Path

FILE_KINDS = ("py", "json", "toml", "ini", "yaml", "md", "js")
CANNOT = "cannot"
IGNORED_DIRS = (".git", ".mlxagent", "__pycache__")


@dataclass(frozen=True)
class InstructionTask:
    id: str                      # "instr-<kind>-<n>"
    text: str                    # the request, as a user would type it
    files: dict[str, str]        # the repo's files (path -> text as written to disk)
    expected: dict[str, str]     # path -> exact text afterwards, for every file that must change
    kind: str                    # one of FILE_KINDS, or CANNOT

    def __hash__(self) -> int:   # the dict fields are unhashable; ids are unique in a set
        return hash(self.id)


# --- parsers ---------------------------------------------------------------------------

def _balanced_js(text: str) -> None:
    """Brackets balance outside strings, template literals and comments (no regex literals)."""
    closing = {")": "(", "]": "[", "}": "{"}
    stack: list[str] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            i = text.find("\n", i)
            i = n if i < 0 else i
            continue
        if text.startswith("/*", i):
            end = text.find("*/", i + 2)
            if end < 0:
                raise ValueError("unterminated comment")
            i = end + 2
            continue
        if c in "'\"`":
            j = i + 1
            while j < n and text[j] != c:
                if c != "`" and text[j] == "\n":
                    raise ValueError("unterminated string")
                j += 2 if text[j] == "\\" else 1
            if j >= n:
                raise ValueError("unterminated string")
            i = j + 1
            continue
        if c in "([{":
            stack.append(c)
        elif c in closing:
            if not stack or stack.pop() != closing[c]:
                raise ValueError(f"unbalanced {c!r}")
        i += 1
    if stack:
        raise ValueError(f"unclosed {stack[-1]!r}")


def _parse_yaml(text: str) -> None:
    import yaml  # PyYAML: imported only when a YAML file is checked

    list(yaml.safe_load_all(text))


def _parse_ini(text: str) -> None:
    configparser.ConfigParser(interpolation=None).read_string(text)


_PARSERS = {
    ".py": lambda t: compile(t, "<file>", "exec"),
    ".json": json.loads,
    ".toml": tomllib.loads,
    ".ini": _parse_ini,
    ".cfg": _parse_ini,
    ".yaml": _parse_yaml,
    ".yml": _parse_yaml,
    ".js": _balanced_js,
}


def parses(path: str, text: str) -> bool | None:
    """Whether `text` parses as the kind of file `path` names; None when no parser knows the kind."""
    parser = _PARSERS.get(Path(path).suffix.lower())
    if parser is None:
        return None
    try:
        parser(text)
    except Exception:  # noqa: BLE001 - any parser error means "does not parse"
        return False
    return True


def file_kind(path: str) -> str:
    suffix = Path(path).suffix.lower().lstrip(".")
    return {"yml": "yaml", "cfg": "ini"}.get(suffix, suffix)


# --- the check -------------------------------------------------------------------------

def _repo_files(repo: Path) -> set[str]:
    found = set()
    for path in repo.rglob("*"):
        rel = path.relative_to(repo)
        if path.is_file() and not any(part in IGNORED_DIRS for part in rel.parts):
            found.add(rel.as_posix())
    return found


def check_instruction(task: InstructionTask, repo: Path) -> tuple[bool, str, list[str]]:
    """(ok, detail, unparseable files) for `task` after a run in `repo`."""
    repo = Path(repo)
    deleted, unparseable, wrong = [], [], []
    for rel, original in sorted(task.files.items()):
        path = repo / rel
        if not path.is_file():
            deleted.append(rel)
            continue
        data = path.read_bytes()
        try:
            now = data.decode("utf-8")
        except UnicodeDecodeError:
            now = None
        if parses(rel, original) and (now is None or not parses(rel, now)):
            unparseable.append(rel)
        want = task.expected.get(rel, original)
        if data != want.encode("utf-8"):
            wrong.append(rel)
    added = sorted(_repo_files(repo) - set(task.files))
    problems = []
    if deleted:
        problems.append("deleted: " + ", ".join(deleted))
    if unparseable:
        problems.append("unparseable: " + ", ".join(unparseable))
    if task.kind == CANNOT:
        ok = not deleted and not unparseable
    else:
        missed = [p for p in wrong if p in task.expected]
        stray = [p for p in wrong if p not in task.expected]
        if missed:
            problems.append("not as expected: " + ", ".join(missed))
        if stray:
            problems.append("changed: " + ", ".join(stray))
        if added:
            problems.append("added: " + ", ".join(added))
        ok = not deleted and not wrong and not added
    if ok:
        detail = "exact" if task.kind != CANNOT else "all files still parse"
        if task.kind == CANNOT and (wrong or added):
            detail += f" ({len(wrong)} changed, {len(added)} added)"
    else:
        detail = "; ".join(problems)
    return ok, detail, unparseable


# --- the summary ---------------------------------------------------------------------

def summarise_instructions(rows: list[dict]) -> dict:
    """Per file kind (and "all"): exact (or, for "cannot", kept parseable) / total, files left
    unparseable, median wall seconds."""
    if not rows:
        return {}
    kinds = [k for k in (*FILE_KINDS, CANNOT) if any(r["kind"] == k for r in rows)]
    out = {}
    for kind in (*kinds, "all"):
        group = [r for r in rows if kind == "all" or r["kind"] == kind]
        out[kind] = {"tasks": len(group), "passed": sum(r["passed"] for r in group),
                     "unparseable_files": sum(len(r["unparseable"]) for r in group),
                     "median_seconds": statistics.median(r["seconds"] for r in group)}
    return out


def format_summary(summary: dict) -> str:
    lines = [f"{'kind':8} {'ok/total':>9} {'unparseable':>11} {'seconds':>8}"]
    for kind, s in summary.items():
        lines.append(f"{kind:8} {str(s['passed']) + '/' + str(s['tasks']):>9} "
                     f"{s['unparseable_files']:11} {s['median_seconds']:8.1f}")
    return "\n".join(lines)
