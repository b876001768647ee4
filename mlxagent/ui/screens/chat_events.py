"""Engine events on the chat screen: one mapping from an event to the transcript, for a turn
as it runs (`handle_event`) and for a saved session redrawn when it is resumed (`redraw`).

`show_event(event, live)` draws what the event says. A live event may also ask for the
user (a proposal opens the review, a command waits for approval, a compaction for a yes)
and updates the status bar and the screen's state; a replayed one only draws what was
saved (a proposal card then takes its saved outcome from the `ProposalResolved` after it).
"""

from __future__ import annotations

from functools import partial

from ...core import events as ev
from ...core.instructions import INSTRUCTION_FILES
from ..widgets.guard_meter import GuardBanner
from .sessions import ConfirmScreen

FINISH_TEXT = {
    "done": "done",
    "max_steps": "stopped at the step limit",
    "cancelled": "interrupted",
    "error": "failed",
    "guard_stopped": "stopped by the read-loop guard",
    "parse_failures": "stopped: malformed tool calls",
    "tests_failing": "stopped: the edits left the tests failing",
    "unconfirmed": "stopped: an edit nothing confirms was not applied",
}
RUNNING_TEXT = {"tests": "running tests…", "command": "running command…", "check": "checking a candidate fix…",
                "hook": "running a hook…"}


def finish_summary(event: ev.TurnFinished) -> str:
    """The muted line that closes a turn: how it ended, its steps, tokens and time."""
    return (f"— {FINISH_TEXT.get(event.reason, event.reason)} · {event.steps} step(s) · "
            f"{event.generated_tokens} tokens · {event.seconds:.1f} s")


class ChatEvents:
    """The `ChatScreen` part that shows engine events (a mixin: it uses the screen's transcript,
    status bar, agent and the review and approval methods)."""

    async def handle_event(self, event: ev.Event) -> None:
        """An event of the turn (or job) running now."""
        await self.show_event(event, live=True)

    async def redraw(self, record) -> None:
        """Show a resumed session's transcript as it was."""
        from ...core.saved_sessions import rebuild_event

        await self._fresh_conversation(keep_messages=True)
        transcript = self.transcript
        for data in record.events:
            event = rebuild_event(data)
            if event is not None:
                await self.show_event(event, live=False)
        await transcript.end_text()
        transcript.proposals_dropped(list(transcript.waiting_proposals()))
        transcript.commands_dropped("the session was saved before it finished")
        transcript.repair_done()
        await transcript.add_notice(f"Resumed session {record.id} ({record.turns} turn(s), {record.edits_applied} "
                                    f"edit(s) applied); the model continues this conversation.", "success")

    async def show_event(self, event: ev.Event, live: bool) -> None:
        """Show `event`: `live` as its turn runs, else replayed from a saved session."""
        transcript, status = self.transcript, self.status
        if not live and not isinstance(event, ev.TextDelta):
            await transcript.end_text()  # a saved message ends where anything else was saved
        if isinstance(event, ev.TurnStarted):
            if not live:  # a live turn's request was shown when it was sent
                await transcript.add_user(event.user_text)
        elif isinstance(event, ev.TextDelta):
            if live:
                status.text_arrived()
            if not (live and self._interrupted):  # after Esc the rest of the reply is not shown
                await transcript.stream_text(event.text)
        elif isinstance(event, ev.ToolCallStarted):
            await transcript.tool_started(event)
        elif isinstance(event, ev.ToolCallFinished):
            await transcript.tool_finished(event)
        elif isinstance(event, ev.ProposalReady):
            if live:
                await self._proposal_ready(event)
            else:
                await transcript.proposal_ready(event, False)
        elif isinstance(event, ev.CommandApproval):
            if live:
                await self._command_approval(event)
        elif isinstance(event, ev.CommandStarted):
            await transcript.command_started(event)
            if live:
                status.show_command(RUNNING_TEXT.get(event.purpose, "running command…"))
        elif isinstance(event, ev.CommandOutput):
            transcript.command_output(event)
        elif isinstance(event, ev.CommandFinished):
            await transcript.command_finished(event)
            if live:
                status.show_command(None)
        elif isinstance(event, ev.TestResult):
            card = transcript.test_result(event)
            if live:
                self._test_result(event, card)
        elif isinstance(event, ev.RepairProgress):
            if live:  # a resumed session does not redraw the candidate search
                await transcript.repair_progress(event)
        elif isinstance(event, ev.ProposalResolved):
            transcript.proposal_resolved(event)
            if live:
                await self._proposal_resolved(event)
        elif isinstance(event, ev.GuardState):
            if live:
                self.guard_state = event
                status.show_guard(event, self.agent.config.guard.enabled)
                self.query_one(GuardBanner).show(event)
        elif isinstance(event, ev.GenerationStats):
            if live:
                status.generation_done(event, self._context_limit())
        elif isinstance(event, ev.ContextTrimmed):
            if live:
                status.show_context(event.tokens_after, self._context_limit())
            await transcript.add_notice(event.message, "warning")
        elif isinstance(event, ev.ErrorEvent):
            await transcript.add_notice(f"✗ {event.message}", "error")
        elif isinstance(event, ev.CompactionReady):
            if live:
                await transcript.end_text()
                self._ask_compaction(event)
        elif isinstance(event, ev.ContextCompacted):
            await transcript.end_text()
            if live:
                status.show_context(event.tokens_after, self._context_limit())
            # Live, a compaction the user asked for is a success; replayed, every one is a warning.
            await transcript.add_notice(event.message, "success" if live and not event.automatic else "warning")
            if live:
                self.app.warm_cache()
        elif isinstance(event, ev.TurnFinished):
            if live:
                await self._turn_finished(event)
            else:
                await self._finish_notices(event, live=False)

    async def _proposal_resolved(self, event: ev.ProposalResolved) -> None:
        """A live edit's outcome (its card is updated already)."""
        offer = self.retry_offer
        if offer is not None and event.outcome in ("applied", "partly applied") \
                and offer.result is not None and offer.result.after_edit != event.proposal_id:
            self.set_retry_offer(None)  # another edit went in: ctrl+z would undo that one
        if event.outcome == "failed":
            await self.transcript.add_notice(f"Edit of {event.path} not applied: {event.message}", "error")
        elif event.path in INSTRUCTION_FILES:
            self.reload_instructions()

    def _ask_compaction(self, event: ev.CompactionReady) -> None:
        self.app.push_screen(ConfirmScreen("Replace the conversation so far with this summary?", event.summary
                                           + f"\n\n({event.messages_before - 1} messages, {event.tokens_before} "
                                           f"tokens → about {event.tokens_after} tokens)", "Compact", "Keep"),
                             partial(self._compaction_decided, event))

    def _compaction_decided(self, event: ev.CompactionReady, yes: bool | None) -> None:
        if not event.reply.done():
            event.reply.set_result(bool(yes))
        if not yes:
            self.call_later(self.notice, "Kept the conversation as it was.")

    def _context_limit(self) -> int:
        return getattr(self.agent.model, "context_length", 0) or 0

    async def _finish_notices(self, event: ev.TurnFinished, live: bool) -> None:
        """A turn's closing lines: its message, then the summary. Live, the summary is coloured by
        how the turn ended, and left out after Esc (which said so already); replayed, it is muted."""
        await self.transcript.end_text()
        if event.message:
            await self.transcript.add_notice(event.message, "error" if live and event.reason == "error" else "warning")
        if live and event.reason == "cancelled" and self._interrupted:
            return
        kind = {"done": "muted", "cancelled": "warning"}.get(event.reason, "error") if live else "muted"
        await self.transcript.add_notice(finish_summary(event), kind)

    async def _turn_finished(self, event: ev.TurnFinished) -> None:
        self.last_finish = event
        await self._finish_notices(event, live=True)
        dropped = [p for p in self.pending if p.done]
        if dropped:
            self.pending = [p for p in self.pending if not p.done]
            self.transcript.proposals_dropped([p.proposal.id for p in dropped])
            self.app.review_dropped()
        self.status.show_pending(len(self.pending))
        self.query_one(GuardBanner).show(None if event.reason != "guard_stopped" else self.guard_state)
        self._commands_ended("the turn was interrupted" if event.reason == "cancelled" else "the turn ended")
        await self.plan_finished(event.reason)  # chat_modes: a plan-mode turn's plan, for ctrl+g
        self.busy = False
        self._tell_session_problem()
        self._retry_if_queued()

    def _tell_session_problem(self) -> None:
        recorder = self.app.recorder
        if recorder is not None and recorder.problem and recorder.store is not None and not self._told_problem:
            self._told_problem = True
            self.notify(recorder.problem, title="Sessions", severity="warning", timeout=12)
