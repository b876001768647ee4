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
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Iterator

from .testing.gate import CommandGate, made_worse_or_no_better
from .events import (
    CommandFinished,
    ContextTrimmed,
    ErrorEvent,
    Event,
    GenerationStats,
    GuardState,
    ProposalReady,
    ProposalResolved,
    RepairProgress,
    Review,
    TextDelta,
    ToolCallFinished,
    ToolCallStarted,
    TurnFinished,
    TurnStarted,
    wait_for_reply,
)
from .formats import forced_edit_tools, format_for, with_path_enums
from .guard import GuardConfig, ReadLoopGuard
from .llm import ChatModel, Constraint
from .prompts import SYSTEM_PROMPT
from .proposals import Proposal, outcome_text
from .textstream import StopStringScanner
from .formats.calls import ToolCall, new_call_id
from .tools import COMMAND_TOOLS, EDIT_TOOLS, READ_ONLY_TOOLS, Toolbox, paths_in_result

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
    # Tests: run them before the turn and after each applied edit. None: on when a test command
    # is known (toolbox.context.test_command).
    auto_test: bool | None = None
    # With auto-approve, an applied edit that leaves the tests failing is undone and the model
    # tries again, up to this many edits.
    max_attempts: int = 4
    # Candidate search (core/repair.py) in place of a forced edit the model would write.
    repair: bool = True
    # Run that search right after the first failing test run, before the model writes anything.
    # None: for models that are weak tool users (they write fixes badly but rank them well).
    repair_first: bool | None = None
    # How many times the model may end the turn while tests it was to fix still fail.
    max_pushbacks: int = 1
    # Near the context's end: "shorten" old tool results, or "compact" the turns before this one
    # into a summary (core/compaction.py), shortening only what that leaves too long.
    context_strategy: str = "shorten"


@dataclass
class TestTracker:
    """What the tests said during a turn: the failing run it started with, the latest run, and
    how many edits were tried against them."""

    request: str = ""
    baseline: Any = None  # TestReport | None: failing tests at the turn's start
    last: Any = None  # TestReport | None
    attempts: int = 0  # applied edits undone because the tests still failed
    pushbacks: int = 0
    repairs: int = 0
    repair_exhausted: bool = False
    tried: set = field(default_factory=set)  # candidate file sets already applied and undone
    finished: tuple[str, str] | None = None  # (reason, message): end the turn now

    def new_turn(self, request: str) -> None:
        self.__init__(request=request)

    def still_failing(self) -> bool:
        return self.last is not None and not self.last.ok


class Agent:
    def __init__(self, toolbox: Toolbox, model: ChatModel, config: AgentConfig | None = None,
                 system_prompt: str = SYSTEM_PROMPT, gate: CommandGate | None = None):
        self.toolbox = toolbox
        self.model = model
        self.config = config or AgentConfig()
        self.gate = gate or CommandGate(toolbox.workspace.root)
        self.tests = TestTracker()
        self.guard = ReadLoopGuard(self.config.guard)
        self.messages: list[dict[str, Any]] = [{"role": "system", "content": system_prompt}]
        self.base_prompt = system_prompt  # before project instructions (core/instructions.py)
        self.instructions = None  # ProjectInstructions | None, read into the system prompt
        self._proposal_resolved = False
        self._forced_invalid = False
        self._edits = 0  # proposals resolved: a repeated read after one may see something new
        self._repeats: dict[str, tuple[int, int]] = {}
        self._read_paths: set[str] = set()
        self._next_read: str | None = None
        self._more_edits = False  # more edit calls follow in this model message
        self._step_applied: list = []  # proposals applied in this step (undone together)
        self._turn_start = 1  # index of this turn's user message in `messages`

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
        """Continue a saved conversation (core/sessions.py): its messages after this system prompt."""
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

    def run_turn(self, user_text: str, cancel: threading.Event | None = None) -> Iterator[Event]:
        cancel = cancel or threading.Event()
        started = time.perf_counter()
        totals = {"generated": 0, "prefilled": 0}
        self.guard.reset_task(user_text)
        self._proposal_resolved = False
        self._forced_invalid = False
        self.tests.new_turn(user_text)
        self._repeats: dict[str, tuple[int, int]] = {}  # read-only call key -> (step, times repeated)
        self._next_read: str | None = None  # a path the next generation must read (after repeats)
        attached = self._attach(user_text)
        self._turn_start = len(self.messages)
        request = user_text
        if attached:
            request = attached.text + ("\n\n[Not attached: " + " ".join(attached.notes) + "]" if attached.notes else "")
        self.messages.append({"role": "user", "content": request})
        yield TurnStarted(user_text)
        if attached:
            for note in attached.notes:
                yield ErrorEvent(note)
        yield self.guard.state()
        reason, message, steps, parse_failures = "max_steps", "", 0, 0
        try:
            if self._auto_test():
                report, text = yield from self._test_run("tests-before-" + new_call_id()[5:], cancel)
                if report is not None and not report.ok:
                    self.tests.baseline = report
                    self.messages[-1]["content"] += "\n\n[The tests, run before any change]\n" + text
            if cancel.is_set():
                reason = "cancelled"
            elif self._repair_first():
                done = yield from self._repair(cancel)
                if done is not None:
                    reason, message = done
            while reason not in ("done", "cancelled", "tests_failing") and steps < self.config.max_steps:
                steps += 1
                yield from self._fit_context()
                forced = self.guard.level == "force"
                if forced and self._repair_possible():
                    done = yield from self._repair(cancel)
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
                    if self._push_back():
                        continue
                    reason = "done"
                    break
                self._step_applied = []
                for index, call in enumerate(calls):
                    self._more_edits = any(c.name in EDIT_TOOLS for c in calls[index + 1:])
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
                if reason not in ("done", "cancelled", "tests_failing"):
                    message = f"Stopped after {self.config.max_steps} steps."
                    if self.tests.still_failing():
                        message += " The tests still fail: " + self.tests.last.summary().splitlines()[0]
        except Exception as exc:  # noqa: BLE001 - the UI gets one clear line, the loop never crashes the app
            reason, message = "error", f"{type(exc).__name__}: {exc}"
            yield ErrorEvent(message)
        if message and reason != "error":
            self.messages.append({"role": "assistant", "content": message})
        yield TurnFinished(reason, steps, totals["generated"], totals["prefilled"],
                           time.perf_counter() - started, message)

    def _attach(self, user_text: str):
        """`@path` mentions: the files' contents go with the request and count as read."""
        if "@" not in user_text:
            return None
        from .attachments import expand_mentions

        attached = expand_mentions(user_text, self.toolbox.workspace)
        for path in attached.paths:
            self.guard.attached(path, self._fingerprint(path))
            self._read_paths.add(path)
        return attached

    def run_tests_now(self, args: str = "", cancel: threading.Event | None = None) -> Iterator[Event]:
        """`/test [ARGS]` and `--test-cmd`: run the tests now, without a model turn. The user asked,
        so no consent is asked; the result goes into the conversation for the next turn."""
        cancel = cancel or threading.Event()
        command = self.toolbox.context.test_command
        call_id = new_call_id()
        if command is None:
            yield ErrorEvent("No test command is known for this repository: set [project] test_command in "
                             ".mlxagent.toml or test_command in the settings.")
            return
        report, text = yield from self.gate.run_tests(call_id, command, cancel, target=args.strip() or None,
                                                      ask=False)
        self.gate.permissions.allow_for_session(command.argv)  # the user ran it: consent for this session
        if report is not None:
            self.tests.last = report
            self.messages.append({"role": "user", "content": "[I ran the tests]\n" + text})

    def retry_prompt(self) -> str | None:
        """What to tell the model after the user undoes an edit that left the tests failing."""
        last = self.tests.last
        if last is None or last.ok:
            return None
        return ("I undid your last edit: the tests still failed after it.\n" + last.summary()
                + "\nTry a different fix in the code (not in the tests).")

    # -- generation ---------------------------------------------------------------------

    def _generate(self, forced: bool, cancel: threading.Event):
        """Stream one generation; yields (event, None) pairs, then (None, (text, finish, stats))."""
        tools = self.toolbox.schemas()  # the prompt always lists every tool: a stable prompt keeps the KV cache
        max_tokens, temperature = self.config.max_tokens, None
        if self.tests.attempts:  # an edit was undone for failing the tests: the retry must differ
            temperature = RETRY_TEMPERATURE
        if forced:
            constraint = Constraint(self._forced_tools(tools), forced=True)
            max_tokens = max(max_tokens, FORCED_MAX_TOKENS)
            temperature = RETRY_TEMPERATURE if self._forced_invalid or self.tests.attempts else None
        elif self._next_read is not None:
            read = [t for t in self._workspace_tools(tools) if t["function"]["name"] == "read_file"]
            from .formats import with_path_enums

            constraint = Constraint(with_path_enums(read, [self._next_read], ["."]), forced=True)
            self._next_read = None
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
        # The failing traceback names the files that matter: code before tests, then the rest.
        failing = self._failing_paths()
        if failing:
            candidates = list(dict.fromkeys(failing + candidates))
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
        repeat = self._repeat_note(call) if decision.action == "run" else None
        command = None
        if repeat is not None:
            text, is_error, proposal = repeat, False, None
        elif decision.action == "run":
            result = self.toolbox.execute(call.name, call.arguments)
            text, is_error, proposal, command = result.text, result.is_error, result.proposal, result.command
        else:
            text, is_error, proposal = decision.message, decision.action == "refuse", None
        if command is not None:
            text, is_error = yield from self._command(call, command, cancel)
        if proposal is not None:
            text = yield from self._review(proposal, forced, cancel)
        elif forced and call.name in EDIT_TOOLS and is_error:
            self._forced_edit_invalid(text.splitlines()[0] if text else "invalid edit")
        self.guard.after_tool(call.name, call.arguments, is_error, index, batch,
                              seen_paths=paths_in_result(call.name, text))
        if call.name in READ_ONLY_TOOLS and repeat is None and not is_error:
            self._repeats.setdefault(self._call_key(call), (self.guard.step, 0))
            if call.name == "read_file":
                self._read_paths.add(str(call.arguments.get("path", "")))
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
        review = wait_for_reply(event.reply, cancel)
        if review is None:
            self.toolbox.proposals.discard(proposal)
            return "The user interrupted before reviewing this edit; nothing was written."
        resolved: ProposalResolved = self.toolbox.proposals.apply(proposal, review)
        yield resolved
        self._proposal_resolved = True
        self._forced_invalid = forced and resolved.outcome in ("rejected", "failed")  # a retry must differ
        self.guard.on_proposal_resolved(resolved.outcome)
        self._edits += 1
        text = outcome_text(resolved)
        if resolved.outcome in ("applied", "partly applied"):
            self._step_applied.append(proposal)
            if self._auto_test():
                if self._more_edits:
                    text += " The tests run after the last edit of this step."
                else:
                    text += yield from self._test_after_edit(proposal, cancel)
        return text

    # -- tests and commands ---------------------------------------------------------------

    def _auto_test(self) -> bool:
        if self.toolbox.context.test_command is None:
            return False
        return self.config.auto_test is not False

    def _weak(self) -> bool:
        return bool(getattr(self.model, "weak_tool_use", False))

    def _test_run(self, call_id: str, cancel: threading.Event, after_edit: str = "",
                  target: str | None = None) -> Iterator[Event]:
        """Run the test command (asking consent the first time); returns (report | None, text)."""
        command = self.toolbox.context.test_command
        report, text = yield from self.gate.run_tests(call_id, command, cancel, target=target, after_edit=after_edit)
        if report is not None:
            self.tests.last = report
        return report, text

    def _test_after_edit(self, proposal, cancel: threading.Event) -> Iterator[Event]:
        """Auto-test an applied edit: what the model reads about it. With auto-approve, an edit that
        leaves the tests failing is undone (exact bytes) and the model tries again."""
        before = self.tests.baseline
        report, text = yield from self._test_run("tests-after-" + new_call_id()[5:], cancel,
                                                  after_edit=proposal.id)
        if report is None:
            return "\n" + text
        out = "\n" + text
        if report.ok:
            if before is not None and self._weak():
                self.tests.finished = ("done", f"Done: the tests that failed now pass ({report.passed} passed). "
                                               f"Changed {proposal.path}.")
            return out
        if self.config.auto_approve and made_worse_or_no_better(before, report):
            applied = self._step_applied or [proposal]
            undone = " ".join(self.toolbox.proposals.undo() for _ in applied)  # this step's edits, newest first
            self._step_applied = []
            self._edits += 1
            self.tests.attempts += 1
            self.tests.tried.add(tuple((p.path, p.new.decode("utf-8", "replace")) for p in applied))
            out += f"\n{undone} The edit was undone because the tests still fail; try a different fix."
            yield ErrorEvent(f"The edit to {', '.join(p.path for p in applied)} left the tests failing; undone "
                             f"(attempt {self.tests.attempts} of {self.config.max_attempts}).")
            if self.tests.attempts >= self.config.max_attempts:
                self.tests.finished = ("tests_failing", f"Stopped after {self.tests.attempts} edits that left the "
                                       "tests failing; each was undone. " + report.summary().splitlines()[0])
        return out

    def _push_back(self) -> bool:
        """The model ended its turn: while tests it was to fix still fail, say so once."""
        t = self.tests
        if t.baseline is None or not t.still_failing() or t.pushbacks >= self.config.max_pushbacks:
            return False
        t.pushbacks += 1
        self.messages.append({"role": "user", "content": "The tests still fail:\n" + t.last.summary()
                              + "\nFix the code (not the tests), or explain why they cannot pass."})
        return True

    def _command(self, call, request, cancel: threading.Event) -> Iterator[Event]:
        """Run a command tool's request; returns (text for the model, is_error)."""
        if request.purpose == "tests":
            report, text = yield from self._test_run(call.id, cancel, target=call.arguments.get("target"))
            return text, report is None
        result, refusal = yield from self.gate.run(call.id, request.argv, request.cwd, "command", cancel)
        if result is None:
            return refusal, True
        head = f"{result.describe()}\n"
        return head + (result.output[-6000:] if result.output else "(no output)"), not result.ok

    # -- repeated reads ---------------------------------------------------------------------

    def _call_key(self, call) -> str:
        return json.dumps([call.name, call.arguments, self._edits], sort_keys=True, default=str)

    def _repeat_note(self, call) -> str | None:
        """An identical read-only call since the last edit is not run again: the reply points at
        the next useful read; a second repeat makes the next generation that read."""
        if call.name not in READ_ONLY_TOOLS or not self.config.guard.enabled:
            return None
        key = self._call_key(call)
        if key not in self._repeats:
            return None
        step, times = self._repeats[key]
        self._repeats[key] = (step, times + 1)
        unread = self._unread_relevant()
        text = f"Same call as step {step}; its result has not changed (see step {step})."
        if unread:
            text += f" Next, read {unread[0]} with read_file."
            if times + 1 >= 2:
                self._next_read = unread[0]
        else:
            text += " Propose an edit now with edit_file."
        return text

    def _failing_paths(self) -> list[str]:
        """Files of the last failing test run's frames, deepest first, code before tests (tests
        first only when the request is about them)."""
        from .repair import is_test_path

        report = self.tests.last
        if report is None or report.ok:
            return []
        frames = list(dict.fromkeys(f.path for failure in report.failures for f in reversed(failure.frames)))
        request = self.tests.request.lower()
        # "fix the test in test_x.py" is about the test; "make test_x.py pass" is about the code
        about_tests = bool(re.search(r"\b(fix|update|change|edit|rewrite)\b[^.]*\btests?\b", request)) \
            and not re.search(r"\btests?\b[^.]*\bpass", request)
        code = [p for p in frames if not is_test_path(p)]
        tests = [p for p in frames if is_test_path(p)]
        return tests + code if about_tests else code + tests

    def _unread_relevant(self) -> list[str]:
        from .repair import is_test_path

        files = self.toolbox.workspace.list_files()
        frames = self._failing_paths()
        named = self.guard.named_in_request(files)
        ordered = [p for p in frames if not is_test_path(p)] + [p for p in named if not is_test_path(p)] \
            + named + frames
        return [p for p in dict.fromkeys(ordered) if p in files and p not in self._read_paths]

    # -- candidate search (core/repair.py) -------------------------------------------------

    def _repair_first(self) -> bool:
        first = self.config.repair_first
        if first is None:
            first = self._weak()
        return first and self._repair_possible()

    def _repair_possible(self) -> bool:
        t = self.tests
        return (self.config.repair and self._auto_test() and not t.repair_exhausted and t.repairs < 2
                and t.still_failing() and self.gate.test_consent(self.toolbox.context.test_command))

    def _scorer(self, cancel: threading.Event):
        score = getattr(self.model, "score_texts", None)
        if score is None:
            return None
        from .repair import scoring_messages

        def scorer(path: str, context: str, base: str, variants: list[str]) -> list[float]:
            messages, reply = scoring_messages(path, context, base)
            return score(messages, reply.format(base), [reply.format(v) for v in variants], cancel=cancel.is_set)

        return scorer

    def _repair(self, cancel: threading.Event) -> Iterator[Event]:
        """Search candidate fixes, checked by the tests in a scratch copy; the winner is proposed
        like any edit. Returns (reason, message) when the turn should end, else None."""
        from .repair import Sources, first_change, search

        t = self.tests
        t.repairs += 1
        command = self.toolbox.context.test_command
        ws = self.toolbox.workspace
        sources = Sources(ws.root, ws.list_files())
        outcome: dict[str, Any] = {}
        steps = search(sources, t.request, t.last, self._scorer(cancel), lambda root: self.gate.check(command, root, cancel),
                       cancel=cancel.is_set, exclude=t.tried)
        try:
            while True:
                try:
                    stage = next(steps)
                except StopIteration as stop:
                    outcome["result"] = stop.value
                    break
                yield RepairProgress(*stage)
        except Exception as exc:  # noqa: BLE001 - a failed search falls back to the model's own edit
            outcome["error"] = f"{type(exc).__name__}: {exc}"
        result = outcome.get("result")
        if result is None or result.found is None:
            t.repair_exhausted = True
            if "error" in outcome:
                yield ErrorEvent("The candidate search failed: " + outcome["error"])
            elif self._weak() and self.config.auto_approve:
                # A weak model's own edits almost never pass (1 in 32 measured) and write garbage
                # on the way: with nobody reviewing, stop and ask rather than flail.
                t.finished = ("tests_failing", f"I could not find a fix that makes the tests pass ({result.message}). "
                              "Which line is wrong, and what should it do?")
                return t.finished
            return None
        found = result.found
        old = sources.text(found.path) or ""
        new = dict(found.files)[found.path]
        search_text, replace_text = first_change(old, new)
        call = ToolCall(new_call_id(), "edit_file", {"path": found.path, "search": search_text.replace("\r\n", "\n"),
                                                     "replace": replace_text.replace("\r\n", "\n")})
        self._append_assistant(f"A candidate fix passes the tests in a scratch copy: {found.description}.", [call])
        yield ToolCallStarted(call.id, call.name, call.arguments)
        texts = []
        self._step_applied = []
        for n, (path, text) in enumerate(found.files):
            self._more_edits = n + 1 < len(found.files)
            before = ws.resolve(path).read_bytes()
            proposal = Proposal(path, before, text.encode("utf-8"),
                                note=f"found by the candidate search and checked by the tests ({found.rule})")
            self.toolbox.proposals.add(proposal)
            texts.append((yield from self._review(proposal, self.guard.level == "force", cancel)))
            if cancel.is_set() or t.finished is not None:
                break
        result_text = "\n".join(texts)
        self.messages.append({"role": "tool", "tool_call_id": call.id, "name": call.name, "content": result_text})
        yield ToolCallFinished(call.id, call.name, call.arguments, result_text, False)
        yield self.guard.state()
        return t.finished

    # -- context budget -----------------------------------------------------------------

    def _fit_context(self) -> Iterator[Event]:
        """Shorten older tool results when the prompt nears the model's context length."""
        tools = self.toolbox.schemas()
        limit = int((self.model.context_length - self.config.max_tokens) * self.config.context_high_water)
        before = self.model.count_tokens(self.messages, tools)
        if before <= limit:
            return
        if self.config.context_strategy == "compact" and self._turn_start > 1:
            from .compaction import compact

            keep = self._turn_start
            done = yield from compact(self, None, confirm=False, keep_from=keep,
                                      max_tokens=max(64, self.config.max_tokens // 4))
            if done:
                self._turn_start = 3  # system, summary, acknowledgement; then this turn
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

