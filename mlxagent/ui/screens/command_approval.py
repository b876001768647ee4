"""Asking before a command runs: the command, where it runs, and one key per answer.

The prompt shows the command with control characters as escapes (`\x1b`, `\r`, `\n`), so a
repository's command cannot redraw the prompt, and says where it came from. The keys follow
the review screen where they fit: y, a or Enter run it this time (the tests: for this session,
in memory); A always allows this command in this repository (saved); r or n refuse; c types a reason (a reason means
refuse; Enter in the field refuses with it); Esc refuses for now, with no reason (from
the reason field, Esc first leaves the field, as on the review screen).

Nothing here runs anything: the screen is dismissed with a `CommandDecision` and the
chat screen resolves the agent's Future with it (`PendingCommand.resolve`).
"""

from __future__ import annotations

from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from ...core.events import CommandDecision
from ..bridge import PendingCommand

KEYS_REST = " · A always allow in this repository (saved) · r/n refuse · c give a reason · esc not now"
KEYS_LINE = "y/a/enter run once (this time only)" + KEYS_REST
TEST_KEYS_LINE = "y/a/enter run (this session)" + KEYS_REST


MCP_KEYS_LINE = ("y/a/enter call once (this time only) · A always allow this tool in this repository (saved)"
                 + KEYS_REST.split("(saved)", 1)[1])


def keys_line(purpose: str) -> str:
    """What each key does: for the tests, "run" lasts the session; for a command, this time only."""
    return TEST_KEYS_LINE if purpose == "tests" else MCP_KEYS_LINE if purpose == "mcp" else KEYS_LINE


class CommandApprovalScreen(ModalScreen[CommandDecision]):
    CSS_PATH = "command_approval.tcss"
    AUTO_FOCUS = ""  # the keys belong to the prompt; the reason field is focused with c
    BINDINGS = [
        Binding("y,a,enter", "once", "Run", key_display="y"),
        Binding("A", "always", "Always allow (saved)", key_display="A"),
        Binding("r,n", "refuse", "Refuse", key_display="r"),
        Binding("c", "reason", "Reason"),
        Binding("escape", "not_now", "Not now"),
    ]

    def __init__(self, pending: PendingCommand, root: str | Path | None = None) -> None:
        super().__init__()
        self.pending = pending
        self.root = root  # the repository: a relative cwd is shown under it

    @property
    def where(self) -> str:
        cwd = self.pending.cwd
        if self.root is None or (cwd and Path(cwd).is_absolute()):
            return cwd
        return str(Path(self.root) / cwd) if cwd not in ("", ".") else str(self.root)

    def compose(self) -> ComposeResult:
        tests, tool = self.pending.purpose == "tests", self.pending.purpose == "mcp"
        title = "Run the tests?" if tests else "Call this MCP tool?" if tool else "Run this command?"
        with Vertical(id="approval-box"):
            yield Static(Content(title), id="approval-title")
            yield Static(Content(f"{'' if tool else '$ '}{self.pending.display}"), id="approval-command")
            yield Static(Content(f"in {self.where}" if self.where else ""), id="approval-cwd")
            yield Static(Content(self.pending.origin), id="approval-source")
            yield Input(placeholder="c: why not? (enter refuses with this reason)", id="approval-reason")
            yield Static(Content(keys_line(self.pending.purpose)), id="approval-keys")

    def on_mount(self) -> None:
        self.query_one("#approval-cwd").display = bool(self.where) and self.pending.purpose != "mcp"
        self.query_one("#approval-source").display = bool(self.pending.origin)
        self.set_focus(None)

    # -- answers ------------------------------------------------------------------------------

    def action_once(self) -> None:
        self.dismiss(CommandDecision.once())

    def action_always(self) -> None:
        self.dismiss(CommandDecision.always())

    def action_refuse(self) -> None:
        self.dismiss(CommandDecision.refuse(self.query_one("#approval-reason", Input).value.strip()))

    def action_reason(self) -> None:
        self.query_one("#approval-reason", Input).focus()

    def action_not_now(self) -> None:
        if self.focused is not None:  # leave the reason field first
            self.set_focus(None)
            return
        self.dismiss(CommandDecision.refuse())

    @on(Input.Submitted, "#approval-reason")
    def _reason_entered(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(CommandDecision.refuse(event.value.strip()))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # While the reason is typed, letters are text, not answers.
        if isinstance(self.focused, Input) and action != "not_now":
            return False
        return True
