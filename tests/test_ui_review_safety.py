"""A reason is a rejection, the apply key says what it will do, the status bar's speeds are
honest, and the prompt has the shell's editing keys.

The review tests drive the real app with a scripted model in a tmp git repository, through
the review screen to the agent's `ProposalResolved`, and compare the file's bytes on disk."""

from __future__ import annotations

from types import SimpleNamespace

from fixture_repos import fixture_repo, two_hunk_repo
from scripted_model import hermes_call
from ui_support import factory_for, make_app, press_text, send, type_text, wait_idle, wait_model, wait_review

from mlxagent.core import events as ev
from mlxagent.model.kv_cache import decode_rate, prefill_rate
from mlxagent.ui.review_state import ReviewState
from mlxagent.ui.screens.review import ReviewScreen

TYPO_EDIT = [hermes_call("edit_file", path="README.md", search="recieve", replace="receive"), "Understood."]
REASON = "wrong file: the bug is in windows.py range()"


def record_events(app) -> list:
    """Every engine event the chat screen handles, in order."""
    seen = []
    chat = app.chat
    handle = chat.handle_event

    async def recording(event):
        seen.append(event)
        await handle(event)

    chat.handle_event = recording
    return seen


def resolved(seen) -> list[ev.ProposalResolved]:
    return [e for e in seen if isinstance(e, ev.ProposalResolved)]


def summary(review: ReviewScreen) -> str:
    return str(review.query_one("#review-summary").render())


# -- a reason is a rejection ---------------------------------------------------------------------


async def test_reason_then_enter_rejects_and_the_apply_key_writes_nothing(tmp_path):
    repo = fixture_repo("readme_typo", tmp_path)
    before = (repo / "README.md").read_bytes()
    app = make_app(repo, factory_for(TYPO_EDIT))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_model(pilot)
        seen = record_events(app)
        await send(pilot, "fix the typo")
        review = await wait_review(pilot)
        assert summary(review) == "Enter: apply 1 of 1 hunks"
        await pilot.press("c")
        await press_text(pilot, REASON)
        assert review.state.file.accepted == [False]  # typing the reason rejected the hunk
        assert summary(review).startswith("Enter: keep the reason, back to the hunks")
        await pilot.press("enter")  # keeps the reason, hands the keys back; no apply
        await pilot.pause()
        assert app.screen is review and review.focused is None
        assert review.state.file.reason == REASON and review.state.file.accepted == [False]
        assert summary(review) == "Enter: apply 0 of 1 hunks, reject 1, with reason · nothing is written"
        assert (repo / "README.md").read_bytes() == before
        await pilot.press("enter")  # the apply key, from the hunks
        await wait_idle(pilot)
        assert not isinstance(app.screen, ReviewScreen)
        out = resolved(seen)
        assert len(out) == 1 and out[0].outcome == "rejected" and out[0].reason == REASON
        assert out[0].applied_hunks == ()
        tool_messages = [m["content"] for m in app.agent.messages if m["role"] == "tool"]
        assert REASON in tool_messages[-1]
    assert (repo / "README.md").read_bytes() == before


async def test_esc_in_the_reason_field_keeps_it_and_clearing_it_gives_the_hunk_back(tmp_path):
    repo = fixture_repo("readme_typo", tmp_path)
    app = make_app(repo, factory_for(TYPO_EDIT))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_model(pilot)
        await send(pilot, "fix the typo")
        review = await wait_review(pilot)
        await pilot.press("c")
        await press_text(pilot, "no")
        assert review.state.file.accepted == [False]
        await pilot.press("backspace", "backspace")  # the reason gone: the hunk as it was
        await pilot.pause()
        assert review.state.file.accepted == [True]
        await press_text(pilot, "not this")
        await pilot.press("escape")  # out of the field, reason kept, screen still open
        await pilot.pause()
        assert app.screen is review and review.focused is None
        assert review.state.file.accepted == [False] and review.state.file.reason == "not this"
        # an explicit accept afterwards wins, and the footer says the reason will not be sent
        await pilot.press("a")
        assert review.state.file.accepted == [True]
        assert summary(review) == "Enter: apply 1 of 1 hunks (a reason on an accepted file is not sent)"
        await pilot.press("enter")
        await wait_idle(pilot)
        assert "receive the same totals" in (repo / "README.md").read_text()


async def test_footer_says_what_the_apply_key_does(tmp_path):
    repo, old, new = two_hunk_repo(tmp_path)
    app = make_app(repo, factory_for([hermes_call("write_file", path="notes.txt", content=new), "Ok."]))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_model(pilot)
        await send(pilot, "change lines 2 and 26")
        review = await wait_review(pilot)
        assert summary(review) == "Enter: apply 2 of 2 hunks"
        await pilot.press("r")
        assert summary(review) == "Enter: apply 1 of 2 hunks, reject 1, no reason"
        await pilot.press("R")
        assert summary(review) == "Enter: apply 0 of 2 hunks, reject 2, no reason · nothing is written"
        assert review.query_one("#review-summary").has_class("-nothing")
        await pilot.press("A")
        assert summary(review) == "Enter: apply 2 of 2 hunks"
        assert review.active_bindings["enter"].binding.description == "Apply"
        await pilot.press("R", "enter")  # rejecting everything is a valid submit
        await wait_idle(pilot)
        assert (repo / "notes.txt").read_text() == old


async def test_reason_after_A_rejects_the_whole_file(tmp_path):
    repo, old, new = two_hunk_repo(tmp_path)
    app = make_app(repo, factory_for([hermes_call("write_file", path="notes.txt", content=new), "Ok."]))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_model(pilot)
        seen = record_events(app)
        await send(pilot, "change lines 2 and 26")
        review = await wait_review(pilot)
        await pilot.press("A", "c")
        assert "rejects all of notes.txt" in str(review.query_one("#review-reason-label").render())
        await press_text(pilot, "not this file")
        await pilot.press("enter")
        await pilot.pause()
        assert review.state.file.accepted == [False, False]
        assert summary(review) == "Enter: apply 0 of 2 hunks, reject 2, with reason · nothing is written"
        await pilot.press("enter")
        await wait_idle(pilot)
        out = resolved(seen)
        assert [(r.outcome, r.reason) for r in out] == [("rejected", "not this file")]
    assert (repo / "notes.txt").read_text() == old


async def test_reason_after_R_keeps_the_file_rejected(tmp_path):
    repo, old, new = two_hunk_repo(tmp_path)
    app = make_app(repo, factory_for([hermes_call("write_file", path="notes.txt", content=new), "Ok."]))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_model(pilot)
        seen = record_events(app)
        await send(pilot, "change lines 2 and 26")
        review = await wait_review(pilot)
        await pilot.press("R", "c")
        await press_text(pilot, "wrong approach")
        await pilot.press("enter", "enter")
        await wait_idle(pilot)
        assert [(r.outcome, r.reason) for r in resolved(seen)] == [("rejected", "wrong approach")]
    assert (repo / "notes.txt").read_text() == old


async def test_reason_after_r_is_about_the_hunk_just_rejected(tmp_path):
    repo, old, new = two_hunk_repo(tmp_path)
    app = make_app(repo, factory_for([hermes_call("write_file", path="notes.txt", content=new), "Ok."]))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_model(pilot)
        seen = record_events(app)
        await send(pilot, "change lines 2 and 26")
        review = await wait_review(pilot)
        await pilot.press("r")  # hunk 1 rejected, the cursor moves on to hunk 2
        assert review.state.hunk_index == 1
        await pilot.press("c")
        assert "rejects hunk 1/2 of notes.txt" in str(review.query_one("#review-reason-label").render())
        await press_text(pilot, "keep line 2")
        await pilot.press("enter")
        await pilot.pause()
        assert review.state.file.accepted == [False, True]
        assert summary(review) == "Enter: apply 1 of 2 hunks, reject 1, with reason"
        await pilot.press("enter")
        await wait_idle(pilot)
        out = resolved(seen)
        assert [(r.outcome, r.reason) for r in out] == [("partly applied", "keep line 2")]
    text = (repo / "notes.txt").read_text()
    assert "line 2\n" in text and "line 26 changed" in text


async def test_reason_on_the_current_hunk_after_moving(tmp_path):
    repo, old, new = two_hunk_repo(tmp_path)
    app = make_app(repo, factory_for([hermes_call("write_file", path="notes.txt", content=new), "Ok."]))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_model(pilot)
        await send(pilot, "change lines 2 and 26")
        review = await wait_review(pilot)
        await pilot.press("j", "c")
        await press_text(pilot, "keep line 26")
        await pilot.press("enter", "enter")
        await wait_idle(pilot)
    text = (repo / "notes.txt").read_text()
    assert "line 2 changed" in text and "line 26\n" in text


def fake_proposal(path: str, n: int):
    return SimpleNamespace(path=path, hunks=[object()] * n, summary=path, note="")


def test_summary_over_several_files():
    state = ReviewState([fake_proposal("a.py", 2), fake_proposal("b.py", 1)])
    assert state.summary() == "apply 3 of 3 hunks in 2 files"
    state.next_file()
    state.begin_reason()
    state.set_reason("wrong file")
    state.end_reason()
    assert state.summary() == "apply 2 of 3 hunks in 2 files, reject 1, with reason"
    state.next_file()
    state.reject()
    assert state.summary() == "apply 1 of 3 hunks in 2 files, reject 2, with a reason for 1 of 2 files"
    reviews = state.reviews()
    assert reviews[0].accepted == (False, True) and reviews[0].reason == ""
    assert reviews[1].accepted == (False,) and reviews[1].reason == "wrong file"


# -- the prompt's editing keys ---------------------------------------------------------------------


async def test_prompt_has_the_shell_editing_keys(tmp_path):
    repo = fixture_repo("readme_typo", tmp_path)
    app = make_app(repo, factory_for([]))
    async with app.run_test(size=(60, 30)) as pilot:
        await wait_model(pilot)
        prompt = app.chat.prompt
        long_line = "word " * 30  # wraps over several rows at this width
        await type_text(pilot, long_line)
        await pilot.press("ctrl+u")
        assert prompt.text == ""  # the whole line, not its last wrapped row

        await type_text(pilot, "first line")
        await pilot.press("ctrl+j")
        await press_text(pilot, "second line")
        await pilot.press("ctrl+u")
        assert prompt.text == "first line\n"  # only the cursor's line
        await pilot.press("ctrl+u")  # at the line's start: joins with the line above
        assert prompt.text == "first line"

        prompt.clear()
        await type_text(pilot, long_line.strip())
        await pilot.press("ctrl+a")
        assert prompt.cursor_location == (0, 0)  # the logical line's start, not the wrapped row's
        await pilot.press("ctrl+e")
        assert prompt.cursor_location == (0, len(long_line.strip()))

        prompt.clear()
        await type_text(pilot, "git commit --amend now")
        await pilot.press("ctrl+w")
        assert prompt.text == "git commit --amend "
        await pilot.press("alt+b")
        assert prompt.cursor_location == (0, len("git commit --"))
        await pilot.press("alt+b", "alt+b")
        assert prompt.cursor_location == (0, len("git "))
        await pilot.press("alt+f")
        assert prompt.cursor_location == (0, len("git commit"))
        await pilot.press("ctrl+k")
        assert prompt.text == "git commit"
        await pilot.press("ctrl+a", "alt+d")
        assert prompt.text == " commit"
        await pilot.press("ctrl+e")
        await press_text(pilot, " -m")
        assert prompt.text == " commit -m"
        await pilot.press("ctrl+a", "ctrl+k")
        assert prompt.text == ""
        # Enter still sends what is left
        await type_text(pilot, "hello")
        await pilot.press("enter")
        await wait_idle(pilot)
        assert prompt.text == ""


# -- honest speeds ----------------------------------------------------------------------------------


def test_decode_and_prefill_rates_need_something_to_measure():
    assert decode_rate(0, None, None) == 0.0
    assert decode_rate(1, 10.0, 10.0) == 0.0  # one token: no interval at all
    assert decode_rate(2, 10.0, 10.00001) == 0.0  # a near-zero interval
    assert decode_rate(11, 10.0, 11.0) == 10.0  # 10 intervals in a second
    assert prefill_rate(1, 0.0001) == 0.0  # a prompt the cache held
    assert prefill_rate(8, 1.0) == 0.0
    assert prefill_rate(400, 0.5) == 800.0
    assert prefill_rate(400, None) == 0.0  # no token came: prefill not measured


def test_session_reports_no_speed_it_did_not_measure(tiny_model_dir):
    from mlxagent.model.runtime import load_model_dir
    from mlxagent.model.kv_cache import ChatSession

    def last(chunks):
        *_, final = chunks
        return final.stats

    session = ChatSession(load_model_dir(tiny_model_dir))
    prompt = list(range(100, 164))
    first = last(session.generate(prompt, max_tokens=12))
    assert first.prefilled_tokens == 64 and first.prefill_tps > 0
    if first.generated_tokens >= 2:
        assert 0 < first.decode_tps < 1e6
    cached = last(session.generate(prompt, max_tokens=1))  # the prompt is in the cache
    assert cached.prefilled_tokens == 1 and cached.prefill_tps == 0.0
    assert cached.generated_tokens <= 1 and cached.decode_tps == 0.0


async def test_status_bar_shows_only_measured_speeds(tmp_path):
    repo = fixture_repo("readme_typo", tmp_path)
    app = make_app(repo, factory_for([]))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_model(pilot)
        status = app.chat.status
        chat = app.chat

        await chat.handle_event(ev.GenerationStats(prompt_tokens=900, prefilled_tokens=900, generated_tokens=40,
                                                   prefill_tps=812.4, decode_tps=23.44))
        await pilot.pause()
        assert status.speed_text == "23.4 tok/s" and status.prefill_text == "prefill 812 tok/s"

        # After Esc: the prompt was cached and one token came out; nothing worth a figure.
        await chat.handle_event(ev.GenerationStats(prompt_tokens=900, prefilled_tokens=1, reused_tokens=899,
                                                   generated_tokens=1, prefill_tps=3978.0, decode_tps=3978.0))
        await pilot.pause()
        assert status.speed_text == "" and status.prefill_text == ""
        assert "tok/s" not in str(status.render())

        await chat.handle_event(ev.GenerationStats(prompt_tokens=900, generated_tokens=0))
        await pilot.pause()
        assert status.speed_text == "" and status.prefill_text == ""

        # a live estimate while text streams is replaced by the final figure, or by nothing
        for _ in range(5):
            status.text_arrived()
        await chat.handle_event(ev.GenerationStats(prompt_tokens=920, prefilled_tokens=20, generated_tokens=1,
                                                   decode_tps=0.0, prefill_tps=400.0))
        await pilot.pause()
        assert status.speed_text == "" and status.prefill_text == "prefill 400 tok/s"
        assert "ctx 921" in str(status.query_one("#status-context").render())
