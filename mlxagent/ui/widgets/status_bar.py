"""The status line: the permission mode (core/modes.py; shift+tab cycles it), model and backend
(or load progress), tok/s, context used, the guard meter, edits waiting for review, and
auto-approve when it is on. While a command runs,
the spinner says so ("running tests… 4s") instead of counting the model's time.

tok/s is the last generation's decode speed (generated tokens over the time between the
first and the last: the effective rate, drafts included, with the tokens per forward pass beside
it when speculation kept drafts), blank when it generated fewer than two tokens; the prefill speed shows
beside it only when it was measured over a real prefill (not a prompt the cache held)."""

from __future__ import annotations

import time

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.content import Content
from textual.widgets import Label, ProgressBar

from ...core.events import GenerationStats, GuardState
from .guard_meter import GuardMeter

LIVE_REFRESH = 0.25  # seconds between live tok/s redraws
MIN_PREFILL_SHOWN = 16  # prefilled tokens below which a prefill speed means nothing
SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"


class StatusBar(Horizontal):
    def __init__(self, id: str | None = None) -> None:
        super().__init__(id=id)
        self._live_start: float | None = None
        self._live_count = 0
        self._live_shown = 0.0
        self._working_since: float | None = None
        self._command: tuple[str, float] | None = None  # what runs ("running tests…") and since when
        self._frame = 0

    def compose(self) -> ComposeResult:
        yield Label("", id="status-mode")
        yield Label("no model", id="status-model")
        yield Label("", id="status-working")
        yield ProgressBar(total=1.0, show_eta=False, show_percentage=True, id="status-progress")
        yield Label("", id="status-speed")
        yield Label("", id="status-prefill")
        yield Label("", id="status-context")
        yield GuardMeter(id="status-guard")
        yield Label("", id="status-pending")
        yield Label("", id="status-instructions")
        yield Label("AUTO-APPROVE", id="status-auto")

    def on_mount(self) -> None:
        self.query_one("#status-progress").display = False
        self.query_one("#status-prefill").display = False
        self.query_one("#status-pending").display = False
        self.query_one("#status-instructions").display = False
        self.query_one("#status-auto").display = False
        self.query_one("#status-working").display = False
        # A prompt can take a while to prefill on a CPU before the first token: the spinner and
        # the elapsed seconds say the model is working, not stuck.
        self.set_interval(0.25, self._tick_working)

    # -- a turn in progress --------------------------------------------------------------

    def show_working(self, on: bool) -> None:
        self._working_since = time.monotonic() if on else None
        if not on:
            self._command = None
        self.query_one("#status-working", Label).display = on
        self._tick_working()

    def show_command(self, text: str | None) -> None:
        """A command runs ("running tests…"): shown with its own elapsed seconds; None when it ended."""
        self._command = (text, time.monotonic()) if text else None
        label = self.query_one("#status-working", Label)
        label.display = self._command is not None or self._working_since is not None
        self._tick_working()

    @property
    def working_text(self) -> str:
        return str(self.query_one("#status-working", Label).render())

    def _tick_working(self) -> None:
        if self._command is not None:
            text, since = self._command
            label = f"{text} {time.monotonic() - since:.0f}s"
        elif self._working_since is not None:
            label = f"{time.monotonic() - self._working_since:.0f}s"
        else:
            return
        self._frame = (self._frame + 1) % len(SPINNER)
        self.query_one("#status-working", Label).update(Content(f"{SPINNER[self._frame]} {label}"))

    # -- model ---------------------------------------------------------------------------

    def show_model(self, name: str, backend: str, loading: str = "", stage: str = "",
                   fraction: float | None = None) -> None:
        label = self.query_one("#status-model", Label)
        bar = self.query_one("#status-progress", ProgressBar)
        if loading:
            label.update(Content(f"⟳ {loading}: {stage or 'starting'}"))
            bar.display = True
            bar.update(total=1.0 if fraction is not None else None, progress=fraction or 0.0)
        else:
            label.update(Content(f"◆ {name} · {backend}" if name else "no model (ctrl+o to pick one)"))
            bar.display = False

    # -- generation ----------------------------------------------------------------------

    def text_arrived(self) -> None:
        """One streamed piece: an estimate of tok/s while a generation runs (pieces after the
        first over the time since the first)."""
        now = time.monotonic()
        if self._live_start is None:
            self._live_start, self._live_count = now, 0
        self._live_count += 1
        elapsed = now - self._live_start
        if elapsed > 0.5 and self._live_count > 1 and now - self._live_shown >= LIVE_REFRESH:
            self._live_shown = now
            self.query_one("#status-speed", Label).update(
                Content(f"≈{(self._live_count - 1) / elapsed:.1f} tok/s"))

    @property
    def speed_text(self) -> str:
        return str(self.query_one("#status-speed", Label).render())

    @property
    def prefill_text(self) -> str:
        label = self.query_one("#status-prefill", Label)
        return str(label.render()) if label.display else ""

    def generation_done(self, stats: GenerationStats, context_limit: int) -> None:
        self._live_start = None
        decoded = stats.generated_tokens >= 2 and stats.decode_tps > 0
        speed = f"{stats.decode_tps:.1f} tok/s" if decoded else ""
        if decoded and stats.tokens_per_pass >= 1.1:  # drafts kept: say how many tokens each pass gave
            speed += f" ({stats.tokens_per_pass:.1f}/pass)"
        self.query_one("#status-speed", Label).update(Content(speed))
        prefill = self.query_one("#status-prefill", Label)
        prefilled = stats.prefilled_tokens >= MIN_PREFILL_SHOWN and stats.prefill_tps > 0
        prefill.display = prefilled
        prefill.update(Content(f"prefill {stats.prefill_tps:,.0f} tok/s" if prefilled else ""))
        self.show_context(stats.prompt_tokens + stats.generated_tokens, context_limit)

    def show_context(self, used: int, limit: int) -> None:
        text = f"ctx {used:,}/{limit:,}" if limit else f"ctx {used:,}"
        label = self.query_one("#status-context", Label)
        label.update(Content(text))
        label.set_class(bool(limit) and used > 0.85 * limit, "-high")

    def show_guard(self, state: GuardState | None, enabled: bool = True) -> None:
        self.query_one(GuardMeter).show(state, enabled)

    def show_pending(self, n: int) -> None:
        label = self.query_one("#status-pending", Label)
        label.display = n > 0
        label.update(Content(f"✎ {n} edit{'s' if n != 1 else ''} to review (ctrl+r)"))

    def show_instructions(self, label: str) -> None:
        """The project instructions in the system prompt ("AGENTS.md 1.2k"); "" when there are none."""
        widget = self.query_one("#status-instructions", Label)
        widget.display = bool(label)
        widget.update(Content(f"≡ {label}" if label else ""))

    @property
    def instructions_text(self) -> str:
        widget = self.query_one("#status-instructions", Label)
        return str(widget.render()) if widget.display else ""

    def show_mode(self, name: str) -> None:
        """The permission mode ("plan", "ask", "accept-edits", "auto"), coloured by what it allows."""
        label = self.query_one("#status-mode", Label)
        label.update(Content(f"⇆ {name}"))
        for mode in ("plan", "ask", "accept-edits", "auto"):
            label.set_class(mode == name, f"-{mode}")
        label.tooltip = "permission mode (shift+tab cycles: ask, accept-edits, auto, plan; /mode NAME)"

    @property
    def mode_text(self) -> str:
        return str(self.query_one("#status-mode", Label).render())

    def show_auto_approve(self, on: bool) -> None:
        self.query_one("#status-auto").display = on
