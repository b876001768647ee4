"""The read-loop guard: a pure policy that notices when a model reads without ever editing.

Small local models get stuck reading: they list, search, read and re-read, and never
propose an edit. The guard keys on *progress* (a proposal) rather than on the number of
steps. It does no I/O of its own; the agent loop feeds it tool calls and acts on what it
returns.

Levels, in order: ``"ok"`` -> ``"nudge"`` (a note is appended to tool results) ->
``"force"`` (read tools are refused and the agent constrains the next generation to one
edit call) -> ``"stopped"`` (forced edits failed; the agent stops and asks the user).
Reads only ever raise the level; a resolved proposal brings it back to ``"ok"``;
``reset_task`` (a new user turn) clears everything but the memory of what was read.

Counting (``GuardState.reads_since_edit`` is the figure compared with the thresholds):

* every read-only call since the last proposal counts 1, errors included;
* a repeat of an identical call (same name, same arguments) since the last proposal
  counts 2; the third identical call, or an A-B-A-B oscillation between two calls,
  raises the level to at least ``"nudge"`` at once;
* the first ``allowance`` counted reads of a task are free: no repeat penalty, no
  pattern, no threshold fires while they last;
* several calls issued together in the first model message of a task (``batch_size > 1``)
  count once and never trigger anything: exploring in parallel is not looping.

Contract with the agent loop, per tool call, in order::

    decision = guard.before_tool(name, arguments, fingerprint)  # fingerprint(path) -> str | None
    if decision.action == "run": result = execute(...)           # else: decision.message is the result
    guard.after_tool(name, arguments, is_error, batch_index, batch_size, seen_paths=...)
    if (note := guard.note()): result += "\\n\\n" + note

``after_tool`` is called for *every* call, whatever the decision (a skipped read still
counts as a read; a refused one does not). Step numbers in messages ("unchanged since
step 3") are the guard's own count of recorded tool calls, 1-based, over the whole
conversation (``guard.step`` is the latest); the agent may label tool results with them.

Then, when the level is ``"force"``, ``force_spec()`` says which tools and paths the
constrained schema may offer; report what became of the edit with
``on_proposal_resolved(outcome)`` or ``on_forced_edit_invalid(reason)``. Call
``forget_reads()`` when old tool results are trimmed from the context, so that no read
is skipped in favour of a result the model can no longer see.

API::

    GuardConfig(enabled=True, allowance=6, nudge_at=8, force_at=11, max_forced_failures=2)
    GuardConfig.from_mapping(d) -> GuardConfig          # unknown keys ignored; GuardConfigError
    thresholds_for_model(config_mapping, model_name) -> GuardConfig   # "models" overrides
    ReadLoopGuard(config)
        .before_tool(name, arguments, file_fingerprint) -> Decision   # run|skip_unchanged|refuse
        .after_tool(name, arguments, result_is_error, batch_index=0, batch_size=1, *, seen_paths=())
        .note() -> str | None          .state() -> GuardState     .level -> str     .step -> int
        .force_spec() -> ForceSpec | None
        .on_proposal_resolved(outcome) .on_forced_edit_invalid(reason)
        .reset_task()                  .forget_reads()
"""

from __future__ import annotations

import json
import posixpath
import re
from collections import Counter, defaultdict, deque
from dataclasses import dataclass, field, fields
from typing import Any, Callable, Iterable, Mapping

from ...errors import MlxAgentError
from ..events import GuardState

LEVELS = ("ok", "nudge", "force", "stopped")
PROPOSAL_OUTCOMES = ("applied", "partly applied", "rejected", "failed")
FORCE_REFUSAL = "read tools are unavailable until you propose an edit with edit_file or write_file"
MAX_CANDIDATE_PATHS = 20  # a constrained schema with thousands of enum values helps nobody
NOTE_FILES = 3  # files named in the nudge note
REPEATS_TO_NUDGE = 3  # the third identical call raises the level to "nudge"
ATTACHED_STEP = 0  # the "step" of a file attached to the request with @path (tool calls count from 1)


class GuardConfigError(MlxAgentError):
    """The [guard] settings are not usable."""


@dataclass(frozen=True)
class GuardConfig:
    enabled: bool = True
    allowance: int = 6  # the first N counted read-only calls of a task are free
    nudge_at: int = 8  # counted reads since the last proposal that bring a nudge
    force_at: int = 11  # ... that force an edit
    max_forced_failures: int = 2  # forced edits that may fail (invalid or rejected) before stopping

    def __post_init__(self) -> None:
        if not isinstance(self.enabled, bool):
            raise GuardConfigError(f"guard config: enabled must be true or false, not {self.enabled!r}")
        minimum = {"allowance": 0, "nudge_at": 1, "force_at": 1, "max_forced_failures": 1}
        for name, least in minimum.items():
            value = getattr(self, name)
            # bool is an int in Python; `nudge_at = true` is a typo, not a threshold.
            if not isinstance(value, int) or isinstance(value, bool) or value < least:
                raise GuardConfigError(
                    f"guard config: {name} must be a whole number of at least {least}, not {value!r}"
                )
        if not self.allowance <= self.nudge_at <= self.force_at:
            raise GuardConfigError(
                "guard config: thresholds must satisfy allowance <= nudge_at <= force_at "
                f"(got {self.allowance}, {self.nudge_at}, {self.force_at})"
            )

    @classmethod
    def from_mapping(cls, d: Mapping[str, Any]) -> "GuardConfig":
        """Build from a config table (e.g. ``[guard]`` in config.toml); unknown keys are ignored."""
        if not isinstance(d, Mapping):
            raise GuardConfigError(f"guard config: expected a table of settings, not {type(d).__name__}")
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})


def thresholds_for_model(config_mapping: Mapping[str, Any], model_name: str) -> GuardConfig:
    """The guard settings for one model: the base table with its ``models`` overrides applied.

    A key of ``models`` applies when it occurs, case-insensitively, in the model name
    (``"smollm2-135m"`` matches ``"HuggingFaceTB/SmolLM2-135M-Instruct"``). When several
    apply, the longer (more specific) key wins for the settings both give.
    """
    if not isinstance(config_mapping, Mapping):
        raise GuardConfigError(
            f"guard config: expected a table of settings, not {type(config_mapping).__name__}"
        )
    overrides = config_mapping.get("models", {})
    if not isinstance(overrides, Mapping):
        raise GuardConfigError("guard config: models must be a table of per-model tables")
    merged = {k: v for k, v in config_mapping.items() if k != "models"}
    name = model_name.lower()
    matching = sorted((key for key in overrides if str(key).lower() in name), key=lambda k: len(str(k)))
    for key in matching:
        table = overrides[key]
        if not isinstance(table, Mapping):
            raise GuardConfigError(f"guard config: models.{key} must be a table of settings")
        merged.update(table)
    try:
        return GuardConfig.from_mapping(merged)
    except GuardConfigError as exc:
        if not matching:
            raise
        raise GuardConfigError(f"{exc} (with the overrides for {', '.join(map(str, matching))})") from None


@dataclass(frozen=True)
class Decision:
    action: str  # "run" | "skip_unchanged" | "refuse"
    message: str = ""  # the tool result to give the model when the tool is not run


@dataclass(frozen=True)
class ForceSpec:
    tools: tuple[str, ...]  # the only tools the forced generation may call
    candidate_paths: tuple[str, ...]  # files read or seen this task, most relevant first
    reason: str  # why the guard forces an edit
    instruction: str  # a message for the model explaining the constraint


@dataclass
class _Pending:
    action: str
    fingerprint: str | None


@dataclass
class _FileUse:
    reads: int = 0
    seen: int = 0
    last_step: int = 0


@dataclass
class _TaskCounters:
    """Everything `reset_task` clears. Per-proposal counters live in `_ProposalCounters`."""

    level: str = "ok"
    reason: str = ""
    calls: int = 0  # tool calls recorded this task (any tool)
    free_reads_used: int = 0  # counted reads this task, for the allowance
    reason_is_count: bool = False  # the reason is the read count (the note says it anyway)
    forced_failures: int = 0
    proposals: int = 0
    start_batch_open: bool = False
    start_batch_counted: bool = False
    files: dict[str, _FileUse] = field(default_factory=lambda: defaultdict(_FileUse))
    request: str = ""  # the user's words for this task, lower-cased: files they name come first


@dataclass
class _ProposalCounters:
    """The counters a resolved proposal resets."""

    score: int = 0  # compared with nudge_at / force_at
    reads: int = 0  # actual read-only calls
    repeats: int = 0
    files_read: set = field(default_factory=set)
    call_counts: Counter = field(default_factory=Counter)
    recent: deque = field(default_factory=lambda: deque(maxlen=4))  # keys, for A-B-A-B


class ReadLoopGuard:
    READ_ONLY = frozenset({"list_files", "read_file", "search", "show_diff"})
    EDIT = frozenset({"edit_file", "write_file"})

    def __init__(self, config: GuardConfig) -> None:
        self.config = config
        self._step = 0
        # (call key) -> (fingerprint, step) of the last successful read_file of that range.
        self._read_memory: dict[str, tuple[str, int]] = {}
        self._pending: dict[str, deque[_Pending]] = defaultdict(deque)
        self._task = _TaskCounters()
        self._since = _ProposalCounters()

    # -- reading the state -------------------------------------------------------------

    @property
    def level(self) -> str:
        return self._task.level

    @property
    def step(self) -> int:
        """The number of the last recorded tool call (the "step N" of skip messages)."""
        return self._step

    def state(self) -> GuardState:
        c = self.config
        return GuardState(
            level=self.level,
            reads_since_edit=self._since.score,
            allowance=c.allowance,
            nudge_at=c.nudge_at,
            force_at=c.force_at,
            reason=self._task.reason,
        )

    def note(self) -> str | None:
        if self.level != "nudge":
            return None
        s = self._since
        files = self._ranked_files(reads_only=True)[:NOTE_FILES]
        details = [f"{len(s.files_read)} different files read"] if s.files_read else []
        if s.repeats:
            details.append(f"{s.repeats} repeated calls")
        summary = f"[guard] {s.reads} read-only calls since the {self._since_what()}"
        parts = [summary + (f" ({', '.join(details)})." if details else ".")]
        if self._task.reason and not self._task.reason_is_count:
            parts.append(f"Noticed: {self._task.reason}.")
        if files:
            reads = {p: self._task.files[p].reads for p in files}
            named = [f"{p} (read {reads[p]} times)" if reads[p] > 1 else p for p in files]
            parts.append("Files that look relevant: " + ", ".join(named) + ".")
        left = max(1, self.config.force_at - s.score)
        parts.append(
            "You have enough context: propose an edit now with edit_file or write_file. "
            f"Read tools become unavailable after at most {left} more read{'s' if left > 1 else ''}."
        )
        return " ".join(parts)

    def force_spec(self) -> ForceSpec | None:
        if self.level != "force":
            return None
        tools = tuple(sorted(self.EDIT))
        ranked = self._ranked_files(reads_only=False)
        # The user named the file(s) to change: a forced edit goes there, not to a bystander.
        named = self.named_in_request(ranked)
        return ForceSpec(
            tools=tools,
            candidate_paths=tuple((named or ranked)[:MAX_CANDIDATE_PATHS]),
            reason=self._task.reason,
            instruction=(
                f"You have read enough ({self._task.reason}). Propose an edit now with "
                f"{' or '.join(tools)}; {FORCE_REFUSAL}."
            ),
        )

    # -- tool calls ----------------------------------------------------------------------

    def before_tool(
        self,
        name: str,
        arguments: Any,
        file_fingerprint: Callable[[str], str | None],
    ) -> Decision:
        decision, fingerprint = self._decide(name, arguments, file_fingerprint)
        self._pending[_call_key(name, arguments)].append(_Pending(decision.action, fingerprint))
        return decision

    def _decide(
        self, name: str, arguments: Any, file_fingerprint: Callable[[str], str | None]
    ) -> tuple[Decision, str | None]:
        if not self.config.enabled:
            return Decision("run"), None
        if self.level == "stopped":
            return Decision("refuse", f"the guard stopped this task: {self._task.reason}"), None
        if self.level == "force" and name in self.READ_ONLY:
            return Decision("refuse", FORCE_REFUSAL), None
        path = _path_of(arguments)
        if name != "read_file" or path is None:
            return Decision("run"), None
        try:
            fingerprint = file_fingerprint(path)
        except OSError:
            fingerprint = None  # unreadable now: let the tool run and report it
        remembered = self._read_memory.get(_call_key(name, arguments))
        if fingerprint is not None and remembered is not None and remembered[0] == fingerprint:
            what = f"{lines} of {path}" if (lines := _line_range(arguments)) else f"all of {path}"
            if remembered[1] == ATTACHED_STEP:
                message = f"{what}, unchanged since it was attached to the request; see it there"
            else:
                message = f"{what}, unchanged since step {remembered[1]}; see that result"
            return Decision("skip_unchanged", message), fingerprint
        return Decision("run"), fingerprint

    def after_tool(
        self,
        name: str,
        arguments: Any,
        result_is_error: bool,
        batch_index: int = 0,
        batch_size: int = 1,
        *,
        seen_paths: Iterable[str] = (),
    ) -> None:
        """Record one call. `seen_paths`: files the result showed (listing entries, search hits)."""
        key = _call_key(name, arguments)
        queue = self._pending.get(key)
        pending = queue.popleft() if queue else _Pending("run", None)
        if queue is not None and not queue:
            del self._pending[key]
        self._step += 1
        if not self.config.enabled:
            return
        in_start_batch = self._track_batch(batch_index, batch_size)
        self._task.calls += 1
        # A failed edit is no more progress than a read: a model that repeats one is looping too.
        stalled_edit = name in self.EDIT and result_is_error
        if pending.action == "refuse" or not (name in self.READ_ONLY or stalled_edit) \
                or self.level in ("force", "stopped"):
            return
        path = _path_of(arguments)
        if name == "read_file" and path is not None:
            self._since.files_read.add(_norm(path))
            use = self._task.files[_norm(path)]
            use.reads += 1
            use.last_step = self._step
            if pending.action == "run" and not result_is_error and pending.fingerprint is not None:
                self._read_memory[key] = (pending.fingerprint, self._step)
        for seen in seen_paths:
            use = self._task.files[_norm(seen)]
            use.seen += 1
            use.last_step = self._step
        self._count_read(key, name, arguments, in_start_batch)

    def _track_batch(self, batch_index: int, batch_size: int) -> bool:
        """Whether this call belongs to the first, multi-call message of the task."""
        t = self._task
        if batch_size > 1 and batch_index == 0:
            t.start_batch_open = t.calls == 0 and t.level == "ok"
            t.start_batch_counted = False
        elif batch_size <= 1:
            t.start_batch_open = False
        return t.start_batch_open

    def _count_read(self, key: str, name: str, arguments: Any, in_start_batch: bool) -> None:
        s, t = self._since, self._task
        s.reads += 1
        s.call_counts[key] += 1
        s.recent.append(key)
        if in_start_batch:
            if t.start_batch_counted:
                return  # the whole start batch counts once
            t.start_batch_counted = True
        t.free_reads_used += 1
        repeated = s.call_counts[key] > 1
        if repeated:
            s.repeats += 1
        if t.free_reads_used <= self.config.allowance or in_start_batch:
            s.score += 1
            return
        s.score += 2 if repeated else 1

        # (level, reason, is the count): a pattern names the better reason at the same level.
        escalations: list[tuple[str, str, bool]] = []
        if (osc := self._oscillation()) is not None:
            escalations.append(("nudge", osc, False))
        if s.call_counts[key] >= REPEATS_TO_NUDGE:
            repeat = f"{_describe(name, arguments, verb=True)} {s.call_counts[key]} times"
            escalations.append(("nudge", repeat, False))
        if s.score >= self.config.force_at:
            escalations.append(("force", self._count_reason(), True))
        elif s.score >= self.config.nudge_at:
            escalations.append(("nudge", self._count_reason(), True))
        for level, reason, is_count in escalations:
            if LEVELS.index(level) > LEVELS.index(t.level):
                t.level, t.reason, t.reason_is_count = level, reason, is_count

    def _oscillation(self) -> str | None:
        recent = self._since.recent
        if len(recent) < 4:
            return None
        a, b, a2, b2 = recent
        if a == a2 and b == b2 and a != b:
            return f"oscillating between {_describe_key(a)} and {_describe_key(b)}"
        return None

    def _count_reason(self) -> str:
        s = self._since
        reason = f"{s.reads} reads since the {self._since_what()}"
        return reason + (f", {s.repeats} of them repeated" if s.repeats else "")

    def _since_what(self) -> str:
        return "last edit" if self._task.proposals else "task began"

    def named_in_request(self, paths: list[str]) -> list[str]:
        """Those of `paths` the user's request names (by path or file name)."""
        return [p for p in paths if self._named_in_request(p)]

    def _named_in_request(self, path: str) -> bool:
        """The request names `path` (or its file name) as a word of its own: "app" is not named
        by "application" or "app.py", and "a.py" not by "data.py"."""
        request = self._task.request
        return bool(request) and any(_names(request, name) for name in {path.lower(), path.rsplit("/", 1)[-1].lower()})

    def _ranked_files(self, *, reads_only: bool) -> list[str]:
        files = self._task.files.items()
        ranked = sorted(
            ((p, u) for p, u in files if u.reads or not reads_only),
            key=lambda item: (self._named_in_request(item[0]), item[1].reads, item[1].seen, item[1].last_step),
            reverse=True,
        )
        return [p for p, _ in ranked]

    # -- outcomes --------------------------------------------------------------------------

    def on_proposal_resolved(self, outcome: str) -> None:
        """A proposal was resolved: progress. A forced one that was not applied is a failure."""
        if outcome not in PROPOSAL_OUTCOMES:
            raise ValueError(f"unknown proposal outcome {outcome!r}")
        t = self._task
        if not self.config.enabled or t.level == "stopped":
            return
        forced = t.level == "force"
        t.proposals += 1
        self._since = _ProposalCounters()
        t.level, t.reason = "ok", ""
        if outcome in ("applied", "partly applied"):
            t.forced_failures = 0
        elif forced:
            what = "the user rejected the forced edit" if outcome == "rejected" else "the forced edit failed"
            self._forced_failure(what)

    def on_forced_edit_invalid(self, reason: str) -> None:
        """The forced generation gave no usable edit (unparsable, wrong path, ...). Stays forcing."""
        if self.config.enabled and self.level == "force":
            self._forced_failure(f"the forced edit was invalid: {reason}")

    def _forced_failure(self, what: str) -> None:
        t = self._task
        t.forced_failures += 1
        t.reason_is_count = False
        limit = self.config.max_forced_failures
        if t.forced_failures >= limit:
            t.level = "stopped"
            t.reason = f"{t.forced_failures} forced edits failed (last: {what}); asking the user"
        elif t.level == "force":
            t.reason = f"{what} ({t.forced_failures} of {limit} forced edits failed)"

    def reset_task(self, request: str = "") -> None:
        """A new user turn: everything starts again except the memory of unchanged reads.

        `request` is what the user asked: a file it names is the first candidate of a forced edit."""
        self._task = _TaskCounters(request=request.lower())
        self._since = _ProposalCounters()
        self._pending.clear()

    def attached(self, path: str, fingerprint: str | None) -> None:
        """The user attached `path` to the request (`@path`): it counts as read, and reading it again
        unchanged is answered from the request. Call after `reset_task`."""
        if not self.config.enabled:
            return
        self._since.files_read.add(_norm(path))
        use = self._task.files[_norm(path)]
        use.reads += 1
        if fingerprint is not None:
            self._read_memory[_call_key("read_file", {"path": path})] = (fingerprint, ATTACHED_STEP)

    def forget_reads(self) -> None:
        """Old tool results left the context: never answer "see that result" for them."""
        self._read_memory.clear()


# -- describing calls ---------------------------------------------------------------------


def _names(text: str, name: str) -> bool:
    return re.search(rf"(?<![\w./-]){re.escape(name)}(?![\w/-]|\.\w)", text) is not None


def _call_key(name: str, arguments: Any) -> str:
    """Identity of a call: same name and same arguments, the path spelled one way."""
    if isinstance(arguments, Mapping):
        args = dict(arguments)
        if isinstance(args.get("path"), str):
            args["path"] = _norm(args["path"])
    else:
        args = arguments
    return json.dumps([name, args], sort_keys=True, default=str)


def _describe_key(key: str) -> str:
    name, arguments = json.loads(key)
    return _describe(name, arguments)


def _describe(name: str, arguments: Any, *, verb: bool = False) -> str:
    """A short human-readable form: `read_file foo.py lines 1-40`, or `read foo.py` with verb."""
    path = _path_of(arguments)
    if name == "read_file" and path is not None:
        lines = _line_range(arguments)
        target = f"{lines} of {path}" if lines else path
        return f"read {target}" if verb else f"read_file {target}"
    shown = []
    if isinstance(arguments, Mapping):
        for k, v in sorted(arguments.items()):
            text = v if isinstance(v, str) else json.dumps(v, default=str)
            shown.append(f"{k}={text[:40]!r}" if isinstance(v, str) else f"{k}={text[:40]}")
    text = " ".join([name, *shown])
    return f"called {text}" if verb else text


def _path_of(arguments: Any) -> str | None:
    path = arguments.get("path") if isinstance(arguments, Mapping) else None
    return path if isinstance(path, str) and path else None


def _line_range(arguments: Any) -> str | None:
    """`lines 1-40` from read_file's start_line / end_line, or None for the whole file."""
    if not isinstance(arguments, Mapping):
        return None
    start, end = arguments.get("start_line"), arguments.get("end_line")
    if start is None and end is None:
        return None
    return f"lines {start if start is not None else 1}-{end if end is not None else 'end'}"


def _norm(path: str) -> str:
    return posixpath.normpath(path.replace("\\", "/"))
