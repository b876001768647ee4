"""`mlxagent acp`: the agent behind an Agent Client Protocol client (Zed, Toad) over stdio.

One process serves one client. The model is loaded once, at the first `session/new`, and shared
by the sessions; each session is an Agent (from mlxagent/builder.py) for the repository the
client names as its cwd. A prompt runs one agent turn in a worker thread; its events are sent
as `session/update` notifications as they come, and an edit waiting for review (the "ask"
policy) or a command waiting for consent becomes a `session/request_permission`, whose answer
resolves the event's reply. `session/cancel` sets the turn's cancel event. Turns of different
sessions take turns on the one model. The permission modes (core/modes.py) are the sessions'
ACP modes; the MCP servers of the user's settings start with each session.

Files are read and written in the repository directly by the agent's tools (review, undo and
git commits happen there), not through the client's `fs/*` methods.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from acp import PROTOCOL_VERSION, RequestError
from acp.schema import (
    AgentCapabilities,
    Implementation,
    InitializeResponse,
    NewSessionResponse,
    PromptCapabilities,
    PromptResponse,
    SessionMode,
    SessionModeState,
    SetSessionModeResponse,
)

from .. import __version__
from ..builder import build_agent, load_model, set_mode, start_mcp, stop_mcp
from ..core import events as ev
from ..core.modes import MODES, ModeError, mode_named
from ..core.workspace import Workspace
from ..errors import MlxAgentError
from .updates import TurnUpdates, decision_from, prompt_text, review_from, stop_reason

log = logging.getLogger("mlxagent.acp")
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
_END = object()
MODE_NAMES = {"plan": ("Plan", "read-only: the model reads and answers with a plan; no edit, no command"),
              "ask": ("Ask", "each edit and each command waits for your permission"),
              "accept-edits": ("Accept edits", "edits are applied without asking; commands are asked about"),
              "auto": ("Auto", "edits are applied and commands run without asking")}


def failure(message: str, code: int = INTERNAL_ERROR) -> RequestError:
    """A JSON-RPC error whose message is one line."""
    return RequestError(code, (str(message).strip().splitlines() or ["error"])[0])


@dataclass
class Session:
    id: str
    agent: Any  # core.agent.Agent
    root: Path
    cancel: threading.Event | None = None  # the running turn's
    cancelled: asyncio.Event = field(default_factory=asyncio.Event)
    next_mode: str | None = None  # asked for during a turn: switched to when it ends


@dataclass
class Options:
    model: str | None = None
    max_steps: int | None = None
    max_tokens: int | None = None
    mode: str | None = None  # the permission mode sessions start in (None: the setting default_mode)


class MlxAcpAgent:
    """The ACP Agent interface (acp.interfaces.Agent) over mlxagent's engine."""

    def __init__(self, options: Options, settings=None) -> None:
        from ..config import load_settings

        self.options = options
        if settings is None:
            settings, warnings = load_settings()
            for warning in warnings:
                log.warning("%s", warning)
        self.settings = settings
        self.sessions: dict[str, Session] = {}
        self.client = None  # the connection to the client (acp.agent.connection.AgentSideConnection)
        self._model = None
        self._model_lock = asyncio.Lock()
        self._turn_lock = asyncio.Lock()  # one turn at a time on the shared model
        self._workers: set[threading.Thread] = set()

    def on_connect(self, conn) -> None:
        self.client = conn

    async def initialize(self, protocol_version: int, client_capabilities=None, client_info=None,
                         **kwargs: Any) -> InitializeResponse:
        return InitializeResponse(
            protocol_version=min(protocol_version, PROTOCOL_VERSION),
            agent_capabilities=AgentCapabilities(load_session=False, prompt_capabilities=PromptCapabilities()),
            agent_info=Implementation(name="mlxagent", title="mlxagent", version=__version__),
        )

    async def authenticate(self, method_id: str, **kwargs: Any) -> None:
        return None

    async def new_session(self, cwd: str, mcp_servers=None, additional_directories=None,
                          **kwargs: Any) -> NewSessionResponse:
        try:
            workspace = await asyncio.to_thread(Workspace.open, cwd)
        except MlxAgentError as exc:
            raise failure(f"cwd {exc}" if str(exc).startswith(str(cwd)) else str(exc), INVALID_PARAMS) from None
        model = await self._load_model()
        try:
            agent = await asyncio.to_thread(
                build_agent, workspace, self.settings, model, max_steps=self.options.max_steps,
                max_tokens=self.options.max_tokens, allow_commands=None, lenient=True, mode=self.options.mode)
        except (MlxAgentError, ModeError) as exc:
            raise failure(str(exc)) from None
        try:  # the MCP servers of the user's settings, as in `mlxagent run` (not the client's own)
            for notice in await asyncio.to_thread(start_mcp, agent, self.settings):
                log.warning("%s", notice)
        except Exception as exc:  # noqa: BLE001 - the session works without them
            log.warning("MCP servers not started: %s", exc)
        session = Session(uuid.uuid4().hex, agent, workspace.root)
        self.sessions[session.id] = session
        log.info("session %s in %s (%s mode)", session.id, workspace.root, agent.mode.name)
        return NewSessionResponse(session_id=session.id, modes=_modes(agent.mode.name))

    async def prompt(self, prompt: list[Any], session_id: str, **kwargs: Any) -> PromptResponse:
        session = self._session(session_id)
        if session.cancel is not None:
            raise failure("a turn is already running in this session; cancel it first", -32600)
        text = prompt_text(prompt, session.root)
        if not text:
            raise failure("the prompt has no text", INVALID_PARAMS)
        cancel = session.cancel = threading.Event()
        session.cancelled = asyncio.Event()
        try:
            async with self._turn_lock:
                finished = await self._run_turn(session, text)
        finally:
            cancel.set()  # a no-op after the turn; stops it when this request itself was cancelled
            session.cancel = None
            if session.next_mode is not None:
                set_mode(session.agent, session.next_mode, self.settings)
                session.next_mode = None
        if finished is None:
            raise failure("the turn ended without finishing")
        if finished.reason == "error":
            raise failure(finished.message or "the turn failed")
        return PromptResponse(stop_reason=stop_reason(finished.reason))

    async def cancel(self, session_id: str, **kwargs: Any) -> None:
        session = self.sessions.get(session_id)
        if session is not None and session.cancel is not None:
            session.cancel.set()
            session.cancelled.set()

    async def set_session_mode(self, session_id: str, mode_id: str, **kwargs: Any) -> SetSessionModeResponse:
        """Switch the permission mode; during a turn, the switch happens when the turn ends."""
        session = self._session(session_id)
        try:
            name = mode_named(mode_id).name
        except ModeError as exc:
            raise failure(str(exc), INVALID_PARAMS) from None
        if session.cancel is not None:
            session.next_mode = name
        else:
            set_mode(session.agent, name, self.settings)
        log.info("session %s: %s mode", session.id, name)
        return SetSessionModeResponse()

    # -- the turn ---------------------------------------------------------------------------

    async def _run_turn(self, session: Session, text: str) -> ev.TurnFinished | None:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue = asyncio.Queue()
        cancel = session.cancel
        assert cancel is not None

        def post(item) -> None:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, item)
            except RuntimeError:  # the loop has closed: the client has gone, the turn winds down unheard
                cancel.set()

        def work() -> None:
            try:
                for event in session.agent.run_turn(text, cancel):
                    post(event)
            except BaseException as exc:  # noqa: BLE001 - told to the client as the turn's error
                log.exception("the turn failed")
                post(ev.TurnFinished("error", message=f"{type(exc).__name__}: {exc}"))
            finally:
                post(_END)

        worker = threading.Thread(target=work, name=f"acp-turn-{session.id[:8]}", daemon=True)
        self._workers.add(worker)
        worker.start()
        view = TurnUpdates(session.root)
        finished = None
        while (event := await queue.get()) is not _END:
            if isinstance(event, ev.TurnFinished):
                finished = event
            try:
                await self._forward(session, view, event)
            except ConnectionError:  # the client has gone: stop the turn (a pending review too), drain it
                if not cancel.is_set():
                    log.warning("the client has gone; stopping the turn")
                cancel.set()
            except Exception:  # noqa: BLE001 - a bug of ours: told in the log, the turn is stopped
                log.exception("could not send an update")
                cancel.set()
        self._workers.discard(worker)
        return finished

    async def _forward(self, session: Session, view: TurnUpdates, event: ev.Event) -> None:
        for update in view.updates(event):
            await self.client.session_update(session_id=session.id, update=update)
        if isinstance(event, ev.ProposalReady) and not event.reply.done():
            tool_call, options = view.edit_permission(event)
            answer = await self._ask(session, tool_call, options)
            if not session.cancel.is_set():
                _resolve(event.reply, review_from(answer, len(event.proposal.hunks)))
        elif isinstance(event, ev.CommandApproval) and not event.reply.done():
            tool_call, options = view.command_permission(event)
            answer = await self._ask(session, tool_call, options)
            if not session.cancel.is_set():
                _resolve(event.reply, decision_from(answer))

    async def _ask(self, session: Session, tool_call, options):
        """The client's answer to a permission request, or None when the turn is cancelled first."""
        ask = asyncio.ensure_future(self.client.request_permission(session_id=session.id, tool_call=tool_call,
                                                                   options=options))
        stop = asyncio.ensure_future(session.cancelled.wait())
        try:
            done, _ = await asyncio.wait({ask, stop}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
        if ask not in done:
            ask.cancel()
            return None
        try:
            return ask.result()
        except RequestError as exc:
            log.warning("the permission request failed: %s", exc)
            return None

    def shutdown(self, wait: float = 10.0) -> None:
        """The client has gone: stop the running turns and give their threads a moment to end."""
        for session in self.sessions.values():
            if session.cancel is not None:
                session.cancel.set()
        for worker in list(self._workers):
            worker.join(wait)
        for session in self.sessions.values():
            stop_mcp(session.agent)

    # -- helpers ----------------------------------------------------------------------------

    def _session(self, session_id: str) -> Session:
        session = self.sessions.get(session_id)
        if session is None:
            raise failure(f"no session {session_id!r} (start one with session/new)", INVALID_PARAMS)
        return session

    async def _load_model(self):
        async with self._model_lock:
            if self._model is None:
                from ..model.runtime import ModelRuntime
                from ..progress import progress_printer

                runtime = ModelRuntime(speculative=self.settings.speculative)
                spec = self.options.model
                try:
                    self._model = await asyncio.to_thread(load_model, spec, self.settings, runtime,
                                                          progress_printer(spec or self.settings.default_model))
                except MlxAgentError as exc:
                    raise failure(str(exc)) from None
                except Exception as exc:  # noqa: BLE001 - one line for the client, the details in the log
                    log.exception("the model did not load")
                    raise failure(f"cannot load the model: {type(exc).__name__}: {exc}") from None
                self._runtime = runtime
                log.info("model %s loaded", self._model.name)
            return self._model


def _modes(current: str) -> SessionModeState:
    return SessionModeState(current_mode_id=current, available_modes=[
        SessionMode(id=name, name=MODE_NAMES[name][0], description=MODE_NAMES[name][1]) for name in MODES])


def _resolve(reply, value) -> None:
    """Answer a round-trip event unless the agent stopped waiting (a cancelled turn)."""
    if not reply.done():
        try:
            reply.set_result(value)
        except Exception:  # noqa: BLE001 - cancelled meanwhile: the late answer is refused
            pass

