"""core/repair/quick.py: candidate checks without pytest's autoloaded plugins, where the tests say
the same without them; the candidate that passes is checked again as the user runs the tests.
Real pytest runs of real projects in tmp_path, through the real CommandGate."""

from __future__ import annotations

import sys
from pathlib import Path

from mlxagent.core.repair import Sources
from mlxagent.core.repair.quick import NO_AUTOLOAD, quick_checker
from mlxagent.core.testing.detect import PYTEST_FLAGS, TestCommand
from mlxagent.core.testing.gate import CommandGate

BUGGY = "def add(a, b):\n    return a - b\n"
FIXED = "def add(a, b):\n    return a + b\n"
TEST = ("from m import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n\n\n"
        "def test_zero():\n    assert add(0, 0) == 0\n")
# a project whose tests need what the autoloaded plugins do (here: told apart by the variable itself)
NEEDS_PLUGINS = ("import os\n\n\ndef test_plugins_loaded():\n"
                 "    assert os.environ.get('PYTEST_DISABLE_PLUGIN_AUTOLOAD') != '1'\n")


class Recording(CommandGate):
    """The real gate, noting which runs went without the autoloaded plugins."""

    def __init__(self, root: Path):
        super().__init__(root, allow=True)
        self.runs: list[bool] = []

    def check_report(self, command, root, cancel=None, per_test=None, env=None):
        self.runs.append(env == NO_AUTOLOAD)
        return super().check_report(command, root, cancel, per_test, env)


def _project(root: Path, files: dict[str, str]):
    root.mkdir(parents=True, exist_ok=True)
    for path, text in files.items():
        (root / path).write_text(text)
    command = TestCommand((sys.executable, "-m", "pytest", *PYTEST_FLAGS), "pytest", "test")
    gate = Recording(root)
    baseline = gate.check_report(command, root)
    gate.runs.clear()
    assert baseline is not None and not baseline.ok
    return command, gate, baseline, Sources(root, sorted(files))


def test_checks_go_without_plugins_and_the_winner_is_checked_as_the_user_runs_it(tmp_path):
    command, gate, baseline, sources = _project(tmp_path / "repo", {"m.py": BUGGY, "test_m.py": TEST})
    check = quick_checker(gate, command, sources, baseline)
    assert gate.runs == [True]  # the one run that decided it, without plugins
    candidate = tmp_path / "candidate"
    _project(candidate, {"m.py": BUGGY.replace("a - b", "a * b"), "test_m.py": TEST})
    gate.runs.clear()
    assert check(candidate) is False and gate.runs == [True]  # a failing candidate: one quick run
    (candidate / "m.py").write_text(FIXED)
    gate.runs.clear()
    assert check(candidate) is True and gate.runs == [True, False]  # the winner: quick, then as the user runs it


def test_tests_that_say_otherwise_without_plugins_keep_the_usual_checks(tmp_path):
    files = {"m.py": BUGGY, "test_m.py": TEST, "test_env.py": NEEDS_PLUGINS}
    command, gate, baseline, sources = _project(tmp_path / "repo", files)
    check = quick_checker(gate, command, sources, baseline)
    candidate = tmp_path / "candidate"
    candidate.mkdir()
    for path, text in {**files, "m.py": FIXED}.items():
        (candidate / path).write_text(text)
    gate.runs.clear()
    assert check(candidate) is True and gate.runs == [False]  # the usual check, and only it


def test_other_runners_and_passing_baselines_keep_the_usual_checks(tmp_path):
    command, gate, baseline, sources = _project(tmp_path / "repo", {"m.py": BUGGY, "test_m.py": TEST})
    node = TestCommand(("node", "--test"), "node", "test")
    quick_checker(gate, node, sources, baseline)
    quick_checker(gate, command, sources, None)
    assert gate.runs == []  # no deciding run: nothing to decide
