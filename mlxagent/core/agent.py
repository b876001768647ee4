"""The agent loop: prompt -> stream -> tool calls -> dispatch -> proposals -> results.

`Agent.run_turn(text)` is a generator of events (core/events.py). It runs in
whatever thread iterates it (the TUI's worker, the CLI, the server) and never
touches a UI. A `ProposalReady` event carries a Future that the consumer resolves
with a `Review`; the agent waits for it when it resumes. Everything the loop
decides about reading too much comes from the read-loop guard (core/guard.py).
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any, Iterator

from .events import (
    ContextTrimmed,
    ErrorEvent,
    Event,
    GenerationStats,
    GuardState,
    ProposalReady,
    ProposalResolved,
    Review,
    TextDelta,
    ToolCallFinished,
    ToolCallStarted,
    TurnFinished,
    TurnStarted,
)
from .formats import forced_edit_tools, format_for, with_path_enums
from .guard import GuardConfig, ReadLoopGuard
from .llm import ChatModel, Constraint
from .prompts import SYSTEM_PROMPT
from .proposals import outcome_text
from .textstream import StopStringScanner
from .tools import EDIT_TOOLS, Toolbox, paths_in_result

# enough for a forced edit at its longest (schemas cap the replacement text)
FORCED_MAX_TOKENS = 640
# After an invalid forced edit, the retry samples: greedy decoding would only repeat it.
RETRY_TEMPERATURE = 1.0
SHORTENED = "\n[… shortened to save context; call the tool again if you need it]"


@dataclass
class AgentConfig:
    max_steps: int = 20
    max_tokens: int = 1024
    auto_approve: bool = False
    max_parse_failures: int = 3
    guard: GuardConfig = field(default_factory=GuardConfig)
    # start trimming old tool results when the prompt passes this share of the context
    context_high_water: float = 0.85
    keep_tool_chars: int = 300
    # Every generation must be a tool call until the turn's first proposal is resolved.
    # None: decided by the model (`weak_tool_use`): tiny models whose chat template has no
    # tool support (SmolLM2) almost never open a call on their own, so they are held to one.
    require_tool_calls: bool | None = None


class Agent:
    def __init__(self, toolbox: Toolbox, model: ChatModel, config: AgentConfig | None = None,
                 system_prompt: str = SYSTEM_PROMPT):
        self.toolbox = toolbox
        self.model = model
        self.config = config or AgentConfig()
        self.guard = ReadLoopGuard(self.config.guard)
        self.messages: list[dict[str, Any]] = [{"role": "system", "content": system_prompt}]
        self._proposal_resolved = False
        self._forced_invalid = False

    # -- public -------------------------------------------------------------------------

    def set_model(self, model: ChatModel) -> None:
        """Swap models and keep the conversation."""
        self.model = model

    def clear(self) -> None:
        self.messages = self.messages[:1]
        self.guard = ReadLoopGuard(self.config.guard)

    def run_turn(self, user_text: str, cancel: threading.Event | None = None) -> Iterator[Event]:
        cancel = cancel or threading.Event()
        started = time.perf_counter()
        totals = {"generated": 0, "prefilled": 0}
        self.guard.reset_task(user_text)
        self._proposal_resolved = False
        self._forced_invalid = False
        self.messages.append({"role": "user", "content": user_text})
        yield TurnStarted(user_text)
        yield self.guard.state()
        reason, message, steps, parse_failures = "max_steps", "", 0, 0
        try:
            while steps < self.config.max_steps:
                steps += 1
                yield from self._fit_context()
                forced = self.guard.level == "force"
                text, finish, stats = "", None, None
                for event, value in self._generate(forced, cancel):
                    if event is not None:
                        yield event
                    else:
                        text, finish, stats = value
                if stats:
                    totals["generated"] += stats.generated_tokens
                    totals["prefilled"] += stats.prefilled_tokens
                    yield stats
                if finish == "cancelled" or cancel.is_set():
                    reason = "cancelled"
                    break
                parsed = format_for(self.model.tool_format).parse(text, self.toolbox.schemas())
                calls = parsed.calls
                self._append_assistant(parsed.content, calls)
                if parsed.errors and not calls:
                    parse_failures += 1
                    if forced:
                        self._forced_edit_invalid(parsed.errors[0])
                    self.messages.append({"role": "user", "content": "Tool call error: " + " ".join(parsed.errors)
                                          + " Reply with one valid tool call, or answer without one."})
                    yield ErrorEvent("The model's tool call did not parse: " + parsed.errors[0])
                    if parse_failures >= self.config.max_parse_failures:
                        reason, message = "parse_failures", (
                            f"Stopped after {parse_failures} malformed tool calls in a row; "
                            "try rephrasing the task or a stronger model.")
                        break
                    continue
                parse_failures = 0
                if not calls:
                    reason = "done"
                    break
                for index, call in enumerate(calls):
                    yield from self._run_call(call, index, len(calls), forced, cancel)
                    if cancel.is_set():
                        break
                if cancel.is_set():
                    reason = "cancelled"
                    break
                if self.guard.level == "stopped":
                    reason, message = "guard_stopped", (
                        f"I keep failing to make progress ({self.guard.state().reason}). "
                        "What should I do: which file and what change?")
                    break
            else:
                message = f"Stopped after {self.config.max_steps} steps."
        except Exception as exc:  # noqa: BLE001 - the UI gets one clear line, the loop never crashes the app
            reason, message = "error", f"{type(exc).__name__}: {exc}"
            yield ErrorEvent(message)
        if message and reason != "error":
            self.messages.append({"role": "assistant", "content": message})
        yield TurnFinished(reason, steps, totals["generated"], totals["prefilled"],
                           time.perf_counter() - started, message)

    # -- generation ---------------------------------------------------------------------

    def _generate(self, forced: bool, cancel: threading.Event):
        """Stream one generation; yields (event, None) pairs, then (None, (text, finish, stats))."""
        tools = self.toolbox.schemas()  # the prompt always lists every tool: a stable prompt keeps the KV cache
        max_tokens, temperature = self.config.max_tokens, None
        if forced:
            constraint = Constraint(self._forced_tools(tools), forced=True)
            max_tokens = max(max_tokens, FORCED_MAX_TOKENS)
            temperature = RETRY_TEMPERATURE if self._forced_invalid else None
        else:
            constraint = Constraint(self._workspace_tools(tools), forced=self._tool_call_required())
        start_marker = format_for(self.model.tool_format).tool_call_start
        visible = StopStringScanner([start_marker] if start_marker else [])
        hidden = False
        text, finish, stats = "", None, None
        for chunk in self.model.stream(self.messages, tools, constraint=constraint,
                                       max_tokens=max_tokens, cancel=cancel, temperature=temperature):
            text += chunk.text
            if chunk.text and not hidden:
                shown, hidden = visible.feed(chunk.text)
                if shown:
                    yield TextDelta(shown), None
            if chunk.finish_reason:
                finish, stats = chunk.finish_reason, chunk.stats
        if not hidden and (rest := visible.flush()):
            yield TextDelta(rest), None
        yield None, (text, finish, stats)

    def _forced_edit_invalid(self, reason: str) -> None:
        self._forced_invalid = True
        self.guard.on_forced_edit_invalid(reason)

    def _tool_call_required(self) -> bool:
        required = self.config.require_tool_calls
        if required is None:
            required = bool(getattr(self.model, "weak_tool_use", False))
        return required and not self._proposal_resolved

    def _workspace_tools(self, tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
        files = self.toolbox.workspace.list_files()
        folders = ["."] + sorted({f.rsplit("/", 1)[0] for f in files if "/" in f})
        return with_path_enums(tools, files, folders)

    def _forced_tools(self, tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
        spec = self.guard.force_spec()
        ws = self.toolbox.workspace
        candidates = list(spec.candidate_paths) if spec else []
        if not candidates:  # nothing read or listed successfully: the files the user named, else any
            files = ws.list_files()
            candidates = self.guard.named_in_request(files) or files[:20]
        paths, lines = [], {}
        for path in candidates:
            try:
                data = ws.resolve(path).read_bytes()
            except (OSError, Exception):  # noqa: BLE001 - a vanished or refused path is just not a candidate
                continue
            if b"\0" in data[:8192]:
                continue
            paths.append(path)
            lines[path] = data.decode("utf-8", "replace").splitlines()
        edit_schemas = [t for t in tools if t["function"]["name"] in EDIT_TOOLS]
        if not paths:
            return edit_schemas
        narrowed = forced_edit_tools(edit_schemas, paths, lines)
        # A small model forced to write tends to replace a whole file with filler; when a real
        # line can be edited instead, only edit_file is offered, so the edit lands on real code.
        edits = [t for t in narrowed if t["function"]["name"] == "edit_file"]
        return edits or narrowed

    # -- tools --------------------------------------------------------------------------

    def _append_assistant(self, content: str, calls) -> None:
        message: dict[str, Any] = {"role": "assistant", "content": content or ""}
        if calls:
            message["tool_calls"] = [
                {"id": call.id, "type": "function",
                 "function": {"name": call.name, "arguments": json.dumps(call.arguments)}}
                for call in calls
            ]
        self.messages.append(message)

    def _fingerprint(self, path: str) -> str | None:
        try:
            return hashlib.sha256(self.toolbox.workspace.resolve(path).read_bytes()).hexdigest()
        except Exception:  # noqa: BLE001 - unreadable: no fingerprint, the tool runs and reports
            return None

    def _run_call(self, call, index: int, batch: int, forced: bool, cancel: threading.Event) -> Iterator[Event]:
        before = self.guard.state()
        yield ToolCallStarted(call.id, call.name, call.arguments)
        decision = self.guard.before_tool(call.name, call.arguments, self._fingerprint)
        if decision.action == "run":
            result = self.toolbox.execute(call.name, call.arguments)
            text, is_error, proposal = result.text, result.is_error, result.proposal
        else:
            text, is_error, proposal = decision.message, decision.action == "refuse", None
        if proposal is not None:
            text = yield from self._review(proposal, forced, cancel)
        elif forced and call.name in EDIT_TOOLS and is_error:
            self._forced_edit_invalid(text.splitlines()[0] if text else "invalid edit")
        self.guard.after_tool(call.name, call.arguments, is_error, index, batch,
                              seen_paths=paths_in_result(call.name, text))
        if note := self.guard.note():
            text += "\n\n" + note
        step_text = f"[step {self.guard.step}] {text}"
        self.messages.append({"role": "tool", "tool_call_id": call.id, "name": call.name, "content": step_text})
        yield ToolCallFinished(call.id, call.name, call.arguments, text, is_error)
        after = self.guard.state()
        if (after.level, after.reads_since_edit, after.reason) != (before.level, before.reads_since_edit, before.reason):
            yield after

    def _review(self, proposal, forced: bool, cancel: threading.Event):
        event = ProposalReady(proposal)
        if self.config.auto_approve:
            event.reply.set_result(Review.accept_all(len(proposal.hunks)))
        yield event
        review = None
        while review is None:
            try:
                review = event.reply.result(timeout=0.1)
            except FutureTimeout:
                if cancel.is_set():
                    self.toolbox.proposals.discard(proposal)
                    event.reply.cancel()
                    return "The user interrupted before reviewing this edit; nothing was written."
        resolved: ProposalResolved = self.toolbox.proposals.apply(proposal, review)
        yield resolved
        self._proposal_resolved = True
        self._forced_invalid = forced and resolved.outcome in ("rejected", "failed")  # a retry must differ
        self.guard.on_proposal_resolved(resolved.outcome)
        return outcome_text(resolved)

    # -- context budget -----------------------------------------------------------------

    def _fit_context(self) -> Iterator[Event]:
        """Shorten older tool results when the prompt nears the model's context length."""
        tools = self.toolbox.schemas()
        limit = int((self.model.context_length - self.config.max_tokens) * self.config.context_high_water)
        before = self.model.count_tokens(self.messages, tools)
        if before <= limit:
            return
        tool_messages = [m for m in self.messages if m["role"] == "tool"]
        shortened = 0
        for message in tool_messages[:-1]:  # the newest result stays whole
            if len(message["content"]) > self.config.keep_tool_chars and not message["content"].endswith(SHORTENED):
                message["content"] = message["content"][: self.config.keep_tool_chars] + SHORTENED
                shortened += 1
        if not shortened:
            return  # nothing left to shorten; the model's own length limit ends the turn if it must
        self.guard.forget_reads()
        after = self.model.count_tokens(self.messages, tools)
        yield ContextTrimmed(before, after, f"Context nearly full ({before} tokens): older tool results were "
                                           f"shortened to {after} tokens.")

