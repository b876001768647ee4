"""The model pass of training: the shared prefix once per batch, frozen blocks once in all.

* The prefix every sequence shares (the system prompt and the tool list) runs once per batch;
  the sequences' own tokens attend to its keys and values through a cache that the gradient
  flows back through. The result is exactly the forward pass over the whole sequence.
* For a model that is a plain stack of blocks (`layered`), the frozen blocks below the trained
  ones run once per sequence before training (`prepare`); training runs the trained ones only.
* Logits are computed only where there is a target token (the loss is on the completions only).
"""

from __future__ import annotations

import threading
from contextlib import nullcontext
from typing import Callable, Sequence

from .attention import numpy_attention_in
from .packing import Packed, Prepared


class _Recorder:
    """A cache that keeps what one layer computed for the shared prefix."""

    def __init__(self):
        self.offset = 0
        self.keys = self.values = None

    def update_and_fetch(self, keys, values):
        self.keys, self.values = keys, values
        return keys, values

    def make_mask(self, n, return_array=False, window_size=None):
        from mlx_lm.models.cache import create_attention_mask

        return create_attention_mask(n, 0, return_array, window_size)


class _Prefixed:
    """A cache holding the shared prefix's keys and values (for every row of the batch)."""

    def __init__(self, keys, values, batch: int):
        import mlx.core as mx

        self.offset = keys.shape[2]
        self.keys = mx.broadcast_to(keys, (batch, *keys.shape[1:]))
        self.values = mx.broadcast_to(values, (batch, *values.shape[1:]))

    def update_and_fetch(self, keys, values):
        import mlx.core as mx

        return mx.concatenate([self.keys, keys], axis=2), mx.concatenate([self.values, values], axis=2)

    def make_mask(self, n, return_array=False, window_size=None):
        from mlx_lm.models.cache import create_attention_mask

        return create_attention_mask(n, self.offset, return_array, window_size)


def _head(model):
    inner = getattr(model, "model", None)
    if hasattr(model, "lm_head"):
        return model.lm_head
    if hasattr(getattr(inner, "embed_tokens", None), "as_linear"):
        return inner.embed_tokens.as_linear
    return None


def _blocks(h, layers, caches):
    mask = caches[0].make_mask(h.shape[1]) if caches else ("causal" if h.shape[1] > 1 else None)
    for i, layer in enumerate(layers):
        h = layer(h, mask, cache=caches[i] if caches else None)
    return h


def layered(model) -> bool:
    """Whether the model is embed -> blocks(h, mask, cache) -> norm -> head (Llama, Qwen2, Mistral
    and the like), checked against the model's own forward pass on a few tokens."""
    import mlx.core as mx

    inner = getattr(model, "model", None)
    head = _head(model)
    if head is None or not all(hasattr(inner, a) for a in ("embed_tokens", "layers", "norm")):
        return False
    if any(getattr(layer, "use_sliding", False) for layer in inner.layers):
        return False
    x = mx.array([[1, 2, 3, 4, 5]])
    try:
        mine = head(inner.norm(_blocks(inner.embed_tokens(x), inner.layers, None)))
        return bool(mx.allclose(mine, model(x), atol=1e-4).item())
    except Exception:  # noqa: BLE001 - another shape of model: the plain path
        return False


def prepare(model, seqs: Sequence[Packed], prefix: int, first: int,
            progress: Callable[[int, int], None] | None = None,
            cancel: threading.Event | None = None, fast_attention: bool = True) -> Prepared:
    """Run the frozen blocks below `first` once over every sequence (the prefix once for all)."""
    inner = model.model
    with numpy_attention_in(inner.layers[:first]) if fast_attention else nullcontext():
        return _prepare(model, seqs, prefix, first, progress, cancel)


def _prepare(model, seqs, prefix, first, progress, cancel) -> Prepared:
    import mlx.core as mx

    inner = model.model
    below = inner.layers[:first]
    head = mx.array([seqs[0].tokens[:prefix]])
    recorders = [_Recorder() for _ in below]
    hp = _blocks(inner.embed_tokens(head), below, recorders) if prefix else None
    if hp is not None:
        mx.eval(hp, *[r.keys for r in recorders], *[r.values for r in recorders])
    rows = []
    for n, s in enumerate(seqs):
        if cancel is not None and cancel.is_set():
            raise KeyboardInterrupt
        caches = [_Prefixed(r.keys, r.values, 1) for r in recorders] if prefix else None
        h = _blocks(inner.embed_tokens(mx.array([s.tokens[prefix:-1]])), below, caches)
        mx.eval(h)
        rows.append(h)
        if progress:
            progress(n + 1, len(seqs))
    if hp is None:
        hp = mx.zeros((1, 0, rows[0].shape[-1]), dtype=rows[0].dtype)
    return Prepared(first, hp, rows)


def _cross_entropy(logits, targets, weights):
    import mlx.core as mx
    import mlx.nn as nn

    ce = nn.losses.cross_entropy(logits.astype(mx.float32), targets) * weights
    ntoks = weights.sum()
    return ce.sum() / ntoks, ntoks.astype(mx.int32)


def make_loss(model, prefix: int, prepared: Prepared | None = None):
    """The trainer's loss(model, *batch) -> (mean cross-entropy on the target tokens, their count):
    over hidden states from `prepare` (the trained blocks only), or over tokens (the whole model)."""
    import mlx.core as mx

    n_layers = len(model.layers)

    if prepared is not None:
        first = prepared.first

        def loss_hidden(m, hp, hs, positions, targets, weights):
            inner = m.model
            above = inner.layers[first:]
            caches = None
            if hp.shape[1]:
                recorders = [_Recorder() for _ in above]
                _blocks(hp, above, recorders)
                caches = [_Prefixed(r.keys, r.values, hs.shape[0]) for r in recorders]
            h = inner.norm(_blocks(hs, above, caches))
            picked = mx.take_along_axis(h, positions[..., None], axis=1)
            return _cross_entropy(_head(m)(picked), targets, weights)

        return loss_hidden

    def loss_tokens(m, head, inputs, positions, targets, weights):
        caches = None
        if prefix:
            recorders = [_Recorder() for _ in range(n_layers)]
            m(head, cache=recorders)
            caches = [_Prefixed(r.keys, r.values, inputs.shape[0]) for r in recorders]
        logits = m(inputs, cache=caches)
        picked = mx.take_along_axis(logits, positions[..., None], axis=1)
        return _cross_entropy(picked, targets, weights)

    return loss_tokens
