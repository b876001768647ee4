"""The models the user installed from a folder, remembered by path (`models.json` in the
config dir), and the ones they took off the list.

A local MLX folder stays where it is: installing it (`mlxagent models install DIR`, the
switcher's install box) or loading it once (`/model DIR`) records its path under a name
the user may give. Imported GGUFs and hub downloads are found where they live (the model
cache, the Hugging Face cache), so only their removal from the list is recorded here.
Nothing on disk is ever deleted by this module: "remove" takes a model off the list.

The file is written atomically; an unreadable one counts as empty (the models are still on
disk, so nothing is lost), and the next save starts it afresh.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from pathlib import Path

from .. import paths
from ..core.workspace import atomic_write
from ..errors import ModelError

VERSION = 1
_LOCK = threading.Lock()
_NAME_RE = re.compile(r"^[^\s/\\][^/\\]{0,79}$")


@dataclass(frozen=True)
class Remembered:
    name: str
    path: Path


def registry_file() -> Path:
    return paths.config_dir() / "models.json"


def _read() -> dict:
    try:
        data = json.loads(registry_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"version": VERSION, "models": [], "hidden": []}
    if not isinstance(data, dict):
        return {"version": VERSION, "models": [], "hidden": []}
    models = [m for m in data.get("models", []) if isinstance(m, dict)
              and isinstance(m.get("name"), str) and isinstance(m.get("path"), str)]
    hidden = [h for h in data.get("hidden", []) if isinstance(h, str)]
    return {"version": VERSION, "models": models, "hidden": hidden}


def _write(data: dict) -> None:
    file = registry_file()
    file.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(file, (json.dumps(data, indent=2) + "\n").encode())


def remembered() -> list[Remembered]:
    """The remembered folders, in the order they were added (missing ones included)."""
    return [Remembered(m["name"], Path(m["path"])) for m in _read()["models"]]


def hidden_paths() -> set[str]:
    return set(_read()["hidden"])


def check_name(name: str) -> str:
    name = name.strip()
    if not _NAME_RE.match(name):
        raise ModelError(f"'{name}' cannot name a model (1-80 characters, no slashes, not starting with a space)")
    return name


def remember(path: Path, name: str | None = None, taken: set[str] = frozenset()) -> str:
    """Record the MLX folder `path` (made absolute) and return the name it is listed under.

    A path already remembered keeps its entry (renamed when `name` is given). A name that
    another model has (`taken`, or another remembered path) gets a numeric suffix, so
    every name in the list loads one model."""
    path = Path(path).expanduser().resolve()
    wanted = check_name(name) if name else path.name
    with _LOCK:
        data = _read()
        others = {m["name"] for m in data["models"] if m["path"] != str(path)} | set(taken)
        entry = next((m for m in data["models"] if m["path"] == str(path)), None)
        if entry is not None and not name:
            return entry["name"]
        final, n = wanted, 2
        while final in others:
            final, n = f"{wanted}-{n}", n + 1
        if entry is None:
            data["models"].append({"name": final, "path": str(path)})
        else:
            entry["name"] = final
        data["hidden"] = [h for h in data["hidden"] if h != str(path)]
        _write(data)
        return final


def forget(path: Path) -> bool:
    """Take the model at `path` off the list: a remembered folder is forgotten, any other
    (an import in the cache, a hub download) is hidden. Nothing on disk changes. Returns
    whether the list changed."""
    key = str(Path(path).expanduser().resolve())
    with _LOCK:
        data = _read()
        before = len(data["models"])
        data["models"] = [m for m in data["models"] if m["path"] != key]
        changed = len(data["models"]) != before
        if not changed and key not in data["hidden"]:
            data["hidden"].append(key)
            changed = True
        if changed:
            _write(data)
        return changed


def unhide(path: Path) -> None:
    key = str(Path(path).expanduser().resolve())
    with _LOCK:
        data = _read()
        if key in data["hidden"]:
            data["hidden"] = [h for h in data["hidden"] if h != key]
            _write(data)
