"""Blind instruction tasks: a third set of plain requests (no failing test behind them), written
WITHOUT reading the rules that carry requests out (mlxagent/core/intents, mlxagent/core/repair) and
without reading the requests in instructions.py / instructions_heldout.py.

Written by a helper session on 2026-12-05. Why: the other two sets were written alongside the
rules, so their wording and their repositories may (unknowingly) fit what the rules expect. These
four repositories (a FastAPI service, a Node CLI, a YAML/TOML/INI data pipeline, a docs-heavy
library) and these requests were written independently, so the score on them is an honest
estimate of how the agent handles requests it was not tuned on. Keep them out of any tuning loop.

The repositories and requests live in data/instructions_blind.json (read by _taskdata.py).

    from mlxagent.tasksuite.instructions_blind import blind_tasks
"""

from __future__ import annotations

from . import _taskdata
from .instruction_runner import InstructionTask

__all__ = ["blind_cannot_tasks", "blind_instruction_tasks", "blind_tasks"]

_SET = "instructions_blind"

# the four repositories: a FastAPI service, a Node CLI, a YAML/TOML/INI data pipeline, a docs-heavy library
_REPOS = _taskdata.repos(_SET)
LEDGERLY, TIDEPOOL, GRAINLINE, QUILLMARK = (_REPOS[name] for name in
                                            ("ledgerly", "tidepool", "grainline", "quillmark"))


def blind_instruction_tasks() -> list[InstructionTask]:
    """The blind tasks with expected bytes."""
    return _taskdata.instruction_tasks(_SET)


def blind_cannot_tasks() -> list[InstructionTask]:
    """Blind requests that are not small literal edits: success is that nothing was deleted or
    left unparseable."""
    return _taskdata.cannot_tasks(_SET)


def blind_tasks() -> list[InstructionTask]:
    """blind_instruction_tasks() followed by blind_cannot_tasks(), the same on every call."""
    return blind_instruction_tasks() + blind_cannot_tasks()
