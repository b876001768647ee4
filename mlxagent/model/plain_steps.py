"""One token per forward pass, pipelined as mlx-lm's `generate_step` is, without its log-softmax.

mlx-lm's loop normalises every step's logits (`logits - logsumexp(logits)`) and evaluates them,
for a caller that may want log-probabilities: on the CPU that is a scalar exp over the whole vocabulary,
about 0.5 ms of a 10 ms decode step with SmolLM2's 49,152 tokens (BENCHMARKS.md). Nothing here
reads them, so greedy decoding takes the argmax of the processed logits, as the speculative
decoder's Chooser does, and only a sampling temperature pays for the normalisation its filters
(top-p, min-p) need. Otherwise the same: the next step is queued (`async_eval`) before the current
token is handed out, the logits processors see the new tokens and then each generated one, and
MLX's buffer cache is cleared every 256 tokens.

    for token in plain_steps(model, cache, new, max_tokens=64, sampling=settings, processors=[]):
        ...
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from .prefill import prefill

if TYPE_CHECKING:
    from .sampling import SamplingSettings

__all__ = ["plain_steps"]


def plain_steps(
    model: Any,
    cache: list[Any],
    new: Sequence[int],
    *,
    max_tokens: int,
    sampling: "SamplingSettings",
    processors: list[Callable] | None,
    prefill_step_size: int,
) -> Iterator[int]:
    """Yield up to `max_tokens` tokens after running `new` (at least one token) into `cache`."""
    import mlx.core as mx
    from mlx_lm.generate import generation_stream

    processors = list(processors or ())
    greedy = sampling.temperature <= 0
    sampler = None if greedy else sampling.make_sampler()
    seen: mx.array | None = None  # what the processors are shown

    def step(tokens: mx.array) -> mx.array:
        nonlocal seen
        with mx.stream(generation_stream):
            logits = model(tokens[None], cache=cache)[:, -1, :]
            if processors:
                seen = tokens if seen is None else mx.concatenate([seen, tokens])
                for processor in processors:
                    logits = processor(seen, logits)
            if greedy:
                return mx.argmax(logits, axis=-1)
            return sampler(logits - mx.logsumexp(logits, axis=-1, keepdims=True))

    new = list(new)
    prefill(model, cache, new[:-1], prefill_step_size)  # all but the last token
    if processors and len(new) > 1:
        seen = mx.array(new[:-1])
    prompt = mx.array(new[-1:])
    limit = max_tokens if max_tokens >= 0 else float("inf")  # mlx-lm's -1: no limit
    if limit == 0:
        return
    y = step(prompt)
    mx.async_eval(y)
    n = 0
    while True:
        if n + 1 < limit:
            following = step(y)
            mx.async_eval(following)
        yield int(y.item())
        n += 1
        if n == limit:
            return
        if n % 256 == 0:
            mx.clear_cache()
        y = following
