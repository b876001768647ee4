"""The read-loop guard inside the agent loop: nudge, force, refusal, stop; and a real forced generation."""

from __future__ import annotations

import json

from mlxagent.core import events as ev
from mlxagent.core.agent import Agent, AgentConfig
from mlxagent.core.formats import format_for, forced_edit_tools
from mlxagent.core.guard import GuardConfig
from mlxagent.core.testing.loop import RetryPolicy
from mlxagent.core.llm import Constraint
from mlxagent.core.proposals import ProposalManager
from mlxagent.core.tools import READ_ONLY_TOOLS, Toolbox
from mlxagent.core.workspace import Workspace

from fixture_repos import fixture_repo
from scripted_model import AlwaysReads, ScriptedModel, hermes_call
from test_agent import drive, of


def test_worst_case_reader_is_forced_to_an_edit(tmp_path):
    repo = fixture_repo("rename_function", tmp_path)
    files = sorted(p.relative_to(repo).as_posix() for p in repo.rglob("*.py"))
    reader = AlwaysReads(files)
    ws = Workspace.open(repo)
    model = ScriptedModel([reader], repeat_last=True)
    agent = Agent(Toolbox(ws, ProposalManager(ws)), model, AgentConfig(max_steps=14))
    events = drive(agent, "rename the function")
    levels = [e.level for e in of(events, ev.GuardState)]
    assert "nudge" in levels and "force" in levels
    proposals = of(events, ev.ProposalReady)
    assert proposals, "the guard must force an edit"
    calls = of(events, ev.ToolCallStarted)
    first_edit = next(i for i, c in enumerate(calls) if c.name == "edit_file")
    assert first_edit < 12
    # the forced schema offers only edit tools, with paths limited to files already seen
    forced = reader.forced_constraints[0]
    names = {t["function"]["name"] for t in forced.tools}
    assert names <= {"edit_file", "write_file"}
    assert of(events, ev.ProposalResolved)[0].outcome == "applied"
    # a nudge note reached the model before the force
    tool_texts = [m["content"] for m in agent.messages if m["role"] == "tool"]
    assert any("edit" in t.lower() and "read" in t.lower() for t in tool_texts[:first_edit])


def test_same_reader_never_edits_without_the_guard(tmp_path):
    repo = fixture_repo("rename_function", tmp_path)
    files = sorted(p.relative_to(repo).as_posix() for p in repo.rglob("*.py"))
    ws = Workspace.open(repo)
    model = ScriptedModel([AlwaysReads(files)], repeat_last=True)
    agent = Agent(Toolbox(ws, ProposalManager(ws)), model,
                  AgentConfig(max_steps=12, guard=GuardConfig(enabled=False)))
    events = drive(agent, "rename the function")
    assert not of(events, ev.ProposalReady)
    assert of(events, ev.TurnFinished)[0].reason == "max_steps"


def test_read_tools_are_refused_while_forcing(tmp_path):
    repo = fixture_repo("readme_typo", tmp_path)
    ws = Workspace.open(repo)
    config = GuardConfig(allowance=1, nudge_at=2, force_at=3)

    def script(messages, constraint):
        return hermes_call("search", pattern="the")  # ignores even the constraint (an unconstrained model)

    agent = Agent(Toolbox(ws, ProposalManager(ws)), ScriptedModel([script], repeat_last=True),
                  AgentConfig(max_steps=8, guard=config))
    events = drive(agent, "find things")
    forced_at = next(i for i, e in enumerate(events) if isinstance(e, ev.GuardState) and e.level == "force")
    after = [e for e in events[forced_at:] if isinstance(e, ev.ToolCallFinished)]
    assert after and all(e.is_error and "unavailable" in e.result for e in after)
    assert all(e.name in READ_ONLY_TOOLS for e in after)


def test_failed_forced_edits_stop_and_ask_the_user(tmp_path):
    repo = fixture_repo("readme_typo", tmp_path)
    ws = Workspace.open(repo)
    config = GuardConfig(allowance=1, nudge_at=2, force_at=3, max_forced_failures=2)
    first_line = (repo / "README.md").read_text().splitlines()[0]

    def script(messages, constraint):
        if constraint is not None and constraint.forced:
            return hermes_call("edit_file", path="README.md", search=first_line, replace="nope")
        return hermes_call("read_file", path="README.md", start_line=len(messages), end_line=len(messages) + 1)

    agent = Agent(Toolbox(ws, ProposalManager(ws)), ScriptedModel([script], repeat_last=True),
                  AgentConfig(max_steps=30, guard=config))
    events = drive(agent, "edit", review=lambda p: ev.Review.reject_all(len(p.hunks), "no"))
    finished = of(events, ev.TurnFinished)[0]
    assert finished.reason == "guard_stopped"
    assert "?" in finished.message  # it asks the user
    assert of(events, ev.GuardState)[-1].level == "stopped"


def test_five_legitimate_reads_then_edit_is_never_nudged(tmp_path):
    repo = fixture_repo("off_by_one", tmp_path)
    files = sorted(p.relative_to(repo).as_posix() for p in repo.rglob("*") if p.is_file() and ".git" not in p.parts)
    target = next(f for f in files if f.endswith(".py"))
    line = (repo / target).read_text().splitlines()[0]
    script = [hermes_call("list_files")] + [hermes_call("read_file", path=f) for f in files[:4]]
    script += [hermes_call("edit_file", path=target, search=line, replace=line + "  # ok"), "Done."]
    ws = Workspace.open(repo)
    agent = Agent(Toolbox(ws, ProposalManager(ws)), ScriptedModel(script), AgentConfig())
    events = drive(agent, "fix it")
    assert {e.level for e in of(events, ev.GuardState)} == {"ok"}
    assert of(events, ev.ProposalResolved)[0].outcome == "applied"


def test_real_model_forced_generation_is_an_edit_of_an_existing_file(tmp_path, real_model):
    from mlxagent.model.chat_model import MlxChatModel

    repo = fixture_repo("off_by_one", tmp_path)
    ws = Workspace.open(repo)
    toolbox = Toolbox(ws, ProposalManager(ws))
    py_files = sorted(p.relative_to(repo).as_posix() for p in repo.rglob("*.py"))
    lines = {p: (repo / p).read_text().splitlines() for p in py_files}
    edit_tools = [t for t in toolbox.schemas() if t["function"]["name"] in ("edit_file", "write_file")]
    forced = forced_edit_tools(edit_tools, py_files, lines)
    model = MlxChatModel(real_model)
    messages = [{"role": "system", "content": "You are a coding agent."},
                {"role": "user", "content": "Fix the off-by-one bug."}]
    text = "".join(c.text for c in model.stream(messages, toolbox.schemas(),
                                                 constraint=Constraint(forced, forced=True), max_tokens=160))
    parsed = format_for(model.tool_format).parse(text, toolbox.schemas())
    assert parsed.calls, (text, parsed.errors)
    call = parsed.calls[0]
    assert call.name in ("edit_file", "write_file")
    assert call.arguments["path"] in py_files and (repo / call.arguments["path"]).is_file()
    if call.name == "edit_file":
        assert call.arguments["search"] in (repo / call.arguments["path"]).read_text()


def test_forced_edit_goes_to_the_file_the_user_named_even_when_nothing_was_seen(tmp_path):
    """The model only ran listings that matched nothing: the forced edit still targets the
    file named in the request, and its replace may not repeat its search."""
    repo = fixture_repo("readme_typo", tmp_path)
    (repo / "other.txt").write_text("unrelated\n")
    ws = Workspace.open(repo)
    seen = []

    def reply(messages, constraint):
        names = [t["function"]["name"] for t in constraint.tools] if constraint is not None else []
        if constraint is not None and constraint.forced and names == ["read_file"]:
            # a repeated listing: the agent makes the next step read the named file (not an edit)
            path = constraint.tools[0]["function"]["parameters"]["properties"]["path"]["enum"][0]
            return hermes_call("read_file", path=path)
        if constraint is not None and constraint.forced:
            seen.append(constraint)
            return hermes_call("edit_file", path="README.md", search="# tally", replace="# Tally")
        return hermes_call("list_files", path=".", glob="*.py")

    model = ScriptedModel([reply], repeat_last=True)
    agent = Agent(Toolbox(ws, ProposalManager(ws)), model, AgentConfig(max_steps=12, review="apply", retry=RetryPolicy.unattended()))
    events = drive(agent, "Fix the spelling mistake in README.md.")
    assert of(events, ev.ProposalReady) and seen
    edit = next(t["function"]["parameters"] for t in seen[0].tools if t["function"]["name"] == "edit_file")
    branches = edit.get("anyOf") or [edit]
    assert {b["properties"]["path"].get("const") for b in branches} == {"README.md"}
    assert all("pattern" in b["properties"]["replace"] for b in branches)
