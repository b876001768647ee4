"""Tuned adapters in the model store: `MODEL+NAME` (e.g. `smollm2-135m+mine`): finding,
listing, recognising and loading them.

Each lives in `paths.models_dir()/adapters/MODEL+NAME/`: mlx-lm's adapter_config.json and
adapters.safetensors (so `mlx_lm.generate --adapter-path` reads it too), and tune.json, what
mlxagent knows of it (base model, dataset size, steps, loss, date). Making and saving one is
`mlxagent tune`'s (tune/adapters.py); reading one back is the runtime's, here.

Loading one loads the base model as usual, then adds the LoRA update to each adapted
projection. On a dense base (an f32/f16 model, or a small quantised one the runtime keeps
dequantised) the update is fused into the weights: the model is as fast as the base. On a
quantised base it is kept beside the quantised layer, since re-quantising would round most of
a small update away. Nothing here imports mlx-lm's tuner (it loads Rich), so loading an adapter
costs nothing beyond the base model.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import paths
from ..errors import ModelError

META = "tune.json"
WEIGHTS = "adapters.safetensors"
CONFIG = "adapter_config.json"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def root() -> Path:
    return paths.models_dir() / "adapters"


def check_name(name: str) -> str:
    if not _NAME.match(name or ""):
        raise ModelError(f"Adapter name {name!r}: use letters, digits, '.', '_' or '-' (up to 64, no '+')")
    return name


def spec_for(base: str, name: str) -> str:
    return f"{base}+{name}"


def split_spec(spec: str) -> tuple[str, str] | None:
    """("smollm2-135m", "mine") for "smollm2-135m+mine"; None when `spec` names no adapter."""
    base, plus, name = spec.rpartition("+")
    if not plus or not base or not _NAME.match(name):
        return None
    return base, name


def is_adapter_dir(path: Path) -> bool:
    path = Path(path)
    return (path / META).is_file() and (path / WEIGHTS).is_file() and not (path / "config.json").is_file()


@dataclass(frozen=True)
class AdapterInfo:
    name: str   # MODEL+NAME
    base: str   # the base model's spec
    path: Path
    meta: dict[str, Any]

    @property
    def size_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.path.iterdir() if p.is_file())


def read_meta(path: Path) -> dict[str, Any]:
    try:
        data = json.loads((Path(path) / META).read_text())
    except (OSError, ValueError) as exc:
        raise ModelError(f"{path}: unreadable {META} ({exc})") from None
    if not isinstance(data, dict) or not data.get("base") or not data.get("name"):
        raise ModelError(f"{path}: {META} does not name its base model")
    return data


def list_adapters() -> list[AdapterInfo]:
    out = []
    folder = root()
    if not folder.is_dir():
        return out
    for d in sorted(folder.iterdir()):
        if d.name.startswith(".") or not is_adapter_dir(d):
            continue
        try:
            meta = read_meta(d)
        except ModelError:
            continue
        out.append(AdapterInfo(spec_for(meta["base"], meta["name"]), meta["base"], d, meta))
    return out


def find(spec: str) -> AdapterInfo | None:
    return next((a for a in list_adapters() if a.name == spec), None)


# -- applying ------------------------------------------------------------------------------------

def _lora_config(path: Path) -> tuple[float, dict[str, Any]]:
    try:
        config = json.loads((Path(path) / CONFIG).read_text())
    except (OSError, ValueError) as exc:
        raise ModelError(f"{path}: unreadable {CONFIG} ({exc})") from None
    if config.get("fine_tune_type", "lora") != "lora":
        raise ModelError(f"{path}: only LoRA adapters load here (this one is {config.get('fine_tune_type')!r})")
    params = config.get("lora_parameters") or {}
    return float(params.get("scale", 20.0)), config


def _pairs(weights: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """module path -> (lora_a, lora_b)."""
    out: dict[str, tuple[Any, Any]] = {}
    for key in weights:
        if key.endswith(".lora_a"):
            module = key[: -len(".lora_a")]
            b = weights.get(module + ".lora_b")
            if b is None:
                raise ModelError(f"adapter weight {module}.lora_b is missing")
            out[module] = (weights[key], b)
    if not out or len(out) * 2 != len(weights):
        raise ModelError("the adapter holds weights other than LoRA pairs")
    return out


def _get(model: Any, dotted: str) -> Any:
    obj = model
    for part in dotted.split("."):
        obj = obj[int(part)] if part.isdigit() else getattr(obj, part)
    return obj


def _make_lora_layer(base: Any, a: Any, b: Any, scale: float) -> Any:
    import mlx.nn as nn

    class LoRAOver(nn.Module):
        """base(x) + scale * (x @ a) @ b, the base layer left as it is (a quantised one)."""

        def __init__(self):
            super().__init__()
            self.base = base
            self.lora_a = a
            self.lora_b = b
            self.scale = scale
            self.freeze()

        def __call__(self, x):
            y = self.base(x)
            return y + (self.scale * ((x @ self.lora_a) @ self.lora_b)).astype(y.dtype)

    return LoRAOver()


def apply(model: Any, path: Path, fuse: bool = True) -> int:
    """Add the adapter at `path` to `model`; returns the number of layers changed. `fuse`: add the
    update into each adapted nn.Linear's weight (a quantised layer is always kept beside its update)."""
    import mlx.core as mx
    import mlx.nn as nn
    from mlx.utils import tree_unflatten

    scale, _ = _lora_config(path)
    try:
        weights = mx.load(str(Path(path) / WEIGHTS))
    except Exception as exc:  # noqa: BLE001 - a damaged file: one line
        raise ModelError(f"{path}: unreadable {WEIGHTS} ({type(exc).__name__}: {exc})") from None
    replaced = []
    for module, (a, b) in _pairs(weights).items():
        try:
            layer = _get(model, module)
        except (AttributeError, IndexError, TypeError):
            raise ModelError(f"{path}: the adapter does not fit this model (no layer {module})") from None
        if isinstance(layer, nn.Linear) and not isinstance(layer, nn.QuantizedLinear):
            out_dims, in_dims = layer.weight.shape
            if a.shape != (in_dims, a.shape[1]) or b.shape != (a.shape[1], out_dims):
                raise ModelError(f"{path}: the adapter does not fit this model ({module} is {in_dims}->{out_dims})")
            if fuse:
                delta = (scale * b.T.astype(mx.float32)) @ a.T.astype(mx.float32)
                layer.weight = (layer.weight.astype(mx.float32) + delta).astype(layer.weight.dtype)
                continue
        elif not isinstance(layer, nn.QuantizedLinear):
            raise ModelError(f"{path}: {module} is a {type(layer).__name__}, which this loader cannot adapt")
        replaced.append((module, _make_lora_layer(layer, a.astype(mx.float32), b.astype(mx.float32), scale)))
    if replaced:
        model.update_modules(tree_unflatten(replaced))
    mx.eval(model.parameters())
    return len(_pairs(weights))
