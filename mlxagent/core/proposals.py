"""Edit proposals: what the agent wants to change, split into hunks the user accepts or
rejects one by one, applied atomically, and undone exactly.

A proposal keeps the file's exact old and new bytes. Hunks are computed on byte lines
(each line keeps its own `\\n` or `\\r\\n`), so applying any subset of hunks splices whole
original or new lines and never re-encodes anything: encoding, line endings and the
final-newline state come through byte for byte. The unified diff text is for people and
models; `hunks` is that text parsed with unidiff, for a UI to render.
"""

from __future__ import annotations

import difflib
import threading
import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Sequence, Union

import unidiff

from ..errors import MlxAgentError
from .events import ProposalResolved, Review
from .undo_store import FileChange, UndoJournal, UndoRecord, default_folder, remove_empty_dirs, sha256
from .workspace import Workspace, atomic_write

CONTEXT_LINES = 3
DEFAULT_JOURNAL = "default"


@dataclass(frozen=True)
class DiffLine:
    kind: str  # "+" added, "-" removed, " " context, "\\" the "No newline at end of file" marker
    text: str  # without the line ending
    old_no: int | None = None
    new_no: int | None = None


@dataclass(frozen=True)
class Hunk:
    index: int  # 0-based, the position of this hunk's decision in `Review.accepted`
    header: str  # "@@ -3,7 +3,8 @@"
    lines: tuple[DiffLine, ...]
    added: int
    removed: int


@dataclass(frozen=True)
class _Change:
    """One run of differing lines, old[i1:i2] -> new[j1:j2], that belongs to hunk `hunk`."""

    hunk: int
    i1: int
    i2: int
    j1: int
    j2: int


def split_lines(data: bytes) -> list[bytes]:
    """Lines that keep their endings; only `\\n` ends a line (a lone `\\r` is content)."""
    parts = data.split(b"\n")
    lines = [p + b"\n" for p in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def _line_changes(old: list[bytes], new: list[bytes]) -> list[tuple[int, int, int, int]]:
    """The differing runs between two line lists, as (i1, i2, j1, j2)."""
    # Trim the common head and tail first: a typical edit touches a few lines of a long
    # file, and difflib's matcher is quadratic in the part it has to look at.
    head = 0
    while head < len(old) and head < len(new) and old[head] == new[head]:
        head += 1
    tail = 0
    while tail < len(old) - head and tail < len(new) - head and old[-1 - tail] == new[-1 - tail]:
        tail += 1
    matcher = difflib.SequenceMatcher(None, old[head : len(old) - tail], new[head : len(new) - tail], autojunk=False)
    return [
        (i1 + head, i2 + head, j1 + head, j2 + head)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes()
        if tag != "equal"
    ]


def _group_changes(runs: list[tuple[int, int, int, int]], context: int) -> list[_Change]:
    """Assign runs to hunks the way `diff -U<context>` does: runs whose context would
    touch or overlap share a hunk."""
    changes: list[_Change] = []
    hunk = -1
    last_i2 = None
    for i1, i2, j1, j2 in runs:
        if last_i2 is None or i1 - last_i2 > 2 * context:
            hunk += 1
        changes.append(_Change(hunk, i1, i2, j1, j2))
        last_i2 = i2
    return changes


def _display(line: bytes) -> str:
    text = line.decode("utf-8", "replace")
    if text.endswith("\n"):
        text = text[:-1]
    if text.endswith("\r"):
        text = text[:-1]
    return text


def _range(start: int, length: int) -> str:
    # Unified-diff convention: 1-based start; an empty range names the line before it.
    first = start + 1 if length else start
    return str(first) if length == 1 else f"{first},{length}"


def _unified_diff(path: str, old: list[bytes], new: list[bytes], is_new: bool, changes: list[_Change]) -> str:
    out = [f"--- {'/dev/null' if is_new else 'a/' + path}\n", f"+++ b/{path}\n"]

    def emit(prefix: str, line: bytes) -> None:
        out.append(f"{prefix}{_display(line)}\n")
        if not line.endswith(b"\n"):
            out.append("\\ No newline at end of file\n")

    n_hunks = changes[-1].hunk + 1 if changes else 0
    for h in range(n_hunks):
        runs = [c for c in changes if c.hunk == h]
        i_start = max(runs[0].i1 - CONTEXT_LINES, 0)
        i_end = min(runs[-1].i2 + CONTEXT_LINES, len(old))
        j_start = runs[0].j1 - (runs[0].i1 - i_start)
        j_end = runs[-1].j2 + (i_end - runs[-1].i2)
        out.append(f"@@ -{_range(i_start, i_end - i_start)} +{_range(j_start, j_end - j_start)} @@\n")
        i = i_start
        for run in runs:
            for line in old[i : run.i1]:
                emit(" ", line)
            for line in old[run.i1 : run.i2]:
                emit("-", line)
            for line in new[run.j1 : run.j2]:
                emit("+", line)
            i = run.i2
        for line in old[i:i_end]:
            emit(" ", line)
    return "".join(out)


def _parse_hunks(diff: str) -> tuple[Hunk, ...]:
    patch = unidiff.PatchSet(diff)
    if not patch:
        return ()
    hunks = []
    for index, h in enumerate(patch[0]):
        lines = tuple(
            DiffLine(
                kind=line.line_type,
                text=line.value.rstrip("\n"),
                old_no=line.source_line_no,
                new_no=line.target_line_no,
            )
            for line in h
        )
        header = f"@@ -{h.source_start},{h.source_length} +{h.target_start},{h.target_length} @@"
        hunks.append(Hunk(index, header, lines, h.added, h.removed))
    return tuple(hunks)


def _new_id() -> str:
    return uuid.uuid4().hex[:8]


@dataclass(frozen=True)
class Proposal:
    """A whole-file change the agent proposes: `old` is None when the file is new."""

    path: str  # repo-relative POSIX path
    old: bytes | None = field(repr=False)
    new: bytes = field(repr=False)
    note: str = ""  # e.g. how a fuzzy match was found; shown to the user and the model
    checked: str = ""  # what validated it before it was offered: "tests" or "request" (a candidate search's)
    id: str = field(default_factory=_new_id)
    diff: str = field(init=False, repr=False)
    hunks: tuple[Hunk, ...] = field(init=False, repr=False)
    _changes: tuple[_Change, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        old_lines = split_lines(self.old or b"")
        new_lines = split_lines(self.new)
        changes = _group_changes(_line_changes(old_lines, new_lines), CONTEXT_LINES)
        diff = _unified_diff(self.path, old_lines, new_lines, self.old is None, changes)
        hunks = _parse_hunks(diff)
        # The diff text is rendered from `changes`; the two must agree hunk for hunk.
        assert len(hunks) == (changes[-1].hunk + 1 if changes else 0)
        object.__setattr__(self, "_changes", tuple(changes))
        object.__setattr__(self, "diff", diff)
        object.__setattr__(self, "hunks", hunks)

    @property
    def is_new_file(self) -> bool:
        return self.old is None

    @property
    def added(self) -> int:
        return sum(h.added for h in self.hunks)

    @property
    def removed(self) -> int:
        return sum(h.removed for h in self.hunks)

    @property
    def summary(self) -> str:
        verb = "create" if self.is_new_file else "edit"
        n = len(self.hunks)
        return f"{verb} {self.path}: {n} hunk{'s' if n != 1 else ''}, +{self.added} -{self.removed}"

    def content_with(self, accepted: Sequence[bool]) -> bytes:
        """The file's bytes with only the accepted hunks applied."""
        old = split_lines(self.old or b"")
        new = split_lines(self.new)
        out: list[bytes] = []
        pos = 0
        for change in self._changes:
            out.extend(old[pos : change.i1])
            out.extend(new[change.j1 : change.j2] if accepted[change.hunk] else old[change.i1 : change.i2])
            pos = change.i2
        out.extend(old[pos:])
        return b"".join(out)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "path": self.path,
            "new_file": self.is_new_file,
            "summary": self.summary,
            "note": self.note,
            "diff": self.diff,
            "hunks": len(self.hunks),
        }


def _read_or_none(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def _hunk_list(indices: Sequence[int]) -> str:
    return ", ".join(str(i + 1) for i in indices)


def outcome_text(resolved: ProposalResolved) -> str:
    """What the model is told about its proposal once the user has reviewed it."""
    path = resolved.path
    reason = f" Reason: {resolved.reason}" if resolved.reason else ""
    if resolved.outcome == "applied":
        text = f"Edit applied: the user accepted it and {path} is saved."
    elif resolved.outcome == "partly applied":
        text = (
            f"Edit partly applied: the user accepted hunk(s) {_hunk_list(resolved.applied_hunks)} and rejected hunk(s) "
            f"{_hunk_list(resolved.rejected_hunks)}; {path} now has only the accepted part.{reason} "
            f"Read {path} again before editing it further."
        )
    elif resolved.outcome == "rejected":
        text = f"Edit rejected: the user rejected it; {path} is unchanged.{reason}"
    else:
        text = f"Edit not applied: {resolved.message}"
    if resolved.outcome in ("applied", "partly applied") and resolved.message:
        text += f" ({resolved.message})"
    return text


class ProposalManager:
    """Pending proposals, applying reviewed ones, and the undo stack.

    The undo stack is an `UndoJournal` (see core.undo_store). By default it is kept in the
    cache dir, keyed by the repository's resolved root, so a restarted mlxagent can still
    undo what an earlier one applied; `journal=None` keeps it in memory only, and a path
    puts it there. Thread-safe (the agent's worker applies while the UI may call undo), and
    safe between processes: the journal is locked while it is read and changed.
    """

    def __init__(
        self,
        workspace: Workspace,
        *,
        auto_commit: bool = False,
        journal: Union[Path, str, None] = DEFAULT_JOURNAL,
    ) -> None:
        self.workspace = workspace
        self.auto_commit = auto_commit
        self._pending: dict[str, Proposal] = {}
        self._lock = threading.RLock()
        if journal == DEFAULT_JOURNAL:
            folder: Path | None = default_folder(workspace.root)
        else:
            folder = Path(journal) if journal is not None else None
        self._journal = UndoJournal(workspace, folder)
        try:
            with self._journal.locked():
                self._journal.load()  # settles what a killed mlxagent left half-way
        except OSError:
            pass  # tried again on the first apply or undo

    @property
    def journal(self) -> UndoJournal:
        return self._journal

    def add(self, proposal: Proposal) -> None:
        with self._lock:
            self._pending[proposal.id] = proposal

    def pending(self) -> list[Proposal]:
        with self._lock:
            return list(self._pending.values())

    def discard(self, proposal: Proposal) -> None:
        """Forget a pending proposal without applying it (e.g. the turn was cancelled)."""
        with self._lock:
            self._pending.pop(proposal.id, None)

    def undo_history(self) -> list[str]:
        """The summaries of what undo would take back, newest first."""
        with self._lock:
            try:
                with self._journal.locked():
                    return [r.summary for r in reversed(self._journal.load())]
            except OSError:
                return []

    def can_undo(self) -> bool:
        return bool(self.undo_history())

    def apply(self, proposal: Proposal, review: Review, *, commit_message: str | None = None) -> ProposalResolved:
        """Write the accepted hunks of `proposal`; the result says what happened."""
        with self._lock:
            self._pending.pop(proposal.id, None)
            n = len(proposal.hunks)

            def resolved(outcome: str, message: str = "", applied: tuple[int, ...] = (), rejected: tuple[int, ...] = ()) -> ProposalResolved:
                return ProposalResolved(
                    proposal_id=proposal.id,
                    path=proposal.path,
                    outcome=outcome,
                    applied_hunks=applied,
                    rejected_hunks=rejected,
                    reason=review.reason,
                    message=message,
                )

            if len(review.accepted) != n:
                return resolved("failed", f"the review has {len(review.accepted)} decisions for {n} hunks")
            applied = tuple(i for i, ok in enumerate(review.accepted) if ok)
            rejected = tuple(i for i, ok in enumerate(review.accepted) if not ok)
            if n == 0 or not applied:
                return resolved("rejected", "nothing written", rejected=rejected)
            try:
                with self._journal.locked(write=True):
                    if not self._write(proposal, proposal.content_with(review.accepted)):
                        return resolved(
                            "failed",
                            f"{proposal.path} changed on disk after the edit was proposed; the user's version "
                            f"was kept. Read the file again and redo the edit.",
                        )
            except (MlxAgentError, OSError) as exc:
                return resolved("failed", f"could not write {proposal.path}: {exc}")
            outcome = "applied" if not rejected else "partly applied"
            # The model's tool result becomes outcome_text(), so what it should know about
            # how its edit was matched travels in the message.
            notes = [proposal.note]
            if self.auto_commit:
                notes.append(self._commit(proposal, commit_message or f"mlxagent: {proposal.summary}"))
            return resolved(outcome, "; ".join(filter(None, notes)), applied=applied, rejected=rejected)

    def _write(self, proposal: Proposal, content: bytes) -> bool:
        """Write `content` over the proposal's file, journalled; False if the file is stale.

        Holding the journal lock. The record goes in as "pending" before the file is
        touched and becomes "done" after, so a kill at any point leaves a journal the next
        start can settle (see core.undo_store).
        """
        journal, root = self._journal, self.workspace.root
        records = journal.load()
        rel = self.workspace.normalize(proposal.path)
        path = self.workspace.resolve(rel)
        if _read_or_none(path) != proposal.old:
            return False
        created = _missing_parents(path, root)
        before = journal.put(proposal.old) if proposal.old is not None else None
        record = UndoRecord(proposal.id, proposal.summary, (FileChange(rel, before, journal.put(content), created),), "pending")
        records.append(record)
        journal.save(records)
        try:
            for d in created:
                (root / d).mkdir()
            atomic_write(path, content)
        except BaseException:
            remove_empty_dirs(created, root)
            records.pop()
            try:
                journal.save(records)
            except OSError:
                pass  # the pending record is settled (dropped) by the next load
            raise
        records[-1] = replace(record, state="done")
        try:
            journal.save(records)
        except OSError:
            pass  # the file is written; the next load settles the pending record as done
        return True

    def _commit(self, proposal: Proposal, message: str) -> str:
        """Commit the applied file alone, unless that would sweep in the user's own changes."""
        ws = self.workspace
        try:
            if proposal.old != ws.head_bytes(proposal.path) or ws.has_staged_changes(proposal.path):
                return f"not committed: {proposal.path} had uncommitted changes of yours"
            return f"committed as {ws.commit_path(proposal.path, message)}"
        except MlxAgentError as exc:
            return f"not committed: {exc}"

    def undo(self) -> str:
        """Put back the files the last applied proposal changed; returns what happened.

        Only the working tree is touched: never the index, never HEAD.
        """
        with self._lock:
            summary = "the last edit"
            try:
                with self._journal.locked():  # a journal with records has its folder already
                    records = self._journal.load()
                    if not records:
                        return "Nothing to undo."
                    summary = records[-1].summary
                    return self._undo_last(records)
            except (MlxAgentError, OSError) as exc:
                return f"Cannot undo {summary}: {exc}"

    def adopt_rewrites(self, proposal_id: str) -> list[str]:
        """After an after_edit hook (a formatter) rewrote files of the last applied proposal: the
        undo record takes their bytes now as its "after", so undo still puts back the bytes from
        before the edit (the formatting goes with it). Returns the paths that had changed. A
        proposal that is no longer the newest record is left alone (undo then refuses as usual)."""
        with self._lock:
            try:
                with self._journal.locked(write=True):
                    records = self._journal.load()
                    if not records or records[-1].proposal_id != proposal_id or records[-1].state != "done":
                        return []
                    changed, files = [], []
                    for f in records[-1].files:
                        try:
                            data = self.workspace.resolve(f.path).read_bytes()
                        except (OSError, MlxAgentError):
                            data = None  # gone or unreadable: left as recorded (undo refuses it)
                        if data is not None and sha256(data) != f.after:
                            f = replace(f, after=self._journal.put(data))
                            changed.append(f.path)
                        files.append(f)
                    if changed:
                        records[-1] = replace(records[-1], files=tuple(files))
                        self._journal.save(records)
                    return changed
            except OSError:
                return []

    def _undo_last(self, records: list[UndoRecord]) -> str:
        journal, record = self._journal, records[-1]
        for f in record.files:
            self.workspace.resolve(f.path)  # a path the sandbox refuses now is an error
            if journal.state_of(f) != "after":
                return (
                    f"Cannot undo {record.summary}: {f.path} changed since the edit was applied; "
                    f"your version was kept."
                )
            if f.before is not None:
                journal.get(f.before)  # the saved copy is there and intact, before anything is touched
        records[-1] = replace(record, state="undoing")
        journal.save(records)
        done = []
        try:
            for f in record.files:
                journal.restore_before(f)
                done.append(f"{'removed' if f.before is None else 'restored'} {f.path}")
        except BaseException:
            records[-1] = record
            try:
                journal.save(records)
            except OSError:
                pass
            raise
        records.pop()
        try:
            journal.save(records)
        except OSError:
            pass  # the files are restored; the next load settles the "undoing" record away
        return f"Undid {record.summary} ({', '.join(done)})."


def _missing_parents(path: Path, root: Path) -> tuple[str, ...]:
    """The folders above `path` that do not exist yet, outermost first (repo-relative)."""
    missing = []
    parent = path.parent
    while parent != root and not parent.exists():
        missing.append(parent)
        parent = parent.parent
    return tuple(d.relative_to(root).as_posix() for d in reversed(missing))
