"""Sessions that last (core/saved_sessions.py): saved as they go, resumed, listed, exported; a crash in
the middle of a turn loses nothing before it; a database held by another program is not a crash."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from mlxagent.core import events as ev
from mlxagent.core import saved_sessions as sessions
from mlxagent.core.saved_sessions import SessionError, SessionRecorder, SessionStore, open_store, rebuild_event, start

from fixture_repos import fixture_repo
from scripted_model import hermes_call
from test_agent import drive, make_agent, of

ROOT = Path(__file__).resolve().parent.parent
TESTS = Path(__file__).resolve().parent


def typo_repo(tmp_path):
    repo = fixture_repo("readme_typo", tmp_path)
    readme = (repo / "README.md").read_text()
    typo = next(word for word in ("recieve", "teh", "langauge", "occured") if word in readme)
    fixed = {"recieve": "receive", "teh": "the", "langauge": "language", "occured": "occurred"}[typo]
    return repo, typo, fixed


def script_for(typo, fixed):
    return ["Let me look. " + hermes_call("read_file", path="README.md"),
            hermes_call("edit_file", path="README.md", search=typo, replace=fixed),
            "Fixed the typo."]


def recorded_turn(agent, recorder, task, review=None):
    out = []
    for event in recorder.record(agent.run_turn(task)):
        out.append(event)
        if isinstance(event, ev.ProposalReady) and not event.reply.done():
            event.reply.set_result((review or (lambda p: ev.Review.accept_all(len(p.hunks))))(event.proposal))
    return out


def test_a_turn_is_saved_as_it_goes_and_resumed(tmp_path):
    repo, typo, fixed = typo_repo(tmp_path)
    agent, _ = make_agent(repo, script_for(typo, fixed))
    recorder, record, warning = start(agent)
    assert (record, warning) == (None, "")
    assert recorder.session_id is None  # nothing saved before the first event
    events = recorded_turn(agent, recorder, "fix the typo in the README")
    assert of(events, ev.TurnFinished)[0].reason == "done"

    store = SessionStore()
    [info] = store.sessions(str(repo))
    assert info.id == recorder.session_id
    assert (info.title, info.turns, info.edits_applied, info.model) == ("fix the typo in the README", 1, 1, "scripted")
    saved = store.load(info.id)
    assert saved.messages == agent.messages[1:]  # everything but the system prompt
    kinds = [e["event"] for e in saved.events]
    assert kinds[0] == "TurnStarted" and kinds[-1] == "TurnFinished"
    assert kinds.count("TextDelta") == 2  # streamed text is one record per generation, not per piece
    assert "".join(e["text"] for e in saved.events if e["event"] == "TextDelta").startswith("Let me look.")
    ready = next(e for e in saved.events if e["event"] == "ProposalReady")
    assert ready["proposal"]["path"] == "README.md" and fixed in ready["proposal"]["diff"]
    # n_messages: the conversation as it stood when the event was saved
    started = [e for e in saved.events if e["event"] == "ToolCallStarted"]
    assert [saved.messages[e["n_messages"] - 1]["role"] for e in started] == ["assistant", "assistant"]
    assert [e["seq"] for e in saved.events] == list(range(len(saved.events)))

    # A new process (a new agent) continues it: the model sees the old conversation.
    again, model = make_agent(repo, ["You asked me to fix a typo; it is fixed."])
    recorder2, record, _ = start(again, resume="last")
    assert record.id == info.id and recorder2.session_id == info.id
    assert again.messages[1:] == saved.messages
    recorded_turn(again, recorder2, "what did you change?")
    seen = model.calls[0]["messages"]
    assert any(m["role"] == "tool" and "README.md" in m.get("name", "") + m["content"] for m in seen) or \
        any(fixed in (m.get("content") or "") for m in seen)
    assert seen[-1]["content"].startswith("what did you change?")
    after = store.load(info.id)
    assert after.turns == 2 and after.messages == again.messages[1:]
    assert len(store.sessions(str(repo))) == 1


def test_rejected_edit_is_saved_with_its_outcome(tmp_path):
    repo, typo, fixed = typo_repo(tmp_path)
    agent, _ = make_agent(repo, script_for(typo, fixed))
    recorder, _, _ = start(agent)
    recorded_turn(agent, recorder, "fix the typo", review=lambda p: ev.Review.reject_all(len(p.hunks), "no"))
    saved = SessionStore().load(recorder.session_id)
    assert saved.edits_applied == 0
    assert [e["outcome"] for e in saved.events if e["event"] == "ProposalResolved"] == ["rejected"]


def test_sessions_are_kept_per_repository_newest_first(tmp_path):
    first, typo, fixed = typo_repo(tmp_path / "one")
    second, _, _ = typo_repo(tmp_path / "two")
    ids = []
    for repo, task in ((first, "first task"), (first, "second task"), (second, "elsewhere")):
        agent, _ = make_agent(repo, ["Nothing to do."])
        recorder, _, _ = start(agent)
        recorded_turn(agent, recorder, task)
        ids.append(recorder.session_id)
        time.sleep(0.01)
    store = SessionStore()
    assert [s.title for s in store.sessions(str(first))] == ["second task", "first task"]
    assert [s.title for s in store.sessions(str(second))] == ["elsewhere"]
    assert len(store.sessions()) == 3
    assert store.find(ids[0][:18] + ids[0][18:], str(first)).id == ids[0]
    with pytest.raises(SessionError, match="no saved session"):
        store.find("nope", str(first))
    with pytest.raises(SessionError, match="matches 2 sessions"):
        store.find("2", str(first))  # every id starts with the year


def test_a_session_without_a_turn_leaves_nothing(tmp_path):
    repo, _, _ = typo_repo(tmp_path)
    agent, _ = make_agent(repo, [])
    recorder, _, _ = start(agent)
    recorder.sync()
    assert SessionStore().sessions() == [] and recorder.session_id is None


def test_clear_and_rewritten_messages_are_saved(tmp_path):
    repo, typo, fixed = typo_repo(tmp_path)
    agent, _ = make_agent(repo, script_for(typo, fixed))
    recorder, _, _ = start(agent)
    recorded_turn(agent, recorder, "fix the typo")
    agent.messages = agent.messages[:1] + [{"role": "user", "content": "summary"},
                                           {"role": "assistant", "content": "ok"}]
    recorder.sync()
    assert SessionStore().load(recorder.session_id).messages == agent.messages[1:]


def test_resume_nothing_is_one_line(tmp_path):
    repo, _, _ = typo_repo(tmp_path)
    agent, _ = make_agent(repo, [])
    with pytest.raises(SessionError, match="no saved session for this repository"):
        start(agent, resume="last")
    with pytest.raises(SessionError, match="no saved session 'abc'"):
        start(agent, resume="abc")


def test_saving_off_writes_nothing(tmp_path):
    repo, _, _ = typo_repo(tmp_path)
    agent, _ = make_agent(repo, ["Nothing."])
    recorder, _, _ = start(agent, save=False)
    recorded_turn(agent, recorder, "hello")
    assert recorder.session_id is None
    assert not sessions.default_path().exists()


def test_a_database_locked_by_another_program_turns_saving_off(tmp_path, monkeypatch):
    monkeypatch.setattr(sessions, "BUSY_TIMEOUT_S", 0.2)
    repo, typo, fixed = typo_repo(tmp_path)
    agent, _ = make_agent(repo, script_for(typo, fixed))
    recorder, _, _ = start(agent)
    other = sqlite3.connect(sessions.default_path(), isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")  # another mlxagent writing, and never finishing
    try:
        events = recorded_turn(agent, recorder, "fix the typo in the README")
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert of(events, ev.TurnFinished)[0].reason == "done"  # the turn went on
    assert fixed in (repo / "README.md").read_text()
    assert "locked" in recorder.problem and "\n" not in recorder.problem
    assert recorder.problem.startswith("This session is no longer saved")


def test_a_database_being_read_by_another_program_is_fine(tmp_path):
    repo, typo, fixed = typo_repo(tmp_path)
    agent, _ = make_agent(repo, script_for(typo, fixed))
    recorder, _, _ = start(agent)
    recorded_turn(agent, recorder, "first")
    reader = sqlite3.connect(sessions.default_path(), isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT * FROM events").fetchall()  # a read transaction held open (WAL lets us write)
    try:
        agent.model.script = ["Nothing more."]
        recorded_turn(agent, recorder, "second")
    finally:
        reader.close()
    assert recorder.problem == ""
    assert SessionStore().load(recorder.session_id).turns == 2


def test_a_broken_database_file_is_one_line_and_the_agent_goes_on(tmp_path):
    path = sessions.default_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"this is not a database" * 100)
    store, why = open_store()
    assert store is None and why.startswith("Sessions are not saved:") and "\n" not in why
    repo, _, _ = typo_repo(tmp_path)
    agent, _ = make_agent(repo, ["Nothing."])
    recorder, _, warning = start(agent)
    assert warning == why
    recorded_turn(agent, recorder, "hello")  # no exception
    assert path.read_bytes().startswith(b"this is not a database")  # not overwritten


def test_saved_events_come_back_as_events():
    samples = [
        ev.TurnStarted("fix it"), ev.TextDelta("hi"), ev.ToolCallStarted("c1", "read_file", {"path": "a.py"}),
        ev.ToolCallFinished("c1", "read_file", {"path": "a.py"}, "text", False),
        ev.ProposalResolved("p1", "a.py", "applied", (0, 1), ()),
        ev.CommandStarted("t1", ("pytest", "-q"), "/r", "tests"), ev.CommandFinished("t1", ("pytest",), 1, 0.5),
        ev.TestResult("t1", False, 1, 2, failing=("test_a",), locations=("a.py:3",)),
        ev.ErrorEvent("boom"), ev.TurnFinished("done", 3, 10, 20, 1.5, "ok"),
        ev.ContextCompacted(900, 200, 12, 3, False, "summary", "Compacted"),
    ]
    for event in samples:
        data = json.loads(json.dumps(event.to_dict()))
        assert rebuild_event(data) == event
    ready = rebuild_event({"event": "ProposalReady", "proposal": {"id": "p1", "path": "a.py", "summary": "a.py: +1 −1",
                                                                   "diff": "--- a/a.py", "hunks": 1}})
    assert ready.proposal.id == "p1" and ready.proposal.summary == "a.py: +1 −1"
    assert rebuild_event({"event": "NoSuchEvent"}) is None
    assert rebuild_event({"event": "TurnStarted"}) is None  # a field missing: skipped, not a crash


# -- a crash in the middle of a turn ------------------------------------------------------------

CRASH_SCRIPT = textwrap.dedent("""
    import sys, threading
    sys.path.insert(0, {tests!r})
    from scripted_model import ScriptedModel, hermes_call
    from test_agent import make_agent
    from mlxagent.core.saved_sessions import start

    def block(messages, constraint):
        print("BLOCKED", flush=True)
        threading.Event().wait(600)  # the process is killed here, in the middle of the turn
        return "never"

    agent, _ = make_agent({repo!r}, ["Looking. " + hermes_call("read_file", path="README.md"), block])
    recorder, _, _ = start(agent)
    for event in recorder.record(agent.run_turn("fix the typo in the README")):
        pass
""")


def test_sigkill_in_the_middle_of_a_turn_loses_nothing_before_it(tmp_path):
    repo, _, _ = typo_repo(tmp_path)
    script = tmp_path / "crash.py"
    script.write_text(CRASH_SCRIPT.format(tests=str(TESTS), repo=str(repo)))
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ}, cwd=str(TESTS))
    try:
        line = proc.stdout.readline()
        assert line.strip() == "BLOCKED", proc.stderr.read()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    store = SessionStore()
    [info] = store.sessions(str(repo))
    saved = store.load(info.id)
    kinds = [e["event"] for e in saved.events]
    # everything up to the blocked generation: the request, the text, the read and its result
    assert kinds[0] == "TurnStarted" and "TurnFinished" not in kinds
    assert "ToolCallFinished" in kinds and kinds.index("ToolCallStarted") < kinds.index("ToolCallFinished")
    finished = next(e for e in saved.events if e["event"] == "ToolCallFinished")
    assert finished["name"] == "read_file" and finished["is_error"] is False
    assert [m["role"] for m in saved.messages] == ["user", "assistant", "tool"]
    assert "README" in saved.messages[2]["content"] or saved.messages[2]["name"] == "read_file"
    # and it resumes
    agent, model = make_agent(repo, ["Resumed."])
    _, record, _ = start(agent, resume=info.id[:10] + info.id[10:])
    assert record.id == info.id and agent.messages[1:] == saved.messages


# -- the command line ---------------------------------------------------------------------------


def cli(*args, cwd, check=True):
    result = subprocess.run([sys.executable, "-m", "mlxagent", *args], cwd=cwd, capture_output=True, text=True,
                            env={**os.environ}, timeout=120)
    if check:
        assert result.returncode == 0, result.stderr
    return result


def test_sessions_list_show_export(tmp_path):
    repo, typo, fixed = typo_repo(tmp_path)
    agent, _ = make_agent(repo, script_for(typo, fixed))
    recorder, _, _ = start(agent)
    recorded_turn(agent, recorder, "fix the typo in the README")
    sid = recorder.session_id

    listed = cli("sessions", "list", cwd=repo)
    assert sid in listed.stdout and "fix the typo in the README" in listed.stdout and "1 edit " in listed.stdout
    sub = repo / "docs"
    sub.mkdir()
    assert sid in cli("sessions", "list", cwd=sub).stdout  # from a folder inside the repo
    data = json.loads(cli("sessions", "list", "--json", cwd=repo).stdout)
    assert [d["id"] for d in data] == [sid]

    shown = cli("sessions", "show", "last", cwd=repo).stdout
    assert "## User" in shown and "fix the typo in the README" in shown and "**applied**" in shown
    exported = json.loads(cli("sessions", "export", sid[:12] + sid[12:], "--format", "json", cwd=repo).stdout)
    assert exported["messages"][0]["content"].startswith("fix the typo") and exported["events"]
    out = tmp_path / "s.md"
    cli("sessions", "export", sid, "--format", "md", "-o", str(out), cwd=repo)
    assert out.read_text().startswith(f"# Session {sid}")

    missing = cli("sessions", "show", "nope", cwd=repo, check=False)
    assert missing.returncode == 1 and missing.stderr.strip() == "mlxagent: no saved session 'nope'"
    outside = cli("sessions", "list", cwd=tmp_path, check=False)
    assert outside.returncode == 1 and "not in a git repository" in outside.stderr and "Traceback" not in outside.stderr
    assert cli("sessions", "list", "--all", cwd=tmp_path).stdout.count(sid) == 1


def test_run_continue_without_a_session_is_one_line(tmp_path):
    repo, _, _ = typo_repo(tmp_path)
    result = cli("run", "--continue", "go on", cwd=repo, check=False)
    assert result.returncode == 1
    assert result.stderr.strip() == "mlxagent: cannot resume: no saved session for this repository yet"
    result = cli("run", "--resume", "nope", "go on", cwd=repo, check=False)
    assert result.stderr.strip() == "mlxagent: cannot resume: no saved session 'nope' in this repository"


def test_two_continues_of_one_session_at_once_lose_no_turn(tmp_path):
    """Two `mlxagent run --continue` at once: two recorders, two connections, one database file."""
    repo, typo, fixed = typo_repo(tmp_path)
    agent, _ = make_agent(repo, script_for(typo, fixed))
    recorder, _, _ = start(agent)
    recorded_turn(agent, recorder, "fix the typo in the README")
    first = recorder.session_id
    a, _ = make_agent(repo, ["Answer from A."])
    b, _ = make_agent(repo, ["Answer from B."])
    ra, _, _ = start(a, resume="last")
    rb, _, _ = start(b, resume="last")
    assert ra.session_id == rb.session_id == first
    turns = [ra.record(a.run_turn("question A")), rb.record(b.run_turn("question B"))]
    while turns:  # one event of each in turn, each written as it comes
        for turn in list(turns):
            try:
                next(turn)
            except StopIteration:
                turns.remove(turn)

    store = SessionStore()
    assert ra.session_id == first and ra.notice == ""  # A wrote first: it keeps the session
    assert rb.session_id != first and first in rb.notice and rb.session_id in rb.notice and "\n" not in rb.notice
    original, fork = store.load(first), store.load(rb.session_id)
    assert original.messages == a.messages[1:] and fork.messages == b.messages[1:]
    users = lambda record: [m["content"] for m in record.messages if m["role"] == "user"]  # noqa: E731
    assert any("question A" in u for u in users(original)) and not any("question B" in u for u in users(original))
    assert any("question B" in u for u in users(fork)) and not any("question A" in u for u in users(fork))
    # the fork keeps the first turn's events (its transcript is whole) and then B's own
    assert (original.turns, fork.turns, fork.title) == (2, 2, original.title)
    assert [e["seq"] for e in fork.events] == list(range(len(fork.events)))
    assert [e.get("user_text") for e in fork.events if e["event"] == "TurnStarted"] == [
        "fix the typo in the README", "question B"]
    assert fork.edits_applied == 1
    assert {s.id for s in store.sessions(str(repo))} == {first, rb.session_id}


def test_a_schema_1_database_gets_the_version_column_and_is_continued(tmp_path):
    path = sessions.default_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    old = sqlite3.connect(path, isolation_level=None)
    old.executescript(sessions.SCHEMA.replace(",\n    version INTEGER NOT NULL DEFAULT 0", ""))
    repo, _, _ = typo_repo(tmp_path)
    old.execute("INSERT INTO sessions (id, repo, created, updated, title, turns) VALUES ('s1', ?, 1, 1, 'hi', 1)",
                (sessions.repo_key(repo),))
    old.execute("INSERT INTO messages VALUES ('s1', 0, ?)", (json.dumps({"role": "user", "content": "hi"}),))
    old.execute("PRAGMA user_version=1")
    old.close()
    agent, _ = make_agent(repo, ["Hello again."])
    recorder, record, _ = start(agent, resume="last")
    assert record.id == "s1" and record.version == 0
    recorded_turn(agent, recorder, "more")
    assert recorder.session_id == "s1" and recorder.notice == ""
    assert SessionStore().load("s1").messages == agent.messages[1:]
