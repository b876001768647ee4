"""TUI responsiveness, measured on the real program in a real pseudo-terminal.

    .venv/bin/python bench/ui.py [--runs 5] [--presses 80] [--json bench/results/ui.json]

1. time to first paint: from starting `mlxagent REPO` (the entry point, OpenBLAS re-exec
   included) to the prompt being on screen, while the default model loads in the background;
   and to the model being ready;
2. keypress to screen update: a character typed into the prompt, timed from the write to
   the terminal until the terminal receives the redraw that shows it, while the real
   default model generates (prefill and decode), with idle presses as the baseline.

Each press types a character used nowhere else on screen, so its first appearance in the
output is its redraw. Targets: median keypress under 50 ms, first paint under 1.5 s.
"""

from __future__ import annotations

import argparse
import codecs
import fcntl
import os
import pty
import select
import signal
import statistics
import struct
import sys
import tempfile
import termios
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import write_results  # noqa: E402

PROMPT_PAINTED = "sk for a change"  # the prompt's placeholder ("A" may carry the cursor's style)
TASK = "Write a long story about a developer and a git repository, at least 400 words."
# Characters no model output or widget here contains: each one's first appearance is its redraw.
MARKERS = "ĀĂĄĆĈĊČĎĐĒĔĖĘĚĜĞĠĢĤĦĨĪĬĮĲĴĶĹĻĽĿŁŃŅŇŊŌŎŐŒŔŖŘŚŜŞŠŢŤŦŨŪŬŮŰŲŴŶŹŻŽ" "ΓΔΘΛΞΠΣΦΨΩБДЖЗИЙЛПФЦЧШЩЪЫЬЭЮЯ"
TURN_SUMMARY = "step(s) ·"


class Terminal:
    """A program running in a pseudo-terminal of a fixed size, its output read as text."""

    def __init__(self, argv: list[str], cwd: Path, cols: int = 120, rows: int = 40) -> None:
        env = dict(os.environ, TERM="xterm-256color", COLORTERM="truecolor")
        self.started = time.perf_counter()
        pid, fd = pty.fork()
        if pid == 0:  # the child: the program, on the terminal's slave side
            fcntl.ioctl(sys.stdout.fileno(), termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
            os.chdir(cwd)
            os.execvpe(argv[0], argv, env)
        self.pid, self.fd = pid, fd
        self.text = ""
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def read_until(self, found, timeout: float) -> float | None:
        """Read until `found(text_so_far)`; the perf_counter time it became true, or None."""
        deadline = time.perf_counter() + timeout
        while not found(self.text):
            left = deadline - time.perf_counter()
            if left <= 0:
                return None
            ready, _, _ = select.select([self.fd], [], [], min(left, 0.5))
            if ready:
                try:
                    chunk = os.read(self.fd, 65536)
                except OSError:
                    return None
                self.text += self._decoder.decode(chunk)
        return time.perf_counter()

    def drain(self, seconds: float) -> None:
        self.read_until(lambda _: False, seconds)

    def send(self, keys: str) -> float:
        os.write(self.fd, keys.encode())
        return time.perf_counter()

    def close(self) -> None:
        try:
            self.send("\x11")  # ctrl+q
            end = time.monotonic() + 10
            while time.monotonic() < end:
                self.drain(0.2)
                if os.waitpid(self.pid, os.WNOHANG)[0]:
                    return
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        except (OSError, ChildProcessError):
            pass


def scratch_repo() -> Path:
    from fixture_repos import fixture_repo

    return fixture_repo("readme_typo", Path(tempfile.mkdtemp(prefix="bench-ui-")))


def mlxagent_argv(repo: Path) -> list[str]:
    return [sys.executable, "-m", "mlxagent", str(repo)]


def first_paint(runs: int) -> dict:
    from mlxagent.model import default_model

    painted, ready = [], []
    for _ in range(runs):
        term = Terminal(mlxagent_argv(scratch_repo()), Path.cwd())
        try:
            t_paint = term.read_until(lambda text: PROMPT_PAINTED in text, 30)
            t_ready = term.read_until(lambda text: f"◆ {default_model.NAME}" in text, 120)
        finally:
            term.close()
        if t_paint is None:
            raise SystemExit("the prompt never appeared; is the default model installed (`make model`)?")
        painted.append(t_paint - term.started)
        if t_ready is not None:
            ready.append(t_ready - term.started)
    return {"runs": runs, "first_paint_s": painted, "first_paint_median_s": statistics.median(painted),
            "model_ready_s": ready, "model_ready_median_s": statistics.median(ready) if ready else None}


def press_latencies(term: Terminal, markers: str, gap: float, busy_check=None) -> tuple[list[float], int]:
    """Type each marker, timing until it is on screen; presses made while `busy_check()` is false
    are left out (returned as a count)."""
    latencies, skipped = [], 0
    for marker in markers:
        busy = busy_check() if busy_check else True
        sent = term.send(marker)
        shown = term.read_until(lambda text, m=marker: m in text, 5)
        if shown is None:
            raise SystemExit(f"the key {marker!r} never reached the screen")
        if busy and (busy_check() if busy_check else True):
            latencies.append((shown - sent) * 1000)
        else:
            skipped += 1
        term.drain(gap)
    return latencies, skipped


def summary(ms: list[float]) -> dict:
    ordered = sorted(ms)
    return {"presses": len(ms), "median_ms": statistics.median(ms) if ms else None,
            "p90_ms": ordered[int(0.9 * (len(ordered) - 1))] if ms else None,
            "max_ms": ordered[-1] if ms else None}


def keypress(presses: int, gap: float) -> dict:
    from mlxagent.model import default_model

    term = Terminal(mlxagent_argv(scratch_repo()), Path.cwd())
    try:
        if term.read_until(lambda text: f"◆ {default_model.NAME}" in text, 120) is None:
            raise SystemExit("the default model did not load")
        term.drain(0.5)
        idle, _ = press_latencies(term, MARKERS[:10], gap)
        term.send("\x7f" * 10)  # backspace the idle markers away
        term.drain(0.3)
        turns_done = term.text.count(TURN_SUMMARY)
        for ch in TASK:
            term.send(ch)
        term.drain(0.3)
        term.send("\r")  # Enter on its own, as a person presses it after typing
        term.drain(0.2)

        def generating() -> bool:
            return term.text.count(TURN_SUMMARY) == turns_done

        busy, skipped = press_latencies(term, MARKERS[10:10 + presses], gap, generating)
    finally:
        term.close()
    return {"idle": summary(idle), "while_generating": summary(busy), "presses_after_the_turn_ended": skipped,
            "gap_s": gap}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--presses", type=int, default=80)
    parser.add_argument("--gap", type=float, default=0.15, help="seconds between presses")
    parser.add_argument("--json", default="bench/results/ui.json")
    args = parser.parse_args()
    if args.presses > len(MARKERS) - 10:
        raise SystemExit(f"at most {len(MARKERS) - 10} presses")

    from mlxagent.blas import OPT_OUT, find_openblas
    from mlxagent.model import backend, default_model

    default_model.ensure()
    # The program under test is a child process: its entry point preloads OpenBLAS by itself.
    lib = None if os.environ.get(OPT_OUT) else find_openblas()
    results = {"backend": backend.backend_name(),
               "blas": f"OpenBLAS ({lib}), preloaded by the entry point" if lib else backend.blas_name()}
    results["first_paint"] = first_paint(args.runs)
    results["keypress"] = keypress(args.presses, args.gap)

    f, k = results["first_paint"], results["keypress"]
    print(f"backend {results['backend']}, BLAS {results['blas']}")
    print(f"first paint: median {f['first_paint_median_s']:.2f} s over {f['runs']} starts "
          f"({', '.join(f'{s:.2f}' for s in f['first_paint_s'])}); target < 1.5 s")
    if f["model_ready_median_s"] is not None:
        print(f"model ready: median {f['model_ready_median_s']:.2f} s")
    for label, row in (("idle", k["idle"]), ("while generating", k["while_generating"])):
        if row["presses"]:
            print(f"keypress -> screen, {label:17}: median {row['median_ms']:.1f} ms, p90 {row['p90_ms']:.1f} ms, "
                  f"max {row['max_ms']:.1f} ms over {row['presses']} presses")
    print(f"  (presses after the model finished, left out: {k['presses_after_the_turn_ended']}); target median < 50 ms")
    write_results(results, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
