"""Events the engine emits: the one language the TUI, the CLI and the server listen to.

Events are plain frozen dataclasses. `to_dict()` gives a JSON-ready form (used by
`mlxagent run --json`). Approval is a round trip owned by the core: `ProposalReady`
carries a `concurrent.futures.Future` that the UI (or CLI, or server) resolves with a
`Review`; the agent waits on it.
"""

from __future__ import annotations

import dataclasses
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Event:
    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"event": type(self).__name__}
        for f in dataclasses.fields(self):
            if f.name.startswith("_") or not f.repr:
                continue
            out[f.name] = _jsonable(getattr(self, f.name))
        return out


def _jsonable(value: Any) -> Any:
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: _jsonable(v) for k, v in dataclasses.asdict(value).items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def wait_for_reply(reply: Future, cancel) -> Any:
    """The consumer's answer to a round-trip event (a review, a command's consent), or None when
    `cancel` (a threading.Event) is set first; the future is then cancelled, so a late answer is
    refused rather than taken."""
    from concurrent.futures import TimeoutError as FutureTimeout

    while True:
        try:
            return reply.result(timeout=0.1)
        except FutureTimeout:
            if cancel.is_set():
                reply.cancel()
                return None


@dataclass(frozen=True)
class TurnStarted(Event):
    user_text: str


@dataclass(frozen=True)
class TextDelta(Event):
    text: str


@dataclass(frozen=True)
class ToolCallStarted(Event):
    call_id: str
    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class ToolCallFinished(Event):
    call_id: str
    name: str
    arguments: dict[str, Any]
    result: str
    is_error: bool = False


@dataclass(frozen=True)
class Review:
    """A decision on a proposal: one bool per hunk (True = accept), plus an optional reason."""

    accepted: tuple[bool, ...]
    reason: str = ""

    @classmethod
    def accept_all(cls, n_hunks: int) -> "Review":
        return cls((True,) * n_hunks)

    @classmethod
    def reject_all(cls, n_hunks: int, reason: str = "") -> "Review":
        return cls((False,) * n_hunks, reason)


@dataclass(frozen=True)
class ProposalReady(Event):
    proposal: Any  # core.proposals.Proposal
    # Resolved with a Review by whoever shows the proposal; not part of the JSON form.
    reply: Future = field(default_factory=Future, repr=False, compare=False)


@dataclass(frozen=True)
class ProposalResolved(Event):
    proposal_id: str
    path: str
    outcome: str  # "applied" | "partly applied" | "rejected" | "failed"
    applied_hunks: tuple[int, ...] = ()
    rejected_hunks: tuple[int, ...] = ()
    reason: str = ""
    message: str = ""


@dataclass(frozen=True)
class GuardState(Event):
    level: str  # "ok" | "nudge" | "force" | "stopped"
    reads_since_edit: int
    allowance: int
    nudge_at: int
    force_at: int
    reason: str = ""


@dataclass(frozen=True)
class ContextTrimmed(Event):
    tokens_before: int
    tokens_after: int
    message: str


@dataclass(frozen=True)
class GenerationStats(Event):
    """Figures for one model generation (one step of a turn)."""

    prompt_tokens: int = 0
    prefilled_tokens: int = 0
    reused_tokens: int = 0
    generated_tokens: int = 0
    prefill_tps: float = 0.0
    decode_tps: float = 0.0
    peak_memory_gb: float = 0.0
    forward_passes: int = 0  # model calls after the prefill; fewer than tokens when drafts were kept
    draft_tokens: int = 0  # tokens drafted (prompt lookup and grammar) and checked by the model
    accepted_draft_tokens: int = 0  # prompt-lookup drafts kept
    jump_forward_tokens: int = 0  # grammar-forced drafts kept

    @property
    def tokens_per_pass(self) -> float:
        return self.generated_tokens / self.forward_passes if self.forward_passes else 0.0


@dataclass(frozen=True)
class TurnFinished(Event):
    reason: str  # "done" | "max_steps" | "cancelled" | "error" | "guard_stopped" | "parse_failures"
    steps: int = 0
    generated_tokens: int = 0
    prefilled_tokens: int = 0
    seconds: float = 0.0
    message: str = ""


@dataclass(frozen=True)
class ErrorEvent(Event):
    message: str


# -- commands and tests -------------------------------------------------------------------


@dataclass(frozen=True)
class CommandDecision:
    """The user's answer to a `CommandApproval`: run it "once" (this run; the tests: this
    session, in memory), "always" (saved for this repository), or "refuse" (the reason is told
    to the model)."""

    action: str  # "once" | "always" | "refuse"
    reason: str = ""

    @classmethod
    def once(cls) -> "CommandDecision":
        return cls("once")

    @classmethod
    def always(cls) -> "CommandDecision":
        return cls("always")

    @classmethod
    def refuse(cls, reason: str = "") -> "CommandDecision":
        return cls("refuse", reason)

    @property
    def allowed(self) -> bool:
        return self.action in ("once", "always")


@dataclass(frozen=True)
class CommandApproval(Event):
    """A command waits for the user's consent; `reply` is resolved with a `CommandDecision`."""

    call_id: str
    argv: tuple[str, ...]
    cwd: str
    purpose: str  # "tests" | "command"
    source: str = ""  # where the command came from: TestCommand.source, or MODEL_ASKED
    reply: Future = field(default_factory=Future, repr=False, compare=False)

    @property
    def display(self) -> str:
        return display_request(self.argv, self.purpose)

    @property
    def origin(self) -> str:
        return command_origin(self.source, self.purpose)


MODEL_ASKED = "the model asked"


def display_request(argv, purpose: str = "") -> str:
    """What waits for consent, as the user should read it: a command shell-quoted; an MCP tool's
    call (argv `("mcp", "SERVER.tool", "<JSON arguments>")`) as `SERVER.tool {"arg": …}`; both
    with control characters shown as escapes (display_command)."""
    argv = tuple(argv)
    if purpose == "mcp" and len(argv) >= 2:
        return _escaped(" ".join(argv[1:]))
    return display_command(argv)


def display_command(argv) -> str:
    """The command as the user should read it: shell-quoted, with every control or invisible
    character (escape sequences, carriage returns, newlines, bidi overrides) shown as an
    escape like `\\x1b`, `\\r`, `\\n`, so nothing in it can redraw or hide part of the prompt."""
    import shlex

    return _escaped(shlex.join(tuple(argv)))


def _escaped(text: str) -> str:
    import unicodedata

    out = []
    for ch in text:
        if ch in _NAMED_ESCAPES:
            out.append(_NAMED_ESCAPES[ch])
        elif unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp") or (
                ch.isspace() and ch != " "):
            code = ord(ch)
            width = 2 if code < 0x100 else 4 if code < 0x10000 else 8
            out.append("\\" + {2: "x", 4: "u", 8: "U"}[width] + f"{code:0{width}x}")
        else:
            out.append(ch)
    return "".join(out)


_NAMED_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def command_origin(source: str, purpose: str = "") -> str:
    """Where a command came from, in words for the prompt ("" when unknown). A command with
    no source that is not the tests is one the model asked for (`run_command`)."""
    source = source.strip() or (MODEL_ASKED if purpose == "command" else "")
    if not source:
        return ""
    if source.startswith("config "):
        return f"from the repository's {source[len('config '):]} (the repository chose it)"
    if source == "settings":
        return "from your settings (test_command)"
    if source == MODEL_ASKED:
        return "the model asked to run it"
    if source.startswith("detected"):
        return source
    return f"from {source}"


@dataclass(frozen=True)
class CommandStarted(Event):
    call_id: str
    argv: tuple[str, ...]
    cwd: str
    purpose: str  # "tests" | "command" | "check" (a candidate fix tested in a scratch copy)


@dataclass(frozen=True)
class CommandOutput(Event):
    call_id: str
    text: str


@dataclass(frozen=True)
class CommandFinished(Event):
    call_id: str
    argv: tuple[str, ...]
    exit_code: int | None
    seconds: float
    timed_out: bool = False
    cancelled: bool = False
    truncated: bool = False
    refused: bool = False
    message: str = ""  # one line: "exit 1 in 0.4 s", "refused by the user: …", "timed out after 120 s"


@dataclass(frozen=True)
class TestResult(Event):
    """The parsed result of a test run (core/testing/report.py)."""

    call_id: str
    ok: bool
    passed: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0
    failing: tuple[str, ...] = ()  # failing test names
    locations: tuple[str, ...] = ()  # "path:line" of the deepest repo frame of each failure
    summary: str = ""  # what the model reads
    after_edit: str = ""  # the proposal id when this run checked an applied edit (auto-test)
    # after an edit made from a plain request: only tests that failed before it fail (it broke none)
    old_failures: bool = False


@dataclass(frozen=True)
class RepairProgress(Event):
    """The candidate search (core/repair): what was considered, ranked and checked."""

    stage: str  # "candidates" | "ranked" | "sampled" | "checked" | "found" | "none" | "interrupted"
    candidates: int = 0
    checked: int = 0
    message: str = ""


# -- sessions ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CompactionReady(Event):
    """`/compact`: the summary that would replace the conversation so far; `reply` is resolved
    with True (replace) or False (keep the conversation as it is)."""

    summary: str
    messages_before: int
    tokens_before: int
    tokens_after: int
    reply: Future = field(default_factory=Future, repr=False, compare=False)


@dataclass(frozen=True)
class ContextCompacted(Event):
    """The conversation so far was replaced by a summary (by `/compact`, or automatically when the
    context passed its high-water mark with `context_strategy = "compact"`)."""

    tokens_before: int
    tokens_after: int
    messages_before: int
    messages_after: int
    automatic: bool
    summary: str
    message: str = ""
