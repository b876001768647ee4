"""Shown when mlxagent starts outside a git repository: offer `git init` there, or quit.

mlxagent needs git: proposals are diffed against HEAD and undo relies on knowing what
the files held. Nothing is created unless the user asks for it.
"""

from __future__ import annotations

from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Button, Static


class NotARepoScreen(Screen[str]):
    """Dismissed with "initialized" after a successful `git init`, or "quit"."""

    CSS_PATH = "not_a_repo.tcss"
    BINDINGS = [
        Binding("i", "init", "git init"),
        Binding("q,escape", "quit_app", "Quit"),
    ]

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__()
        self.path = path
        self.reason = reason

    def compose(self) -> ComposeResult:
        can_init = self.path.is_dir()
        with Vertical(id="not-repo-box"):
            yield Static(Content("Not a git repository"), id="not-repo-title")
            yield Static(Content(self.reason), id="not-repo-reason")
            yield Static(Content(
                "mlxagent works inside a git repository: edits are reviewed as diffs against your files, "
                "and undo puts back exactly what was there."
                + (f"\n\nCreate one with `git init` in {self.path}? Nothing is committed; your files stay as they are."
                   if can_init else "\n\nStart mlxagent in an existing folder.")), id="not-repo-help")
            yield Static("", id="not-repo-error")
            with Horizontal(id="not-repo-buttons"):
                if can_init:
                    yield Button("git init here (i)", id="init", variant="primary")
                yield Button("Quit (q)", id="quit")

    def on_mount(self) -> None:
        self.query_one("#not-repo-error").display = False
        self.query_one(Button).focus()

    @on(Button.Pressed, "#init")
    def _init_pressed(self) -> None:
        self.action_init()

    @on(Button.Pressed, "#quit")
    def _quit_pressed(self) -> None:
        self.action_quit_app()

    def action_init(self) -> None:
        if self.path.is_dir():
            self.query_one("#init", Button).disabled = True
            self.git_init()

    def action_quit_app(self) -> None:
        self.dismiss("quit")

    @work(thread=True, exclusive=True, exit_on_error=False)
    def git_init(self) -> None:
        import git

        try:
            git.Repo.init(self.path, mkdir=False)
        except Exception as exc:  # noqa: BLE001 - permissions, a broken .git: one line on screen
            self.app.call_from_thread(self._failed, f"git init failed: {exc}")
            return
        self.app.call_from_thread(self.dismiss, "initialized")

    def _failed(self, message: str) -> None:
        error = self.query_one("#not-repo-error", Static)
        error.update(Content(message))
        error.display = True
        self.query_one("#init", Button).disabled = False
