'''A third held-out set of instruction tasks, over two new small repositories.

These tasks were written blind by a helper session on 2026-12-05: the author did not open the
agent's request handling (mlxagent/core/), the other instruction task sets, their tests or
BENCHMARKS.md; only `make_task`, `crlf` and instruction_runner's `InstructionTask` format were
read. They exist so that the agent's score on plain requests can be measured on text that no one
tuning the agent has seen, which keeps that number honest.

Two repositories: "quillbot", a Python book-club chat bot (pyproject.toml, tox.ini, a TOML runtime
config, a CRLF .ini secrets template, YAML command definitions and CI), and "tabtamer", a Chrome
extension (manifest.json, package.json, locale messages, ES-module JS, a CRLF changelog, a release
workflow and a small Python pack script). There are 21 tasks with exact expected bytes (3 per file
kind) and 6 requests no rule can carry out (features, tests, a refactor, an explanation).

The repositories and requests live in data/instructions_third.json (read by _taskdata.py).

    from mlxagent.tasksuite.instructions_third import third_tasks
    tasks = third_tasks()
'''

from __future__ import annotations

from . import _taskdata
from .instruction_runner import InstructionTask

__all__ = ["third_instruction_tasks", "third_cannot_tasks", "third_tasks"]

_SET = "instructions_third"

_REPOS = _taskdata.repos(_SET)
QUILL_REPO, TAB_REPO = _REPOS["quillbot"], _REPOS["tabtamer"]


def third_instruction_tasks() -> list[InstructionTask]:
    """The 21 tasks with exact expected bytes, 3 per file kind, in a fixed order."""
    return _taskdata.instruction_tasks(_SET)


def third_cannot_tasks() -> list[InstructionTask]:
    """Six requests no rule can carry out: features, tests, a refactor, an explanation."""
    return _taskdata.cannot_tasks(_SET)


def third_tasks() -> list[InstructionTask]:
    """All 27 tasks: the 21 exact ones, then the 6 cannot ones."""
    return third_instruction_tasks() + third_cannot_tasks()
