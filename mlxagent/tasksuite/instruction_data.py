"""Instruction sets kept as JSON (repositories and tasks with their exact bytes), read the same way:
each task's kind checked, its expected files in its repository, fresh copies for every caller.

The JSON holds {"repos": {name: {path: text}}, "tasks": [{"id", "kind", "repo", "text",
"expected": {path: text}}]}; it is read with newline="" so CRLF files stay CRLF."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from .instruction_runner import CANNOT, FILE_KINDS, InstructionTask

_CACHE: dict[Path, tuple[InstructionTask, ...]] = {}


def _read(data_file: Path) -> tuple[InstructionTask, ...]:
    with open(data_file, encoding="utf-8", newline="") as fh:
        data = json.load(fh)
    repos: dict[str, dict[str, str]] = data["repos"]
    tasks = []
    for entry in data["tasks"]:
        kind = entry["kind"]
        if kind not in FILE_KINDS and kind != CANNOT:
            raise ValueError(f"{data_file.name}: task {entry['id']} has unknown kind {kind!r}")
        files = repos[entry["repo"]]
        unknown = set(entry["expected"]) - set(files)
        if unknown:
            raise ValueError(f"{data_file.name}: task {entry['id']} expects files not in its repo: "
                             f"{sorted(unknown)}")
        tasks.append(InstructionTask(id=entry["id"], text=entry["text"], files=dict(files),
                                     expected=dict(entry["expected"]), kind=kind))
    return tuple(tasks)


def load(data_file: Path, which: str = "all") -> list[InstructionTask]:
    """The set's tasks as fresh copies (a caller may change their dicts): "all" (instruction tasks
    first, then the cannot tasks), "instructions" or "cannot"."""
    if data_file not in _CACHE:
        _CACHE[data_file] = _read(data_file)
    tasks = _CACHE[data_file]
    normal = [t for t in tasks if t.kind != CANNOT]
    cannot = [t for t in tasks if t.kind == CANNOT]
    chosen = {"all": normal + cannot, "instructions": normal, "cannot": cannot}[which]
    return [InstructionTask(id=t.id, text=t.text, files=dict(t.files), expected=dict(t.expected), kind=t.kind)
            for t in chosen]


def loaders(data_file: Path) -> tuple[Callable[[], list[InstructionTask]], ...]:
    """A set's three readers, as its module names them: its instruction tasks, its cannot tasks, and
    all of them (the instruction tasks first)."""
    return (lambda: load(data_file, "instructions"), lambda: load(data_file, "cannot"), lambda: load(data_file))
