"""The seventh held-out instruction set: 35 plain requests with exact expected bytes (5 per file kind)
and 6 "cannot" ones.

Written on 2026-12-07 by a helper session asked for a new held-out set, blind, with the same brief
as the sixth (no kinds of request named; domains unlike the sets before it): while writing it, it
did not open the agent (mlxagent/core/), the tests, bench/, BENCHMARKS.md, README.md, the other
instruction sets or their data; it read only the `InstructionTask` dataclass, FILE_KINDS and CANNOT
at the top of instruction_runner.py, and it did not run the agent. Its data was not read by whoever
wrote the rules before it was run.

The set lives in data/instructions_seventh.json (made by a generator kept out of the repository): three
small repositories (greenhouse-node, kestrel-blog, tidal-paper) with CRLF files, a file without a
final newline and non-ASCII text.

    from mlxagent.tasksuite.instructions_seventh import seventh_tasks
    tasks = seventh_tasks()
"""

from __future__ import annotations

from pathlib import Path

from .instruction_data import loaders

__all__ = ["DATA_FILE", "seventh_cannot_tasks", "seventh_instruction_tasks", "seventh_tasks"]

DATA_FILE = Path(__file__).with_name("data") / "instructions_seventh.json"

# the instruction tasks (exact expected bytes), the "cannot" requests (expected is empty), and all of
# them, the instruction tasks first
seventh_instruction_tasks, seventh_cannot_tasks, seventh_tasks = loaders(DATA_FILE)
