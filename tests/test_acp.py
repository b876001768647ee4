"""`mlxagent acp` end to end: the SDK's client side over a real `python -m mlxagent acp` subprocess."""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import sys
from pathlib import Path

import pytest
from acp import PROTOCOL_VERSION, RequestError, spawn_agent_process, text_block
from acp.schema import (
    AllowedOutcome,
    ClientCapabilities,
    DeniedOutcome,
    Implementation,
    RequestPermissionResponse,
    ResourceContentBlock,
)

from fixture_repos import init_repo

TIMEOUT = 300
REQUEST = "set the port in settings.ini to 9090"
SETTINGS = "[server]\nhost = localhost\nport = 8080\n"
UNITTEST = "import unittest\n\n\nclass PortTest(unittest.TestCase):\n    def test_port(self):\n        pass\n"


class RecordingClient:
    """An ACP client that records every update and answers an edit's permission request with
    `answer` ("apply", "reject", "cancel": send session/cancel and report the request cancelled)
    and a command's with the option of kind `command` ("allow_once", "allow_always", "reject_once")."""

    def __init__(self, answer: str = "reject", command: str = "reject_once") -> None:
        self.answer, self.command = answer, command
        self.updates: list[tuple[str, object]] = []
        self.permissions: list[object] = []
        self.conn = None

    async def session_update(self, session_id: str, update, **kwargs) -> None:
        self.updates.append((session_id, update))

    async def request_permission(self, session_id: str, tool_call, options, **kwargs) -> RequestPermissionResponse:
        self.permissions.append((session_id, tool_call, options))
        if tool_call.kind == "execute":
            kind = self.command
        elif self.answer == "cancel":
            await self.conn.cancel(session_id=session_id)
            return RequestPermissionResponse(outcome=DeniedOutcome(outcome="cancelled"))
        else:
            kind = "allow_once" if self.answer == "apply" else "reject_once"
        chosen = next(o for o in options if o.kind == kind)
        return RequestPermissionResponse(outcome=AllowedOutcome(outcome="selected", option_id=chosen.option_id))

    def asked(self, session_id: str, kind: str) -> list:
        return [t for s, t, _ in self.permissions if s == session_id and t.kind == kind]

    def of(self, session_id: str, kind: str) -> list:
        return [u for s, u in self.updates if s == session_id and u.session_update == kind]


def start(client: RecordingClient, home: Path, *args: str, stderr_path: Path):
    env = dict(os.environ, MLXAGENT_HOME=str(home))
    stderr = open(stderr_path, "wb")  # noqa: SIM115 - closed by the process's end; read by the test
    return spawn_agent_process(lambda _agent: client, sys.executable, "-m", "mlxagent", "acp", *args, env=env,
                               transport_kwargs={"stderr": stderr})


def settings_repo(root: Path) -> Path:
    root.mkdir()
    (root / "settings.ini").write_text(SETTINGS)
    init_repo(root)
    return root


async def initialize(conn) -> None:
    reply = await asyncio.wait_for(conn.initialize(
        protocol_version=PROTOCOL_VERSION, client_capabilities=ClientCapabilities(),
        client_info=Implementation(name="test", version="0")), TIMEOUT)
    assert reply.protocol_version == PROTOCOL_VERSION
    assert reply.agent_info.name == "mlxagent" and reply.agent_info.version
    assert reply.agent_capabilities.load_session is False


async def test_bad_cwd_unknown_session_and_unknown_model_are_one_line_errors(tmp_path, isolated_home):
    client = RecordingClient()
    repo = settings_repo(tmp_path / "repo")
    async with start(client, isolated_home, "--model", "no-such-model", stderr_path=tmp_path / "err") as (conn, proc):
        client.conn = conn
        await initialize(conn)
        with pytest.raises(RequestError) as outside:
            await asyncio.wait_for(conn.new_session(cwd=str(tmp_path), mcp_servers=[]), TIMEOUT)
        assert outside.value.code == -32602
        assert "not inside a git repository" in str(outside.value) and "\n" not in str(outside.value)
        with pytest.raises(RequestError) as missing:
            await asyncio.wait_for(conn.new_session(cwd=str(tmp_path / "nowhere"), mcp_servers=[]), TIMEOUT)
        assert "does not exist" in str(missing.value)
        with pytest.raises(RequestError) as model:
            await asyncio.wait_for(conn.new_session(cwd=str(repo), mcp_servers=[]), TIMEOUT)
        assert str(model.value).startswith("Unknown model 'no-such-model'") and "\n" not in str(model.value)
        with pytest.raises(RequestError) as unknown:
            await asyncio.wait_for(conn.prompt(session_id="nope", prompt=[text_block("hi")]), TIMEOUT)
        assert "no session 'nope'" in str(unknown.value)
    assert "Traceback" not in (tmp_path / "err").read_text()
    assert (repo / "settings.ini").read_text() == SETTINGS


@pytest.mark.real_model
async def test_edit_review_accept_reject_cancel_modes_and_a_plain_turn(tmp_path, isolated_home, real_model_dir):
    client = RecordingClient()
    repos = {name: settings_repo(tmp_path / name) for name in ("accept", "reject", "cancel", "plain", "edits", "plan")}
    args = ("--model", str(real_model_dir), "--max-steps", "1", "--max-tokens", "32", "--verbose")  # logs to stderr
    async with start(client, isolated_home, *args, stderr_path=tmp_path / "err") as (conn, proc):
        client.conn = conn
        await initialize(conn)
        sessions = {}
        for name, repo in repos.items():
            reply = await asyncio.wait_for(conn.new_session(cwd=str(repo), mcp_servers=[]), TIMEOUT)
            sessions[name] = reply.session_id
            assert reply.modes.current_mode_id == "ask"
            assert [m.id for m in reply.modes.available_modes] == ["plan", "ask", "accept-edits", "auto"]
        assert len(set(sessions.values())) == 6

        # accept: the request's own candidate is offered as a diff, the client applies it
        client.answer = "apply"
        request = [text_block(REQUEST)]
        done = await asyncio.wait_for(conn.prompt(session_id=sessions["accept"], prompt=request), TIMEOUT)
        assert done.stop_reason == "end_turn"
        assert (repos["accept"] / "settings.ini").read_text() == SETTINGS.replace("8080", "9090")
        (sid, tool_call, options), = client.permissions
        assert sid == sessions["accept"] and tool_call.kind == "edit"
        diff = tool_call.content[0]
        assert diff.type == "diff" and diff.path == str(repos["accept"] / "settings.ini")
        assert diff.old_text == SETTINGS and diff.new_text == SETTINGS.replace("8080", "9090")
        assert {o.kind for o in options} == {"allow_once", "reject_once"}
        started = client.of(sessions["accept"], "tool_call")
        assert [(s.kind, s.status) for s in started] == [("edit", "in_progress")]
        progress = client.of(sessions["accept"], "tool_call_update")
        assert any(c.type == "diff" for u in progress for c in (u.content or []))
        assert progress[-1].tool_call_id == started[0].tool_call_id and progress[-1].status == "completed"

        # reject: the same request, answered no; nothing changes
        client.answer = "reject"
        done = await asyncio.wait_for(conn.prompt(session_id=sessions["reject"], prompt=[text_block(REQUEST)]), TIMEOUT)
        assert done.stop_reason in ("end_turn", "max_turn_requests")
        assert len(client.permissions) >= 2 and client.permissions[1][0] == sessions["reject"]
        assert (repos["reject"] / "settings.ini").read_text() == SETTINGS

        # cancel while the edit waits for review: the turn stops, nothing is written
        client.answer = "cancel"
        before = len(client.permissions)
        done = await asyncio.wait_for(conn.prompt(session_id=sessions["cancel"], prompt=[text_block(REQUEST)]), TIMEOUT)
        assert done.stop_reason == "cancelled"
        assert len(client.permissions) == before + 1
        assert (repos["cancel"] / "settings.ini").read_text() == SETTINGS

        # a plain request the model answers in words (or runs out of steps on): streamed, then a stop reason
        link = ResourceContentBlock(type="resource_link", name="settings.ini",
                                    uri=(repos["plain"] / "settings.ini").as_uri())
        client.answer = "reject"
        done = await asyncio.wait_for(conn.prompt(session_id=sessions["plain"],
                                                  prompt=[text_block("What does this file hold?"), link]), TIMEOUT)
        assert done.stop_reason in ("end_turn", "max_turn_requests")
        plain = [u for s, u in client.updates if s == sessions["plain"]]
        assert plain and all(u.session_update in ("agent_message_chunk", "agent_thought_chunk", "tool_call",
                                                  "tool_call_update") for u in plain)
        assert client.of(sessions["plain"], "agent_message_chunk") or client.of(sessions["plain"], "tool_call")
        assert (repos["plain"] / "settings.ini").read_text() == SETTINGS

        # the permission modes: accept-edits applies the edit unasked, plan changes nothing
        with pytest.raises(RequestError) as bad:
            await asyncio.wait_for(conn.set_session_mode(session_id=sessions["edits"], mode_id="yolo"), TIMEOUT)
        assert "unknown mode 'yolo'" in str(bad.value) and "\n" not in str(bad.value)
        asked = len(client.permissions)
        await asyncio.wait_for(conn.set_session_mode(session_id=sessions["edits"], mode_id="accept-edits"), TIMEOUT)
        done = await asyncio.wait_for(conn.prompt(session_id=sessions["edits"], prompt=request), TIMEOUT)
        assert done.stop_reason == "end_turn" and len(client.permissions) == asked
        assert (repos["edits"] / "settings.ini").read_text() == SETTINGS.replace("8080", "9090")
        await asyncio.wait_for(conn.set_session_mode(session_id=sessions["plan"], mode_id="plan"), TIMEOUT)
        done = await asyncio.wait_for(conn.prompt(session_id=sessions["plan"], prompt=request), TIMEOUT)
        assert done.stop_reason in ("end_turn", "max_turn_requests") and len(client.permissions) == asked
        assert (repos["plan"] / "settings.ini").read_text() == SETTINGS
    err = (tmp_path / "err").read_text()
    assert "Traceback" not in err and err.count("mlxagent acp: model ") == 1  # loaded once for all the sessions


@pytest.mark.real_model
async def test_command_consent_once_always_and_refuse(tmp_path, isolated_home, real_model_dir):
    """The tests before a turn (and after an applied edit) ask for consent first: "once" holds for
    the session, "always" is saved for the repository, a refusal runs nothing."""
    client = RecordingClient(answer="apply")
    repos = {}
    for name in ("once", "refuse", "always"):
        repo = repos[name] = tmp_path / name
        (repo / "tests").mkdir(parents=True)
        (repo / "settings.ini").write_text(SETTINGS)
        (repo / "tests" / "test_port.py").write_text(UNITTEST)
        command = f"{shlex.quote(sys.executable)} -m unittest discover -s tests"
        (repo / ".mlxagent.toml").write_text(f"[project]\ntest_command = {json.dumps(command)}\n")
        init_repo(repo)
    args = ("--model", str(real_model_dir), "--max-steps", "1", "--max-tokens", "32")
    async with start(client, isolated_home, *args, stderr_path=tmp_path / "err") as (conn, proc):
        client.conn = conn
        await initialize(conn)

        async def turn(name: str, command: str, request: str = REQUEST) -> str:
            client.command = command
            sid = (await asyncio.wait_for(conn.new_session(cwd=str(repos[name]), mcp_servers=[]), TIMEOUT)).session_id
            done = await asyncio.wait_for(conn.prompt(session_id=sid, prompt=[text_block(request)]), TIMEOUT)
            assert done.stop_reason in ("end_turn", "max_turn_requests")
            return sid

        def test_runs(sid: str) -> list[str]:
            """The final status of each test run's tool call."""
            ids = [u.tool_call_id for u in client.of(sid, "tool_call") if u.kind == "execute"]
            return [[u.status for u in client.of(sid, "tool_call_update") if u.tool_call_id == i and u.status][-1]
                    for i in ids]

        once = await turn("once", "allow_once")
        assert len(client.asked(once, "execute")) == 1  # before the turn; the run after the edit is not asked
        assert "unittest discover" in client.asked(once, "execute")[0].title
        assert test_runs(once) == ["completed", "completed"]
        assert (repos["once"] / "settings.ini").read_text() == SETTINGS.replace("8080", "9090")

        refused = await turn("refuse", "reject_once")
        assert len(client.asked(refused, "execute")) == 2 and test_runs(refused) == ["failed", "failed"]
        assert (repos["refuse"] / "settings.ini").read_text() == SETTINGS.replace("8080", "9090")

        always = await turn("always", "allow_always")
        assert len(client.asked(always, "execute")) == 1 and test_runs(always) == ["completed", "completed"]
        assert list(isolated_home.rglob("allowed_commands.json"))
        # a new session: still allowed, nothing asked
        again = await turn("always", "reject_once", request="set the host in settings.ini to 0.0.0.0")
        assert client.asked(again, "execute") == [] and test_runs(again) == ["completed", "completed"]
        assert (repos["always"] / "settings.ini").read_text() == SETTINGS.replace("8080", "9090").replace(
            "localhost", "0.0.0.0")
    assert "Traceback" not in (tmp_path / "err").read_text()


def test_translation_of_events_prompts_and_answers(tmp_path):
    """Units of acp/updates.py: stop reasons, titles, prompt blocks, tool calls and permission answers."""
    from mlxagent.acp.updates import TurnUpdates, decision_from, prompt_text, review_from, stop_reason
    from mlxagent.core import events as ev

    assert [stop_reason(r) for r in ("done", "max_steps", "cancelled", "tests_failing")] == [
        "end_turn", "max_turn_requests", "cancelled", "end_turn"]
    inside = ResourceContentBlock(type="resource_link", name="a", uri=(tmp_path / "src" / "a.py").as_uri())
    outside = ResourceContentBlock(type="resource_link", name="b", uri="file:///etc/hosts")
    assert prompt_text([text_block("fix"), inside, outside], tmp_path.resolve()) == "fix @src/a.py file:///etc/hosts"

    view = TurnUpdates(tmp_path)
    started, = view.updates(ev.ToolCallStarted("c1", "read_file", {"path": "src/a.py"}))
    assert (started.title, started.kind, started.status) == ("read_file src/a.py", "read", "in_progress")
    assert started.locations[0].path == str(tmp_path / "src/a.py")
    done, = view.updates(ev.ToolCallFinished("c1", "read_file", {"path": "src/a.py"}, "x" * 5000, is_error=True))
    assert done.status == "failed" and len(done.content[0].content.text) < 4100
    # a command that is no tool call of the model's (the tests before a turn) gets one of its own
    run = view.updates(ev.CommandStarted("t1", ("pytest", "-q"), ".", "tests"))
    assert [u.session_update for u in run] == ["tool_call", "tool_call_update"] and run[0].kind == "execute"
    end, = view.updates(ev.CommandFinished("t1", ("pytest", "-q"), 1, 0.1, message="exit 1 in 0.1 s"))
    assert end.status == "failed"
    assert view.updates(ev.TurnFinished("error", message="boom")) == []  # told as the prompt's JSON-RPC error

    def chose(option_id):
        return RequestPermissionResponse(outcome=AllowedOutcome(outcome="selected", option_id=option_id))

    cancelled = RequestPermissionResponse(outcome=DeniedOutcome(outcome="cancelled"))
    assert review_from(chose("apply"), 2) == ev.Review.accept_all(2)
    assert review_from(chose("reject"), 2).accepted == (False, False)
    assert review_from(cancelled, 1).accepted == (False,) and review_from(None, 1).accepted == (False,)
    assert [decision_from(chose(o)).action for o in ("once", "always", "refuse")] == ["once", "always", "refuse"]
    assert decision_from(cancelled).action == "refuse"


@pytest.mark.real_model
async def test_hanging_up_mid_review_ends_the_process_cleanly_and_mcp_servers_start(tmp_path, isolated_home,
                                                                                   real_model_dir):
    asked = asyncio.Event()

    class Hangs(RecordingClient):
        async def request_permission(self, session_id, tool_call, options, **kwargs):
            asked.set()
            await asyncio.Event().wait()  # never answers

    client = Hangs()
    repo = settings_repo(tmp_path / "repo")
    # the settings' MCP servers start with each session, as in `mlxagent run`: a broken one is one line
    (isolated_home / "config").mkdir(parents=True, exist_ok=True)
    broken = '[mcp.servers.broken]\ncommand = ["no-such-mcp-program"]\n'
    (isolated_home / "config" / "config.toml").write_text(broken)
    args = ("--model", str(real_model_dir), "--max-steps", "1", "--max-tokens", "16")
    env = dict(os.environ, MLXAGENT_HOME=str(isolated_home))
    with open(tmp_path / "err", "wb") as stderr:
        async with spawn_agent_process(lambda _agent: client, sys.executable, "-m", "mlxagent", "acp", *args, env=env,
                                       transport_kwargs={"stderr": stderr, "shutdown_timeout": 20}) as (conn, proc):
            await initialize(conn)
            sid = (await asyncio.wait_for(conn.new_session(cwd=str(repo), mcp_servers=[]), TIMEOUT)).session_id
            turn = asyncio.ensure_future(conn.prompt(session_id=sid, prompt=[text_block(REQUEST)]))
            await asyncio.wait_for(asked.wait(), TIMEOUT)
        # stdin closed with the edit waiting: the process stops the turn and exits by itself
        assert proc.returncode == 0
        turn.cancel()
    assert (repo / "settings.ini").read_text() == SETTINGS
    err = (tmp_path / "err").read_text()
    assert "Traceback" not in err and "Error" not in err, err[-2000:]
    assert "mlxagent acp: MCP server broken: failed: cannot start 'no-such-mcp-program'" in err, err[-2000:]


def test_only_the_protocol_reaches_stdout(tmp_path):
    """After `_claim_stdout`, a stray print and a write to fd 1 land on stderr; the protocol's fd is stdout."""
    import subprocess

    script = ("import os, sys\nfrom mlxagent.acp.stdio import _claim_stdout\nfd = _claim_stdout()\n"
              "print('stray print')\nos.write(1, b'fd one\\n')\nos.write(fd, b'{\"jsonrpc\": \"2.0\"}\\n')\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=tmp_path,
                          env=dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1])))
    assert done.returncode == 0, done.stderr
    assert done.stdout == '{"jsonrpc": "2.0"}\n'
    assert "stray print" in done.stderr and "fd one" in done.stderr
