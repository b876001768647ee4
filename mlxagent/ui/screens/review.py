"""The review screen: the proposed edits, file by file and hunk by hunk, each accepted or
rejected on its own.

Nothing here writes files: on Enter the screen is dismissed with one `Review` per
proposal and the chat screen answers the agent, which applies the accepted hunks
(`ProposalManager.apply`) and reports the outcome as a `ProposalResolved` event.
Esc closes the screen without deciding; the agent keeps waiting (ctrl+r reopens it).
"""

from __future__ import annotations

from textual import on
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
        Binding("enter", "submit", "Submit"),
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
            yield Static("Reason (optional, told to the model when you reject):", id="review-reason-label")
            yield Input(placeholder="press c to type; enter submits", id="review-reason")
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
        self.query_one("#review-reason", Input).focus()

    def action_later(self) -> None:
        if self.focused is not None:  # leave the reason input first
            self.set_focus(None)
            return
        self.dismiss(None)

    def action_submit(self) -> None:
        self.state.reason = self.query_one("#review-reason", Input).value
        self.dismiss(list(zip(self.pending, self.state.reviews())))

    def action_trust(self) -> None:
        self.app.set_auto_approve(True)
        self.action_accept_all()
        self.action_submit()

    @on(Input.Submitted, "#review-reason")
    def _reason_entered(self) -> None:
        self.action_submit()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # While the reason is typed, letters are text, not review keys.
        if isinstance(self.focused, Input) and action not in ("submit", "later"):
            return False
        return True
