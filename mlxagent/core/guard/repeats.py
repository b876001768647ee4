"""Repeated reads: an identical read-only call since the last edit is not run again.

The read-loop guard (readloop.py) counts reads and raises its level; this is the other half of
loop prevention, the answer to one particular call. A read-only call whose name and arguments
match one made since the last edit has a known result, so it is answered with a pointer to that
step and to the next useful read (a file not read yet); the second repeat of the same call makes
the next generation *that* read (`take_next_read`). Without a next read the answer says to
propose an edit. Like the guard it does no I/O: the caller says which files are worth reading.

Used by the agent loop (core/agent.py) and by the server's replay of a client's conversation
(server/guard_steer.py), so both answer repeats the same way.

Contract, per tool call::

    note = repeats.check(name, arguments, unread)   # None: run the call; else the call's result
    ... run it ...
    repeats.record(name, arguments, step, ok)       # a call that ran; step is the guard's step
    repeats.edited()                                # after each resolved or undone edit
    repeats.new_turn(enabled)                       # at each user turn
"""

from __future__ import annotations

import json
from typing import Any, Callable, Iterable

from .readloop import ReadLoopGuard

# The second repeat of a call makes the next generation read the file it points at.
REPEATS_TO_FORCE_READ = 2


class RepeatedReads:
    def __init__(self, enabled: bool = True, read_only: Iterable[str] = ReadLoopGuard.READ_ONLY,
                 read_tool: str = "read_file", edit_tools: str = "edit_file") -> None:
        self.enabled = enabled
        self.read_only = frozenset(read_only)
        self.read_tool = read_tool
        self.edit_tools = edit_tools  # named in the answer ("" when the caller has none)
        self.last_note: str | None = None  # the answer to the last call checked, if it was a repeat
        self.answering = False  # this turn only asks a question
        self._edits = 0  # edits resolved: a repeated read after one may see something new
        self._calls: dict[str, tuple[int, int]] = {}  # call key -> (step, times repeated)
        self._read_paths: set[str] = set()
        self._next_read: str | None = None

    # -- the turn --------------------------------------------------------------------------

    def new_turn(self, enabled: bool | None = None, answering: bool = False) -> None:
        """A new user turn: calls of earlier turns may be repeated (the paths read are kept).
        `enabled` follows the guard's setting (`/guard off` turns this off too); `answering`: the
        turn only asks a question, so a repeat is told to answer (not to edit, nor to read more)."""
        if enabled is not None:
            self.enabled = enabled
        self.answering = answering
        self._calls = {}
        self._next_read = None

    def edited(self) -> None:
        """An edit was resolved (or undone): the files may have changed, so reads may repeat."""
        self._edits += 1

    # -- calls -------------------------------------------------------------------------------

    def check(self, name: str, arguments: Any, unread: Callable[[], list[str]]) -> str | None:
        """The result to give instead of running this call, when it repeats one made since the
        last edit; None when it is to run. `unread()` lists the files worth reading next."""
        self.last_note = None
        if name not in self.read_only or not self.enabled:
            return None
        key = self._key(name, arguments)
        if key not in self._calls:
            return None
        step, times = self._calls[key]
        self._calls[key] = (step, times + 1)
        paths = [] if self.answering else unread()
        text = f"Same call as step {step}; its result has not changed (see step {step})."
        if paths:
            text += f" Next, read {paths[0]} with {self.read_tool}."
            if times + 1 >= REPEATS_TO_FORCE_READ:
                self._next_read = paths[0]
        elif self.edit_tools and not self.answering:
            text += f" Propose an edit now with {self.edit_tools}."
        else:
            text += " Answer with what you have found."
        self.last_note = text
        return text

    def record(self, name: str, arguments: Any, step: int, ok: bool = True) -> None:
        """A call ran (not answered by `check`): remember successful reads."""
        if name not in self.read_only or not ok:
            return
        self._calls.setdefault(self._key(name, arguments), (step, 0))
        if name == self.read_tool and isinstance(arguments, dict):
            self._read_paths.add(str(arguments.get("path", "")))

    def read(self, path: str) -> None:
        """`path` is in the model's context (attached to the request with @path)."""
        self._read_paths.add(path)

    def was_read(self, path: str) -> bool:
        return path in self._read_paths

    def take_next_read(self) -> str | None:
        """The path the next generation must read (once), if a repeat asked for one."""
        path, self._next_read = self._next_read, None
        return path

    @property
    def next_read(self) -> str | None:
        return self._next_read

    def _key(self, name: str, arguments: Any) -> str:
        return json.dumps([name, arguments, self._edits], sort_keys=True, default=str)
