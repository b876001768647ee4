"""GGUF models already on disk in other apps' stores: Ollama's and LM Studio's.

Ollama (`$OLLAMA_MODELS`, as Ollama itself honours it, else `~/.ollama/models`) keeps a
manifest per model at `manifests/<registry>/<namespace>/<name>/<tag>`, a JSON document
whose layer of media type `application/vnd.ollama.image.model` names the weights' blob by
its digest: `blobs/sha256-<hex>`, a GGUF file. Models of the default registry and
namespace are listed as `name:tag`, as `ollama list` shows them.

LM Studio keeps plain GGUF files under `~/.lmstudio/models` (older versions:
`~/.cache/lm-studio/models`), as `<publisher>/<repo>/<file>.gguf`; vision projectors
(`mmproj-*`) and the later parts of split files are not models and are left out.

Both roots can be set in config.toml (`ollama_models`, `lmstudio_models`). Nothing here
writes to a store: choosing a model imports it into mlxagent's own cache, once.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from ..errors import ModelError

OLLAMA_REGISTRY = "registry.ollama.ai"
OLLAMA_MODEL_LAYER = "application/vnd.ollama.image.model"
_SPLIT_PART = re.compile(r"-(\d{5})-of-\d{5}\.gguf$", re.IGNORECASE)
_DIGEST = re.compile(r"^sha256[:-]([0-9a-f]{64})$")

# llama.cpp's llama_ftype ids (general.file_type): the names people know quantisations by.
FILE_TYPES = {
    0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1", 10: "Q2_K",
    11: "Q3_K_S", 12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S", 15: "Q4_K_M", 16: "Q5_K_S",
    17: "Q5_K_M", 18: "Q6_K", 19: "IQ2_XXS", 20: "IQ2_XS", 21: "Q2_K_S", 22: "IQ3_XS",
    23: "IQ3_XXS", 24: "IQ1_S", 25: "IQ4_NL", 26: "IQ3_S", 27: "IQ3_M", 28: "IQ2_S",
    29: "IQ2_M", 30: "IQ4_XS", 31: "IQ1_M", 32: "BF16", 36: "TQ1_0", 37: "TQ2_0", 38: "MXFP4",
}


@dataclass(frozen=True)
class StoreModel:
    name: str  # "llama3.2:3b" (Ollama), "publisher/repo/file" (LM Studio)
    path: Path  # the GGUF file
    store: str  # "ollama" | "lmstudio"
    size_bytes: int
    sha256: str | None = None  # known without reading the file (Ollama names blobs by it)


def default_ollama_root() -> Path:
    return Path(os.environ.get("OLLAMA_MODELS") or "~/.ollama/models").expanduser()


def default_lmstudio_roots() -> list[Path]:
    return [Path("~/.lmstudio/models").expanduser(), Path("~/.cache/lm-studio/models").expanduser()]


def ollama_models(root: Path) -> list[StoreModel]:
    manifests = root / "manifests"
    if not manifests.is_dir():
        return []
    found = []
    for manifest in sorted(p for p in manifests.rglob("*") if p.is_file()):
        parts = manifest.relative_to(manifests).parts
        if len(parts) != 4:  # registry / namespace / name / tag
            continue
        host, namespace, name, tag = parts
        blob = _ollama_blob(root, manifest)
        if blob is None:
            continue
        path, digest = blob
        prefix = "" if host == OLLAMA_REGISTRY and namespace == "library" else (
            f"{namespace}/" if host == OLLAMA_REGISTRY else f"{host}/{namespace}/")
        try:
            size = path.stat().st_size
        except OSError:
            continue
        found.append(StoreModel(f"{prefix}{name}:{tag}", path, "ollama", size, digest))
    return found


def _ollama_blob(root: Path, manifest: Path) -> tuple[Path, str] | None:
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
        layers = data.get("layers") or []
    except (OSError, ValueError, AttributeError):
        return None
    for layer in layers:
        if not isinstance(layer, dict) or layer.get("mediaType") != OLLAMA_MODEL_LAYER:
            continue
        m = _DIGEST.match(str(layer.get("digest", "")))
        if not m:
            return None
        path = root / "blobs" / f"sha256-{m.group(1)}"
        return (path, m.group(1)) if path.is_file() else None
    return None


def lmstudio_models(roots: list[Path]) -> list[StoreModel]:
    found, seen = [], set()
    for root in roots:
        if not root.is_dir():
            continue
        for path in sorted(root.rglob("*.gguf")):
            if path.name.lower().startswith("mmproj") or not path.is_file():
                continue
            split = _SPLIT_PART.search(path.name)
            if split and split.group(1) != "00001":
                continue
            real = path.resolve()
            if real in seen:
                continue
            seen.add(real)
            rel = path.relative_to(root)
            found.append(StoreModel(str(rel.with_suffix("")), path, "lmstudio", path.stat().st_size))
    return found


def discover(ollama_root: Path | None = None, lmstudio_roots: list[Path] | None = None) -> list[StoreModel]:
    """The GGUF models in both stores (their default places unless given)."""
    ollama = ollama_models(ollama_root if ollama_root is not None else default_ollama_root())
    lmstudio = lmstudio_models(lmstudio_roots if lmstudio_roots is not None else default_lmstudio_roots())
    return ollama + lmstudio


def configured_roots() -> tuple[Path | None, list[Path] | None]:
    """The store roots config.toml names (`ollama_models`, `lmstudio_models`); None: defaults."""
    from ..config import load_settings

    settings, _ = load_settings()
    ollama = Path(settings.ollama_models).expanduser() if settings.ollama_models else None
    lmstudio = [Path(p).expanduser() for p in settings.lmstudio_models] if settings.lmstudio_models else None
    return ollama, lmstudio


def gguf_quantisation(path: Path) -> str:
    """"Q4_K_M" and the like: the file type the GGUF declares, else its commonest tensor type."""
    from .gguf_header import read_header

    try:
        header = read_header(path)
    except ModelError:
        return "?"
    file_type = header.metadata.get("general.file_type")
    if isinstance(file_type, int) and file_type in FILE_TYPES:
        return FILE_TYPES[file_type]
    counts = Counter(t for t in header.tensor_types.values() if t not in ("F32",))
    return counts.most_common(1)[0][0] if counts else "F32"
