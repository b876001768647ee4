"""A test that never finishes: pytest prints its stack, the run stops there, and the report names the
test and the line it was running (core/testing/hangs.py), so the candidate search has a place to start."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest

from mlxagent.core import events as ev
from mlxagent.core.testing import hangs
from mlxagent.core.testing.detect import TestCommand
from mlxagent.core.testing.gate import CommandGate
from mlxagent.core.testing.runner import run_command

from fixture_repos import init_repo

LOOPING = ("def is_palindrome(s):\n    return s == s[::-1]\n\n\n"
           "def make_palindrome(text):\n"
           "    start = 0\n"
           "    while not is_palindrome(text[start:]):\n"
           "        start += 0\n"
           "    return text + text[:start][::-1]\n")
TESTS = ("from pal import make_palindrome\n\n\n"
         "def test_empty():\n    assert make_palindrome('') == ''\n\n\n"
         "def test_cat():\n    assert make_palindrome('cat') == 'catac'\n")
PYTEST = TestCommand((sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"), "pytest", "test")


def looping_repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "tests").mkdir(parents=True)
    (root / "pal.py").write_text(LOOPING)
    (root / "tests" / "test_pal.py").write_text(TESTS)
    (root / "conftest.py").write_text("")
    init_repo(root)
    return root


def finish(gen):
    events = []
    while True:
        try:
            events.append(next(gen))
        except StopIteration as stop:
            return events, stop.value


def test_a_test_that_never_finishes_is_a_failure_at_the_line_it_was_running(tmp_path):
    root = looping_repo(tmp_path)
    gate = CommandGate(root, allow=True, timeout=60)  # a test may run 15 s before its stack is printed
    events, (report, text) = finish(gate.run_tests("t1", PYTEST, threading.Event()))
    finished = [e for e in events if isinstance(e, ev.CommandFinished)][0]
    assert finished.timed_out and finished.seconds < 40  # stopped at the dump, not at the 60 s limit
    assert finished.message.startswith("stopped after ") and "a test ran past 15 s" in finished.message
    from mlxagent.ui.widgets.command_card import finished_text

    assert finished_text(finished).startswith("stopped after ") and "a test ran past 15 s" in finished_text(finished)
    assert report is not None and not report.ok and report.failed == 1
    failure = report.failures[0]
    assert failure.name == "tests/test_pal.py::test_cat"
    assert failure.message.startswith("did not finish in 15 s")
    assert [f.path for f in failure.frames][:2] == ["tests/test_pal.py", "pal.py"]
    assert any(f.where() in ("pal.py:7", "pal.py:2", "pal.py:8") for f in failure.frames[1:])
    assert "make_palindrome" in text and hangs.hung(report)
    result = [e for e in events if isinstance(e, ev.TestResult)][0]
    assert result.failing == ("tests/test_pal.py::test_cat",) and result.locations[0].startswith("pal.py:")


def test_a_check_of_a_candidate_that_still_loops_fails_after_its_few_seconds(tmp_path):
    root = looping_repo(tmp_path)
    gate = CommandGate(root, allow=True, timeout=120)
    result = run_command(list(PYTEST.argv), root, timeout=120, env=hangs.environment("pytest", 2),
                         stop_when=hangs.dumped)
    assert result.timed_out and result.duration < 30
    assert not gate.check(PYTEST, root, None, per_test=2)
    (root / "pal.py").write_text(LOOPING.replace("start += 0", "start += 1"))
    assert gate.check(PYTEST, root, None, per_test=2)


def test_the_users_own_pytest_options_are_kept_and_other_runners_get_nothing():
    env = hangs.environment("pytest", 30, {"PYTEST_ADDOPTS": "-x --tb=line"})
    assert env == {"PYTEST_ADDOPTS": "-x --tb=line -o faulthandler_timeout=30"}
    assert hangs.environment("pytest", 7, {}) == {"PYTEST_ADDOPTS": "-o faulthandler_timeout=7"}
    assert hangs.environment("node", 30, {}) == {} and hangs.environment(None, 30, {}) == {}
    assert hangs.seconds_for(120) == 30 and hangs.seconds_for(8) == 5


@pytest.mark.parametrize("output", [
    "....\n1 passed in 0.1s\n",
    "Timeout (0:00:30)!\nsomething else\n",  # not faulthandler's stack
    'Timeout (0:00:30)!\nThread 0x00007f (most recent call first):\n  File "/usr/lib/python3/x.py", line 3 in f\n',
])
def test_output_without_a_stack_inside_the_repository_names_no_test(tmp_path, output):
    assert hangs.hung_test(output, tmp_path) is None


def test_the_stack_of_the_thread_that_hung_is_read_and_the_next_ones_are_not(tmp_path):
    (tmp_path / "tests").mkdir()
    (tmp_path / "m.py").write_text("a\nb\nwhile x:\n    pass\n")
    (tmp_path / "tests" / "test_m.py").write_text("1\n2\n3\n4\n5\n")
    root = tmp_path.resolve()
    output = (f'..Timeout (0:01:05)!\nThread 0x00007f00 (most recent call first):\n'
              f'  File "{root}/m.py", line 3 in spin\n  File "{root}/tests/test_m.py", line 5 in test_spin\n'
              f'  File "/usr/lib/python3/site-packages/_pytest/python.py", line 9 in call\n\n'
              f'Thread 0x00007f01 (most recent call first):\n  File "{root}/m.py", line 1 in other\n')
    failure = hangs.hung_test(output, root)
    assert failure is not None and failure.name == "tests/test_m.py::test_spin"
    assert failure.message.startswith("did not finish in 65 s") and "spin at m.py:3: while x:" in failure.message
    assert [f.where() for f in failure.frames] == ["tests/test_m.py:5", "m.py:3"]


def test_the_runner_stops_a_command_once_its_output_says_so_and_keeps_what_came_before(tmp_path):
    script = "import time\nprint('before', flush=True)\nprint('STOP', flush=True)\ntime.sleep(60)\n"
    result = run_command([sys.executable, "-c", script], tmp_path, timeout=60, stop_when=lambda t: "STOP" in t)
    assert result.timed_out and result.exit_code is None and result.duration < 20
    assert "before" in result.output and "STOP" in result.output
    assert result.describe().startswith("stopped after ") and "its output asked to stop it" in result.describe()
    plain = run_command([sys.executable, "-c", "import time; time.sleep(60)"], tmp_path, timeout=1)
    assert plain.describe() == "timed out after 1 s (process group killed)"


def test_a_turn_on_a_hanging_test_finds_the_fix_and_applies_it(tmp_path):
    from test_test_loop import make_agent

    root = looping_repo(tmp_path)
    agent, _ = make_agent(root, ["Done."], repair_first=True, auto_approve=True)
    agent.gate.timeout = 20  # 5 s a test before its stack is printed
    agent.toolbox.context.test_command = PYTEST
    events = list(agent.run_turn("make_palindrome in pal.py never returns; fix it", threading.Event()))
    results = [e for e in events if isinstance(e, ev.TestResult)]
    assert results[0].failing == ("tests/test_pal.py::test_cat",)
    progress = [e.message for e in events if isinstance(e, (ev.RepairProgress, ev.TurnFinished, ev.ErrorEvent))]
    assert "start += 1" in (root / "pal.py").read_text(), progress
    assert results[-1].ok
    finished = [e for e in events if isinstance(e, ev.TurnFinished)][-1]
    assert finished.reason == "done", finished.message


def test_the_loops_a_hung_test_was_in_are_the_first_suspects(tmp_path):
    from mlxagent.core.repair import Sources, suspects
    from mlxagent.core.testing.parse_common import Failure, Frame
    from mlxagent.core.testing.report import TestReport

    root = looping_repo(tmp_path)
    frames = (Frame("tests/test_pal.py", 9, "assert make_palindrome('cat') == 'catac'"),
              Frame("pal.py", 7, "while not is_palindrome(text[start:]):"), Frame("pal.py", 2, "return s == s[::-1]"))
    hang = Failure("tests/test_pal.py::test_cat", "did not finish in 5 s (a loop that never ends?): ...", frames)
    lines = [(s.path, s.line) for s in suspects(Sources(root, ["pal.py", "tests/test_pal.py"]),
                                                 TestReport("pytest", None, failed=1, failures=(hang,)), "fix it")]
    assert lines.index(("pal.py", 8)) < lines.index(("pal.py", 2)) and lines.index(("pal.py", 8)) < 2
    plain = Failure("tests/test_pal.py::test_cat", "AssertionError", frames)
    lines = [(s.path, s.line) for s in suspects(Sources(root, ["pal.py", "tests/test_pal.py"]),
                                                 TestReport("pytest", 1, failed=1, failures=(plain,)), "fix it")]
    assert lines.index(("pal.py", 8)) > 2  # only a hang lifts the loop's body


def test_no_coverage_run_is_made_for_a_test_that_never_finishes(tmp_path, monkeypatch):
    from types import SimpleNamespace

    from mlxagent.core.repair import Sources, propose

    root = looping_repo(tmp_path)
    monkeypatch.setattr(propose, "measure", lambda *a, **k: pytest.fail("a covered run of a hang would hang"))
    hang = SimpleNamespace(name="tests/test_pal.py::test_cat", message="did not finish in 30 s (a loop ...)")
    agent = SimpleNamespace(tests=SimpleNamespace(command=PYTEST, last=SimpleNamespace(ok=False, failures=(hang,))))
    assert propose.spectrum(agent, Sources(root, ["pal.py"]), threading.Event()) is None
