"""Spectrum-based localisation: which lines the failing tests run and the passing ones do not.

`measure()` runs the project's pytest command once under coverage.py, in a `ScratchCopy` of the
repository, with a tiny pytest plugin that names coverage's dynamic context after each test's
node id (what pytest-cov's `--cov-context=test` does) and writes each test's outcome to a file.
The rcfile, the data file, the plugin and the outcomes all live in a temp directory; nothing is
written in the user's tree. Every executed line outside the tests then gets its Ochiai score,

    ochiai = ef / sqrt(total_failed * (ef + ep))

where ef and ep count the failing and passing tests that ran the line: 1.0 for a line that every
failing test runs and no passing one does. `localise.suspects()` merges the scores with what the
traceback says.

Only for pytest, and only when the interpreter that runs the tests can import `coverage` (>= 5),
its own or, when it has none, mlxagent's (`borrow_coverage()`: a folder with just that package,
first on its PYTHONPATH; an interpreter of another version falls back to coverage's Python tracer);
anything else (another runner, no coverage, a timeout, no failing test) gives None, silently, and
localisation goes on as before.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from ..testing.detect import is_test_path
from ..testing.runner import run_command
from .scratch import ScratchCopy

SPECTRUM_SECONDS = 60.0  # the covered test run's time limit
CHECK_SECONDS = 20.0  # `import coverage` in the test interpreter (uv or poetry may resolve first)
PLUGIN = "mlxagent_spectrum_plugin"
OUTCOMES_ENV = "MLXAGENT_SPECTRUM_OUTCOMES"

Spectrum = dict[tuple[str, int], float]

# The plugin pytest loads (`-p mlxagent_spectrum_plugin`, from the temp dir on PYTHONPATH): each
# test's setup, call and teardown run under the context named after its node id; outcomes go to
# the file named by $MLXAGENT_SPECTRUM_OUTCOMES at the end of the session.
_PLUGIN_SOURCE = '''\
import json
import os

import pytest

_outcomes = {}


def _switch(name):
    try:
        import coverage
        cov = coverage.Coverage.current()
        if cov is not None:
            cov.switch_context(name)
    except Exception:
        pass


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    _switch(item.nodeid)


def pytest_runtest_logfinish(nodeid, location):
    _switch("")


def pytest_runtest_logreport(report):
    if getattr(report, "wasxfail", None) is not None and not report.failed:
        return  # an expected failure says nothing about the code
    if report.failed:
        _outcomes[report.nodeid] = "failed"
    elif report.when == "call" and report.passed:
        _outcomes.setdefault(report.nodeid, "passed")


def pytest_sessionfinish(session, exitstatus):
    path = os.environ.get("%s")
    if path:
        with open(path, "w", encoding="utf-8") as f:
            json.dump(_outcomes, f)
''' % OUTCOMES_ENV

_CHECK = "import coverage, sys; sys.exit(0 if coverage.version_info >= (5,) else 3)"
_OMIT = ("*/site-packages/*", "*/dist-packages/*", "*/.venv/*", "*/venv/*", "*/.tox/*", "*/.nox/*",
         "*/node_modules/*")
_PYTHON_NAME = re.compile(r"^python[0-9.]*(\.exe)?$")
_checked: dict[tuple[tuple[str, ...], str], bool] = {}  # (python argv, cwd) -> coverage importable


# --- scores ------------------------------------------------------------------------------


def ochiai(lines: Mapping[tuple[str, int], Iterable[str]], outcomes: Mapping[str, str]) -> Spectrum:
    """Ochiai scores of lines given the tests that ran each ({(path, line): test ids}) and each
    test's outcome ("failed" or "passed"); lines no failing test ran are left out."""
    failed = {t for t, o in outcomes.items() if o == "failed"}
    passed = {t for t, o in outcomes.items() if o == "passed"}
    if not failed:
        return {}
    scores: Spectrum = {}
    for key, tests in lines.items():
        tests = set(tests)
        ef, ep = len(tests & failed), len(tests & passed)
        if ef:
            scores[key] = ef / math.sqrt(len(failed) * (ef + ep))
    return scores


def ranked(scores: Spectrum) -> list[tuple[tuple[str, int], float]]:
    """The scores, highest first (ties by path and line)."""
    return sorted(scores.items(), key=lambda item: (-item[1], item[0]))


# --- the command ---------------------------------------------------------------------------


def coverage_argv(argv: Sequence[str], root: Path) -> tuple[list[str], list[str]] | None:
    """(the argv that starts the test interpreter, pytest's arguments) of a pytest command, or
    None when the interpreter cannot be told: `python -m pytest ...`, `uv run pytest ...`,
    `poetry run pytest ...`, or a `pytest` script whose interpreter its first line names."""
    argv = list(argv)
    for i in range(len(argv) - 1):
        if argv[i] == "-m" and argv[i + 1] in ("pytest", "py.test") and i >= 1:
            return argv[:i], argv[i + 2:]
    for k, word in enumerate(argv[:4]):
        name = Path(word).name
        if name in ("pytest", "py.test") or name.startswith("py.test"):
            if k > 0:  # a runner in front (uv run, poetry run, env): its python
                return [*argv[:k], "python"], argv[k + 1:]
            python = _script_python(word, root)
            return ([python], argv[1:]) if python else None
    return None


def _script_python(script: str, root: Path) -> str | None:
    """The interpreter of a console script (`pytest`): its #! line, or the python beside it."""
    path = Path(script)
    if not path.is_absolute():
        found = (root / path) if ("/" in script or os.sep in script) else shutil.which(script)
        if found is None:
            return None
        path = Path(found)
    try:
        with open(path, "rb") as f:
            head = f.read(1024).decode("utf-8", "replace")
    except OSError:
        return None
    lines = head.splitlines()
    if lines and lines[0].startswith("#!"):
        words = lines[0][2:].split()
        if words and _PYTHON_NAME.match(Path(words[0]).name):
            return words[0]
        if len(words) >= 2 and Path(words[0]).name == "env" and _PYTHON_NAME.match(words[1]):
            return shutil.which(words[1])
        exec_line = re.search(r"""^'''exec' '?"?([^'" ]+)""", head, re.M)  # pip's long-path launcher
        if exec_line and _PYTHON_NAME.match(Path(exec_line.group(1)).name):
            return exec_line.group(1)
    for name in ("python", "python3"):
        beside = path.parent / name
        if beside.is_file() and os.access(beside, os.X_OK):
            return str(beside)
    return None


def coverage_available(python: Sequence[str], cwd: Path, cancel: threading.Event | None = None,
                       borrowed: Path | None = None) -> bool:
    """Whether `python` (argv) imports coverage >= 5 (remembered per interpreter and folder);
    `borrowed`: with that folder (`borrow_coverage()`) first on its PYTHONPATH."""
    key = (tuple(python), str(cwd) + ("\0borrowed" if borrowed is not None else ""))
    if key not in _checked:
        env = {"PYTHONPATH": _path_with(borrowed)} if borrowed is not None else None
        result = run_command([*python, "-c", _CHECK], cwd, timeout=CHECK_SECONDS, max_output_chars=2000,
                             cancel=cancel, env=env)
        if result.exit_code is None:
            return False  # cut short: ask again next time
        _checked[key] = result.exit_code == 0
    return _checked[key]


def borrow_coverage(folder: Path) -> Path | None:
    """For a test interpreter without coverage: `folder` holding only mlxagent's own coverage
    package (a link, else a copy), to put first on that interpreter's PYTHONPATH; None when
    mlxagent has none either. (Whether it imports there is `coverage_available`'s question.)"""
    try:
        import coverage
    except ImportError:
        return None
    package = Path(coverage.__file__).resolve().parent
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "coverage"
    if not target.exists():
        try:
            target.symlink_to(package, target_is_directory=True)
        except OSError:
            shutil.copytree(package, target, ignore=shutil.ignore_patterns("__pycache__"))
    return folder


def _path_with(*folders: Path | None) -> str:
    """PYTHONPATH with `folders` first."""
    path_env = os.environ.get("PYTHONPATH", "")
    return os.pathsep.join([str(f) for f in folders if f is not None] + ([path_env] if path_env else []))


def _rcfile(data_file: Path, sources: Sequence[Path]) -> str:
    lines = ["[run]", f"data_file = {data_file}", "branch = False", "source ="]
    lines += [f"    {s}" for s in dict.fromkeys(str(s) for s in sources)]
    lines += ["omit ="] + [f"    {pattern}" for pattern in _OMIT]
    lines += ["disable_warnings =", "    no-data-collected", "    module-not-imported", "    module-not-measured",
              "    couldnt-parse", "    no-ctracer", "    no-sysmon"]
    return "\n".join(lines) + "\n"


# --- the run -----------------------------------------------------------------------------------


def measure(root: Path | str, files: Sequence[str], command, *, timeout: float = SPECTRUM_SECONDS,
            cancel: threading.Event | None = None) -> Spectrum | None:
    """Ochiai scores of the lines outside the tests, {(path, line): score} with paths relative
    to `root`, from one run of the test command under coverage; None when that cannot be done."""
    try:
        return _measure(Path(root), files, command, timeout, cancel)
    except Exception:  # noqa: BLE001 - localisation goes on without the spectrum
        return None


def _measure(root: Path, files: Sequence[str], command, timeout: float,
             cancel: threading.Event | None) -> Spectrum | None:
    if command is None or getattr(command, "runner", None) != "pytest":
        return None
    split = coverage_argv(command.argv, root)
    if split is None:
        return None
    python, pytest_args = split
    try:
        from coverage import CoverageData
    except ImportError:
        return None
    temp = Path(tempfile.mkdtemp(prefix="mlxagent-spectrum-"))
    scratch = None
    try:
        borrowed = None
        if not coverage_available(python, root, cancel):
            # the project's interpreter has no coverage: lend it mlxagent's (often the same Python)
            borrowed = borrow_coverage(temp / "borrowed")
            if borrowed is None or not coverage_available(python, root, cancel, borrowed):
                return None
        scratch = ScratchCopy(root, files)
        data_file, outcomes_file, rc = temp / "coverage.db", temp / "outcomes.json", temp / "coveragerc"
        (temp / f"{PLUGIN}.py").write_text(_PLUGIN_SOURCE, encoding="utf-8")
        roots = [Path(os.path.realpath(scratch.root)), Path(os.path.realpath(root))]
        rc.write_text(_rcfile(data_file, roots), encoding="utf-8")
        env = {"PYTHONPATH": _path_with(temp, borrowed),
               "COVERAGE_FILE": str(data_file), "COVERAGE_RCFILE": str(rc), OUTCOMES_ENV: str(outcomes_file)}
        argv = [*python, "-m", "coverage", "run", f"--rcfile={rc}", "-m", "pytest", "-p", PLUGIN, *pytest_args]
        result = run_command(argv, scratch.root, timeout=timeout, max_output_chars=4000, cancel=cancel, env=env)
        if result.exit_code is None or not outcomes_file.is_file() or not data_file.is_file():
            return None
        outcomes = json.loads(outcomes_file.read_text(encoding="utf-8"))
        if not isinstance(outcomes, dict) or "failed" not in outcomes.values():
            return None
        data = CoverageData(basename=str(data_file))
        data.read()
        wanted = set(files)
        lines: dict[tuple[str, int], list[str]] = {}
        for measured in data.measured_files():
            rel = _relative(measured, roots)
            if rel is None or rel not in wanted or is_test_path(rel):
                continue
            for line, contexts in (data.contexts_by_lineno(measured) or {}).items():
                tests = [c for c in contexts if c]
                if tests:
                    lines[(rel, int(line))] = tests
        return ochiai(lines, outcomes) or None
    finally:
        if scratch is not None:
            scratch.close()
        shutil.rmtree(temp, ignore_errors=True)


def _relative(measured: str, roots: Sequence[Path]) -> str | None:
    path = Path(os.path.realpath(measured))
    for base in roots:
        try:
            return path.relative_to(base).as_posix()
        except ValueError:
            continue
    return None
