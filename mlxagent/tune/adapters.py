"""Saving tuned adapters to the model store: `MODEL+NAME` (e.g. `smollm2-135m+mine`).

Each lives in `paths.models_dir()/adapters/MODEL+NAME/`: mlx-lm's adapter_config.json and
adapters.safetensors (so `mlx_lm.generate --adapter-path` reads it too), and tune.json, what
mlxagent knows of it (base model, dataset size, steps, loss, date).

Finding, listing and loading adapters is the model layer's (model/adapters.py). Nothing here
imports mlx-lm's tuner (it loads Rich).
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

from ..model.adapters import META, AdapterInfo, check_name, root, spec_for


def _dir_name(spec: str) -> str:
    """A folder name for a spec (a base given as owner/name has a slash)."""
    return spec.replace("/", "--")


def path_for(base: str, name: str) -> Path:
    return root() / _dir_name(spec_for(base, check_name(name)))


def write_meta(path: Path, meta: dict[str, Any]) -> None:
    (Path(path) / META).write_text(json.dumps(meta, indent=2) + "\n")


def install(staging: Path, base: str, name: str, meta: dict[str, Any]) -> AdapterInfo:
    """Move a finished adapter (staging holds adapter_config.json and adapters.safetensors) to
    its place in the store, replacing an older one of the same name."""
    dest = path_for(base, name)
    meta = {**meta, "base": base, "name": name, "created": meta.get("created", time.time())}
    write_meta(staging, meta)
    dest.parent.mkdir(parents=True, exist_ok=True)
    old = dest.with_name(f".old-{dest.name}")
    if dest.exists():
        shutil.rmtree(old, ignore_errors=True)
        dest.replace(old)
    Path(staging).replace(dest)
    shutil.rmtree(old, ignore_errors=True)
    from ..model import registry

    registry.unhide(dest)  # tuned again after `mlxagent models remove`: listed again
    return AdapterInfo(spec_for(base, name), base, dest, meta)
