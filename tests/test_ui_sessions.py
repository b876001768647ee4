"""Sessions in the TUI: saved as they go, resumed (--continue, --resume, /sessions) with the same
transcript, continued by the agent; /new; /compact; AGENTS.md in the status bar and /init."""

from __future__ import annotations

from fixture_repos import fixture_repo
from scripted_model import ScriptedModel, hermes_call
from ui_support import FIXED_MEMORY, ScriptedFactory, make_app, notices, send, wait_for, wait_idle, wait_model

from mlxagent.config import Settings
from mlxagent.core.saved_sessions import SessionStore
from mlxagent.ui.app import MlxAgentApp
from mlxagent.ui.screens.review import ReviewScreen
from mlxagent.ui.screens.sessions import ConfirmScreen, SessionPicker
from mlxagent.ui.widgets.tool_card import ToolCard
from mlxagent.ui.widgets.transcript import ProposalCard, UserMessage

TYPO_SCRIPT = [
    "Let me look at the README first. " + hermes_call("read_file", path="README.md"),
    hermes_call("edit_file", path="README.md", search="recieve", replace="receive"),
    "Fixed the typo.",
]


class Recording(ScriptedModel):
    """Every conversation any instance was asked about, across app runs."""

    seen: list = []

    def stream(self, messages, tools, **kw):
        Recording.seen.append([dict(m) for m in messages])
        yield from super().stream(messages, tools, **kw)


def factory(script) -> ScriptedFactory:
    return ScriptedFactory({"scripted-a": lambda: Recording(list(script))})


def app_for(repo, script, resume=None, **settings) -> MlxAgentApp:
    defaults = dict(default_model="scripted-a", max_steps=6, auto_approve=True)
    return MlxAgentApp(repo, model_factory=factory(script), settings=Settings(**{**defaults, **settings}),
                       total_memory=FIXED_MEMORY, cursor_blink=False, resume=resume)


def users(app) -> list[str]:
    return [str(u.render()) for u in app.chat.transcript.query(UserMessage)]


def picture(app) -> dict:
    """What a transcript shows, in a comparable form."""
    transcript = app.chat.transcript
    return {"users": users(app),
            "tools": [c.tool_name for c in transcript.query(ToolCard)],
            "proposals": [str(c.render()).split(" · ")[-1] for c in transcript.query(ProposalCard)],
            "text": transcript.streamed_text}


async def test_a_resumed_session_shows_the_same_transcript_and_the_agent_continues_it(tmp_path):
    repo = fixture_repo("readme_typo", tmp_path)
    first = app_for(repo, TYPO_SCRIPT)
    async with first.run_test(size=(120, 40)) as pilot:
        await wait_model(pilot)
        await send(pilot, "fix the typo")
        await wait_idle(pilot)
        before = picture(first)
        session_id = first.recorder.session_id
    assert "receive the same totals" in (repo / "README.md").read_text()
    assert before["users"] == ["fix the typo"] and before["tools"] == ["read_file", "edit_file"]
    assert "applied" in before["proposals"][0]

    Recording.seen.clear()
    second = app_for(repo, ["You asked me to fix a typo in README.md; it is fixed."], resume="last")
    async with second.run_test(size=(120, 40)) as pilot:
        await wait_model(pilot)
        await wait_for(pilot, lambda: any("Resumed session" in n for n in notices(second)), what="the redraw")
        after = picture(second)
        assert after["users"] == before["users"] and after["tools"] == before["tools"]
        assert after["proposals"] == before["proposals"]
        assert "Let me look at the README first." in after["text"] and "Fixed the typo." in after["text"]
        assert second.recorder.session_id == session_id
        await send(pilot, "what did you change?")
        await wait_idle(pilot)
        seen = Recording.seen[-1]
        assert seen[1]["content"].startswith("fix the typo")  # the old conversation, then the new request
        assert any(m["role"] == "tool" and m["name"] == "edit_file" for m in seen)
        assert seen[-1]["content"].startswith("what did you change?")
        assert users(second) == ["fix the typo", "what did you change?"]
    [info] = SessionStore().sessions(str(repo))
    assert info.id == session_id and info.turns == 2 and info.edits_applied == 1


async def test_sessions_picker_and_new(tmp_path):
    repo = fixture_repo("readme_typo", tmp_path)
    app = app_for(repo, ["First answer.", "Second answer.", "Third answer."])
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_model(pilot)
        await send(pilot, "the first request")
        await wait_idle(pilot)
        first_id = app.recorder.session_id
        await send(pilot, "/new")
        await wait_for(pilot, lambda: any("New session" in n for n in notices(app)), what="/new")
        assert users(app) == [] and len(app.agent.messages) == 1
        await send(pilot, "the second request")
        await wait_idle(pilot)
        assert app.recorder.session_id != first_id
        assert [s.title for s in SessionStore().sessions(str(repo))] == ["the second request", "the first request"]

        await send(pilot, "/sessions")
        await wait_for(pilot, lambda: isinstance(app.screen, SessionPicker), what="the session picker")
        await pilot.press("down", "enter")  # the older one
        await wait_for(pilot, lambda: users(app) == ["the first request"], what="the first session redrawn")
        assert app.recorder.session_id == first_id
        assert [m["content"] for m in app.agent.messages if m["role"] == "user"] == ["the first request"]
        await send(pilot, "/sessions nope")
        await pilot.pause()
        assert app.recorder.session_id == first_id  # a bad id changes nothing


async def test_resume_without_an_id_opens_the_picker_at_start(tmp_path):
    repo = fixture_repo("readme_typo", tmp_path)
    app = app_for(repo, ["An answer."])
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_model(pilot)
        await send(pilot, "a request to come back to")
        await wait_idle(pilot)
    again = app_for(repo, [], resume="")
    async with again.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: isinstance(again.screen, SessionPicker), what="the picker")
        await pilot.press("enter")
        await wait_for(pilot, lambda: users(again) == ["a request to come back to"], what="the redraw")


async def test_continue_with_nothing_saved_is_a_notice(tmp_path):
    repo = fixture_repo("readme_typo", tmp_path)
    app = app_for(repo, [], resume="last")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_model(pilot)
        await pilot.pause(0.2)
        assert app.chat is not None and users(app) == []
        assert any("no saved session" in str(n.message) for n in app._notifications)


async def test_compact_asks_then_replaces_the_conversation(tmp_path):
    repo = fixture_repo("readme_typo", tmp_path)
    app = app_for(repo, TYPO_SCRIPT + ["The typo in README.md was fixed."])
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_model(pilot)
        await send(pilot, "fix the typo")
        await wait_idle(pilot)
        await send(pilot, "/compact")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the summary to confirm")
        assert len(app.agent.messages) > 3  # nothing changed yet
        await pilot.press("y")
        await wait_for(pilot, lambda: any("Compacted" in n for n in notices(app)), what="the compaction")
        await wait_idle(pilot)
        assert [m["role"] for m in app.agent.messages] == ["system", "user", "assistant"]
        assert "The typo in README.md was fixed." in app.agent.messages[1]["content"]
        saved = SessionStore().load(app.recorder.session_id)
        assert saved.messages == app.agent.messages[1:]  # the session holds the compacted conversation


async def test_compact_declined(tmp_path):
    repo = fixture_repo("readme_typo", tmp_path)
    app = app_for(repo, ["An answer.", "A summary."])
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_model(pilot)
        await send(pilot, "hello")
        await wait_idle(pilot)
        before = list(app.agent.messages)
        await send(pilot, "/compact")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the summary to confirm")
        await pilot.press("n")
        await wait_idle(pilot)
        assert app.agent.messages == before
        assert any("Kept the conversation" in n for n in notices(app))


async def test_agents_md_in_the_status_bar_and_init(tmp_path):
    repo = fixture_repo("off_by_one", tmp_path)
    app = app_for(repo, ["This project sums windows of numbers."], auto_approve=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_model(pilot)
        assert app.chat.status.instructions_text == ""
        await send(pilot, "/init")
        await wait_for(pilot, lambda: isinstance(app.screen, ReviewScreen), what="the AGENTS.md proposal")
        assert app.screen.state.file.path == "AGENTS.md"
        await pilot.press("enter")
        await wait_idle(pilot)
        assert "This project sums windows of numbers." in (repo / "AGENTS.md").read_text()
        await wait_for(pilot, lambda: app.chat.status.instructions_text.startswith("≡ AGENTS.md"),
                       what="the status bar to show AGENTS.md")
        assert "This project sums windows" in app.agent.messages[0]["content"]

    (repo / "CLAUDE.md").write_text("Be brief.\n")
    again = app_for(repo, [])
    async with again.run_test(size=(120, 40)) as pilot:
        await wait_model(pilot)
        assert again.chat.status.instructions_text.startswith("≡ AGENTS.md +1 ")
        assert "Be brief." in again.agent.messages[0]["content"]
