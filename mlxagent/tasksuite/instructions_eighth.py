"""The eighth held-out instruction set: 35 plain requests with exact expected bytes (5 per file kind)
and 6 "cannot" ones.

Written on 2026-12-07 by a helper session asked for a new held-out set, blind, with the brief of the
sixth and seventh (no kinds of request named; domains unlike the sets before it): while writing it,
it did not open the agent (mlxagent/core/, mlxagent/model/), the tests, bench/, BENCHMARKS.md,
README.md or the other instruction sets; it read only the top of instruction_runner.py
(`InstructionTask`, FILE_KINDS, CANNOT), and it did not run the agent. Its data was not read by
whoever writes the rules before it was run.

The set lives in data/instructions_eighth.json (made by a generator kept out of the repository):
three small repositories (hivelog, choirsched, kilnctl) with CRLF files, a file without a final
newline and non-ASCII text.

    from mlxagent.tasksuite.instructions_eighth import eighth_tasks
    tasks = eighth_tasks()
"""

from __future__ import annotations

from pathlib import Path

from .instruction_data import loaders

__all__ = ["DATA_FILE", "eighth_cannot_tasks", "eighth_instruction_tasks", "eighth_tasks"]

DATA_FILE = Path(__file__).with_name("data") / "instructions_eighth.json"

# the instruction tasks (exact expected bytes), the "cannot" requests (expected is empty), and all of
# them, the instruction tasks first
eighth_instruction_tasks, eighth_cannot_tasks, eighth_tasks = loaders(DATA_FILE)
