"""Between the engine's threads and the UI thread.

The engine runs in thread workers and speaks in `core.events`; the UI thread speaks
in Textual messages. This module is the crossing, in both directions:

* `EngineEvent` carries one engine event to the UI thread (`post_message` is
  thread-safe), in the order the engine produced them.
* `PendingReview` is a proposal waiting for the user; `resolve` answers the engine's
  Future with a `Review`, which wakes the agent in its worker.
* `PendingCommand` is a command waiting for the user's consent; `resolve` answers with a
  `CommandDecision` the same way.
* `ProgressRelay` turns a loader's progress callback into throttled messages, so a
  download that reports every few kilobytes does not flood the UI.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass, field
from typing import Callable

from textual.message import Message

from ..core.events import (CommandApproval, CommandDecision, Event, ProposalReady, Review, command_origin,
                           display_request)


class EngineEvent(Message):
    """One engine event, delivered on the UI thread."""

    def __init__(self, event: Event) -> None:
        super().__init__()
        self.event = event


@dataclass
class PendingReview:
    """A proposal the agent is waiting on."""

    proposal: object  # core.proposals.Proposal
    reply: Future = field(repr=False)

    @classmethod
    def from_event(cls, event: ProposalReady) -> "PendingReview":
        return cls(event.proposal, event.reply)

    @property
    def done(self) -> bool:
        return self.reply.done()

    def resolve(self, review: Review) -> bool:
        """Answer the agent; False when it stopped waiting (the turn was interrupted)."""
        try:
            self.reply.set_result(review)
        except InvalidStateError:
            return False
        return True


@dataclass
class PendingCommand:
    """A command the agent waits to run until the user says yes or no."""

    call_id: str
    argv: tuple[str, ...]
    cwd: str
    purpose: str  # "tests" | "command"
    reply: Future = field(repr=False)
    source: str = ""  # where the command came from (CommandApproval.source)

    @classmethod
    def from_event(cls, event: CommandApproval) -> "PendingCommand":
        return cls(event.call_id, tuple(event.argv), event.cwd, event.purpose, event.reply,
                   getattr(event, "source", ""))

    @property
    def display(self) -> str:
        """Shell-quoted, control characters shown as escapes (nothing can hide in it)."""
        return display_request(self.argv, self.purpose)

    @property
    def origin(self) -> str:
        return command_origin(self.source, self.purpose)

    @property
    def done(self) -> bool:
        return self.reply.done()

    def resolve(self, decision: CommandDecision) -> bool:
        """Answer the agent; False when it stopped waiting (the turn was interrupted)."""
        try:
            self.reply.set_result(decision)
        except InvalidStateError:
            return False
        return True


class JobProgress(Message):
    """A model load or install moved on: `stage` in words, `fraction` 0..1."""

    def __init__(self, job: str, stage: str, fraction: float) -> None:
        super().__init__()
        self.job = job
        self.stage = stage
        self.fraction = fraction


class ProgressRelay:
    """A progress callback for loaders (any thread) that posts `JobProgress` messages.

    Posts when the stage changes, on completion, or when the fraction moved by at least
    `step` and `interval` seconds passed.
    """

    def __init__(self, post: Callable[[Message], object], job: str, step: float = 0.01,
                 interval: float = 0.1) -> None:
        self._post = post
        self.job = job
        self.step = step
        self.interval = interval
        self._last: tuple[str, float, float] | None = None  # stage, fraction, time
        self._lock = threading.Lock()

    def __call__(self, stage: str, fraction: float) -> None:
        now = time.monotonic()
        with self._lock:
            last = self._last
            if last is not None and stage == last[0] and fraction < 1.0 and (
                    abs(fraction - last[1]) < self.step or now - last[2] < self.interval):
                return
            self._last = (stage, fraction, now)
        self._post(JobProgress(self.job, stage, fraction))
