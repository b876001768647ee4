"""Running commands: real child processes, no mocks."""

from __future__ import annotations

import os
import re
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from mlxagent.core.testing.runner import (
    CommandError,
    CommandResult,
    format_command,
    run_command,
    split_command,
    stream_command,
)
from mlxagent.core.testing.detect import detect_test_command
from mlxagent.core.testing.report import parse_test_output
from mlxagent.errors import MlxAgentError

PY = sys.executable
# The child pytest needs none of the plugins installed here; skipping them keeps it quick.
FAST_PYTEST = {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}


def _gone(pid: int, within: float = 2.0) -> bool:
    """Whether pid has died within `within` seconds. A zombie counts as dead: it is
    the init process's to reap (orphaned grandchildren are), and some reap slowly."""
    end = time.monotonic() + within
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        if _is_zombie(pid):
            return True
        if time.monotonic() > end:
            return False
        time.sleep(0.05)


def _is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] == "Z"


def _reap_if_ours(pid: int) -> None:
    try:
        os.kill(pid, 9)
    except ProcessLookupError:
        pass


# --- basics -------------------------------------------------------------------


def test_output_is_interleaved_and_exit_code_kept(tmp_path):
    code = "import sys\nprint('out', flush=True)\nprint('err', file=sys.stderr, flush=True)\nsys.exit(3)"
    result = run_command([PY, "-c", code], tmp_path)
    assert result.output == "out\nerr\n"
    assert result.exit_code == 3
    assert not result.ok
    assert result.argv == (PY, "-c", code)
    assert result.cwd == str(tmp_path)
    assert not (result.timed_out or result.cancelled or result.truncated or result.error)
    assert result.describe().startswith("exit 3 in ")


def test_success_and_on_output(tmp_path):
    seen: list[str] = []
    result = run_command([PY, "-c", "print('hello')"], tmp_path, on_output=seen.append)
    assert result.ok and result.exit_code == 0
    assert "".join(seen) == "hello\n" == result.output
    assert result.duration >= 0


def test_stream_yields_chunks_then_one_result(tmp_path):
    code = "import time\nfor i in range(3):\n    print(i, flush=True)\n    time.sleep(0.05)"
    items = list(stream_command([PY, "-c", code], tmp_path))
    assert isinstance(items[-1], CommandResult)
    assert all(isinstance(item, str) for item in items[:-1])
    assert "".join(items[:-1]) == "0\n1\n2\n" == items[-1].output


def test_cwd_is_used(tmp_path):
    result = run_command([PY, "-c", "import os; print(os.getcwd())"], tmp_path)
    assert Path(result.output.strip()).resolve() == tmp_path.resolve()


def test_env_is_inherited_extended_and_bytecode_off(tmp_path, monkeypatch):
    monkeypatch.setenv("MLXAGENT_TEST_INHERITED", "yes")
    code = "import os, sys; print(os.environ['MLXAGENT_TEST_INHERITED'], os.environ['EXTRA'], os.environ['PYTHONDONTWRITEBYTECODE'], sys.dont_write_bytecode)"
    result = run_command([PY, "-c", code], tmp_path, env={"EXTRA": "1"})
    assert result.output.split() == ["yes", "1", "1", "True"]


def test_stdin_is_closed(tmp_path):
    started = time.monotonic()
    result = run_command([PY, "-c", "import sys; print(repr(sys.stdin.read()))"], tmp_path, timeout=10)
    assert result.output.strip() == "''"
    assert time.monotonic() - started < 5


def test_invalid_utf8_is_replaced(tmp_path):
    result = run_command([PY, "-c", "import sys; sys.stdout.buffer.write(b'a\\xffb\\xc3\\xa9')"], tmp_path)
    assert result.output == "a\ufffdbé"


# --- could not start -------------------------------------------------------------


def test_missing_executable_is_a_result_not_an_exception(tmp_path):
    result = run_command(["mlxagent-no-such-command-xyz", "--flag"], tmp_path)
    assert result.exit_code is None
    assert result.error == "command not found: mlxagent-no-such-command-xyz"
    assert not result.ok
    assert result.describe() == "could not start: command not found: mlxagent-no-such-command-xyz"


def test_permission_denied_is_a_result(tmp_path):
    script = tmp_path / "script.sh"
    script.write_text("#!/bin/sh\necho hi\n")
    script.chmod(0o644)
    result = run_command([str(script)], tmp_path)
    if os.geteuid() == 0 and result.error == "":
        pytest.skip("root may run anything")
    assert result.exit_code is None
    assert result.error.startswith("permission denied")


def test_missing_cwd_is_a_result(tmp_path):
    result = run_command([PY, "-c", "pass"], tmp_path / "nope")
    assert result.exit_code is None
    assert "does not exist" in result.error


def test_shell_strings_are_refused(tmp_path):
    with pytest.raises(CommandError):
        run_command("echo hi", tmp_path)  # type: ignore[arg-type]
    with pytest.raises(CommandError):
        run_command([], tmp_path)


def test_split_and_format_command():
    assert split_command("pytest -k 'a and b' tests/") == ["pytest", "-k", "a and b", "tests/"]
    assert format_command(["pytest", "-k", "a and b"]) == "pytest -k 'a and b'"
    with pytest.raises(CommandError) as e:
        split_command("pytest -k 'unclosed")
    assert isinstance(e.value, MlxAgentError)
    assert "\n" not in str(e.value) and "quotation" in str(e.value)
    with pytest.raises(CommandError):
        split_command("   ")


# --- timeout, cancel, early close --------------------------------------------------


def _spawner(pid_file: Path) -> str:
    return textwrap.dedent(f"""
        import subprocess, sys, time
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        open({str(pid_file)!r}, "w").write(str(child.pid))
        print("spawned", flush=True)
        time.sleep(60)
    """)


def _read_pid(pid_file: Path) -> int:
    end = time.monotonic() + 5
    while time.monotonic() < end:
        if pid_file.exists() and pid_file.read_text().strip():
            return int(pid_file.read_text())
        time.sleep(0.02)
    raise AssertionError("the grandchild never wrote its pid")


def test_timeout_kills_the_whole_process_group(tmp_path):
    pid_file = tmp_path / "grandchild.pid"
    started = time.monotonic()
    result = run_command([PY, "-c", _spawner(pid_file)], tmp_path, timeout=1)
    elapsed = time.monotonic() - started
    grandchild = _read_pid(pid_file)
    try:
        assert result.timed_out and not result.cancelled
        assert result.exit_code is None
        assert elapsed < 5
        assert "spawned" in result.output
        assert result.describe() == "timed out after 1 s (process group killed)"
        assert _gone(grandchild), "the grandchild survived the timeout"
    finally:
        _reap_if_ours(grandchild)


def test_cancel_kills_quickly_even_when_silent(tmp_path):
    pid_file = tmp_path / "grandchild.pid"
    cancel = threading.Event()
    timer = threading.Timer(0.3, cancel.set)
    timer.start()
    started = time.monotonic()
    result = run_command([PY, "-c", _spawner(pid_file)], tmp_path, timeout=30, cancel=cancel)
    elapsed = time.monotonic() - started
    grandchild = _read_pid(pid_file)
    try:
        assert result.cancelled and not result.timed_out
        assert result.exit_code is None
        assert elapsed < 3
        assert result.describe() == "cancelled"
        assert _gone(grandchild)
    finally:
        timer.cancel()
        _reap_if_ours(grandchild)


def test_cancel_is_noticed_without_any_output(tmp_path):
    cancel = threading.Event()
    threading.Timer(0.2, cancel.set).start()
    started = time.monotonic()
    result = run_command([PY, "-c", "import time; time.sleep(30)"], tmp_path, cancel=cancel)
    assert result.cancelled
    assert time.monotonic() - started < 2


def test_closing_the_generator_kills_the_group(tmp_path):
    pid_file = tmp_path / "grandchild.pid"
    stream = stream_command([PY, "-c", _spawner(pid_file)], tmp_path, timeout=30)
    assert next(stream).startswith("spawned")  # output has started: the grandchild exists
    grandchild = _read_pid(pid_file)
    try:
        stream.close()
        assert _gone(grandchild)
    finally:
        _reap_if_ours(grandchild)


def test_a_grandchild_holding_the_pipe_does_not_hang_the_run(tmp_path):
    pid_file = tmp_path / "grandchild.pid"
    code = textwrap.dedent(f"""
        import subprocess, sys
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        open({str(pid_file)!r}, "w").write(str(child.pid))
        print("leader done", flush=True)
    """)
    started = time.monotonic()
    result = run_command([PY, "-c", code], tmp_path, timeout=30)
    grandchild = _read_pid(pid_file)
    try:
        assert result.exit_code == 0 and not result.timed_out
        assert result.output == "leader done\n"
        assert time.monotonic() - started < 5
        assert _gone(grandchild)
    finally:
        _reap_if_ours(grandchild)


# --- output cap ------------------------------------------------------------------------


def test_output_is_capped_keeping_head_and_tail(tmp_path):
    code = "import sys\nsys.stdout.write('HEAD' + 'x' * 200_000 + 'TAIL')"
    result = run_command([PY, "-c", code], tmp_path, max_output_chars=10_000)
    assert result.truncated
    assert result.output.startswith("HEAD")
    assert result.output.endswith("TAIL")
    assert "characters of output left out" in result.output
    assert 9_500 <= len(result.output) <= 10_200
    head, notice, tail = re.split(r"(\[… \d+ characters of output left out …\]\n)", result.output)
    left_out = int(notice.split()[1])
    assert len(head) - 1 + left_out + len(tail) == 200_008  # head gets a newline before the notice
    assert result.describe().endswith("(output shortened)")


def test_output_cap_cuts_at_line_ends(tmp_path):
    code = "for i in range(20_000): print(f'line {i}')"
    result = run_command([PY, "-c", code], tmp_path, max_output_chars=2_000)
    assert result.truncated
    lines = result.output.splitlines()
    assert lines[0] == "line 0"
    assert lines[-1] == "line 19999"
    notice = [line for line in lines if line.startswith("[… ")]
    assert len(notice) == 1
    assert all(line.startswith("line ") for line in lines if line not in notice)


def test_output_under_the_cap_is_whole(tmp_path):
    result = run_command([PY, "-c", "print('y' * 999)"], tmp_path, max_output_chars=1_000)
    assert not result.truncated
    assert result.output == "y" * 999 + "\n"


# --- a real pytest run, end to end ---------------------------------------------------


WINDOWS = '''\
def window_sums(values, size):
    """Sum every window of `size` consecutive values."""
    if size <= 0:
        raise ValueError("size must be positive")
    if size > len(values):
        raise IndexError("window larger than the list")
    return [sum(values[i : i + size]) for i in range(len(values) - size)]
'''

TEST_WINDOWS = '''\
from windows import window_sums


def test_every_window_is_summed():
    assert window_sums([1, 2, 3, 4], 2) == [3, 5, 7]


def test_empty_window_is_refused():
    assert window_sums([1, 2], 0) == []


def test_too_big_raises():
    window_sums([1, 2], 5)


def test_windows_are_a_list():
    assert isinstance(window_sums([1, 2, 3], 1), list)
'''


def _project(tmp_path: Path, windows: str = WINDOWS, tests: str = TEST_WINDOWS) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    (root / "windows.py").write_text(windows)
    (root / "test_windows.py").write_text(tests)
    return root


def test_real_pytest_failing_run_is_parsed(tmp_path):
    root = _project(tmp_path)
    command = detect_test_command(root)
    assert command is not None and command.runner == "pytest"
    result = run_command(command.argv, root, env=FAST_PYTEST, timeout=60)
    assert result.exit_code == 1, result.output
    report = parse_test_output(result.output, result.exit_code, root, runner=command.runner)
    assert report.runner == "pytest" and report.recognised
    assert (report.failed, report.passed, report.errors) == (3, 1, 0)
    assert not report.ok
    by_name = {f.name: f for f in report.failures}
    assert list(by_name) == [
        "test_windows.py::test_every_window_is_summed",
        "test_windows.py::test_empty_window_is_refused",
        "test_windows.py::test_too_big_raises",
    ]
    # An assert in the test itself: the test line.
    summed = by_name["test_windows.py::test_every_window_is_summed"]
    assert summed.message.splitlines()[0] == "assert [3, 5] == [3, 5, 7]"
    assert summed.frame.path == "test_windows.py" and summed.frame.line == 5
    assert summed.frame.text == "assert window_sums([1, 2, 3, 4], 2) == [3, 5, 7]"
    # Raised in the module: the module line, not the test line.
    refused = by_name["test_windows.py::test_empty_window_is_refused"]
    assert refused.message == "ValueError: size must be positive"
    assert (refused.frame.path, refused.frame.line) == ("windows.py", 4)
    assert refused.frame.text == 'raise ValueError("size must be positive")'
    assert [f.path for f in refused.frames] == ["test_windows.py", "windows.py"]
    too_big = by_name["test_windows.py::test_too_big_raises"]
    assert too_big.frame == report.failing_locations()[2]
    assert (too_big.frame.path, too_big.frame.line) == ("windows.py", 6)
    summary = report.summary()
    assert summary.startswith("Tests: 3 failed, 1 passed.\nFAILED test_windows.py::test_every_window_is_summed\n")
    assert "  at windows.py:4: raise ValueError(\"size must be positive\")" in summary
    # The user's repository gets no caches.
    assert not (root / ".pytest_cache").exists()
    assert not list(root.rglob("__pycache__"))


def test_real_pytest_long_tracebacks_are_parsed(tmp_path):
    root = _project(tmp_path)
    result = run_command([PY, "-m", "pytest", "-p", "no:cacheprovider"], root, env=FAST_PYTEST, timeout=60)
    report = parse_test_output(result.output, result.exit_code, root)
    assert report.runner == "pytest"
    assert (report.failed, report.passed) == (3, 1)
    locations = [(f.path, f.line) for f in report.failing_locations()]
    assert locations == [("test_windows.py", 5), ("windows.py", 4), ("windows.py", 6)]


def test_real_pytest_passing_run_is_parsed(tmp_path):
    fixed = WINDOWS.replace("range(len(values) - size)", "range(len(values) - size + 1)")
    tests = TEST_WINDOWS.split("def test_empty_window_is_refused")[0]
    root = _project(tmp_path, fixed, tests + "def test_single():\n    assert window_sums([4], 1) == [4]\n")
    command = detect_test_command(root)
    streamed: list[str] = []
    result = run_command(command.argv, root, env=FAST_PYTEST, timeout=60, on_output=streamed.append)
    assert result.ok, result.output
    assert "".join(streamed) == result.output
    report = parse_test_output(result.output, result.exit_code, root)
    assert report.ok and report.recognised
    assert (report.passed, report.failed) == (2, 0)
    assert report.summary() == "Tests: all 2 passed."


def test_real_pytest_collection_error_is_an_error_with_a_frame(tmp_path):
    root = _project(tmp_path, windows="def window_sums(values, size:\n    return []\n")
    command = detect_test_command(root)
    result = run_command(command.argv, root, env=FAST_PYTEST, timeout=60)
    report = parse_test_output(result.output, result.exit_code, root)
    assert report.recognised and report.errors == 1 and not report.ok
    (failure,) = report.failures
    assert failure.kind == "error" and failure.name == "test_windows.py"
    assert "SyntaxError" in failure.message
    assert (failure.frame.path, failure.frame.line) == ("windows.py", 1)


def test_a_command_dies_with_the_agent_even_when_a_thread_started_it(tmp_path):
    """SIGKILL leaves the agent no chance to clean up; its watchdog kills the command's group."""
    import signal
    import subprocess

    agent = textwrap.dedent("""
        import sys, threading
        from mlxagent.core.testing.runner import run_command

        def work():
            run_command(["sh", "-c", "sleep 60 & echo $$ $!; wait"], sys.argv[1], timeout=300,
                        on_output=lambda text: (sys.stdout.write(text), sys.stdout.flush()))

        worker = threading.Thread(target=work)
        worker.start()
        worker.join()
    """)
    child = subprocess.Popen([PY, "-c", agent, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        leader, grandchild = (int(n) for n in child.stdout.readline().split())
        assert os.getpgid(grandchild) == leader  # the command leads its own group
        assert not _gone(leader, within=0.3)
        child.send_signal(signal.SIGKILL)
        child.wait()
        assert _gone(leader, within=5) and _gone(grandchild, within=5)
    finally:
        child.kill()
        child.wait()
