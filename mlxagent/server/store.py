"""The model store over HTTP: which names a chat request may use, and what an install does.

A name is an alias (from `[aliases]` in the settings, or given to an install), the default
model, a catalogue name, an installed model's name, or a hub id already in the Hugging
Face cache. A chat request never downloads: a model that is not installed is a 404 that
says how to install it. Installs accept a catalogue name, a hub id, or the absolute path
of a `.gguf` file or MLX model directory; anything else (relative paths, `..`, files of
another kind) is refused before any work starts.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ..errors import MlxAgentError
from ..model import catalog, default_model, hub
from ..model.card import model_card
from ..model.gguf_header import GGUF_MAGIC
from ..model.gguf_import import MANIFEST, ProgressFn
from .schemas import ApiError

DEFAULT_NAMES = ("default", default_model.NAME)


@dataclass(frozen=True)
class ModelTarget:
    """A model a request can run on, resolved to something local."""

    name: str  # what the client asked for (shown back as `model`)
    spec: str  # what the provider loads: a local MLX directory (or a .gguf an alias names)
    key: str  # identity: requests with the same key share the loaded model
    describe: str = ""  # names to recognise the model family by (tool format, guard thresholds)


@dataclass(frozen=True)
class InstallPlan:
    kind: str  # "default" | "hub" | "gguf" | "dir"
    source: str  # the repo id or the absolute path
    display: str  # the model's own name


def _manifest_name(path: Path) -> str:
    try:
        return str(json.loads((path / MANIFEST).read_text()).get("name") or "")
    except (OSError, ValueError):
        return ""


def _has_path_tricks(text: str) -> bool:
    parts = text.replace("\\", "/").split("/")
    return ".." in parts or "\0" in text


def _looks_like_path(text: str) -> bool:
    return text.startswith(("/", "~", ".", "\\")) or "\\" in text or text.lower().endswith(".gguf") \
        or (len(text) > 2 and text[1] == ":" and text[2] in "/\\")


class ModelStore:
    def __init__(self, aliases: dict[str, str] | None = None, config_path: Path | None = None,
                 persist: bool = True) -> None:
        self.aliases = dict(aliases or {})
        self.config_path = config_path
        self.persist = persist
        self._lock = threading.Lock()

    # ---------------------------------------------------------------- lookup
    def lookup(self, name: str) -> ModelTarget:
        """The local model for a chat request's `model`; 404 when it is not installed."""
        with self._lock:
            alias = self.aliases.get(name)
        if alias is not None:
            target = self._local(alias)
            if target is None:
                raise ApiError(404, f"The model '{name}' is an alias of '{alias}', which is not installed. "
                                    "Install it with POST /v1/models/install.", param="model", code="model_not_found")
            spec, describe = target
            return ModelTarget(name, spec, spec, f"{name} {alias} {describe}")
        target = self._local(name)
        if target is None:
            raise ApiError(404, f"The model '{name}' does not exist or is not installed. Installed: "
                                f"{', '.join(self.names()) or 'none'}. Install a model with POST /v1/models/install "
                                "{\"model_id\": ..., \"name\": ...}.", param="model", code="model_not_found")
        spec, describe = target
        return ModelTarget(name, spec, spec, f"{name} {describe}")

    def _local(self, spec: str) -> tuple[str, str] | None:
        """(local spec, names to recognise it by) for a spec that needs no download, else None."""
        if spec.lower() in DEFAULT_NAMES:
            if default_model.is_installed():
                return str(default_model.model_dir()), default_model.NAME
            return None
        if _looks_like_path(spec):
            path = Path(spec).expanduser()
            if not path.is_absolute() or _has_path_tricks(spec):
                return None
            if path.is_dir() and (path / "config.json").is_file():
                return str(path), f"{path.name} {_manifest_name(path)}"
            if path.is_file() and path.suffix.lower() == ".gguf":
                return str(path), path.stem
            return None
        if entry := catalog.catalog_entry(spec):
            snapshot = hub.cached_snapshot(entry.repo_id) if entry.repo_id else None
            return (str(snapshot), f"{entry.name} {entry.repo_id}") if snapshot else None
        for model in catalog.installed_models():
            if model.name == spec:
                return str(model.path), f"{model.name} {_manifest_name(model.path)}"
        if hub.is_repo_id(spec) and (snapshot := hub.cached_snapshot(spec)) is not None:
            return str(snapshot), spec
        return None

    def names(self) -> list[str]:
        with self._lock:
            aliases = list(self.aliases)
        return aliases + [m.name for m in catalog.installed_models()]

    def list_models(self) -> list[dict[str, Any]]:
        """Installed models with their aliases, then each alias as a usable id."""
        with self._lock:
            aliases = dict(self.aliases)
        installed = catalog.installed_models()
        by_path = {str(m.path): m for m in installed}
        alias_of: dict[str, list[str]] = {m.name: [] for m in installed}
        alias_rows = []
        for alias, spec in aliases.items():
            if alias in alias_of:
                continue  # listed once, as the installed model of that name
            local = self._local(spec)
            model = by_path.get(local[0]) if local else None
            if model is not None:
                alias_of[model.name].append(alias)
            # No local paths leave the machine: an alias of a path is named by the file or folder.
            target = model.name if model else (Path(spec).name if _looks_like_path(spec) else spec)
            alias_rows.append({"id": alias, "object": "model", "created": 0, "owned_by": "mlxagent",
                               "alias_of": target, "installed": local is not None})
        cards = {m.name: model_card(m.path, m.name) for m in installed}
        for row in alias_rows:
            if row["alias_of"] in cards:
                row["mlxagent"] = dict(cards[row["alias_of"]])
        rows = [{"id": m.name, "object": "model", "created": int(_mtime(m.path)), "owned_by": m.source,
                 "aliases": alias_of[m.name], "size_bytes": m.size_bytes,
                 "quantisation": m.quantisation, "installed": True, "mlxagent": cards[m.name]} for m in installed]
        return rows + alias_rows

    # ---------------------------------------------------------------- installing
    def classify(self, model_id: str, name: str | None) -> InstallPlan:
        """What installing `model_id` means, or a 400 that says why it cannot be installed."""
        if _has_path_tricks(model_id):
            raise ApiError(400, f"'model_id' {model_id!r} contains '..': path tricks are not allowed. Give a hub id "
                                "(owner/name), a catalogue name, or an absolute path.", param="model_id",
                           code="invalid_model_id")
        if model_id.lower() in DEFAULT_NAMES:
            plan = InstallPlan("default", default_model.NAME, default_model.NAME)
        elif _looks_like_path(model_id):
            plan = self._classify_path(model_id)
        elif (entry := catalog.catalog_entry(model_id)) is not None:
            plan = (InstallPlan("default", default_model.NAME, entry.name) if entry.repo_id is None
                    else InstallPlan("hub", entry.repo_id, entry.name))
        elif hub.is_repo_id(model_id):
            plan = InstallPlan("hub", model_id, model_id)
        else:
            names = ", ".join(e.name for e in catalog.CATALOG)
            raise ApiError(400, f"'model_id' {model_id!r} is not a model id: give a hub id (owner/name), a catalogue "
                                f"name ({names}), or the absolute path of a .gguf file or MLX model directory.",
                           param="model_id", code="invalid_model_id")
        if name is not None:
            entry = catalog.catalog_entry(name)
            if entry is None and name.lower() in DEFAULT_NAMES:
                entry = catalog.catalog_entry(default_model.NAME)
            same = entry is not None and (entry.repo_id == plan.source if entry.repo_id else plan.kind == "default")
            if entry is not None and not same:
                raise ApiError(400, f"'name' {name!r} is the catalogue model {entry.name}'s name; choose another "
                                    "alias.", param="name", code="reserved_name")
        return plan

    def _classify_path(self, model_id: str) -> InstallPlan:
        path = Path(model_id).expanduser()
        if not path.is_absolute():
            raise ApiError(400, f"'model_id' {model_id!r} is a relative path: give the absolute path of a .gguf file "
                                "or MLX model directory.", param="model_id", code="invalid_model_id")
        if path.is_dir():
            if not (path / "config.json").is_file():
                raise ApiError(400, f"{path} is not an MLX model directory (it has no config.json).",
                               param="model_id", code="unknown_format")
            return InstallPlan("dir", str(path), path.name)
        if not path.exists():
            raise ApiError(400, f"{path}: no such file or directory.", param="model_id", code="not_found")
        if path.suffix.lower() != ".gguf":
            raise ApiError(400, f"{path} is of an unknown format: expected a .gguf file or an MLX model directory.",
                           param="model_id", code="unknown_format")
        try:
            with path.open("rb") as f:
                magic = f.read(4)
        except OSError as e:
            raise ApiError(400, f"{path}: cannot be read ({e.strerror or e}).", param="model_id",
                           code="unreadable") from None
        if magic != GGUF_MAGIC:
            raise ApiError(400, f"{path} is not a GGUF file (it does not start with the GGUF magic bytes).",
                           param="model_id", code="unknown_format")
        return InstallPlan("gguf", str(path), path.stem)

    def install(self, plan: InstallPlan, name: str | None, progress: ProgressFn | None,
                cancel: Callable[[], bool] | None, mlx_lock: threading.Lock | None = None) -> dict[str, Any]:
        """Download or import (blocking); returns what the job reports. MLX work holds `mlx_lock`."""
        lock = mlx_lock or threading.Lock()
        if plan.kind == "hub":
            path = hub.download(plan.source, progress, cancel)
            alias_target = plan.source
        elif plan.kind == "default":
            with lock:
                path = default_model.ensure(progress=progress, cancel=cancel)
            alias_target = default_model.NAME
        elif plan.kind == "gguf":
            from ..model.gguf_import import import_gguf

            with lock:
                path = import_gguf(plan.source, name=plan.display, progress=progress, cancel=cancel)
            alias_target = str(path)
        else:
            path = Path(plan.source)
            if not (path / "config.json").is_file():
                raise MlxAgentError(f"{path}: not an MLX model directory (no config.json)")
            alias_target = str(path)
        warning = None
        if name is not None and name != plan.display:
            warning = self.set_alias(name, alias_target)
        if progress:
            progress("installed", 1.0)
        return {"model": name or plan.display, "path": str(path), "alias_of": alias_target if name else None,
                "warning": warning}

    def set_alias(self, name: str, spec: str) -> str | None:
        """Add an alias now and save it in the settings file; a save that fails is a warning."""
        with self._lock:
            self.aliases[name] = spec
        if not self.persist:
            return None
        from ..config import SettingsError, update_setting

        try:
            update_setting(f"aliases.{name}", spec, self.config_path)
        except (SettingsError, OSError) as e:
            return f"the alias works until the server stops but was not saved: {e}"
        return None


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0
