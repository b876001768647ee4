"""The conversation as it happens: user messages, the assistant's Markdown as it streams,
tool cards, command cards (commands and test runs, by call_id), proposals and their
outcome, the candidate-fix search, notices and errors.

It stays scrolled to the bottom while new content arrives, unless the user scrolled up
(Textual's anchor: scrolling back to the end re-attaches it).
"""

from __future__ import annotations

from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.widget import Widget
from textual.widgets import Markdown, Static
from textual.widgets.markdown import MarkdownStream

from ...core import events as ev
from .command_card import CommandCard, RepairLine
from .diff_view import CodeHighlighter, HunkView, hunks_from_diff
from .tool_card import ToolCard


class UserMessage(Static):
    def __init__(self, text: str) -> None:
        super().__init__(Content(text), classes="user-message")


class AssistantMessage(Markdown):
    def __init__(self) -> None:
        super().__init__("", classes="assistant-message")


class Notice(Static):
    """A line from the app rather than the model; `kind` is info, success, warning or error."""

    def __init__(self, text: str | Content, kind: str = "info") -> None:
        super().__init__(Content(text) if isinstance(text, str) else text, classes=f"notice -{kind}")
        self.kind = kind


class ProposalCard(Static):
    """A proposed edit: waiting for review, then what became of it."""

    def __init__(self, proposal) -> None:
        self.proposal = proposal
        self.auto = False
        super().__init__(Content(self._text("waiting for your review (ctrl+r)")), classes="proposal-card -pending")

    def _text(self, status: str) -> str:
        note = f"\n  {self.proposal.note}" if getattr(self.proposal, "note", "") else ""
        return f"✎ {self.proposal.summary} · {status}{note}"

    def auto_approved(self) -> None:
        self.auto = True
        self.update(Content(self._text("auto-approved")))

    def resolved(self, event: ev.ProposalResolved) -> None:
        status = {"applied": "✓ applied", "partly applied": "◐ partly applied", "rejected": "✗ rejected",
                  "failed": "✗ not applied"}.get(event.outcome, event.outcome)
        if event.outcome == "partly applied":
            status += f" (hunks {', '.join(str(i + 1) for i in event.applied_hunks)} of " \
                      f"{len(event.applied_hunks) + len(event.rejected_hunks)})"
        if self.auto:
            status = "auto-approved · " + status
        details = [d for d in (event.reason and f"reason: {event.reason}", event.message) if d]
        self.update(Content(self._text(status + (" — " + "; ".join(details) if details else ""))))
        self.remove_class("-pending")
        self.add_class("-" + event.outcome.replace(" ", "-"))

    def interrupted(self) -> None:
        self.update(Content(self._text("dropped: the turn was interrupted before the review")))
        self.remove_class("-pending")
        self.add_class("-rejected")


class DiffBlock(Vertical):
    """A multi-file unified diff (from `/diff`), each file's hunks highlighted."""

    def __init__(self, diff_text: str, style_name: str) -> None:
        super().__init__(classes="diff-block")
        self.diff_text = diff_text
        self.style_name = style_name

    def compose(self):
        highlighter = CodeHighlighter(self.style_name)
        files = hunks_from_diff(self.diff_text)
        for path, hunks in files:
            yield Static(Content(path), classes="diff-file")
            for hunk in hunks:
                yield HunkView(path, hunk, len(hunks), highlighter)
        if not files:
            yield Static(Content(self.diff_text.strip() or "No changes."), classes="notice -info")


class Transcript(VerticalScroll):
    BINDINGS = [Binding("u", "screen.undo", "Undo edit")]

    def __init__(self, id: str | None = None) -> None:
        super().__init__(id=id)
        self._message: AssistantMessage | None = None
        self._stream: MarkdownStream | None = None
        self._leading = ""  # whitespace before the first visible character of a message
        self._cards: dict[str, ToolCard] = {}
        self._proposals: dict[str, ProposalCard] = {}
        self._commands: dict[str, CommandCard] = {}
        self._checks: set[str] = set()  # call_ids of candidate checks: shown on the repair line only
        self._repair: RepairLine | None = None

    def on_mount(self) -> None:
        self.anchor()

    async def add(self, widget: Widget) -> Widget:
        await self.end_text()
        await self.mount(widget)
        return widget

    async def add_user(self, text: str) -> None:
        await self.add(UserMessage(text))

    async def add_notice(self, text: str | Content, kind: str = "info") -> Notice:
        return await self.add(Notice(text, kind))

    # -- streaming text ------------------------------------------------------------------

    async def stream_text(self, text: str) -> None:
        if self._stream is None:
            # Leading newlines would open a message with a blank block; hold them back.
            self._leading += text
            if not self._leading.strip():
                return
            text, self._leading = self._leading.lstrip(), ""
            self._message = AssistantMessage()
            await self.mount(self._message)
            self._stream = Markdown.get_stream(self._message)
        await self._stream.write(text)

    async def end_text(self) -> None:
        """Finish the message being streamed (the next text starts a new one)."""
        stream, self._stream, self._message, self._leading = self._stream, None, None, ""
        if stream is not None:
            await stream.stop()

    @property
    def streamed_text(self) -> str:
        """All assistant text shown so far (for tests and the benchmark)."""
        return "\n".join(m.source for m in self.query(AssistantMessage))

    # -- tools and proposals ---------------------------------------------------------------

    async def tool_started(self, event: ev.ToolCallStarted) -> None:
        self._cards[event.call_id] = await self.add(ToolCard(event.call_id, event.name, event.arguments))

    async def tool_finished(self, event: ev.ToolCallFinished) -> None:
        card = self._cards.pop(event.call_id, None)
        if card is None:  # a finish without a start (not expected): show it all the same
            card = await self.add(ToolCard(event.call_id, event.name, event.arguments))
        card.finish(event.result, event.is_error)

    async def proposal_ready(self, event: ev.ProposalReady, auto_approved: bool) -> None:
        card = await self.add(ProposalCard(event.proposal))
        if auto_approved:
            card.auto_approved()
        self._proposals[event.proposal.id] = card

    def proposal_resolved(self, event: ev.ProposalResolved) -> None:
        card = self._proposals.pop(event.proposal_id, None)
        if card is not None:
            card.resolved(event)

    def waiting_proposals(self) -> list[str]:
        """The ids of proposals shown as waiting for a review."""
        return list(self._proposals)

    def proposals_dropped(self, proposal_ids: list[str]) -> None:
        for pid in proposal_ids:
            if (card := self._proposals.pop(pid, None)) is not None:
                card.interrupted()

    # -- commands and tests ----------------------------------------------------------------

    def command_card(self, call_id: str) -> CommandCard | None:
        return self._commands.get(call_id)

    @property
    def command_cards(self) -> list[CommandCard]:
        return list(self._commands.values())

    async def add_command_card(self, call_id: str, argv, cwd: str = "", purpose: str = "command") -> CommandCard:
        """The card for `call_id`, added at the end of the transcript the first time."""
        card = self._commands.get(call_id)
        if card is None:
            card = self._commands[call_id] = await self.add(CommandCard(call_id, argv, cwd, purpose))
        return card

    async def command_approval(self, event: ev.CommandApproval) -> CommandCard:
        return await self.add_command_card(event.call_id, event.argv, event.cwd, event.purpose)

    async def command_started(self, event: ev.CommandStarted) -> CommandCard | None:
        if event.purpose == "check":
            self._checks.add(event.call_id)
            (await self._repair_line()).checking(event.argv)
            return None
        card = await self.add_command_card(event.call_id, event.argv, event.cwd, event.purpose)
        card.started()
        return card

    def command_output(self, event: ev.CommandOutput) -> None:
        if (card := self._commands.get(event.call_id)) is not None:
            card.add_output(event.text)

    async def command_finished(self, event: ev.CommandFinished) -> CommandCard | None:
        if event.call_id in self._checks:
            return None
        card = self._commands.get(event.call_id)
        if card is None:  # a finish without a start (a refusal the UI never saw asked): show it
            card = await self.add_command_card(event.call_id, event.argv)
        card.finish(event)
        return card

    def test_result(self, event: ev.TestResult) -> CommandCard | None:
        if event.call_id in self._checks:
            return None
        card = self._commands.get(event.call_id)
        if card is not None:
            card.test_result(event)
        return card

    def commands_dropped(self, why: str) -> None:
        """The turn (or /test) ended: a card still waiting or running will not hear more."""
        for card in self._commands.values():
            card.dropped(why)

    async def _repair_line(self) -> RepairLine:
        if self._repair is None or self._repair.stage in ("found", "none"):
            self._repair = await self.add(RepairLine())
        return self._repair

    async def repair_progress(self, event: ev.RepairProgress) -> None:
        if event.stage == "candidates" and self._repair is not None and self._repair.stage not in ("", "candidates"):
            self._repair = None  # a new search
        (await self._repair_line()).progress(event)

    def repair_done(self) -> None:
        """The turn ended: the next search gets a line of its own."""
        self._repair = None
        self._checks.clear()

    async def clear(self) -> None:
        await self.end_text()
        self._cards.clear()
        self._proposals.clear()
        self._commands.clear()
        self._checks.clear()
        self._repair = None
        await self.remove_children()
