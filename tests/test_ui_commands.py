"""Commands and tests in the TUI: the approval prompt, command cards with live output and
test results, `/test`, and undo-and-retry after an edit that left the tests failing.

Most tests drive the chat screen with real engine events (as the agent's worker posts
them); the last ones run the real agent against a tmp repository with a failing test.
"""

from __future__ import annotations

import inspect
import threading

import pytest
from fixture_repos import fixture_repo, init_repo
from scripted_model import hermes_call
from ui_support import factory_for, make_app, notices, send, wait_for, wait_idle, wait_model

from mlxagent.core import agent as agent_module
from mlxagent.core import events as ev
from mlxagent.ui.bridge import EngineEvent, PendingCommand
from mlxagent.ui.commands import help_markdown
from mlxagent.ui.screens.command_approval import CommandApprovalScreen
from mlxagent.ui.widgets.command_card import CommandCard, result_text
from mlxagent.ui.widgets.transcript import ProposalCard, UserMessage

ARGV = ("python", "-m", "pytest", "-q")


def post(app, *events: ev.Event) -> None:
    for event in events:
        app.chat.post_message(EngineEvent(event))


async def wait_card(pilot, call_id: str) -> CommandCard:
    transcript = pilot.app.chat.transcript
    await wait_for(pilot, lambda: transcript.command_card(call_id) is not None, what=f"the card of {call_id}")
    return transcript.command_card(call_id)


def finished(call_id: str, exit_code: int = 0, seconds: float = 1.2, **kw) -> ev.CommandFinished:
    return ev.CommandFinished(call_id, ARGV, exit_code, seconds, **kw)


# -- the approval prompt ---------------------------------------------------------------------

APPROVAL_KEYS = [
    (("y",), ev.CommandDecision.once()),
    (("a",), ev.CommandDecision.once()),
    (("enter",), ev.CommandDecision.once()),
    (("A",), ev.CommandDecision.always()),
    (("r",), ev.CommandDecision.refuse()),
    (("n",), ev.CommandDecision.refuse()),
    (("c", *"not yet", "enter"), ev.CommandDecision.refuse("not yet")),
    (("escape",), ev.CommandDecision.refuse()),
    (("c", *"ab", "escape", "escape"), ev.CommandDecision.refuse()),  # esc leaves the field, then refuses
]


async def test_approval_prompt_answers_with_the_key_pressed(tmp_path):
    repo = fixture_repo("readme_typo", tmp_path)
    app = make_app(repo, factory_for([]))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_model(pilot)
        for i, (keys, expected) in enumerate(APPROVAL_KEYS):
            approval = ev.CommandApproval(f"call-{i}", ("make", "check"), str(repo), "command")
            post(app, approval)
            await wait_for(pilot, lambda: isinstance(app.screen, CommandApprovalScreen), what="the prompt")
            await pilot.pause()
            screen = app.screen
            text = " ".join(str(s.render()) for s in screen.query("Static"))
            assert "$ make check" in text and str(repo) in text and "A always" in text
            # a command the model asked for: "run" is this time only, "always" is saved, as the keys say
            assert "the model asked" in text and "run once (this time only)" in text and "(saved)" in text
            assert "waiting for your approval" in app.chat.transcript.command_card(f"call-{i}").state_line
            assert "waiting for your approval" in app.chat.status.working_text
            for key in keys:
                await pilot.press("space" if key == " " else key)
            await wait_for(pilot, approval.reply.done, what=f"an answer to {keys}")
            assert approval.reply.result() == expected, keys
            await wait_for(pilot, lambda: app.screen is app.chat, what="the prompt to close")
            card = app.chat.transcript.command_card(f"call-{i}")
            if expected.allowed:
                assert ("always allowed" if expected.action == "always" else "approved") in card.state_line
            else:
                assert "refused" in card.state_line and (expected.reason or "not now") in card.state_line
        assert not app.chat.status.query_one("#status-working").display


async def test_an_answer_after_the_turn_stopped_waiting_is_not_an_error(tmp_path):
    repo = fixture_repo("readme_typo", tmp_path)
    app = make_app(repo, factory_for([]))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_model(pilot)
        approval = ev.CommandApproval("late", ARGV, str(repo), "tests")
        post(app, approval)
        await wait_for(pilot, lambda: isinstance(app.screen, CommandApprovalScreen), what="the prompt")
        assert "Run the tests?" in str(app.screen.query_one("#approval-title").render())
        approval.reply.cancel()  # the agent gave up (Esc)
        await pilot.press("y")  # no InvalidStateError: a warning instead
        await wait_for(pilot, lambda: app.screen is app.chat, what="the prompt to close")
        pending = PendingCommand.from_event(approval)
        assert pending.done and not pending.resolve(ev.CommandDecision.once())
        # a turn that ends while its prompt is open takes the prompt away
        second = ev.CommandApproval("dropped", ARGV, str(repo), "tests")
        post(app, second)
        await wait_for(pilot, lambda: isinstance(app.screen, CommandApprovalScreen), what="the second prompt")
        second.reply.cancel()
        post(app, ev.TurnFinished("cancelled"))
        await wait_for(pilot, lambda: app.screen is app.chat, what="the prompt to go")
        assert "not run" in app.chat.transcript.command_card("dropped").state_line


# -- the card ---------------------------------------------------------------------------------

async def test_card_shows_live_output_then_folds_it_and_shows_the_test_result(tmp_path):
    repo = fixture_repo("readme_typo", tmp_path)
    app = make_app(repo, factory_for([]))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_model(pilot)
        post(app, ev.CommandStarted("t1", ARGV, str(repo), "tests"))
        card = await wait_card(pilot, "t1")
        post(app, *[ev.CommandOutput("t1", f"line {i}\n") for i in range(1, 15)],
             ev.CommandOutput("t1", "FAILED test_calc.py::test_add - assert 1 == 2\n"))
        await wait_for(pilot, lambda: "FAILED" in card.live_text, what="the output")
        assert "$ python -m pytest -q" in str(card.query_one(".command-line").render())
        assert "running" in card.state_line and card.has_class("-running")
        shown = card.live_text.splitlines()
        assert len(shown) == 12 and shown[0] == "line 4"  # the last lines only
        assert "running tests…" in app.chat.status.working_text
        post(app, finished("t1", 1, 0.4),
             ev.TestResult("t1", False, passed=2, failed=1, failing=("test_calc.py::test_add",),
                           locations=("calc.py:3",)))
        await wait_for(pilot, lambda: card.result is not None, what="the result")
        assert "✗ exit 1 in 0.4 s" in card.state_line
        assert card.result_line == "✗ 1 failed, 2 passed · test_calc.py::test_add at calc.py:3"
        assert card.has_class("-failed") and not card.retry_line  # not after an edit: nothing to retry
        fold = card.query_one(".command-fold")
        assert fold.collapsed and card.output_title.startswith("15 lines of output · last: FAILED")
        assert "line 1\n" in card.live_text  # the whole output, for when it is expanded
        assert not app.chat.status.query_one("#status-working").display
        fold.query_one("CollapsibleTitle").focus()
        await pilot.press("enter")
        assert not fold.collapsed

        # a passing run, a timeout, a refusal the engine reports, a cancelled one
        post(app, ev.CommandStarted("t2", ARGV, str(repo), "tests"), finished("t2", 0, 1.25),
             ev.TestResult("t2", True, passed=3))
        card2 = await wait_card(pilot, "t2")
        await wait_for(pilot, lambda: card2.result is not None, what="the second result")
        assert "exit 0 in 1.2 s" in card2.state_line and card2.result_line == "✓ 3 passed"
        assert not card2.query_one(".command-fold").display  # no output: no fold
        post(app, ev.CommandStarted("t3", ("sleep", "99"), str(repo), "command"),
             ev.CommandFinished("t3", ("sleep", "99"), None, 120.0, timed_out=True),
             ev.CommandFinished("t4", ("rm", "-rf", "build"), None, 0.0, refused=True,
                                message="refused by the user: not that"),
             ev.CommandStarted("t5", ("sleep", "5"), str(repo), "command"),
             ev.CommandFinished("t5", ("sleep", "5"), None, 0.3, cancelled=True))
        card5 = await wait_card(pilot, "t5")
        await wait_for(pilot, lambda: card5.finished is not None, what="the last finish")
        transcript = app.chat.transcript
        assert "timed out after 120 s" in transcript.command_card("t3").state_line
        assert "refused by the user: not that" in transcript.command_card("t4").state_line
        assert "cancelled after 0.3 s" in card5.state_line


def test_result_lines():
    assert result_text(ev.TestResult("x", True, passed=3, skipped=1)) == "✓ 3 passed, 1 skipped"
    assert result_text(ev.TestResult("x", False, failed=1, errors=2, passed=2)) == "✗ 1 failed, 2 errors, 2 passed"
    assert result_text(ev.TestResult("x", False, summary="\nImportError: no module calc\n")) == \
        "✗ ImportError: no module calc"


async def test_candidate_checks_show_on_one_repair_line(tmp_path):
    repo = fixture_repo("readme_typo", tmp_path)
    app = make_app(repo, factory_for([]))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_model(pilot)
        post(app, ev.RepairProgress("candidates", candidates=4),
             ev.CommandStarted("c1", ARGV, "/tmp/scratch", "check"), ev.CommandOutput("c1", "noise\n"),
             ev.CommandFinished("c1", ARGV, 1, 0.2), ev.TestResult("c1", False, failed=1),
             ev.RepairProgress("found", candidates=4, checked=2, message="calc.py:3 `-` → `+`"))
        transcript = app.chat.transcript
        def repair_lines() -> list[str]:
            return [str(line.render()) for line in transcript.query(".repair-line")]

        await wait_for(pilot, lambda: any("passes" in line for line in repair_lines()), what="the repair line")
        assert repair_lines() == ["✓ a candidate fix passes the tests · 2 of 4 checked — calc.py:3 `-` → `+`"]
        assert not transcript.query(CommandCard)  # candidate checks get no cards


# -- /test ------------------------------------------------------------------------------------

class FakeTestRun:
    """Stands in for Agent.run_tests_now: one run that waits for the test to let it finish."""

    def __init__(self, repo) -> None:
        self.repo = repo
        self.gate = threading.Event()
        self.calls: list[str] = []
        self.cancelled = False

    def __call__(self, args, cancel):
        self.calls.append(args)
        yield ev.CommandStarted("now-1", ARGV, str(self.repo), "tests")
        yield ev.CommandOutput("now-1", "F.\n")
        while not self.gate.wait(0.02):
            if cancel.is_set():
                self.cancelled = True
                yield ev.CommandFinished("now-1", ARGV, None, 0.1, cancelled=True)
                return
        yield ev.CommandFinished("now-1", ARGV, 1, 0.5)
        yield ev.TestResult("now-1", False, passed=1, failed=1, failing=("test_m.py::test_a",))


async def test_slash_test_runs_the_tests_without_the_model(tmp_path):
    repo = fixture_repo("readme_typo", tmp_path)
    app = make_app(repo, factory_for([]))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_model(pilot)
        assert "/test" in help_markdown()
        assert any(c.title == "Run tests" for c in app.palette_commands())
        fake = FakeTestRun(repo)
        app.agent.run_tests_now = fake
        await send(pilot, "/test -k calc")
        card = await wait_card(pilot, "now-1")
        assert fake.calls == ["-k calc"] and app.chat.busy
        await wait_for(pilot, lambda: "running tests…" in app.chat.status.working_text, what="the status")
        await send(pilot, "/test")  # refused while one runs
        await pilot.pause()
        assert fake.calls == ["-k calc"]
        fake.gate.set()
        await wait_idle(pilot)
        assert card.result_line.startswith("✗ 1 failed, 1 passed · test_m.py::test_a")
        assert "exit 1" in card.state_line
        # Esc stops a run
        fake2 = FakeTestRun(repo)
        app.agent.run_tests_now = fake2
        await send(pilot, "/test")
        await wait_for(pilot, lambda: len(fake2.calls) == 1, what="the second run")
        await pilot.press("escape")
        await wait_idle(pilot)
        assert fake2.cancelled and "⏹ Interrupted." in notices(app)
        assert app.agent.model.calls == []  # the model was never asked


# -- undo and retry ---------------------------------------------------------------------------

def retry_key_shown(app) -> bool:
    """ctrl+z is bound to undo-and-retry (else it is the input's own undo), and enabled."""
    active = app.screen.active_bindings.get("ctrl+z")
    return active is not None and active.binding.action == "undo_retry" and active.enabled


TYPO_EDIT = [hermes_call("edit_file", path="README.md", search="recieve", replace="receive"), "Fixed."]


async def test_a_failing_auto_test_offers_ctrl_z_to_undo_and_retry(tmp_path):
    repo = fixture_repo("readme_typo", tmp_path)
    before = (repo / "README.md").read_text()
    app = make_app(repo, factory_for(TYPO_EDIT), auto_approve=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_model(pilot)
        app.agent.retry_prompt = lambda: "The tests still fail: test_a. Try again."
        await send(pilot, "fix the typo")
        await wait_idle(pilot)
        assert (repo / "README.md").read_text() != before
        proposal_id = app.chat.transcript.query_one(ProposalCard).proposal.id
        assert not app.chat.check_action("undo_retry", ())
        assert not retry_key_shown(app)
        post(app, ev.CommandStarted("auto-1", ARGV, str(repo), "tests"), finished("auto-1", 1, 0.3),
             ev.TestResult("auto-1", False, passed=1, failed=1, after_edit=proposal_id))
        card = await wait_card(pilot, "auto-1")
        await wait_for(pilot, lambda: card.retry_offered, what="the offer")
        assert "the edit left tests failing" in card.retry_line and "ctrl+z" in card.retry_line
        assert app.chat.check_action("undo_retry", ())
        assert retry_key_shown(app)
        app.chat.prompt.focus()  # ctrl+z is not the input's own undo while the offer stands
        await pilot.press("ctrl+z")
        await wait_for(pilot, lambda: any(n.startswith("Undid") for n in notices(app)), what="the undo")
        await wait_for(pilot, lambda: len(list(app.chat.transcript.query(UserMessage))) == 2, what="the retry")
        assert (repo / "README.md").read_text() == before
        assert str(list(app.chat.transcript.query(UserMessage))[-1].render()) == \
            "The tests still fail: test_a. Try again."
        assert not card.retry_offered and "ctrl+z" not in card.retry_line
        assert not retry_key_shown(app)
        await wait_idle(pilot)
        # without a retry prompt from the agent, the fallback text; a passing run withdraws the offer
        del app.agent.retry_prompt
        assert app.chat.retry_text() == "That edit did not make the tests pass. Try a different fix."
        post(app, ev.TestResult("auto-1", False, failed=1, after_edit=proposal_id))
        await wait_for(pilot, lambda: app.chat.retry_offer is card, what="the offer again")
        post(app, ev.CommandStarted("m-1", ARGV, str(repo), "tests"), finished("m-1"),
             ev.TestResult("m-1", True, passed=2))
        await wait_for(pilot, lambda: app.chat.retry_offer is None, what="the offer to go")
        assert "ctrl+z" not in card.retry_line
        # ctrl+z while something runs: it is stopped first, then the undo (here: nothing left to undo)
        post(app, ev.TestResult("auto-1", False, failed=1, after_edit=proposal_id))
        await wait_for(pilot, lambda: app.chat.retry_offer is card, what="the offer once more")
        fake = FakeTestRun(repo)
        app.agent.run_tests_now = fake
        await send(pilot, "/test")
        await wait_for(pilot, lambda: fake.calls and app.chat.busy, what="the run")
        await pilot.press("ctrl+z")
        await wait_for(pilot, lambda: "Nothing was undone, so the model is not asked again." in notices(app),
                       what="the queued undo")
        assert fake.cancelled and not app.chat.busy and len(list(app.chat.transcript.query(UserMessage))) == 2


# -- the real agent ---------------------------------------------------------------------------

HAS_RUN_TESTS_NOW = hasattr(agent_module.Agent, "run_tests_now")
AGENT_ASKS = "run_tests" in str(getattr(agent_module, "COMMAND_TOOLS", "")) or \
    "CommandGate" in inspect.getsource(agent_module)


def failing_repo(tmp_path):
    repo = tmp_path / "calc"
    repo.mkdir()
    (repo / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    (repo / "test_calc.py").write_text(
        "from calc import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n\n\n"
        "def test_zero():\n    assert add(0, 0) == 0\n")
    init_repo(repo)
    return repo


@pytest.mark.skipif(not HAS_RUN_TESTS_NOW, reason="Agent.run_tests_now has not landed yet")
async def test_slash_test_in_a_real_repo_shows_the_failure(tmp_path):
    repo = failing_repo(tmp_path)
    app = make_app(repo, factory_for([]))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_model(pilot)
        await send(pilot, "/test")
        # /test consents to what the user sees: the command is shown on the prompt first
        await wait_for(pilot, lambda: isinstance(app.screen, CommandApprovalScreen), timeout=20, what="the prompt")
        text = " ".join(str(s.render()) for s in app.screen.query("Static"))
        assert "pytest" in text and "detected" in text and "run (this session)" in text
        await pilot.press("y")
        await wait_for(pilot, lambda: app.chat.transcript.command_cards, what="a card")
        await wait_idle(pilot, timeout=45)
        card = app.chat.transcript.command_cards[0]
        await wait_for(pilot, lambda: card.result is not None, what="the result")
        assert card.result.failed == 1 and card.result_line.startswith("✗ 1 failed, 1 passed")
        assert "test_add" in card.result_line


@pytest.mark.skipif(not AGENT_ASKS, reason="the agent does not ask before running commands yet")
async def test_the_model_runs_the_tests_after_the_user_says_yes(tmp_path):
    repo = failing_repo(tmp_path)
    app = make_app(repo, factory_for([hermes_call("run_tests"), "One test fails."]))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_model(pilot)
        await send(pilot, "run the tests")
        await wait_for(pilot, lambda: isinstance(app.screen, CommandApprovalScreen), timeout=20, what="the prompt")
        await pilot.press("y")
        await wait_idle(pilot, timeout=45)
        cards = app.chat.transcript.command_cards  # the tests before the turn, then the model's run_tests
        assert cards and all(c.result is not None and c.result.failed == 1 for c in cards)
        assert all("exit 1" in c.state_line for c in cards)
        assert app.chat.last_finish.reason == "done"

