"""Where candidates are tried: a throwaway copy of the repository, never the user's tree.

Each copy is a temp directory named `PREFIX…` holding a `MARKER` file with its owner's pid and
that process's start time. A search that was killed (SIGKILL, a crash) cannot remove its copy, so
every new search first removes the marked copies whose owner is gone (`clean_stale`); a directory
without our marker, or whose marker cannot be read, is never touched.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Iterable, Sequence

MAX_COPY_BYTES = 200 * 1024 * 1024  # the scratch copy's size limit
PREFIX = "mlxagent-check-"
MARKER = ".mlxagent-scratch-owner"


def process_start(pid: int) -> str | None:
    """When process `pid` started, as an opaque string (None: no such process, or unknown)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return "proc:" + stat.rsplit(")", 1)[1].split()[19]  # field 22: start time in clock ticks
    except (OSError, IndexError):
        pass
    if Path("/proc/self/stat").exists():
        return None  # Linux, and the process is gone
    try:  # macOS and other POSIX systems
        out = subprocess.run(["ps", "-o", "lstart=", "-p", str(pid)], capture_output=True, text=True,
                             timeout=5, env={**os.environ, "LC_ALL": "C"})
    except (OSError, subprocess.SubprocessError):
        return None
    return "ps:" + " ".join(out.stdout.split()) if out.returncode == 0 and out.stdout.strip() else None


def _owner_alive(pid: int, started: str | None) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # someone else's process with that pid: compare start times
    now = process_start(pid)
    if now is None:
        return False
    return started is None or now == started  # a different start: the pid was reused


def clean_stale(tmp: str | os.PathLike | None = None) -> list[Path]:
    """Remove the scratch copies whose owner process is gone; returns what was removed."""
    base = Path(tmp if tmp is not None else tempfile.gettempdir())
    removed = []
    try:
        entries = list(base.iterdir())
    except OSError:
        return removed
    for d in entries:
        if not d.name.startswith(PREFIX) or d.is_symlink() or not d.is_dir():
            continue
        marker = d / MARKER
        try:
            if marker.is_symlink() or not marker.is_file() or d.stat().st_uid != os.getuid():
                continue
            owner = json.loads(marker.read_text())
            pid, started = int(owner["pid"]), owner.get("started")
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if pid > 0 and not _owner_alive(pid, started):
            shutil.rmtree(d, ignore_errors=True)
            removed.append(d)
    return removed


class ScratchCopy:
    """A throwaway copy of the repository's files, where candidates are tried."""

    def __init__(self, root: Path, files: Sequence[str]):
        total = 0
        for f in files:
            try:
                total += (root / f).lstat().st_size
            except OSError:
                pass
        if total > MAX_COPY_BYTES:
            raise OSError(f"the repository is too large to copy for checks ({total // 2**20} MiB)")
        self.dir = Path(tempfile.mkdtemp(prefix=PREFIX))
        pid = os.getpid()
        (self.dir / MARKER).write_text(json.dumps({"pid": pid, "started": process_start(pid)}))
        self.root = self.dir / root.name
        self.root.mkdir()
        for f in files:
            src, dst = root / f, self.root / f
            if src.is_symlink() or not src.is_file():
                continue
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)
        self._original: dict[str, bytes | None] = {}

    def apply(self, files: Iterable[tuple[str, str]]) -> None:
        for path, text in files:
            target = self.root / path
            if path not in self._original:
                self._original[path] = target.read_bytes() if target.exists() else None
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(text.encode("utf-8"))

    def restore(self) -> None:
        for path, data in self._original.items():
            target = self.root / path
            if data is None:
                target.unlink(missing_ok=True)
            else:
                target.write_bytes(data)
        self._original.clear()

    def close(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)
