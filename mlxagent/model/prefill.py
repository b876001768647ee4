"""Prompt tokens run into a KV cache a chunk at a time: the prefill that ChatSession, the plain
decoder (plain_steps.py) and the speculative one (speculative.py) share.

    done = prefill(model, cache, tokens, step_size=512, cancelled=lambda: event.is_set())
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["prefill"]


def prefill(model: Any, cache: list[Any], tokens: Sequence[int], step_size: int,
            cancelled: Callable[[], bool] = lambda: False) -> int:
    """Run `tokens` into `cache` in chunks of `step_size`, each evaluated on mlx-lm's generation
    stream with MLX's buffer cache cleared after it, checking `cancelled` before each; returns how
    many were run (the cache holds exactly those)."""
    import mlx.core as mx
    from mlx_lm.generate import generation_stream

    tokens = list(tokens)
    done = 0
    with mx.stream(generation_stream):
        while done < len(tokens) and not cancelled():
            n = min(step_size, len(tokens) - done)
            model(mx.array(tokens[done:done + n])[None], cache=cache)
            mx.eval([c.state for c in cache])
            done += n
            mx.clear_cache()
    return done
