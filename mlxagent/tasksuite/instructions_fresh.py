"""A second, fresh held-out set of instruction tasks: plain requests with no test behind them.

Written by a helper session on 2026-12-05 *without* reading how the agent handles requests
(nothing under mlxagent/core/ was opened) and without reading the other task sets
(instructions.py, instructions_heldout.py, instructions_blind.py; only the helpers `make_task` and
`crlf` were looked at) or the repository's intent/instruction tests. The point is an honest
measurement: tasks written by someone who knows the rules tend to be phrased the way the rules
expect, so a set written blind shows how the agent does on requests as developers actually type
them.

Three small repositories of their own flavour:
  * inkwell   - a Django-style blog app (settings, models, views, feeds, a CRLF logging.ini, a
                site.toml, a compose.yaml, a tiny esbuild package.json, markdown docs),
  * ravenfall - a realtime game server in Node (a nested game.json, an .env-style server.ini, a
                Kubernetes deployment, a protocol doc),
  * hearth    - a home-automation Python daemon (pyproject.toml, YAML config and device list, a
                notify.ini, a dashboard with its own JSON and JS).

28 exact-bytes tasks (4 per file kind in FILE_KINDS, ids instr-<kind>-f<N>) and 10 "cannot" tasks
(ids instr-cannot-f<N>). Same tasks, same order, on every call.

The repositories and requests live in data/instructions_fresh.json (read by _taskdata.py).

    from mlxagent.tasksuite.instructions_fresh import fresh_tasks
    tasks = fresh_tasks()
"""

from __future__ import annotations

from . import _taskdata
from .instruction_runner import InstructionTask

__all__ = ["fresh_instruction_tasks", "fresh_cannot_tasks", "fresh_tasks"]

_SET = "instructions_fresh"

_REPOS = _taskdata.repos(_SET)
INKWELL, RAVENFALL, HEARTH = (_REPOS[name] for name in ("inkwell", "ravenfall", "hearth"))


def fresh_instruction_tasks() -> list[InstructionTask]:
    """The 28 exact-bytes tasks, 4 per file kind, in a fixed order."""
    return _taskdata.instruction_tasks(_SET)


def fresh_cannot_tasks() -> list[InstructionTask]:
    """The 10 requests that are not small literal edits."""
    return _taskdata.cannot_tasks(_SET)


def fresh_tasks() -> list[InstructionTask]:
    """All fresh tasks: the 28 exact-bytes tasks, then the 10 cannot tasks."""
    return fresh_instruction_tasks() + fresh_cannot_tasks()
