"""Recommended models, installed-model discovery, and turning a model spec into a local directory.

A spec is one of: a catalogue name, a local MLX model directory, a `.gguf` file,
a Hugging Face repo id (`owner/name`), or a tuned adapter (`MODEL+NAME`, from `mlxagent tune`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

from .. import paths
from ..errors import ModelError
from . import adapters, default_model, hub, registry
from . import stores as store_lookup
from .gguf_import import MANIFEST, ProgressFn, import_gguf


@dataclass(frozen=True)
class CatalogEntry:
    name: str
    repo_id: str | None  # None: the embedded default model
    tool_format: str
    size_gb: float  # weights on disk / in memory, roughly
    context_length: int
    # Ratings 1-5, from our own use and the families' published tool-use results.
    function_calling: int
    loop_resistance: int
    speed: int
    memory: int  # 5 = light
    note: str = ""


CATALOG: tuple[CatalogEntry, ...] = (
    CatalogEntry("smollm2-135m", None, "prompted_hermes", 0.1, 8192, 1, 1, 5, 5,
                 "embedded default; runs anywhere, weak at tools"),
    CatalogEntry("hermes-3-8b", "mlx-community/Hermes-3-Llama-3.1-8B-4bit", "hermes", 4.5, 131072, 4, 4, 4, 4,
                 "recommended default on a Mac"),
    CatalogEntry("llama-3.1-8b", "mlx-community/Meta-Llama-3.1-8B-Instruct-4bit", "llama3_json", 4.5, 131072, 3, 3, 4, 4),
    CatalogEntry("qwen2.5-coder-32b", "mlx-community/Qwen2.5-Coder-32B-Instruct-4bit", "hermes", 18.4, 32768, 5, 4, 2, 2,
                 "best edits; needs 32 GB+"),
    CatalogEntry("mistral-7b-v0.3", "mlx-community/Mistral-7B-Instruct-v0.3-4bit", "mistral", 4.1, 32768, 3, 2, 4, 4),
    CatalogEntry("qwen3-coder-30b-a3b", "mlx-community/Qwen3-Coder-30B-A3B-Instruct-4bit", "qwen3_coder", 17.2, 262144,
                 5, 5, 4, 2, "MoE; 32 GB+; XML calls: forced edits may be no-ops"),
)
DEFAULT_MODEL = default_model.NAME


def catalog_entry(name: str) -> CatalogEntry | None:
    key = name.lower()
    for entry in CATALOG:
        if key in (entry.name, (entry.repo_id or "").lower()):
            return entry
    return None


@dataclass(frozen=True)
class InstalledModel:
    name: str
    path: Path
    source: str  # "mlxagent" (the cache) | "folder" (remembered) | "hf-cache" | "ollama" | "lmstudio"
    size_bytes: int
    quantisation: str
    missing: bool = False  # a remembered folder that is no longer there
    needs_import: bool = False  # a GGUF in another app's store, imported when first chosen
    sha256: str | None = None  # the GGUF's digest, where the store names it
    reachable: bool | None = None  # a remote model (model/remote.py): whether its server answered; None: local


def _dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _quant_label(model_dir: Path) -> str:
    try:
        config = json.loads((model_dir / "config.json").read_text())
    except (OSError, ValueError):
        return "?"
    q = config.get("quantization") or config.get("quantization_config")
    return f"{q.get('bits', '?')}-bit" if isinstance(q, dict) else "16/32-bit"


def _cache_imports() -> list[tuple[Path, dict]]:
    """(directory, manifest) of each finished import in mlxagent's cache."""
    out = []
    root = paths.models_dir()
    if not root.is_dir():
        return out
    for d in sorted(root.iterdir()):
        manifest = d / MANIFEST
        # `.import-*`: an import still running, or one killed before its final rename.
        if d.name.startswith(".") or not manifest.is_file():
            continue
        try:
            data = json.loads(manifest.read_text())
        except (OSError, ValueError):
            data = {}
        out.append((d, data if isinstance(data, dict) else {}))
    return out


def installed_models(stores: bool = True) -> list[InstalledModel]:
    """Every model that loads without a download: imports in mlxagent's cache (the default
    model among them), remembered folders, MLX repos in the HF cache, and (with `stores`)
    the GGUFs of Ollama's and LM Studio's stores. Names are unique; the ones the user took
    off the list (`registry.forget`) are left out."""
    hidden = registry.hidden_paths()
    found: list[InstalledModel] = []
    imports = _cache_imports()
    by_source = {str(m.get("source")): d for d, m in imports if m.get("source") and not m.get("dequantised")}
    by_digest = {str(m.get("sha256")): d for d, m in imports if m.get("sha256") and not m.get("dequantised")}
    claimed: set[Path] = set()
    discovered: list[InstalledModel] = []
    if stores:
        for sm in store_lookup.discover(*store_lookup.configured_roots()):
            done = by_digest.get(sm.sha256 or "") or by_source.get(str(sm.path))
            if done is not None:
                claimed.add(done)
                discovered.append(InstalledModel(sm.name, done, sm.store, _dir_size(done), _quant_label(done)))
            else:
                discovered.append(InstalledModel(sm.name, sm.path, sm.store, sm.size_bytes,
                                                 store_lookup.gguf_quantisation(sm.path), needs_import=True,
                                                 sha256=sm.sha256))
    remembered = registry.remembered()
    renamed = {r.path.resolve(): r.name for r in remembered}  # names the user gave to imports
    for d, manifest in imports:
        if d in claimed:
            continue
        name = str(manifest.get("name") or d.name)
        if d == default_model.model_dir():
            name = default_model.NAME
        name = renamed.pop(d.resolve(), name)
        found.append(InstalledModel(name, d, "mlxagent", _dir_size(d), _quant_label(d)))
    for r in remembered:
        if r.path.resolve() not in renamed:
            continue  # an import in the cache, listed above under this name
        present = (r.path / "config.json").is_file()
        found.append(InstalledModel(r.name, r.path, "folder", _dir_size(r.path) if present else 0,
                                    _quant_label(r.path) if present else "?", missing=not present))
    found.extend(_hf_cache_models())
    found.extend(discovered)
    found.extend(_adapters())
    listed, names = [], set()
    for m in found:
        if str(m.path.resolve()) in hidden:
            continue
        name, n = m.name, 2
        while name in names:
            name, n = f"{m.name}-{n}", n + 1
        names.add(name)
        listed.append(m if name == m.name else replace(m, name=name))
    return listed


def _adapters() -> list[InstalledModel]:
    """Tuned adapters (`mlxagent tune`), listed as MODEL+NAME; the size is the adapter's own."""
    return [InstalledModel(a.name, a.path, "tuned", a.size_bytes, "LoRA") for a in adapters.list_adapters()]


def _hf_cache_models() -> list[InstalledModel]:
    try:
        from huggingface_hub import scan_cache_dir

        info = scan_cache_dir()
    except Exception:  # noqa: BLE001 - no cache yet, or unreadable: nothing installed there
        return []
    out = []
    for repo in info.repos:
        if repo.repo_type != "model":
            continue
        for rev in repo.revisions:
            snap = Path(rev.snapshot_path)
            if (snap / "config.json").is_file() and any(snap.glob("*.safetensors")) and _shards_complete(snap):
                out.append(InstalledModel(repo.repo_id, snap, "hf-cache", repo.size_on_disk, _quant_label(snap)))
                break
    return out


def _shards_complete(snap: Path) -> bool:
    """A sharded snapshot counts only when every shard its index names is there (a download
    stopped half-way has the index and some shards)."""
    index = snap / "model.safetensors.index.json"
    if not index.exists():
        return True
    try:
        shards = set(json.loads(index.read_text()).get("weight_map", {}).values())
    except (OSError, ValueError, AttributeError):
        return False
    return all((snap / name).is_file() for name in shards)


def remember_folder(path: Path, name: str | None = None) -> str:
    """Remember the MLX folder `path` (see registry.py) and return its name in the list."""
    resolved = path.expanduser().resolve()
    others = [m for m in installed_models(stores=False) if m.source != "folder"]
    for m in others:
        if m.path.resolve() == resolved and (not name or name == m.name):  # listed already (an import)
            registry.unhide(resolved)
            return m.name
    return registry.remember(path, name, {m.name for m in others if m.path.resolve() != resolved})


def _ready(model: InstalledModel, progress: ProgressFn | None, cancel: Callable[[], bool] | None) -> Path:
    """The MLX directory of a listed model, importing a store's GGUF on first use."""
    if model.missing:
        raise ModelError(f"{model.name}: its folder {model.path} is gone (remove it from the list, or put it back)")
    if model.needs_import:
        return import_gguf(model.path, name=model.name, progress=progress, cancel=cancel, sha256=model.sha256)
    return model.path


def _no_tuned(spec: str) -> None:
    """Raise the one line for a MODEL+NAME that is not in the list."""
    found = adapters.find(spec)
    if found is not None:  # it is there, but the user took it off the list
        raise ModelError(f"{spec} was taken off the list (`mlxagent models remove`); run `mlxagent tune` to make it again")
    names = ", ".join(a.name for a in adapters.list_adapters()) or "none yet; make one with `mlxagent tune`"
    raise ModelError(f"No tuned model '{spec}' (tuned models: {names})")


def resolve(
    spec: str,
    progress: ProgressFn | None = None,
    cancel: Callable[[], bool] | None = None,
    aliases: dict[str, str] | None = None,
) -> tuple[Path, str]:
    """Turn a spec into (local MLX model directory, display name), downloading or importing if needed."""
    spec = spec.strip()
    if not spec:
        raise ModelError("No model given")
    if aliases and spec in aliases:
        return resolve(aliases[spec], progress, cancel)[0], spec
    if spec.lower() in (DEFAULT_MODEL, "default"):
        return default_model.ensure(progress=progress, cancel=cancel), DEFAULT_MODEL
    path = Path(spec).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ModelError(f"{path}: not an MLX model directory (no config.json)")
        return path, remember_folder(path)
    if path.is_file():
        if path.suffix.lower() != ".gguf":
            raise ModelError(f"{path}: not a model (expected a .gguf file or an MLX model directory)")
        dest = import_gguf(path, progress=progress, cancel=cancel)
        registry.unhide(dest)
        return dest, path.stem
    if entry := catalog_entry(spec):
        return hub.download(entry.repo_id, progress, cancel), entry.name
    for model in installed_models():
        if model.name == spec:
            return _ready(model, progress, cancel), spec
    if "+" in spec:
        _no_tuned(spec)
    if hub.is_repo_id(spec):
        return hub.download(spec, progress, cancel), spec
    if spec.endswith(".gguf") or "/" in spec or spec.startswith((".", "~")):
        raise ModelError(f"{spec}: no such file or directory")
    names = ", ".join(e.name for e in CATALOG)
    raise ModelError(f"Unknown model '{spec}' (catalogue: {names}; or give a directory, a .gguf, or owner/name)")
