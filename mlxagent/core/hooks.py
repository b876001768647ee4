"""Hooks: the user's own commands at three moments of a turn, from `[hooks]` in the user's config.

    after_edit      after an applied (or partly applied) edit, before the tests run
    before_command  before a command or test run the model asked for; a failing hook blocks it
    turn_end        when a turn finishes (not when it is interrupted)

Each event holds a list of argv lists (config_tables.hooks_table), read from the user's config
only, never from a repository's `.mlxagent.toml`. A hook runs in the repository root through the
agent's command gate like any command: the same consent (`CommandApproval` with purpose "hook";
"always" is saved per repository), the same runner (timeout, process-group kill, output cap)
and the same events (`CommandStarted` / `CommandOutput` / `CommandFinished`), so the TUI's cards
and `run --json` show it.

A hook learns what happened from its environment (MLXAGENT_HOOK: the event; MLXAGENT_FILES: the
edited paths, one a line; MLXAGENT_COMMAND: the command about to run, shell-quoted;
MLXAGENT_REPO: the repository root) and from JSON on its standard input
(`{"event", "paths", "command", "repo"}`).

A hook the user (or a run with nobody to ask) refuses is off for the rest of the session: the
refusal is shown once, not at every edit. When an after_edit hook rewrites the edited file (a
formatter), the undo record takes the rewritten bytes as the edit's result, so `/undo` still
puts back the file as it was before the edit (ProposalManager.adopt_rewrites).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any, Iterator, Sequence

from .events import ErrorEvent, Event, display_command
from .formats.calls import new_call_id
from .testing.runner import format_command

HOOK_EVENTS = ("after_edit", "before_command", "turn_end")
HOOK_PURPOSE = "hook"
# How much of a failing hook's output the model reads (its end, where errors usually are).
OUTPUT_FOR_MODEL = 1500


@dataclass(frozen=True)
class HookRun:
    """One hook that ran: its command, whether it exited 0, how it ended, and its output."""

    argv: tuple[str, ...]
    ok: bool
    message: str
    output: str

    def note(self, event: str) -> str:
        """A few lines for the model about this hook's failure."""
        tail = self.output.strip()[-OUTPUT_FOR_MODEL:]
        return (f"The {event} hook `{format_command(self.argv)}` failed ({self.message})"
                + (f":\n{tail}" if tail else "."))


def hook_source(event: str) -> str:
    """The `source` of a hook's CommandApproval: shown as "from your settings' [hooks] EVENT"."""
    return f"your settings' [hooks] {event}"


class Hooks:
    """The configured hooks of one session, and which of them were refused."""

    def __init__(self, config: dict[str, Sequence[Sequence[str]]] | None = None):
        self.config: dict[str, list[tuple[str, ...]]] = {}
        for event, commands in (config or {}).items():
            if event not in HOOK_EVENTS or not isinstance(commands, (list, tuple)):
                continue
            argvs = [tuple(c) for c in commands
                     if isinstance(c, (list, tuple)) and c and all(isinstance(a, str) and a for a in c)]
            if argvs:
                self.config[event] = argvs
        # argv -> (why, the gate's `allow` then): off for this session, until the consent policy
        # changes (another permission mode), when it is asked about again
        self.refused: dict[tuple[str, ...], tuple[str, object]] = {}

    def has(self, event: str) -> bool:
        return bool(self.config.get(event))

    def run(self, event: str, gate, cancel: threading.Event, *, paths: Sequence[str] = (),
            command: Sequence[str] | None = None) -> Iterator[Event]:
        """Run the hooks of `event` in order (consent first); returns the list of HookRuns that ran."""
        runs: list[HookRun] = []
        root = str(gate.root)
        env = {"MLXAGENT_HOOK": event, "MLXAGENT_REPO": root, "MLXAGENT_FILES": "\n".join(paths),
               "MLXAGENT_COMMAND": format_command(command) if command else ""}
        payload: dict[str, Any] = {"event": event, "paths": list(paths),
                                   "command": list(command) if command else None, "repo": root}
        stdin = (json.dumps(payload) + "\n").encode("utf-8")
        for argv in self.config.get(event, []):
            if cancel.is_set():
                break
            if argv in self.refused:
                if self.refused[argv][1] == gate.allow:
                    continue
                del self.refused[argv]
            call_id = f"hook-{event}-" + new_call_id()[5:]  # unique, also across resumed sessions
            decision = yield from gate.approve(call_id, argv, ".", HOOK_PURPOSE, cancel, hook_source(event))
            if not decision.allowed:
                reason = decision.reason or "the user refused to run it"
                self.refused[argv] = (reason, gate.allow)
                yield ErrorEvent(f"The {event} hook {display_command(argv)} was not run: {reason}. "
                                 "It stays off for the rest of this session.")
                continue
            result, _ = yield from gate.run(call_id, argv, ".", HOOK_PURPOSE, cancel, ask=False,
                                            env=env, stdin=stdin)
            if result is not None:
                runs.append(HookRun(tuple(argv), result.ok, result.describe(), result.output))
        return runs

    # -- the three moments --------------------------------------------------------------------

    def after_edit(self, gate, proposals, proposal, cancel: threading.Event) -> Iterator[Event]:
        """After `proposal` was applied: run the after_edit hooks; returns text for the model
        ("" when there is nothing to say). A file the hooks rewrote is adopted by the undo record."""
        if not self.has("after_edit"):
            return ""
        try:
            path = proposals.workspace.normalize(proposal.path)
        except Exception:  # noqa: BLE001 - the path was applied, so this is not expected; keep it as given
            path = proposal.path
        runs = yield from self.run("after_edit", gate, cancel, paths=[path])
        if not runs:
            return ""
        notes = []
        rewritten = proposals.adopt_rewrites(proposal.id)
        if rewritten:
            notes.append(f"The after_edit hook rewrote {', '.join(rewritten)} after the edit; "
                         "read it again before editing it further.")
        notes += [run.note("after_edit") for run in runs if not run.ok]
        return "".join("\n\n" + note for note in notes)

    def before_command(self, gate, argv: Sequence[str], cancel: threading.Event) -> Iterator[Event]:
        """Before the model's command `argv`: returns None to go on, or the text for the model
        when a hook failed and the command is blocked."""
        if not self.has("before_command"):
            return None
        runs = yield from self.run("before_command", gate, cancel, command=argv)
        failed = [run for run in runs if not run.ok]
        if not failed:
            return None
        return (f"The command was not run: a before_command hook blocked it. {format_command(argv)}\n"
                + "\n".join(run.note("before_command") for run in failed))

    def turn_end(self, gate, cancel: threading.Event) -> Iterator[Event]:
        """At a turn's end (outside the turn's own error handling: nothing here may escape)."""
        if self.has("turn_end") and not cancel.is_set():
            try:
                yield from self.run("turn_end", gate, cancel)
            except Exception as exc:  # noqa: BLE001 - one clear line, never a crashed turn
                yield ErrorEvent(f"The turn_end hook could not run: {type(exc).__name__}: {exc}")
