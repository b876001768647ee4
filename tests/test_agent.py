"""The agent loop with the scripted model: tools, proposals, review, failures, cancel, context, guard."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from mlxagent.core import events as ev
from mlxagent.core.agent import Agent, AgentConfig
from mlxagent.core.guard import GuardConfig
from mlxagent.core.proposals import ProposalManager
from mlxagent.core.tools import Toolbox
from mlxagent.core.workspace import Workspace

from fixture_repos import fixture_repo
from scripted_model import ScriptedModel, hermes_call


def make_agent(repo: Path, script, **config) -> tuple[Agent, ScriptedModel]:
    ws = Workspace.open(repo)
    model = ScriptedModel(script, **config.pop("model_kw", {}))
    return Agent(Toolbox(ws, ProposalManager(ws)), model, AgentConfig(**config)), model


def drive(agent: Agent, task: str, review=None, cancel=None) -> list[ev.Event]:
    """Run one turn, answering proposals with `review(proposal) -> Review` (default: accept all)."""
    out = []
    for event in agent.run_turn(task, cancel):
        out.append(event)
        if isinstance(event, ev.ProposalReady) and not event.reply.done():
            decide = review or (lambda p: ev.Review.accept_all(len(p.hunks)))
            event.reply.set_result(decide(event.proposal))
    return out


def of(events, kind):
    return [e for e in events if isinstance(e, kind)]


def test_read_then_edit_then_answer(tmp_path):
    repo = fixture_repo("readme_typo", tmp_path)
    readme = (repo / "README.md").read_text()
    typo = next(word for word in ("recieve", "teh", "langauge", "occured") if word in readme)
    fixed = {"recieve": "receive", "teh": "the", "langauge": "language", "occured": "occurred"}[typo]
    agent, model = make_agent(repo, [
        "Let me look. " + hermes_call("read_file", path="README.md"),
        hermes_call("edit_file", path="README.md", search=typo, replace=fixed),
        "Fixed the typo.",
    ])
    events = drive(agent, "fix the typo in the README")
    assert [e.name for e in of(events, ev.ToolCallStarted)] == ["read_file", "edit_file"]
    assert "".join(e.text for e in of(events, ev.TextDelta)).startswith("Let me look.")
    assert "<tool_call>" not in "".join(e.text for e in of(events, ev.TextDelta))  # markup is not shown
    assert of(events, ev.ProposalResolved)[0].outcome == "applied"
    assert fixed in (repo / "README.md").read_text() and typo not in (repo / "README.md").read_text()
    assert of(events, ev.TurnFinished)[0].reason == "done"
    tool_messages = [m for m in agent.messages if m["role"] == "tool"]
    assert "applied" in tool_messages[-1]["content"]
    json.dumps([e.to_dict() for e in events])  # every event has a JSON form


def test_rejection_reason_reaches_the_model(tmp_path):
    repo = fixture_repo("off_by_one", tmp_path)
    before = {p: p.read_bytes() for p in repo.rglob("*.py")}
    target = sorted(p.relative_to(repo).as_posix() for p in before if "test" not in p.name)[0]
    first_line = (repo / target).read_text().splitlines()[0]
    agent, model = make_agent(repo, [hermes_call("edit_file", path=target, search=first_line, replace="# x"),
                                     "OK, I will not."])
    events = drive(agent, "change it", review=lambda p: ev.Review.reject_all(len(p.hunks), "wrong file"))
    assert of(events, ev.ProposalResolved)[0].outcome == "rejected"
    assert {p: p.read_bytes() for p in repo.rglob("*.py")} == before
    last_tool = [m for m in model.calls[-1]["messages"] if m["role"] == "tool"][-1]
    assert "wrong file" in last_tool["content"]


def test_malformed_calls_end_the_turn_with_a_message(tmp_path):
    repo = fixture_repo("readme_typo", tmp_path)
    bad = '<tool_call>{"name": "read_file", "arguments": {"path": </tool_call>'
    agent, _ = make_agent(repo, [bad, bad, bad, bad], max_parse_failures=3)
    events = drive(agent, "do it")
    finished = of(events, ev.TurnFinished)[0]
    assert finished.reason == "parse_failures" and "malformed" in finished.message
    assert len(of(events, ev.ErrorEvent)) == 3


def test_a_malformed_call_gets_a_corrective_message_and_the_loop_goes_on(tmp_path):
    repo = fixture_repo("readme_typo", tmp_path)
    agent, model = make_agent(repo, ['<tool_call>{"name": "nope", "arguments": {}}</tool_call>', "All done."])
    events = drive(agent, "do it")
    assert of(events, ev.TurnFinished)[0].reason == "done"
    corrective = model.calls[1]["messages"][-1]["content"]
    assert "nope" in corrective or "error" in corrective.lower()


def test_unknown_tool_result_is_an_error_and_loop_continues(tmp_path):
    repo = fixture_repo("readme_typo", tmp_path)
    agent, _ = make_agent(repo, [hermes_call("read_file", path="../outside.txt"), "Sorry."])
    events = drive(agent, "read outside")
    finished = of(events, ev.ToolCallFinished)[0]
    assert finished.is_error
    assert of(events, ev.TurnFinished)[0].reason == "done"


def test_max_steps(tmp_path):
    repo = fixture_repo("readme_typo", tmp_path)
    agent, _ = make_agent(repo, [hermes_call("list_files")], model_kw={"repeat_last": True}, max_steps=3,
                          guard=GuardConfig(enabled=False))
    finished = of(drive(agent, "loop"), ev.TurnFinished)[0]
    assert finished.reason == "max_steps" and finished.steps == 3


def test_cancel_mid_stream(tmp_path):
    repo = fixture_repo("readme_typo", tmp_path)
    cancel = threading.Event()
    agent, _ = make_agent(repo, ["word " * 400], model_kw={"piece": 5, "delay": 0.001})
    events = []
    for event in agent.run_turn("talk", cancel):
        events.append(event)
        if isinstance(event, ev.TextDelta) and len(events) > 5:
            cancel.set()
    finished = of(events, ev.TurnFinished)[0]
    assert finished.reason == "cancelled"
    assert len(of(events, ev.TextDelta)) < 20


def test_cancel_while_waiting_for_review_writes_nothing(tmp_path):
    repo = fixture_repo("readme_typo", tmp_path)
    before = (repo / "README.md").read_bytes()
    line = before.decode().splitlines()[0]
    agent, _ = make_agent(repo, [hermes_call("edit_file", path="README.md", search=line, replace="changed")])
    cancel = threading.Event()
    events = []
    for event in agent.run_turn("edit", cancel):
        events.append(event)
        if isinstance(event, ev.ProposalReady):
            threading.Timer(0.2, cancel.set).start()  # nobody answers; the user presses Esc
    assert of(events, ev.TurnFinished)[0].reason == "cancelled"
    assert (repo / "README.md").read_bytes() == before
    assert agent.toolbox.proposals.pending() == []


def test_auto_approve_applies_without_asking(tmp_path):
    repo = fixture_repo("readme_typo", tmp_path)
    agent, _ = make_agent(repo, [hermes_call("write_file", path="NEW.md", content="hello\n"), "Done."],
                          review="apply")
    events = list(agent.run_turn("create NEW.md"))  # nobody resolves anything
    assert of(events, ev.ProposalResolved)[0].outcome == "applied"
    assert (repo / "NEW.md").read_text() == "hello\n"


def test_context_budget_shortens_old_tool_results(tmp_path):
    repo = fixture_repo("off_by_one", tmp_path)
    (repo / "big.py").write_text("".join(f"value_{i} = {i} * 2  # a line of a long module\n" for i in range(120)))
    script = [hermes_call("read_file", path="big.py", start_line=s, end_line=s + 39) for s in (1, 41, 81)] * 2
    script.append("Done.")
    agent, _ = make_agent(repo, script, model_kw={"context_length": 2200}, max_tokens=64,
                          guard=GuardConfig(enabled=False), max_steps=len(script) + 1)
    events = drive(agent, "read everything")
    trimmed = of(events, ev.ContextTrimmed)
    assert trimmed and trimmed[0].tokens_after < trimmed[0].tokens_before
    tool_messages = [m for m in agent.messages if m["role"] == "tool"]
    assert any("shortened" in m["content"] for m in tool_messages[:-1])
    assert "shortened" not in tool_messages[-1]["content"]
    assert of(events, ev.TurnFinished)[0].reason == "done"


def test_weak_tool_users_are_held_to_tool_calls_until_a_proposal(tmp_path):
    repo = fixture_repo("readme_typo", tmp_path)
    line = (repo / "README.md").read_text().splitlines()[0]
    agent, model = make_agent(repo, [hermes_call("read_file", path="README.md"),
                                     hermes_call("edit_file", path="README.md", search=line, replace=line + "!"),
                                     "Done."])
    model.weak_tool_use = True
    drive(agent, "edit")
    forced = [call["constraint"].forced for call in model.calls]
    assert forced == [True, True, False]  # free text only once an edit was resolved
    read_schema = next(t for t in model.calls[0]["constraint"].tools if t["function"]["name"] == "read_file")
    assert read_schema["function"]["parameters"]["properties"]["path"]["enum"] == sorted(
        p.name for p in repo.iterdir() if p.is_file())  # paths in calls are limited to real files
