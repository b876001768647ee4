"""Spectrum-based localisation (core/repair/spectrum.py): the tests under coverage, Ochiai scores,
and what they do to `suspects()`; the user's repository is never written."""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest

from mlxagent.core.repair import Sources, suspects
from mlxagent.core.repair import propose
from mlxagent.core.repair.spectrum import coverage_argv, measure, ochiai, ranked
from mlxagent.core.testing.detect import PYTEST_FLAGS, TestCommand
from mlxagent.core.testing.report import parse_test_output
from mlxagent.core.testing.runner import run_command

from fixture_repos import init_repo

# The bug is the loop condition (line 10: one window too many); it crashes three lines below.
MODULE = '''"""Sums of neighbouring numbers."""


def window_sums(xs, k):
    """The sum of every run of k neighbours."""
    out = []
    i = 0
    if k > len(xs):
        return out
    while i <= len(xs) - k + 1:
        total = 0
        for j in range(k):
            total += xs[i + j]
        out.append(total)
        i += 1
    return out
'''
BUGGY_LINE = 10
CRASH_LINE = 13
TESTS = '''from m import window_sums


def test_sums():
    assert window_sums([1, 2, 3, 4], 2) == [3, 5, 7]


def test_too_short():
    assert window_sums([1], 2) == []


def test_empty():
    assert window_sums([], 1) == []
'''
REQUEST = "window_sums crashes, please fix it"


def command() -> TestCommand:
    return TestCommand((sys.executable, "-m", "pytest", *PYTEST_FLAGS), "pytest", "test")


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")  # this venv's plugins only slow the runs
    root = tmp_path / "repo"
    root.mkdir()
    (root / "m.py").write_text(MODULE)
    (root / "test_m.py").write_text(TESTS)
    repo = init_repo(root)
    return root, repo


def everything(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and ".git" not in p.relative_to(root).parts}


def test_ochiai_scores_the_lines_only_failing_tests_run_highest():
    lines = {("m.py", 1): ["a", "b", "c"], ("m.py", 2): ["a"], ("m.py", 3): ["b"], ("m.py", 4): ["a", "b"]}
    scores = ochiai(lines, {"a": "failed", "b": "passed", "c": "passed"})
    assert scores[("m.py", 2)] == 1.0
    assert scores[("m.py", 1)] == pytest.approx(1 / 3 ** 0.5)
    assert scores[("m.py", 4)] == pytest.approx(1 / 2 ** 0.5)
    assert ("m.py", 3) not in scores  # no failing test ran it
    assert ochiai(lines, {"a": "passed"}) == {}


def test_the_interpreter_is_found_in_the_usual_pytest_commands(tmp_path):
    assert coverage_argv(["/v/bin/python", "-m", "pytest", "-q"], tmp_path) == (["/v/bin/python"], ["-q"])
    assert coverage_argv(["uv", "run", "pytest", "-x"], tmp_path) == (["uv", "run", "python"], ["-x"])
    assert coverage_argv(["poetry", "run", "pytest"], tmp_path) == (["poetry", "run", "python"], [])
    script = tmp_path / "bin" / "pytest"
    script.parent.mkdir()
    script.write_text("#!/opt/env/bin/python3.12\nimport pytest\n")
    assert coverage_argv([str(script), "tests"], tmp_path) == (["/opt/env/bin/python3.12"], ["tests"])
    assert coverage_argv(["make", "test"], tmp_path) is None


def test_the_spectrum_points_at_the_loop_condition_and_leaves_the_repo_alone(project):
    root, repo = project
    before = everything(root)
    scores = measure(root, ["m.py", "test_m.py"], command())
    assert scores is not None
    top = ranked(scores)
    assert top[0] == (("m.py", BUGGY_LINE), 1.0)
    assert scores[("m.py", CRASH_LINE)] <= scores[("m.py", BUGGY_LINE)]
    assert scores[("m.py", 6)] < 1.0  # the passing tests ran it too
    assert {path for path, _ in scores} == {"m.py"}  # the tests' own lines are left out
    assert everything(root) == before
    assert not (root / ".coverage").exists()
    assert repo.git.status("--porcelain", "--ignored") == ""


def test_suspects_rank_the_buggy_line_higher_with_the_spectrum(project):
    root, _ = project
    result = run_command(list(command().argv), root)
    report = parse_test_output(result.output, result.exit_code, root, "pytest")
    assert not report.ok
    files = ["m.py", "test_m.py"]
    scores = measure(root, files, command())
    assert scores is not None

    def rank(found):
        return next(n for n, s in enumerate(found, 1) if (s.path, s.line) == ("m.py", BUGGY_LINE))

    without = rank(suspects(Sources(root, files), report, REQUEST))
    with_spectrum = suspects(Sources(root, files), report, REQUEST, scores)
    assert rank(with_spectrum) < without
    assert rank(with_spectrum) <= 2
    # no comment or docstring line is ever added, and a line no failing test ran weighs less
    lines = {s.line for s in with_spectrum if s.path == "m.py"}
    assert 1 not in lines and 5 not in lines
    weights = {s.line: s.weight for s in with_spectrum if s.path == "m.py"}
    assert weights[9] < weights[BUGGY_LINE]


def test_docstrings_and_comments_never_come_from_the_spectrum(tmp_path):
    root = tmp_path / "r"
    root.mkdir()
    (root / "m.py").write_text('"""Doc."""\n\n\ndef f(x):\n    """Doc\n    more."""\n    # note\n    return x\n')
    sources = Sources(root, ["m.py"])
    spectrum = {("m.py", 1): 1.0, ("m.py", 5): 1.0, ("m.py", 6): 1.0, ("m.py", 7): 1.0, ("m.py", 8): 1.0}
    assert [(s.path, s.line) for s in suspects(sources, None, "", spectrum)] == [("m.py", 8)]


def test_no_spectrum_without_coverage_or_pytest(project):
    root, _ = project
    files = ["m.py", "test_m.py"]
    # -S: no site-packages, so neither pytest nor coverage can be imported by that interpreter
    assert measure(root, files, TestCommand((sys.executable, "-S", "-m", "pytest"), "pytest", "test")) is None
    assert measure(root, files, TestCommand(("cargo", "test"), "cargo", "test")) is None
    assert measure(root, files, None) is None
    assert not (root / ".coverage").exists()


def test_the_agent_measures_once_while_the_failures_and_files_stay(project, monkeypatch):
    root, _ = project
    calls = []

    def fake(root_, files, command_, **_):
        calls.append(files)
        return {("m.py", BUGGY_LINE): 1.0}

    monkeypatch.setattr(propose, "measure", fake)
    failure = SimpleNamespace(name="test_m.py::test_sums")
    tests = SimpleNamespace(command=command(), last=SimpleNamespace(ok=False, failures=(failure,)))
    agent = SimpleNamespace(tests=tests)
    sources = Sources(root, ["m.py", "test_m.py"])
    cancel = threading.Event()
    assert propose.spectrum(agent, sources, cancel) == {("m.py", BUGGY_LINE): 1.0}
    assert propose.spectrum(agent, sources, cancel) == {("m.py", BUGGY_LINE): 1.0}
    assert len(calls) == 1
    tests.last = SimpleNamespace(ok=False, failures=(failure, SimpleNamespace(name="test_m.py::test_empty")))
    propose.spectrum(agent, sources, cancel)
    assert len(calls) == 2
    tests.command = TestCommand(("cargo", "test"), "cargo", "test")
    assert propose.spectrum(agent, sources, cancel) is None
    assert len(calls) == 2


def _python_without_coverage(tmp_path: Path) -> str:
    """A virtualenv whose interpreter has pytest (linked from this one) and no coverage."""
    import importlib.util
    import subprocess
    import sysconfig

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True).stdout.strip())
    assert site.is_dir() and sysconfig.get_paths()["purelib"] != str(site)
    for name in ("pytest", "_pytest", "pluggy", "iniconfig", "packaging", "py", "pygments", "exceptiongroup", "tomli"):
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            continue
        origin = Path(spec.origin)
        source = origin.parent if origin.name == "__init__.py" else origin
        (site / source.name).symlink_to(source)
    return str(python)


def test_a_test_interpreter_without_coverage_borrows_mlxagents(project, tmp_path):
    root, repo = project
    python = _python_without_coverage(tmp_path)
    assert run_command([python, "-c", "import coverage"], root).exit_code != 0  # it really has none
    assert run_command([python, "-c", "import pytest"], root).exit_code == 0
    before = everything(root)
    scores = measure(root, ["m.py", "test_m.py"], TestCommand((python, "-m", "pytest", *PYTEST_FLAGS), "pytest", "t"))
    assert scores is not None
    assert ranked(scores)[0] == (("m.py", BUGGY_LINE), 1.0)
    assert everything(root) == before
    assert repo.git.status("--porcelain", "--ignored") == ""
