"""The fifth held-out instruction set: 35 plain requests with exact expected bytes (5 per file kind)
and 6 "cannot" ones.

Written on 2026-12-07 by a helper session asked for a new held-out set, blind: while writing it, it
did not open the agent (mlxagent/core/), the tests, bench/, BENCHMARKS.md, README.md, the other
instruction sets or their data; it read only the `InstructionTask` dataclass, FILE_KINDS and CANNOT
at the top of instruction_runner.py, and it did not run the agent. Its brief named kinds of everyday
requests as examples ("we moved to port 8443", "bump to 2.0", "drop the X from Y", "typo in the
install section", "turn off telemetry", "retries should be 5", quantities in words, versions named
with a product, changes across several files, renames, list items, URLs), some of which the
request rules were being widened for that day from the fourth set's misses: it is blind to the
rules, not to those kinds. Its data was not read by whoever wrote the rules before it was run.

The set lives in data/instructions_fifth.json (made by a generator kept out of the repository): three
small repositories (a Python CLI for tide predictions, a Node/Express parcel API, an image
classification pipeline) with a CRLF file, a file without a final newline and non-ASCII text.

    from mlxagent.tasksuite.instructions_fifth import fifth_tasks
    tasks = fifth_tasks()
"""

from __future__ import annotations

from pathlib import Path

from .instruction_data import loaders

__all__ = ["DATA_FILE", "fifth_cannot_tasks", "fifth_instruction_tasks", "fifth_tasks"]

DATA_FILE = Path(__file__).with_name("data") / "instructions_fifth.json"

# the instruction tasks (exact expected bytes), the "cannot" requests (expected is empty), and all of
# them, the instruction tasks first
fifth_instruction_tasks, fifth_cannot_tasks, fifth_tasks = loaders(DATA_FILE)
