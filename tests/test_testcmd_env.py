"""A detected pytest runs in the project's environment: its venv, uv, poetry, PATH, else mlxagent's Python.

Real virtualenvs and real pytest runs in tmp repos; `uv`, `poetry` and `pytest` on PATH are small
scripts in a folder that PATH is set to, which run this interpreter's pytest.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from mlxagent.core import events as ev
from mlxagent.core.agent import Agent, AgentConfig
from mlxagent.core.proposals import ProposalManager
from mlxagent.core.testing import detect
from mlxagent.core.testing.consent import CommandPermissions
from mlxagent.core.testing.detect import (
    PYTEST_FLAGS,
    detect_test_command,
    no_test_command_reason,
    resolve_test_command,
)
from mlxagent.core.testing.gate import CommandGate
from mlxagent.core.testing.runner import run_command
from mlxagent.core.tools import Toolbox
from mlxagent.core.workspace import Workspace
from fixture_repos import init_repo
from scripted_model import ScriptedModel

FAST_PYTEST = {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
posix_only = pytest.mark.skipif(os.name == "nt", reason="shell scripts and bin/ venvs")


def _repo(tmp_path: Path, test: str = "def test_ok():\n    assert True\n") -> Path:
    root = tmp_path / "project"
    (root / "tests").mkdir(parents=True)
    (root / "tests" / "test_it.py").write_text(test)
    return root


def _script(folder: Path, name: str, body: str) -> Path:
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return path


@pytest.fixture
def bare_path(tmp_path, monkeypatch):
    """PATH is one empty folder (plus /bin and /usr/bin for sh): no pytest, uv or poetry on it."""
    folder = tmp_path / "bin"
    folder.mkdir()
    monkeypatch.setenv("PATH", os.pathsep.join([str(folder), "/bin", "/usr/bin"]))
    for name in ("pytest", "uv", "poetry"):
        if detect.shutil.which(name):
            pytest.skip(f"{name} is in /bin or /usr/bin here")
    return folder


# --- the project's virtualenv ------------------------------------------------------------


@posix_only
def test_the_projects_venv_runs_the_tests_with_its_own_packages(tmp_path, bare_path):
    """The test imports a package only the project's .venv has: mlxagent's Python would fail."""
    root = _repo(tmp_path, "import projdep\n\ndef test_dep():\n    assert projdep.VALUE == 42\n")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root / ".venv")], check=True, timeout=60)
    (site,) = (root / ".venv" / "lib").glob("python*/site-packages")
    (site / "projdep.py").write_text("VALUE = 42\n")
    pytest_home = Path(importlib.util.find_spec("pytest").origin).parent.parent
    (site / "pytest_here.pth").write_text(str(pytest_home) + "\n")  # pytest itself, not projdep

    command = detect_test_command(root)
    python = str(root.absolute() / ".venv" / "bin" / "python")
    assert command.argv == (python, "-m", "pytest", *PYTEST_FLAGS)
    assert command.source == "detected: the project's .venv" and command.runner == "pytest"
    result = run_command(command.argv, root, env=FAST_PYTEST, timeout=60)
    assert result.ok, result.output
    narrowed = command.narrowed("tests/test_it.py::test_dep")
    assert narrowed == (*command.argv, "tests/test_it.py::test_dep")
    assert run_command(narrowed, root, env=FAST_PYTEST, timeout=60).ok
    # The very command run by mlxagent's own Python cannot import the project's package.
    assert not run_command((sys.executable, *command.argv[1:]), root, env=FAST_PYTEST, timeout=60).ok


def test_dot_venv_before_venv_and_before_uv_poetry_and_path(tmp_path, bare_path):
    root = _repo(tmp_path)
    (root / "uv.lock").write_text("")
    (root / "poetry.lock").write_text("")
    for name in ("uv", "poetry", "pytest"):
        _script(bare_path, name, "exit 0\n")
    for venv in ("venv", ".venv"):
        (root / venv / "bin").mkdir(parents=True)
        (root / venv / "bin" / "python").symlink_to(sys.executable)
    assert detect_test_command(root).argv[0] == str(root / ".venv" / "bin" / "python")
    (root / ".venv" / "bin" / "python").unlink()
    command = detect_test_command(root)
    assert command.argv == (str(root / "venv" / "bin" / "python"), "-m", "pytest", *PYTEST_FLAGS)
    assert command.source == "detected: the project's venv"


def test_a_broken_venv_link_is_no_venv(tmp_path, bare_path):
    root = _repo(tmp_path)
    (root / ".venv" / "bin").mkdir(parents=True)
    (root / ".venv" / "bin" / "python").symlink_to(tmp_path / "gone")
    assert detect_test_command(root).source == "detected: mlxagent's Python"


def test_windows_venv_layout(tmp_path, bare_path, monkeypatch):
    monkeypatch.setattr(detect, "_WINDOWS", True)
    root = _repo(tmp_path)
    (root / ".venv" / "bin").mkdir(parents=True)
    (root / ".venv" / "bin" / "python").symlink_to(sys.executable)  # not the layout on Windows
    assert detect_test_command(root).source == "detected: mlxagent's Python"
    scripts = root / ".venv" / "Scripts"
    scripts.mkdir()
    (scripts / "python.exe").write_bytes(b"MZ")
    (scripts / "python.exe").chmod(0o755)
    command = detect_test_command(root)
    assert command.argv == (str(scripts / "python.exe"), "-m", "pytest", *PYTEST_FLAGS)
    assert command.source == "detected: the project's .venv"


# --- uv, poetry, pytest on PATH ----------------------------------------------------------

# `uv run pytest ARGS` / `poetry run pytest ARGS` run this interpreter's pytest with ARGS.
RUN_PYTEST = f'[ "$1" = run ] && [ "$2" = pytest ] || exit 9\nshift 2\nexec "{sys.executable}" -m pytest "$@"\n'


@posix_only
def test_uv_lock_runs_uv_run_pytest(tmp_path, bare_path):
    root = _repo(tmp_path)
    (root / "uv.lock").write_text("version = 1\n")
    assert detect_test_command(root).source == "detected: mlxagent's Python"  # no uv on PATH
    _script(bare_path, "uv", RUN_PYTEST)
    command = detect_test_command(root)
    assert command.argv == ("uv", "run", "pytest", *PYTEST_FLAGS)
    assert command.source == "detected: uv" and command.runner == "pytest"
    result = run_command(command.narrowed("tests/test_it.py"), root, env=FAST_PYTEST, timeout=60)
    assert result.ok and "1 passed" in result.output, result.output
    assert command.narrowed("test_ok") == (*command.argv, "-k", "test_ok")


@posix_only
@pytest.mark.parametrize("marker", ["poetry.lock", "pyproject.toml"])
def test_poetry_runs_poetry_run_pytest(tmp_path, bare_path, marker):
    root = _repo(tmp_path)
    (root / marker).write_text('[tool.poetry]\nname = "x"\n' if marker == "pyproject.toml" else "")
    _script(bare_path, "poetry", RUN_PYTEST)
    command = detect_test_command(root)
    assert command.argv == ("poetry", "run", "pytest", *PYTEST_FLAGS)
    assert command.source == "detected: poetry"
    assert run_command(command.argv, root, env=FAST_PYTEST, timeout=60).ok


def test_not_poetry_without_its_table_or_lock(tmp_path, bare_path):
    root = _repo(tmp_path)
    _script(bare_path, "poetry", "exit 0\n")
    (root / "pyproject.toml").write_text('[project]\nname = "x"\n')
    assert detect_test_command(root).source == "detected: mlxagent's Python"
    (root / "pyproject.toml").write_text("[tool.poetry\n")  # not TOML: no traceback, no poetry
    assert detect_test_command(root).source == "detected: mlxagent's Python"


@posix_only
def test_pytest_on_path(tmp_path, bare_path):
    root = _repo(tmp_path)
    _script(bare_path, "pytest", f'exec "{sys.executable}" -m pytest "$@"\n')
    command = detect_test_command(root)
    assert command.argv == ("pytest", *PYTEST_FLAGS)
    assert command.source == "detected: pytest on PATH"
    assert run_command(command.narrowed("tests/test_it.py"), root, env=FAST_PYTEST, timeout=60).ok
    assert resolve_test_command(root) == command


# --- mlxagent's Python, or nothing -------------------------------------------------------


def test_mlxagents_python_when_nothing_else(tmp_path, bare_path):
    root = _repo(tmp_path)
    command = detect_test_command(root)
    assert command.argv == (sys.executable, "-m", "pytest", *PYTEST_FLAGS)
    assert command.source == "detected: mlxagent's Python"


@pytest.fixture
def no_pytest_here(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(detect.importlib.util, "find_spec",
                        lambda name, *a, **k: None if name == "pytest" else real(name, *a, **k))


def test_no_pytest_anywhere_is_no_command_with_a_reason(tmp_path, bare_path, no_pytest_here):
    root = _repo(tmp_path)
    assert detect_test_command(root) is None and resolve_test_command(root) is None
    reason = no_test_command_reason(root)
    assert "\n" not in reason and "Python tests but no pytest" in reason
    assert "install pytest or set [project] test_command in .mlxagent.toml" in reason
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "Python tests" not in no_test_command_reason(empty)
    assert "install pytest or set [project] test_command" in no_test_command_reason(empty)
    # Without pytest, the repository's other test command is found.
    (root / "go.mod").write_text("module x\n")
    assert detect_test_command(root).argv == ("go", "test", "./...")


def test_slash_test_shows_the_reason(tmp_path, bare_path, no_pytest_here):
    root = _repo(tmp_path)
    init_repo(root)
    ws = Workspace.open(root)
    agent = Agent(Toolbox(ws, ProposalManager(ws)), ScriptedModel([]), AgentConfig(),
                  gate=CommandGate(ws.root, CommandPermissions(None, ws.root)))
    agent.toolbox.context.test_command = resolve_test_command(ws.root)
    assert agent.toolbox.context.test_command is None
    events = list(agent.tests.run_now("", threading.Event()))
    (error,) = [e for e in events if isinstance(e, ev.ErrorEvent)]
    assert "install pytest or set [project] test_command" in error.message
