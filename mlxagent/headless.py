"""`mlxagent run "TASK"`: one agent turn without a UI, for scripts, benchmarks and CI.

Prints the transcript (or one JSON event per line with --json). Proposals are
accepted with --yes, rejected with --reject, asked about on a terminal, and
rejected (with a note) when nobody can answer.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from typing import TextIO

from .builder import build_session, stop_mcp
from .core import events as ev

EXIT_CODES = {"error": 1, "cancelled": 130, "tests_failing": 1, "unconfirmed": 1}


def _decide(event: ev.ProposalReady, yes: bool, reject: bool, out: TextIO) -> ev.Review:
    n = len(event.proposal.hunks)
    if yes:
        return ev.Review.accept_all(n)
    if reject:
        return ev.Review.reject_all(n, "dry run (--reject)")
    if sys.stdin.isatty():
        print(event.proposal.diff, file=out)
        answer = input(f"Apply {n} hunk(s) to {event.proposal.path}? [y/N/reason] ").strip()
        if answer.lower() in ("y", "yes"):
            return ev.Review.accept_all(n)
        return ev.Review.reject_all(n, "" if answer.lower() in ("", "n", "no") else answer)
    return ev.Review.reject_all(n, "no reviewer available (run with --yes to accept)")


def _decide_command(event: ev.CommandApproval, out: TextIO) -> ev.CommandDecision:
    """Headless consent for a command: asked on a terminal, refused when nobody can answer."""
    if not sys.stdin.isatty():
        return ev.CommandDecision.refuse("commands are not allowed in this run (start it with --allow-commands)")
    origin = f"\n  {event.origin}" if getattr(event, "origin", "") else ""
    tool = event.purpose == "mcp"  # an MCP server's tool: SERVER.tool {arguments}
    print(f"\nMCP tool {event.display}{origin}" if tool else f"\n$ {event.display}   (in {event.cwd}){origin}",
          file=out)
    once = "this session" if event.purpose == "tests" else "this time only"
    answer = input(f"Call it? [y = call ({once}) / a = always allow this tool for this repo (saved) / N / reason] "
                   if tool else f"Run it? [y = run ({once}) / a = always for this repo (saved) / N / reason] ").strip()
    if answer.lower() in ("y", "yes"):
        return ev.CommandDecision.once()
    if answer.lower() in ("a", "always"):
        return ev.CommandDecision.always()
    return ev.CommandDecision.refuse("" if answer.lower() in ("", "n", "no") else answer)


def print_event(event: ev.Event, out: TextIO) -> None:
    """The human-readable transcript line(s) for one event."""
    if isinstance(event, ev.TextDelta):
        out.write(event.text)
    elif isinstance(event, ev.ToolCallStarted):
        out.write(f"\n⚙ {event.name} {json.dumps(event.arguments)[:200]}\n")
    elif isinstance(event, ev.ToolCallFinished):
        lines = event.result.splitlines() or [""]
        head = "\n".join("  " + line for line in lines[:6])
        more = f"\n  … {len(lines) - 6} more lines" if len(lines) > 6 else ""
        out.write(("  ✗ " if event.is_error else "") + head.lstrip() + more + "\n")
    elif isinstance(event, ev.ProposalReady):
        out.write(f"✎ proposal {event.proposal.path} ({len(event.proposal.hunks)} hunk(s))\n{event.proposal.diff}\n")
    elif isinstance(event, ev.ProposalResolved):
        out.write(f"  → {event.outcome} {event.path} {event.message}\n")
    elif isinstance(event, ev.GuardState) and event.level != "ok":
        out.write(f"[read-loop guard: {event.level}] {event.reason}\n")
    elif isinstance(event, ev.CommandStarted):
        out.write(f"\n$ {ev.display_command(event.argv)}\n")
    elif isinstance(event, ev.CommandFinished):
        out.write(f"  → {event.message}\n")
    elif isinstance(event, ev.TestResult):
        out.write(("  ✓ " if event.ok else "  ✗ ") + event.summary.replace("\n", "\n    ") + "\n")
    elif isinstance(event, ev.RepairProgress):
        out.write(f"[candidate search: {event.stage}] {event.message}\n")
    elif isinstance(event, ev.ContextTrimmed):
        out.write(f"[{event.message}]\n")
    elif isinstance(event, ev.ErrorEvent):
        out.write(f"✗ {event.message}\n")
    elif isinstance(event, ev.TurnFinished):
        if event.message:
            out.write(f"\n{event.message}\n")
        out.write(f"\n— {event.reason}: {event.steps} step(s), {event.generated_tokens} tokens generated, "
                  f"{event.prefilled_tokens} prefilled, {event.seconds:.1f} s\n")
    out.flush()


def run_task(args) -> int:
    out = sys.stdout
    _check_resume(args)  # before the model loads: a session that is not there is a quick answer
    task = expand_slash_task(args.task, args.repo)  # "/NAME args": a custom command (core/slash.py)
    if task is None:
        return 2
    progress = None if args.json else _stderr_progress()
    agent, _runtime, warnings = build_session(args.repo, args.model, no_guard=args.no_guard, auto_approve=args.yes,
                                              max_steps=args.max_steps, max_tokens=args.max_tokens,
                                              progress=progress, test_cmd=args.test_cmd,
                                              allow_commands=True if args.allow_commands else None,
                                              auto_test=False if args.no_auto_test else None,
                                              speculative=False if args.no_speculative else None,
                                              mode=getattr(args, "mode", None))
    yes = args.yes and not getattr(args, "mode", None)  # an explicit --mode wins over --yes
    recorder, _record, warning = _session(agent, args)
    for warning in warnings + ([warning] if warning else []):
        print(f"mlxagent: {warning}", file=sys.stderr)
    cancel = threading.Event()
    previous = signal.signal(signal.SIGINT, lambda *_: cancel.set())
    reason = "error"
    try:
        for event in recorder.record(agent.run_turn(task, cancel)):
            if isinstance(event, ev.ProposalReady) and not event.reply.done():
                event.reply.set_result(_decide(event, yes, args.reject, sys.stderr if args.json else out))
            if isinstance(event, ev.CommandApproval) and not event.reply.done():
                event.reply.set_result(_decide_command(event, sys.stderr if args.json else out))
            if args.json:
                out.write(json.dumps(event.to_dict()) + "\n")
                out.flush()
            else:
                print_event(event, out)
            if isinstance(event, ev.TurnFinished):
                reason = event.reason
    finally:
        signal.signal(signal.SIGINT, previous)
        stop_mcp(agent)  # the session's MCP servers end with it
    if agent.mode.read_only and not args.json:  # plan mode: the plan is printed, nothing to carry on here
        print(f"({agent.mode.name} mode: no file was changed and no command was run)", file=out)
    if recorder.notice:  # another `run --continue` wrote to the session meanwhile: this one forked
        print(f"mlxagent: {recorder.notice}", file=sys.stderr)
    if recorder.problem and recorder.store is not None:
        print(f"mlxagent: {recorder.problem}", file=sys.stderr)
    elif recorder.session_id and args.json:
        out.write(json.dumps({"event": "SessionSaved", "session_id": recorder.session_id}) + "\n")
    elif recorder.session_id:
        print(f"(session {recorder.session_id}; continue it with `mlxagent run --continue \"…\"`)", file=out)
    return EXIT_CODES.get(reason, 0)


def expand_slash_task(task: str, repo: str) -> str | None:
    """A task that starts with `/NAME` is a custom command: its expansion (None, with one line on
    stderr, when there is no such command). Any other task, "/tmp/x fix this" too, is as given."""
    from .core.slash import load_commands, parse_invocation
    from .core.workspace import Workspace
    from .errors import MlxAgentError

    invocation = parse_invocation(task)
    if invocation is None:
        return task
    try:
        root = Workspace.open(repo).root
    except MlxAgentError:
        root = None  # not a repository: the user's commands only (the run then says what is wrong)
    found = load_commands(root)
    command = found.get(invocation[0])
    if command is None:
        known = ", ".join("/" + c.name for c in found.listed()) or "none"
        print(f"mlxagent: unknown command /{invocation[0]} (custom commands: {known})", file=sys.stderr)
        return None
    for note in found.notes:
        print(f"mlxagent: {note}", file=sys.stderr)
    return command.expand(invocation[1])


def _resume_spec(args) -> str | None:
    return "last" if getattr(args, "continue_session", False) else getattr(args, "resume", None)


def _check_resume(args) -> None:
    from .core.saved_sessions import SessionError, find_session, open_store, repo_key
    from .core.workspace import Workspace
    from .errors import MlxAgentError

    spec = _resume_spec(args)
    if spec is None:
        return
    store, why = open_store()
    if store is None:
        raise MlxAgentError(f"cannot resume: {why}")
    try:
        args.resume, args.continue_session = find_session(store, repo_key(Workspace.open(args.repo).root), spec).id, False
    except SessionError as exc:
        raise MlxAgentError(f"cannot resume: {exc}") from None
    finally:
        store.close()


def _session(agent, args):
    """The recorder of this run: a new session, or the one --continue / --resume names."""
    from .config import load_settings
    from .core.saved_sessions import SessionError, start
    from .errors import MlxAgentError

    try:
        return start(agent, save=load_settings()[0].save_sessions, resume=_resume_spec(args))
    except SessionError as exc:
        raise MlxAgentError(f"cannot resume: {exc}") from None


def _stderr_progress():
    from .progress import progress_printer

    return progress_printer("model")
