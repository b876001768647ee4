"""Running one external command (a test suite, a build) safely.

The command is an argv list, never a shell string, and runs with no stdin, with
stderr merged into stdout, in a process group of its own. A timeout, a cancel or
a consumer that stops reading kills the whole group, grandchildren included, and
nothing waits on a pipe that an escaped grandchild still holds open. The output is
capped (head and tail kept) so a runaway command cannot flood the model's context.

If the agent itself dies (SIGKILL, a crash) while a command runs, a tiny watchdog process kills
the command's group: it holds the read end of a pipe whose only write end is the agent's, and
when that closes without the "done" byte the agent writes at the end, the agent is gone. This
works whichever thread started the command (unlike PR_SET_PDEATHSIG, which follows the thread).

POSIX only (process groups); that is where the agent runs.
"""

from __future__ import annotations

import codecs
import os
import queue
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ...errors import MlxAgentError

DEFAULT_TIMEOUT = 120.0
DEFAULT_MAX_OUTPUT_CHARS = 20_000
# Share of the cap kept from the start of the output; the rest is kept from the end,
# where test runners put their summary.
HEAD_SHARE = 0.4
# After SIGTERM, how long the group leader gets before the group is sent SIGKILL.
KILL_GRACE = 0.5
# How often the generator wakes up to look at the clock and the cancel event.
POLL_INTERVAL = 0.05
# After the command exits, how long to wait for the pipe to reach EOF (a grandchild
# still holding it open) before the rest of the group is killed.
EOF_GRACE = 0.5
# After the group is killed, how long to wait for the last output and the EOF.
DRAIN_GRACE = 0.5
# stop_when: the output it is shown (the last STOP_WINDOW characters and the new chunk), and how
# long the command may go on printing once it said yes
STOP_WINDOW = 400
STOP_GRACE = 0.5
READ_SIZE = 65536


class CommandError(MlxAgentError):
    """A command line could not be understood (bad quoting, empty, not a list)."""


@dataclass(frozen=True)
class CommandResult:
    argv: tuple[str, ...]
    cwd: str
    exit_code: int | None  # None when killed (timeout or cancel) or it could not start
    output: str  # stdout and stderr interleaved, capped
    duration: float  # seconds
    timed_out: bool = False
    cancelled: bool = False
    truncated: bool = False  # output was capped
    error: str = ""  # one line: why it could not start
    timeout: float = 0.0  # the timeout it ran under, for describe()
    stopped: str = ""  # why its own output stopped it (stream_command's stop_when), e.g. "a test ran past 30 s"

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    def describe(self) -> str:
        """One line: how the command ended."""
        if self.error:
            return f"could not start: {self.error}"
        if self.timed_out and self.stopped:
            text = f"stopped after {_seconds(self.duration)} s: {self.stopped} (process group killed)"
        elif self.timed_out:
            limit = self.timeout or self.duration
            text = f"timed out after {limit:g} s (process group killed)"
        elif self.cancelled:
            text = "cancelled"
        elif self.exit_code is not None and self.exit_code < 0:
            text = f"killed by {_signal_name(-self.exit_code)} after {_seconds(self.duration)} s"
        else:
            text = f"exit {self.exit_code} in {_seconds(self.duration)} s"
        if self.truncated:
            text += " (output shortened)"
        return text


def split_command(text: str) -> list[str]:
    """Split a configured command line into argv the way a POSIX shell would quote it."""
    try:
        argv = shlex.split(text)
    except ValueError as e:
        raise CommandError(f"Cannot read the command {text!r}: {str(e).lower()}.") from None
    if not argv:
        raise CommandError("The command is empty.")
    return argv


def format_command(argv: Sequence[str]) -> str:
    """The argv as one line a user could paste into a shell."""
    return shlex.join([str(a) for a in argv])


def stream_command(
    argv: Sequence[str],
    cwd: Path | str,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    max_output_chars: int = DEFAULT_MAX_OUTPUT_CHARS,
    cancel: threading.Event | None = None,
    env: Mapping[str, str] | None = None,
    stdin: bytes | None = None,
    stop_when: Callable[[str], bool] | None = None,
    stop_reason: str = "its output asked to stop it",
) -> Iterator[str | CommandResult]:
    """Run argv in cwd; yield output text as it arrives, then one CommandResult.

    The chunks are the full output as it comes (for a live view); the result's
    `output` is capped. Closing the generator early kills the command. `stdin`: bytes the
    command reads on its standard input (from a temporary file, so no pipe can stall); else none.
    `stop_when(recent output)`: true stops the command STOP_GRACE seconds later (what it prints
    meanwhile is kept), as a timeout whose result says `stop_reason` (core/testing/hangs.py: a
    test's stack printed by pytest).
    """
    args = _check_argv(argv)
    cwd_text = str(cwd)
    started = time.monotonic()

    def failed(reason: str) -> CommandResult:
        return CommandResult(args, cwd_text, None, "", time.monotonic() - started, error=reason, timeout=timeout)

    if not Path(cwd).is_dir():
        yield failed(f"working directory does not exist: {cwd_text}")
        return

    if cancel is not None and cancel.is_set():
        yield CommandResult(args, cwd_text, None, "", 0.0, cancelled=True, timeout=timeout)
        return

    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    full_env["PYTHONDONTWRITEBYTECODE"] = "1"

    stdin_file = None
    if stdin is not None:
        try:
            stdin_file = tempfile.TemporaryFile()
            stdin_file.write(stdin)
            stdin_file.seek(0)
        except OSError as e:
            if stdin_file is not None:
                stdin_file.close()
            yield failed(f"cannot write its input: {e.strerror or e}")
            return
    try:
        proc = subprocess.Popen(
            list(args),
            cwd=cwd_text,
            env=full_env,
            stdin=stdin_file if stdin_file is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            bufsize=0,
        )
    except FileNotFoundError:
        yield failed(f"command not found: {args[0]}")
        return
    except PermissionError:
        yield failed(f"permission denied: {args[0]}")
        return
    except OSError as e:
        yield failed(f"{args[0]}: {e.strerror or e}")
        return
    finally:
        if stdin_file is not None:
            stdin_file.close()  # the child has its own copy of the descriptor

    watchdog = _Watchdog(proc.pid)
    chunks: queue.Queue[str | None] = queue.Queue()
    reader = threading.Thread(target=_read_pipe, args=(proc.stdout, chunks), name="command-output", daemon=True)
    reader.start()
    capture = _Capture(max_output_chars)
    deadline = started + max(0.0, timeout)
    timed_out = cancelled = False
    exit_code: int | None = None
    finished = False
    recent = ""
    stop_seen = False
    try:
        eof = False
        exited_at: float | None = None
        while True:
            now = time.monotonic()
            if cancel is not None and cancel.is_set():
                cancelled = True
                break
            if now >= deadline:
                timed_out = True
                break
            if exited_at is None and _has_exited(proc):
                exited_at = now
            if exited_at is not None and (eof or now - exited_at > EOF_GRACE):
                # Done; past the grace, something it started still holds the pipe.
                break
            wait = min(POLL_INTERVAL, max(0.001, deadline - now))
            if eof:  # the output is closed but the command still runs
                time.sleep(wait)
                continue
            try:
                chunk = chunks.get(timeout=wait)
            except queue.Empty:
                continue
            if chunk is None:
                eof = True
            else:
                capture.add(chunk)
                if stop_when is not None:
                    recent = recent[-STOP_WINDOW:] + chunk
                    if stop_when(recent) and not stop_seen:
                        stop_seen = True
                        deadline = min(deadline, time.monotonic() + STOP_GRACE)
                yield chunk
        if timed_out or cancelled or not eof:
            _kill_group(proc)
            for chunk in _drain(chunks, DRAIN_GRACE):
                capture.add(chunk)
                yield chunk
        elif proc.returncode is None:
            # The leader has exited but is not reaped yet, so its group id is still
            # its own: whatever it left running in the group goes with it.
            _signal_group(proc.pid, signal.SIGKILL)
        code = _wait(proc)
        exit_code = None if (timed_out or cancelled) else code
        finished = True
    finally:
        if not finished:
            # GeneratorExit (the consumer stopped) or an error in the consumer.
            _kill_group(proc)
            _wait(proc)
        watchdog.stop()
    output, truncated = capture.text()
    yield CommandResult(
        args,
        cwd_text,
        exit_code,
        output,
        time.monotonic() - started,
        timed_out=timed_out,
        cancelled=cancelled,
        truncated=truncated,
        timeout=timeout,
        stopped=stop_reason if timed_out and stop_seen else "",
    )


def run_command(
    argv: Sequence[str],
    cwd: Path | str,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    max_output_chars: int = DEFAULT_MAX_OUTPUT_CHARS,
    cancel: threading.Event | None = None,
    env: Mapping[str, str] | None = None,
    on_output: Callable[[str], None] | None = None,
    stop_when: Callable[[str], bool] | None = None,
    stop_reason: str = "its output asked to stop it",
) -> CommandResult:
    """Run argv to the end and return its result; `on_output` sees each chunk as it arrives."""
    result: CommandResult | None = None
    for item in stream_command(argv, cwd, timeout=timeout, max_output_chars=max_output_chars, cancel=cancel, env=env,
                               stop_when=stop_when, stop_reason=stop_reason):
        if isinstance(item, CommandResult):
            result = item
        elif on_output is not None:
            on_output(item)
    assert result is not None
    return result


# --- internals ---------------------------------------------------------------


def _check_argv(argv: Sequence[str]) -> tuple[str, ...]:
    if isinstance(argv, (str, bytes)):
        raise CommandError("A command must be a list of arguments, not one string.")
    args = tuple(os.fspath(a) if isinstance(a, os.PathLike) else a for a in argv)
    if not args:
        raise CommandError("The command is empty.")
    if not all(isinstance(a, str) for a in args):
        raise CommandError("Every argument of a command must be a string.")
    return args


def _read_pipe(pipe, chunks: queue.Queue) -> None:
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    try:
        while True:
            try:
                data = pipe.read(READ_SIZE)
            except (OSError, ValueError):
                break
            if not data:
                break
            text = decoder.decode(data)
            if text:
                chunks.put(text)
        tail = decoder.decode(b"", final=True)
        if tail:
            chunks.put(tail)
    finally:
        try:
            pipe.close()
        except OSError:
            pass
        chunks.put(None)


def _drain(chunks: queue.Queue, grace: float) -> Iterator[str]:
    """What is left in the queue, waiting up to `grace` seconds for the EOF."""
    end = time.monotonic() + grace
    while True:
        left = end - time.monotonic()
        if left <= 0:
            return
        try:
            chunk = chunks.get(timeout=left)
        except queue.Empty:
            return
        if chunk is None:
            return
        yield chunk


# The watchdog: waits for EOF on stdin; "done" (a byte) first means the agent finished with the
# command itself; EOF without it means the agent died, so the command's group is killed.
WATCHDOG = """
import os, signal, sys, time
pgid = int(sys.argv[1])
try:
    done = os.read(0, 1)
except OSError:
    done = b""
if not done:
    for sig, pause in ((signal.SIGTERM, 0.5), (signal.SIGKILL, 0)):
        try:
            os.killpg(pgid, sig)
        except OSError:
            break
        time.sleep(pause)
"""


class _Watchdog:
    """Kills the command's process group if this process dies before `stop()`."""

    def __init__(self, pgid: int):
        self.proc: subprocess.Popen | None = None
        self.fd: int | None = None
        try:
            read_end, self.fd = os.pipe()  # not inheritable: only this process holds the write end
            try:
                self.proc = subprocess.Popen(
                    [sys.executable, "-I", "-S", "-c", WATCHDOG, str(pgid)], stdin=read_end,
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
            finally:
                os.close(read_end)
        except OSError:  # no watchdog: the command still runs, as it did before
            self.stop()

    def stop(self) -> None:
        if self.fd is not None:
            fd, self.fd = self.fd, None
            try:
                os.write(fd, b"x")
            except OSError:
                pass
            os.close(fd)
        if self.proc is not None:
            proc, self.proc = self.proc, None
            try:
                proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _has_exited(proc: subprocess.Popen) -> bool:
    """Whether the child has exited, without reaping it: while it is an unreaped
    zombie its pid (the group id) cannot be reused, so killing the group stays safe."""
    if proc.returncode is not None:
        return True
    try:
        info = os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        return True
    except (AttributeError, OSError):  # no waitid here: fall back to reaping
        return proc.poll() is not None
    return info is not None


def _kill_group(proc: subprocess.Popen) -> None:
    """SIGTERM the command's process group, give the leader a moment, then SIGKILL the group."""
    pgid = proc.pid  # start_new_session: the child leads its own group
    if not _signal_group(pgid, signal.SIGTERM):
        return
    end = time.monotonic() + KILL_GRACE
    while time.monotonic() < end and not _has_exited(proc):
        time.sleep(0.02)
    _signal_group(pgid, signal.SIGKILL)


def _signal_group(pgid: int, sig: int) -> bool:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False
    return True


def _wait(proc: subprocess.Popen) -> int | None:
    try:
        return proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        try:
            proc.kill()
            return proc.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            return None


class _Capture:
    """The output kept for the result: a head and a tail, with a count of what fell between."""

    def __init__(self, limit: int) -> None:
        self.limit = max(0, int(limit))
        self.head_limit = int(self.limit * HEAD_SHARE)
        self.tail_limit = self.limit - self.head_limit
        self.head = ""
        self.tail = ""
        self.total = 0

    def add(self, chunk: str) -> None:
        self.total += len(chunk)
        room = self.head_limit - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            chunk = chunk[room:]
        if chunk:
            self.tail = (self.tail + chunk)[-self.tail_limit :] if self.tail_limit else ""

    def text(self) -> tuple[str, bool]:
        if self.total <= self.limit:
            return self.head + self.tail, False
        head, tail = self.head, self.tail
        # Cut at line ends when one is near, so no half line is shown.
        cut = head.rfind("\n")
        if cut >= len(head) * 0.8:
            head = head[: cut + 1]
        cut = tail.find("\n")
        if 0 <= cut <= len(tail) * 0.2:
            tail = tail[cut + 1 :]
        left_out = self.total - len(head) - len(tail)
        if not head.endswith("\n") and head:
            head += "\n"
        notice = f"[… {left_out} characters of output left out …]\n"
        return head + notice + tail, True


def _seconds(value: float) -> str:
    if value >= 10:
        return f"{value:.0f}"
    return f"{value:.1f}"


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"
