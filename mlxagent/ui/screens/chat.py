"""The main screen: the transcript, the input and the status bar.

A turn runs `Agent.run_turn` in a thread worker; every engine event comes back as an
`EngineEvent` message and is shown here in order. Esc sets the turn's cancel event,
which the agent and the model check between tokens. Proposals the agent is waiting on
are collected as `PendingReview`s and shown on the review screen; commands that wait for
consent are `PendingCommand`s, asked one at a time on the approval prompt. Commands and
test runs show as command cards (by call_id); `/test` runs the tests in the same kind of
worker as a turn, without the model. After an edit that left the tests failing, ctrl+z
undoes it and asks the model to try again.

How each event is drawn (live, or replayed when a saved session is resumed) is in
`chat_events`; the slash commands are in `chat_commands`.
"""

from __future__ import annotations

import threading
from functools import partial
from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Footer
from textual.worker import Worker, WorkerState

from ...core import events as ev
from ..bridge import EngineEvent, PendingCommand, PendingReview
from ..commands import parse_slash
from ...builder import auto_approving, set_guard_enabled
from ..themes import pygments_style_for
from ..widgets.command_card import CommandCard
from ..widgets.guard_meter import GuardBanner
from ..widgets.prompt_input import PromptInput
from ..widgets.status_bar import StatusBar
from ..widgets.transcript import DiffBlock, Transcript
from .chat_commands import ChatCommands
from .chat_events import ChatEvents
from .chat_modes import PLAN_KEY, ChatModes

PLACEHOLDER = "Ask for a change…  (enter send · ctrl+j new line · /help · esc interrupts)"
RETRY_FALLBACK = "That edit did not make the tests pass. Try a different fix."


class JobDone(Message):
    """A `/test`, `/compact` or `/init` worker has posted its last event."""


class ChatScreen(ChatEvents, ChatCommands, ChatModes, Screen):
    CSS_PATH = "chat.tcss"
    BINDINGS = [
        Binding("escape", "interrupt", "Interrupt"),
        Binding("ctrl+r", "review", "Review"),
        # Priority, or the focused input would take ctrl+z as its own undo; shown (and taken) only
        # while an edit that left the tests failing can be undone and retried (check_action).
        Binding("ctrl+z", "undo_retry", "Undo & retry", priority=True),
        # the permission modes (chat_modes.py): shift+tab cycles them; ctrl+g carries out a plan (shown then)
        Binding("shift+tab", "cycle_mode", "Mode", show=False, priority=True),
        Binding(PLAN_KEY, "carry_out_plan", "Carry out plan", priority=True),
    ]

    busy: reactive[bool] = reactive(False)

    def __init__(self) -> None:
        super().__init__()
        self.pending: list[PendingReview] = []
        self.pending_commands: list[PendingCommand] = []  # approvals not yet asked
        self.asking: PendingCommand | None = None  # the approval on screen
        self.retry_offer: CommandCard | None = None  # the failing auto-test ctrl+z answers
        self._retry_queued = False  # ctrl+z while busy: undo and retry once the run has stopped
        self.queued: str | None = None  # a task typed while the model was still loading
        self.guard_state: ev.GuardState | None = None
        self.last_finish: ev.TurnFinished | None = None
        self._cancel = threading.Event()
        self._interrupted = False
        self._told_problem = False

    @property
    def agent(self):
        return self.app.agent

    def compose(self) -> ComposeResult:
        yield Transcript(id="transcript")
        yield GuardBanner(id="guard-banner")
        yield PromptInput(placeholder=PLACEHOLDER, id="prompt", cursor_blink=self.app.cursor_blink)
        yield StatusBar(id="status")
        yield Footer()

    @property
    def transcript(self) -> Transcript:
        return self.query_one(Transcript)

    @property
    def status(self) -> StatusBar:
        return self.query_one(StatusBar)

    @property
    def prompt(self) -> PromptInput:
        return self.query_one(PromptInput)

    async def on_mount(self) -> None:
        self.query_one(GuardBanner).display = False
        self.watch(self.app, "model_state", self._model_changed)
        self.status.show_auto_approve(auto_approving(self.agent))
        self.mode_changed()
        self.status.show_guard(None, self.agent.config.guard.enabled)
        found = self.agent.instructions
        self.status.show_instructions(found.label() if found else "")
        repo = Path(self.agent.toolbox.workspace.root).name
        await self.transcript.add_notice(f"mlxagent in {repo} — describe a change, or /help for commands and keys.")
        self.prompt.file_source = lambda: self.agent.toolbox.workspace.list_files()  # `@path` completion
        self.prompt.focus()

    def watch_busy(self, busy: bool) -> None:
        if self.is_mounted:
            self.status.show_working(busy)

    def on_unmount(self) -> None:
        # The app is closing: a turn still running (maybe waiting on a review) must end, or its
        # thread would keep the process alive.
        self._cancel.set()

    # -- the model ---------------------------------------------------------------------------

    def _model_changed(self, state) -> None:
        self.status.show_model(state.name, state.backend, state.loading, state.stage, state.fraction)
        if state.ready and not state.loading and self.queued and not self.busy:
            text, self.queued = self.queued, None
            self._start_turn(text)

    # -- sending -----------------------------------------------------------------------------

    @on(PromptInput.Submitted)
    async def _submitted(self, message: PromptInput.Submitted) -> None:
        command = parse_slash(message.text)
        if command is not None:
            await self.run_command(*command)
        else:
            await self.send(message.text)

    async def send(self, text: str) -> None:
        if self.busy:
            self.prompt.text = text
            self.notify("The model is still working; Esc interrupts it.", severity="warning")
            return
        self.set_retry_offer(None)  # a new request: the offer was about the last one
        self.set_plan_offer(None)
        state = self.app.model_state
        await self.transcript.add_user(text)
        if not state.ready:
            if state.loading:
                self.queued = text
                await self.transcript.add_notice(f"Waiting for {state.loading} to load; your message goes next.")
            else:
                await self.transcript.add_notice("No model is loaded: ctrl+o picks one.", "error")
            return
        self._start_turn(text)

    def _start_turn(self, text: str) -> None:
        self.busy = True
        self._interrupted = False
        self._cancel = threading.Event()
        self.run_turn(text, self._cancel)

    @work(thread=True, exclusive=True, exit_on_error=False, group="turn")
    def run_turn(self, text: str, cancel: threading.Event) -> None:
        for event in self.app.record(self.agent.run_turn(text, cancel)):
            self.post_message(EngineEvent(event))

    def _start_job(self, events_of) -> None:
        """/test, /compact and /init: run `events_of(cancel)` like a turn (Esc interrupts it)."""
        self.busy = True
        self._interrupted = False
        self._cancel = threading.Event()
        self.run_job(events_of, self._cancel)

    @work(thread=True, exclusive=True, exit_on_error=False, group="turn")
    def run_job(self, events_of, cancel: threading.Event) -> None:
        try:
            for event in self.app.record(events_of(cancel)):
                self.post_message(EngineEvent(event))
        finally:
            self.post_message(JobDone())

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # The agent turns its own errors into events; this is for what escapes it.
        if event.worker.group == "turn" and event.state == WorkerState.ERROR:
            self.busy = False
            self.call_later(self.transcript.add_notice, f"The turn failed: {event.worker.error}", "error")

    def action_interrupt(self) -> None:
        if self.busy and not self._cancel.is_set():
            self._cancel.set()  # the model checks it between tokens; the agent stops waiting on reviews
            self._interrupted = True
            self.call_later(self._show_interrupted)
        elif not self.prompt.has_focus:
            self.prompt.focus()

    async def _show_interrupted(self) -> None:
        await self.transcript.end_text()
        await self.notice("⏹ Interrupted.", "warning")

    async def notice(self, text: str, kind: str = "info") -> None:
        await self.transcript.add_notice(text, kind)

    # -- engine events -------------------------------------------------------------------------

    async def on_engine_event(self, message: EngineEvent) -> None:
        await self.handle_event(message.event)  # ChatEvents: drawn and acted on

    @on(JobDone)
    def _job_done(self) -> None:
        self._commands_ended("interrupted" if self._interrupted else "the test run ended")
        self.busy = False
        if self._retry_queued:
            self._retry_if_queued()
        elif self.queued and self.app.model_state.ready:  # a message typed while the model loaded
            text, self.queued = self.queued, None
            self._start_turn(text)

    def _commands_ended(self, why: str) -> None:
        """A turn or a test run is over: nothing it asked or ran is still waiting."""
        self.transcript.commands_dropped(why)
        self.transcript.repair_done()
        self.pending_commands = [p for p in self.pending_commands if not p.done]
        self.app.command_approval_dropped()
        self.status.show_command(None)

    # -- review ----------------------------------------------------------------------------------

    async def _proposal_ready(self, event: ev.ProposalReady) -> None:
        auto = event.reply.done()  # the agent resolved it itself (auto-approve)
        await self.transcript.proposal_ready(event, auto)
        if auto:
            return
        self.pending.append(PendingReview.from_event(event))
        self.status.show_pending(len(self.pending))
        self.action_review()

    def action_review(self) -> None:
        waiting = [p for p in self.pending if not p.done]
        if not waiting:
            self.notify("No edit is waiting for review.")
            return
        self.app.open_review(waiting, self._reviewed)

    def _reviewed(self, decisions) -> None:
        """The review screen closed: `decisions` is [(PendingReview, Review)], or None for "later"."""
        if not decisions:
            return
        late = []
        for pending, review in decisions:
            if not pending.resolve(review):
                late.append(pending.proposal.path)
            if pending in self.pending:
                self.pending.remove(pending)
        self.status.show_pending(len(self.pending))
        if late:
            self.notify(f"Too late: the turn ended before the review of {', '.join(late)}.", severity="warning")
        self.prompt.focus()

    # -- command approval, test results, undo and retry --------------------------------------------

    async def _command_approval(self, event: ev.CommandApproval) -> None:
        card = await self.transcript.command_approval(event)
        if event.reply.done():  # the engine decided itself (a command already allowed)
            if not event.reply.cancelled() and isinstance(event.reply.result(), ev.CommandDecision):
                card.approved(event.reply.result())
            return
        self.pending_commands.append(PendingCommand.from_event(event))
        self._ask_next_command()

    def _ask_next_command(self) -> None:
        if self.asking is not None:
            return
        while self.pending_commands:
            pending = self.pending_commands.pop(0)
            if pending.done:
                continue
            self.asking = pending
            self.status.show_command("waiting for your approval…")
            self.app.open_command_approval(pending, partial(self._command_decided, pending))
            return

    def _command_decided(self, pending: PendingCommand, decision: ev.CommandDecision | None) -> None:
        """The approval prompt closed with the user's decision (None: the turn stopped waiting)."""
        self.asking = None
        self.status.show_command(None)
        card = self.transcript.command_card(pending.call_id)
        if decision is not None:
            if pending.resolve(decision):
                if card is not None:
                    card.approved(decision)
            else:
                self.notify("Too late: the turn ended before you answered.", severity="warning")
        self._ask_next_command()
        if self.asking is None:
            self.prompt.focus()

    def _test_result(self, event: ev.TestResult, card: CommandCard | None) -> None:
        if card is None:  # a candidate check (the repair line tells it), or a run never shown
            return
        if event.ok or event.old_failures:  # an old failure the edit was not meant to fix: no retry
            self.set_retry_offer(None)
        elif event.after_edit:
            self.set_retry_offer(card)

    def set_retry_offer(self, card: CommandCard | None) -> None:
        """Offer ctrl+z (undo and retry) on `card`, or withdraw the offer."""
        old, self.retry_offer = self.retry_offer, card
        if old is not None and old is not card:
            old.offer_retry(False)
        if card is not None:
            card.offer_retry(True)
        if old is not card:
            self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "undo_retry":
            return self.retry_offer is not None
        if action == "carry_out_plan":
            return self.plan_offer is not None
        return True

    def action_undo_retry(self) -> None:
        if self.retry_offer is None:
            return
        if self.busy:  # stop the model (or the test run) first; the undo follows when it has stopped
            self._retry_queued = True
            self.action_interrupt()
            return
        self.set_retry_offer(None)
        self._undo(retry=True)

    def _retry_if_queued(self) -> None:
        if self._retry_queued:
            self._retry_queued = False
            self.set_retry_offer(None)
            self._undo(retry=True)

    def retry_text(self) -> str:
        """What the retry turn says: the agent's own prompt when it has one."""
        make = getattr(self.agent, "retry_prompt", None)
        text = None
        if callable(make):
            try:
                text = make()
            except Exception:  # noqa: BLE001 - the fallback says enough
                text = None
        return text if isinstance(text, str) and text.strip() else RETRY_FALLBACK

    async def _retry(self) -> None:
        await self.send(self.retry_text())

    # -- commands (the others are ChatCommands') ------------------------------------------------------

    def reload_instructions(self) -> None:
        """AGENTS.md (or another instruction file) changed: the system prompt takes it in."""
        from ...core.instructions import apply_instructions

        found = apply_instructions(self.agent, self.app.settings.instructions_max_chars)
        self.status.show_instructions(found.label() if found else "")

    async def _fresh_conversation(self, keep_messages: bool = False) -> None:
        """An empty transcript, nothing waiting (the agent's messages too, unless kept)."""
        if not keep_messages:
            self.agent.clear()
        self.guard_state = None
        self.set_retry_offer(None)
        await self.transcript.clear()
        self.status.show_guard(None, self.agent.config.guard.enabled)
        self.status.show_context(0, self._context_limit())

    async def command_guard(self, arg: str) -> None:
        if arg in ("on", "off"):
            if self._refuse_while_busy("changing the guard"):
                return
            set_guard_enabled(self.agent, arg == "on")
            self.guard_state = None
            self.status.show_guard(None, arg == "on")
            await self.transcript.add_notice(f"Read-loop guard {arg} for this session.")
            return
        config = self.agent.config.guard
        state = self.guard_state or self.agent.guard.state()
        await self.transcript.add_notice(
            f"Read-loop guard {'on' if config.enabled else 'off'}: level {state.level}, "
            f"{state.reads_since_edit} reads since the last edit; the first {config.allowance} reads of a task are "
            f"free, a nudge at {config.nudge_at}, an edit forced at {config.force_at}. /guard on|off switches it.")

    async def command_approve(self, arg: str) -> None:
        on = {"on": True, "off": False}.get(arg, not auto_approving(self.agent))
        self.app.set_auto_approve(on)
        await self.transcript.add_notice(
            "Auto-approve on: edits are applied without review (u or /undo puts them back)." if on
            else "Auto-approve off: every edit waits for your review.", "warning" if on else "info")

    # -- working-tree actions (git runs off the UI thread) -------------------------------------------

    def action_undo(self) -> None:
        if self._refuse_while_busy("undoing"):
            return
        self.set_retry_offer(None)  # the failing edit is going back: nothing left to undo and retry
        self._undo()

    @work(thread=True, exclusive=True, exit_on_error=False, group="files")
    def _undo(self, retry: bool = False) -> None:
        """Undo the last applied edit; with `retry`, then ask the model again (a new user turn)."""
        result = self.agent.toolbox.proposals.undo()
        undone = result.startswith("Undid")
        self.app.call_from_thread(self.notice, result, "success" if undone else "warning")
        if retry and undone:
            self.app.call_from_thread(self._retry)
        elif retry:
            self.app.call_from_thread(self.notice, "Nothing was undone, so the model is not asked again.", "warning")

    @work(thread=True, exclusive=True, exit_on_error=False, group="files")
    def show_diff(self) -> None:
        try:
            text = self.agent.toolbox.workspace.diff_head()
        except Exception as exc:  # noqa: BLE001 - a git failure is one line, never a crash
            self.app.call_from_thread(self.notice, f"git diff failed: {exc}", "error")
            return
        if not text.strip():
            self.app.call_from_thread(self.notice, "No changes against HEAD.")
            return
        self.app.call_from_thread(self._add_diff, text)

    async def _add_diff(self, text: str) -> None:
        await self.transcript.add(DiffBlock(text, pygments_style_for(self.app.theme)))
