"""Permission modes: what the agent may do in a session, and what it may do without asking.

* `plan`: read-only. Only the read tools (list_files, read_file, search, show_diff) are offered
  to the model and run. An edit or a command (the model's own call, a forced edit, the candidate
  search, the request's candidates, the tests before the turn) is refused with a one-line note
  the model reads: no file changes and no command runs, whatever the model asks. The read-loop
  guard never forces an edit; its nudge tells the model to write the plan. The model is told it
  is planning; its answer, the plan, ends the turn.
* `ask`: each edit waits for review and each command is asked about (the default).
* `accept-edits`: edits are applied without asking (the "apply" review policy with the
  unattended retry, as `--yes`); commands are still asked about.
* `auto`: edits are applied and commands run without asking (as `--yes --allow-commands`).

The agent loop asks its `Mode` before it offers tools, dispatches a call, searches for
candidates, runs the tests or offers an edit; mlxagent/builder.py turns a mode into the agent's
review policy and command consent. The rules live here, the loop only consults them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Iterable

from .guard import GuardConfig
from .tools import COMMAND_TOOLS, EDIT_TOOLS, READ_ONLY_TOOLS

MODES = ("plan", "ask", "accept-edits", "auto")
# shift+tab in the TUI goes through them in this order
CYCLE = ("ask", "accept-edits", "auto", "plan")
# The guard's force threshold in plan mode: out of reach, so it never forces an edit.
NEVER_FORCE = 1_000_000
CARRY_OUT = "Carry out this plan:"

PLAN_REQUEST_NOTE = (
    "\n\n[Plan mode: read-only. You may list, read and search files, but you cannot edit files or run "
    "commands (the tests included). Write a plan of the changes: which files, what to change in each and "
    "why, step by step. Do not edit anything; the plan is your answer.]")
PLAN_NUDGE = "[guard] You have read enough. Write the plan now, as your answer, without a tool call (plan mode)."
ANSWER_NUDGE = "[guard] You have read enough. Answer the question now, in plain text, without a tool call."


class ModeError(ValueError):
    """A mode name that is not one of MODES."""


@dataclass(frozen=True)
class Mode:
    name: str
    edits: bool  # edits may be proposed at all (offered for review or applied)
    commands: bool  # commands and test runs may happen at all
    apply_edits: bool  # edits are applied without review ("apply" policy, unattended retry)
    run_commands: bool | None  # the command gate: True runs without asking, None asks

    @property
    def read_only(self) -> bool:
        return not self.edits and not self.commands

    def allows(self, tool: str) -> bool:
        """Whether a call of `tool` may run. In plan mode only the read tools do: any other tool
        (an edit, a command, one added later such as an MCP server's) might change something."""
        if tool in READ_ONLY_TOOLS:
            return True
        if tool in EDIT_TOOLS:
            return self.edits
        if tool in COMMAND_TOOLS:
            return self.commands
        return not self.read_only

    def tools(self, names: Iterable[str]) -> list[str]:
        """The tools of `names` offered to the model in this mode."""
        return [name for name in names if self.allows(name)]

    def refusal(self, tool: str) -> str | None:
        """The one-line note the model reads for a call this mode does not run; None if it runs."""
        if self.allows(tool):
            return None
        what = "edits" if tool in EDIT_TOOLS else "commands" if tool in COMMAND_TOOLS else "this tool"
        return (f"{tool} refused: {self.name} mode is read-only ({what} are not available); nothing was "
                "changed or run. Read what you need, then write the plan as your answer.")

    def edit_refusal(self) -> str:
        return f"Edit refused: {self.name} mode is read-only; nothing was written. Write the plan instead."

    def request_note(self) -> str:
        """What the user's request carries in this mode ("" outside plan mode)."""
        return PLAN_REQUEST_NOTE if self.read_only else ""

    def guard_config(self, config: GuardConfig, answering: bool = False) -> GuardConfig:
        """The read-loop guard's settings for a turn in this mode: in plan mode, and on a turn that
        only asks a question (`answering`, core/intents/question.py), it never forces an edit."""
        if (self.edits and not answering) or not config.enabled:
            return config
        return replace(config, force_at=max(config.force_at, NEVER_FORCE))

    def guard_note(self, note: str | None, answering: bool = False) -> str | None:
        """The guard's nudge as the model reads it: in plan mode, to write the plan (not to edit);
        on a question, to answer it."""
        if note is None or (self.edits and not answering):
            return note
        return PLAN_NUDGE if not self.edits else ANSWER_NUDGE


PLAN = Mode("plan", edits=False, commands=False, apply_edits=False, run_commands=None)
ASK = Mode("ask", edits=True, commands=True, apply_edits=False, run_commands=None)
ACCEPT_EDITS = Mode("accept-edits", edits=True, commands=True, apply_edits=True, run_commands=None)
AUTO = Mode("auto", edits=True, commands=True, apply_edits=True, run_commands=True)
BY_NAME = {m.name: m for m in (PLAN, ASK, ACCEPT_EDITS, AUTO)}


def mode_named(name: str | Mode) -> Mode:
    """The mode called `name`; ModeError (one line) for any other name."""
    if isinstance(name, Mode):
        return name
    mode = BY_NAME.get(str(name).strip().lower())
    if mode is None:
        raise ModeError(f"unknown mode {name!r}: use one of {', '.join(MODES)}")
    return mode


def next_mode(name: str | Mode) -> str:
    """The mode after `name` in the cycle (shift+tab): ask, accept-edits, auto, plan, ask…"""
    current = mode_named(name).name
    return CYCLE[(CYCLE.index(current) + 1) % len(CYCLE)]


def resolve(explicit: str | None, default: str, *, yes: bool = False, allow_commands: bool | None = None) -> str:
    """The mode a session starts in. An explicit `--mode` wins over everything. Otherwise the
    settings' `default_mode`, lifted by the older flags: `--yes` (apply edits) makes plan or ask
    accept-edits, and `--allow-commands` with edits applied makes it auto. (`--allow-commands`
    alone keeps ask: the builder lets the gate run commands unasked, as it always did.)"""
    if explicit:
        return mode_named(explicit).name
    mode = mode_named(default).name
    if yes and mode in ("plan", "ask"):
        mode = "accept-edits"
    if allow_commands is True and mode == "accept-edits":
        mode = "auto"
    return mode


def with_auto_approve(name: str | Mode, on: bool) -> str:
    """The mode `/approve on|off` leads to from `name`: on applies edits, off asks again."""
    mode = mode_named(name).name
    if on:
        return mode if mode in ("accept-edits", "auto") else "accept-edits"
    return "ask" if mode in ("accept-edits", "auto") else mode


def last_plan(messages: list[dict], start: int = 0) -> str:
    """The plan a plan-mode turn ended with: its last assistant text from `start` on ("" if none)."""
    for message in reversed(messages[start:]):
        if message.get("role") == "assistant" and not message.get("tool_calls"):
            text = (message.get("content") or "").strip()
            if text:
                return text
    return ""


def carry_out_request(plan: str) -> str:
    """The request that turns a plan into work."""
    return f"{CARRY_OUT}\n\n{plan.strip()}"
