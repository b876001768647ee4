"""Real models for the server: `ModelRuntime` (one model at a time) behind a prompt-cache pool.

The worker only needs `load(target) -> model` and `release()`; tests inject a provider
of scripted models instead. A loaded model streams like `MlxChatModel`, but each prompt
runs in the pooled session that shares the longest prefix with it (see `cache.py`).
"""

from __future__ import annotations

from typing import Any, Iterator

from ..core.formats import detect_format
from ..core.llm import Chunk, Constraint
from ..errors import ModelError
from ..model.chat_model import MlxChatModel
from ..model.runtime import LoadedModel, ModelRuntime
from .cache import PromptCachePool
from .store import ModelTarget


class PromptTooLong(ModelError):
    """The conversation does not fit the model's context."""


class PooledMlxModel:
    def __init__(self, loaded: LoadedModel, pool: PromptCachePool, tool_format: str | None = None) -> None:
        self.inner = MlxChatModel(loaded, tool_format=tool_format)
        self.pool = pool
        self.name = loaded.name
        self.context_length = loaded.context_length
        self.tool_format = self.inner.tool_format
        self.weak_tool_use = self.inner.weak_tool_use

    def count_tokens(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> int:
        return self.inner.count_tokens(messages, tools)

    def stream(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]], *,
               constraint: Constraint | None = None, max_tokens: int = 1024, cancel=None,
               stop: tuple[str, ...] = (), sampling=None, temperature: float | None = None,
               ready=None) -> Iterator[Chunk]:
        tokens = self.inner.prompt_tokens(messages, tools)
        room = self.context_length - len(tokens)
        if room < 1:
            raise PromptTooLong(f"The conversation is {len(tokens)} tokens long; the model's context holds "
                                f"{self.context_length}. Shorten the messages.")
        session = self.pool.checkout(tokens)
        try:
            yield from self.inner.stream(messages, tools, constraint=constraint, max_tokens=min(max_tokens, room),
                                         cancel=cancel, stop=stop, sampling=sampling, temperature=temperature,
                                         session=session, prompt=tokens, ready=ready)
        except Exception:
            session.reset()  # a generation that broke off with an error: its cache is not trusted again
            raise
        finally:
            self.pool.checkin(session)


class RuntimeProvider:
    def __init__(self, cache_sessions: int = 4, cache_bytes: int = 1 << 30, speculative: bool = True) -> None:
        self.runtime = ModelRuntime(speculative=speculative)
        self.cache_sessions = cache_sessions
        self.cache_bytes = cache_bytes
        self.pool: PromptCachePool | None = None

    def load(self, target: ModelTarget) -> PooledMlxModel:
        self.release()  # the old model and its caches go before the new weights arrive
        loaded = self.runtime.load(target.spec)
        loaded.name = target.name
        template = getattr(loaded.tokenizer, "chat_template", None)
        tool_format = detect_format(f"{target.describe} {loaded.path}", template)
        self.pool = PromptCachePool(loaded, self.cache_sessions, self.cache_bytes)
        return PooledMlxModel(loaded, self.pool, tool_format)

    def release(self) -> None:
        if self.pool is not None:
            self.pool.clear()
            self.pool = None
        self.runtime.unload()

    def stats(self) -> dict[str, Any]:
        pool = self.pool
        return pool.stats() if pool is not None else {}
