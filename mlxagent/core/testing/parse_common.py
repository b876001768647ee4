"""Shared pieces of the test-output parsers.

`Frame` and `Failure` (one failing test and the repository frames of its
traceback), `_Paths` (turns the paths a runner printed into repository-relative
ones and reads the source lines they point at), and the small text helpers every
parser uses to boil a message down (`_clip`, `_message`, `_dedupe`). The parsers
in `parse_python` and `parse_other` import this module, and so does `report`,
which puts the results together; it imports none of them.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

MAX_MESSAGE_LINES = 4
MAX_LINE_CHARS = 200
# Folders whose files are never "the user's code", even inside the repository.
_FOREIGN_DIRS = frozenset(
    {"site-packages", "dist-packages", "node_modules", ".venv", "venv", "__pypackages__", ".tox", ".nox", ".git"}
)
_SKIP_SEARCH_DIRS = _FOREIGN_DIRS | {"target", "vendor", "build", "dist", "__pycache__"}


@dataclass(frozen=True)
class Frame:
    path: str  # relative to the repository root, with forward slashes
    line: int
    text: str  # that source line, stripped

    def where(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass(frozen=True)
class Failure:
    name: str  # e.g. "test_windows.py::test_every_window_is_summed"
    message: str  # the assertion or exception message, a few lines at most
    frames: tuple[Frame, ...] = ()  # frames inside the repository, outermost first
    kind: str = "failed"  # "failed" (the test failed) or "error" (it could not run)

    @property
    def frame(self) -> Frame | None:
        """The deepest frame inside the repository."""
        return self.frames[-1] if self.frames else None



# --- paths and source lines ----------------------------------------------------


class _Paths:
    """Turns the paths a runner printed into repository-relative ones, and reads source lines."""

    def __init__(self, repo_root: Path | str) -> None:
        self.root = Path(os.path.realpath(repo_root))
        self._lines: dict[str, list[str] | None] = {}
        self._by_name: dict[str, list[str]] | None = None

    def relative(self, path_text: str, *, search: bool = False) -> str | None:
        path_text = path_text.strip()
        if not path_text or "<" in path_text or ">" in path_text:
            return None
        if path_text.startswith("file://"):
            path_text = path_text[len("file://") :]
        path = Path(path_text)
        if not path.is_absolute():
            path = self.root / path
        resolved = Path(os.path.realpath(path))
        try:
            rel = resolved.relative_to(self.root)
        except ValueError:
            return None
        if not rel.parts or any(part in _FOREIGN_DIRS for part in rel.parts):
            return None
        if search and not resolved.is_file() and not Path(path_text).is_absolute():
            found = self._search(path_text)
            if found is not None:
                return found
        return rel.as_posix()

    def _search(self, path_text: str) -> str | None:
        """A file the runner named relative to its package (go): look for it by name."""
        if self._by_name is None:
            self._by_name = {}
            root_depth = len(self.root.parts)
            for dirpath, dirnames, filenames in os.walk(self.root):
                depth = len(Path(dirpath).parts) - root_depth
                dirnames[:] = [d for d in dirnames if d not in _SKIP_SEARCH_DIRS and not d.startswith(".")]
                if depth >= 6:
                    dirnames[:] = []
                for name in filenames:
                    rel = (Path(dirpath) / name).relative_to(self.root).as_posix()
                    self._by_name.setdefault(name, []).append(rel)
        suffix = Path(path_text).as_posix().lstrip("./")
        candidates = [c for c in self._by_name.get(Path(path_text).name, []) if c == suffix or c.endswith("/" + suffix)]
        return candidates[0] if len(candidates) == 1 else None

    def source(self, rel: str, line: int) -> str:
        if rel not in self._lines:
            try:
                with open(self.root / rel, encoding="utf-8", errors="replace") as f:
                    self._lines[rel] = f.read().splitlines()
            except OSError:
                self._lines[rel] = None
        lines = self._lines[rel]
        if lines is None or not 1 <= line <= len(lines):
            return ""
        return lines[line - 1].strip()

    def frame(self, path_text: str, line: int | str, fallback: str = "", *, search: bool = False) -> Frame | None:
        rel = self.relative(path_text, search=search)
        if rel is None:
            return None
        number = int(line)
        text = self.source(rel, number) or fallback.strip()
        return Frame(rel, number, text)

    def clean(self, message: str) -> str:
        """Absolute paths inside the repository, shortened to relative ones."""
        prefix = str(self.root) + os.sep
        return message.replace(prefix, "")


def _clip(text: str, limit: int = MAX_LINE_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _message(lines: list[str], paths: _Paths, drop: Callable[[str], bool] | None = None) -> str:
    """The first few meaningful lines, dedented, clipped."""
    kept = [line for line in lines if line.strip() and not _is_caret_line(line) and not (drop and drop(line))]
    if not kept:
        return ""
    indent = min(len(line) - len(line.lstrip()) for line in kept)
    kept = [_clip(paths.clean(line[indent:].rstrip())) for line in kept[:MAX_MESSAGE_LINES]]
    return "\n".join(kept)


def _is_caret_line(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and set(stripped) <= set("^~")


def _dedupe(frames: list[Frame]) -> tuple[Frame, ...]:
    out: list[Frame] = []
    for frame in frames:
        if not out or (out[-1].path, out[-1].line) != (frame.path, frame.line):
            out.append(frame)
    return tuple(out)
