"""The sixth held-out instruction set: 35 plain requests with exact expected bytes (5 per file kind)
and 6 "cannot" ones.

Written on 2026-12-07 by a helper session asked for a new held-out set, blind: while writing it, it
did not open the agent (mlxagent/core/), the tests, bench/, BENCHMARKS.md, README.md, the other
instruction sets or their data; it read only the `InstructionTask` dataclass, FILE_KINDS and CANNOT
at the top of instruction_runner.py, and it did not run the agent. Unlike the fifth set's, its
brief named no kinds of request: "what you yourself have asked coding assistants to do in config
files, docs and small code changes on a normal workday", varied in what changes and how it is
asked. Its data was not read by whoever wrote the rules before it was run.

The set lives in data/instructions_sixth.json (made by a generator kept out of the repository): three
small repositories (a mobile fishing game's live-ops configs, a home-lab infrastructure repository,
a browser extension) with a CRLF file, a file without a final newline and non-ASCII text.

    from mlxagent.tasksuite.instructions_sixth import sixth_tasks
    tasks = sixth_tasks()
"""

from __future__ import annotations

from pathlib import Path

from .instruction_data import loaders

__all__ = ["DATA_FILE", "sixth_cannot_tasks", "sixth_instruction_tasks", "sixth_tasks"]

DATA_FILE = Path(__file__).with_name("data") / "instructions_sixth.json"

# the instruction tasks (exact expected bytes), the "cannot" requests (expected is empty), and all of
# them, the instruction tasks first
sixth_instruction_tasks, sixth_cannot_tasks, sixth_tasks = loaders(DATA_FILE)
