"""Permission modes (core/modes.py): plan is read-only whatever the model asks, ask reviews, accept-edits
applies edits but asks before commands, auto runs commands; the builder and `mlxagent run --mode`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from fixture_repos import fixture_repo
from scripted_model import ScriptedModel, allowed_call, hermes_call

from mlxagent import cli, headless
from mlxagent.builder import build_agent, set_auto_approve, set_mode
from mlxagent.config import Settings
from mlxagent.config_tables import MODES as SETTING_MODES
from mlxagent.core import events as ev
from mlxagent.core import modes
from mlxagent.core.guard import GuardConfig
from mlxagent.core.tools import READ_ONLY_TOOLS
from mlxagent.core.workspace import Workspace

MARKER_CMD = "python -c \"open('command_ran.txt', 'w').write('ran')\""
# pytest imports conftest.py first: any test run in the repository leaves this marker
CONFTEST = "import pathlib\npathlib.Path(__file__).with_name('tests_ran.txt').write_text('ran')\n"
PLAN = "Plan:\n1. In windows.py, window_sums stops one window early: use range(len(values) - size + 1).\n2. Run the tests."


def failing_repo(tmp_path: Path) -> Path:
    """off_by_one (a failing test), with a conftest.py that marks every test run; committed."""
    repo = fixture_repo("off_by_one", tmp_path)
    (repo / "conftest.py").write_text(CONFTEST)
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    subprocess.run(["git", "commit", "-qm", "conftest"], cwd=repo, check=True)
    return repo


def snapshot(repo: Path) -> dict[str, bytes]:
    return {str(p.relative_to(repo)): p.read_bytes() for p in sorted(repo.rglob("*"))
            if p.is_file() and ".git" not in p.relative_to(repo).parts}


def git_clean(repo: Path) -> bool:
    out = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=repo,
                         capture_output=True, text=True, check=True).stdout
    return out.strip() == ""


def wants_everything() -> list:
    """A model that asks for every kind of change, then writes its plan."""
    return [
        hermes_call("read_file", path="windows.py"),
        hermes_call("edit_file", path="windows.py", search="range(len(values) - size)",
                    replace="range(len(values) - size + 1)"),
        hermes_call("write_file", path="new_module.py", content="x = 1\n"),
        hermes_call("run_command", command=MARKER_CMD),
        hermes_call("run_tests"),
        PLAN,
    ]


def drive(agent, text: str, answer_commands=None) -> list[ev.Event]:
    """Run one turn; proposals waiting on a person are rejected, commands answered by `answer_commands`."""
    events = []
    for event in agent.run_turn(text, threading.Event()):
        events.append(event)
        if isinstance(event, ev.ProposalReady) and not event.reply.done():
            event.reply.set_result(ev.Review.reject_all(len(event.proposal.hunks), "test"))
        if isinstance(event, ev.CommandApproval) and not event.reply.done():
            event.reply.set_result(answer_commands or ev.CommandDecision.refuse("test"))
    return events


# -- the modes themselves -------------------------------------------------------------------------


def test_the_modes_and_their_cycle():
    assert modes.MODES == SETTING_MODES == cli.MODES
    assert [modes.next_mode(m) for m in ("ask", "accept-edits", "auto", "plan")] == ["accept-edits", "auto", "plan",
                                                                                   "ask"]
    plan = modes.mode_named("PLAN")
    assert plan.read_only and plan.tools(["read_file", "edit_file", "run_command", "search", "mcp_thing"]) == [
        "read_file", "search"]
    assert modes.mode_named("ask").allows("mcp_thing")  # a tool added later runs outside plan mode
    with pytest.raises(modes.ModeError, match="unknown mode 'yolo': use one of plan, ask, accept-edits, auto"):
        modes.mode_named("yolo")


def test_an_explicit_mode_wins_and_the_old_flags_lift_the_default():
    assert modes.resolve("plan", "auto", yes=True, allow_commands=True) == "plan"
    assert modes.resolve("ask", "ask", yes=True) == "ask"
    assert modes.resolve(None, "ask") == "ask"
    assert modes.resolve(None, "ask", yes=True) == "accept-edits"
    assert modes.resolve(None, "plan", yes=True) == "accept-edits"
    assert modes.resolve(None, "ask", yes=True, allow_commands=True) == "auto"
    assert modes.resolve(None, "ask", allow_commands=True) == "ask"  # the gate runs commands, edits still asked
    assert modes.resolve(None, "auto") == "auto"


def test_the_builder_turns_a_mode_into_policies(tmp_path):
    ws = Workspace.open(fixture_repo("off_by_one", tmp_path))
    settings = Settings()
    cases = {"plan": ("ask", None), "ask": ("ask", None), "accept-edits": ("apply", None), "auto": ("apply", True)}
    for name, (review, allow) in cases.items():
        agent = build_agent(ws, settings, ScriptedModel([]), mode=name, allow_commands=True, auto_approve=True)
        assert (agent.mode.name, agent.config.review, agent.gate.allow) == (name, review, allow), name
        assert agent.config.retry.undo_failing == (review == "apply")
    # no --mode: the setting default_mode, lifted by --yes / --allow-commands as before
    assert build_agent(ws, Settings(default_mode="plan"), None).mode.name == "plan"
    lifted = build_agent(ws, settings, None, auto_approve=True, allow_commands=True)
    assert (lifted.mode.name, lifted.config.review, lifted.gate.allow) == ("auto", "apply", True)
    asked = build_agent(ws, settings, None, allow_commands=True)
    assert (asked.mode.name, asked.config.review, asked.gate.allow) == ("ask", "ask", True)
    # between turns: set_mode, and /approve moves the mode with it
    set_mode(asked, "auto", settings)
    assert (asked.config.review, asked.gate.allow) == ("apply", True)
    set_mode(asked, "plan", settings)
    assert (asked.mode.name, asked.config.review, asked.gate.allow) == ("plan", "ask", None)
    set_auto_approve(asked, True, settings)
    assert asked.mode.name == "accept-edits" and asked.config.review == "apply"
    set_auto_approve(asked, False, settings)
    assert asked.mode.name == "ask" and asked.config.review == "ask"
    with pytest.raises(modes.ModeError):
        set_mode(asked, "everything", settings)


# -- plan mode: read-only whatever the model asks --------------------------------------------------


def run_args(repo: Path, *extra: str) -> object:
    return cli._sub_parser().parse_args(["run", "fix the failing test", "--repo", str(repo), "--model", "scripted",
                                         "--max-steps", "8", *extra])


def test_run_mode_plan_changes_no_file_and_runs_no_command(tmp_path, monkeypatch, capsys):
    repo = failing_repo(tmp_path)
    before = snapshot(repo)
    model = ScriptedModel(wants_everything())
    model.weak_tool_use = True  # would also search for candidates and be held to tool calls
    monkeypatch.setattr("mlxagent.builder.load_model", lambda *a, **k: model)
    code = headless.run_task(run_args(repo, "--mode", "plan", "--yes", "--allow-commands"))
    out = capsys.readouterr().out
    assert code == 0, out
    assert snapshot(repo) == before and git_clean(repo)
    assert not (repo / "command_ran.txt").exists() and not (repo / "tests_ran.txt").exists()
    # every change was refused with a one-line note the model read; the plan ended the turn
    refused = [line for line in out.splitlines() if "refused: plan mode is read-only" in line]
    assert len(refused) == 4, out
    assert "candidate search" not in out and "proposal" not in out and "\n$ " not in out
    assert PLAN.splitlines()[1] in out and "— done:" in out
    assert "(plan mode: no file was changed and no command was run)" in out
    # the model was told it plans, and offered the read tools only
    first = model.calls[0]
    assert "[Plan mode: read-only." in first["messages"][1]["content"]
    assert "[The tests, run before any change]" not in first["messages"][1]["content"]
    offered = {t["function"]["name"] for call in model.calls for t in call["constraint"].tools}
    assert offered <= READ_ONLY_TOOLS and "read_file" in offered
    assert not any(call["constraint"].forced for call in model.calls)  # a plan is text: no call required


def test_run_mode_plan_json_is_read_only_too(tmp_path, monkeypatch, capsys):
    repo = failing_repo(tmp_path)
    before = snapshot(repo)
    model = ScriptedModel(wants_everything())
    monkeypatch.setattr("mlxagent.builder.load_model", lambda *a, **k: model)
    assert headless.run_task(run_args(repo, "--mode", "plan", "--yes", "--allow-commands", "--json")) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    kinds = {e["event"] for e in events}
    assert not kinds & {"ProposalReady", "ProposalResolved", "CommandStarted", "CommandApproval", "TestResult"}
    finished = {e["name"]: e for e in events if e["event"] == "ToolCallFinished"}
    for name in ("edit_file", "write_file", "run_command", "run_tests"):
        assert finished[name]["is_error"] and "plan mode is read-only" in finished[name]["result"]
    assert not finished["read_file"]["is_error"]
    assert snapshot(repo) == before and not (repo / "command_ran.txt").exists()


def test_without_mode_the_same_run_changes_the_repository(tmp_path, monkeypatch, capsys):
    """The counterpart of the plan test (so that it can fail): --yes --allow-commands alone edit and run."""
    repo = failing_repo(tmp_path)
    before = snapshot(repo)
    model = ScriptedModel(wants_everything())
    monkeypatch.setattr("mlxagent.builder.load_model", lambda *a, **k: model)
    headless.run_task(run_args(repo, "--yes", "--allow-commands"))
    capsys.readouterr()
    assert snapshot(repo) != before and (repo / "tests_ran.txt").exists()


def test_plan_mode_refuses_a_candidate_edit_and_the_request_search(tmp_path):
    """A weak tool user with a failing test would search for candidates first: not in plan mode."""
    repo = failing_repo(tmp_path)
    before = snapshot(repo)
    model = ScriptedModel([PLAN])
    model.weak_tool_use = True
    agent = build_agent(Workspace.open(repo), Settings(), model, mode="plan", allow_commands=True)
    events = drive(agent, "rename window_sums to window_totals", ev.CommandDecision.once())
    assert not any(isinstance(e, (ev.RepairProgress, ev.CommandApproval, ev.CommandStarted, ev.ProposalReady))
                   for e in events)
    assert events[-1].reason == "done" and snapshot(repo) == before
    # even an edit that reaches the review (the way every candidate goes) is refused there
    result = agent.toolbox.execute("edit_file", {"path": "windows.py", "search": "range(len(values) - size)",
                                                 "replace": "range(len(values) - size + 1)"})
    review = agent.review(result.proposal, True, threading.Event())
    with pytest.raises(StopIteration) as stop:
        next(review)
    assert "read-only" in stop.value.value and snapshot(repo) == before
    assert not agent.toolbox.proposals.pending()


class Reader:
    """Reads forever (the files in turn, or the one a forced read names); writes an edit only when held to one."""

    def __init__(self, files):
        self.files, self.n, self.forced_edits = files, 0, []

    def __call__(self, messages, constraint):
        names = [t["function"]["name"] for t in constraint.tools] if constraint is not None else []
        if constraint is not None and constraint.forced and "edit_file" in names:
            self.forced_edits.append(constraint)
            _, path, line = allowed_call(constraint)
            return hermes_call("edit_file", path=path, search=line, replace=line + "  # reviewed")
        if constraint is not None and constraint.forced and names == ["read_file"]:
            path = constraint.tools[0]["function"]["parameters"]["properties"]["path"]
            return hermes_call("read_file", path=path.get("const") or path["enum"][0])
        self.n += 1
        return hermes_call("read_file", path=self.files[self.n % len(self.files)])


def test_the_guard_never_forces_an_edit_in_plan_mode(tmp_path):
    repo = fixture_repo("off_by_one", tmp_path)
    guard = GuardConfig(allowance=1, nudge_at=2, force_at=3)

    def turn(mode: str):
        reader = Reader(["windows.py", "test_windows.py", "TASK.txt"])
        model = ScriptedModel([reader], repeat_last=True)
        agent = build_agent(Workspace.open(repo), Settings(), model, mode=mode, max_steps=8, tests=False)
        agent.config.guard = guard
        events = drive(agent, "improve the windows module")
        return reader, events, agent

    reader, events, agent = turn("plan")
    levels = {e.level for e in events if isinstance(e, ev.GuardState)}
    assert "force" not in levels and "nudge" in levels
    assert reader.forced_edits == []
    tool_texts = [m["content"] for m in agent.messages if m["role"] == "tool"]
    assert any(modes.PLAN_NUDGE in t for t in tool_texts)
    assert not any("propose an edit" in t for t in tool_texts)
    # the same reader in ask mode is forced to an edit (so the plan-mode check can fail)
    reader, events, _ = turn("ask")
    assert reader.forced_edits and "force" in {e.level for e in events if isinstance(e, ev.GuardState)}


# -- accept-edits and auto --------------------------------------------------------------------------


def test_accept_edits_applies_an_edit_but_asks_before_a_command(tmp_path):
    repo = fixture_repo("off_by_one", tmp_path)
    model = ScriptedModel([hermes_call("edit_file", path="windows.py", search="range(len(values) - size)",
                                       replace="range(len(values) - size + 1)"),
                           hermes_call("run_command", command=MARKER_CMD), "Done."])
    agent = build_agent(Workspace.open(repo), Settings(), model, mode="accept-edits", tests=False)
    events = drive(agent, "fix window_sums, then make the marker")
    ready = [e for e in events if isinstance(e, ev.ProposalReady)]
    assert ready and ready[0].reply.done()  # applied without review
    assert "range(len(values) - size + 1)" in (repo / "windows.py").read_text()
    approvals = [e for e in events if isinstance(e, ev.CommandApproval)]
    assert approvals and approvals[0].argv[0] == "python"  # asked; the test refused it
    assert not (repo / "command_ran.txt").exists()


def test_auto_runs_a_command_without_asking(tmp_path):
    repo = fixture_repo("off_by_one", tmp_path)
    model = ScriptedModel([hermes_call("run_command", command=MARKER_CMD), "Done."])
    agent = build_agent(Workspace.open(repo), Settings(), model, mode="auto", tests=False, remember_consent=False)
    events = drive(agent, "make the marker")
    assert not any(isinstance(e, ev.CommandApproval) and not e.reply.done() for e in events)
    assert (repo / "command_ran.txt").read_text() == "ran"
    assert any(isinstance(e, ev.CommandFinished) and e.exit_code == 0 for e in events)


# -- the command line ------------------------------------------------------------------------------


def test_mode_is_in_the_help_and_a_bad_one_is_one_line(capsys):
    for parser in (cli._tui_parser(), cli._sub_parser()._subparsers._group_actions[0].choices["run"]):
        text = parser.format_help()
        assert "--mode {plan,ask,accept-edits,auto}" in text and "wins over --yes and" in " ".join(text.split())
    with pytest.raises(SystemExit) as exit_:
        cli._sub_parser().parse_args(["run", "x", "--mode", "yolo"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'yolo'" in err and "Traceback" not in err


@pytest.mark.real_model
def test_real_model_in_plan_mode_changes_nothing(tmp_path, isolated_home, real_model_dir):
    repo = failing_repo(tmp_path)
    before = snapshot(repo)
    env = dict(os.environ, MLXAGENT_HOME=str(isolated_home))
    done = subprocess.run([sys.executable, "-m", "mlxagent", "run", "fix the failing test", "--repo", str(repo),
                           "--model", str(real_model_dir), "--mode", "plan", "--yes", "--allow-commands", "--json",
                           "--max-steps", "4", "--max-tokens", "160"],
                          capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    events = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    kinds = [e["event"] for e in events]
    assert "TurnFinished" in kinds
    assert not set(kinds) & {"ProposalReady", "ProposalResolved", "CommandStarted", "TestResult", "RepairProgress"}
    assert snapshot(repo) == before and git_clean(repo)
    assert not (repo / "tests_ran.txt").exists()
