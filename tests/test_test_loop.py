"""The agent runs the tests: consent, auto-test, verified retries, repeated reads, the candidate search.

Real pytest runs in real tmp git repos; the model is the scripted test double.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mlxagent.core import events as ev
from mlxagent.core.agent import Agent, AgentConfig
from mlxagent.core.testing.gate import CommandGate
from mlxagent.core.testing.loop import RetryPolicy
from mlxagent.core.testing.consent import CommandPermissions
from mlxagent.core.proposals import ProposalManager
from mlxagent.core.testing.detect import resolve_test_command
from mlxagent.core.tools import Toolbox
from mlxagent.core.workspace import Workspace

from fixture_repos import fixture_repo
from scripted_model import ScriptedModel, hermes_call

BUGGY = "    return [sum(values[i : i + size]) for i in range(len(values) - size)]"
WRONG = "    return [sum(values[i : i + size]) for i in range(len(values) - size - 1)]"
RIGHT = "    return [sum(values[i : i + size]) for i in range(len(values) - size + 1)]"
TASK = "window_sums in windows.py drops the last window; fix it so test_windows.py passes."


class JudgedScript(ScriptedModel):
    """Scripted generations, with the real model as the judge of candidate fixes."""

    def __init__(self, script, judge):
        super().__init__(script)
        self.judge = judge

    def score_texts(self, messages, base, variants, cancel=None):
        return self.judge.score_texts(messages, base, variants, cancel=cancel)


@pytest.fixture(scope="module")
def judge(real_model):
    from mlxagent.model.chat_model import MlxChatModel

    return MlxChatModel(real_model)


def make_agent(repo: Path, script, *, allow=True, permissions=None, judge=None, auto_approve=False, max_attempts=4,
               max_pushbacks=1, **config) -> tuple[Agent, ScriptedModel]:
    """`auto_approve`: both policies of --yes (edits applied, failing ones undone, stop when stuck)."""
    ws = Workspace.open(repo)
    model = JudgedScript(script, judge) if judge is not None else ScriptedModel(script)
    gate = CommandGate(ws.root, permissions or CommandPermissions(None, ws.root), allow=allow)
    retry = RetryPolicy.unattended(auto_approve, max_attempts=max_attempts, max_pushbacks=max_pushbacks)
    agent = Agent(Toolbox(ws, ProposalManager(ws)), model,
                  AgentConfig(review="apply" if auto_approve else "ask", retry=retry, **config), gate=gate)
    agent.toolbox.context.test_command = resolve_test_command(ws.root)
    return agent, model


def drive(agent: Agent, task: str, commands=None) -> list[ev.Event]:
    out = []
    for event in agent.run_turn(task):
        out.append(event)
        if isinstance(event, ev.ProposalReady) and not event.reply.done():
            event.reply.set_result(ev.Review.accept_all(len(event.proposal.hunks)))
        if isinstance(event, ev.CommandApproval) and not event.reply.done():
            event.reply.set_result(commands(event) if commands else ev.CommandDecision.once())
    return out


def of(events, kind):
    return [e for e in events if isinstance(e, kind)]


def test_auto_test_undoes_a_failing_edit_byte_exactly_and_keeps_the_passing_one(tmp_path):
    repo = fixture_repo("off_by_one", tmp_path)
    original = (repo / "windows.py").read_bytes()
    seen_before_second = {}

    def second_edit(messages, constraint):
        seen_before_second["bytes"] = (repo / "windows.py").read_bytes()
        return hermes_call("edit_file", path="windows.py", search=BUGGY, replace=RIGHT)

    agent, model = make_agent(repo, [
        hermes_call("edit_file", path="windows.py", search=BUGGY, replace=WRONG),
        second_edit,
        "Fixed.",
    ], auto_approve=True, repair=False)
    events = drive(agent, TASK)
    results = of(events, ev.TestResult)
    # before the turn, after the wrong edit, after the right one
    assert [r.ok for r in results] == [False, False, True]
    assert results[0].failed == 2 and results[0].after_edit == ""
    assert results[1].after_edit and results[2].after_edit
    assert seen_before_second["bytes"] == original  # the failing edit was undone, exactly
    assert RIGHT in (repo / "windows.py").read_text()
    assert any("undone" in e.message for e in of(events, ev.ErrorEvent))
    # the model read why: the failure, and that its edit was undone
    tool_texts = [m["content"] for m in agent.messages if m["role"] == "tool"]
    assert "undone" in tool_texts[0] and "FAILED" in tool_texts[0]
    assert "all 2 passed" in tool_texts[1]
    assert of(events, ev.TurnFinished)[0].reason == "done"


def test_attempts_are_bounded_and_every_failing_edit_is_undone(tmp_path):
    repo = fixture_repo("off_by_one", tmp_path)
    original = (repo / "windows.py").read_bytes()
    wrong = hermes_call("edit_file", path="windows.py", search=BUGGY, replace=WRONG)
    agent, _ = make_agent(repo, [wrong] * 5, auto_approve=True, repair=False, max_attempts=2)
    events = drive(agent, TASK)
    finished = of(events, ev.TurnFinished)[0]
    assert finished.reason == "tests_failing"
    assert len(of(events, ev.ProposalResolved)) == 2
    assert (repo / "windows.py").read_bytes() == original


def test_the_model_is_pushed_back_once_when_it_stops_with_tests_failing(tmp_path):
    repo = fixture_repo("off_by_one", tmp_path)
    agent, model = make_agent(repo, ["All good.", "They cannot pass without more information."],
                              repair=False)
    events = drive(agent, TASK)
    assert of(events, ev.TurnFinished)[0].reason == "done"
    assert len(model.calls) == 2
    assert "The tests still fail" in model.calls[1]["messages"][-1]["content"]


def test_run_tests_tool_reports_counts_and_the_frame(tmp_path):
    repo = fixture_repo("off_by_one", tmp_path)
    agent, _ = make_agent(repo, [hermes_call("run_tests"), "Seen."], auto_test=False)
    events = drive(agent, "run the tests")
    result = of(events, ev.TestResult)[0]
    assert not result.ok and result.failed == 2
    assert result.failing[0].startswith("test_windows.py::")
    started = of(events, ev.CommandStarted)[0]
    finished = of(events, ev.CommandFinished)[0]
    assert started.purpose == "tests" and finished.exit_code == 1
    tool = [m for m in agent.messages if m["role"] == "tool"][0]["content"]
    assert "2 failed" in tool and "test_windows.py" in tool


def test_a_refused_command_reaches_the_model_as_a_refusal(tmp_path):
    repo = fixture_repo("off_by_one", tmp_path)
    agent, _ = make_agent(repo, [hermes_call("run_command", command="python -c 'print(1)'"), "OK."],
                          allow=None, auto_test=False)
    events = drive(agent, "print something", commands=lambda e: ev.CommandDecision.refuse("not on my machine"))
    approval = of(events, ev.CommandApproval)[0]
    assert approval.argv == ("python", "-c", "print(1)") and approval.purpose == "command"
    assert not of(events, ev.CommandStarted)
    assert of(events, ev.CommandFinished)[0].refused
    tool = [m for m in agent.messages if m["role"] == "tool"][0]["content"]
    assert "not run" in tool and "not on my machine" in tool


def test_without_allow_commands_nothing_runs_and_the_model_is_told(tmp_path):
    repo = fixture_repo("off_by_one", tmp_path)
    marker = tmp_path / "ran"
    command = f"{sys.executable} -c \"open({str(marker)!r}, 'w')\""
    agent, _ = make_agent(repo, [hermes_call("run_command", command=command), "OK."], allow=False,
                          auto_test=False)
    events = drive(agent, "make a file")
    assert not marker.exists()
    assert not of(events, ev.CommandApproval)
    tool = [m for m in agent.messages if m["role"] == "tool"][0]["content"]
    assert "--allow-commands" in tool


def test_an_allowed_command_runs_with_its_output_and_exit_code(tmp_path):
    repo = fixture_repo("off_by_one", tmp_path)
    command = f"{sys.executable} -c \"import sys; print('hello'); sys.exit(3)\""
    agent, _ = make_agent(repo, [hermes_call("run_command", command=command), "OK."], allow=None,
                          auto_test=False)
    events = drive(agent, "run it", commands=lambda e: ev.CommandDecision.once())
    assert "hello" in "".join(e.text for e in of(events, ev.CommandOutput))
    assert of(events, ev.CommandFinished)[0].exit_code == 3
    tool = [m for m in agent.messages if m["role"] == "tool"][0]["content"]
    assert "hello" in tool and "3" in tool.splitlines()[0]


def test_run_on_the_tests_prompt_lasts_this_session_only_and_always_is_saved(tmp_path):
    repo = fixture_repo("off_by_one", tmp_path)
    store = tmp_path / "allowed.json"
    asked = []

    def answer_with(action):
        def answer(event):
            asked.append(event.argv)
            return ev.CommandDecision(action)
        return answer

    def session(action, turns=2):
        agent, _ = make_agent(repo, ["Nothing to do."] * turns, allow=None, repair=False, max_pushbacks=0,
                              permissions=CommandPermissions(store, repo))
        for _ in range(turns):
            drive(agent, "look", commands=answer_with(action))

    session("once")  # two turns, each running the tests first: asked once, remembered in memory
    assert len(asked) == 1 and not store.exists()
    session("once")  # a new session: "run" did not save anything, so it asks again
    assert len(asked) == 2 and not store.exists()
    session("always")
    assert len(asked) == 3 and json.loads(store.read_text())[str(repo.resolve())]
    session("always")  # saved: a new session does not ask
    assert len(asked) == 3


def test_a_broken_permissions_file_trusts_nothing(tmp_path):
    store = tmp_path / "allowed.json"
    store.write_text("{not json")
    perms = CommandPermissions(store, tmp_path)
    assert not perms.allowed(["make", "test"])
    perms.allow(["make", "test"])
    assert CommandPermissions(store, tmp_path).allowed(["make", "test"])


def test_an_identical_repeated_read_is_not_run_again_and_the_second_repeat_reads_the_named_file(tmp_path):
    repo = fixture_repo("off_by_one", tmp_path)
    listing = hermes_call("list_files", path=".")
    agent, model = make_agent(repo, [listing, listing, listing, lambda m, c: hermes_call(
        "read_file", path=c.tools[0]["function"]["parameters"]["properties"]["path"]["enum"][0]), "Done."],
        auto_test=False)
    events = drive(agent, TASK)
    tools = [m["content"] for m in agent.messages if m["role"] == "tool"]
    assert "Same call as step 1" in tools[1] and "windows.py" in tools[1]
    # after the second repeat, the next generation could only read the named, unread file
    constraint = model.calls[3]["constraint"]
    assert constraint.forced and [t["function"]["name"] for t in constraint.tools] == ["read_file"]
    assert constraint.tools[0]["function"]["parameters"]["properties"]["path"]["enum"] == ["windows.py"]
    assert [e.name for e in of(events, ev.ToolCallStarted)][-1] == "read_file"


@pytest.mark.real_model
def test_candidate_search_finds_a_fix_checked_by_the_tests_and_proposes_it(tmp_path, judge):
    repo = fixture_repo("off_by_one", tmp_path)
    agent, model = make_agent(repo, ["Done."], auto_approve=True, repair_first=True, judge=judge)
    events = drive(agent, TASK)
    stages = [e.stage for e in of(events, ev.RepairProgress)]
    assert stages[0] == "candidates" and stages[-1] == "found"
    assert of(events, ev.ProposalResolved)[0].outcome == "applied"
    assert of(events, ev.TestResult)[-1].ok
    check = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=repo,
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stdout
    assert subprocess.run(["git", "diff", "--quiet", "--", "test_windows.py"], cwd=repo).returncode == 0
    assert not list(repo.rglob("__pycache__")) and not (repo / ".pytest_cache").exists()


@pytest.mark.real_model
def test_a_rejected_candidate_leaves_the_repo_untouched(tmp_path, judge):
    repo = fixture_repo("off_by_one", tmp_path)
    before = {p: p.read_bytes() for p in repo.rglob("*") if p.is_file() and ".git" not in p.parts}
    agent, _ = make_agent(repo, ["Done."], repair_first=True, max_pushbacks=0, judge=judge)
    events = []
    for event in agent.run_turn(TASK):
        events.append(event)
        if isinstance(event, ev.ProposalReady):
            event.reply.set_result(ev.Review.reject_all(len(event.proposal.hunks), "no"))
    assert of(events, ev.ProposalResolved)[0].outcome == "rejected"
    after = {p: p.read_bytes() for p in repo.rglob("*") if p.is_file() and ".git" not in p.parts}
    assert after == before


def test_run_tests_now_shows_the_command_first_and_allows_only_what_was_shown(tmp_path):
    repo = fixture_repo("off_by_one", tmp_path)
    agent, _ = make_agent(repo, [], allow=None)
    target = "test_windows.py::test_window_as_long_as_the_list"
    # refused: nothing runs
    events = []
    for event in agent.run_tests_now(target):
        events.append(event)
        if isinstance(event, ev.CommandApproval):
            event.reply.set_result(ev.CommandDecision.refuse())
    asked = of(events, ev.CommandApproval)
    assert len(asked) == 1 and asked[0].purpose == "tests" and target in asked[0].display
    assert not of(events, ev.CommandStarted) and of(events, ev.CommandFinished)[0].refused
    agent2 = agent
    # run: it runs, and only the narrowed command shown is allowed for the session, not the whole suite
    events = []
    for event in agent2.run_tests_now(target):
        events.append(event)
        if isinstance(event, ev.CommandApproval):
            event.reply.set_result(ev.CommandDecision.once())
    result = of(events, ev.TestResult)[0]
    assert result.failed == 1 and result.failing == (target,)
    assert "[I ran the tests]" in agent2.messages[-1]["content"]
    assert not agent2.gate.test_consent(agent2.toolbox.context.test_command)
    # the same command again is already allowed: no prompt
    assert not of(list(agent2.run_tests_now(target)), ev.CommandApproval)


@pytest.mark.real_model
def test_headless_run_fixes_off_by_one_with_the_real_model(tmp_path, real_model_dir):
    repo = fixture_repo("off_by_one", tmp_path)
    out = subprocess.run([sys.executable, "-m", "mlxagent", "run", TASK, "--repo", str(repo), "--yes",
                          "--allow-commands", "--json", "--max-steps", "6"],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    events = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    kinds = {e["event"] for e in events}
    assert {"CommandStarted", "CommandOutput", "CommandFinished", "TestResult"} <= kinds
    assert [e["event"] for e in events[-2:]] == ["TurnFinished", "SessionSaved"]
    assert [e for e in events if e["event"] == "TestResult"][-1]["ok"]
    check = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=repo,
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stdout
    assert subprocess.run(["git", "diff", "--quiet", "--", "test_windows.py"], cwd=repo).returncode == 0
