"""Scanning streamed text for marker strings (stop strings, tool-call starts)."""

from __future__ import annotations

import re
from typing import Iterable


class StopStringScanner:
    """Finds stop strings in streamed text and holds back text that may be the start of one."""

    def __init__(self, stops: Iterable[str]):
        self.stops = [s for s in stops if s]
        self.text = ""
        self.emitted = 0

    def feed(self, segment: str) -> tuple[str, bool]:
        """Add text; return (text safe to emit now, whether a stop string was hit)."""
        self.text += segment
        if not self.stops:
            out, self.emitted = self.text[self.emitted :], len(self.text)
            return out, False
        window_start = max(0, self.emitted - max(len(s) for s in self.stops))
        hits = [i for s in self.stops if (i := self.text.find(s, window_start)) != -1]
        if hits:
            end = min(hits)
            out = self.text[self.emitted : max(end, self.emitted)]
            self.emitted = len(self.text)
            return out, True
        safe = len(self.text) - self._held_back()
        out = self.text[self.emitted : max(safe, self.emitted)]
        self.emitted = max(safe, self.emitted)
        return out, False

    def flush(self) -> str:
        out, self.emitted = self.text[self.emitted :], len(self.text)
        return out

    def _held_back(self) -> int:
        longest = 0
        for s in self.stops:
            for k in range(min(len(s) - 1, len(self.text)), longest, -1):
                if self.text.endswith(s[:k]):
                    longest = k
                    break
        return longest


class LoopDetector:
    """Whether streamed text has fallen into a loop: its last `window` characters are one short
    piece (at most `max_period` characters) over and over. Tiny models do this after a tool
    result ("<output_stream>\\n\\n" until the context ends); the generation is then stopped."""

    def __init__(self, window: int = 240, max_period: int = 60) -> None:
        self.window = window
        self.max_period = max_period
        self.tail = ""

    def feed(self, text: str) -> bool:
        self.tail = (self.tail + text)[-self.window:]
        if len(self.tail) < self.window:
            return False
        t = self.tail
        for period in range(1, self.max_period + 1):
            unit = t[-period:]
            if unit.strip() and (unit * (self.window // period + 1))[-self.window:] == t:
                return True
        return False


class RepeatWatch:
    """Notices prose that loops: a sentence or line (of `min_chars` or more) said `times` times.

    A small model answering in free text often repeats one sentence until the token limit; the
    agent stops the generation at the third time and keeps the text up to the first repeat."""

    _SPLIT = re.compile(r"(?<=[.!?])\s+|\n+")

    def __init__(self, times: int = 3, min_chars: int = 20) -> None:
        self.times = times
        self.min_chars = min_chars
        self.text = ""
        self._done = 0  # text before this offset is counted
        self._seen: dict[str, int] = {}  # a sentence -> times seen
        self._first_repeat: int | None = None  # where the first sentence said twice begins
        self.looping = False

    def is_set(self) -> bool:
        return self.looping

    def feed(self, segment: str) -> bool:
        """Add streamed text; True once a sentence has come `times` times."""
        self.text += segment
        parts = list(self._SPLIT.finditer(self.text, self._done))
        for gap in parts:  # each complete sentence ends where a separator begins
            start, end = self._done, gap.start()
            self._done = gap.end()
            sentence = " ".join(self.text[start:end].split()).lower()
            if len(sentence) < self.min_chars:
                continue
            n = self._seen[sentence] = self._seen.get(sentence, 0) + 1
            if n == 2 and self._first_repeat is None:
                self._first_repeat = start
            if n >= self.times:
                self.looping = True
        return self.looping

    def kept(self, text: str) -> str:
        """`text` (what was generated) without the loop: up to the first repeated sentence."""
        if not self.looping or self._first_repeat is None:
            return text
        return text[: self._first_repeat].rstrip()


class EitherStop:
    """Stands in for a cancel event (both `is_set()` and a call): set when any of `events` is."""

    def __init__(self, *events) -> None:
        self.events = events

    def is_set(self) -> bool:
        return any(e.is_set() for e in self.events)

    __call__ = is_set
