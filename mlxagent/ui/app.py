"""The Textual app: settings, themes, the workspace, the model, and the screens.

The first paint never waits for the model: the chat screen appears at once and the
model loads in a thread worker, its progress in the status bar. Everything that can
block (git, downloads, loading weights, generation) runs in thread workers; results
come back as messages or through `call_from_thread`.

Tests build the app with an injected `ModelFactory` (scripted models, a fixed list of
installed models) and fixed settings; `run_tui` builds the real one.
"""

from __future__ import annotations

import threading
from functools import partial
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable

from textual import work
from textual.app import App
from textual.binding import Binding
from textual.message import Message
from textual.reactive import reactive

from ..config import Settings, SettingsError, load_settings, update_setting
from ..core.workspace import NotAGitRepoError, Workspace
from ..errors import CancelledError, MlxAgentError
from .bridge import JobProgress, PendingCommand, PendingReview, ProgressRelay
from .commands import ActionsProvider, PaletteCommand
from .model_factory import ModelFactory, RuntimeModelFactory, total_memory_bytes
from .screens.chat import ChatScreen
from .screens.command_approval import CommandApprovalScreen
from .screens.models import ModelSwitcher
from .screens.not_a_repo import NotARepoScreen
from .screens.review import ReviewScreen
from ..builder import add_mcp_tools, attach_model, build_agent, set_auto_approve, set_mode, start_mcp, stop_mcp
from .themes import register_themes

FALLBACK_THEME = "mlxagent-dark"


@dataclass(frozen=True)
class ModelState:
    """The loaded model, and the load or install job running (or the last one's outcome)."""

    name: str = ""  # the loaded model; "" when none
    backend: str = ""
    context_length: int = 0
    job: str = ""  # "load" | "install" while one runs, else ""
    job_kind: str = ""  # the kind of the running or last job
    target: str = ""  # the spec of the running or last job
    stage: str = ""
    fraction: float | None = None
    error: str = ""  # the last job failed: why, in one line
    message: str = ""  # the last job succeeded: what happened

    @property
    def ready(self) -> bool:
        return bool(self.name) and self.job != "load"

    @property
    def loading(self) -> str:
        """The spec being loaded, or ""."""
        return self.target if self.job == "load" else ""


class ModelJobDone(Message):
    def __init__(self, job_id: int, model: Any = None, backend: str = "", error: str = "", message: str = "") -> None:
        super().__init__()
        self.job_id = job_id
        self.model = model
        self.backend = backend
        self.error = error
        self.message = message


def one_line(exc: BaseException) -> str:
    """A user-facing line for an exception: ours are already one line; others get their type."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if isinstance(exc, MlxAgentError):
        return text or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class MlxAgentApp(App[int]):
    TITLE = "mlxagent"
    COMMANDS = App.COMMANDS | {ActionsProvider}
    BINDINGS = [
        Binding("ctrl+o,f2", "models", "Models"),
        Binding("ctrl+q", "quit", "Quit", priority=True),
    ]

    model_state: reactive[ModelState] = reactive(ModelState, init=False, always_update=True)

    def __init__(
        self,
        path: str | Path,
        *,
        model: str | None = None,
        model_factory: ModelFactory | None = None,
        settings: Settings | None = None,
        settings_warnings: list[str] | None = None,
        total_memory: int | None = None,
        cursor_blink: bool = True,
        resume: str | None = None,
        mode: str | None = None,
    ) -> None:
        super().__init__()
        self.start_mode = mode  # --mode (None: the setting default_mode)
        if settings is None:
            settings, settings_warnings = load_settings()
        self.settings = settings
        self.startup_warnings = list(settings_warnings or [])
        self.path = Path(path).expanduser()
        self.model_spec = model or settings.default_model
        self.model_factory: ModelFactory = model_factory or RuntimeModelFactory(
            settings.aliases, settings.speculative, settings.providers, settings.temperature)
        self.total_memory = total_memory_bytes() if total_memory is None else total_memory
        self.cursor_blink = cursor_blink
        self.agent = None
        self.chat: ChatScreen | None = None
        self._loaded_spec = ""  # the spec of the model in use, to restore it if a switch fails
        self._job_id = 0
        self._job_cancel = threading.Event()
        self.known_models: list[str] = []  # installed names, for the palette (refreshed by the switcher)
        # --continue ("last"), --resume ("": pick one; else an id): the session to reopen at start
        self.resume = resume
        self.recorder = None  # core.saved_sessions.SessionRecorder: saves the conversation as it goes
        self._warm_after_load = False  # a resumed conversation waits for the model to fill its cache

    # -- start --------------------------------------------------------------------------------

    def on_mount(self) -> None:
        self.startup_warnings += register_themes(self)
        wanted = self.settings.theme
        if wanted in self.available_themes:
            self.theme = wanted
        else:
            self.startup_warnings.append(f"theme {wanted!r} is not installed; using {FALLBACK_THEME}")
            self.theme = FALLBACK_THEME if FALLBACK_THEME in self.available_themes else "textual-dark"
        self.theme_changed_signal.subscribe(self, self._theme_changed)
        for warning in self.startup_warnings:
            self.notify(warning, title="Settings", severity="warning", timeout=12)
        self.open_workspace()

    def open_workspace(self) -> None:
        try:
            workspace = Workspace.open(self.path)
        except NotAGitRepoError as exc:
            self.push_screen(NotARepoScreen(self.path.resolve(), str(exc)), self._not_a_repo_closed)
            return
        # commands are asked about on screen (unless the mode runs them)
        self.agent = build_agent(workspace, self.settings, lenient=True, mode=self.start_mode)
        start_mcp(self.agent, self.settings, wait=False)  # MCP servers start beside the model; tools when ready
        if self.agent.mcp is not None:
            self._wait_for_mcp()
        self.new_session()
        self.chat = ChatScreen()
        self.push_screen(self.chat)
        self.switch_model(self.model_spec)
        self._list_models()
        if self.resume is not None:
            spec, self.resume = self.resume, None
            self.call_after_refresh(self.open_sessions if spec == "" else partial(self.resume_session, spec))

    @work(thread=True, exit_on_error=False, group="list-models")
    def _list_models(self) -> None:
        try:
            names = [m.name for m in self.model_factory.installed() if not m.missing]
        except Exception:  # noqa: BLE001 - the palette lists what it can; the switcher shows why
            return
        self.call_from_thread(setattr, self, "known_models", names)

    def on_unmount(self) -> None:
        # Quitting mid-download or mid-load: the worker stops at its next cancel check.
        self._job_cancel.set()
        stop_mcp(getattr(self, "agent", None))  # the session's MCP servers end with it

    @work(thread=True, exit_on_error=False, group="mcp")
    def _wait_for_mcp(self) -> None:
        """Once the MCP servers have started (or failed), add their tools; one line per problem."""
        self.agent.mcp.wait()
        self.call_from_thread(self._mcp_started)

    def _mcp_started(self) -> None:
        for notice in add_mcp_tools(self.agent):
            self.notify(notice, title="MCP", severity="warning", timeout=12)

    def _not_a_repo_closed(self, outcome: str | None) -> None:
        if outcome == "initialized":
            self.open_workspace()
        else:
            self.exit(1, return_code=1)

    # -- sessions (core/saved_sessions.py) ------------------------------------------------------------

    def new_session(self) -> None:
        """Save what follows as a new session (the conversation must already be empty)."""
        from ..core.saved_sessions import start

        store = self.recorder.store if self.recorder is not None else None
        self.recorder, _, warning = start(self.agent, save=self.settings.save_sessions, store=store)
        if warning:
            self.notify(warning, title="Sessions", severity="warning", timeout=12)

    def record(self, events):
        """The agent's events, saved as they pass."""
        return self.recorder.record(events) if self.recorder is not None else events

    def _session_store(self):
        from ..core.saved_sessions import open_store

        if self.recorder is not None and self.recorder.store is not None:
            return self.recorder.store, ""
        return open_store()

    def open_sessions(self) -> None:
        """`/sessions`: pick a saved session of this repository to reopen."""
        from ..core.saved_sessions import SessionError, repo_key
        from .screens.sessions import SessionPicker

        if self.agent is None or self.chat is None:
            return
        store, why = self._session_store()
        if store is None:
            self.notify(why, title="Sessions", severity="error")
            return
        try:
            sessions = store.sessions(repo_key(self.agent.toolbox.workspace.root))
        except SessionError as exc:
            self.notify(str(exc), title="Sessions", severity="error")
            return
        if not sessions:
            self.notify("No saved sessions for this repository yet.", title="Sessions")
            return
        current = self.recorder.session_id if self.recorder is not None else None
        self.push_screen(SessionPicker(sessions, current),
                         lambda chosen: self.resume_session(chosen) if chosen and chosen != current else None)

    def resume_session(self, spec: str) -> bool:
        """Reopen a saved session ("last", an id, or the start of one): its transcript is redrawn, the
        agent continues its conversation, and the model's cache is rebuilt in the background."""
        from ..core.saved_sessions import SessionError, start

        chat = self.chat
        if chat is None or self.agent is None:
            return False
        if chat.busy:
            self.notify("Wait for the turn to finish (or press Esc) before switching sessions.", severity="warning")
            return False
        store, why = self._session_store()
        if store is None:
            self.notify(why, title="Sessions", severity="error")
            return False
        try:
            recorder, record, _ = start(self.agent, save=self.settings.save_sessions, resume=spec, store=store)
        except SessionError as exc:
            self.notify(f"Cannot resume: {exc}.", title="Sessions", severity="error")
            return False
        self.recorder = recorder
        self.call_later(chat.redraw, record)
        if self.model_state.ready:
            self.warm_cache()
        else:
            self._warm_after_load = True
        return True

    @work(thread=True, exclusive=True, exit_on_error=False, group="warm")
    def warm_cache(self) -> None:
        """Rebuild the model's KV cache for the conversation (a resumed or compacted one)."""
        chat = self.chat
        if chat is None or self.agent is None or self.agent.model is None:
            return
        self.call_from_thread(chat.status.show_command, "rebuilding the model's cache…")
        try:
            self.agent.warm(self._job_cancel)
        except Exception as exc:  # noqa: BLE001 - the next turn rebuilds it anyway
            self.call_from_thread(self.notify, f"The cache was not rebuilt ({one_line(exc)}); the next turn "
                                  "prefills the conversation.", severity="warning")
        finally:
            self.call_from_thread(chat.status.show_command, None)

    # -- models -------------------------------------------------------------------------------

    def switch_model(self, spec: str) -> bool:
        """Start loading `spec` in the background; False (with a notice) when that cannot start now."""
        if not self._can_start_job():
            return False
        if self.chat is not None and self.chat.busy:
            self.notify("Wait for the turn to finish (or press Esc) before switching models.", severity="warning")
            return False
        self._start_job("load", spec)
        self._load_worker(spec, self._job_id, self._job_cancel)
        return True

    def install_model(self, spec: str) -> bool:
        """Download or import `spec` without loading it."""
        if not self._can_start_job():
            return False
        self._start_job("install", spec)
        self._install_worker(spec, self._job_id, self._job_cancel)
        return True

    def cancel_model_job(self) -> None:
        self._job_cancel.set()

    def _can_start_job(self) -> bool:
        if self.model_state.job:
            self.notify(f"Still busy with {self.model_state.target}; cancel it first.", severity="warning")
            return False
        return True

    def _start_job(self, kind: str, spec: str) -> None:
        self._job_id += 1
        self._job_cancel = threading.Event()
        self.model_state = replace(self.model_state, job=kind, job_kind=kind, target=spec, stage="starting",
                                   fraction=None, error="", message="")

    @work(thread=True, exit_on_error=False, group="model")
    def _load_worker(self, spec: str, job_id: int, cancel: threading.Event) -> None:
        progress = ProgressRelay(self.post_message, str(job_id))
        factory = self.model_factory
        try:
            factory.fetch(spec, progress, cancel.is_set)  # a failed download leaves the current model as it is
        except Exception as exc:  # noqa: BLE001 - every failure is one line on screen
            self.post_message(ModelJobDone(job_id, error=self._failure(spec, exc)))
            return
        previous = self._loaded_spec
        # Drop the current model before the next one loads, so the two never share memory.
        self.call_from_thread(self._detach_model)
        factory.release()
        try:
            model = factory.load(spec, progress, cancel.is_set)
        except Exception as exc:  # noqa: BLE001
            error = self._failure(spec, exc)
            model = None
            if previous:
                try:
                    model = factory.load(previous, progress, None)
                    spec = previous
                    error += f" Back on {model.name}."
                except Exception as again:  # noqa: BLE001
                    error += f" Reloading {previous} failed too ({one_line(again)})."
            if model is None:
                self.post_message(ModelJobDone(job_id, error=error))
                return
            self.post_message(ModelJobDone(job_id, model, self._backend(model), error=error))
            return
        self._loaded_spec = spec
        self.post_message(ModelJobDone(job_id, model, self._backend(model), message=f"Loaded {model.name}."))
        if job_id == 1:
            self._tell_speed_hint()

    def _tell_speed_hint(self) -> None:
        try:
            hint = self.model_factory.speed_hint()
        except Exception:  # noqa: BLE001 - only advice
            return
        if hint:
            self.call_from_thread(self.notify, hint, title="Slow backend", severity="warning", timeout=20)

    def _backend(self, model=None) -> str:
        if getattr(model, "backend", None):  # a remote model: where it runs
            return model.backend
        try:
            return self.model_factory.backend()
        except Exception:  # noqa: BLE001 - the status bar can live without it
            return "?"

    @staticmethod
    def _failure(spec: str, exc: BaseException) -> str:
        if isinstance(exc, CancelledError):
            return f"Cancelled {spec}."
        line = one_line(exc)
        return line if spec in line else f"{spec}: {line}"

    @work(thread=True, exit_on_error=False, group="model")
    def _install_worker(self, spec: str, job_id: int, cancel: threading.Event) -> None:
        try:
            self.model_factory.fetch(spec, ProgressRelay(self.post_message, str(job_id)), cancel.is_set)
        except Exception as exc:  # noqa: BLE001
            self.post_message(ModelJobDone(job_id, error=self._failure(spec, exc)))
            return
        self.post_message(ModelJobDone(job_id, message=f"Installed {spec}; choose it in the list to load it."))

    def _detach_model(self) -> None:
        if self.agent is not None:
            self.agent.set_model(None)
        self.model_state = replace(self.model_state, name="", context_length=0)

    def on_job_progress(self, message: JobProgress) -> None:
        if message.job != str(self._job_id) or not self.model_state.job:
            return  # a late report from a job that has finished
        self.model_state = replace(self.model_state, stage=message.stage, fraction=message.fraction)

    def on_model_job_done(self, message: ModelJobDone) -> None:
        if message.job_id != self._job_id:
            return
        state = replace(self.model_state, job="", stage="", fraction=None, error=message.error,
                        message=message.message)
        if message.model is not None:
            attach_model(self.agent, message.model, self.settings)
            state = replace(state, name=message.model.name, backend=message.backend,
                            context_length=message.model.context_length)
        self.model_state = state
        if message.model is not None and self._warm_after_load:
            self._warm_after_load = False
            self.warm_cache()
        if message.error:
            self.notify(message.error, title="Model", severity="error", timeout=10)
        elif state.job_kind == "load" and message.job_id > 1:
            self.notify(message.message, title="Model")
        elif state.job_kind == "install":
            self.notify(message.message, title="Model")

    def action_models(self) -> None:
        if self.agent is None:
            return
        if not isinstance(self.screen, ModelSwitcher):
            self.push_screen(ModelSwitcher())

    # -- review and approval ---------------------------------------------------------------------

    def open_review(self, pending: list[PendingReview], done: Callable[[Any], None]) -> None:
        if isinstance(self.screen, ReviewScreen):
            return  # one at a time; the next opens when this one closes (ChatScreen asks again)
        self.push_screen(ReviewScreen(pending), done)

    def review_dropped(self) -> None:
        """The turn ended with proposals unreviewed: a review screen showing them goes away."""
        screen = self.screen
        if isinstance(screen, ReviewScreen) and all(p.done for p in screen.pending):
            screen.dismiss(None)

    def open_command_approval(self, pending: PendingCommand, done: Callable[[Any], None]) -> None:
        root = self.agent.toolbox.workspace.root if self.agent is not None else None
        self.push_screen(CommandApprovalScreen(pending, root), done)

    def command_approval_dropped(self) -> None:
        """The turn stopped waiting: an approval prompt still open for it goes away (undecided)."""
        screen = self.screen
        if isinstance(screen, CommandApprovalScreen) and screen.pending.done:
            screen.dismiss(None)

    def set_auto_approve(self, on: bool) -> None:
        """For this session (the setting file keeps its own value)."""
        if self.agent is not None:
            set_auto_approve(self.agent, on, self.settings)
        if self.chat is not None:
            self.chat.status.show_auto_approve(on)
            self.chat.mode_changed()

    def set_mode(self, name: str) -> None:
        """Another permission mode for the rest of the session (between turns)."""
        if self.agent is not None:
            set_mode(self.agent, name, self.settings)
        if self.chat is not None:
            self.chat.status.show_auto_approve(self.agent is not None and self.agent.config.review == "apply")
            self.chat.mode_changed()

    # -- themes ---------------------------------------------------------------------------------

    def _theme_changed(self, theme) -> None:
        if theme.name != self.settings.theme:
            self.settings.theme = theme.name
            self._save_setting("theme", theme.name)

    @work(thread=True, exit_on_error=False, group="settings")
    def _save_setting(self, key: str, value: Any) -> None:
        try:
            update_setting(key, value)
        except (SettingsError, OSError) as exc:
            self.call_from_thread(self.notify, f"Could not save {key}: {exc}", severity="warning")

    # -- the command palette ----------------------------------------------------------------------

    def palette_commands(self) -> list[PaletteCommand]:
        chat = self.chat

        def slash(name: str, arg: str = "") -> Callable[[], object]:
            return lambda: chat.run_command(name, arg) if chat is not None else None

        commands = [
            PaletteCommand("Switch model", "installed models, the catalogue, install (ctrl+o)", self.action_models),
            PaletteCommand("Review edits", "the edit waiting for review (ctrl+r)", slash("review")),
            PaletteCommand("Undo last edit", "put back what the last applied edit changed", slash("undo")),
            PaletteCommand("Show diff", "the working tree against HEAD", slash("diff")),
            PaletteCommand("Run tests", "run the repository's tests now, without the model (/test)", slash("test")),
            PaletteCommand("Clear conversation", "start over (files unchanged)", slash("clear")),
            PaletteCommand("New session", "start a new saved session (/new)", slash("new")),
            PaletteCommand("Sessions", "reopen a saved session of this repository (/sessions)", slash("sessions")),
            PaletteCommand("Compact conversation", "summarise the conversation so far into one message (/compact)",
                           slash("compact")),
            PaletteCommand("Draft AGENTS.md", "project instructions drafted from the repository (/init)",
                           slash("init")),
            PaletteCommand("Interrupt", "stop the model now (esc)", lambda: chat and chat.action_interrupt()),
            PaletteCommand("Guard status", "the read-loop guard's state and thresholds", slash("guard")),
            PaletteCommand("Guard on", "turn the read-loop guard on", slash("guard", "on")),
            PaletteCommand("Guard off", "turn the read-loop guard off", slash("guard", "off")),
            PaletteCommand("Toggle auto-approve", "apply edits without review", slash("approve")),
            PaletteCommand("Cancel download", "stop the model download or load in progress", self.cancel_model_job),
            PaletteCommand("Help", "commands and keys", slash("help")),
        ]
        if chat is not None:  # custom slash commands (core/slash.py), with their description
            commands += [PaletteCommand(f"/{c.name}", c.description, slash(c.name))
                         for c in chat.custom_commands().listed()]
        current = self.model_state.name
        commands += [PaletteCommand(f"Model: {name}", "load this installed model (the conversation is kept)",
                                    partial(self.switch_model, name))
                     for name in self.known_models if name != current]
        return commands if chat is not None else commands[:1]


def run_tui(path: str, model: str | None = None, speculative: bool | None = None, resume: str | None = None,
            mode: str | None = None) -> int:
    """`mlxagent [PATH]`: run the TUI until the user quits; returns the exit code.
    `speculative`: False for --no-speculative; None takes the setting."""
    settings, warnings = load_settings()
    if speculative is not None:
        settings = replace(settings, speculative=speculative)
    app = MlxAgentApp(path, model=model, settings=settings, settings_warnings=warnings, resume=resume, mode=mode)
    result = app.run()
    return int(result or app.return_code or 0)
