"""The multi-line input: Enter sends, ctrl+j (or shift+enter where the terminal tells it
apart) starts a new line, up/down on the first/last line walk the history.

The shell's editing keys work on the line as typed (up to the newline), not on the row it
happens to be wrapped into: ctrl+u / ctrl+k delete to the line's start / end (at the very
start / end they join the line with the one before / after), ctrl+w (or alt+backspace)
deletes the word before the cursor, alt+d the word after it, ctrl+a / ctrl+e go to the
line's start / end, alt+b / alt+f a word left / right. Home / End keep the TextArea's
meaning (the wrapped row).

Typing an `@path` mention opens a dropdown of the repository's files that match it (see
`PathCompletion`); while it is open, up/down move its highlight instead of walking the
history, Tab or Enter put the highlighted path in place of what was typed (Enter does not
send), and Esc closes it (without reaching the screen, so it does not interrupt the model).
The file list comes from `file_source`, a callable the owner sets; it is called in a thread
worker (it may run git) when set and each time the dropdown opens, and the last list is
used meanwhile."""

from __future__ import annotations

from functools import partial
from typing import Callable

from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.widgets import TextArea
from textual.widgets.text_area import Edit, EditResult

from ...core.attachments import complete_paths, mention_at
from .path_completion import MAX_ROWS, PathCompletion


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
        # Only while the path dropdown is open (check_action); `_on_key` takes these keys then.
        Binding("tab", "completion_accept", "Insert path"),
        Binding("escape", "completion_close", "Close list"),
    ]
    COMPLETION_ACTIONS = {"completion_accept", "completion_close"}
    KEY_ACTIONS = {"enter": "submit", "ctrl+j": "newline", "shift+enter": "newline"}
    # While the path dropdown is open these keys are its own, ahead of the bindings above and the
    # screen's (escape interrupts the model there; tab moves the focus).
    COMPLETION_KEYS = {"up": "completion_previous", "down": "completion_next", "tab": "completion_accept",
                       "enter": "completion_accept", "escape": "completion_close"}

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
        self._file_source: Callable[[], list[str]] | None = None
        self.files: list[str] = []  # the last list file_source gave
        self._fetching = False
        self._refetch = False
        self.completion = PathCompletion(self)
        self._dismissed: tuple[int, int] | None = None  # (row, column) of the `@` whose dropdown Esc closed
        self._wanted = False  # the last edit typed a mention: open the dropdown when the files come
        self._accepting = False

    def on_mount(self) -> None:
        self.screen.mount(self.completion)
        self.refresh_files()

    def on_unmount(self) -> None:
        if self.completion.is_attached:
            self.completion.remove()

    async def _on_key(self, event: events.Key) -> None:
        if self.completion.is_open and (action := self.COMPLETION_KEYS.get(event.key)) is not None:
            event.stop()
            event.prevent_default()
            getattr(self, f"action_{action}")()
            return
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

    # -- `@path` completion --------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in self.COMPLETION_ACTIONS:
            return self.completion.is_open
        if action == "submit" and self.completion.is_open:
            return False  # the footer says what Enter does now
        return super().check_action(action, parameters)

    @property
    def file_source(self) -> Callable[[], list[str]] | None:
        return self._file_source

    @file_source.setter
    def file_source(self, source: Callable[[], list[str]] | None) -> None:
        self._file_source = source
        if source is not None and self.is_mounted:
            self.refresh_files()

    def refresh_files(self) -> None:
        """Ask file_source for the list again, off the UI thread (one call at a time)."""
        if self._file_source is None:
            return
        if self._fetching:
            self._refetch = True
            return
        self._fetching = True
        self.run_worker(partial(self._fetch_files, self._file_source), thread=True, group="path-completion",
                        exit_on_error=False)

    def _fetch_files(self, source: Callable[[], list[str]]) -> None:
        try:
            files = list(source())
        except Exception:  # noqa: BLE001 - a git failure leaves the last list in use
            files = None
        try:
            self.app.call_from_thread(self._files_fetched, files)
        except Exception:  # noqa: BLE001 - the app is closing
            pass

    def _files_fetched(self, files: list[str] | None) -> None:
        self._fetching = False
        if files is not None:
            self.files = files
            if self.completion.is_open or self._wanted:
                self._update_completion(may_open=True, fetch=False)
        if self._refetch:
            self._refetch = False
            self.refresh_files()

    def _current_mention(self) -> tuple[int, int, str] | None:
        """(row, column of the `@`, query) of the mention the cursor is at the end of, or None."""
        start, end = self.selection
        if start != end:
            return None
        row, column = end
        found = mention_at(self.document[row], column)
        if found is None:
            return None
        return row, found[0], found[1]

    def edit(self, edit: Edit) -> EditResult:
        result = super().edit(edit)
        if not self._accepting:
            self._update_completion(may_open=True)
        return result

    def load_text(self, text: str) -> None:
        super().load_text(text)  # a history entry, or text put back: no dropdown for what was not typed
        self._update_completion(may_open=False)

    def on_text_area_selection_changed(self, event: TextArea.SelectionChanged) -> None:
        if self.completion.is_open:  # the cursor moved: follow it, or close
            self._update_completion(may_open=False)

    def on_blur(self) -> None:
        self.completion.close()

    def _update_completion(self, may_open: bool, fetch: bool = True) -> None:
        mention = self._current_mention() if self.has_focus and not self.read_only else None
        self._wanted = False
        if mention is None:
            self._dismissed = None
            self.completion.close()
            return
        row, column, query = mention
        if self._dismissed == (row, column):
            return
        self._dismissed = None
        if not (self.completion.is_open or may_open):
            return
        if fetch and not self.completion.is_open:
            self.refresh_files()  # the cached list now, the fresh one when it comes
        self._wanted = True
        self.completion.show_paths(complete_paths(query, self.files, limit=MAX_ROWS))

    def action_completion_previous(self) -> None:
        self.completion.move_highlight(-1)

    def action_completion_next(self) -> None:
        self.completion.move_highlight(1)

    def action_completion_close(self) -> None:
        mention = self._current_mention()
        self._dismissed = (mention[0], mention[1]) if mention else None
        self.completion.close()

    def accept_completion(self) -> None:
        """Put the highlighted path in place of the mention being typed, then a space."""
        path = self.completion.highlighted_path
        mention = self._current_mention()
        self.completion.close()
        if path is None or mention is None:
            return
        row, column, _ = mention
        line = self.document[row]
        end = self.cursor_location[1]
        while end < len(line) and not line[end].isspace():  # the rest of the word, if the cursor was inside it
            end += 1
        spaced = end < len(line) and line[end] == " "
        text = f'"{path}"' if any(ch.isspace() for ch in path) or line[column + 1:column + 2] == '"' else path
        self._accepting = True
        try:
            self.replace(text + ("" if spaced else " "), (row, column + 1), (row, end),
                         maintain_selection_offset=False)
            if spaced:
                self.move_cursor((row, column + 1 + len(text) + 1))
        finally:
            self._accepting = False
        self._wanted = False

    action_completion_accept = accept_completion
