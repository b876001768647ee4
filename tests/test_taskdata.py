"""The held-out task sets stored as JSON (mlxagent/tasksuite/data/, read by tasksuite/_taskdata.py):
the stored format stays one line per entry, the loaders stay apart from the fixer, and every call
hands out fresh task objects."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from mlxagent.tasksuite import _taskdata
from mlxagent.tasksuite.bugs_blind import blind_bug_tasks
from mlxagent.tasksuite.instructions_blind import blind_tasks
from mlxagent.tasksuite.instructions_fresh import fresh_tasks
from mlxagent.tasksuite.instructions_third import third_tasks

SETS = ("instructions_blind", "instructions_fresh", "instructions_third", "bugs_blind", "bugs_blind2", "bugs_blind3")


def _stored_files(name: str):
    data = json.loads((_taskdata.DATA_DIR / f"{name}.json").read_bytes())
    if name.startswith("bugs_blind"):
        for task in data["tasks"]:
            yield from ((f"{task['module']}/{path}", lines) for path, lines in task["files"].items())
    else:
        for repo, files in data["repos"].items():
            yield from ((f"{repo}/{path}", lines) for path, lines in files.items())


@pytest.mark.parametrize("name", SETS)
def test_stored_files_are_one_line_per_entry(name):
    seen = 0
    for where, lines in _stored_files(name):
        assert isinstance(lines, list) and all(isinstance(line, str) for line in lines), where
        for line in lines[:-1]:
            assert line.endswith("\n") and "\n" not in line[:-1], (where, line)
        if lines:
            assert "\n" not in lines[-1][:-1], (where, lines[-1])
        seen += 1
    assert seen >= 20


def test_loaders_do_not_import_the_fixer():
    code = ("import sys\n"
            "import mlxagent.tasksuite.instructions_blind, mlxagent.tasksuite.instructions_fresh\n"
            "import mlxagent.tasksuite.instructions_third, mlxagent.tasksuite.bugs_blind\n"
            "print(sorted(m for m in sys.modules if m.startswith('mlxagent.core')))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("make", [blind_tasks, fresh_tasks, third_tasks, blind_bug_tasks])
def test_every_call_builds_fresh_tasks(make):
    first = make()
    before = [(t.id, dict(t.files)) for t in first]
    for task in first:
        task.files.clear()
    assert [(t.id, dict(t.files)) for t in make()] == before
