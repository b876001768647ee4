"""Which commands the user allowed to run without asking, per repository.

"Always allow" on a command's approval prompt saves that exact argv for that repository in
a JSON file outside the working tree (the cache dir, keyed by the repository's resolved
path), written atomically. A broken or unreadable file means "nothing allowed yet": the user
is asked again, never silently trusted.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Sequence

from ..workspace import atomic_write


class ConsentNotSaved(Exception):
    """An approval could not be written to the store (the message says why, in one line)."""


class CommandPermissions:
    def __init__(self, store: Path | None, repo_root: Path):
        self.store = Path(store) if store is not None else None
        self.repo = str(Path(repo_root).resolve())
        self._session: set[tuple[str, ...]] = set()  # allowed for this session only (not saved)
        self._lock = threading.Lock()

    def _read(self) -> dict[str, list[list[str]]]:
        if self.store is None:
            return {}
        try:
            data = json.loads(self.store.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def allowed(self, argv: Sequence[str]) -> bool:
        key = tuple(argv)
        if key in self._session:
            return True
        entries = self._read().get(self.repo, [])
        return isinstance(entries, list) and list(key) in entries

    def allow_for_session(self, argv: Sequence[str]) -> None:
        self._session.add(tuple(argv))

    def allow(self, argv: Sequence[str]) -> None:
        """Allow `argv` in this repository from now on (saved when there is a store).

        Raises `ConsentNotSaved` when the store cannot be written (the command stays allowed
        for this session only)."""
        self._session.add(tuple(argv))
        if self.store is None:
            return
        with self._lock:
            data = self._read()
            entries = data.get(self.repo)
            entries = entries if isinstance(entries, list) else []
            if list(argv) not in entries:
                entries.append(list(argv))
            data[self.repo] = entries
            try:
                self.store.parent.mkdir(parents=True, exist_ok=True)
                atomic_write(self.store, (json.dumps(data, indent=1, sort_keys=True) + "\n").encode("utf-8"))
            except OSError as exc:
                why = exc.strerror or type(exc).__name__
                where = exc.filename or self.store
                raise ConsentNotSaved(f"{why}: {where}") from exc
