"""The review screen: the proposed edits, file by file and hunk by hunk, each accepted or
rejected on its own.

Nothing here writes files: the apply key (Enter, from the hunks) dismisses the screen with
one `Review` per proposal and the chat screen answers the agent, which applies the accepted
hunks (`ProposalManager.apply`) and reports the outcome as a `ProposalResolved` event. The
line above the footer says what the apply key will do ("apply 0 of 1 hunks, reject 1, with
reason"); rejecting everything is a valid answer that writes nothing.

A reason (c) is a rejection: typing it rejects the hunk it is about (or the file, after A/R),
and Enter in the reason field only keeps the reason and gives the keys back to the hunks.
Esc closes the screen without deciding; the agent keeps waiting (ctrl+r reopens it).
"""

from __future__ import annotations

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Footer, Input, OptionList, Static
from textual.widgets.option_list import Option

from ..bridge import PendingReview
from ..review_state import ReviewState
from ..themes import pygments_style_for
from ..widgets.diff_view import CodeHighlighter, HunkView


class FileList(OptionList, can_focus=False):
    """The changed files; clicked rather than focused, so the keys stay with the review."""


class HunkScroll(VerticalScroll, can_focus=False):
    """The hunks of the selected file; j/k move between hunks, not lines."""


class ReviewScreen(Screen):
    CSS_PATH = "review.tcss"
    AUTO_FOCUS = ""  # no auto focus: the keys belong to the review; the reason input is focused with c
    BINDINGS = [
        Binding("j,down", "next_hunk", "Next hunk", key_display="j/↓"),
        Binding("k,up", "previous_hunk", "Prev hunk", key_display="k/↑"),
        Binding("tab", "next_file", "Next file", show=False),
        Binding("shift+tab", "previous_file", "Prev file", show=False),
        Binding("space", "toggle", "Toggle"),
        Binding("a", "accept", "Accept"),
        Binding("r", "reject", "Reject"),
        Binding("A", "accept_all", "Accept all", key_display="A"),
        Binding("R", "reject_all", "Reject all", key_display="R"),
        Binding("c", "reason", "Reason"),
        Binding("enter", "submit", "Apply"),
        Binding("escape", "later", "Later"),
        Binding("t", "trust", "Accept & auto-approve", show=False),
    ]

    def __init__(self, pending: list[PendingReview]) -> None:
        super().__init__()
        self.pending = list(pending)
        self.state = ReviewState([p.proposal for p in self.pending])
        self._highlighter = CodeHighlighter("default")

    def compose(self) -> ComposeResult:
        yield Static(id="review-title")
        with Horizontal(id="review-body"):
            yield FileList(id="review-files")
            with Vertical(id="review-main"):
                yield Static(id="review-note")
                yield HunkScroll(id="review-hunks")
        with Horizontal(id="review-reason-row"):
            yield Static(id="review-reason-label")
            yield Input(placeholder="press c to say why (it rejects); enter goes back to the hunks",
                        id="review-reason")
        yield Static(id="review-summary")
        yield Footer()

    async def on_mount(self) -> None:
        self._highlighter = CodeHighlighter(pygments_style_for(self.app.theme))
        self.app.theme_changed_signal.subscribe(self, self._theme_changed)
        self._refresh_files()
        await self._show_file()
        self.set_focus(None)

    # -- drawing -----------------------------------------------------------------------------

    def _file_label(self, index: int) -> Content:
        f = self.state.files[index]
        yes, no = f.counts()
        marks = f"✓{yes}" + (f" ✗{no}" if no else "")
        return Content(f"{f.path}  {marks}")

    def _refresh_files(self) -> None:
        files = self.query_one(FileList)
        files.clear_options()
        files.add_options([Option(self._file_label(i), id=str(i)) for i in range(len(self.state.files))])
        files.highlighted = self.state.file_index

    def _refresh_title(self) -> None:
        f = self.state.file
        yes, no = f.counts()
        n = len(self.state.files)
        which = f"file {self.state.file_index + 1}/{n} · " if n > 1 else ""
        title = (f"Review · {which}{f.proposal.summary} · accepting {yes} of {f.n_hunks} hunk"
                 f"{'s' if f.n_hunks != 1 else ''}")
        self.query_one("#review-title", Static).update(Content(title))
        note = self.query_one("#review-note", Static)
        note.update(Content(f.proposal.note or ""))
        note.display = bool(f.proposal.note)
        self._refresh_summary()

    def _refresh_summary(self) -> None:
        """The reason's target, and what the apply key will do."""
        state = self.state
        label = self.query_one("#review-reason-label", Static)
        label.update(Content(f"Reason (rejects {state.describe(state.target)}):"))
        plan = state.summary()
        if state.typing_reason:
            text = f"Enter: keep the reason, back to the hunks · then Enter will {plan}"
        else:
            text = f"Enter: {plan}"
        summary = self.query_one("#review-summary", Static)
        summary.update(Content(text))
        yes = sum(f.counts()[0] for f in state.files)
        summary.set_class(not yes, "-nothing")

    async def _show_file(self) -> None:
        f = self.state.file
        scroll = self.query_one(HunkScroll)
        await scroll.remove_children()
        views = [HunkView(f.path, hunk, f.n_hunks, self._highlighter, accepted=f.accepted[i], id=f"hunk-{i}")
                 for i, hunk in enumerate(f.proposal.hunks)]
        if views:
            await scroll.mount_all(views)
        else:
            await scroll.mount(Static(Content("No changes in this proposal."), classes="notice"))
        reason = self.query_one("#review-reason", Input)
        if reason.value != f.reason:
            reason.value = f.reason
        self._refresh_title()
        self._show_current()

    def _views(self) -> list[HunkView]:
        return list(self.query(HunkView))

    def _show_current(self) -> None:
        views = self._views()
        for i, view in enumerate(views):
            view.set_decision(self.state.file.accepted[i])
            view.set_class(i == self.state.hunk_index, "-current")
        if views:
            self.query_one(HunkScroll).scroll_to_widget(views[self.state.hunk_index], animate=False, top=True)
        files = self.query_one(FileList)
        files.replace_option_prompt_at_index(self.state.file_index, self._file_label(self.state.file_index))
        self._refresh_title()

    async def _theme_changed(self, theme) -> None:
        self._highlighter = CodeHighlighter(pygments_style_for(self.app.theme))
        for view in self._views():
            view.set_highlighter(self._highlighter)

    # -- keys --------------------------------------------------------------------------------

    def action_next_hunk(self) -> None:
        self.state.next_hunk()
        self._show_current()

    def action_previous_hunk(self) -> None:
        self.state.previous_hunk()
        self._show_current()

    async def action_next_file(self) -> None:
        self.state.next_file(1)
        self.query_one(FileList).highlighted = self.state.file_index
        await self._show_file()

    async def action_previous_file(self) -> None:
        self.state.next_file(-1)
        self.query_one(FileList).highlighted = self.state.file_index
        await self._show_file()

    @on(OptionList.OptionSelected, "#review-files")
    async def _file_clicked(self, event: OptionList.OptionSelected) -> None:
        if event.option_index != self.state.file_index:
            if self.state.typing_reason:  # the reason stays with the file it was typed for
                self._end_reason()
            self.state.select_file(event.option_index)
            await self._show_file()

    def action_toggle(self) -> None:
        self.state.toggle()
        self._show_current()

    def action_accept(self) -> None:
        self.state.accept()
        self._show_current()

    def action_reject(self) -> None:
        self.state.reject()
        self._show_current()

    def action_accept_all(self) -> None:
        self.state.accept_all()
        self._show_current()

    def action_reject_all(self) -> None:
        self.state.reject_all()
        self._show_current()

    def action_reason(self) -> None:
        self._begin_reason()
        self.query_one("#review-reason", Input).focus()

    def _begin_reason(self) -> None:
        if not self.state.typing_reason:
            self.state.begin_reason()
            self._refresh_summary()

    def _end_reason(self) -> None:
        """Keep what was typed and give the keys back to the hunks."""
        if self.state.typing_reason:
            self.state.end_reason()
        if self.focused is not None:
            self.set_focus(None)
        self._show_current()

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        if event.widget.id == "review-reason":  # focused with c, or by a click
            self._begin_reason()

    def on_descendant_blur(self, event: events.DescendantBlur) -> None:
        if event.widget.id == "review-reason" and self.state.typing_reason:
            self.state.end_reason()
            self._show_current()

    @on(Input.Changed, "#review-reason")
    def _reason_typed(self, event: Input.Changed) -> None:
        # Only what the user types counts; the value is also set when another file is shown.
        if self.state.typing_reason and event.value != self.state.reason:
            self.state.set_reason(event.value)
            self._show_current()

    @on(Input.Submitted, "#review-reason")
    def _reason_entered(self, event: Input.Submitted) -> None:
        event.stop()
        if self.state.typing_reason and event.value != self.state.reason:
            self.state.set_reason(event.value)
        self._end_reason()  # never an apply: that takes the apply key, from the hunks

    def action_later(self) -> None:
        if self.focused is not None:  # leave the reason input first, keeping what was typed
            self._end_reason()
            return
        self.dismiss(None)

    def action_submit(self) -> None:
        if isinstance(self.focused, Input):  # the apply key works from the hunks only
            return
        self.dismiss(list(zip(self.pending, self.state.reviews())))

    def action_trust(self) -> None:
        if isinstance(self.focused, Input):
            return
        self.app.set_auto_approve(True)
        self.action_accept_all()
        self.action_submit()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # While the reason is typed, letters are text, not review keys, and Enter is the
        # reason's own (keep it, back to the hunks): only Esc reaches the screen.
        if isinstance(self.focused, Input) and action != "later":
            return False
        return True
