"""The multi-line input: Enter sends, ctrl+j (or shift+enter where the terminal tells it
apart) starts a new line, up/down on the first/last line walk the history."""

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
