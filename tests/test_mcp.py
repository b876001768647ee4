"""MCP servers' tools (mlxagent/mcp_client): a real stdio MCP server, written here with the SDK's
server side and run by the client as a Python script, listed by `mlxagent mcp list`, called by
the agent (the scripted model as the test double) through the command consent, stopped at the end.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from argparse import Namespace
from pathlib import Path

import pytest
from fixture_repos import init_repo
from scripted_model import ScriptedModel, hermes_call

from mlxagent import builder, headless
from mlxagent.builder import add_mcp_tools, build_agent, start_mcp, stop_mcp
from mlxagent.config import load_settings
from mlxagent.core import events as ev
from mlxagent.core.formats import format_for
from mlxagent.core.tools import ToolError, check_arguments
from mlxagent.core.tools.external import external_tool
from mlxagent.core.workspace import Workspace
from mlxagent.mcp_client import McpManager, fit, listing_lines
from mlxagent.mcp_client.tools import tool_spec

SERVER = '''
import os, sys
from mcp.server.mcpserver import MCPServer
from mcp.types import ToolAnnotations
from pydantic import BaseModel

app = MCPServer("notes")

class Item(BaseModel):
    label: str
    count: int

@app.tool(annotations=ToolAnnotations(read_only_hint=True))
def shout(text: str, times: int = 1) -> str:
    """Upper-case the text.

    It only reads."""
    return text.upper() * times

@app.tool()
def write_note(path: str, body: str) -> str:
    """Write a note to a file."""
    with open(path, "w") as f:
        f.write(body)
    return "wrote " + path

@app.tool(annotations=ToolAnnotations(read_only_hint=True))
def total(items: list[Item], scale: float = 1.0, meta: dict[str, str] | None = None) -> str:
    """Sum the counts of the items."""
    return str(sum(i.count for i in items) * scale)

@app.tool(annotations=ToolAnnotations(read_only_hint=True))
def crash() -> str:
    """Stop the server at once."""
    os._exit(1)

app.run()
'''


def procs_running(marker: str) -> list[int]:
    """Process ids whose command line holds `marker` (a server script's unique path)."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
            state = next((line for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                          if line.startswith("State:")), "")
        except OSError:
            continue
        if marker in cmdline and "zombie" not in state:
            found.append(int(pid))
    return found


@pytest.fixture
def server(tmp_path) -> Path:
    path = tmp_path / "notes_server.py"
    path.write_text(SERVER)
    return path


def write_config(home: Path, text: str) -> None:
    (home / "config").mkdir(parents=True, exist_ok=True)
    (home / "config" / "config.toml").write_text(textwrap.dedent(text))


@pytest.fixture
def configured(isolated_home, server) -> Path:
    write_config(isolated_home, f"""
        [mcp.servers.notes]
        command = [{json.dumps(sys.executable)}, {json.dumps(str(server))}]
        timeout = 60
        [mcp.servers.missing]
        command = ["/nonexistent/mcp-server"]
        [mcp.servers.quits]
        command = [{json.dumps(sys.executable)}, "-c",
                   "import sys; print('bad API token', file=sys.stderr); sys.exit(3)"]
        [mcp.servers.later]
        command = ["never-started"]
        enabled = false
    """)
    return isolated_home


def make_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "README.md").write_text("hello\n")
    init_repo(repo)
    return repo


def drive(agent, task: str, answer=None) -> list[ev.Event]:
    out = []
    for event in agent.run_turn(task):
        out.append(event)
        if isinstance(event, ev.CommandApproval) and answer is not None:
            event.reply.set_result(answer(event))
    return out


def finished(events, name: str) -> list[ev.ToolCallFinished]:
    return [e for e in events if isinstance(e, ev.ToolCallFinished) and e.name == name]


# ---- mlxagent mcp list --------------------------------------------------------------------------------

def test_mcp_list_shows_each_server_its_state_and_tools_then_stops_them(configured, server):
    env = {**os.environ, "MLXAGENT_HOME": str(configured)}
    done = subprocess.run([sys.executable, "-m", "mlxagent", "mcp", "list"], env=env, capture_output=True,
                          text=True, timeout=180)
    lines = done.stdout.splitlines()
    assert done.returncode == 1, done.stderr  # a server failed
    assert lines[0].startswith("notes: ready (4 tools)")
    assert "  notes.shout (read-only): Upper-case the text." in lines
    assert "  notes.write_note: Write a note to a file." in lines
    assert any(line.startswith("missing: failed: cannot start '/nonexistent/mcp-server'") for line in lines)
    assert any(line.startswith("quits: failed: bad API token") for line in lines)
    assert any(line.startswith("later: disabled") for line in lines)
    assert "Traceback" not in done.stdout + done.stderr
    assert procs_running(str(server)) == []

    done = subprocess.run([sys.executable, "-m", "mlxagent", "mcp", "list", "--json"], env=env,
                          capture_output=True, text=True, timeout=180)
    data = json.loads(done.stdout)
    by_name = {s["name"]: s for s in data["servers"]}
    assert by_name["notes"]["state"] == "ready" and by_name["quits"]["state"] == "failed"
    tools = {t["name"]: t for t in by_name["notes"]["tools"]}
    assert tools["notes.shout"]["read_only"] and not tools["notes.write_note"]["read_only"]
    assert procs_running(str(server)) == []


def test_a_broken_server_table_is_a_warning_and_the_rest_is_listed(isolated_home, server):
    write_config(isolated_home, f"""
        [mcp.servers.notes]
        command = [{json.dumps(sys.executable)}, {json.dumps(str(server))}]
        [mcp.servers.bad]
        command = "not a list"
        [mcp.servers."dotted.name"]
        url = "http://127.0.0.1:9/mcp"
    """)
    env = {**os.environ, "MLXAGENT_HOME": str(isolated_home)}
    done = subprocess.run([sys.executable, "-m", "mlxagent", "mcp", "list"], env=env, capture_output=True,
                          text=True, timeout=180)
    assert done.returncode == 0
    warnings = [line for line in done.stderr.splitlines() if line.startswith("mlxagent:")]
    assert len(warnings) == 2 and "mcp.servers.bad" in warnings[0] and "dots" in warnings[1]
    assert done.stdout.splitlines()[0].startswith("notes: ready")
    assert "Traceback" not in done.stderr


def test_no_servers_is_one_line(isolated_home):
    env = {**os.environ, "MLXAGENT_HOME": str(isolated_home)}
    done = subprocess.run([sys.executable, "-m", "mlxagent", "mcp", "list"], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0
    assert done.stdout.strip() == "No MCP servers are configured (add [mcp.servers.NAME] to your config.toml)."


# ---- the agent calls them -------------------------------------------------------------------------------

def test_read_only_tool_runs_unasked_the_other_asks_and_failed_servers_are_one_line(configured, server, tmp_path):
    repo = make_repo(tmp_path)
    note = tmp_path / "note.txt"
    settings, warnings = load_settings()
    assert warnings == []
    model = ScriptedModel([hermes_call("notes.shout", text="hi", times=2),
                           hermes_call("notes.write_note", path=str(note), body="from the agent"),
                           hermes_call("notes.total", items=[{"label": "a", "count": 2}, {"label": "b", "count": 3}],
                                       scale="2"),
                           "Done."])
    agent = build_agent(Workspace.open(repo), settings, model, tests=False, auto_test=False, repair=False,
                        allow_commands=None, remember_consent=False)
    try:
        notices = start_mcp(agent, settings)
        assert len(notices) == 2 and all("\n" not in n for n in notices)
        assert notices[0].startswith("MCP server missing: failed: cannot start")
        assert notices[1].startswith("MCP server quits: failed: bad API token")
        names = agent.toolbox.names()
        assert {"notes.shout", "notes.write_note", "notes.total", "notes.crash"} <= set(names)
        # the nested schema goes to the model as the server wrote it ($refs written out in place)
        total = next(s for s in agent.toolbox.schemas() if s["function"]["name"] == "notes.total")
        items = total["function"]["parameters"]["properties"]["items"]
        assert items["type"] == "array" and items["items"]["properties"]["count"]["type"] == "integer"

        asked = []
        events = drive(agent, "use the notes tools", lambda e: asked.append(e) or ev.CommandDecision.once())
        assert finished(events, "notes.shout")[0].result == "HIHI"
        assert [e.argv[:2] for e in asked] == [("mcp", "notes.write_note")]  # the read-only ones were not asked
        assert json.loads(asked[0].argv[2]) == {"path": str(note), "body": "from the agent"}
        assert asked[0].display == f'notes.write_note {asked[0].argv[2]}'
        assert "MCP server 'notes'" in asked[0].origin
        assert note.read_text() == "from the agent"
        assert finished(events, "notes.total")[0].result == "10.0"
        assert events[-1].reason == "done"
        # the prompt listed the tools
        assert "notes.write_note" in json.dumps(model.calls[0]["constraint"].tools)
    finally:
        stop_mcp(agent)
    assert procs_running(str(server)) == []
    assert [s.state for s in agent.mcp.statuses()][:1] == ["stopped"]


def test_a_refused_call_is_not_made_and_the_model_reads_why(configured, server, tmp_path):
    repo = make_repo(tmp_path)
    note = tmp_path / "note.txt"
    settings, _ = load_settings()
    model = ScriptedModel([hermes_call("notes.write_note", path=str(note), body="x"), "Done."])
    agent = build_agent(Workspace.open(repo), settings, model, tests=False, auto_test=False, repair=False,
                        allow_commands=None, remember_consent=False)
    try:
        start_mcp(agent, settings)
        events = drive(agent, "write it", lambda e: ev.CommandDecision.refuse("not today"))
    finally:
        stop_mcp(agent)
    result = finished(events, "notes.write_note")[0]
    assert result.is_error and "not today" in result.result
    assert not note.exists()


def run_headless(monkeypatch, repo: Path, script: list[str], *, allow: bool) -> list[dict]:
    monkeypatch.setattr(builder, "load_model", lambda *a, **k: ScriptedModel(list(script)))
    monkeypatch.setattr(sys, "stdin", open("/dev/null"))  # nobody to ask
    args = Namespace(task="write the note", repo=str(repo), model=None, no_guard=False, yes=False, reject=False,
                     max_steps=None, max_tokens=None, test_cmd=None, allow_commands=allow, no_auto_test=True,
                     no_speculative=True, json=True, continue_session=False, resume=None, mode=None)
    headless.run_task(args)
    return args


@pytest.mark.parametrize("allow", [False, True])
def test_headless_run_refuses_without_allow_commands_and_calls_with_it(configured, server, tmp_path, monkeypatch,
                                                                      capsys, allow):
    repo = make_repo(tmp_path)
    note = tmp_path / "note.txt"
    script = [hermes_call("notes.shout", text="ok"), hermes_call("notes.write_note", path=str(note), body="hi"),
              "Done."]
    run_headless(monkeypatch, repo, script, allow=allow)
    captured = capsys.readouterr()
    events = [json.loads(line) for line in captured.out.splitlines() if line.startswith("{")]
    results = {e["name"]: e for e in events if e["event"] == "ToolCallFinished"}
    assert results["notes.shout"]["result"] == "OK"
    assert [w for w in captured.err.splitlines() if "MCP server" in w] == [
        w for w in captured.err.splitlines() if w.startswith("mlxagent: MCP server ")]
    assert sum("MCP server quits: failed" in w for w in captured.err.splitlines()) == 1
    if allow:
        assert note.read_text() == "hi" and not results["notes.write_note"]["is_error"]
    else:
        assert not note.exists()
        assert results["notes.write_note"]["is_error"] and "--allow-commands" in results["notes.write_note"]["result"]
    assert events[-1]["event"] in ("TurnFinished", "SessionSaved")
    assert procs_running(str(server)) == []


def test_a_server_that_dies_mid_session_is_one_line_and_the_turn_goes_on(configured, server, tmp_path):
    repo = make_repo(tmp_path)
    settings, _ = load_settings()
    model = ScriptedModel([hermes_call("notes.crash"), hermes_call("notes.shout", text="again"),
                           hermes_call("read_file", path="README.md"), "Done."])
    agent = build_agent(Workspace.open(repo), settings, model, tests=False, auto_test=False, repair=False,
                        allow_commands=False, remember_consent=False)
    try:
        start_mcp(agent, settings)
        events = drive(agent, "crash it")
    finally:
        stop_mcp(agent)
    crash = finished(events, "notes.crash")[0]
    assert crash.is_error and "stopped" in crash.result and "\n" not in crash.result
    again = finished(events, "notes.shout")[0]
    assert again.is_error and "not running" in again.result
    assert finished(events, "read_file")[0].result.strip().endswith("hello")
    assert events[-1].reason == "done"
    status = {s.name: s for s in agent.mcp.statuses()}["notes"]
    assert status.state == "failed" and status.reason.startswith("the server stopped")
    assert procs_running(str(server)) == []


# ---- small contexts: the tools that fit ---------------------------------------------------------------

def test_only_the_tools_that_fit_go_into_the_prompt_largest_left_out_first(configured, server, tmp_path):
    repo = make_repo(tmp_path)
    settings, _ = load_settings()
    agent = build_agent(Workspace.open(repo), settings, ScriptedModel(["Done."], context_length=8192), tests=False)
    manager = McpManager({"notes": settings.mcp_servers["notes"]}).start()
    try:
        assert manager.wait()
        specs = [(t, tool_spec(manager, t)) for t in manager.tools()]
        builtin = agent.toolbox.schemas()
        roomy = fit(specs, builtin, 8192)
        assert roomy.left_out == [] and roomy.notice() == ""
        sizes = {t.name: len(json.dumps(s.schema())) for t, s in specs}
        largest = max(sizes, key=sizes.get)
        builtin_tokens = sum(len(json.dumps(s)) // 4 + 1 for s in builtin)
        tight = fit(specs, builtin, int((builtin_tokens + sum(sizes.values()) // 4 - 5) / 0.25))
        assert [t.name for t in tight.left_out] == [largest]
        assert tight.notice().startswith("MCP: 1 tool(s) left out") and f"notes.{largest}" in tight.notice()
        agent.mcp = manager
        agent.model.context_length = 2048  # far too small: no MCP tool fits
        notices = add_mcp_tools(agent)
        assert not any("." in name for name in agent.toolbox.names())
        assert len(notices) == 1 and "4 tool(s) left out" in notices[0]
        assert "left out of the prompt" in "\n".join(listing_lines(manager))
    finally:
        manager.close()


# ---- tool names with a dot, and JSON-schema argument types ---------------------------------------------

NESTED = {"type": "object", "properties": {
    "items": {"type": "array", "items": {"type": "object", "properties": {"label": {"type": "string"},
                                                                          "count": {"type": "integer"}},
                                         "required": ["label", "count"]}},
    "scale": {"type": "number"}, "strict": {"type": "boolean"},
    "meta": {"anyOf": [{"type": "object", "additionalProperties": {"type": "string"}}, {"type": "null"}]}},
    "required": ["items"]}


@pytest.mark.parametrize("name", ["prompted_hermes", "hermes", "llama3_json", "mistral", "qwen3_coder"])
def test_a_dotted_tool_name_parses_in_every_format(name):
    fmt = format_for(name)
    tools = [{"type": "function", "function": {"name": "notes.total", "description": "d", "parameters": NESTED}}]
    arguments = {"items": [{"label": "a", "count": 2}], "scale": 1.5}
    parsed = fmt.parse(fmt.call_text("notes.total", arguments), tools)
    assert parsed.errors == [] and [(c.name, c.arguments) for c in parsed.calls] == [("notes.total", arguments)]


@pytest.mark.parametrize("name", ["prompted_hermes", "hermes", "llama3_json", "mistral", "qwen3_coder"])
def test_a_constrained_call_to_a_dotted_tool_with_a_nested_schema(smollm_tokenizer, name):
    import numpy as np
    from test_constraint import EOS, drive as drive_tokens, encode

    from mlxagent.core.formats import ToolCallConstraint

    fmt = format_for(name)
    tools = [{"type": "function", "function": {"name": "notes.total", "description": "d", "parameters": NESTED}}]
    proc = ToolCallConstraint(smollm_tokenizer, fmt, tools, forced=True)
    ids = encode(smollm_tokenizer, fmt.call_text("notes.total", {"items": [{"label": "a", "count": 2}], "scale": 2}))
    steps = drive_tokens(proc, ids)
    assert len(steps) == len(ids) + 1, f"refused after {smollm_tokenizer.decode(ids[:len(steps) - 1])!r}"
    assert np.flatnonzero(steps[-1].allowed).tolist() == [EOS]
    bad = encode(smollm_tokenizer, fmt.call_text("notes.total", {"items": [{"label": "a", "count": "two"}]}))
    proc = ToolCallConstraint(smollm_tokenizer, fmt, tools, forced=True)
    assert len(drive_tokens(proc, bad)) < len(bad) + 1  # the nested schema holds inside the grammar


def test_arguments_of_every_json_schema_type_are_checked():
    spec = external_tool("notes.total", "d", NESTED, lambda a, c: ("", False))
    ok = check_arguments(spec, {"items": '[{"label": "a", "count": 1}]', "scale": "2.5", "strict": "true",
                                "meta": {"k": "v"}})
    assert ok == {"items": [{"label": "a", "count": 1}], "scale": 2.5, "strict": True, "meta": {"k": "v"}}
    assert check_arguments(spec, {"items": [], "scale": 3})["scale"] == 3
    for wrong, word in (({"items": "nope"}, "a JSON list"), ({"items": [], "scale": "x"}, "a number"),
                        ({"items": [], "strict": 2}, "true or false"), ({}, "needs argument 'items'"),
                        ({"items": [], "other": 1}, "no argument 'other'")):
        with pytest.raises(ToolError, match=word):
            check_arguments(spec, wrong)
    typeless = external_tool("s.t", "d", {"type": "object"}, lambda a, c: ("", False))
    assert typeless.parameters["properties"] == {} and check_arguments(typeless, {}) == {}


def test_listing_without_servers_says_how_to_add_one():
    assert listing_lines(None) == ["No MCP servers are configured (add [mcp.servers.NAME] to your config.toml)."]


def test_close_kills_a_server_that_ignores_its_stdin(tmp_path):
    stubborn = tmp_path / "stubborn_server.py"
    stubborn.write_text(SERVER.replace("app.run()", "import signal\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
                                                    "app.run()\nimport time\ntime.sleep(600)"))
    manager = McpManager({"s": {"command": [sys.executable, str(stubborn)], "timeout": 60}}).start()
    assert manager.wait()
    assert procs_running(str(stubborn))
    began = time.monotonic()
    manager.close()
    assert time.monotonic() - began < 15
    assert procs_running(str(stubborn)) == []
    assert manager.statuses()[0].state == "stopped"


# ---- the TUI: /mcp, the approval prompt, servers stopped on quit --------------------------------------

async def test_tui_lists_servers_asks_before_a_call_and_stops_them_on_quit(server, tmp_path):
    from ui_support import factory_for, make_app, notices, send, wait_for, wait_model

    from mlxagent.ui.screens.command_approval import CommandApprovalScreen

    repo = make_repo(tmp_path)
    note = tmp_path / "note.txt"
    servers = {"notes": {"command": [sys.executable, str(server)], "timeout": 60},
               "missing": {"command": ["/nonexistent/mcp-server"]}}
    app = make_app(repo, factory_for([hermes_call("notes.write_note", path=str(note), body="from the TUI"),
                                      "Done."]), mcp_servers=servers)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_model(pilot)
        await wait_for(pilot, lambda: "notes.write_note" in app.agent.toolbox.names(), timeout=90,
                       what="the MCP tools")
        await send(pilot, "/mcp")
        await wait_for(pilot, lambda: any("notes: ready" in n for n in notices(app)), what="the /mcp listing")
        listing = next(n for n in notices(app) if "notes: ready" in n)
        assert "notes.shout (read-only): Upper-case the text." in listing
        assert "missing: failed: cannot start '/nonexistent/mcp-server'" in listing
        await send(pilot, "write a note")
        await wait_for(pilot, lambda: isinstance(app.screen, CommandApprovalScreen), timeout=30, what="the prompt")
        await pilot.pause()
        text = " ".join(str(s.render()) for s in app.screen.query("Static"))
        assert "Call this MCP tool?" in text and "notes.write_note {" in text and "$ " not in text
        assert "MCP server 'notes'" in text and "always allow this tool" in text
        await pilot.press("y")
        await wait_for(pilot, note.exists, timeout=30, what="the note")
        assert note.read_text() == "from the TUI"
        from mlxagent.ui.widgets.command_card import CommandCard

        card = next(iter(app.chat.transcript.query(CommandCard)))
        assert str(card.query_one(".command-line").render()).startswith("notes.write_note {")
        assert procs_running(str(server))
    assert procs_running(str(server)) == []


def test_always_allows_the_tool_with_any_arguments(configured, server, tmp_path):
    repo = make_repo(tmp_path)
    first, second = tmp_path / "one.txt", tmp_path / "two.txt"
    settings, _ = load_settings()
    model = ScriptedModel([hermes_call("notes.write_note", path=str(first), body="1"),
                           hermes_call("notes.write_note", path=str(second), body="2"), "Done."])
    agent = build_agent(Workspace.open(repo), settings, model, tests=False, auto_test=False, repair=False,
                        allow_commands=None, remember_consent=False)
    asked = []
    try:
        start_mcp(agent, settings)
        drive(agent, "write both", lambda e: asked.append(e) or ev.CommandDecision.always())
    finally:
        stop_mcp(agent)
    assert len(asked) == 1 and first.read_text() == "1" and second.read_text() == "2"
    assert agent.gate.permissions.allowed(("mcp", "notes.write_note"))


def test_a_repository_cannot_start_a_server(isolated_home, server, tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / ".mlxagent.toml").write_text(f"[mcp.servers.sneaky]\ncommand = [{json.dumps(sys.executable)}, "
                                         f"{json.dumps(str(server))}]\n")
    init_repo(repo)
    settings, _ = load_settings()
    agent = build_agent(Workspace.open(repo), settings, ScriptedModel(["Done."]), tests=False)
    assert start_mcp(agent, settings) == [] and agent.mcp is None
    assert not any("." in name for name in agent.toolbox.names())
    assert procs_running(str(server)) == []
