"""`/sessions` and `mlxagent --resume`: pick a saved session of this repository to reopen; and the
yes/no box `/compact` shows its summary in."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Label, OptionList, Static
from textual.widgets.option_list import Option

from ...session_cli import when


class SessionPicker(ModalScreen[str | None]):
    """Dismissed with the chosen session's id, or None."""

    DEFAULT_CSS = """
    SessionPicker { align: center middle; }
    #sessions-box { width: 90%; max-width: 130; height: auto; max-height: 80%; padding: 1 2;
                    background: $panel; border: tall $primary; }
    #sessions-list { height: auto; max-height: 20; margin: 1 0; }
    #sessions-hint { color: $text-muted; }
    """
    BINDINGS = [Binding("escape", "close", "Close")]

    def __init__(self, sessions, current: str | None = None) -> None:
        super().__init__()
        self.sessions = list(sessions)
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(id="sessions-box"):
            yield Label(f"Saved sessions of this repository ({len(self.sessions)}), newest first",
                        classes="sessions-heading")
            options = []
            for s in self.sessions:
                edits = f"{s.edits_applied} edit{'s' if s.edits_applied != 1 else ''}"
                mark = "◆ " if s.id == self.current else "  "
                options.append(Option(f"{mark}{when(s.updated)}  {s.title[:56]:<56}  {(s.model or '?')[:18]}  {edits}",
                                      id=s.id))
            yield OptionList(*options, id="sessions-list")
            yield Static("enter reopen · esc close (◆ this session)", id="sessions-hint")

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_close(self) -> None:
        self.dismiss(None)


class ConfirmScreen(ModalScreen[bool]):
    """A question with a body of text: y / enter answers yes, n / esc no."""

    DEFAULT_CSS = """
    ConfirmScreen { align: center middle; }
    #confirm-box { width: 90%; max-width: 110; height: auto; max-height: 85%; padding: 1 2;
                   background: $panel; border: tall $primary; }
    #confirm-body { height: auto; max-height: 24; margin: 1 0; }
    #confirm-buttons { height: auto; }
    #confirm-buttons Button { margin: 0 2 0 0; }
    """
    BINDINGS = [Binding("y", "answer(True)", "Yes"), Binding("n,escape", "answer(False)", "No")]

    def __init__(self, title: str, body: str, yes: str = "Yes", no: str = "No") -> None:
        super().__init__()
        self.title_text, self.body, self.yes, self.no = title, body, yes, no

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-box"):
            yield Label(self.title_text, classes="confirm-title")
            with VerticalScroll(id="confirm-body"):
                yield Static(self.body, markup=False)
            with Horizontal(id="confirm-buttons"):
                yield Button(f"{self.yes} (y)", id="confirm-yes", variant="primary")
                yield Button(f"{self.no} (n)", id="confirm-no")

    def on_mount(self) -> None:
        self.query_one("#confirm-yes", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "confirm-yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
