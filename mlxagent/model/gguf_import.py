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
from dataclasses import dataclass
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

MANIFEST = "mlxagent.json"

# GGUF tensor names -> mlx-lm module paths. The block names llama and qwen2 share; each
# architecture below adds or overrides some.
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
_QK_NORMS = {"attn_q_norm": "self_attn.q_norm", "attn_k_norm": "self_attn.k_norm"}


@dataclass(frozen=True)
class Architecture:
    """How one GGUF architecture becomes an mlx-lm model."""

    model_type: str  # mlx-lm's model module
    blocks: dict[str, str]
    # llama.cpp permutes llama's q/k weights for GGML's interleaved rope (mlx-lm's
    # traditional rope reads them as they are); the others use NeoX-style rope, unpermuted.
    rope_traditional: bool = False
    # llama.cpp stores Gemma's RMSNorm weights as 1 + w; mlx-lm's Gemma adds the 1 itself.
    norm_shift: float = 0.0


ARCHITECTURES: dict[str, Architecture] = {
    "llama": Architecture("llama", _BLOCK_NAMES, rope_traditional=True),
    "qwen2": Architecture("qwen2", _BLOCK_NAMES),
    "qwen3": Architecture("qwen3", {**_BLOCK_NAMES, **_QK_NORMS}),
    "gemma3": Architecture("gemma3_text", {
        **_BLOCK_NAMES, **_QK_NORMS,
        "ffn_norm": "pre_feedforward_layernorm",
        "post_attention_norm": "post_attention_layernorm",
        "post_ffw_norm": "post_feedforward_layernorm",
    }, norm_shift=1.0),
    # Phi-3 keeps q, k, v fused in one tensor, and gate and up fused (gate first), as mlx-lm does.
    "phi3": Architecture("phi3", {
        **{k: v for k, v in _BLOCK_NAMES.items() if k not in ("attn_q", "attn_k", "attn_v", "ffn_gate")},
        "attn_qkv": "self_attn.qkv_proj",
        "ffn_up": "mlp.gate_up_proj",
    }),
}
SUPPORTED_ARCHITECTURES = tuple(ARCHITECTURES)

_BLOCK_RE = re.compile(r"^blk\.(\d+)\.([a-z_]+)\.(weight|bias|scales|biases)$")
_GLOBAL_RE = re.compile(r"^([a-z_]+)\.(weight|bias|scales|biases)$")
# Tensors llama.cpp stores that mlx-lm recomputes itself (Llama 3.1's rope frequencies), or
# that go into config.json instead (Phi-3's LongRoPE factors).
_DROPPED = {"rope_freqs.weight"}
_ROPE_FACTORS = {"rope_factors_long.weight": "long_factor", "rope_factors_short.weight": "short_factor"}

# Types other than these are dequantised (gguf's numpy dequantisers) and quantised again to
# MLX's affine format, 4 or 8 bits (not narrower than the source's width), in groups of 64.
FLOAT_TYPES = {"F32", "F16", "BF16"}
REQUANT_GROUP = 64
_SOURCE_BITS = {
    "Q2_K": 2, "Q3_K": 3, "Q4_0": 4, "Q4_1": 4, "Q4_K": 4, "IQ4_NL": 4, "IQ4_XS": 4, "MXFP4": 4,
    "NVFP4": 4, "Q5_0": 5, "Q5_1": 5, "Q5_K": 5, "Q6_K": 6, "Q8_0": 8, "IQ1_S": 1, "IQ1_M": 2,
    "IQ2_XXS": 2, "IQ2_XS": 2, "IQ2_S": 2, "IQ3_XXS": 3, "IQ3_S": 3, "TQ1_0": 2, "TQ2_0": 2,
}


def mlx_bits(gguf_type: str) -> int:
    """MLX bit width for a GGUF quantisation type: 4 for sources of 4 bits or fewer, else 8.

    Never narrower than the source: a 5-bit grid rounded onto a 4-bit one loses twice. On
    Gemma 3 270M Q4_K_M (Q5_0 for most weights) 5 -> 4 bits measured a logit correlation of
    0.93 with the dequantised file, 5 -> 8 bits 0.976 (BENCHMARKS.md, GGUF import)."""
    return 8 if _SOURCE_BITS.get(gguf_type, 8) >= 5 else 4


def supported_types() -> set[str]:
    """Tensor types an import can read: MLX's own, and those `gguf` can dequantise."""
    try:
        from gguf import quants

        readable = {t.name for t in quants._type_traits}  # noqa: SLF001 - gguf's registry of dequantisers
    except ImportError:
        readable = set()
    return NATIVE_TYPES | FLOAT_TYPES | readable


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


def rename_weight(name: str, arch: str = "llama") -> str | None:
    """Map one GGUF tensor name to its mlx-lm name (None: drop it)."""
    if name in _DROPPED or name in _ROPE_FACTORS:
        return None
    blocks = ARCHITECTURES[arch].blocks if arch in ARCHITECTURES else _BLOCK_NAMES
    if m := _BLOCK_RE.match(name):
        layer, part, suffix = m.groups()
        if part not in blocks:
            raise UnsupportedModelError(f"GGUF tensor '{name}' has no MLX equivalent")
        return f"model.layers.{layer}.{blocks[part]}.{suffix}"
    if (m := _GLOBAL_RE.match(name)) and m.group(1) in _GLOBAL_NAMES:
        return f"{_GLOBAL_NAMES[m.group(1)]}.{m.group(2)}"
    raise UnsupportedModelError(f"GGUF tensor '{name}' has no MLX equivalent")


def _meta(md: dict[str, Any], key: str, default=None):
    value = md.get(key, default)
    if hasattr(value, "item") and getattr(value, "size", 1) == 1:
        return value.item()
    return value


def _unsupported_architecture(arch: str, where: str = "GGUF") -> UnsupportedModelError:
    return UnsupportedModelError(
        f"{where}: architecture '{arch}' is not supported (supported: {', '.join(SUPPORTED_ARCHITECTURES)})"
    )


def build_config(md: dict[str, Any], weight_names: set[str], n_vocab: int,
                 rope_factors: dict[str, list[float]] | None = None) -> dict[str, Any]:
    arch = str(_meta(md, "general.architecture"))
    if arch not in ARCHITECTURES:
        raise _unsupported_architecture(arch)
    spec = ARCHITECTURES[arch]

    def get(key, default=None):
        return _meta(md, f"{arch}.{key}", default)

    heads = int(get("attention.head_count"))
    hidden = int(get("embedding_length"))
    config: dict[str, Any] = {
        "model_type": spec.model_type,
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
        "rope_traditional": spec.rope_traditional,
        # Mistral's newer layouts (Nemo, Small 3) are GGUF "llama" with a head size of their own.
        "head_dim": int(get("attention.key_length", hidden // heads)),
    }
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
    if arch == "gemma3":
        # Facts llama.cpp fixes for Gemma 3 rather than storing: local (sliding) layers use a
        # rope base of 10000, every 6th layer is global, queries scale by the head size
        # (27B: by hidden size / heads).
        config.update({
            "rope_local_base_freq": 10000.0,
            "sliding_window": int(get("attention.sliding_window", 512)),
            "sliding_window_pattern": 6,
            "query_pre_attn_scalar": (hidden // heads if config["num_hidden_layers"] == 62
                                      else config["head_dim"]),
        })
        if str(get("rope.scaling.type", "")) == "linear":
            config["rope_scaling"] = {"rope_type": "linear", "factor": float(get("rope.scaling.factor", 1.0))}
    if arch == "phi3":
        # Phi-4-mini is GGUF "phi3" with a rope over only part of each head (llama.cpp writes
        # the rotated size as rope.dimension_count).
        rope_dims = get("rope.dimension_count")
        if rope_dims is not None and int(rope_dims) != config["head_dim"]:
            config["partial_rotary_factor"] = int(rope_dims) / config["head_dim"]
        original = get("rope.scaling.original_context_length")
        if original is not None:
            config["original_max_position_embeddings"] = int(original)
        if rope_factors and "long_factor" in rope_factors:
            config["rope_scaling"] = {"type": "longrope", **rope_factors}
    eos_ids = [
        i for i in (_as_int(md.get("tokenizer.ggml.eos_token_id")), _as_int(md.get("tokenizer.ggml.eot_token_id")))
        if i is not None
    ]
    if arch == "gemma3":
        # Gemma's turns end with <end_of_turn>, which its GGUF files do not name as eot.
        tokens = md.get("tokenizer.ggml.tokens")
        tokens = list(tokens) if tokens is not None else []
        if "<end_of_turn>" in tokens:
            eos_ids.append(tokens.index("<end_of_turn>"))
    if eos_ids:
        config["eos_token_id"] = sorted(set(eos_ids))
    return config


def _quantization(weights: dict[str, Any], group_size: int = 32) -> dict[str, int] | None:
    """Most common (bits, group size) among quantised tensors; mlx-lm infers
    per-layer exceptions from the tensor shapes."""
    seen: Counter = Counter()
    for name, scales in weights.items():
        if name.endswith(".scales"):
            packed = weights[name[: -len("scales")] + "weight"]
            # each group of `group_size` values packs into group_size * bits / 32 uint32 words
            bits = packed.shape[-1] * 32 // (scales.shape[-1] * group_size)
            seen[bits] += 1
    if not seen:
        return None
    bits, _ = seen.most_common(1)[0]
    return {"group_size": group_size, "bits": bits}


def _native_tensors(gguf_path: Path, arch: str, cancel) -> tuple[dict[str, Any], dict[str, Any], set[str]]:
    """MLX's own GGUF loader: F32/F16/BF16 as they are, Q4_0/Q4_1/Q8_0 kept quantised
    (groups of 32). Returns (mlx weights, metadata, GGUF tensor names)."""
    import mlx.core as mx

    try:
        # format named: Ollama's blobs have no .gguf suffix
        raw, md = mx.load(str(gguf_path), format="gguf", return_metadata=True)
    except Exception as e:  # MLX raises RuntimeError/ValueError with C++ text
        raise ModelError(f"{gguf_path.name} could not be read as GGUF: {e}") from None
    if cancel and cancel():
        raise CancelledError("Import cancelled")
    weights = {}
    for gname, arr in raw.items():
        if (mname := rename_weight(gname, arch)) is not None:
            weights[mname] = arr
    return weights, md, set(raw)


def _requantized_tensors(gguf_path: Path, arch: str, cancel, progress,
                         keep: Any = None) -> tuple[dict[str, Any], set[str], dict]:
    """Any other file: one tensor at a time, dequantised with gguf's numpy dequantisers and
    quantised again to MLX's affine format (4 or 8 bits, groups of 64), so that beyond the
    output only part of one tensor is ever held in float. `keep`: an MLX float dtype to store
    every tensor in instead (a dequantised reference). Returns (weights, GGUF names, rope factors)."""
    import mlx.core as mx
    import numpy as np

    try:
        from gguf import GGUFReader
        from gguf.quants import dequantize

        reader = GGUFReader(gguf_path)  # memory-mapped: tensors are read as they are converted
    except ImportError:
        raise ModelError("Importing this GGUF needs the `gguf` package (pip install gguf)") from None
    except Exception as e:  # noqa: BLE001 - a malformed file; gguf raises ValueError and others
        raise ModelError(f"{gguf_path.name} could not be read as GGUF: {str(e)[:200]}") from None
    weights: dict[str, Any] = {}
    rope_factors: dict[str, list[float]] = {}
    names = {t.name for t in reader.tensors}
    total = max(len(reader.tensors), 1)
    for i, tensor in enumerate(reader.tensors):
        if cancel and cancel():
            raise CancelledError("Import cancelled")
        if progress:
            progress("converting", i / total)
        gtype = tensor.tensor_type.name
        if tensor.name in _ROPE_FACTORS:
            rope_factors[_ROPE_FACTORS[tensor.name]] = [float(x) for x in np.asarray(tensor.data).ravel()]
            continue
        if (mname := rename_weight(tensor.name, arch)) is None:
            continue
        shape = tuple(int(d) for d in reversed(tensor.shape))  # GGUF lists the fastest axis first
        quantize = (gtype not in FLOAT_TYPES and keep is None and mname.endswith(".weight")
                    and len(shape) == 2 and shape[-1] % REQUANT_GROUP == 0)
        dtype = keep or {"F32": mx.float32, "BF16": mx.bfloat16}.get(gtype, mx.float16)
        parts: list[tuple] = []
        for values in _dequantized_rows(tensor, dequantize):
            chunk = mx.array(values)
            del values
            if quantize:
                parts.append(tuple(mx.quantize(chunk, group_size=REQUANT_GROUP, bits=mlx_bits(gtype))))
            else:
                parts.append((chunk.astype(dtype),))
            mx.eval(parts[-1])
            del chunk
        joined = [mx.concatenate([p[k] for p in parts]) if len(parts) > 1 else parts[0][k]
                  for k in range(len(parts[0]))]
        del parts
        if quantize:
            stem = mname[: -len(".weight")]
            added = {mname: joined[0], f"{stem}.scales": joined[1].astype(mx.float16),
                     f"{stem}.biases": joined[2].astype(mx.float16)}
        else:
            added = {mname: joined[0].reshape(shape)}
        mx.eval(list(added.values()))
        weights.update(added)
        del joined, added
    return weights, names, rope_factors


_CHUNK_BYTES = 64 << 20


def _dequantized_rows(tensor, dequantize):
    """The tensor as float32 rows of its last axis, about 64 MB at a time, so that a large
    tensor (a 262k-token embedding) is never whole in float32 beside its copies."""
    import numpy as np

    data = tensor.data
    data = data.reshape(-1, data.shape[-1]) if data.ndim > 1 else data.reshape(1, -1)
    cols = int(tensor.shape[0])
    step = max(1, _CHUNK_BYTES // max(cols * 4, 1))
    for start in range(0, data.shape[0], step):
        values = np.asarray(dequantize(data[start:start + step], tensor.tensor_type), dtype=np.float32)
        yield values.reshape(-1, cols)


def _shift_norms(weights: dict[str, Any], shift: float) -> None:
    if not shift:
        return
    for name in list(weights):
        if name.endswith("norm.weight"):
            weights[name] = weights[name] - shift


def import_gguf(
    gguf_path: str | Path,
    *,
    dest_root: Path | None = None,
    name: str | None = None,
    progress: ProgressFn | None = None,
    cancel: Callable[[], bool] | None = None,
    sha256: str | None = None,
    dequantized: bool = False,
) -> Path:
    """Import `gguf_path` and return the MLX model directory (cached by sha256).

    `sha256`: the file's digest when the caller already knows it (Ollama names its blobs by
    it), which saves reading the whole file once more. `dequantized`: store every tensor in
    float32 instead (a reference to compare an import against; a separate directory)."""
    import mlx.core as mx

    gguf_path = Path(gguf_path).expanduser()
    header = read_header(gguf_path)
    arch = header.architecture
    if arch not in ARCHITECTURES:
        raise _unsupported_architecture(arch, gguf_path.name)
    foreign = sorted(header.quant_types() - supported_types())
    if foreign:
        raise UnsupportedModelError(
            f"{gguf_path.name}: quantisation type {', '.join(foreign)} is not supported "
            f"(supported: {', '.join(sorted(supported_types()))})"
        )

    digest = sha256 or file_sha256(gguf_path, cancel=cancel, progress=progress)
    dest_root = dest_root or paths.models_dir()
    dest = dest_root / (f"gguf-{digest[:16]}" + ("-f32" if dequantized else ""))
    if (dest / MANIFEST).exists():
        return dest

    dest_root.mkdir(parents=True, exist_ok=True)
    remove_stale_imports(dest_root)
    lock_fd, tmp = _locked_temp_dir(dest_root)
    try:
        if progress:
            progress("loading weights", 0.0)
        native = header.quant_types() <= NATIVE_TYPES and not dequantized
        rope_factors: dict[str, list[float]] = {}
        if native:
            weights, md, names = _native_tensors(gguf_path, arch, cancel)
            quant = _quantization(weights, 32)
        else:
            md = read_header(gguf_path, keep_arrays=True).metadata
            weights, names, rope_factors = _requantized_tensors(
                gguf_path, arch, cancel, progress, keep=mx.float32 if dequantized else None)
            quant = _quantization(weights, REQUANT_GROUP)
        _shift_norms(weights, ARCHITECTURES[arch].norm_shift)
        config = build_config(md, names, len(_as_list_len(md)), rope_factors)
        if quant is not None:
            config["quantization"] = quant
        config["gguf_source"] = {"file": gguf_path.name, "sha256": digest}
        if progress:
            progress("writing", 0.9 if not native else 0.5)
        mx.save_safetensors(str(tmp / "model.safetensors"), weights, metadata={"format": "mlx"})
        del weights
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
        if dequantized:
            manifest["dequantised"] = "float32"
        elif not native:
            manifest["requantised"] = {"group_size": REQUANT_GROUP, "bits": quant["bits"] if quant else None}
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
