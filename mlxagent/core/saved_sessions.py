"""Sessions that last: every conversation is saved as it goes, so it can be resumed, listed,
exported and learnt from (`mlxagent tune`).

One SQLite database in the data dir (the standard library's sqlite3, WAL mode), keyed by
repository. `SessionRecorder.record(events)` passes the agent's events through and writes each
one in its own transaction, together with the conversation messages added or changed since the
last one; a crash loses at most the event in flight. Streaming text is written when the text
ends (the next other event), not token by token.

Two mlxagents may continue one session at once (`mlxagent run --continue` twice): each session
row has a `version`, bumped by every write, and a recorder writes only when the version is the one
it last saw (checked in the write's own transaction). When another process wrote in between, the
recorder forks: its conversation goes on in a new session (the events it shares with the original
copied), the other one's stays where it was, and `SessionRecorder.notice` says so in one line.

Nothing here may stop the agent: a database that is locked by another mlxagent for longer than
the busy timeout, unwritable, or not a database at all turns saving off with one line
(`SessionRecorder.problem`), and the session goes on unsaved.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from .events import Event

SCHEMA_VERSION = 2  # 2: sessions.version
BUSY_TIMEOUT_S = 5.0
SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    repo TEXT NOT NULL,
    created REAL NOT NULL,
    updated REAL NOT NULL,
    model TEXT NOT NULL DEFAULT '',
    settings TEXT NOT NULL DEFAULT '{}',
    title TEXT NOT NULL DEFAULT '',
    turns INTEGER NOT NULL DEFAULT 0,
    edits_applied INTEGER NOT NULL DEFAULT 0,
    version INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS sessions_by_repo ON sessions (repo, updated);
CREATE TABLE IF NOT EXISTS messages (
    session_id TEXT NOT NULL,
    idx INTEGER NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (session_id, idx)
);
CREATE TABLE IF NOT EXISTS events (
    session_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    ts REAL NOT NULL,
    kind TEXT NOT NULL,
    n_messages INTEGER NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (session_id, seq)
);
"""
# Events not worth a row: figures the next turn recomputes, or parts of one kept elsewhere.
NOT_SAVED = {"CommandApproval"}
APPLIED = ("applied", "partly applied")
INFO_COLUMNS = "id, repo, created, updated, model, settings, title, turns, edits_applied"


class SessionError(Exception):
    """The session database cannot be used (one line, for the user)."""


class SessionConflict(Exception):
    """Another process wrote to the session since this one last saw it (nothing was written)."""


def default_path() -> Path:
    from ..paths import data_dir

    return data_dir() / "sessions.db"


@dataclass
class SessionInfo:
    id: str
    repo: str
    created: float
    updated: float
    model: str = ""
    title: str = ""  # the first request, first line
    turns: int = 0
    edits_applied: int = 0
    settings: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "repo": self.repo, "created": self.created, "updated": self.updated,
                "model": self.model, "title": self.title, "turns": self.turns,
                "edits_applied": self.edits_applied, "settings": self.settings}


@dataclass
class SessionRecord(SessionInfo):
    messages: list[dict[str, Any]] = field(default_factory=list)  # without the system message
    events: list[dict[str, Any]] = field(default_factory=list)  # event.to_dict() + "seq", "n_messages"
    version: int = 0  # the session row's write counter when this was loaded

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "messages": self.messages, "events": self.events}


def repo_key(repo: str | os.PathLike) -> str:
    return str(Path(repo).expanduser().resolve())


class SessionStore:
    """The session database. Thread-safe: one connection, one lock."""

    def __init__(self, path: str | os.PathLike | None = None):
        self.path = Path(path) if path is not None else default_path()
        self._lock = threading.RLock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, check_same_thread=False,
                                       isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise SessionError(f"{self.path} was written by a newer mlxagent (schema {version})")
            self._db.executescript(SCHEMA)
            if version < 2:
                _add_version_column(self._db)
            self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        except sqlite3.DatabaseError as exc:
            raise SessionError(f"the session database {self.path} cannot be used ({exc})") from None
        except OSError as exc:
            raise SessionError(f"the session database {self.path} cannot be opened ({exc.strerror or exc})") from None

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- writing ---------------------------------------------------------------------------

    def _transaction(self):
        return _Transaction(self._db, self._lock)

    def create(self, repo: str, model: str = "", settings: dict[str, Any] | None = None) -> str:
        session_id = _new_id()
        now = time.time()
        with self._transaction() as db:
            db.execute("INSERT INTO sessions (id, repo, created, updated, model, settings) VALUES (?, ?, ?, ?, ?, ?)",
                       (session_id, repo_key(repo), now, now, model, json.dumps(settings or {})))
        return session_id

    def write(self, session_id: str, record: dict[str, Any] | None, messages_from: int,
              messages: list[str], model: str = "", expected_version: int | None = None) -> tuple[int, int]:
        """One transaction: messages[messages_from:] replace what was stored from that index, then
        the event `record` (a dict with "event") is appended, and the session's summary updated.
        With `expected_version`, raises SessionConflict (writing nothing) when the session's version
        is another (or the session is gone). Returns (the new version, the last event's seq)."""
        with self._transaction() as db:
            row = db.execute("SELECT version FROM sessions WHERE id = ?", (session_id,)).fetchone()
            if expected_version is not None and (row is None or row[0] != expected_version):
                raise SessionConflict(session_id)
            return _write(db, session_id, record, messages_from, messages, model)

    def fork(self, parent_id: str, upto_seq: int, repo: str, model: str, settings: dict[str, Any],
             record: dict[str, Any] | None, messages: list[str]) -> tuple[str, int, int]:
        """One transaction: a new session with the parent's events up to `upto_seq` (the ones this
        conversation shares with it), then `messages` and `record` written as by `write`.
        Returns (the new id, its version, the last event's seq)."""
        session_id = _new_id()
        now = time.time()
        with self._transaction() as db:
            row = db.execute("SELECT created, title FROM sessions WHERE id = ?", (parent_id,)).fetchone()
            created, title = row if row is not None else (now, "")
            db.execute("INSERT INTO sessions (id, repo, created, updated, model, settings, title) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?)",
                       (session_id, repo_key(repo), created, now, model, json.dumps(settings or {}), title))
            db.execute("INSERT INTO events (session_id, seq, ts, kind, n_messages, data) SELECT ?, seq, ts, kind, "
                       "n_messages, data FROM events WHERE session_id = ? AND seq <= ?",
                       (session_id, parent_id, upto_seq))
            turns = db.execute("SELECT COUNT(*) FROM events WHERE session_id = ? AND kind = 'TurnStarted'",
                               (session_id,)).fetchone()[0]
            edits = sum(1 for (data,) in db.execute(
                "SELECT data FROM events WHERE session_id = ? AND kind = 'ProposalResolved'", (session_id,)).fetchall()
                if json.loads(data).get("outcome") in APPLIED)
            db.execute("UPDATE sessions SET turns = ?, edits_applied = ? WHERE id = ?", (turns, edits, session_id))
            version, seq = _write(db, session_id, record, 0, messages, model)
        return session_id, version, seq

    def delete(self, session_id: str) -> None:
        with self._transaction() as db:
            for table, column in (("events", "session_id"), ("messages", "session_id"), ("sessions", "id")):
                db.execute(f"DELETE FROM {table} WHERE {column} = ?", (session_id,))

    # -- reading ---------------------------------------------------------------------------

    def sessions(self, repo: str | None = None, limit: int | None = None) -> list[SessionInfo]:
        """Sessions newest first (by last activity), of one repository or all; empty ones (no turn) left out."""
        query = f"SELECT {INFO_COLUMNS} FROM sessions WHERE turns > 0"
        args: list[Any] = []
        if repo is not None:
            query += " AND repo = ?"
            args.append(repo_key(repo))
        query += " ORDER BY updated DESC, created DESC"
        if limit is not None:
            query += " LIMIT ?"
            args.append(int(limit))
        with self._lock:
            rows = self._read(query, args)
        return [_info(row) for row in rows]

    def find(self, prefix: str, repo: str | None = None) -> SessionInfo:
        """The session whose id starts with `prefix` (ids are long; a unique start is enough)."""
        matches = [s for s in self.sessions(repo) if s.id.startswith(prefix)]
        if not matches:
            raise SessionError(f"no saved session {prefix!r}" + (" in this repository" if repo else ""))
        if len(matches) > 1:
            raise SessionError(f"{prefix!r} matches {len(matches)} sessions; give more of the id")
        return matches[0]

    def load(self, session_id: str) -> SessionRecord:
        with self._lock:
            rows = self._read(f"SELECT {INFO_COLUMNS}, version FROM sessions WHERE id = ?", [session_id])
            if not rows:
                raise SessionError(f"no saved session {session_id!r}")
            messages = [json.loads(r[0]) for r in self._read(
                "SELECT data FROM messages WHERE session_id = ? ORDER BY idx", [session_id])]
            events = []
            for seq, n_messages, data in self._read(
                    "SELECT seq, n_messages, data FROM events WHERE session_id = ? ORDER BY seq", [session_id]):
                event = json.loads(data)
                event.update(seq=seq, n_messages=n_messages)
                events.append(event)
        info = _info(rows[0][:-1])
        return SessionRecord(**vars(info), messages=messages, events=events, version=rows[0][-1])

    def records(self, repo: str | None = None) -> Iterator[SessionRecord]:
        for info in self.sessions(repo):
            yield self.load(info.id)

    def _read(self, query: str, args) -> list[tuple]:
        try:
            return self._db.execute(query, args).fetchall()
        except sqlite3.DatabaseError as exc:
            raise SessionError(f"the session database {self.path} cannot be read ({exc})") from None


class _Transaction:
    def __init__(self, db: sqlite3.Connection, lock: threading.RLock):
        self.db, self.lock = db, lock

    def __enter__(self) -> sqlite3.Connection:
        self.lock.acquire()
        try:
            self.db.execute("BEGIN IMMEDIATE")  # waits up to the busy timeout for another writer
        except BaseException:
            self.lock.release()
            raise
        return self.db

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            self.db.execute("COMMIT" if exc_type is None else "ROLLBACK")
        finally:
            self.lock.release()


def _write(db: sqlite3.Connection, session_id: str, record: dict[str, Any] | None, messages_from: int,
           messages: list[str], model: str) -> tuple[int, int]:
    now = time.time()
    db.execute("DELETE FROM messages WHERE session_id = ? AND idx >= ?", (session_id, messages_from))
    db.executemany("INSERT INTO messages (session_id, idx, data) VALUES (?, ?, ?)",
                   [(session_id, messages_from + i, m) for i, m in enumerate(messages)])
    n_messages = messages_from + len(messages)
    sets, args = ["updated = ?"], [now]
    if model:
        sets.append("model = ?")
        args.append(model)
    if record is not None:
        kind = record["event"]
        seq = db.execute("SELECT COALESCE(MAX(seq), -1) + 1 FROM events WHERE session_id = ?",
                         (session_id,)).fetchone()[0]
        db.execute("INSERT INTO events (session_id, seq, ts, kind, n_messages, data) VALUES (?, ?, ?, ?, ?, ?)",
                   (session_id, seq, now, kind, n_messages, json.dumps(record, default=str)))
        if kind == "TurnStarted":
            sets.append("turns = turns + 1")
            sets.append("title = CASE WHEN title = '' THEN ? ELSE title END")
            args.append(_title(record.get("user_text", "")))
        elif kind == "ProposalResolved" and record.get("outcome") in APPLIED:
            sets.append("edits_applied = edits_applied + 1")
    db.execute(f"UPDATE sessions SET {', '.join(sets)}, version = version + 1 WHERE id = ?", (*args, session_id))
    version, seq = db.execute("SELECT version, (SELECT COALESCE(MAX(seq), -1) FROM events WHERE session_id = ?) "
                              "FROM sessions WHERE id = ?", (session_id, session_id)).fetchone() or (0, -1)
    return version, seq


def _add_version_column(db: sqlite3.Connection) -> None:
    """Schema 1 → 2: the sessions' write counter (another mlxagent may be adding it right now)."""
    columns = [row[1] for row in db.execute("PRAGMA table_info(sessions)")]
    if "version" not in columns:
        try:
            db.execute("ALTER TABLE sessions ADD COLUMN version INTEGER NOT NULL DEFAULT 0")
        except sqlite3.OperationalError as exc:
            if "duplicate column" not in str(exc):
                raise


def _new_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S") + "-" + uuid.uuid4().hex[:6]


def _info(row: tuple) -> SessionInfo:
    sid, repo, created, updated, model, settings, title, turns, edits = row
    try:
        parsed = json.loads(settings)
    except ValueError:
        parsed = {}
    return SessionInfo(sid, repo, created, updated, model, title, turns, edits, parsed)


def _title(text: str) -> str:
    line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return line[:120]


def _encode(message: dict[str, Any]) -> str:
    return json.dumps(message, sort_keys=True, default=str)


class SessionRecorder:
    """Saves one agent's conversation as it goes. Wrap every event stream of the agent in
    `record(...)`; after the agent's messages change outside a turn (`/clear`, `/compact`),
    call `sync()`. The session row is created with the first event, so a session that never
    ran a turn leaves nothing behind."""

    def __init__(self, store: SessionStore | None, agent, repo: str, session_id: str | None = None,
                 settings: dict[str, Any] | None = None, saved: list[dict[str, Any]] | None = None,
                 version: int | None = None, last_seq: int | None = None):
        """`saved`, `version`, `last_seq`: the resumed session as loaded (its messages, its write
        counter, its last event's seq); read from the store when not given."""
        self.store = store
        self.agent = agent
        self.repo = repo
        self.session_id = session_id
        self.settings = settings or {}
        self.problem = "" if store is not None else "sessions are not saved"
        self.notice = ""  # one line when another process wrote to the session and this one forked
        self._saved: list[str] = []  # the messages as stored
        self._text: list[str] = []  # streamed text not yet written
        self._output: tuple[str, list[str]] | None = None  # (call_id, command output not yet written)
        self._version: int | None = None  # the session's version as this recorder last saw it
        self._seq = -1  # the last event of this conversation's line in the session
        if session_id is not None and store is not None:
            if saved is None or version is None:
                record = store.load(session_id)
                saved, version = record.messages, record.version
                last_seq = record.events[-1]["seq"] if record.events else -1
            self._saved = [_encode(m) for m in saved]
            self._version, self._seq = version, last_seq if last_seq is not None else -1

    @property
    def saving(self) -> bool:
        return self.store is not None and not self.problem

    def record(self, events: Iterator[Event]) -> Iterator[Event]:
        try:
            for event in events:
                self.event(event)
                yield event
        finally:
            self.flush()

    def event(self, event: Event) -> None:
        name = type(event).__name__
        if name in NOT_SAVED:
            return
        if name == "TextDelta":
            self._text.append(event.text)
            return
        if name == "CommandOutput":
            if self._output is not None and self._output[0] != event.call_id:
                self._flush_output()
            if self._output is None:
                self._output = (event.call_id, [])
            self._output[1].append(event.text)
            return
        self.flush()
        self._write(event.to_dict())

    def flush(self) -> None:
        if self._text:
            text, self._text = "".join(self._text), []
            self._write({"event": "TextDelta", "text": text})
        self._flush_output()

    def _flush_output(self) -> None:
        if self._output is not None:
            (call_id, parts), self._output = self._output, None
            self._write({"event": "CommandOutput", "call_id": call_id, "text": "".join(parts)[-20000:]})

    def sync(self) -> None:
        """Write the agent's messages as they are now (no event)."""
        self._write(None)

    def _write(self, record: dict[str, Any] | None) -> None:
        if not self.saving:
            return
        current = [_encode(m) for m in self.agent.messages[1:]]
        start = next((i for i, (a, b) in enumerate(zip(self._saved, current)) if a != b),
                     min(len(self._saved), len(current)))
        if record is None and start == len(current) == len(self._saved):
            return
        model = getattr(getattr(self.agent, "model", None), "name", "") or ""
        try:
            if self.session_id is None:
                if record is None:
                    return  # nothing happened yet worth a session
                self.session_id = self.store.create(self.repo, model, self.settings)
                self._version = 0
            try:
                self._version, self._seq = self.store.write(self.session_id, record, start, current[start:], model,
                                                            expected_version=self._version)
            except SessionConflict:
                old = self.session_id
                self.session_id, self._version, self._seq = self.store.fork(
                    old, self._seq, self.repo, model, self.settings, record, current)
                self.notice = (f"Another mlxagent wrote to session {old} meanwhile; this conversation is saved "
                               f"as session {self.session_id} (both kept).")
        except (sqlite3.Error, SessionError, OSError) as exc:
            self.problem = f"This session is no longer saved: {_why(exc)}."
            return
        self._saved = current


def _why(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if "locked" in text or "busy" in text:
        return f"the session database is locked by another program ({text})"
    return text


def open_store(path: str | os.PathLike | None = None) -> tuple[SessionStore | None, str]:
    """The store, or None and why not (one line) when it cannot be used: saving is then off."""
    try:
        return SessionStore(path), ""
    except SessionError as exc:
        return None, f"Sessions are not saved: {exc}."


def agent_settings(agent) -> dict[str, Any]:
    """The settings a session ran with, as saved beside it."""
    config = agent.config
    command = agent.toolbox.context.test_command
    return {"auto_approve": config.review == "apply", "guard": config.guard.enabled, "max_steps": config.max_steps,
            "max_tokens": config.max_tokens, "context_strategy": config.context_strategy,
            "test_command": command.display() if command is not None else "",
            "instructions": list(agent.instructions.sources) if agent.instructions else [],
            "system_prompt": agent.messages[0].get("content", "") if agent.messages else ""}


def find_session(store: SessionStore, repo: str | None, spec: str) -> SessionInfo:
    """`spec`: "last" (this repository's latest session), an id, or the start of one."""
    if spec == "last":
        latest = store.sessions(repo, limit=1)
        if not latest:
            raise SessionError("no saved session for this repository yet")
        return latest[0]
    return store.find(spec, repo)


def start(agent, *, save: bool = True, resume: str | None = None, store: SessionStore | None = None,
          path: str | os.PathLike | None = None) -> tuple[SessionRecorder, SessionRecord | None, str]:
    """The recorder for `agent`'s conversation: a new session, or with `resume` ("last": this
    repository's latest; else an id or the start of one) a saved one, whose messages the agent
    continues. Returns (recorder, the resumed record or None, a warning line or "").
    Raises SessionError when the session to resume cannot be found."""
    repo = repo_key(agent.toolbox.workspace.root)
    warning = ""
    if store is None and (save or resume is not None):
        store, warning = open_store(path)
        if store is None and resume is not None:
            raise SessionError(warning.removeprefix("Sessions are not saved: ").rstrip("."))
    record = None
    if resume is not None:
        record = store.load(find_session(store, repo, resume).id)
        agent.load_conversation(record.messages)
    recorder = SessionRecorder(store if save else None, agent, repo, record.id if record and save else None,
                               agent_settings(agent), saved=record.messages if record else None,
                               version=record.version if record else None,
                               last_seq=record.events[-1]["seq"] if record and record.events else None)
    return recorder, record, warning


def rebuild_event(data: dict[str, Any]) -> Event | None:
    """A saved event as the event it was (for redrawing a transcript), or None for a kind this
    version does not know. A saved proposal comes back as a `SavedProposal`."""
    import dataclasses

    from . import events as ev

    cls = getattr(ev, str(data.get("event", "")), None)
    if not (isinstance(cls, type) and issubclass(cls, Event)):
        return None
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.name not in data or f.name == "reply":
            continue
        value = data[f.name]
        if isinstance(value, list) and (isinstance(f.default, tuple) or str(f.type).startswith("tuple")):
            value = tuple(value)
        if f.name == "proposal":
            value = SavedProposal.from_dict(value if isinstance(value, dict) else {})
        kwargs[f.name] = value
    try:
        return cls(**kwargs)
    except TypeError:
        return None


@dataclass(frozen=True)
class SavedProposal:
    """What a saved session keeps of a proposal: enough to show it, not to apply it."""

    id: str
    path: str
    summary: str = ""
    note: str = ""
    diff: str = ""
    hunk_count: int = 0

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "SavedProposal":
        return cls(str(d.get("id", "")), str(d.get("path", "")), str(d.get("summary", "")), str(d.get("note", "")),
                   str(d.get("diff", "")), int(d.get("hunks", 0) or 0))

    @property
    def hunks(self) -> tuple:
        return ()


def export_markdown(record: SessionRecord) -> str:
    """A saved session as a readable transcript."""
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(record.created))
    out = [f"# Session {record.id}", "", f"- repository: `{record.repo}`", f"- started: {when}",
           f"- model: {record.model or '?'}", f"- turns: {record.turns}, edits applied: {record.edits_applied}", ""]
    for e in record.events:
        kind = e.get("event")
        if kind == "TurnStarted":
            out += ["## User", "", e.get("user_text", ""), "", "## Agent", ""]
        elif kind == "TextDelta" and e.get("text", "").strip():
            out += [e["text"].strip(), ""]
        elif kind == "ToolCallStarted":
            out.append(f"- `{e.get('name')}` {json.dumps(e.get('arguments', {}))[:300]}")
        elif kind == "ProposalResolved":
            out.append(f"- proposal for `{e.get('path')}`: **{e.get('outcome')}** {e.get('message', '')}".rstrip())
        elif kind == "ProposalReady":
            diff = (e.get("proposal") or {}).get("diff", "")
            out += ["", "```diff", diff.rstrip(), "```", ""]
        elif kind == "TestResult":
            out.append(f"- tests: {'pass' if e.get('ok') else 'fail'} ({e.get('passed', 0)} passed, "
                       f"{e.get('failed', 0)} failed)")
        elif kind == "ErrorEvent":
            out.append(f"- ✗ {e.get('message', '')}")
        elif kind == "ContextCompacted":
            out.append(f"- {e.get('message', 'compacted')}")
        elif kind == "TurnFinished":
            if e.get("message"):
                out += ["", e["message"]]
            out += ["", f"_{e.get('reason')}: {e.get('steps', 0)} step(s)_", ""]
    return "\n".join(out).rstrip() + "\n"
