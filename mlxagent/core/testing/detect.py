"""Which command runs a project's tests.

In order: the `--test-cmd` override, `[project] test_command` in the repository's
`.mlxagent.toml`, the command from the user's settings, and last what the files in
the repository suggest (pytest, npm, cargo, go, make).

An npm test script that runs node's own test runner (`node --test`), mocha or vitest
gives its command that runner ("node", "mocha", "vitest"), so its output is read by the
right parser and one test file runs without the script: `node --test FILE`,
`npx --no mocha FILE`, `npx --no vitest run FILE`.

A detected pytest runs in the project's own environment: its virtualenv's python (`.venv`,
`venv`), else `uv run` (uv.lock), else `poetry run` (poetry.lock or [tool.poetry]), else the
`pytest` on PATH, else mlxagent's own Python when pytest is importable there; otherwise no
command, and `no_test_command_reason` says why.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shlex
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from ..tomlfile import TomlReadError, TomlSyntaxError, read_toml
from .runner import CommandError, split_command

PROJECT_CONFIG = ".mlxagent.toml"
# Flags for a detected pytest: short tracebacks for the parser, and no .pytest_cache in the repo.
PYTEST_FLAGS = ("-q", "--tb=short", "-p", "no:cacheprovider")
NPM_DEFAULT_TEST = 'echo "Error: no test specified" && exit 1'
_SKIP_DIRS = frozenset({".git", "node_modules", ".venv", "venv", "__pycache__", ".tox", ".nox"})
_MAX_DEPTH = 3


@dataclass(frozen=True)
class TestCommand:
    __test__ = False  # not a pytest test class

    argv: tuple[str, ...]
    runner: str  # "pytest" | "npm" | "node" | "mocha" | "vitest" | "cargo" | "go" | "make" | "custom"
    source: str  # where it came from, for the user: "config .mlxagent.toml", "--test-cmd", ...

    def narrowed(self, target: str | None) -> tuple[str, ...]:
        """The command run on one test file, node id or test name only.

        The target is always one argv element of its own, never spliced into a
        command line; one that starts with "-" is refused so it cannot pass as an option.
        """
        if target is None or not target.strip():
            return self.argv
        target = target.strip()
        if target.startswith("-"):
            raise CommandError(f"A test target cannot start with '-': {target!r}.")
        argv = list(self.argv)
        if self.runner == "pytest":
            if _looks_like_path(target):
                return (*argv, target)
            return (*argv, "-k", target)
        if self.runner == "cargo":
            if "--" in argv:  # the filter goes to cargo, before the test binary's own flags
                at = argv.index("--")
                return (*argv[:at], target, *argv[at:])
            return (*argv, target)
        if self.runner == "go":
            if "./..." in argv:
                at = argv.index("./...")
                return (*argv[:at], "-run", target, *argv[at:])
            return (*argv, "-run", target)
        if self.runner == "npm":
            return (*argv, target) if "--" in argv else (*argv, "--", target)
        if self.runner in _JS_ONE_FILE:
            return _narrowed_js(self.runner, argv, target)
        return (*argv, target)

    def display(self) -> str:
        return shlex.join(self.argv)


def _looks_like_path(target: str) -> bool:
    return "::" in target or "/" in target or os.sep in target or target.endswith(".py")


# node's test runner, mocha and vitest: how to run one file when the tests run through a
# package script (whose own arguments are unknown here), and the option that picks tests by name.
_JS_ONE_FILE = {
    "node": ("node", "--test"),
    "mocha": ("npx", "--no", "mocha"),
    "vitest": ("npx", "--no", "vitest", "run"),
}
_JS_NAME_OPTION = {"node": "--test-name-pattern", "mocha": "--grep", "vitest": "-t"}
_JS_FILE = re.compile(r"\.[cm]?[jt]sx?$")
_PACKAGE_MANAGERS = ("npm", "yarn", "pnpm")


def _narrowed_js(runner: str, argv: list[str], target: str) -> tuple[str, ...]:
    """A test file, or a test name (a pattern: node and vitest read it as a regular
    expression, so it is escaped; mocha escapes it itself)."""
    base = list(_JS_ONE_FILE[runner]) if argv and Path(argv[0]).name in _PACKAGE_MANAGERS else argv
    if "/" in target or os.sep in target or _JS_FILE.search(target):
        return (*base, target)
    pattern = target if runner == "mocha" else re.sub(r"[\\^$.*+?()[\]{}|/]", lambda m: "\\" + m[0], target)
    if runner == "node" and "--test" in base:  # node reads what follows a file as more files
        at = base.index("--test") + 1
        return (*base[:at], _JS_NAME_OPTION[runner], pattern, *base[at:])
    return (*base, _JS_NAME_OPTION[runner], pattern)


def _js_runner(words: list[str]) -> str | None:
    """node (with --test), mocha or vitest, when one of them is what these words run."""
    for k, word in enumerate(words):
        name = Path(word).name
        if name in ("mocha", "_mocha"):
            return "mocha"
        if name == "vitest":
            return "vitest"
        if name in ("node", "node.exe"):
            return "node" if "--test" in words[k + 1 :] else None
        if name in ("jest", "tsc", "eslint", "npm", "yarn", "pnpm"):
            return None
    return None


def _script_runner(script: str) -> str:
    """The runner an npm test script runs: the first of its commands that is one we know."""
    for part in re.split(r"&&|\|\||;|\|", script):
        try:
            words = shlex.split(part)
        except ValueError:
            words = part.split()
        runner = _js_runner(words)
        if runner is not None:
            return runner
    return "npm"


def read_project_config(root: Path | str) -> dict:
    """The repository's `.mlxagent.toml`, or {} when there is none."""
    try:
        data = read_toml(Path(root) / PROJECT_CONFIG)
    except TomlReadError as e:
        raise CommandError(f"Cannot read {PROJECT_CONFIG}: {e}.") from None
    except TomlSyntaxError as e:
        raise CommandError(f"{PROJECT_CONFIG} is not valid TOML: {e.message}.") from None
    return {} if data is None else data


def resolve_test_command(
    root: Path | str, *, override: str | None = None, settings_command: str | None = None
) -> TestCommand | None:
    """The test command for the repository at root, or None when none is known."""
    root = Path(root)
    if override and override.strip():
        return _configured(override, "--test-cmd")
    project = read_project_config(root).get("project", {})
    if not isinstance(project, dict):
        raise CommandError(f"{PROJECT_CONFIG}: [project] must be a table.")
    configured = project.get("test_command")
    if configured is not None:
        if isinstance(configured, list) and configured and all(isinstance(a, str) for a in configured):
            return TestCommand(tuple(configured), _runner_of(configured), f"config {PROJECT_CONFIG}")
        if not isinstance(configured, str):
            raise CommandError(f"{PROJECT_CONFIG}: [project] test_command must be a string.")
        return _configured(configured, f"config {PROJECT_CONFIG}")
    if settings_command and settings_command.strip():
        return _configured(settings_command, "settings")
    return detect_test_command(root)


def _configured(text: str, source: str) -> TestCommand:
    argv = split_command(text)
    return TestCommand(tuple(argv), _runner_of(argv), source)


def _runner_of(argv: list[str] | tuple[str, ...]) -> str:
    """The runner a configured command most likely is, for narrowing and parsing."""
    words = [Path(a).name for a in argv[:4]]
    first = words[0] if words else ""
    js = _js_runner(list(argv[:6])) if first not in _PACKAGE_MANAGERS else None
    if js is not None:
        return js
    if first == "pytest" or first.startswith("py.test") or ("-m" in words and "pytest" in words):
        return "pytest"
    if first in ("npm", "yarn", "pnpm", "npx"):
        return "npm"
    if first == "cargo":
        return "cargo"
    if first == "go":
        return "go"
    if first == "make":
        return "make"
    return "custom"


def detect_test_command(root: Path | str) -> TestCommand | None:
    """What the repository's files suggest, or None."""
    root = Path(root)
    if _has_python_tests(root) and (found := _pytest_in_project_env(root)) is not None:
        return TestCommand((*found[0], *PYTEST_FLAGS), "pytest", found[1])
    script = _npm_test_script(root)
    if script is not None:
        return TestCommand(("npm", "test"), _script_runner(script), "detected (package.json scripts.test)")
    if (root / "Cargo.toml").is_file():
        return TestCommand(("cargo", "test"), "cargo", "detected (Cargo.toml)")
    if (root / "go.mod").is_file():
        return TestCommand(("go", "test", "./..."), "go", "detected (go.mod)")
    if _make_has_test(root):
        return TestCommand(("make", "test"), "make", "detected (Makefile test target)")
    return None


_WINDOWS = os.name == "nt"
_SET_ONE = f"set [project] test_command in {PROJECT_CONFIG} (or test_command in the settings)"
NO_PYTEST = ("No test command is known for this repository: it has Python tests but no pytest was found "
             "(no .venv or venv, no uv or poetry to run it, no pytest on PATH or in mlxagent's Python); "
             f"install pytest or {_SET_ONE}.")
NO_TEST_COMMAND = f"No test command is known for this repository: install pytest or {_SET_ONE}."


def no_test_command_reason(root: Path | str) -> str:
    """Why detection found no test command in the repository at root, in one line."""
    return NO_PYTEST if _has_python_tests(Path(root)) else NO_TEST_COMMAND


def _venv_python(root: Path) -> tuple[str, str] | None:
    """The python of the project's virtualenv, and its folder's name."""
    relative = ("Scripts", "python.exe") if _WINDOWS else ("bin", "python")
    for name in (".venv", "venv"):
        python = root.absolute() / name / Path(*relative)  # not resolved: the venv's link is the venv
        if python.is_file() and os.access(python, os.X_OK):
            return str(python), name
    return None


def _is_poetry_project(root: Path) -> bool:
    if (root / "poetry.lock").is_file():
        return True
    try:
        data = read_toml(root / "pyproject.toml")
    except (TomlReadError, TomlSyntaxError):
        return False
    tool = data.get("tool") if isinstance(data, dict) else None
    return isinstance(tool, dict) and "poetry" in tool


def _pytest_in_project_env(root: Path) -> tuple[tuple[str, ...], str] | None:
    """How to start pytest in the project's environment (argv before the flags), and its source."""
    venv = _venv_python(root)
    if venv is not None:
        return (venv[0], "-m", "pytest"), f"detected: the project's {venv[1]}"
    if (root / "uv.lock").is_file() and shutil.which("uv"):
        return ("uv", "run", "pytest"), "detected: uv"
    if _is_poetry_project(root) and shutil.which("poetry"):
        return ("poetry", "run", "pytest"), "detected: poetry"
    if shutil.which("pytest"):
        return ("pytest",), "detected: pytest on PATH"
    if importlib.util.find_spec("pytest") is not None:
        return (sys.executable, "-m", "pytest"), "detected: mlxagent's Python"
    return None


def _has_python_tests(root: Path) -> bool:
    if (root / "tests").is_dir():
        return True
    base_depth = len(root.parts)
    for dirpath, dirnames, filenames in os.walk(root):
        depth = len(Path(dirpath).parts) - base_depth
        dirnames[:] = [d for d in dirnames if d not in _SKIP_DIRS]
        if depth >= _MAX_DEPTH:
            dirnames[:] = []
        for name in filenames:
            if name.endswith(".py") and (name.startswith("test_") or name.endswith("_test.py")):
                return True
    return False


def _npm_test_script(root: Path) -> str | None:
    """package.json's scripts.test, unless it is missing or npm's placeholder."""
    try:
        data = json.loads((root / "package.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    scripts = data.get("scripts") if isinstance(data, dict) else None
    test = scripts.get("test") if isinstance(scripts, dict) else None
    if isinstance(test, str) and test.strip() and test.strip() != NPM_DEFAULT_TEST:
        return test.strip()
    return None


_MAKE_TEST = re.compile(r"^test\s*:(?!=)", re.M)


def _make_has_test(root: Path) -> bool:
    for name in ("GNUmakefile", "Makefile", "makefile"):
        try:
            text = (root / name).read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        if _MAKE_TEST.search(text):
            return True
    return False


_TEST_PATH = re.compile(r"(^|/)(tests?/|test_[^/]*$|[^/]*_test\.[a-z]+$|[^/]*\.(test|spec)\.[jt]sx?$|conftest\.py$)")


def is_test_path(path: str) -> bool:
    """A file of the tests, by the usual naming of Python, Go, Rust and JavaScript projects."""
    return bool(_TEST_PATH.search(path.replace("\\", "/").lower()))
