"""Load, hold and unload one MLX model at a time.

One `ModelRuntime` owns the current model. Loading a new one drops the old one
first and clears MLX's buffer cache, so memory is released before the next
model's weights arrive (measured with `mx.get_active_memory()` in the tests).
"""

from __future__ import annotations

import gc
import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..errors import ModelError
from . import adapters
from .gguf_import import ProgressFn

# On the CPU backend, MLX's own quantised kernels are scalar on x86. Where mlxagent's native kernel
# (model/qkernel) is built, quantised models keep their 4/8-bit weights and run on it (decode 3.8x
# the float32 path with its rope and attention, a fifth of the memory; BENCHMARKS.md). Without it, with OpenBLAS, f32
# matmuls are far faster than MLX's scalar kernels (prefill ~30x, decode ~2.4x measured on
# SmolLM2-135M), so models whose f32 weights stay under this size are kept dequantised there.
DEQUANTIZE_MAX_BYTES = 2 * 1024**3


@dataclass
class LoadedModel:
    name: str
    path: Path
    model: Any  # mlx.nn.Module
    tokenizer: Any  # mlx_lm TokenizerWrapper
    config: dict[str, Any]
    dequantized: bool = False
    # Layers computed by the native quantised kernel (model/qkernel); 0 where MLX's own ops run.
    native_layers: int = 0
    context_length: int = 4096
    info: dict[str, Any] = field(default_factory=dict)
    # Decode several tokens per forward pass (model/speculative.py); the `speculative` setting.
    speculative: bool = True

    @property
    def vocab_size(self) -> int:
        return int(self.config.get("vocab_size") or self.tokenizer.vocab_size)


def _context_length(config: dict[str, Any], tokenizer: Any) -> int:
    return context_length_of(config, getattr(tokenizer, "model_max_length", None))


def context_length_of(config: dict[str, Any], model_max_length: Any = None) -> int:
    """The context a model's config.json gives (else its tokenizer's limit, else 4096)."""
    for key in ("max_position_embeddings", "max_seq_len", "n_positions", "seq_length"):
        if isinstance(config.get(key), int) and config[key] > 0:
            return config[key]
    return int(model_max_length or 4096)


def should_dequantize(config: dict[str, Any], model: Any) -> bool:
    """Keep weights dequantised on the CPU backend when OpenBLAS is there, the model is small and
    the native kernel cannot compute most of its quantised layers."""
    from . import qkernel
    from .backend import backend_name, loaded_openblas

    quant = config.get("quantization")
    if not quant or backend_name() != "CPU" or loaded_openblas() is None:
        return False
    if qkernel.status().fast and qkernel.covers(model):
        return False
    import mlx.core as mx
    from mlx.utils import tree_flatten

    values = 0
    bits = int(quant.get("bits", 4))
    for _, p in tree_flatten(model.parameters()):
        # packed quantised weights are uint32 holding 32/bits values each
        values += p.size * (32 // bits) if p.dtype == mx.uint32 else p.size
    return values * 4 <= DEQUANTIZE_MAX_BYTES


class ModelRuntime:
    """Holds the current model; thread-safe load/unload."""

    def __init__(self, speculative: bool = True) -> None:
        self._lock = threading.RLock()
        self.current: LoadedModel | None = None
        self.speculative = speculative  # given to each model loaded (LoadedModel.speculative)

    def load(
        self,
        spec: str,
        progress: ProgressFn | None = None,
        cancel: Callable[[], bool] | None = None,
        aliases: dict[str, str] | None = None,
        dequantize: bool | None = None,
    ) -> LoadedModel:
        from .catalog import resolve

        path, name = resolve(spec, progress, cancel, aliases)  # download/import before dropping the old model
        with self._lock:
            self.unload()
            if progress:
                progress("loading model", 0.0)
            self.current = load_model_dir(path, name, dequantize=dequantize)
            self.current.speculative = self.speculative
            if progress:
                progress("loaded", 1.0)
            return self.current

    def unload(self) -> None:
        import mlx.core as mx

        with self._lock:
            self.current = None
            gc.collect()
            mx.clear_cache()


def load_model_dir(path: Path, name: str | None = None, dequantize: bool | None = None,
                   native: bool | None = None) -> LoadedModel:
    """`dequantize`: None lets the runtime choose (should_dequantize). `native`: None uses the
    native kernels where they are built (the products where the weights stay quantised, rope and
    decode attention on any CPU model); False keeps MLX's own ops for this model's layers (an
    architecture's attention helper, once wrapped in this process, stays wrapped: it hands every
    case it does not cover, and every device but the CPU, to MLX's own)."""
    import mlx.core as mx
    from mlx_lm.utils import load as mlx_load

    if adapters.is_adapter_dir(path):  # MODEL+NAME: the base model, then its tuned adapter on top
        return _load_adapted(path, name, dequantize=dequantize, native=native)
    try:
        config = json.loads((path / "config.json").read_text())
    except (OSError, ValueError) as e:
        raise ModelError(f"{path}: unreadable config.json ({e})") from None
    try:
        model, tokenizer = mlx_load(str(path))
    except Exception as e:  # noqa: BLE001 - mlx-lm raises many kinds; the user needs one line
        raise ModelError(f"{path.name}: could not load the model ({type(e).__name__}: {str(e)[:200]})") from None
    if dequantize is None:
        dequantize = should_dequantize(config, model)
    if dequantize and config.get("quantization"):
        from mlx_lm.utils import dequantize_model

        model = dequantize_model(model)
        model.set_dtype(mx.float32)
        mx.eval(model.parameters())
        gc.collect()
        mx.clear_cache()
    native_layers = 0
    if native is not False:
        from . import qkernel

        if not dequantize and config.get("quantization"):
            native_layers = qkernel.install(model)
            if native_layers:
                qkernel.install_mlp(model)
        qkernel.install_attention(model)
        if native_layers:
            qkernel.install_layers(model)
    return LoadedModel(
        name=name or path.name,
        path=path,
        model=model,
        tokenizer=tokenizer,
        config=config,
        dequantized=bool(dequantize and config.get("quantization")),
        native_layers=native_layers,
        context_length=_context_length(config, tokenizer),
    )


def _load_adapted(path: Path, name: str | None = None, dequantize: bool | None = None,
                  native: bool | None = None) -> LoadedModel:
    """The base model with the adapter at `path` (model/adapters.py) applied."""
    from .catalog import resolve

    path = Path(path)
    meta = adapters.read_meta(path)
    base = str(meta["base"])
    try:
        base_dir, _ = resolve(base)
    except ModelError:
        recorded = Path(str(meta.get("base_path", "")))
        if not (recorded / "config.json").is_file():
            raise ModelError(f"{adapters.spec_for(base, meta['name'])}: its base model {base!r} is not installed") from None
        base_dir = recorded
    loaded = load_model_dir(base_dir, name or adapters.spec_for(base, meta["name"]), dequantize=dequantize,
                            native=native)
    dense = loaded.dequantized or not loaded.config.get("quantization")
    adapters.apply(loaded.model, path, fuse=dense)
    loaded.info["adapter"] = str(path)
    loaded.info["base"] = base
    return loaded
