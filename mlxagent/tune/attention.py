"""Attention through numpy on MLX's CPU backend, forward and backward, for training.

On the CPU backend MLX's exp is scalar, and numpy's vectorised one with OpenBLAS GEMMs is about
4x faster on the long prompts training runs over. `numpy_attention_in` swaps it in for the
blocks' `scaled_dot_product_attention` while they run (TuneSettings.numpy_attention).
"""

from __future__ import annotations

import os
from contextlib import contextmanager


def _np_scores(q, k, scale: float, causal: bool):
    """Softmax(scale * q k^T) with the causal mask aligned to the last key: [KH, rep*n, L]."""
    import numpy as np

    heads, n, dim = q.shape
    kv_heads, length, _ = k.shape
    rep = heads // kv_heads
    scores = np.matmul((q * np.float32(scale)).reshape(kv_heads, rep * n, dim), k.transpose(0, 2, 1))
    if causal:
        future = np.arange(length)[None, :] > np.arange(n)[:, None] + (length - n)
        scores = scores.reshape(kv_heads, rep, n, length)
        scores += np.where(future, np.float32(-np.inf), np.float32(0))
        scores = scores.reshape(kv_heads, rep * n, length)
    scores -= scores.max(-1, keepdims=True)
    np.exp(scores, out=scores)
    scores /= scores.sum(-1, keepdims=True)
    return scores


def _np_forward(q, k, v, scale: float, causal: bool):
    """[B, H, n, D] attention output (numpy arrays in and out)."""
    import numpy as np

    out = np.empty(q.shape, np.float32)
    for b in range(q.shape[0]):
        heads, n, dim = q[b].shape
        probs = _np_scores(q[b], k[b], scale, causal)
        out[b] = np.matmul(probs, v[b]).reshape(heads, n, dim)
    return out


def _np_backward(q, k, v, d_out, out, scale: float, causal: bool):
    """Gradients of the attention for q, k, v given the output's gradient (numpy arrays)."""
    import numpy as np

    dq, dk, dv = np.empty(q.shape, np.float32), np.empty(k.shape, np.float32), np.empty(v.shape, np.float32)
    for b in range(q.shape[0]):
        heads, n, dim = q[b].shape
        kv_heads = k[b].shape[0]
        probs = _np_scores(q[b], k[b], scale, causal)          # [KH, rep*n, L]
        g = d_out[b].reshape(kv_heads, -1, dim)                 # [KH, rep*n, D]
        dv[b] = np.matmul(probs.transpose(0, 2, 1), g)
        d_probs = np.matmul(g, v[b].transpose(0, 2, 1))          # [KH, rep*n, L]
        d_probs -= (g * out[b].reshape(kv_heads, -1, dim)).sum(-1, keepdims=True)
        probs *= d_probs                                         # the scores' gradient, in place
        dq[b] = (np.matmul(probs, k[b]) * np.float32(scale)).reshape(heads, n, dim)
        dk[b] = np.matmul(probs.transpose(0, 2, 1), (q[b]).reshape(kv_heads, -1, dim)) * np.float32(scale)
    return dq, dk, dv


def _as_np(x):
    import mlx.core as mx
    import numpy as np

    return np.array(x.astype(mx.float32))


def numpy_attention(queries, keys, values, scale: float, mask, grad: bool = False):
    """Scaled dot-product attention computed with numpy: on MLX's CPU backend exp is scalar, and
    numpy's vectorised one with OpenBLAS GEMMs is about 4x faster on the long prompts here. With
    `grad`, an mx.custom_function whose gradient is numpy's too (not under mx.compile). Handles
    mask None or "causal" (aligned to the last key, as with a cache); None for anything else."""
    import mlx.core as mx

    if mask is not None and not (isinstance(mask, str) and mask == "causal"):
        return None
    causal = mask == "causal"
    dtype = queries.dtype
    if not grad:
        return mx.array(_np_forward(_as_np(queries), _as_np(keys), _as_np(values), scale, causal)).astype(dtype)

    @mx.custom_function
    def attention(q, k, v):
        return mx.array(_np_forward(_as_np(q), _as_np(k), _as_np(v), scale, causal)).astype(dtype)

    @attention.vjp
    def attention_vjp(primals, cotangent, output):
        q, k, v = primals
        grads = _np_backward(_as_np(q), _as_np(k), _as_np(v), _as_np(cotangent), _as_np(output), scale, causal)
        return tuple(mx.array(g).astype(p.dtype) for g, p in zip(grads, primals))

    return attention(queries, keys, values)


@contextmanager
def numpy_attention_in(layers, grad: bool = False):
    """The blocks' attention through `numpy_attention` where their module calls mlx-lm's
    `scaled_dot_product_attention` (Llama, Qwen2, Mistral...) and the backend is the CPU;
    elsewhere nothing changes. With `grad`, compilation is off meanwhile (numpy cannot be traced)."""
    import sys

    import mlx.core as mx

    if mx.default_device() != mx.cpu:
        yield False
        return
    modules = {sys.modules.get(type(getattr(layer, "self_attn", None)).__module__) for layer in layers}
    patched = []
    for module in modules:
        original = getattr(module, "scaled_dot_product_attention", None)
        if module is None or original is None:
            continue

        def attention(queries, keys, values, cache, scale, mask, sinks=None, _original=original):
            if sinks is None and not hasattr(cache, "bits"):
                out = numpy_attention(queries, keys, values, scale, mask, grad=grad)
                if out is not None:
                    return out
            return _original(queries, keys, values, cache=cache, scale=scale, mask=mask, sinks=sinks)

        module.scaled_dot_product_attention = attention
        patched.append((module, original))
    toggle = grad and bool(patched) and not os.environ.get("MLX_DISABLE_COMPILE")
    if toggle:
        mx.disable_compile()
    try:
        yield bool(patched)
    finally:
        for module, original in patched:
            module.scaled_dot_product_attention = original
        if toggle:
            mx.enable_compile()
