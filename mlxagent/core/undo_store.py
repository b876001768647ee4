"""The undo journal: what each applied proposal changed, kept so that `/undo` restores
exact bytes, also after mlxagent is restarted in the same repository.

On disk it lives outside the working tree, in `paths.cache_dir()/undo/<key>/` where the
key is a hash of the repository's resolved root:

    journal.json     the records, oldest first (written atomically)
    blobs/<sha256>   every file version a record names, content-addressed (written atomically)
    lock             flock'd while a process reads or changes the journal

The journal is write-ahead. An apply saves its record as "pending" before it touches the
file and flips it to "done" after; an undo saves "undoing" before it puts the old bytes
back and drops the record after. A process killed in between leaves a record that is not
"done"; the next process to take the lock settles it by looking at the files, so the
journal always agrees with the working tree:

    every file as after            -> the apply happened / the undo had not started: "done"
    every file as before           -> the apply never wrote / the undo was done: drop the
                                      record (and the empty folders the apply had made)
    some before, the rest after    -> roll the apply back / finish the undo, then drop it
    a file that is neither         -> "done": undo then refuses it with the usual message

With `folder=None` the journal is kept in memory only (nothing survives the process).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterator

from .. import paths
from .workspace import Workspace, atomic_write, remove_stray_temp_files_beside

try:
    import fcntl
except ImportError:  # Windows: one process per repository is assumed
    fcntl = None  # type: ignore[assignment]

JOURNAL_VERSION = 1
MAX_RECORDS = 100  # oldest records (and the blobs only they use) are dropped past this
LOCK_TIMEOUT_S = 30.0
_SHA_RE = re.compile(r"^[0-9a-f]{64}$")


class JournalError(OSError):
    """The journal cannot be used right now (locked by a stuck process, a missing copy)."""


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def default_folder(root: Path) -> Path:
    """Where the journal of the repository at `root` lives: the cache dir, keyed by its resolved path."""
    key = hashlib.sha256(os.fsencode(str(Path(root).resolve()))).hexdigest()[:24]
    return paths.cache_dir() / "undo" / key


@dataclass(frozen=True)
class FileChange:
    """One file an apply changed: the sha256 of its bytes before (None: it did not exist)
    and after, and the folders the apply created for it (outermost first)."""

    path: str
    before: str | None
    after: str
    created_dirs: tuple[str, ...] = ()


@dataclass(frozen=True)
class UndoRecord:
    proposal_id: str
    summary: str
    files: tuple[FileChange, ...]
    state: str = "done"  # "pending" | "done" | "undoing"


def _record_to_json(r: UndoRecord) -> dict:
    return {
        "id": r.proposal_id,
        "summary": r.summary,
        "state": r.state,
        "files": [
            {"path": f.path, "before": f.before, "after": f.after, "created_dirs": list(f.created_dirs)}
            for f in r.files
        ],
    }


def _record_from_json(d: object) -> UndoRecord | None:
    """A record, or None when it is malformed (then it is dropped, never half-trusted)."""
    try:
        assert isinstance(d, dict)
        files = []
        for f in d["files"]:
            before, after = f["before"], f["after"]
            assert isinstance(f["path"], str) and (before is None or _SHA_RE.match(before)) and _SHA_RE.match(after)
            dirs = tuple(f.get("created_dirs", ()))
            assert all(isinstance(x, str) for x in dirs)
            files.append(FileChange(f["path"], before, after, dirs))
        assert files and d["state"] in ("pending", "done", "undoing")
        return UndoRecord(str(d["id"]), str(d["summary"]), tuple(files), d["state"])
    except (AssertionError, KeyError, TypeError):
        return None


class UndoJournal:
    """The undo records of one working tree, and the file versions they name."""

    def __init__(self, workspace: Workspace, folder: Path | None) -> None:
        self.workspace = workspace
        self.folder = Path(folder) if folder is not None else None
        self._records: list[UndoRecord] = []  # the memory-only journal
        self._blobs: dict[str, bytes] = {}

    @property
    def persistent(self) -> bool:
        return self.folder is not None

    # --- the lock and the records -------------------------------------------------------

    @contextmanager
    def locked(self, write: bool = False) -> Iterator[None]:
        """Hold the journal for a read-change-write; other processes wait (up to LOCK_TIMEOUT_S).

        Only a `write` creates the folder (nothing is left in the cache by just looking);
        if it cannot be created, the journal falls back to memory for this session.
        """
        if self.folder is not None and write:
            try:
                (self.folder / "blobs").mkdir(parents=True, exist_ok=True)  # also if the cache was cleared
            except OSError:  # an unwritable cache: undo still works for this session
                self.folder = None
        if self.folder is None or fcntl is None or not self.folder.is_dir():
            yield
            return
        fd = os.open(self.folder / "lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            deadline = time.monotonic() + LOCK_TIMEOUT_S
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise JournalError(f"the undo journal {self.folder} is held by another mlxagent") from None
                    time.sleep(0.02)
            yield
        finally:
            os.close(fd)  # releases the lock

    def load(self) -> list[UndoRecord]:
        """The records, oldest first, with any left half-way by a killed process settled.

        Call it holding `locked()`: a record that is not "done" is then known to be a dead
        process's (a live one holds the lock from before it writes the record until after).
        """
        if self.folder is None:
            return list(self._records)
        try:
            raw = json.loads((self.folder / "journal.json").read_bytes())
        except FileNotFoundError:
            raw = {}
        except (OSError, ValueError):
            raw = {}  # unreadable: start over rather than trust part of it
        if not isinstance(raw, dict) or raw.get("version") != JOURNAL_VERSION or raw.get("root") != str(self.workspace.root):
            raw = {}
        records = [r for r in map(_record_from_json, raw.get("records", [])) if r is not None]
        settled = self._settle(records)
        if settled != records:
            self.save(settled)
        self._remove_orphan_blobs(settled)
        return settled

    def save(self, records: list[UndoRecord]) -> None:
        if len(records) > MAX_RECORDS:
            del records[: len(records) - MAX_RECORDS]
        if self.folder is None:
            self._records = list(records)
            used = _blob_names(records)
            for name in [n for n in self._blobs if n not in used]:
                del self._blobs[name]
            return
        data = {"version": JOURNAL_VERSION, "root": str(self.workspace.root),
                "records": [_record_to_json(r) for r in records]}
        atomic_write(self.folder / "journal.json", (json.dumps(data, indent=1) + "\n").encode("utf-8"))

    # --- file versions ------------------------------------------------------------------

    def put(self, data: bytes) -> str:
        """Keep `data`; returns its name (its sha256)."""
        name = sha256(data)
        if self.folder is None:
            self._blobs[name] = data
            return name
        path = self.folder / "blobs" / name
        if not (path.is_file() and path.stat().st_size == len(data)):
            atomic_write(path, data)
        return name

    def get(self, name: str) -> bytes:
        """The bytes kept as `name`, checked against it; JournalError if gone or damaged."""
        if self.folder is None:
            try:
                return self._blobs[name]
            except KeyError:
                raise JournalError("its saved copy is missing") from None
        try:
            data = (self.folder / "blobs" / name).read_bytes()
        except FileNotFoundError:
            raise JournalError(f"its saved copy is missing from {self.folder}") from None
        if sha256(data) != name:
            raise JournalError(f"its saved copy in {self.folder} is damaged")
        return data

    def _remove_orphan_blobs(self, records: list[UndoRecord]) -> None:
        """Blobs no record names: left by a killed apply, or by records dropped since."""
        assert self.folder is not None
        if fcntl is None:
            return  # without the lock another process may be about to name it
        used = _blob_names(records)
        try:
            entries = list(os.scandir(self.folder / "blobs"))
        except OSError:
            return
        for entry in entries:
            if entry.name not in used:
                try:
                    os.unlink(entry.path)
                except OSError:
                    pass

    # --- the files as they are ----------------------------------------------------------

    def state_of(self, change: FileChange) -> str:
        """"before", "after" or "other": how the file compares with the change."""
        try:
            path = self.workspace.resolve(change.path)
            data: bytes | None = path.read_bytes()
        except FileNotFoundError:
            data = None
        except (OSError, ValueError):  # a folder there now, a path the sandbox refuses...
            return "other"
        if data is not None and sha256(data) == change.after:
            return "after"
        if (data is None and change.before is None) or (data is not None and sha256(data) == change.before):
            return "before"
        return "other"

    def restore_before(self, change: FileChange) -> None:
        """Put the file back as it was before the change (remove it and its new folders if it was new)."""
        path = self.workspace.resolve(change.path)
        if change.before is None:
            try:
                # Through a symlink the write created the link's target; that is what goes.
                os.unlink(os.path.realpath(path))
            except FileNotFoundError:
                pass
            remove_empty_dirs(change.created_dirs, self.workspace.root)
        else:
            atomic_write(path, self.get(change.before))

    def _settle(self, records: list[UndoRecord]) -> list[UndoRecord]:
        out = []
        for record in records:
            if record.state == "done":
                out.append(record)
                continue
            for f in record.files:
                try:
                    remove_stray_temp_files_beside(self.workspace.resolve(f.path))
                except (OSError, ValueError):
                    pass
            if self._settle_one(record):
                out.append(replace(record, state="done"))
        return out

    def _settle_one(self, record: UndoRecord) -> bool:
        """Finish a record a killed process left; True if it stays (as "done")."""
        states = [self.state_of(f) for f in record.files]
        if "other" in states or all(s == "after" for s in states):
            return True
        # Some files are back as before: the apply had not written them yet, or the undo
        # had restored them. Put the rest back too (roll the apply back, or finish the undo).
        try:
            for f, s in zip(record.files, states):
                if s == "after":
                    self.restore_before(f)
                elif f.before is None:
                    remove_empty_dirs(f.created_dirs, self.workspace.root)  # made before the kill
        except (OSError, ValueError):
            return True
        return False


def _blob_names(records: list[UndoRecord]) -> set[str]:
    return {n for r in records for f in r.files for n in (f.before, f.after) if n is not None}


def remove_empty_dirs(created: tuple[str, ...], root: Path) -> None:
    """Remove the folders an apply created, innermost first, while they are empty."""
    for rel in reversed(created):
        try:
            (root / rel).rmdir()
        except OSError:  # gone already, or not empty any more (something else was put there): keep it
            if (root / rel).exists():
                return
