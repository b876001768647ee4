"""The fourth held-out instruction set: 28 plain requests with exact expected bytes and 6 "cannot" ones.

Written on 2026-12-06 by a helper session asked for a new held-out set, blind: while writing it, it
did not open the agent (mlxagent/core/), the other instruction sets (mlxagent/tasksuite/instructions*.py,
apart from `make_task` and `crlf` in instructions.py), the tests, BENCHMARKS.md or bench/; it read only
the `InstructionTask` dataclass, FILE_KINDS and CANNOT at the top of instruction_runner.py. It did not
run the agent on the set nor look at how the agent does on it.

The set lives in data/instructions_fourth.json (made by a generator kept out of the repository, so the
JSON holds the exact bytes): three small repositories and the tasks over them.

- pgsnap: a Rust CLI for PostgreSQL snapshots with a Python release helper (Cargo.toml, an example
  config with CRLF line endings, a GitHub workflow, scripts/publish.py, README.md, src/main.rs);
- roombook: a Flask API (config.py, app.py, rooms.json with accented names, setup.cfg with CRLF
  line endings, tox.ini, .editorconfig, docker-compose.yml, docs/deployment.md);
- trailmate: an Expo app (app.json, package.json, eas.json without a final newline, src/config.js,
  src/i18n.js with CRLF line endings, a GitHub workflow, README.md).

Each normal task's kind is the file kind of its main change (4 per kind of FILE_KINDS); some change
several files. Each "cannot" task (kind CANNOT, expected {}) asks for what no simple rule carries out.

    from mlxagent.tasksuite.instructions_fourth import fourth_tasks
    tasks = fourth_tasks()
"""

from __future__ import annotations

from pathlib import Path

from .instruction_data import loaders

__all__ = ["DATA_FILE", "fourth_cannot_tasks", "fourth_instruction_tasks", "fourth_tasks"]

DATA_FILE = Path(__file__).with_name("data") / "instructions_fourth.json"

# the instruction tasks (exact expected bytes), the "cannot" requests (expected is empty), and all of
# them, the instruction tasks first
fourth_instruction_tasks, fourth_cannot_tasks, fourth_tasks = loaders(DATA_FILE)
