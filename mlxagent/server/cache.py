"""Prompt caches kept across requests: an LRU pool of chat sessions for the loaded model.

Each `ChatSession` holds one conversation's KV cache. For a new prompt the pool picks the
session whose cached tokens share the longest prefix with it:

* the prompt extends that conversation (none, or only a short tail, of the cache differs,
  e.g. the last reply as the template renders it): that session is used and its cache trimmed;
* the prompt shares a real prefix but then diverges from a long cached conversation (two
  clients with the same system prompt and tools): the shared prefix is copied into a new
  session, so the other conversation keeps its cache;
* nothing useful is shared (fewer than `MIN_FORK` tokens): a fresh session.

Memory is bounded by a session count and a byte budget (the KV arrays as allocated):
least recently used sessions are dropped first, and a single session over the budget has
its cache dropped after use. Only the model worker's thread uses a pool; `stats()` may be
read from any thread.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from ..model.runtime import LoadedModel
from ..model.kv_cache import ChatSession

IN_PLACE_TAIL = 64  # cached tokens past the shared prefix that may be thrown away without a copy
MIN_FORK = 32  # shared tokens worth copying into a new session


def common_prefix_len(a: list[int], b: list[int]) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


class PromptCachePool:
    def __init__(self, loaded: LoadedModel, max_sessions: int = 4, max_bytes: int = 1 << 30,
                 in_place_tail: int = IN_PLACE_TAIL, min_fork: int = MIN_FORK) -> None:
        self.loaded = loaded
        self.max_sessions = max(1, max_sessions)
        self.max_bytes = max_bytes
        self.in_place_tail = in_place_tail
        self.min_fork = min_fork
        self._sessions: OrderedDict[int, ChatSession] = OrderedDict()  # oldest first
        self._next_id = 0
        self._lock = threading.Lock()
        self.counts = {"reused": 0, "forked": 0, "new": 0, "evicted": 0, "dropped_oversized": 0}

    def _add(self, session: ChatSession) -> ChatSession:
        self._sessions[self._next_id] = session
        self._next_id += 1
        return session

    def checkout(self, prompt: list[int]) -> ChatSession:
        """The session to generate `prompt` in (it stays in the pool; call `checkin` after)."""
        with self._lock:
            best_id, best, best_k = None, None, 0
            for sid, session in self._sessions.items():  # oldest first: ties go to the most recent
                k = common_prefix_len(session.cached_tokens, prompt)
                if k >= best_k and k > 0:
                    best_id, best, best_k = sid, session, k
            if best is None:
                self.counts["new"] += 1
                return self._add(ChatSession(self.loaded))
            tail = len(best.cached_tokens) - best_k
            if tail == 0 or (tail <= self.in_place_tail and best_k >= self.min_fork):
                self.counts["reused"] += 1
                self._sessions.move_to_end(best_id)
                return best
            if best_k >= self.min_fork and (copy := best.fork(best_k)) is not None:
                self.counts["forked"] += 1
                return self._add(copy)
            self.counts["new"] += 1
            return self._add(ChatSession(self.loaded))

    def checkin(self, session: ChatSession) -> None:
        """After a generation: the session becomes the most recent; the bounds are enforced."""
        with self._lock:
            sid = next((k for k, s in self._sessions.items() if s is session), None)
            if sid is None:
                return
            self._sessions.move_to_end(sid)
            while len(self._sessions) > self.max_sessions or (
                    self._total_bytes() > self.max_bytes and len(self._sessions) > 1):
                self._sessions.popitem(last=False)
                self.counts["evicted"] += 1
            if session.cache_nbytes > self.max_bytes:
                session.reset()
                self.counts["dropped_oversized"] += 1

    def _total_bytes(self) -> int:
        return sum(s.cache_nbytes for s in self._sessions.values())

    def clear(self) -> None:
        with self._lock:
            self._sessions.clear()

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "sessions": len(self._sessions),
                "bytes": self._total_bytes(),
                "tokens": [len(s.cached_tokens) for s in reversed(self._sessions.values())],  # most recent first
                "max_sessions": self.max_sessions,
                "max_bytes": self.max_bytes,
                **self.counts,
            }
