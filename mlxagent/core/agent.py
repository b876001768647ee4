"""The agent loop: prompt -> stream -> tool calls -> dispatch -> proposals -> results.

`Agent.run_turn(text)` is a generator of events (core/events.py). It runs in whatever thread
iterates it (the TUI's worker, the CLI, the server) and never touches a UI. A `ProposalReady`
event carries a Future that the consumer resolves with a `Review`; the agent waits for it when
it resumes.

The loop orchestrates; each capability lives in its own room and is called from here:
loop prevention in core/guard (the read-loop guard, repeated reads, what a forced edit may
target), the tests in core/testing (the test loop, commands and their consent), the candidate
search in core/repair, the context budget in core/compaction.py, @path attachments in
core/attachments.py. An Agent is built from the settings by mlxagent/builder.py.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Any, Iterator

from .events import (
    ErrorEvent,
    Event,
    ProposalReady,
    ProposalResolved,
    Review,
    TextDelta,
    ToolCallFinished,
    ToolCallStarted,
    TurnFinished,
    TurnStarted,
    wait_for_reply,
)
from .formats import format_for, with_path_enums
from .formats.calls import ToolCall
from .guard import GuardConfig, ReadLoopGuard, RepeatedReads
from .guard.forced import forced_edit_schemas
from .modes import ASK, Mode
from .llm import ChatModel, Constraint
from .prompts import SYSTEM_PROMPT
from .proposals import Proposal, outcome_text
from .validation.admit import screen
from .testing.gate import CommandGate
from .hooks import Hooks
from .testing.detect import is_test_path
from .testing.loop import RetryPolicy, TestLoop
from .textstream import EitherStop, RepeatWatch, StopStringScanner
from .tools import EDIT_TOOLS, READ_ONLY_TOOLS, Toolbox, paths_in_result

# enough for a forced edit at its longest (schemas cap the replacement text)
FORCED_MAX_TOKENS = 640
# After an invalid forced edit, the retry samples: greedy decoding would only repeat it.
RETRY_TEMPERATURE = 1.0
ANSWER_AFTER_STEPS = 4  # a question's turn answers, without a tool, after this many generations
NO_ANSWER = ("I could not answer that from what I read. Name the file it is about (@path), or ask "
             "for a change if you want one made.")
REVIEW_POLICIES = ("ask", "apply")
# How a turn ends before its step limit (besides errors): done, interrupted, or stopped with a question.
STOPS = ("done", "cancelled", "tests_failing", "unconfirmed")


@dataclass
class AgentConfig:
    max_steps: int = 20
    max_tokens: int = 1024
    # "ask": each proposal waits for the user's Review; "apply": applied as proposed (--yes).
    review: str = "ask"
    # What happens when an edit leaves the tests failing (core/testing/loop.py).
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    max_parse_failures: int = 3
    guard: GuardConfig = field(default_factory=GuardConfig)
    # start trimming old tool results when the prompt passes this share of the context
    context_high_water: float = 0.85
    keep_tool_chars: int = 300
    # Every generation must be a tool call until the turn's first proposal is resolved.
    # None: decided by the model (`weak_tool_use`): tiny models whose chat template has no
    # tool support (SmolLM2) almost never open a call on their own, so they are held to one.
    require_tool_calls: bool | None = None
    # Tests: run them before the turn and after each applied edit. None: on when a test command
    # is known (toolbox.context.test_command).
    auto_test: bool | None = None
    # Candidate search (core/repair) in place of a forced edit the model would write.
    repair: bool = True
    # Run that search right after the first failing test run, before the model writes anything.
    # None: for models that are weak tool users (they write fixes badly but rank them well).
    repair_first: bool | None = None
    # When no rule-made candidate passes: the model's own sampled rewrites of the suspect lines
    # (core/repair/sampled.py), for a local model that can sample a batch.
    sampled: bool = True
    # Near the context's end: "shorten" old tool results, or "compact" the turns before this one
    # into a summary (core/compaction.py), shortening only what that leaves too long.
    context_strategy: str = "shorten"
    # An edit the syntax gate refuses is shown for review anyway (with the reason), never applied unasked.
    show_refused: bool = False

    def __post_init__(self) -> None:
        if self.review not in REVIEW_POLICIES:
            raise ValueError(f"review must be one of {', '.join(REVIEW_POLICIES)}, not {self.review!r}")


class Agent:
    def __init__(self, toolbox: Toolbox, model: ChatModel, config: AgentConfig | None = None,
                 system_prompt: str = SYSTEM_PROMPT, gate: CommandGate | None = None,
                 hooks: dict[str, list[list[str]]] | None = None):
        self.toolbox = toolbox
        self.model = model
        self.config = config or AgentConfig()
        self.gate = gate or CommandGate(toolbox.workspace.root)
        self.hooks = Hooks(hooks)  # [hooks] from the user's settings (core/hooks.py)
        self.tests = TestLoop(self)
        self.guard = ReadLoopGuard(self.config.guard)
        self.repeats = RepeatedReads(self.config.guard.enabled, READ_ONLY_TOOLS)
        self.messages: list[dict[str, Any]] = [{"role": "system", "content": system_prompt}]
        self.base_prompt = system_prompt  # before project instructions (core/instructions.py)
        self.instructions = None  # ProjectInstructions | None, read into the system prompt
        self.mode: Mode = ASK  # the permission mode (core/modes.py; builder.set_mode changes it)
        self.turn_start = 1  # index of this turn's user message in `messages`
        self._proposal_resolved = False
        self._forced_invalid = False
        self.answering = False  # this turn only asks a question (core/intents/question.py)
        self._answer_steps = 0  # generations in this turn
        self._answer_now = False  # the current generation is the question's answer: text only

    # -- public -------------------------------------------------------------------------

    def set_model(self, model: ChatModel) -> None:
        """Swap models and keep the conversation."""
        self.model = model

    def clear(self) -> None:
        self.messages = self.messages[:1]
        self.guard = ReadLoopGuard(self.config.guard)

    def set_system_prompt(self, text: str) -> None:
        """A new system prompt (project instructions changed); the conversation is kept."""
        self.messages[0] = {"role": "system", "content": text}

    def load_conversation(self, messages: list[dict[str, Any]]) -> None:
        """Continue a saved conversation (core/saved_sessions.py): its messages after this system prompt."""
        self.messages = self.messages[:1] + [dict(m) for m in messages if m.get("role") != "system"]
        self.guard = ReadLoopGuard(self.config.guard)

    def warm(self, cancel: threading.Event | None = None) -> None:
        """Prefill the model's KV cache with the conversation, so the next turn starts at once
        (after a resume or a compaction). Models without a cache of their own do nothing."""
        warm = getattr(self.model, "warm", None)
        if callable(warm):
            warm(self.messages, self.toolbox.schemas(), cancel=cancel)

    def compact(self, cancel: threading.Event | None = None) -> Iterator[Event]:
        """`/compact`: summarise the conversation into one message, after the user confirms."""
        from .compaction import compact

        yield from compact(self, cancel, confirm=True, max_tokens=self.config.max_tokens // 4 or 200)

    def run_tests_now(self, args: str = "", cancel: threading.Event | None = None) -> Iterator[Event]:
        """`/test [ARGS]` and `--test-cmd`: run the tests now, without a model turn. The result
        goes into the conversation for the next turn."""
        text = yield from self.tests.run_now(args, cancel or threading.Event())
        if text is not None:
            self.messages.append({"role": "user", "content": text})

    def retry_prompt(self) -> str | None:
        """What to tell the model after the user undoes an edit that left the tests failing."""
        return self.tests.retry_prompt()

    # -- the turn -----------------------------------------------------------------------

    def run_turn(self, user_text: str, cancel: threading.Event | None = None) -> Iterator[Event]:
        from . import compaction
        from .intents.question import answer_only
        from .repair import propose as repair, requested

        cancel = cancel or threading.Event()
        started = time.perf_counter()
        totals = {"generated": 0, "prefilled": 0}
        self.guard.reset_task(user_text)
        # a question is answered, not turned into an edit (core/intents/question.py): no forced
        # edit, no tests run first, no candidate search, and the model may answer without a tool
        self.answering = answer_only(user_text)
        self._answer_steps = 0
        self.guard.config = self.mode.guard_config(self.config.guard, self.answering)  # plan mode: never forces
        self.repeats.new_turn(self.config.guard.enabled, self.answering)
        self.tests.new_turn(user_text)
        self._proposal_resolved = False
        self._forced_invalid = False
        attached = self._attach(user_text)
        self.turn_start = len(self.messages)
        request = user_text
        if attached:
            request = attached.text + ("\n\n[Not attached: " + " ".join(attached.notes) + "]" if attached.notes else "")
        self.messages.append({"role": "user", "content": request + self.mode.request_note()})
        yield TurnStarted(user_text)
        if attached:
            for note in attached.notes:
                yield ErrorEvent(note)
        yield self.guard.state()
        reason, message, steps, parse_failures = "max_steps", "", 0, 0
        try:
            if self.tests.enabled() and self.mode.commands and not self.answering:
                self.messages[-1]["content"] += yield from self.tests.before_turn(cancel)
            if cancel.is_set():
                reason = "cancelled"
            elif not self.answering:
                done = yield from requested.opening(self, cancel)
                if done is not None:
                    reason, message = done
            while reason not in STOPS and steps < self.config.max_steps:
                steps += 1
                yield from compaction.fit_context(self)
                forced = self.guard.level == "force" and self.mode.edits
                if forced and repair.possible(self):
                    done = yield from repair.repair(self, cancel)
                    if done is not None:
                        reason, message = done
                        break
                    if cancel.is_set():
                        reason = "cancelled"
                        break
                    if self.guard.level != "force":
                        continue
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
                if self._answer_now and (calls or parsed.errors):  # the answer step: text only
                    parsed = replace(parsed, calls=[], errors=[])
                    calls = []
                    if not parsed.content.strip():
                        reason, message = "done", NO_ANSWER
                        break
                self.append_assistant(parsed.content, calls)
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
                    push = self.tests.push_back()
                    if push is not None:
                        self.messages.append({"role": "user", "content": push})
                        continue
                    reason = "done"
                    break
                self.tests.new_step()
                for index, call in enumerate(calls):
                    self.tests.more_edits = any(c.name in EDIT_TOOLS for c in calls[index + 1:])
                    yield from self._run_call(call, index, len(calls), forced, cancel)
                    if cancel.is_set() or self.tests.finished is not None:
                        break
                if cancel.is_set():
                    reason = "cancelled"
                    break
                if self.tests.finished is not None:
                    reason, message = self.tests.finished
                    break
                if self.guard.level == "stopped":
                    reason, message = "guard_stopped", (
                        f"I keep failing to make progress ({self.guard.state().reason}). "
                        "What should I do: which file and what change?")
                    break
            else:
                if reason not in STOPS:
                    message = f"Stopped after {self.config.max_steps} steps." + self.tests.stopped_message()
        except Exception as exc:  # noqa: BLE001 - the UI gets one clear line, the loop never crashes the app
            reason, message = "error", f"{type(exc).__name__}: {exc}"
            yield ErrorEvent(message)
        if message and reason != "error":
            self.messages.append({"role": "assistant", "content": message})
        if reason != "cancelled" and self.mode.commands:  # plan mode runs no command, hooks included
            yield from self.hooks.turn_end(self.gate, cancel)
        yield TurnFinished(reason, steps, totals["generated"], totals["prefilled"],
                           time.perf_counter() - started, message)

    def _attach(self, user_text: str):
        """`@path` mentions: the files' contents go with the request and count as read. A question
        gets the files it names attached as if mentioned (core/intents/question.py)."""
        if self.answering and "@" not in user_text:
            from .intents.question import named_files

            user_text += "".join(f" @{p}" for p in named_files(user_text, self.toolbox.workspace.list_files()))
        if "@" not in user_text:
            return None
        from .attachments import expand_mentions

        attached = expand_mentions(user_text, self.toolbox.workspace)
        for path in attached.paths:
            self.guard.attached(path, self._fingerprint(path))
            self.repeats.read(path)
        return attached

    # -- generation ---------------------------------------------------------------------

    def _generate(self, forced: bool, cancel: threading.Event):
        """Stream one generation; yields (event, None) pairs, then (None, (text, finish, stats))."""
        # the prompt lists every tool the mode offers: a stable prompt keeps the KV cache
        tools = self.toolbox.schemas(self.mode.tools(self.toolbox.names()))
        max_tokens, temperature = self.config.max_tokens, None
        if self.tests.attempts:  # an edit was undone for failing the tests: the retry must differ
            temperature = RETRY_TEMPERATURE
        next_read = None if forced else self.repeats.take_next_read()
        self._answer_steps += 1
        # a question's turn answers at the guard's first nudge or after a few steps: no tool then
        self._answer_now = self.answering and not forced and (
            self.guard.level != "ok" or self._answer_steps > ANSWER_AFTER_STEPS)
        if self._answer_now:
            constraint = None
        elif forced:
            schemas = forced_edit_schemas(tools, self.guard, self.toolbox.workspace, self.tests.failing_paths())
            constraint = Constraint(schemas, forced=True)
            max_tokens = max(max_tokens, FORCED_MAX_TOKENS)
            temperature = RETRY_TEMPERATURE if self._forced_invalid or self.tests.attempts else None
        elif next_read is not None:
            read = [t for t in self._workspace_tools(tools) if t["function"]["name"] == "read_file"]
            constraint = Constraint(with_path_enums(read, [next_read], ["."]), forced=True)
        else:
            constraint = Constraint(self._workspace_tools(tools), forced=self._tool_call_required())
        start_marker = format_for(self.model.tool_format).tool_call_start
        visible = StopStringScanner([start_marker] if start_marker else [])
        loop = RepeatWatch()  # prose that repeats a sentence a third time is cut there
        hidden = False
        text, finish, stats = "", None, None
        for chunk in self.model.stream(self.messages, tools, constraint=constraint, max_tokens=max_tokens,
                                       cancel=EitherStop(cancel, loop), temperature=temperature):
            text += chunk.text
            if chunk.text and not hidden:
                shown, hidden = visible.feed(chunk.text)
                if shown:
                    yield TextDelta(shown), None
                    loop.feed(shown)
            if chunk.finish_reason:
                finish, stats = chunk.finish_reason, chunk.stats
        if not hidden and (rest := visible.flush()):
            yield TextDelta(rest), None
        if loop.looping and not cancel.is_set():
            text, finish = loop.kept(text), "repeating"
        yield None, (text, finish, stats)

    def _forced_edit_invalid(self, reason: str) -> None:
        self._forced_invalid = True
        self.guard.on_forced_edit_invalid(reason)

    def _tool_call_required(self) -> bool:
        required = self.config.require_tool_calls
        if required is None:
            required = bool(getattr(self.model, "weak_tool_use", False))
        # a plan is text, and so is an answer
        return required and not self._proposal_resolved and self.mode.edits and not self.answering

    def _workspace_tools(self, tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
        files = self.toolbox.workspace.list_files()
        folders = ["."] + sorted({f.rsplit("/", 1)[0] for f in files if "/" in f})
        return with_path_enums(tools, files, folders)

    # -- tools --------------------------------------------------------------------------

    def append_assistant(self, content: str, calls: list[ToolCall] | None) -> None:
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
        refused = self.mode.refusal(call.name)  # plan mode: no edit, no command (core/modes.py)
        repeat = self.repeats.check(call.name, call.arguments, self._unread) \
            if decision.action == "run" and refused is None else None
        command = None
        if refused is not None:
            text, is_error, proposal = refused, True, None
        elif repeat is not None:
            text, is_error, proposal = repeat, False, None
        elif decision.action == "run":
            result = self.toolbox.execute(call.name, call.arguments)
            text, is_error, proposal, command = result.text, result.is_error, result.proposal, result.command
        else:
            text, is_error, proposal = decision.message, decision.action == "refuse", None
        if command is not None:
            text, is_error = yield from self._command(call, command, cancel)
        if proposal is not None:
            text = yield from self.review(proposal, forced, cancel)
        elif forced and call.name in EDIT_TOOLS and is_error:
            self._forced_edit_invalid(text.splitlines()[0] if text else "invalid edit")
        self.guard.after_tool(call.name, call.arguments, is_error, index, batch,
                              seen_paths=paths_in_result(call.name, text))
        if repeat is None:
            self.repeats.record(call.name, call.arguments, self.guard.step, ok=not is_error)
        if note := self.mode.guard_note(self.guard.note(), self.answering):
            text += "\n\n" + note
        step_text = f"[step {self.guard.step}] {text}"
        self.messages.append({"role": "tool", "tool_call_id": call.id, "name": call.name, "content": step_text})
        yield ToolCallFinished(call.id, call.name, call.arguments, text, is_error)
        after = self.guard.state()
        if (after.level, after.reads_since_edit, after.reason) != (before.level, before.reads_since_edit, before.reason):
            yield after

    def review(self, proposal: Proposal, forced: bool, cancel: threading.Event) -> Iterator[Event]:
        """Offer `proposal` for review (or apply it, under the "apply" policy); returns the text
        the model reads about what became of it, the tests' verdict included."""
        if not self.mode.edits:  # plan mode: whatever proposed it, nothing is offered or written
            self.toolbox.proposals.discard(proposal)
            return self.mode.edit_refusal()
        proposal, answer = yield from screen(self, proposal, forced)
        if proposal is None:
            return answer  # refused or held: nothing was offered, the model reads why
        event = ProposalReady(proposal)
        if answer == "apply":
            event.reply.set_result(Review.accept_all(len(proposal.hunks)))
        yield event
        review = wait_for_reply(event.reply, cancel)
        if review is None:
            self.toolbox.proposals.discard(proposal)
            return "The user interrupted before reviewing this edit; nothing was written."
        resolved: ProposalResolved = self.toolbox.proposals.apply(proposal, review)
        yield resolved
        self._proposal_resolved = True
        self._forced_invalid = forced and resolved.outcome in ("rejected", "failed")  # a retry must differ
        self.guard.on_proposal_resolved(resolved.outcome)
        self.repeats.edited()
        text = outcome_text(resolved)
        if resolved.outcome in ("applied", "partly applied"):
            text += yield from self.hooks.after_edit(self.gate, self.toolbox.proposals, proposal, cancel)
            text += yield from self.tests.applied(proposal, cancel)
        return text

    def _command(self, call, request, cancel: threading.Event) -> Iterator[Event]:
        """Run a command tool's request; returns (text for the model, is_error)."""
        if request.purpose == "mcp":  # an MCP server's tool (core/tools/external.py)
            from .tools.external import run_external

            text, is_error = yield from run_external(self.gate, call.id, request, cancel)
            # a weak tool user held to tool calls may answer in words once a server's tool answered
            self._proposal_resolved = self._proposal_resolved or not is_error
            return text, is_error
        blocked = yield from self.hooks.before_command(self.gate, request.argv, cancel)
        if blocked is not None:
            return blocked, True
        if request.purpose == "tests":
            report, text = yield from self.tests.run(call.id, cancel, target=call.arguments.get("target"))
            return text, report is None
        result, refusal = yield from self.gate.run(call.id, request.argv, request.cwd, "command", cancel)
        if result is None:
            return refusal, True
        head = f"{result.describe()}\n"
        return head + (result.output[-6000:] if result.output else "(no output)"), not result.ok

    def _unread(self) -> list[str]:
        """Files worth reading next: the failing tests' frames and the files the request names,
        code before tests, those not read yet."""
        files = self.toolbox.workspace.list_files()
        frames = self.tests.failing_paths()
        named = self.guard.named_in_request(files)
        ordered = [p for p in frames if not is_test_path(p)] + [p for p in named if not is_test_path(p)] \
            + named + frames
        return [p for p in dict.fromkeys(ordered) if p in files and not self.repeats.was_read(p)]
