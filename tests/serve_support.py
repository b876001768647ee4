"""Start `mlxagent serve` (or another server) as a subprocess on a free loopback port and
wait until it says where it serves."""

from __future__ import annotations

import re
import subprocess
import threading


def launch(cmd: list[str], env: dict[str, str], ready_pattern: str, timeout: float = 180,
           stream: str = "stderr") -> tuple[str, subprocess.Popen, list[str]]:
    """Run `cmd`; return (the URL group 1 of `ready_pattern` matched on its output, the
    process, the output lines so far, still growing)."""
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE if stream == "stdout" else subprocess.DEVNULL,
                            stderr=subprocess.PIPE if stream == "stderr" else subprocess.STDOUT, text=True)
    log: list[str] = []
    found: dict[str, str] = {}
    ready = threading.Event()

    def pump() -> None:
        for line in getattr(proc, stream):
            log.append(line)
            if not found and (m := re.search(ready_pattern, line)):
                found["url"] = m.group(1)
                ready.set()
        ready.set()  # the process ended

    threading.Thread(target=pump, daemon=True).start()
    if not (ready.wait(timeout) and "url" in found):
        stop(proc)
        raise AssertionError("server did not start:\n" + "".join(log))
    return found["url"], proc, log


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


SERVE_READY = r"serving on (http://127\.0\.0\.1:\d+)/v1"
