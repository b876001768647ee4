"""Slash commands typed in the input, and the command palette that offers every action.

Both are views of one table of commands, so `/help`, the palette and the key bindings
describe the same things.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Callable

from textual.command import DiscoveryHit, Hit, Hits, Provider


@dataclass(frozen=True)
class SlashCommand:
    name: str
    usage: str  # the arguments, as shown in /help
    help: str


SLASH_COMMANDS: tuple[SlashCommand, ...] = (
    SlashCommand("model", "[NAME]", "switch models (no name: open the model switcher)"),
    SlashCommand("diff", "", "show the working tree's changes against HEAD"),
    SlashCommand("test", "[ARGS]", "run the repository's tests now, without the model (ARGS go to the test command)"),
    SlashCommand("undo", "", "put back the files the last applied edit changed"),
    SlashCommand("review", "", "review the edit that is waiting for you"),
    SlashCommand("clear", "", "start a new conversation (files are not touched)"),
    SlashCommand("new", "", "start a new session (the last one stays saved; /sessions reopens it)"),
    SlashCommand("sessions", "[ID]", "reopen a saved session of this repository (no id: pick from a list)"),
    SlashCommand("compact", "", "summarise the conversation so far into one message (you confirm first)"),
    SlashCommand("init", "", "draft an AGENTS.md (project instructions) from the repository, as an edit to review"),
    SlashCommand("guard", "[on|off]", "show the read-loop guard, or turn it on or off"),
    SlashCommand("approve", "[on|off]", "auto-approve edits without review (toggle)"),
    SlashCommand("mode", "[NAME]", "show the permission mode, or set it: plan, ask, accept-edits, auto"),
    SlashCommand("mcp", "", "the MCP servers from your settings: each one's state and its tools"),
    SlashCommand("theme", "[NAME]", "change the theme (no name: pick from a list)"),
    SlashCommand("help", "", "commands and keys"),
    SlashCommand("quit", "", "leave mlxagent"),
)
COMMAND_NAMES = {c.name for c in SLASH_COMMANDS}

KEYS_HELP: tuple[tuple[str, str], ...] = (
    ("enter", "send"),
    ("ctrl+j / shift+enter", "new line in the input"),
    ("up / down", "input history (on the first / last line)"),
    ("esc", "interrupt the model at once"),
    ("ctrl+o / F2", "model switcher"),
    ("ctrl+r", "review the waiting edit"),
    ("shift+tab", "cycle the permission mode between turns: ask, accept-edits, auto, plan"),
    ("ctrl+g", "after a plan-mode turn: switch back to the last editing mode and carry out the plan"),
    ("u", "undo the last applied edit (with the transcript focused: tab from the input)"),
    ("ctrl+z", "after an edit left the tests failing: undo it and ask the model to retry"),
    ("@path", "in a message: attach that file (tab completes the path)"),
    ("y / A / r / c", "when a command asks to run: run (tests: this session) / always allow (saved) / refuse / give a reason"),
    ("ctrl+p", "command palette: every action, themes"),
    ("ctrl+q", "quit"),
)


def parse_slash(text: str) -> tuple[str, str] | None:
    """("name", "argument text") for a line that starts with "/", else None."""
    text = text.strip()
    if not text.startswith("/") or text.startswith("//"):
        return None
    name, _, arg = text[1:].partition(" ")
    return name.lower(), arg.strip()


def help_markdown(custom=None) -> str:
    """The commands and keys; `custom`: a core.slash.CommandSet, listed after the built-in commands."""
    lines = ["**Commands**", ""]
    lines += [f"- `/{c.name}{' ' + c.usage if c.usage else ''}` {c.help}" for c in SLASH_COMMANDS]
    if custom is not None and (custom.commands or custom.notes):
        lines += ["", "**Custom commands** (`.mlxagent/commands/` and your config's `commands/`)", ""]
        lines += [f"- `/{c.name} [ARGS]` {c.description} ({c.origin})" for c in custom.listed()]
        lines += [f"- note: {note}" for note in custom.notes]
    lines += ["", "**Keys**", ""]
    lines += [f"- `{key}` {what}" for key, what in KEYS_HELP]
    return "\n".join(lines)


@dataclass(frozen=True)
class PaletteCommand:
    title: str
    help: str
    run: Callable[[], object]


class ActionsProvider(Provider):
    """Every action of the app (`app.palette_commands()`) and every theme, in the command palette."""

    def _commands(self) -> list[PaletteCommand]:
        commands = list(getattr(self.app, "palette_commands", lambda: [])())
        for name in sorted(self.app.available_themes):
            commands.append(PaletteCommand(f"Theme: {name}", "switch to this theme (saved)",
                                           partial(setattr, self.app, "theme", name)))
        return commands

    async def discover(self) -> Hits:
        for command in self._commands():
            if not command.title.startswith("Theme: "):  # the themes would drown the actions
                yield DiscoveryHit(command.title, command.run, help=command.help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for command in self._commands():
            score = matcher.match(command.title)
            if score > 0:
                yield Hit(score, matcher.highlight(command.title), command.run, help=command.help)
