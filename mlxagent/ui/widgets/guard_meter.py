"""The read-loop guard at a glance: reads since the last edit against the nudge and force
thresholds, coloured by level; and the banner shown while the guard forces an edit."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static

from ...core.events import GuardState
from ...core.modes import NEVER_FORCE

LEVEL_COLOR = {"ok": "$success", "nudge": "$warning", "force": "$error", "stopped": "$error"}
MAX_CELLS = 16  # thresholds above this are drawn to scale


def meter_markup(state: GuardState | None, enabled: bool = True) -> str:
    if not enabled:
        return "[$text-muted]guard off[/]"
    if state is None:
        return "[$text-muted]guard –[/]"
    if state.force_at >= NEVER_FORCE:  # plan mode: the guard nudges the model to write its plan, never forces
        label = "" if state.level == "ok" else f" [$warning bold]{state.level}[/]"
        return f"guard {state.reads_since_edit} reads (plan){label}"
    scale = min(1.0, MAX_CELLS / max(state.force_at, 1))
    cells = max(1, round(state.force_at * scale))
    filled = min(cells, round(state.reads_since_edit * scale))
    nudge = min(cells, round(state.nudge_at * scale))
    color = LEVEL_COLOR.get(state.level, "$text")
    bar = "".join(
        f"[{color}]█[/]" if i < filled else ("[$warning]░[/]" if i >= nudge else "[$text-muted]░[/]")
        for i in range(cells)
    )
    label = "" if state.level == "ok" else f" [{color} bold]{state.level}[/]"
    return f"guard {bar} {state.reads_since_edit}/{state.force_at}{label}"


class GuardMeter(Static):
    def __init__(self, id: str | None = None) -> None:
        super().__init__(Content.from_markup(meter_markup(None)), id=id)
        self.state: GuardState | None = None
        self.enabled = True

    def show(self, state: GuardState | None, enabled: bool = True) -> None:
        self.state, self.enabled = state, enabled
        self.update(Content.from_markup(meter_markup(state, enabled)))
        self.tooltip = (
            f"Read-loop guard: {state.reads_since_edit} reads since the last edit; "
            f"nudge at {state.nudge_at}, force an edit at {state.force_at}" if state else None)


class GuardBanner(Static):
    """Shown while the guard holds the model to an edit (or has stopped it)."""

    def show(self, state: GuardState | None) -> None:
        if state is None or state.level not in ("force", "stopped"):
            self.display = False
            return
        if state.level == "force":
            text = ("Read-loop guard: the model has read for a while without editing; reads are refused "
                    "and its next reply must be an edit.")
        else:
            text = "Read-loop guard stopped the turn: the model could not make an edit. Tell it which file and what change."
        if state.reason:
            text += f" ({state.reason})"
        self.update(Content(text))
        self.display = True
