"""Many samples of one prompt at once: `sample_batch()` prefills the prompt once, repeats its KV
cache N times and decodes the N sequences together (decode is memory-bound here, so a step over
16 sequences costs a few times one step, not 16: bench/batch_decode.py).

Used by the candidate search when its rules run out (core/repair/sampled.py): N rewrites of a
suspect line, each stopped at its own stop string, end of sequence or `max_tokens`.
"""

from __future__ import annotations

from typing import Callable, Iterable

from .runtime import LoadedModel

CancelLike = Callable[[], bool] | None


def _repeat_cache(cache, n: int) -> bool:
    """Repeat a batch-1 cache along the batch axis; False when a layer's cache cannot be."""
    import mlx.core as mx

    for c in cache:
        if type(c).__name__ not in ("KVCache", "HalfKVCache"):
            return False
    for c in cache:
        if c.keys is None:
            continue
        keys, values = c.keys[..., :c.offset, :], c.values[..., :c.offset, :]
        c.keys, c.values = mx.repeat(keys, n, axis=0), mx.repeat(values, n, axis=0)
    return True


def sample_batch(loaded: LoadedModel, prompt: list[int], n: int, *, temperature: float = 0.8,
                 top_p: float = 0.95, max_tokens: int = 64, stop: Iterable[str] = (),
                 cancel: CancelLike = None, seed: int | None = None) -> list[str]:
    """N continuations of `prompt` (token ids), each cut before its first stop string; at
    temperature 0 all N are the greedy continuation. A cancel returns what was decoded so far."""
    import mlx.core as mx
    from mlx_lm.models.cache import make_prompt_cache

    if n <= 0:
        return []
    stop = tuple(s for s in stop if s)
    tokens = list(prompt) or [loaded.tokenizer.bos_token_id or 0]
    model, tokenizer = loaded.model, loaded.tokenizer
    eos = set(tokenizer.eos_token_ids)
    if seed is not None:
        mx.random.seed(seed)
    cancelled = cancel or (lambda: False)
    cache = make_prompt_cache(model)
    head, last = tokens[:-1], tokens[-1]
    for i in range(0, len(head), 512):  # prefill once, a chunk at a time (a cancel is seen between)
        if cancelled():
            return [""] * n
        model(mx.array([head[i:i + 512]]), cache=cache)
        mx.eval([(c.keys, c.values) for c in cache if getattr(c, 'keys', None) is not None])
    if _repeat_cache(cache, n):
        logits = model(mx.array([[last]] * n), cache=cache)
    else:  # a cache that cannot be repeated: prefill the batch instead
        cache = make_prompt_cache(model)
        logits = model(mx.array([tokens] * n), cache=cache)
    sampler = None
    if temperature > 0:
        from mlx_lm.sample_utils import make_sampler

        sampler = make_sampler(temp=temperature, top_p=top_p if 0 < top_p < 1 else 0.0)
    outs: list[list[int]] = [[] for _ in range(n)]
    texts = [""] * n
    done = [False] * n
    for _ in range(max_tokens):
        if cancelled():
            break
        last_logits = logits[:, -1, :]
        if sampler is None:
            nxt = mx.argmax(last_logits, axis=-1)
        else:
            nxt = sampler(last_logits - mx.logsumexp(last_logits, axis=-1, keepdims=True))
        ids = nxt.tolist()
        for j, t in enumerate(ids):
            if done[j]:
                continue
            if t in eos:
                done[j] = True
                continue
            outs[j].append(t)
            texts[j] = tokenizer.decode(outs[j])
            if any(s in texts[j] for s in stop):
                done[j] = True
        if all(done):
            break
        logits = model(nxt.reshape(n, 1), cache=cache)
    results = []
    for text in texts:
        cut = min((text.find(s) for s in stop if s in text), default=len(text))
        results.append(text[:cut])
    return results
