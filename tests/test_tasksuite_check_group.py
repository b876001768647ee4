"""The task suite's check kills the whole test process group on its timeout (a buggy JavaScript
test that loops forever runs in a child of `node --test`, which used to outlive the check)."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from mlxagent.tasksuite import Task, check, materialize


def _alive_in(repo: Path) -> list[str]:
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if str(repo) in cmd:
            found.append(cmd)
    return found


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_a_test_that_loops_forever_is_killed_with_its_children(tmp_path):
    files = {"loop.js": "module.exports = () => { while (true) {} };\n",
             "test/loop.test.js": "const test = require('node:test');\nconst loop = require('../loop.js');\n"
                                  "test('ends', () => { loop(); });\n",
             "package.json": '{"name": "loop", "scripts": {"test": "node --test"}}\n'}
    task = Task(id="loop", text="Fix loop.", files=files, fixed={}, test_files=("test/loop.test.js",),
                mutation="fixture", module="loop", source="fixture", line=1)
    repo = materialize(task, tmp_path / "repo")
    started = time.monotonic()
    result = check(task, repo, timeout=3)
    assert time.monotonic() - started < 30
    assert not result.passed and "timed out after 3s" in result.detail
    deadline = time.monotonic() + 5
    while _alive_in(repo) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _alive_in(repo) == []
