"""The main screen with a scripted model: streaming, tool cards, review per hunk, undo,
interrupting, slash commands and the input history."""

from __future__ import annotations

import threading
import time

from fixture_repos import fixture_repo, two_hunk_repo
from scripted_model import ScriptedModel, hermes_call
from ui_support import (ScriptedFactory, factory_for, make_app, notices, press_text, send, type_text, wait_for, wait_idle,
                        wait_model, wait_review)

from mlxagent.ui.screens.review import ReviewScreen
from mlxagent.ui.widgets.tool_card import ToolCard
from mlxagent.ui.widgets.transcript import DiffBlock, ProposalCard, UserMessage

TYPO_SCRIPT = [
    "Let me look at the README first. " + hermes_call("read_file", path="README.md"),
    hermes_call("edit_file", path="README.md", search="recieve", replace="receive"),
    "Fixed the **typo**.",
]


async def test_task_streams_text_shows_tool_card_and_proposal_then_applies(tmp_path):
    repo = fixture_repo("readme_typo", tmp_path)
    app = make_app(repo, factory_for(TYPO_SCRIPT))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_model(pilot, "scripted-a")
        await send(pilot, "fix the typo")
        review = await wait_review(pilot)
        transcript = app.chat.transcript
        # while the agent waits: the streamed text, the tool card, the proposal card
        assert "Let me look at the README first." in transcript.streamed_text
        assert "<tool_call>" not in transcript.streamed_text
        cards = list(transcript.query(ToolCard))
        assert [c.tool_name for c in cards] == ["read_file", "edit_file"]
        assert "read_file README.md" in str(cards[0].title) and "lines" in str(cards[0].title)
        proposal_cards = list(transcript.query(ProposalCard))
        assert len(proposal_cards) == 1 and "waiting for your review" in str(proposal_cards[0].render())
        assert app.chat.status.query_one("#status-pending").display
        assert review.state.file.path == "README.md"
        await pilot.press("enter")  # every hunk starts accepted
        await wait_idle(pilot)
        assert "receive the same totals" in (repo / "README.md").read_text()
        assert "✓ applied" in str(proposal_cards[0].render())
        assert "Fixed the **typo**." in transcript.streamed_text
        assert app.chat.last_finish.reason == "done"
        assert not app.chat.status.query_one("#status-pending").display
        assert [str(u.render()) for u in transcript.query(UserMessage)] == ["fix the typo"]


async def test_review_accepts_one_hunk_and_rejects_the_other_with_a_reason(tmp_path):
    repo, old, new = two_hunk_repo(tmp_path)
    factory = factory_for([hermes_call("write_file", path="notes.txt", content=new), "Done."])
    app = make_app(repo, factory)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_model(pilot)
        await send(pilot, "change lines 2 and 26")
        review = await wait_review(pilot)
        assert review.state.file.n_hunks == 2
        await pilot.press("j")  # to hunk 2
        assert review.state.hunk_index == 1
        await pilot.press("r")  # reject it
        await pilot.press("k", "space", "space")  # back to hunk 1, toggled off and on again
        assert review.state.file.accepted == [True, False]
        views = list(review.query("HunkView"))
        assert views[0].has_class("-current") and views[1].accepted is False
        await pilot.press("j", "c")  # the reason is about hunk 2 (typing a reason rejects its hunk)
        await press_text(pilot, "keep line 26")
        await pilot.press("enter", "enter")  # Enter keeps the reason; the second, from the hunks, applies
        await wait_idle(pilot)
        text = (repo / "notes.txt").read_text()
        assert "line 2 changed" in text and "line 26 changed" not in text and "line 26\n" in text
        card = app.chat.transcript.query_one(ProposalCard)
        assert "partly applied" in str(card.render()) and "keep line 26" in str(card.render())
        # the model was told which hunks went in, and why the other did not
        tool_messages = [m["content"] for m in app.agent.messages if m["role"] == "tool"]
        assert "partly applied" in tool_messages[-1] and "keep line 26" in tool_messages[-1]


async def test_reject_all_leaves_the_file_and_undo_puts_an_applied_edit_back(tmp_path):
    repo, old, new = two_hunk_repo(tmp_path)
    factory = factory_for([
        hermes_call("write_file", path="notes.txt", content=new), "Rejected, fine.",
        hermes_call("write_file", path="notes.txt", content=new), "Applied.",
    ])
    app = make_app(repo, factory)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_model(pilot)
        await send(pilot, "first try")
        await wait_review(pilot)
        await pilot.press("R", "enter")
        await wait_idle(pilot)
        assert (repo / "notes.txt").read_text() == old
        await send(pilot, "second try")
        await wait_review(pilot)
        await pilot.press("A", "enter")
        await wait_idle(pilot)
        assert (repo / "notes.txt").read_text() == new
        # undo with one key from the transcript
        app.chat.transcript.focus()
        await pilot.press("u")
        await wait_for(pilot, lambda: any(n.startswith("Undid") for n in notices(app)), what="the undo")
        assert (repo / "notes.txt").read_text() == old
        await send(pilot, "/undo")
        await wait_for(pilot, lambda: "Nothing to undo." in notices(app), what="the second undo")


async def test_escape_later_keeps_the_proposal_waiting_and_ctrl_r_reopens_it(tmp_path):
    repo = fixture_repo("readme_typo", tmp_path)
    app = make_app(repo, factory_for(TYPO_SCRIPT[1:]))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_model(pilot)
        await send(pilot, "fix it")
        await wait_review(pilot)
        await pilot.press("escape")
        assert app.screen is app.chat and app.chat.busy and len(app.chat.pending) == 1
        await pilot.press("ctrl+r")
        await wait_review(pilot)
        await pilot.press("enter")
        await wait_idle(pilot)
        assert "receive" in (repo / "README.md").read_text()


async def test_escape_interrupts_generation_at_once(tmp_path):
    repo = fixture_repo("readme_typo", tmp_path)
    long_text = "word " * 2000
    app = make_app(repo, factory_for([long_text], piece=5, delay=0.01))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_model(pilot)
        await send(pilot, "talk a lot")
        await wait_for(pilot, lambda: len(app.chat.transcript.streamed_text) > 20, what="streaming")
        pressed = time.monotonic()
        await pilot.press("escape")
        await wait_idle(pilot, timeout=5)
        assert time.monotonic() - pressed < 2.0
        assert app.chat.last_finish.reason == "cancelled"
        assert len(app.chat.transcript.streamed_text) < len(long_text.strip())
        assert "⏹ Interrupted." in notices(app)
        # the next turn works
        await send(pilot, "again")
        await wait_idle(pilot)
        assert app.chat.last_finish.reason == "done"


async def test_escape_during_review_wait_drops_the_proposal_and_writes_nothing(tmp_path):
    repo = fixture_repo("readme_typo", tmp_path)
    before = (repo / "README.md").read_bytes()
    app = make_app(repo, factory_for(TYPO_SCRIPT[1:]))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_model(pilot)
        await send(pilot, "fix it")
        await wait_review(pilot)
        await pilot.press("escape")  # close the review ("later")
        await pilot.press("escape")  # interrupt the turn
        await wait_idle(pilot)
        assert app.chat.last_finish.reason == "cancelled" and not app.chat.pending
        assert "dropped" in str(app.chat.transcript.query_one(ProposalCard).render())
    assert (repo / "README.md").read_bytes() == before


async def test_auto_approve_applies_without_review(tmp_path):
    repo = fixture_repo("readme_typo", tmp_path)
    app = make_app(repo, factory_for(TYPO_SCRIPT[1:]))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_model(pilot)
        await send(pilot, "/approve on")
        assert app.agent.config.review == "apply" and app.agent.config.retry.undo_failing and app.chat.status.query_one("#status-auto").display
        await send(pilot, "fix it")
        await wait_idle(pilot)
        assert not isinstance(app.screen, ReviewScreen)
        assert "receive" in (repo / "README.md").read_text()
        assert "auto-approved" in str(app.chat.transcript.query_one(ProposalCard).render())


async def test_slash_commands_help_diff_guard_clear_and_unknown(tmp_path):
    repo = fixture_repo("readme_typo", tmp_path)
    (repo / "README.md").write_text((repo / "README.md").read_text().replace("recieve", "receive"))
    app = make_app(repo, factory_for(["Hello there."]))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_model(pilot)
        await send(pilot, "/help")
        assert app.chat.transcript.query(".help")
        await send(pilot, "/diff")
        await wait_for(pilot, lambda: bool(app.chat.transcript.query(DiffBlock)), what="the diff")
        block = app.chat.transcript.query_one(DiffBlock)
        await pilot.pause()
        assert [str(f.render()) for f in block.query(".diff-file")] == ["README.md"]
        await send(pilot, "/guard")
        assert any(n.startswith("Read-loop guard on") for n in notices(app))
        await send(pilot, "/guard off")
        assert not app.agent.config.guard.enabled
        await send(pilot, "/frobnicate")
        assert "Unknown command /frobnicate; /help lists them." in notices(app)
        await send(pilot, "hi")
        await wait_idle(pilot)
        assert len(app.agent.messages) == 3
        await send(pilot, "/clear")
        assert len(app.agent.messages) == 1 and not app.chat.transcript.query(UserMessage)


async def test_input_history_and_multiline(tmp_path):
    repo = fixture_repo("readme_typo", tmp_path)
    app = make_app(repo, factory_for(["One.", "Two.", "Three."]))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_model(pilot)
        prompt = app.chat.prompt
        for text in ("first", "second"):
            await send(pilot, text)
            await wait_idle(pilot)
        await pilot.press("up")
        assert prompt.text == "second"
        await pilot.press("up")
        assert prompt.text == "first"
        await pilot.press("down")
        assert prompt.text == "second"
        await pilot.press("down")
        assert prompt.text == ""
        await type_text(pilot, "line one")
        await pilot.press("ctrl+j")
        await type_text(pilot, "line two")
        assert prompt.text == "line one\nline two"
        await pilot.press("enter")
        await wait_idle(pilot)
        assert app.agent.messages[-2]["content"] == "line one\nline two"


async def test_message_typed_while_the_model_loads_is_sent_when_it_is_ready(tmp_path):
    repo = fixture_repo("readme_typo", tmp_path)
    gate = threading.Event()
    factory = ScriptedFactory({"slow": lambda: ScriptedModel(["Ready now."])}, load_gate=gate)
    app = make_app(repo, factory)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert app.model_state.loading == "slow"  # the screen is up before the model
        await send(pilot, "early task")
        assert app.chat.queued == "early task"
        gate.set()
        await wait_model(pilot, "slow")
        await wait_for(pilot, lambda: app.chat.last_finish is not None, what="the queued turn")
        assert "Ready now." in app.chat.transcript.streamed_text


async def test_text_and_enter_arriving_in_one_burst_send_the_whole_text(tmp_path):
    """A terminal delivers fast typing or a paste-like burst as keys queued back to back: Enter
    must see every character queued before it (a priority binding would run ahead of them)."""
    from textual import events

    repo = fixture_repo("readme_typo", tmp_path)
    app = make_app(repo, factory_for(["Hi."]))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_model(pilot)
        for ch in "hello there":
            app.post_message(events.Key("space" if ch == " " else ch, ch))
        app.post_message(events.Key("enter", "\r"))
        await wait_for(pilot, lambda: app.chat.last_finish is not None, what="the turn")
        assert [m["content"] for m in app.agent.messages if m["role"] == "user"] == ["hello there"]
        assert app.chat.prompt.text == ""
