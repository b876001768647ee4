"""The multi-line input: Enter sends, ctrl+j (or shift+enter where the terminal tells it
apart) starts a new line, up/down on the first/last line walk the history.

The shell's editing keys work on the line as typed (up to the newline), not on the row it
happens to be wrapped into: ctrl+u / ctrl+k delete to the line's start / end (at the very
start / end they join the line with the one before / after), ctrl+w (or alt+backspace)
deletes the word before the cursor, alt+d the word after it, ctrl+a / ctrl+e go to the
line's start / end, alt+b / alt+f a word left / right. Home / End keep the TextArea's
meaning (the wrapped row)."""

from __future__ import annotations

from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.widgets import TextArea


class InputHistory:
    """Sent inputs, oldest first, with a cursor; the text being typed is kept as a draft."""

    def __init__(self, limit: int = 200) -> None:
        self.entries: list[str] = []
        self.limit = limit
        self._pos: int | None = None  # index into entries while browsing; None: at the draft
        self._draft = ""

    def add(self, text: str) -> None:
        if text and (not self.entries or self.entries[-1] != text):
            self.entries.append(text)
            del self.entries[: -self.limit]
        self._pos = None

    def previous(self, current: str) -> str | None:
        if not self.entries:
            return None
        if self._pos is None:
            self._draft = current
            self._pos = len(self.entries) - 1
        elif self._pos > 0:
            self._pos -= 1
        else:
            return None
        return self.entries[self._pos]

    def next(self) -> str | None:
        if self._pos is None:
            return None
        if self._pos < len(self.entries) - 1:
            self._pos += 1
            return self.entries[self._pos]
        self._pos = None
        return self._draft


class PromptInput(TextArea):
    # Enter and ctrl+j are handled in `_on_key`, in the order the keys arrived: a priority
    # binding would run as soon as the key reaches the app, ahead of the characters typed just
    # before it that are still queued here, and send half a line. These bindings are for the
    # footer and the keymap; their actions are the same.
    BINDINGS = [
        Binding("enter", "submit", "Send"),
        Binding("ctrl+j,shift+enter", "newline", "New line", show=False),
        Binding("up", "history_previous", show=False),
        Binding("down", "history_next", show=False),
        Binding("ctrl+u", "delete_to_start_of_line", "Delete to line start", show=False),
        Binding("ctrl+k", "delete_to_end_of_line", "Delete to line end", show=False),
        Binding("ctrl+a", "line_start", "Line start", show=False),
        Binding("ctrl+e", "line_end", "Line end", show=False),
        Binding("alt+b", "cursor_word_left", "Word left", show=False),
        Binding("alt+f", "cursor_word_right", "Word right", show=False),
        Binding("alt+d", "delete_word_right", "Delete word right", show=False),
    ]
    KEY_ACTIONS = {"enter": "submit", "ctrl+j": "newline", "shift+enter": "newline"}

    class Submitted(Message):
        def __init__(self, prompt: "PromptInput", text: str) -> None:
            super().__init__()
            self.prompt = prompt
            self.text = text

    def __init__(self, *, placeholder: str = "", id: str | None = None, cursor_blink: bool = True) -> None:
        super().__init__(soft_wrap=True, show_line_numbers=False, tab_behavior="focus", compact=True,
                         highlight_cursor_line=False, placeholder=placeholder, id=id)
        self.cursor_blink = cursor_blink
        self.sent = InputHistory()

    async def _on_key(self, event: events.Key) -> None:
        action = self.KEY_ACTIONS.get(event.key)
        if action is None:
            await super()._on_key(event)
            return
        event.stop()
        event.prevent_default()  # not the TextArea's own newline
        getattr(self, f"action_{action}")()

    def action_submit(self) -> None:
        text = self.text.strip()
        if not text:
            return
        self.sent.add(text)
        self.clear()
        self.post_message(self.Submitted(self, text))

    def action_newline(self) -> None:
        self.insert("\n")

    # -- shell editing keys: the logical line, not the wrapped row ---------------------------

    def _line_bounds(self) -> tuple[tuple[int, int], tuple[int, int]]:
        row, _ = self.cursor_location
        return (row, 0), (row, len(self.document[row]))

    def action_delete_to_start_of_line(self) -> None:
        if self.read_only:
            return
        start, end = self.selection
        if start != end:
            self.delete(start, end, maintain_selection_offset=False)
            return
        row, column = self.cursor_location
        if column == 0:
            if row > 0:  # at the start already: join with the line above
                self.delete((row - 1, len(self.document[row - 1])), (row, 0), maintain_selection_offset=False)
            return
        self.delete((row, 0), (row, column), maintain_selection_offset=False)

    def action_delete_to_end_of_line(self) -> None:
        if self.read_only:
            return
        start, end = self.selection
        if start != end:
            self.delete(start, end, maintain_selection_offset=False)
            return
        row, column = self.cursor_location
        line_end = self._line_bounds()[1]
        if column == line_end[1]:
            if row < self.document.line_count - 1:  # at the end already: join with the line below
                self.delete((row, column), (row + 1, 0), maintain_selection_offset=False)
            return
        self.delete((row, column), line_end, maintain_selection_offset=False)

    def action_line_start(self, select: bool = False) -> None:
        self.move_cursor(self._line_bounds()[0], select=select)

    def action_line_end(self, select: bool = False) -> None:
        self.move_cursor(self._line_bounds()[1], select=select)

    def _show(self, text: str) -> None:
        self.text = text
        self.move_cursor(self.document.end)

    def action_history_previous(self) -> None:
        if self.cursor_location[0] == 0 and (text := self.sent.previous(self.text)) is not None:
            self._show(text)
        else:
            self.action_cursor_up()

    def action_history_next(self) -> None:
        if self.cursor_location[0] == self.document.line_count - 1 and (text := self.sent.next()) is not None:
            self._show(text)
        else:
            self.action_cursor_down()
