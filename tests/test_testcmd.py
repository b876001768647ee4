"""Which command runs a project's tests: detection, configuration, narrowing."""

from __future__ import annotations

import json
import sys

import pytest

from mlxagent.core.testing.runner import CommandError
from mlxagent.core.testing.detect import (
    NPM_DEFAULT_TEST,
    TestCommand,
    detect_test_command,
    read_project_config,
    resolve_test_command,
)

PYTEST_ARGV = (sys.executable, "-m", "pytest", "-q", "--tb=short", "-p", "no:cacheprovider")


# --- detection ---------------------------------------------------------------------------


def test_nothing_detected_in_an_empty_folder(tmp_path):
    assert detect_test_command(tmp_path) is None
    assert resolve_test_command(tmp_path) is None


def test_pytest_from_a_tests_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "no-bin"))  # no venv, uv, poetry or pytest on PATH
    (tmp_path / "tests").mkdir()
    command = detect_test_command(tmp_path)
    assert command.runner == "pytest"
    assert command.argv == PYTEST_ARGV  # pytest is importable here
    assert command.source == "detected: mlxagent's Python"
    # More in tests/test_testcmd_env.py: the project's venv, uv, poetry, pytest on PATH.


@pytest.mark.parametrize("path", ["test_x.py", "pkg/x_test.py", "a/b/c/test_deep.py"])
def test_pytest_from_test_files(tmp_path, path):
    (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / path).write_text("def test_x(): pass\n")
    assert detect_test_command(tmp_path).runner == "pytest"


@pytest.mark.parametrize("path", ["a/b/c/d/test_too_deep.py", "node_modules/x/test_x.py", ".venv/lib/test_x.py",
                                  "venv/test_x.py", ".git/test_x.py", "testing.py", "mytest.py"])
def test_pytest_not_from_these(tmp_path, path):
    (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / path).write_text("")
    assert detect_test_command(tmp_path) is None


def test_npm(tmp_path):
    (tmp_path / "package.json").write_text(json.dumps({"name": "x", "scripts": {"test": "jest"}}))
    command = detect_test_command(tmp_path)
    assert command == TestCommand(("npm", "test"), "npm", command.source)
    assert command.display() == "npm test"


def test_npm_default_test_script_is_not_a_test_command(tmp_path):
    (tmp_path / "package.json").write_text(json.dumps({"scripts": {"test": NPM_DEFAULT_TEST}}))
    assert detect_test_command(tmp_path) is None
    (tmp_path / "package.json").write_text("{ not json")
    assert detect_test_command(tmp_path) is None


def test_cargo_go_make(tmp_path):
    cargo = tmp_path / "cargo"
    cargo.mkdir()
    (cargo / "Cargo.toml").write_text('[package]\nname = "x"\n')
    assert detect_test_command(cargo).argv == ("cargo", "test")
    assert detect_test_command(cargo).runner == "cargo"

    go = tmp_path / "go"
    go.mkdir()
    (go / "go.mod").write_text("module example.com/x\n")
    assert detect_test_command(go).argv == ("go", "test", "./...")
    assert detect_test_command(go).runner == "go"

    make = tmp_path / "make"
    make.mkdir()
    (make / "Makefile").write_text("all:\n\tcc x.c\n\ntest: all\n\t./run-tests\n")
    assert detect_test_command(make).argv == ("make", "test")
    (make / "Makefile").write_text("all:\n\tcc x.c\nTEST := 1\ntests:\n\ttrue\n")
    assert detect_test_command(make) is None


# --- configuration and priority ----------------------------------------------------------


def test_project_config_wins_over_detection(tmp_path):
    (tmp_path / "tests").mkdir()
    (tmp_path / ".mlxagent.toml").write_text('[project]\ntest_command = "make check ARGS=\'-x -q\'"\n')
    command = resolve_test_command(tmp_path, settings_command="tox")
    assert command.argv == ("make", "check", "ARGS=-x -q")
    assert command.runner == "make"
    assert command.source == "config .mlxagent.toml"


def test_settings_win_over_detection(tmp_path):
    (tmp_path / "tests").mkdir()
    command = resolve_test_command(tmp_path, settings_command="python -m pytest -x")
    assert command.argv == ("python", "-m", "pytest", "-x")
    assert command.runner == "pytest" and command.source == "settings"


def test_override_wins_over_everything(tmp_path):
    (tmp_path / "tests").mkdir()
    (tmp_path / ".mlxagent.toml").write_text('[project]\ntest_command = "make check"\n')
    command = resolve_test_command(tmp_path, override="cargo test --lib", settings_command="tox")
    assert command.argv == ("cargo", "test", "--lib")
    assert command.runner == "cargo" and command.source == "--test-cmd"


def test_no_test_command_in_config_falls_through(tmp_path):
    (tmp_path / ".mlxagent.toml").write_text('[project]\nname = "x"\n')
    (tmp_path / "go.mod").write_text("module x\n")
    assert resolve_test_command(tmp_path).runner == "go"
    assert read_project_config(tmp_path) == {"project": {"name": "x"}}
    assert read_project_config(tmp_path / "missing") == {}


def test_bad_toml_is_one_line_error(tmp_path):
    (tmp_path / ".mlxagent.toml").write_text('[project\ntest_command = "x"\n')
    with pytest.raises(CommandError) as e:
        read_project_config(tmp_path)
    assert "\n" not in str(e.value) and ".mlxagent.toml" in str(e.value)
    with pytest.raises(CommandError):
        resolve_test_command(tmp_path)


def test_bad_quoting_in_configured_command(tmp_path):
    (tmp_path / ".mlxagent.toml").write_text("[project]\ntest_command = \"pytest -k 'oops\"\n")
    with pytest.raises(CommandError) as e:
        resolve_test_command(tmp_path)
    assert "\n" not in str(e.value)
    (tmp_path / ".mlxagent.toml").write_text("[project]\ntest_command = 3\n")
    with pytest.raises(CommandError):
        resolve_test_command(tmp_path)


# --- narrowing ---------------------------------------------------------------------------


def test_narrowed_pytest():
    command = TestCommand(PYTEST_ARGV, "pytest", "detected")
    assert command.narrowed(None) == PYTEST_ARGV
    assert command.narrowed("tests/test_windows.py") == (*PYTEST_ARGV, "tests/test_windows.py")
    assert command.narrowed("test_windows.py::test_sum") == (*PYTEST_ARGV, "test_windows.py::test_sum")
    assert command.narrowed("test_sum") == (*PYTEST_ARGV, "-k", "test_sum")
    # A hostile name stays one argument.
    assert command.narrowed("x and not y; echo hi") == (*PYTEST_ARGV, "-k", "x and not y; echo hi")
    with pytest.raises(CommandError):
        command.narrowed("--help")


def test_narrowed_other_runners():
    assert TestCommand(("cargo", "test"), "cargo", "").narrowed("tests::adds") == ("cargo", "test", "tests::adds")
    assert TestCommand(("cargo", "test", "--", "--nocapture"), "cargo", "").narrowed("adds") == (
        "cargo", "test", "adds", "--", "--nocapture")
    assert TestCommand(("go", "test", "./..."), "go", "").narrowed("TestAdd") == (
        "go", "test", "-run", "TestAdd", "./...")
    assert TestCommand(("npm", "test"), "npm", "").narrowed("sum.test.js") == ("npm", "test", "--", "sum.test.js")
    assert TestCommand(("make", "test"), "make", "").narrowed("T=x") == ("make", "test", "T=x")
    assert TestCommand(("./run.sh",), "custom", "").narrowed("a b") == ("./run.sh", "a b")


def test_display():
    assert TestCommand(("make", "check", "ARGS=-x -q"), "make", "").display() == "make check 'ARGS=-x -q'"
