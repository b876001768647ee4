"""Import a `.gguf` file into a cached MLX model directory.

The directory holds what `mlx_lm.load` expects: config.json, model.safetensors,
tokenizer.json and tokenizer_config.json. It is keyed by the file's sha256, so
importing the same file twice reuses the first import. The directory is built
under a temporary name (`.import-XXXX`, beside a locked `.import-XXXX.lock`), its
files synced, and only then renamed into place, manifest included: a model is
installed exactly when `gguf-<hash>/mlxagent.json` exists, so an import that fails,
is cancelled or is killed (even with SIGKILL) never leaves a model that looks
installed. What a killed import left under its temporary name is removed by the
next import (`remove_stale_imports`), unless its lock shows it is still running.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any, Callable

from .. import paths
from ..core.workspace import fsync_path as _fsync_path
from ..errors import CancelledError, ModelError, UnsupportedModelError
from .gguf_header import NATIVE_TYPES, read_header
from .gguf_tokenizer import _as_int, build_tokenizer

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; leftovers are then only skipped, never removed
    fcntl = None  # type: ignore[assignment]

ProgressFn = Callable[[str, float], None]  # (stage, fraction 0..1)

SUPPORTED_ARCHITECTURES = ("llama", "qwen2")
MANIFEST = "mlxagent.json"

# GGUF tensor names -> mlx-lm module paths (shared by llama and qwen2)
_GLOBAL_NAMES = {
    "token_embd": "model.embed_tokens",
    "output_norm": "model.norm",
    "output": "lm_head",
}
_BLOCK_NAMES = {
    "attn_q": "self_attn.q_proj",
    "attn_k": "self_attn.k_proj",
    "attn_v": "self_attn.v_proj",
    "attn_output": "self_attn.o_proj",
    "attn_norm": "input_layernorm",
    "ffn_norm": "post_attention_layernorm",
    "ffn_gate": "mlp.gate_proj",
    "ffn_up": "mlp.up_proj",
    "ffn_down": "mlp.down_proj",
}
_BLOCK_RE = re.compile(r"^blk\.(\d+)\.([a-z_]+)\.(weight|bias|scales|biases)$")
_GLOBAL_RE = re.compile(r"^([a-z_]+)\.(weight|bias|scales|biases)$")
# Tensors llama.cpp stores that mlx-lm recomputes itself.
_DROPPED = {"rope_freqs.weight"}


def file_sha256(path: Path, cancel: Callable[[], bool] | None = None,
                progress: ProgressFn | None = None) -> str:
    h = hashlib.sha256()
    total = max(path.stat().st_size, 1)
    done = 0
    with path.open("rb") as f:
        while chunk := f.read(8 << 20):
            if cancel and cancel():
                raise CancelledError("Import cancelled")
            h.update(chunk)
            done += len(chunk)
            if progress:
                progress("hashing", done / total)
    return h.hexdigest()


def rename_weight(name: str) -> str | None:
    """Map one GGUF tensor name to its mlx-lm name (None: drop it)."""
    if name in _DROPPED:
        return None
    if m := _BLOCK_RE.match(name):
        layer, part, suffix = m.groups()
        if part not in _BLOCK_NAMES:
            raise UnsupportedModelError(f"GGUF tensor '{name}' has no MLX equivalent")
        return f"model.layers.{layer}.{_BLOCK_NAMES[part]}.{suffix}"
    if (m := _GLOBAL_RE.match(name)) and m.group(1) in _GLOBAL_NAMES:
        return f"{_GLOBAL_NAMES[m.group(1)]}.{m.group(2)}"
    raise UnsupportedModelError(f"GGUF tensor '{name}' has no MLX equivalent")


def _meta(md: dict[str, Any], key: str, default=None):
    value = md.get(key, default)
    if hasattr(value, "item") and getattr(value, "size", 1) == 1:
        return value.item()
    return value


def build_config(md: dict[str, Any], weight_names: set[str], n_vocab: int) -> dict[str, Any]:
    arch = str(_meta(md, "general.architecture"))
    if arch not in SUPPORTED_ARCHITECTURES:
        raise UnsupportedModelError(
            f"GGUF architecture '{arch}' is not supported (supported: {', '.join(SUPPORTED_ARCHITECTURES)})"
        )

    def get(key, default=None):
        return _meta(md, f"{arch}.{key}", default)

    heads = int(get("attention.head_count"))
    hidden = int(get("embedding_length"))
    config: dict[str, Any] = {
        "model_type": arch,
        "hidden_size": hidden,
        "num_hidden_layers": int(get("block_count")),
        "intermediate_size": int(get("feed_forward_length")),
        "num_attention_heads": heads,
        "num_key_value_heads": int(get("attention.head_count_kv", heads)),
        "rms_norm_eps": float(get("attention.layer_norm_rms_epsilon", 1e-5)),
        "vocab_size": int(get("vocab_size", n_vocab)),
        "rope_theta": float(get("rope.freq_base", 10000.0)),
        "max_position_embeddings": int(get("context_length", 4096)),
        "tie_word_embeddings": "output.weight" not in weight_names,
        # llama.cpp permutes llama's q/k weights for GGML's interleaved rope;
        # qwen2 is stored unpermuted (NeoX-style rope).
        "rope_traditional": arch == "llama",
    }
    if (head_dim := get("attention.key_length")) is not None:
        config["head_dim"] = int(head_dim)
    if arch == "llama" and "rope_freqs.weight" in weight_names:
        # Llama 3.1+ ships its rope frequency factors as a tensor; mlx-lm
        # recomputes them from this standard llama3 scaling block.
        config["rope_scaling"] = {
            "rope_type": "llama3",
            "factor": float(get("rope.scaling.factor", 8.0)),
            "low_freq_factor": 1.0,
            "high_freq_factor": 4.0,
            "original_max_position_embeddings": int(
                get("rope.scaling.original_context_length", 8192)
            ),
        }
    eos_ids = [
        i for i in (_as_int(md.get("tokenizer.ggml.eos_token_id")), _as_int(md.get("tokenizer.ggml.eot_token_id")))
        if i is not None
    ]
    if eos_ids:
        config["eos_token_id"] = sorted(set(eos_ids))
    return config


def _quantization(weights: dict[str, Any]) -> dict[str, int] | None:
    """Most common (bits, group size) among quantised tensors; mlx-lm infers
    per-layer exceptions from the tensor shapes."""
    seen: Counter = Counter()
    for name, scales in weights.items():
        if name.endswith(".scales"):
            packed = weights[name[: -len("scales")] + "weight"]
            bits = packed.shape[-1] // scales.shape[-1]
            seen[(bits, 32)] += 1
    if not seen:
        return None
    (bits, group), _ = seen.most_common(1)[0]
    return {"group_size": group, "bits": bits}


def import_gguf(
    gguf_path: str | Path,
    *,
    dest_root: Path | None = None,
    name: str | None = None,
    progress: ProgressFn | None = None,
    cancel: Callable[[], bool] | None = None,
) -> Path:
    """Import `gguf_path` and return the MLX model directory (cached by sha256)."""
    import mlx.core as mx

    gguf_path = Path(gguf_path).expanduser()
    header = read_header(gguf_path)
    arch = header.architecture
    if arch not in SUPPORTED_ARCHITECTURES:
        raise UnsupportedModelError(
            f"{gguf_path.name}: architecture '{arch}' is not supported "
            f"(supported: {', '.join(SUPPORTED_ARCHITECTURES)})"
        )
    foreign = sorted(header.quant_types() - NATIVE_TYPES)
    if foreign:
        raise UnsupportedModelError(
            f"{gguf_path.name}: quantisation type {', '.join(foreign)} is not supported "
            f"(supported: {', '.join(sorted(NATIVE_TYPES))})"
        )

    digest = file_sha256(gguf_path, cancel=cancel, progress=progress)
    dest_root = dest_root or paths.models_dir()
    dest = dest_root / f"gguf-{digest[:16]}"
    if (dest / MANIFEST).exists():
        return dest

    dest_root.mkdir(parents=True, exist_ok=True)
    remove_stale_imports(dest_root)
    lock_fd, tmp = _locked_temp_dir(dest_root)
    try:
        if progress:
            progress("loading weights", 0.0)
        try:
            raw, md = mx.load(str(gguf_path), return_metadata=True)
        except Exception as e:  # MLX raises RuntimeError/ValueError with C++ text
            raise ModelError(f"{gguf_path.name} could not be read as GGUF: {e}") from None
        if cancel and cancel():
            raise CancelledError("Import cancelled")
        weights = {}
        for gname, arr in raw.items():
            if (mname := rename_weight(gname)) is not None:
                weights[mname] = arr
        config = build_config(md, set(raw), len(_as_list_len(md)))
        if (quant := _quantization(weights)) is not None:
            config["quantization"] = quant
        config["gguf_source"] = {"file": gguf_path.name, "sha256": digest}
        if progress:
            progress("writing", 0.5)
        mx.save_safetensors(str(tmp / "model.safetensors"), weights, metadata={"format": "mlx"})
        tokenizer, special = build_tokenizer(md)
        tokenizer.save(str(tmp / "tokenizer.json"))
        tok_config = {k: v for k, v in special.items() if v is not None}
        tok_config["tokenizer_class"] = "PreTrainedTokenizerFast"
        tok_config["model_max_length"] = config["max_position_embeddings"]
        if template := md.get("tokenizer.chat_template"):
            tok_config["chat_template"] = str(template)
        (tmp / "tokenizer_config.json").write_text(json.dumps(tok_config, indent=2))
        (tmp / "config.json").write_text(json.dumps(config, indent=2))
        manifest = {
            "name": name or gguf_path.stem,
            "source": str(gguf_path),
            "sha256": digest,
            "architecture": arch,
            "quantisation": sorted(header.quant_types()),
        }
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2))
        _fsync_tree(tmp)
        _install_dir(tmp, dest)
        if progress:
            progress("done", 1.0)
        return dest
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        _release(lock_fd, tmp)


def _install_dir(tmp: Path, dest: Path) -> None:
    """Rename the finished `tmp` to `dest` (one atomic step: the manifest comes with it)."""
    if dest.exists() and not (dest / MANIFEST).exists():
        # Not an installed model (nothing of ours makes one without its manifest): set it aside.
        aside = dest.with_name(f".import-stale-{os.getpid()}-{dest.name}")
        try:
            dest.rename(aside)
            shutil.rmtree(aside, ignore_errors=True)
        except OSError:
            pass
    try:
        tmp.rename(dest)
    except OSError:
        if not (dest / MANIFEST).exists():  # lost a race to a concurrent import: fine
            raise
    _fsync_path(dest.parent)


def _fsync_tree(folder: Path) -> None:
    """Make the files durable before the rename that marks the model installed."""
    for p in folder.iterdir():
        if p.is_file():
            _fsync_path(p)
    _fsync_path(folder)


def _try_lock(fd: int) -> bool:
    if fcntl is None:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    except OSError:
        return True  # a filesystem without flock


def _locked_temp_dir(dest_root: Path) -> tuple[int, Path]:
    """A fresh `.import-XXXX` folder and the fd that holds its `.lock` (taken first, so a
    folder without a held lock beside it is always a dead import's)."""
    fd, lock_name = tempfile.mkstemp(prefix=".import-", suffix=".lock", dir=dest_root)
    _try_lock(fd)
    tmp = Path(lock_name[: -len(".lock")])
    try:
        tmp.mkdir()
    except BaseException:
        _release(fd, tmp)
        raise
    return fd, tmp


def _release(fd: int, tmp: Path) -> None:
    Path(f"{tmp}.lock").unlink(missing_ok=True)
    os.close(fd)


def remove_stale_imports(dest_root: Path) -> list[str]:
    """Delete what killed imports left in `dest_root`: `.import-*` folders (and their lock
    files) whose lock no live process holds. Returns the names removed."""
    removed = []
    try:
        entries = sorted(dest_root.iterdir())
    except OSError:
        return removed
    for entry in entries:
        name = entry.name
        if not name.startswith(".import-") or name.endswith(".lock"):
            continue
        if name.startswith(".import-stale-"):
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(name)
            continue
        lock = entry.with_name(name + ".lock")
        if fcntl is None:
            continue  # cannot tell a running import from a dead one
        try:
            fd = os.open(lock, os.O_RDWR)
        except FileNotFoundError:
            fd = None  # the lock goes last, so the import that made this folder is over
        except OSError:
            continue
        try:
            if fd is not None and not _try_lock(fd):
                continue  # a running import
            shutil.rmtree(entry, ignore_errors=True)
            lock.unlink(missing_ok=True)
            removed.append(name)
        finally:
            if fd is not None:
                os.close(fd)
    for lock in dest_root.glob(".import-*.lock"):
        # A lock whose folder is gone (killed after the rename); a minute old, so that it is
        # not one a starting import has just made and not yet locked.
        try:
            old = time.time() - lock.stat().st_mtime > 60
        except OSError:
            continue
        if old and not lock.with_name(lock.name[: -len(".lock")]).exists():
            remove_if_unlocked(lock)
    return removed


def remove_if_unlocked(path: Path) -> bool:
    """Delete the temp file `path` unless a live process holds its lock (see `_try_lock`)."""
    if fcntl is None:
        return False
    try:
        fd = os.open(path, os.O_RDWR | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return False
    try:
        if not _try_lock(fd):
            return False
        path.unlink()
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def _as_list_len(md: dict[str, Any]) -> list:
    return list(md.get("tokenizer.ggml.tokens") or [])
