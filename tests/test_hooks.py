"""Hooks from the user's [hooks] settings: after_edit (a formatter, a failing linter), before_command
(blocking), turn_end, their consent, and `mlxagent run` with nobody to ask.

Real git repos in tmp dirs, real hook processes (small Python scripts written by the tests), the
scripted model as the test double; what the model read is taken from its recorded calls.
"""

from __future__ import annotations

import json
import sys
import threading
from argparse import Namespace
from pathlib import Path

from fixture_repos import init_repo
from scripted_model import ScriptedModel, hermes_call

from mlxagent.builder import build_agent
from mlxagent.config import Settings
from mlxagent.core import events as ev
from mlxagent.core.agent import Agent, AgentConfig
from mlxagent.core.proposals import ProposalManager
from mlxagent.core.testing.consent import CommandPermissions
from mlxagent.core.testing.gate import CommandGate
from mlxagent.core.tools import Toolbox
from mlxagent.core.workspace import Workspace

NOTES = "items:\n  - a\n"
EDIT = hermes_call("edit_file", path="notes.txt", search="  - a", replace="  - a\n\t- b")
FORMATTER = """
import json, os, sys
data = json.load(sys.stdin)
with open(sys.argv[1], "a") as log:
    log.write(json.dumps({"hook": os.environ["MLXAGENT_HOOK"], "files": os.environ["MLXAGENT_FILES"],
                          "command": os.environ["MLXAGENT_COMMAND"], "stdin": data}) + "\\n")
for path in os.environ["MLXAGENT_FILES"].splitlines():
    text = open(path).read()
    if "\\t" in text:
        open(path, "w").write(text.replace("\\t", "  "))
        print("formatted", path)
"""


def make_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "notes.txt").write_text(NOTES)
    init_repo(repo)
    return repo


def script(tmp_path: Path, name: str, text: str) -> list[str]:
    path = tmp_path / name
    path.write_text(text)
    return [sys.executable, str(path)]


def make_agent(repo: Path, outputs, hooks, *, allow=True, permissions=None) -> tuple[Agent, ScriptedModel]:
    ws = Workspace.open(repo)
    model = ScriptedModel(list(outputs))
    gate = CommandGate(ws.root, permissions or CommandPermissions(None, ws.root), allow=allow)
    agent = Agent(Toolbox(ws, ProposalManager(ws, journal=None)), model,
                  AgentConfig(review="apply", auto_test=False, repair=False), gate=gate, hooks=hooks)
    return agent, model


def drive(agent: Agent, task: str, answer=None, cancel=None) -> list[ev.Event]:
    out = []
    for event in agent.run_turn(task, cancel):
        out.append(event)
        if isinstance(event, ev.ProposalReady) and not event.reply.done():
            event.reply.set_result(ev.Review.accept_all(len(event.proposal.hunks)))
        if isinstance(event, ev.CommandApproval) and not event.reply.done():
            event.reply.set_result(answer(event) if answer else ev.CommandDecision.once())
    return out


def of(events, kind):
    return [e for e in events if isinstance(e, kind)]


def tool_texts(agent: Agent) -> list[str]:
    return [m["content"] for m in agent.messages if m["role"] == "tool"]


def test_a_formatter_after_edit_rewrites_the_file_shows_on_the_card_and_undo_still_works(tmp_path):
    repo = make_repo(tmp_path)
    log = tmp_path / "log.jsonl"
    fmt = script(tmp_path, "fmt.py", FORMATTER) + [str(log)]
    agent, model = make_agent(repo, [EDIT, "Done."], {"after_edit": [fmt]})
    events = drive(agent, "add item b")
    started = of(events, ev.CommandStarted)
    assert [(s.argv, s.purpose, s.cwd) for s in started] == [(tuple(fmt), "hook", ".")]
    assert "formatted notes.txt" in "".join(e.text for e in of(events, ev.CommandOutput))
    assert of(events, ev.CommandFinished)[0].exit_code == 0
    # the hook ran after the edit was applied, and before the turn went on
    kinds = [type(e) for e in events]
    assert kinds.index(ev.ProposalResolved) < kinds.index(ev.CommandStarted) < kinds.index(ev.ToolCallFinished)
    assert (repo / "notes.txt").read_text() == "items:\n  - a\n  - b\n"  # the formatted file
    seen = json.loads(log.read_text())
    assert seen["hook"] == "after_edit" and seen["files"] == "notes.txt" and seen["command"] == ""
    assert seen["stdin"]["event"] == "after_edit" and seen["stdin"]["paths"] == ["notes.txt"]
    assert seen["stdin"]["command"] is None and Path(seen["stdin"]["repo"]) == repo.resolve()
    # the model read that the file was rewritten (in its next generation)
    assert "after_edit hook rewrote notes.txt" in model.calls[1]["messages"][-1]["content"]
    # undo puts back the bytes from before the edit, the formatting with it
    assert agent.toolbox.proposals.undo().startswith("Undid")
    assert (repo / "notes.txt").read_text() == NOTES


def test_a_failing_after_edit_hook_is_told_to_the_model(tmp_path):
    repo = make_repo(tmp_path)
    lint = script(tmp_path, "lint.py", "import sys\nprint('lint: tab indentation at notes.txt:3')\nsys.exit(3)\n")
    agent, model = make_agent(repo, [EDIT, "Done."], {"after_edit": [lint]})
    events = drive(agent, "add item b")
    assert of(events, ev.CommandFinished)[0].exit_code == 3
    told = model.calls[1]["messages"][-1]["content"]
    assert "The after_edit hook" in told and "failed (exit 3" in told
    assert "lint: tab indentation at notes.txt:3" in told
    assert "\t- b" in (repo / "notes.txt").read_text()  # the edit itself stays applied
    assert of(events, ev.TurnFinished)[0].reason == "done"


def test_a_failing_before_command_hook_blocks_the_command(tmp_path):
    repo = make_repo(tmp_path)
    log = tmp_path / "seen.txt"
    guard = script(tmp_path, "guard.py", "import os, sys\n"
                   f"open({str(log)!r}, 'a').write(os.environ['MLXAGENT_COMMAND'] + '\\n')\n"
                   "if 'touch' in os.environ['MLXAGENT_COMMAND']:\n"
                   "    print('no touching files'); sys.exit(2)\n")
    touch = hermes_call("run_command", command="python -c \"open('touched', 'w')\" touch")
    fine = hermes_call("run_command", command="python -c \"open('fine', 'w')\"")
    agent, model = make_agent(repo, [touch, fine, "Done."], {"before_command": [guard]})
    events = drive(agent, "make two files")
    assert not (repo / "touched").exists()  # blocked
    assert (repo / "fine").exists()  # the hook let this one run
    texts = tool_texts(agent)
    assert "before_command hook blocked it" in texts[0] and "no touching files" in texts[0]
    assert "blocked" not in texts[1]
    assert of(events, ev.ToolCallFinished)[0].is_error
    assert [line.split()[0] for line in log.read_text().splitlines()] == ["python", "python"]
    assert "touch" in log.read_text().splitlines()[0]
    assert [s.purpose for s in of(events, ev.CommandStarted)] == ["hook", "hook", "command"]


def test_turn_end_runs_once_per_turn_and_not_when_cancelled(tmp_path):
    repo = make_repo(tmp_path)
    log = tmp_path / "turns.txt"
    hook = script(tmp_path, "end.py", f"import os\nopen({str(log)!r}, 'a').write(os.environ['MLXAGENT_HOOK'] + '\\n')\n")
    agent, _ = make_agent(repo, ["First answer.", "Second answer."], {"turn_end": [hook]})
    first = drive(agent, "one")
    drive(agent, "two")
    assert log.read_text().splitlines() == ["turn_end", "turn_end"]
    kinds = [type(e) for e in first]
    assert kinds[-1] is ev.TurnFinished and ev.CommandFinished in kinds
    cancel = threading.Event()
    cancel.set()
    cancelled = drive(agent, "three", cancel=cancel)
    assert of(cancelled, ev.TurnFinished)[0].reason == "cancelled"
    assert log.read_text().splitlines() == ["turn_end", "turn_end"]


def test_a_refused_hook_is_said_once_and_never_run(tmp_path):
    repo = make_repo(tmp_path)
    log = tmp_path / "log.jsonl"
    fmt = script(tmp_path, "fmt.py", FORMATTER) + [str(log)]
    second = hermes_call("edit_file", path="notes.txt", search="items:", replace="things:")
    agent, model = make_agent(repo, [EDIT, second, "Done."], {"after_edit": [fmt]}, allow=False)
    events = drive(agent, "two edits")
    assert len(of(events, ev.ProposalResolved)) == 2
    notes = [e.message for e in of(events, ev.ErrorEvent) if "hook" in e.message]
    assert len(notes) == 1 and "not allowed in this run" in notes[0] and "rest of this session" in notes[0]
    assert not log.exists() and not of(events, ev.CommandStarted)
    assert "\t- b" in (repo / "notes.txt").read_text()  # never formatted
    # another consent policy (a permission mode that runs commands): the hook runs again
    agent.gate.allow = True
    model.script = [hermes_call("edit_file", path="notes.txt", search="things:", replace="stuff:"), "Done."]
    events = drive(agent, "one more edit")
    assert [s.purpose for s in of(events, ev.CommandStarted)] == ["hook"]
    assert (repo / "notes.txt").read_text() == "stuff:\n  - a\n  - b\n" and log.exists()


def test_hook_consent_is_asked_with_its_source_and_always_is_remembered(tmp_path):
    repo = make_repo(tmp_path)
    store = tmp_path / "allowed.json"
    log = tmp_path / "turns.txt"
    hook = script(tmp_path, "end.py", f"open({str(log)!r}, 'a').write('x\\n')\n")
    asked = []

    def always(event):
        asked.append(event)
        return ev.CommandDecision.always()

    agent, _ = make_agent(repo, ["Hi."], {"turn_end": [hook]}, allow=None,
                          permissions=CommandPermissions(store, repo))
    drive(agent, "one", answer=always)
    assert len(asked) == 1 and asked[0].purpose == "hook"
    assert asked[0].origin == "from your settings' [hooks] turn_end" and asked[0].argv == tuple(hook)
    # a new session in the same repository: not asked again
    again, _ = make_agent(repo, ["Hi."], {"turn_end": [hook]}, allow=None, permissions=CommandPermissions(store, repo))
    drive(again, "two", answer=always)
    assert len(asked) == 1 and log.read_text() == "x\nx\n"
    # "refuse" in the prompt: not run, and not asked again this session
    refused, _ = make_agent(repo, ["A.", "B."], {"turn_end": [hook + ["other"]]}, allow=None,
                            permissions=CommandPermissions(store, repo))
    asked.clear()
    drive(refused, "three", answer=lambda e: asked.append(e) or ev.CommandDecision.refuse("not now"))
    drive(refused, "four", answer=lambda e: asked.append(e) or ev.CommandDecision.once())
    assert len(asked) == 1 and log.read_text() == "x\nx\n"


def test_the_builder_gives_the_agent_the_settings_hooks(tmp_path, isolated_home):
    repo = make_repo(tmp_path)
    agent = build_agent(Workspace.open(repo), Settings(hooks={"turn_end": [["true"]]}), tests=False)
    assert agent.hooks.has("turn_end") and not agent.hooks.has("after_edit")


def test_run_with_nobody_to_ask_refuses_a_hook_once(tmp_path, isolated_home, monkeypatch, capsys):
    from mlxagent import headless

    repo = make_repo(tmp_path)
    log = tmp_path / "log.jsonl"
    fmt = script(tmp_path, "fmt.py", FORMATTER) + [str(log)]
    second = hermes_call("edit_file", path="notes.txt", search="items:", replace="things:")
    settings = Settings(hooks={"after_edit": [fmt]})
    agent = build_agent(Workspace.open(repo), settings, ScriptedModel([EDIT, second, "Done."]), auto_approve=True,
                        tests=False, auto_test=False, repair=False)
    monkeypatch.setattr(headless, "build_session", lambda *a, **k: (agent, None, []))
    monkeypatch.setattr(sys, "stdin", open("/dev/null"))  # nobody to ask
    args = Namespace(task="two edits", repo=str(repo), model=None, no_guard=False, yes=True, reject=False,
                     max_steps=None, max_tokens=None, test_cmd=None, allow_commands=False, no_auto_test=True,
                     no_speculative=True, json=True, continue_session=False, resume=None)
    assert headless.run_task(args) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert sum(e["event"] == "ProposalResolved" for e in events) == 2
    approvals = [e for e in events if e["event"] == "CommandApproval"]
    assert len(approvals) == 1 and approvals[0]["purpose"] == "hook"
    refusals = [e for e in events if e["event"] == "ErrorEvent" and "hook" in e["message"]]
    assert len(refusals) == 1 and "--allow-commands" in refusals[0]["message"]
    assert not log.exists()


async def test_tui_asks_about_a_hook_with_its_source_and_shows_its_card(tmp_path):
    from ui_support import factory_for, make_app, send, wait_for, wait_idle, wait_model

    from mlxagent.ui.screens.command_approval import CommandApprovalScreen

    repo = make_repo(tmp_path)
    hook = script(tmp_path, "end.py", "import os\nprint('turn over:', os.environ['MLXAGENT_HOOK'])\n")
    app = make_app(repo, factory_for(["Hello."]), hooks={"turn_end": [hook]})
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_model(pilot)
        await send(pilot, "hi")
        await wait_for(pilot, lambda: isinstance(app.screen, CommandApprovalScreen), what="the prompt")
        await pilot.pause()
        text = " ".join(str(s.render()) for s in app.screen.query("Static"))
        assert "end.py" in text and "from your settings' [hooks] turn_end" in text
        assert "run once (this time only)" in text
        await pilot.press("y")
        await wait_idle(pilot)
        card = app.chat.transcript.command_cards[0]
        await wait_for(pilot, lambda: "turn over: turn_end" in card.output, what="the hook's output")
        assert card.purpose == "hook" and card.finished is not None and card.finished.exit_code == 0
