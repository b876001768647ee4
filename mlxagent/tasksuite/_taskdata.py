"""Reading the held-out task sets stored as JSON under mlxagent/tasksuite/data/.

A set's fake repositories are stored as {path: [line, ...]}: a file's text is its lines joined
with "" (each line keeps its own ending, CRLF included; a file without a final newline ends in a
line without one), so the bytes come back exactly as written. Every call builds new task objects.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from .instruction_runner import CANNOT, InstructionTask
from .instructions import make_task

DATA_DIR = Path(__file__).with_name("data")


@lru_cache(maxsize=None)
def _raw(name: str) -> str:
    return (DATA_DIR / f"{name}.json").read_bytes().decode("utf-8")


def load(name: str) -> dict[str, Any]:
    """data/<name>.json, parsed afresh (callers may keep or change what they get)."""
    return json.loads(_raw(name))


def files(stored: dict[str, list[str]]) -> dict[str, str]:
    """{path: [line, ...]} -> {path: text}."""
    return {path: "".join(lines) for path, lines in stored.items()}


def repos(name: str) -> dict[str, dict[str, str]]:
    """The set's repositories: {repo name: {path: text}}."""
    return {repo: files(stored) for repo, stored in load(name)["repos"].items()}


def instruction_tasks(name: str) -> list[InstructionTask]:
    """The set's exact-bytes tasks, in stored order (make_task checks every edit's count)."""
    data = load(name)
    built = {repo: files(stored) for repo, stored in data["repos"].items()}
    return [make_task(t["id"], t["kind"], t["text"], built[t["repo"]],
                      {path: [(old, new, count) for old, new, count in edits]
                       for path, edits in t["edits"].items()})
            for t in data["tasks"]]


def cannot_tasks(name: str) -> list[InstructionTask]:
    """The set's requests that are not small literal edits (nothing may change), in stored order."""
    data = load(name)
    built = {repo: files(stored) for repo, stored in data["repos"].items()}
    return [InstructionTask(id=t["id"], text=t["text"], files=dict(built[t["repo"]]), expected={},
                            kind=CANNOT)
            for t in data["cannot"]]
