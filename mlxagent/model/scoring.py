"""How much more likely the model finds one text than another after the same prompt.

A small model writes fixes badly but judges them well (shared/notes/small-model-repair.md):
asked to score whole candidate files, SmolLM2-135M ranks the right fix of six first three
times in five. Scoring is a prefill, not a generation, so dozens of candidates cost about
as much as one sampled edit.

`score_variants(loaded, prompt, base, variants)` gives, for each variant of `base` (token
lists), the log-likelihood difference variant − base after `prompt`. Only what differs is
run through the model: the prompt and `base` are prefilled once (their per-token
log-probabilities kept), and each variant reuses the KV cache up to the first token where it
leaves `base`, then runs its differing tokens plus up to `tail` tokens of the text they share
again at the end (the part where a change still shifts the likelihood). The tail past that is
taken as equal for both, so a variant costs its changed span, not the whole file.
"""

from __future__ import annotations

from typing import Any, Sequence

from .runtime import LoadedModel

PREFILL_CHUNK = 256


def _common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


def _common_suffix(a: Sequence[int], b: Sequence[int], floor: int) -> int:
    """Tokens `a` and `b` share at their ends, not reaching back into their first `floor`."""
    n = min(len(a), len(b)) - floor
    i = 0
    while i < n and a[-1 - i] == b[-1 - i]:
        i += 1
    return i


def _forward(model: Any, tokens: list[int], cache: list[Any]):
    """Logits (float32, [len(tokens), vocab]) for `tokens` run after what `cache` holds."""
    import mlx.core as mx

    outs = []
    for start in range(0, len(tokens), PREFILL_CHUNK):
        logits = model(mx.array(tokens[start:start + PREFILL_CHUNK])[None], cache=cache)[0]
        logits = logits.astype(mx.float32)
        mx.eval(logits)
        outs.append(logits)
    return outs[0] if len(outs) == 1 else mx.concatenate(outs, axis=0)


def _log_probs(logits, targets: list[int]) -> list[float]:
    """log p(targets[i]) under logits[i]."""
    import mlx.core as mx

    if not targets:
        return []
    lse = mx.logsumexp(logits, axis=-1)
    picked = mx.take_along_axis(logits, mx.array(targets)[:, None], axis=-1)[:, 0]
    out = picked - lse
    mx.eval(out)
    return out.tolist()


def _cut_cache(cache: list[Any], keep: int) -> list[Any]:
    """A copy of a KV cache holding only its first `keep` positions (the original stays)."""
    copies = []
    for c in cache:
        copy = type(c)()  # the same kind (float16 or float32 keys and values)
        if keep:
            copy.keys, copy.values, copy.offset = c.keys[..., :keep, :], c.values[..., :keep, :], keep
        copies.append(copy)
    return copies


def score_variants(loaded: LoadedModel, prompt: list[int], base: list[int], variants: list[list[int]],
                   tail: int = 24, cancel=None) -> list[float]:
    """log p(variant | prompt) − log p(base | prompt) for each variant (see the module doc)."""
    from mlx_lm.models.cache import make_prompt_cache

    if not prompt:
        raise ValueError("scoring needs a prompt of at least one token")
    model = loaded.model
    cache = make_prompt_cache(model)
    full = prompt + base
    logits = _forward(model, full, cache)  # row j predicts full[j + 1]
    base_lp = _log_probs(logits[len(prompt) - 1:-1], base)  # base_lp[i] = log p(base[i] | ...)
    scores: list[float] = []
    for variant in variants:
        if cancel is not None and cancel():
            break
        k = _common_prefix(base, variant)
        if k == len(base) == len(variant):
            scores.append(0.0)
            continue
        s = _common_suffix(base, variant, k)
        shared_tail = min(tail, s)
        v_span = variant[k:len(variant) - s + shared_tail]
        b_span_lp = sum(base_lp[k:len(base) - s + shared_tail])
        position = len(prompt) + k  # tokens before the first that differs
        first_row = logits[position - 1:position]
        if len(v_span) > 1:
            rest = _forward(model, v_span[:-1], _cut_cache(cache, position))
            import mlx.core as mx

            rows = mx.concatenate([first_row, rest], axis=0)
        else:
            rows = first_row
        v_lp = sum(_log_probs(rows, v_span)) if v_span else 0.0
        scores.append(v_lp - b_span_lp)
    return scores
