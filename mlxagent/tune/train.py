"""LoRA training with mlx-lm's tuner (`mlx_lm.tuner.trainer.train`) on the rendered examples.

The loop, the optimizer step, checkpointing and the loss reports are mlx-lm's. What is ours is
how a batch is fed, because on a small CPU the attention over ~2,000-token prompts is nearly
all of the cost, and most of those tokens are the same in every example: packing.py packs each
conversation's examples into sequences and batches them, forward.py runs the shared prefix once
per batch (and the frozen blocks once in all), attention.py is attention through numpy on the
CPU. This module is the training run: settings, progress, the trainer, checkpoints.

The adapter is saved in mlx-lm's format (adapter_config.json + adapters.safetensors) so that
`mlx_lm.tuner.utils.load_adapters` reads it too.
"""

from __future__ import annotations

import json
import math
import threading
import time
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from ..errors import MlxAgentError
from .dataset import Rendered

from .attention import numpy_attention_in
from .forward import layered, make_loss, prepare
from .packing import iterate_packed, pack, shared_prefix


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
    numpy_attention: bool = True  # on the CPU backend: attention through numpy (attention.numpy_attention)

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

    fast = numpy_attention_in(model.layers[prepared.first:], grad=True) if prepared and settings.numpy_attention \
        else nullcontext()
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
