"""What a turn's events look like in ACP: session updates, permission requests and their answers.

Pure translation, no I/O: `TurnUpdates` turns each engine event (core/events.py) into the
`session/update` payloads an ACP client shows (message chunks, tool calls with their status and
kind, a proposal's diff), and the functions below build the permission requests for a proposal
or a command and read the client's answer back as a `Review` or a `CommandDecision`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from acp import helpers
from acp.schema import (
    AllowedOutcome,
    PermissionOption,
    RequestPermissionResponse,
    ResourceContentBlock,
    TextContentBlock,
    ToolCallLocation,
    ToolCallUpdate,
)

from ..core import events as ev

# TurnFinished.reason -> ACP stopReason; "error" is answered as a JSON-RPC error instead, and every
# other way a turn ends (tests failing, a question for the user) is the end of the turn.
STOP_REASONS = {"done": "end_turn", "max_steps": "max_turn_requests", "cancelled": "cancelled"}
TOOL_KINDS = {"read_file": "read", "list_files": "read", "show_diff": "read", "search": "search",
              "edit_file": "edit", "write_file": "edit", "run_tests": "execute", "run_command": "execute"}
RESULT_CHARS = 4000  # of a tool's result shown in the client

APPLY, REJECT = "apply", "reject"
EDIT_OPTIONS = [PermissionOption(option_id=APPLY, name="Apply the edit", kind="allow_once"),
                PermissionOption(option_id=REJECT, name="Reject", kind="reject_once")]
ONCE, ALWAYS, REFUSE = "once", "always", "refuse"


def stop_reason(reason: str) -> str:
    return STOP_REASONS.get(reason, "end_turn")


def tool_title(name: str, arguments: dict[str, Any]) -> str:
    """A short title for a tool call: the tool and what it works on."""
    detail = next((str(arguments[k]) for k in ("path", "pattern", "command", "target")
                   if isinstance(arguments.get(k), (str, int)) and str(arguments[k]).strip()), "")
    return f"{name} {detail}".strip()[:200]


def prompt_text(blocks: list[Any], root: Path) -> str:
    """The user's request from a prompt's content blocks: the text, and each linked file inside
    the repository as an `@path` mention (core/attachments reads it into the request)."""
    parts = []
    for block in blocks:
        if isinstance(block, TextContentBlock):
            parts.append(block.text)
        elif isinstance(block, ResourceContentBlock):
            mention = _mention(block.uri, root)
            parts.append(mention if mention else block.uri)
    return " ".join(p for p in parts if p).strip()


def _mention(uri: str, root: Path) -> str | None:
    parsed = urlparse(uri)
    if parsed.scheme not in ("file", ""):
        return None
    path = Path(unquote(parsed.path))
    try:
        rel = path.resolve().relative_to(root)
    except (ValueError, OSError):
        return None
    text = rel.as_posix()
    return f"@{text}" if text not in ("", ".") and " " not in text else None


class TurnUpdates:
    """The session updates for one turn's events, in order; remembers the tool calls it started so
    that a proposal or a command shows inside the call that made it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.calls: dict[str, str] = {}  # tool call id -> title
        self.current: str | None = None  # the tool call running now

    def updates(self, event: ev.Event) -> list[Any]:
        if isinstance(event, ev.TextDelta):
            return [helpers.update_agent_message_text(event.text)] if event.text else []
        if isinstance(event, ev.ToolCallStarted):
            return [self._start(event.call_id, event.name, event.arguments)]
        if isinstance(event, ev.ToolCallFinished):
            self.current = None
            return [helpers.update_tool_call(
                event.call_id, status="failed" if event.is_error else "completed",
                content=[helpers.tool_content(helpers.text_block(_clip(event.result)))],
                raw_output=_clip(event.result))]
        if isinstance(event, ev.ProposalReady):
            call_id = self.proposal_call(event)
            start = [] if call_id in self.calls else [self._start(call_id, "edit_file", {"path": event.proposal.path})]
            return start + [helpers.update_tool_call(call_id, content=[self.diff(event.proposal)])]
        if isinstance(event, ev.CommandApproval):
            return self._command_call(event.call_id, event.argv, event.purpose)
        if isinstance(event, ev.CommandStarted):
            return self._command_call(event.call_id, event.argv, event.purpose) + [
                helpers.update_tool_call(event.call_id, status="in_progress")]
        if isinstance(event, ev.CommandFinished) and event.call_id != self.current:
            ok = event.exit_code == 0 and not (event.timed_out or event.cancelled or event.refused)
            return [helpers.update_tool_call(event.call_id, status="completed" if ok else "failed",
                                             content=[helpers.tool_content(helpers.text_block(event.message))])]
        if isinstance(event, ev.TestResult):
            return [helpers.update_agent_thought_text(_line(event.summary) + "\n")]
        if isinstance(event, ev.RepairProgress) and event.message:
            return [helpers.update_agent_thought_text(f"[candidate search: {event.stage}] {event.message}\n")]
        if isinstance(event, ev.GuardState) and event.level != "ok":
            return [helpers.update_agent_thought_text(f"[read-loop guard: {event.level}] {event.reason}\n")]
        if isinstance(event, (ev.ContextTrimmed, ev.ContextCompacted)) and event.message:
            return [helpers.update_agent_thought_text(f"[{event.message}]\n")]
        if isinstance(event, ev.ErrorEvent):
            return [helpers.update_agent_message_text(f"\n✗ {event.message}\n")]
        if isinstance(event, ev.TurnFinished) and event.message and event.reason != "error":
            return [helpers.update_agent_message_text(f"\n{event.message}\n")]
        return []

    def proposal_call(self, event: ev.ProposalReady) -> str:
        """The tool call a proposal belongs to (the edit that made it, else one of its own)."""
        return self.current or f"proposal-{event.proposal.id}"

    def diff(self, proposal: Any):
        old = None if proposal.old is None else proposal.old.decode("utf-8", "replace")
        return helpers.tool_diff_content(str(self.root / proposal.path), proposal.new.decode("utf-8", "replace"), old)

    def edit_permission(self, event: ev.ProposalReady) -> tuple[ToolCallUpdate, list[PermissionOption]]:
        call_id = self.proposal_call(event)
        tool_call = ToolCallUpdate(tool_call_id=call_id, title=f"Apply the edit to {event.proposal.path}?",
                                   kind="edit", status="pending", content=[self.diff(event.proposal)],
                                   locations=[ToolCallLocation(path=str(self.root / event.proposal.path))])
        return tool_call, EDIT_OPTIONS

    def command_permission(self, event: ev.CommandApproval) -> tuple[ToolCallUpdate, list[PermissionOption]]:
        origin = f" ({event.origin})" if event.origin else ""
        tool = event.purpose == "mcp"  # an MCP server's tool: SERVER.tool {arguments}
        title = f"Call the MCP tool {event.display}{origin}?" if tool else f"Run `{event.display}`{origin}?"
        tool_call = ToolCallUpdate(tool_call_id=event.call_id, title=title[:400], kind="other" if tool else "execute",
                                   status="pending", raw_input={"argv": list(event.argv), "cwd": event.cwd})
        verb = "Call" if tool else "Run"
        once = f"{verb} it (this session)" if event.purpose == "tests" else f"{verb} it this time"
        options = [PermissionOption(option_id=ONCE, name=once, kind="allow_once"),
                   PermissionOption(option_id=ALWAYS, name="Always allow it in this repository", kind="allow_always"),
                   PermissionOption(option_id=REFUSE, name="Refuse", kind="reject_once")]
        return tool_call, options

    def _start(self, call_id: str, name: str, arguments: dict[str, Any]):
        title = tool_title(name, arguments)
        self.calls[call_id] = title
        self.current = call_id
        path = arguments.get("path")
        locations = [ToolCallLocation(path=str(self.root / path))] if isinstance(path, str) and path.strip() else None
        return helpers.start_tool_call(call_id, title, kind=TOOL_KINDS.get(name, "other"), status="in_progress",
                                       locations=locations, raw_input=arguments)

    def _command_call(self, call_id: str, argv, purpose: str) -> list[Any]:
        """A command that is no tool call of the model's (the tests before a turn, a candidate's
        check) gets a tool call of its own."""
        if call_id in self.calls:
            return []
        title = f"$ {ev.display_request(argv, purpose)}"[:200]
        self.calls[call_id] = title
        return [helpers.start_tool_call(call_id, title, kind="execute", status="pending",
                                        raw_input={"argv": list(argv), "purpose": purpose})]


def review_from(answer: RequestPermissionResponse | None, n_hunks: int) -> ev.Review:
    """The client's answer to an edit's permission request as a Review of all its hunks."""
    if answer is not None and isinstance(answer.outcome, AllowedOutcome) and answer.outcome.option_id == APPLY:
        return ev.Review.accept_all(n_hunks)
    if answer is None:
        return ev.Review.reject_all(n_hunks, "the client gave no answer")
    if not isinstance(answer.outcome, AllowedOutcome):
        return ev.Review.reject_all(n_hunks, "the review was cancelled")
    return ev.Review.reject_all(n_hunks, "rejected by the user")


def decision_from(answer: RequestPermissionResponse | None) -> ev.CommandDecision:
    """The client's answer to a command's permission request."""
    if answer is not None and isinstance(answer.outcome, AllowedOutcome):
        if answer.outcome.option_id == ONCE:
            return ev.CommandDecision.once()
        if answer.outcome.option_id == ALWAYS:
            return ev.CommandDecision.always()
    return ev.CommandDecision.refuse("refused by the user")


def _clip(text: str) -> str:
    if len(text) <= RESULT_CHARS:
        return text
    return text[:RESULT_CHARS] + f"\n… ({len(text) - RESULT_CHARS} more characters)"


def _line(text: str) -> str:
    return (text.strip().splitlines() or [""])[0]
