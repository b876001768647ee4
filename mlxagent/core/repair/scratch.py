"""Where candidates are tried: a throwaway copy of the repository, never the user's tree."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Iterable, Sequence

MAX_COPY_BYTES = 200 * 1024 * 1024  # the scratch copy's size limit


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
        self.dir = Path(tempfile.mkdtemp(prefix="mlxagent-check-"))
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
