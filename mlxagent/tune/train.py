"""LoRA training with mlx-lm's tuner (`mlx_lm.tuner.trainer.train`) on the rendered examples.

The loop, the optimizer step, checkpointing and the loss reports are mlx-lm's. What is ours is
how a batch is fed, because on a small CPU the attention over ~2,000-token prompts is nearly
all of the cost, and most of those tokens are the same in every example:

* Examples of one conversation are packed: when an earlier target's prompt and completion are
  exactly the start of a later example's tokens, one sequence carries both targets.
* The prefix every sequence shares (the system prompt and the tool list) runs once per batch;
  the sequences' own tokens attend to its keys and values through a cache that the gradient
  flows back through. The result is exactly the forward pass over the whole sequence.
* Logits are computed only where there is a target token (the loss is on the completions only).

The adapter is saved in mlx-lm's format (adapter_config.json + adapters.safetensors) so that
`mlx_lm.tuner.utils.load_adapters` reads it too.
"""

from __future__ import annotations

import json
import math
import os
import threading
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from ..errors import MlxAgentError
from .dataset import Rendered


class TrainingError(MlxAgentError):
    """Training cannot start or did not finish (one line for the user)."""


@dataclass(frozen=True)
class TuneSettings:
    steps: int = 60
    batch_size: int = 2
    learning_rate: float = 3e-4
    rank: int = 16
    scale: float = 10.0
    dropout: float = 0.0
    layers: int = 4            # LoRA on the attention and MLP projections of the last `layers` blocks
    max_seq_length: int = 3072
    save_every: int = 10
    warmup: int = 5
    seed: int = 0
    numpy_attention: bool = True  # on the CPU backend: attention through numpy (train.numpy_attention)

    def lora_parameters(self) -> dict[str, Any]:
        return {"rank": self.rank, "scale": self.scale, "dropout": self.dropout}


@dataclass(frozen=True)
class Progress:
    stage: str  # "preparing" (the frozen blocks, once per sequence) | "training" (one per step)
    step: int
    steps: int
    loss: float
    tokens_per_second: float
    elapsed: float  # seconds since this stage began

    @property
    def eta(self) -> float:
        return self.elapsed / self.step * (self.steps - self.step) if self.step else 0.0


@dataclass
class TrainResult:
    steps: int                 # steps run
    saved_step: int            # the step of the adapter on disk (0: none)
    loss: float                # the mean training loss of the last `report_window` steps
    seconds: float
    trained_tokens: int
    cancelled: bool = False
    losses: list[float] = field(default_factory=list)
    prepare_seconds: float = 0.0  # of `seconds`: running the frozen blocks once over the data


# -- packing ------------------------------------------------------------------------------------

@dataclass
class Packed:
    """One sequence and the token spans [start, end) that are targets."""

    tokens: list[int]
    spans: list[tuple[int, int]]
    sources: list[str]

    @property
    def target_tokens(self) -> int:
        return sum(b - a for a, b in self.spans)


def _conversation(source: str) -> tuple[str, int]:
    record, _, index = source.rpartition("#")
    return (record, int(index)) if index.isdigit() else (source, 0)


def pack(items: Sequence[Rendered]) -> list[Packed]:
    """Merge each conversation's examples into as few sequences as their tokens allow."""
    by_record: dict[str, list[Rendered]] = {}
    for item in items:
        by_record.setdefault(_conversation(item.source)[0], []).append(item)
    out: list[Packed] = []
    for group in by_record.values():
        group.sort(key=lambda i: _conversation(i.source)[1])
        current: Packed | None = None
        for item in group:
            span = (item.offset, len(item.tokens))
            if current is not None and item.tokens[:len(current.tokens)] == current.tokens:
                current.tokens = list(item.tokens)
                current.spans.append(span)
                current.sources.append(item.source)
            else:
                if current is not None:
                    out.append(current)
                current = Packed(list(item.tokens), [span], [item.source])
        if current is not None:
            out.append(current)
    return out


def shared_prefix(seqs: Sequence[Packed]) -> int:
    """The number of leading tokens every sequence has in common, ending before any target."""
    if not seqs:
        return 0
    first = seqs[0].tokens
    n = min(len(s.tokens) for s in seqs)
    for s in seqs[1:]:
        i = 0
        while i < n and s.tokens[i] == first[i]:
            i += 1
        n = i
    earliest = min(a for s in seqs for a, _ in s.spans)
    return max(0, min(n, earliest - 1))


def make_batches(seqs: Sequence[Packed], batch_size: int) -> list[list[int]]:
    """Indices of the sequences per batch: similar lengths together, as mlx-lm batches them."""
    order = sorted(range(len(seqs)), key=lambda i: len(seqs[i].tokens))
    return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]


def target_arrays(seqs: Sequence[Packed], indices: Sequence[int], prefix: int):
    """(positions, targets, weights), each [B, T]: where in the rows' own tokens (after the shared
    prefix) each target token is predicted, the token, and 1 (0 for padding)."""
    import numpy as np

    chosen = [seqs[i] for i in indices]
    n_targets = max(s.target_tokens for s in chosen)
    positions = np.zeros((len(chosen), n_targets), np.int32)
    targets = np.zeros((len(chosen), n_targets), np.int32)
    weights = np.zeros((len(chosen), n_targets), np.float32)
    for row, s in enumerate(chosen):
        col = 0
        for a, b in s.spans:
            for t in range(a, b):  # token t is predicted at sequence position t - 1
                positions[row, col] = t - 1 - prefix
                targets[row, col] = s.tokens[t]
                weights[row, col] = 1.0
                col += 1
    return positions, targets, weights


def token_batch(seqs: Sequence[Packed], indices: Sequence[int], prefix: int):
    """(prefix tokens [1, P], the rows' own input tokens [B, S], positions, targets, weights)."""
    import mlx.core as mx
    import numpy as np

    chosen = [seqs[i] for i in indices]
    inputs = np.zeros((len(chosen), max(len(s.tokens) for s in chosen) - 1 - prefix), np.int32)
    for row, s in enumerate(chosen):
        own = s.tokens[prefix:-1]
        inputs[row, :len(own)] = own
    head = np.array([seqs[indices[0]].tokens[:prefix]], np.int32)
    return (mx.array(head), mx.array(inputs), *(mx.array(a) for a in target_arrays(seqs, indices, prefix)))


def hidden_batch(prepared: "Prepared", seqs: Sequence[Packed], indices: Sequence[int], prefix: int):
    """(prefix hidden states [1, P, D], the rows' hidden states [B, S, D], positions, targets, weights):
    what enters the first trained block, computed once by `prepare`."""
    import mlx.core as mx

    rows = [prepared.rows[i] for i in indices]
    width = max(r.shape[1] for r in rows)
    padded = [r if r.shape[1] == width else mx.pad(r, [(0, 0), (0, width - r.shape[1]), (0, 0)]) for r in rows]
    return (prepared.prefix, mx.concatenate(padded, axis=0),
            *(mx.array(a) for a in target_arrays(seqs, indices, prefix)))


def iterate_packed(prefix: int, seed: int, prepared: "Prepared | None" = None):
    """An `iterate_batches` for mlx-lm's trainer over packed sequences (a list of Packed)."""
    import numpy as np

    def iterate(dataset, batch_size, max_seq_length, loop=False, comm_group=None):
        batches = make_batches(dataset, min(batch_size, len(dataset)))
        rng = np.random.default_rng(seed)
        while True:
            for i in rng.permutation(len(batches)):
                if prepared is not None:
                    yield hidden_batch(prepared, dataset, batches[i], prefix)
                else:
                    yield token_batch(dataset, batches[i], prefix)
            if not loop:
                break

    return iterate


# -- the model pass -----------------------------------------------------------------------------

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


@dataclass
class Prepared:
    """The hidden states that enter the first trained block: the shared prefix's, and each
    sequence's own. The blocks below it are frozen, so these never change during training."""

    first: int  # index of the first trained block
    prefix: Any  # [1, P, D]
    rows: list[Any]  # [1, S_i, D] per sequence


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
def _numpy_attention_in(layers, grad: bool = False):
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


def prepare(model, seqs: Sequence[Packed], prefix: int, first: int,
            progress: Callable[[int, int], None] | None = None,
            cancel: threading.Event | None = None, fast_attention: bool = True) -> Prepared:
    """Run the frozen blocks below `first` once over every sequence (the prefix once for all)."""
    inner = model.model
    with _numpy_attention_in(inner.layers[:first]) if fast_attention else _nothing():
        return _prepare(model, seqs, prefix, first, progress, cancel)


@contextmanager
def _nothing():
    yield


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


# -- training -----------------------------------------------------------------------------------

class _QuietUI:
    """Stands in for mlx-lm's Rich progress display: progress goes through our callback."""

    def __init__(self, *_, **__):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def advance(self):
        pass

    def report_train(self, *_):
        pass

    def report_val(self, *_):
        pass

    def report_save(self, *_):
        pass

    @contextmanager
    def val_task(self, total):
        yield lambda: None


@contextmanager
def _quiet_trainer():
    from mlx_lm.tuner import trainer

    saved = trainer.TrainUI
    trainer.TrainUI = _QuietUI
    try:
        yield trainer
    finally:
        trainer.TrainUI = saved


class _Cancelled(Exception):
    pass


def _schedule(settings: TuneSettings):
    from mlx_lm.tuner.utils import build_schedule

    warmup = min(settings.warmup, max(0, settings.steps - 1))
    decay = max(1, settings.steps - warmup)
    return build_schedule({"name": "cosine_decay", "arguments": [settings.learning_rate, decay,
                                                                 settings.learning_rate * 0.1],
                           "warmup": warmup})


def adapter_config(settings: TuneSettings, base_path: str) -> dict[str, Any]:
    """mlx-lm's adapter_config.json (what `load_adapters` reads), plus the settings used."""
    return {"fine_tune_type": "lora", "num_layers": settings.layers, "lora_parameters": settings.lora_parameters(),
            "model": base_path, "mlxagent": asdict(settings)}


def train_lora(model, data: Sequence[Rendered], out_dir: Path, settings: TuneSettings,
               progress: Callable[[Progress], None] | None = None,
               cancel: threading.Event | None = None) -> TrainResult:
    """Train LoRA layers into `model` (changed in place) on `data`; the adapter goes to out_dir.

    Ctrl-C (KeyboardInterrupt) or `cancel` stops after the current step: the adapter of the
    last checkpoint (every `save_every` steps) stays, and TrainResult says which step it is.
    For a model `layered` says is a plain stack of blocks, the frozen blocks below the trained
    ones run once per sequence first (`prepare`); training then runs the trained blocks only."""
    import mlx.core as mx
    import mlx.optimizers as optim
    from mlx_lm.tuner.trainer import TrainingArgs
    from mlx_lm.tuner.utils import linear_to_lora_layers

    if not data:
        raise TrainingError("no training examples")
    if settings.steps < 1:
        raise TrainingError("--steps must be at least 1")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    seqs = pack(data)
    prefix = shared_prefix(seqs)
    result = TrainResult(0, 0, math.nan, 0.0, 0)
    started = time.perf_counter()
    n_trained = min(settings.layers, len(model.layers))
    prepared = None
    if layered(model) and n_trained < len(model.layers):
        def preparing(done: int, total: int) -> None:
            if progress:
                progress(Progress("preparing", done, total, math.nan, 0.0, time.perf_counter() - started))

        try:
            prepared = prepare(model, seqs, prefix, len(model.layers) - n_trained, preparing, cancel,
                               fast_attention=settings.numpy_attention)
        except KeyboardInterrupt:
            result.cancelled = True
            result.seconds = time.perf_counter() - started
            return result
    result.prepare_seconds = time.perf_counter() - started
    mx.random.seed(settings.seed)
    model.freeze()
    linear_to_lora_layers(model, n_trained, settings.lora_parameters())
    optimizer = optim.Adam(learning_rate=_schedule(settings))
    adapter_file = out_dir / "adapters.safetensors"
    args = TrainingArgs(batch_size=settings.batch_size, iters=settings.steps, val_batches=0,
                        steps_per_report=1, steps_per_eval=settings.steps + 1,
                        steps_per_save=max(1, settings.save_every), max_seq_length=settings.max_seq_length,
                        adapter_file=str(adapter_file))
    training_started = time.perf_counter()

    from mlx_lm.tuner.callbacks import TrainingCallback

    class Callback(TrainingCallback):
        def on_train_loss_report(self, info: dict) -> None:
            result.steps = int(info["iteration"])
            result.trained_tokens = int(info["trained_tokens"])
            result.losses.append(float(info["train_loss"]))
            if progress:
                progress(Progress("training", result.steps, settings.steps, float(info["train_loss"]),
                                  float(info["tokens_per_second"]), time.perf_counter() - training_started))
            if cancel is not None and cancel.is_set():
                raise _Cancelled

    fast = _numpy_attention_in(model.layers[prepared.first:], grad=True) if prepared and settings.numpy_attention \
        else _nothing()
    try:
        with _quiet_trainer() as trainer, fast:
            trainer.train(model, optimizer, seqs, None, args, loss=make_loss(model, prefix, prepared),
                          iterate_batches=iterate_packed(prefix, settings.seed, prepared),
                          training_callback=Callback())
        result.saved_step = result.steps
    except (KeyboardInterrupt, _Cancelled):
        result.cancelled = True
        adapter_file.unlink(missing_ok=True)  # it may be half written; the numbered checkpoints say what was saved
        last = _last_checkpoint(out_dir)
        result.saved_step = last[0] if last else 0
        if last:
            last[1].replace(adapter_file)
    finally:
        for checkpoint in out_dir.glob("*_adapters.safetensors"):
            checkpoint.unlink(missing_ok=True)
    result.seconds = time.perf_counter() - started
    window = result.losses[-10:]
    result.loss = sum(window) / len(window) if window else math.nan
    return result


def _last_checkpoint(out_dir: Path) -> tuple[int, Path] | None:
    """The newest checkpoint mlx-lm wrote ("0000020_adapters.safetensors") that reads back whole."""
    import mlx.core as mx

    for path in sorted(out_dir.glob("*_adapters.safetensors"), reverse=True):
        try:
            mx.load(str(path))
        except Exception:  # noqa: BLE001 - cut short by the interrupt: the one before
            continue
        return int(path.name.split("_", 1)[0]), path
    return None


def write_json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2) + "\n")


def describe_data(data: Sequence[Rendered]) -> dict[str, Any]:
    seqs = pack(data)
    lengths = sorted(len(s.tokens) for s in seqs)
    return {"examples": len(data), "sequences": len(seqs), "shared_prefix": shared_prefix(seqs),
            "tokens": sum(lengths), "target_tokens": sum(s.target_tokens for s in seqs),
            "longest": lengths[-1] if lengths else 0, "median": lengths[len(lengths) // 2] if lengths else 0}
