"""Streaming generation over a chat session that keeps its KV cache across turns.

Each call tokenises the full prompt; the longest common token prefix with what
the cache already holds is kept, the rest of the cache is trimmed, and only the
new tokens are prefilled. `prefilled_total` counts the tokens actually run
through the model so that reuse is measurable.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable, Iterable, Iterator

from ..core.events import GenerationStats
from ..core.llm import Chunk
from ..core.textstream import StopStringScanner
from .plain_steps import plain_steps
from .prefill import prefill
from .runtime import LoadedModel
from .sampling import SamplingSettings  # also imported from here (server/worker.py, tests)
from .speculative import DecodeCounters, speculative_steps

CancelLike = threading.Event | Callable[[], bool] | None

# Speeds are only reported when they were measured over something: a prefill of at least
# this many tokens, and intervals of at least this long (a fully cached prompt, or one token
# and an Esc, would otherwise give thousands of "tok/s").
MIN_PREFILL_TOKENS = 16
MIN_MEASURED_S = 1e-3


def decode_rate(generated: int, t_first: float | None, t_last: float | None) -> float:
    """Generated tokens per second between the first and the last token: generated - 1
    intervals; 0.0 (not measured) for fewer than two tokens or a near-zero interval."""
    if generated < 2 or t_first is None or t_last is None or t_last - t_first < MIN_MEASURED_S:
        return 0.0
    return (generated - 1) / (t_last - t_first)


def prefill_rate(prefilled: int, seconds: float | None) -> float:
    """Prefilled tokens per second up to the first token; 0.0 (not measured) when the prefill
    was too short to measure (few new tokens, most of the prompt reused from the cache)."""
    if prefilled < MIN_PREFILL_TOKENS or seconds is None or seconds < MIN_MEASURED_S:
        return 0.0
    return prefilled / seconds


def _is_cancelled(cancel: CancelLike) -> bool:
    if cancel is None:
        return False
    return cancel.is_set() if isinstance(cancel, threading.Event) else bool(cancel())


class ChatSession:
    """Generation with a KV cache that persists across calls (one conversation)."""

    # 256-token prefill chunks measured ~10% faster than 512 or 2048 on the 2-core CPU with OpenBLAS.
    def __init__(self, loaded: LoadedModel, reuse: bool = True, prefill_step_size: int = 256,
                 speculative: bool | None = None):
        self.loaded = loaded
        self.reuse = reuse
        # Several tokens per forward pass (model/speculative.py); None: the loaded model's setting.
        self._speculative = speculative
        self.prefill_step_size = prefill_step_size
        self._cache: list[Any] | None = None
        self.cached_tokens: list[int] = []
        self.prefilled_total = 0
        self.reused_total = 0
        self.generated_total = 0
        self._lock = threading.Lock()  # one generation at a time per session

    @property
    def speculative(self) -> bool:
        return self.loaded.speculative if self._speculative is None else self._speculative

    @speculative.setter
    def speculative(self, on: bool | None) -> None:
        self._speculative = on

    def reset(self) -> None:
        self._cache = None
        self.cached_tokens = []

    @property
    def cache_nbytes(self) -> int:
        """Bytes the KV cache holds (as allocated, which grows in steps)."""
        return sum(int(getattr(c, "nbytes", 0) or 0) for c in self._cache or ())

    def fork(self, keep: int) -> "ChatSession | None":
        """A new session whose KV cache is a copy of this one's first `keep` tokens, leaving this
        one as it is; None where the cache is not a plain KV cache (those cannot be cut)."""
        import mlx.core as mx

        from .qkernel.half_cache import empty_like, plain

        if not self._cache or any(not plain(c) or c.keys is None for c in self._cache):
            return None
        keep = max(0, min(keep, len(self.cached_tokens), self._cache[0].offset))
        other = ChatSession(self.loaded, reuse=self.reuse, prefill_step_size=self.prefill_step_size,
                            speculative=self._speculative)
        caches = []
        for c in self._cache:
            copy = empty_like(c)
            if keep:
                copy.keys, copy.values, copy.offset = c.keys[..., :keep, :], c.values[..., :keep, :], keep
            caches.append(copy)
        mx.eval([x for c in caches if c.keys is not None for x in (c.keys, c.values)])
        other._cache = caches
        other.cached_tokens = self.cached_tokens[:keep]
        return other

    def encode(self, text: str) -> list[int]:
        return list(self.loaded.tokenizer.encode(text, add_special_tokens=False))

    def _prepare_cache(self, prompt: list[int]) -> int:
        """Make the cache hold a prefix of `prompt`; return how many prompt tokens are reused."""
        from mlx_lm.models.cache import can_trim_prompt_cache, make_prompt_cache, trim_prompt_cache
        from mlx_lm.utils import common_prefix_len

        if self.reuse and self._cache is not None:
            keep = common_prefix_len(self.cached_tokens, prompt)
            keep = min(keep, len(prompt) - 1)  # the model must see at least one new token
            drop = len(self.cached_tokens) - keep
            if drop == 0:
                return keep
            if can_trim_prompt_cache(self._cache):
                trim_prompt_cache(self._cache, drop)
                self.cached_tokens = self.cached_tokens[:keep]
                return keep
        self._cache = make_prompt_cache(self.loaded.model)
        self.cached_tokens = []
        return 0

    def generate(
        self,
        prompt: list[int] | str,
        *,
        max_tokens: int = 512,
        sampling: SamplingSettings | None = None,
        stop: Iterable[str] = (),
        logits_processors: list[Callable] | None = None,
        cancel: CancelLike = None,
    ) -> Iterator[Chunk]:
        """Stream text chunks; the last chunk has `finish_reason` and `stats`."""
        with self._lock:
            yield from self._generate(prompt, max_tokens, sampling or SamplingSettings(), stop,
                                      logits_processors, cancel)

    def _generate(self, prompt, max_tokens, sampling, stop, logits_processors, cancel) -> Iterator[Chunk]:
        import mlx.core as mx
        from mlx_lm.models.cache import can_trim_prompt_cache

        tokens = self.encode(prompt) if isinstance(prompt, str) else list(prompt)
        if not tokens:
            tokens = [self.loaded.tokenizer.bos_token_id or 0]
        tokenizer = self.loaded.tokenizer
        eos = set(tokenizer.eos_token_ids)
        mx.reset_peak_memory()
        t_start = time.perf_counter()
        reused = self._prepare_cache(tokens)
        new = tokens[reused:]
        self.cached_tokens = list(tokens)  # what the cache will hold once prefilled
        detok = tokenizer.detokenizer
        detok.reset()
        scanner = StopStringScanner(stop)
        finish = "cancelled" if _is_cancelled(cancel) else "length"
        generated, t_first, t_last = 0, None, None
        counters = DecodeCounters()
        steps = ()
        if sampling.seed is not None:
            mx.random.seed(sampling.seed)  # one place for both decoders
        prefilled = 0
        try:
            # All but the last new token are prefilled here, a chunk at a time, so a cancel is seen
            # between chunks; what was computed stays in the cache (cached_tokens follows it).
            prefilled = self._prefill(new[:-1], cancel)
            context, rest = tokens[:reused + prefilled], new[prefilled:]
            if _is_cancelled(cancel):
                finish, steps = "cancelled", ()
            elif self.speculative and can_trim_prompt_cache(self._cache):
                steps = speculative_steps(
                    self.loaded.model, self._cache, context, rest, max_tokens=max_tokens,
                    sampling=sampling, processors=logits_processors,
                    prefill_step_size=self.prefill_step_size, counters=counters,
                )
                prefilled = len(new)
            else:
                steps = self._plain_steps(rest, max_tokens, sampling, logits_processors, counters)
                prefilled = len(new)
            for token, _ in steps:
                if t_first is None:
                    t_first = time.perf_counter()
                self.cached_tokens.append(token)
                if token in eos:
                    finish = "stop"
                    break
                generated += 1
                t_last = time.perf_counter()
                detok.add_token(token)
                text, hit = scanner.feed(detok.last_segment)
                if text:
                    yield Chunk(text)
                if hit:
                    finish = "stop_string"
                    break
                if _is_cancelled(cancel):
                    finish = "cancelled"
                    break
            if finish in ("length", "stop", "cancelled"):
                detok.finalize()
                text, hit = scanner.feed(detok.last_segment)
                text += "" if hit else scanner.flush()
                if text:
                    yield Chunk(text)
        finally:
            if hasattr(steps, "close"):
                steps.close()  # end mlx-lm's generator here, in this thread, not when it is collected
            self._sync_cached_tokens()
            self.prefilled_total += prefilled
            self.reused_total += reused
            self.generated_total += generated
            # Prefill: up to the first token (none came: not measured). Decode: the first to the
            # last generated token, so neither the prefill nor a cancel's tail counts.
            prefill_s = t_first - t_start if t_first is not None else None
            stats = GenerationStats(
                prompt_tokens=len(tokens),
                prefilled_tokens=prefilled,
                reused_tokens=reused,
                generated_tokens=generated,
                prefill_tps=prefill_rate(prefilled, prefill_s),
                decode_tps=decode_rate(generated, t_first, t_last),
                peak_memory_gb=mx.get_peak_memory() / 1e9,
                forward_passes=counters.forward_passes,
                draft_tokens=counters.drafted,
                accepted_draft_tokens=counters.accepted_lookup,
                jump_forward_tokens=counters.accepted_forced,
            )
            self.last_stats = stats
        yield Chunk("", finish_reason=finish, stats=stats)

    def _prefill(self, tokens: list[int], cancel: CancelLike) -> int:
        """Run `tokens` into the cache in `prefill_step_size` chunks, checking `cancel` before
        each; returns how many were run (the cache holds exactly those)."""
        return prefill(self.loaded.model, self._cache, tokens, self.prefill_step_size, lambda: _is_cancelled(cancel))

    def _plain_steps(self, new, max_tokens, sampling, logits_processors, counters) -> Iterator[tuple[int, str]]:
        """One token per forward pass (plain_steps.py: mlx-lm's pipelining, no log-softmax)."""
        steps = plain_steps(self.loaded.model, self._cache, new, max_tokens=max_tokens, sampling=sampling,
                            processors=logits_processors, prefill_step_size=self.prefill_step_size)
        try:
            for token in steps:
                counters.forward_passes += 1
                yield token, "model"
        finally:
            steps.close()  # end the generator here, in this thread, not when it is collected

    def _sync_cached_tokens(self) -> None:
        """Keep `cached_tokens` equal to what the KV cache really holds."""
        from mlx_lm.models.cache import trim_prompt_cache

        if not self._cache:
            return
        offset = getattr(self._cache[0], "offset", len(self.cached_tokens))
        if offset > len(self.cached_tokens):
            trim_prompt_cache(self._cache, offset - len(self.cached_tokens))
        elif offset < len(self.cached_tokens):
            self.cached_tokens = self.cached_tokens[:offset]

