"""Server-side loop prevention: the read-loop guard applied to a client's conversation.

The server runs no tools, so the guard cannot watch calls as they happen; instead the
conversation's tool calls (and their results) are replayed through a fresh
`ReadLoopGuard`, exactly in the order the agent loop would have fed them. A user message
starts a new task, as in the agent. What the guard then says decides the response:

* ``nudge``: a note is appended to the last tool result ("make the change now"); also when the
  last call repeats a read-only call made since the last edit (core/guard/repeats.py): its
  result has not changed, so the note says where to look back to.
* ``force``: if the client offered an edit-type tool (named in the configured
  ``edit_tools`` list or in the request's ``mlxagent.edit_tools``), the generation is
  constrained to one call to those tools; otherwise (and at ``stopped``) no generation
  runs and a clear assistant message explains the loop.

An explicit `tool_choice` of "none" or a named function is the client's decision and
is left alone. Which tools count as edits is the only thing the server tells the guard:
every other tool called counts as a read (no progress), and an edit whose result reads
like an error counts as a failed edit.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Iterable

from ..core.events import GuardState
from ..core.formats.schemas import grounded_edit_tools
from ..core.guard import GuardConfig, ReadLoopGuard, RepeatedReads

ERROR_RESULT = re.compile(r"^\s*(\[step \d+\]\s*)?(✗\s*)?(error|failed|failure|exception|traceback|"
                          r"tool call error)\b", re.IGNORECASE)


@dataclass(frozen=True)
class SteerPlan:
    action: str  # "none" | "nudge" | "force" | "explain"
    messages: list[dict[str, Any]]  # the conversation to generate from
    state: GuardState | None = None
    tools: list[dict[str, Any]] = field(default_factory=list)  # force: the only tools the call may use
    message: str = ""  # explain: the whole reply

    def info(self) -> dict[str, Any] | None:
        """What the client sees under `mlxagent.guard` in the response."""
        if self.state is None:
            return None
        s = self.state
        return {"level": s.level, "action": self.action, "reason": s.reason, "reads_since_edit": s.reads_since_edit,
                "nudge_at": s.nudge_at, "force_at": s.force_at,
                "tools": [t["function"]["name"] for t in self.tools]}


def _arguments(raw: Any) -> Any:
    if isinstance(raw, str):
        try:
            return json.loads(raw) if raw.strip() else {}
        except json.JSONDecodeError:
            return {"arguments": raw}
    return raw


def _no_fingerprint(_path: str) -> None:
    return None  # the server cannot see the client's files: reads are never skipped


def replay(messages: list[dict[str, Any]], config: GuardConfig, edit_names: Iterable[str],
           tool_names: Iterable[str] = (), repeats: RepeatedReads | None = None) -> ReadLoopGuard:
    """A guard that has seen every tool call of the conversation, in order (and `repeats`, when
    given, every read-only call: its `last_note` answers the conversation's last call)."""
    edits = frozenset(edit_names)
    called = {c["function"]["name"] for m in messages for c in m.get("tool_calls") or ()}
    guard = ReadLoopGuard(config)
    guard.EDIT = edits
    guard.READ_ONLY = frozenset((called | set(tool_names)) - edits)
    if repeats is not None:
        repeats.read_only = guard.READ_ONLY
    results = {m.get("tool_call_id"): m.get("content") or "" for m in messages if m["role"] == "tool"}
    for message in messages:
        if message["role"] == "user":
            content = message.get("content")
            guard.reset_task(content if isinstance(content, str) else "")
            if repeats is not None:
                repeats.new_turn()
            continue
        calls = (message.get("tool_calls") or []) if message["role"] == "assistant" else []
        for index, call in enumerate(calls):
            name = call["function"]["name"]
            arguments = _arguments(call["function"].get("arguments"))
            level_before = guard.level
            guard.before_tool(name, arguments, _no_fingerprint)
            result = results.get(call.get("id"))
            is_error = result is not None and bool(ERROR_RESULT.match(result))
            guard.after_tool(name, arguments, is_error, index, len(calls))
            if repeats is not None:
                _replay_repeat(repeats, guard, name, arguments, result, is_error, name in edits)
            if name in edits and result is not None:
                if not is_error:
                    guard.on_proposal_resolved("applied")
                elif level_before == "force":
                    guard.on_forced_edit_invalid((result.strip().splitlines() or ["error"])[0][:200])
    return guard


def _replay_repeat(repeats: RepeatedReads, guard: ReadLoopGuard, name: str, arguments: Any,
                   result: str | None, is_error: bool, is_edit: bool) -> None:
    # The client ran the call already; what matters is whether it repeated one since the last edit.
    # Which files are still unread the server cannot know: the note points back, then to an edit.
    if repeats.check(name, arguments, list) is None:
        repeats.record(name, arguments, guard.step, ok=result is not None and not is_error)
    if is_edit and result is not None and not is_error:
        repeats.edited()


def _with_note(messages: list[dict[str, Any]], note: str) -> list[dict[str, Any]]:
    out = [dict(m) for m in messages]
    out[-1]["content"] = f"{out[-1].get('content') or ''}\n\n{note}"
    return out


def plan(messages: list[dict[str, Any]], tools: list[dict[str, Any]], tool_choice: str,
         config: GuardConfig, edit_names: Iterable[str]) -> SteerPlan:
    """What the guard makes of this conversation, and how the response is to be steered."""
    if not config.enabled:
        return SteerPlan("none", messages)
    offered = [t["function"]["name"] for t in tools]
    edits = set(edit_names)
    offered_edits = [t for t in tools if t["function"]["name"] in edits]
    names = " or ".join(t["function"]["name"] for t in offered_edits)
    repeats = RepeatedReads(config.enabled, edit_tools=names)
    guard = replay(messages, config, edits, offered, repeats)
    state = guard.state()
    if messages[-1]["role"] != "tool" or tool_choice in ("none", "function"):
        return SteerPlan("none", messages, state)
    repeat = f" {repeats.last_note}" if repeats.last_note else ""
    if state.level == "ok":
        if repeat:
            return SteerPlan("nudge", _with_note(messages, "[loop guard]" + repeat), state)
        return SteerPlan("none", messages, state)
    if state.level == "nudge":
        todo = f"make the change now with {names}" if offered_edits else "answer with what you have found"
        note = (f"[loop guard] {state.reads_since_edit} calls since the last edit without progress"
                f"{f' ({state.reason})' if state.reason else ''}. You have enough context: {todo}.{repeat}")
        return SteerPlan("nudge", _with_note(messages, note), state)
    if state.level == "force" and offered_edits:
        note = (f"[loop guard] You have read enough ({state.reason}). Propose the edit now with {names}; "
                "only an edit call is accepted.")
        paths, lines = what_was_read(messages)
        return SteerPlan("force", _with_note(messages, note), state,
                         tools=grounded_edit_tools(offered_edits, paths, lines))
    return SteerPlan("explain", messages, state, message=explanation(state))


PATH_KEYS = ("path", "file_path", "filepath", "filename", "file")  # any case: opencode's is filePath
_NUMBERED = re.compile(r"^\s*\d+\s*(?:\||\t|:|→)\s?")


def what_was_read(messages: list[dict[str, Any]]) -> tuple[list[str], dict[str, list[str]]]:
    """The files the conversation's tool calls named (most recent first) whose results were not
    errors, and the lines those results showed of each: what a forced edit may target, so
    that it lands on real text rather than on an invented path and line."""
    results = {m.get("tool_call_id"): m.get("content") for m in messages if m.get("role") == "tool"}
    paths: list[str] = []
    lines: dict[str, list[str]] = {}
    for message in reversed(messages):
        for call in reversed(message.get("tool_calls") or []) if message.get("role") == "assistant" else []:
            args = _arguments((call.get("function") or {}).get("arguments"))
            path = next((v for k, v in args.items() if k.lower() in PATH_KEYS and isinstance(v, str)), None) \
                if isinstance(args, dict) else None
            result = results.get(call.get("id"))
            if not path or not isinstance(result, str) or ERROR_RESULT.match(result):
                continue
            if path not in paths:
                paths.append(path)
            lines[path] = list(dict.fromkeys(lines.get(path, []) + file_lines_of(result)))  # each line once
    return paths, lines


def file_lines_of(result: str) -> list[str]:
    """A read tool's result as the file's lines: numbered listings ("  3| code", "3\tcode",
    as mlxagent's and `cat -n`'s) lose their numbers and their header; plain text is as is."""
    raw = result.splitlines()
    numbered = [x for x in raw if _NUMBERED.match(x)]
    if len(numbered) >= 0.6 * max(1, sum(1 for x in raw if x.strip())):
        return [_NUMBERED.sub("", x, count=1) for x in numbered]
    return raw


def explanation(state: GuardState) -> str:
    if state.level == "stopped":
        return (f"I have stopped because I am not making progress: {state.reason}. "
                "Please tell me which file to change and what the change should be, and I will try again.")
    return (f"I have stopped myself before looping: I have made {state.reads_since_edit} tool calls without "
            f"changing anything ({state.reason}). No edit tool is available to me in this conversation, so I "
            "cannot make the change myself. Tell me which file to change and how, or offer me an edit tool "
            "(for example edit_file or apply_patch) and I will make the change.")
