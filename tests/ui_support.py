"""Helpers for the TUI tests and bench/ui.py: a model factory of scripted models, an app
built on a fixture repository, waiting for the app to settle (or for the review screen),
and the notices it showed."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Callable

from mlxagent.config import Settings
from mlxagent.errors import ModelError, OfflineError
from mlxagent.model.catalog import InstalledModel
from mlxagent.ui.app import MlxAgentApp
from mlxagent.ui.screens.review import ReviewScreen
from mlxagent.ui.widgets.transcript import Notice

from scripted_model import ScriptedModel

GB = 10**9
FIXED_MEMORY = 16 * GB  # so "fits" never depends on the machine


class ScriptedFactory:
    """Models by name: each spec maps to a function making its ScriptedModel; `broken` specs fail to load
    and `offline` specs fail to download."""

    def __init__(self, models: dict[str, Callable[[], ScriptedModel]], *, broken: set[str] = frozenset(),
                 offline: set[str] = frozenset(), load_delay: float = 0.0,
                 load_gate: "threading.Event | None" = None) -> None:
        self.models = models
        self.broken = set(broken)
        self.offline = set(offline)
        self.load_delay = load_delay
        self.load_gate = load_gate  # loads wait until the test sets it
        self.hint: str | None = None
        self.loads: list[str] = []
        self.released = 0

    def backend(self) -> str:
        return "scripted"

    def speed_hint(self) -> str | None:
        return self.hint

    def installed(self) -> list[InstalledModel]:
        return [InstalledModel(name, Path("/models") / name, "mlxagent", int(0.14 * GB), "4-bit")
                for name in sorted(self.models)]

    def remove(self, name: str) -> str:
        if self.models.pop(name, None) is None:
            raise ModelError(f"{name} is not in the list any more")
        return f"Removed {name} from the list; nothing on disk was deleted."

    def fetch(self, spec, progress, cancel) -> None:
        if spec in self.offline:
            raise OfflineError(f"Could not reach the Hugging Face hub to download {spec}.")
        if spec not in self.models and spec not in self.broken:
            raise ModelError(f"Unknown model '{spec}'")

    def load(self, spec, progress, cancel):
        self.loads.append(spec)
        if progress:
            progress("loading model", 0.0)
        if self.load_delay:
            time.sleep(self.load_delay)
        if self.load_gate is not None and not self.load_gate.wait(30):
            raise ModelError(f"{spec}: the test never let the load finish")
        if spec in self.broken:
            raise ModelError(f"{spec}: could not load the model (unsupported architecture)")
        model = self.models[spec]()
        model.name = spec
        if progress:
            progress("loaded", 1.0)
        return model

    def release(self) -> None:
        self.released += 1


def factory_for(script, **model_kw) -> ScriptedFactory:
    """One model, "scripted-a": a fresh ScriptedModel playing `script` at each load."""
    return ScriptedFactory({"scripted-a": lambda: ScriptedModel(list(script), **model_kw)})


def make_app(repo: Path, factory: ScriptedFactory, model: str | None = None, **settings) -> MlxAgentApp:
    defaults = dict(default_model=model or sorted(factory.models)[0], max_steps=6)
    return MlxAgentApp(repo, model_factory=factory, settings=Settings(**{**defaults, **settings}),
                       total_memory=FIXED_MEMORY, cursor_blink=False)


async def wait_for(pilot, condition: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await pilot.pause(0.02)


async def wait_model(pilot, name: str | None = None, timeout: float = 10.0) -> None:
    app = pilot.app
    await wait_for(pilot, lambda: app.model_state.ready and not app.model_state.job
                   and (name is None or app.model_state.name == name), timeout, f"model {name or ''} to load")


async def wait_idle(pilot, timeout: float = 10.0) -> None:
    """Until the turn has finished and every queued event is shown."""
    chat = pilot.app.chat
    await wait_for(pilot, lambda: not chat.busy, timeout, "the turn to finish")
    await pilot.pause()


async def wait_review(pilot) -> ReviewScreen:
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, ReviewScreen), what="the review screen")
    await pilot.pause()
    return pilot.app.screen


def notices(app) -> list[str]:
    """The text of every notice in the transcript, in order."""
    return [str(n.render()) for n in app.chat.transcript.query(Notice)]


async def type_text(pilot, text: str) -> None:
    """Into the prompt, focusing it first as a user would by clicking it."""
    pilot.app.chat.prompt.focus()
    pilot.app.chat.prompt.insert(text)
    await pilot.pause()


async def send(pilot, text: str) -> None:
    """Type into the prompt and press Enter."""
    await type_text(pilot, text)
    await pilot.press("enter")


async def press_text(pilot, text: str) -> None:
    """Key by key into whatever has focus."""
    for ch in text:
        await pilot.press(ch if ch != " " else "space")


def run(coro):
    return asyncio.run(coro)
