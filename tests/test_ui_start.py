"""Starting the TUI: outside a git repository, with a broken settings file, on a slow backend;
themes chosen and saved; the command palette."""

from __future__ import annotations

from fixture_repos import fixture_repo
from scripted_model import ScriptedModel
from ui_support import FIXED_MEMORY, ScriptedFactory, make_app, wait_for, wait_model

from mlxagent import paths
from mlxagent.config import load_settings
from mlxagent.ui.app import MlxAgentApp
from mlxagent.ui.screens.chat import ChatScreen
from mlxagent.ui.screens.not_a_repo import NotARepoScreen


def factory() -> ScriptedFactory:
    return ScriptedFactory({"scripted-a": lambda: ScriptedModel(["Hi."])})


def toasts(app) -> list[str]:
    return [str(n.message) for n in app._notifications]


async def test_outside_a_repo_git_init_opens_the_chat(tmp_path):
    folder = tmp_path / "plain"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine\n")
    app = make_app(folder, factory())
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, NotARepoScreen), what="the not-a-repo screen")
        assert "Not a git repository" in str(app.screen.query_one("#not-repo-title").render())
        await pilot.press("i")
        await wait_for(pilot, lambda: isinstance(app.screen, ChatScreen), what="the chat after git init")
        await wait_model(pilot)
    assert (folder / ".git").is_dir() and (folder / "notes.txt").read_text() == "mine\n"


async def test_outside_a_repo_quit_creates_nothing(tmp_path):
    folder = tmp_path / "plain"
    folder.mkdir()
    app = make_app(folder, factory())
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, NotARepoScreen), what="the not-a-repo screen")
        await pilot.press("q")
        await wait_for(pilot, lambda: app.return_code is not None, what="the app to exit")
    assert app.return_code == 1 and not (folder / ".git").exists()


async def test_a_broken_settings_file_gives_a_warning_and_defaults(tmp_path):
    repo = fixture_repo("readme_typo", tmp_path)
    paths.config_file().parent.mkdir(parents=True, exist_ok=True)
    paths.config_file().write_text("theme = \n[[[ not toml")
    settings, warnings = load_settings()
    app = MlxAgentApp(repo, model="scripted-a", model_factory=factory(), settings=settings,
                      settings_warnings=warnings, total_memory=FIXED_MEMORY, cursor_blink=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_model(pilot)
        assert app.theme == "mlxagent-dark"
        assert any(str(paths.config_file()) in t for t in toasts(app)), toasts(app)


async def test_theme_chosen_is_applied_everywhere_and_saved(tmp_path):
    repo = fixture_repo("readme_typo", tmp_path)
    app = make_app(repo, factory())
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_model(pilot)
        assert {"mlxagent-dark", "mlxagent-light", "mlxagent-high-contrast"} <= set(app.available_themes)
        app.chat.prompt.focus()
        app.chat.prompt.insert("/theme mlxagent-light")
        await pilot.press("enter")
        assert app.theme == "mlxagent-light"
        await wait_for(pilot, lambda: load_settings()[0].theme == "mlxagent-light", what="the saved theme")
        app.chat.prompt.insert("/theme no-such-theme")
        await pilot.press("enter")
        await pilot.pause()
        assert app.theme == "mlxagent-light"


async def test_a_user_theme_file_is_offered(tmp_path):
    repo = fixture_repo("readme_typo", tmp_path)
    paths.user_themes_dir().mkdir(parents=True, exist_ok=True)
    (paths.user_themes_dir() / "mine.toml").write_text(
        'name = "mine"\ndark = true\nprimary = "#ff8800"\nbackground = "#101010"\n')
    app = make_app(repo, factory(), theme="mine")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_model(pilot)
        assert app.theme == "mine"


async def test_slow_backend_hint_is_shown_once_the_model_is_in(tmp_path):
    repo = fixture_repo("readme_typo", tmp_path)
    slow = factory()
    slow.hint = "install libopenblas0-pthread"
    app = make_app(repo, slow)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_model(pilot)
        await wait_for(pilot, lambda: any("libopenblas0-pthread" in t for t in toasts(app)), what="the hint")


async def test_command_palette_offers_the_actions(tmp_path):
    repo = fixture_repo("readme_typo", tmp_path)
    app = make_app(repo, factory())
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_model(pilot)
        titles = [c.title for c in app.palette_commands()]
        for wanted in ("Switch model", "Review edits", "Undo last edit", "Show diff", "Clear conversation",
                       "Interrupt", "Guard off", "Toggle auto-approve", "Help"):
            assert wanted in titles
        await pilot.press("ctrl+p")
        await pilot.pause()
        for ch in "switch model":
            await pilot.press(ch if ch != " " else "space")
        await pilot.pause(0.3)
        await pilot.press("enter")
        from mlxagent.ui.screens.models import ModelSwitcher

        await wait_for(pilot, lambda: isinstance(app.screen, ModelSwitcher), what="the switcher from the palette")


async def test_end_to_end_with_the_real_default_model(tmp_path, real_model_dir):
    """The real SmolLM2 through the real runtime: the screen is up before the model, tokens
    stream into the transcript, and the status bar shows the backend and a measured speed."""
    from mlxagent.config import Settings
    from mlxagent.ui.model_factory import RuntimeModelFactory

    repo = fixture_repo("readme_typo", tmp_path)
    settings = Settings(default_model=str(real_model_dir), max_steps=2, max_tokens=48)
    app = MlxAgentApp(repo, model_factory=RuntimeModelFactory(), settings=settings, total_memory=FIXED_MEMORY,
                      cursor_blink=False)
    async with app.run_test(size=(120, 40)) as pilot:
        # the load runs in the background: no message handled yet, so it cannot have finished (a
        # load on the UI thread would have); checked before any pause, which on a fast machine
        # may be long enough for the small model to load
        assert app.model_state.loading
        await pilot.pause()
        assert isinstance(app.screen, ChatScreen)  # painted whether or not the model is in yet
        await wait_model(pilot, timeout=60)
        app.chat.prompt.focus()
        app.chat.prompt.insert("Which files are in this repository?")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.chat.busy, what="the turn to start")
        await wait_for(pilot, lambda: not app.chat.busy, timeout=240, what="the real model's turn")
        await pilot.pause()
        transcript = app.chat.transcript
        from mlxagent.ui.widgets.tool_card import ToolCard

        assert transcript.streamed_text.strip() or list(transcript.query(ToolCard))
        assert app.chat.last_finish.generated_tokens > 0
        status = app.chat.status
        assert "CPU" in str(status.query_one("#status-model").render()) or app.model_state.backend in ("Metal", "CUDA")
        assert "tok/s" in str(status.query_one("#status-speed").render())
        assert "ctx" in str(status.query_one("#status-context").render())
