"""A reader for the GGUF header: metadata keys and tensor types, no tensor data.

`mx.load` reads the weights; this reader exists so that a bad file is rejected
with a clear message (not GGUF, truncated, unsupported quantisation type named)
before anything is loaded or written.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from ..errors import ModelError

GGUF_MAGIC = b"GGUF"

# ggml tensor type ids -> names (ggml.h); the ones MLX keeps quantised natively
# are listed in NATIVE_TYPES.
GGML_TYPE_NAMES = {
    0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 6: "Q5_0", 7: "Q5_1", 8: "Q8_0",
    9: "Q8_1", 10: "Q2_K", 11: "Q3_K", 12: "Q4_K", 13: "Q5_K", 14: "Q6_K",
    15: "Q8_K", 16: "IQ2_XXS", 17: "IQ2_XS", 18: "IQ3_XXS", 19: "IQ1_S",
    20: "IQ4_NL", 21: "IQ3_S", 22: "IQ2_S", 23: "IQ4_XS", 24: "I8", 25: "I16",
    26: "I32", 27: "I64", 28: "F64", 29: "IQ1_M", 30: "BF16", 34: "TQ1_0",
    35: "TQ2_0", 39: "MXFP4",
}
NATIVE_TYPES = {"F32", "F16", "BF16", "Q4_0", "Q4_1", "Q8_0"}

_SCALARS = {
    0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?",
    10: "<Q", 11: "<q", 12: "<d",
}
_STRING, _ARRAY = 8, 9


@dataclass
class GGUFHeader:
    version: int
    metadata: dict[str, Any]
    tensor_types: dict[str, str] = field(default_factory=dict)

    @property
    def architecture(self) -> str:
        return str(self.metadata.get("general.architecture", "unknown"))

    def quant_types(self) -> set[str]:
        return set(self.tensor_types.values())


class _Truncated(Exception):
    pass


def _read(f: BinaryIO, n: int) -> bytes:
    data = f.read(n)
    if len(data) != n:
        raise _Truncated
    return data


def _scalar(f: BinaryIO, fmt: str):
    return struct.unpack(fmt, _read(f, struct.calcsize(fmt)))[0]


def _string(f: BinaryIO) -> str:
    n = _scalar(f, "<Q")
    return _read(f, n).decode("utf-8", errors="replace")


def _value(f: BinaryIO, vtype: int, keep_arrays: bool):
    if vtype in _SCALARS:
        return _scalar(f, _SCALARS[vtype])
    if vtype == _STRING:
        return _string(f)
    if vtype == _ARRAY:
        itype = _scalar(f, "<I")
        count = _scalar(f, "<Q")
        if itype in _SCALARS and not keep_arrays:
            _read(f, count * struct.calcsize(_SCALARS[itype]))
            return None
        items = [_value(f, itype, keep_arrays) for _ in range(count)]
        return items if keep_arrays else None
    raise ModelError(f"GGUF metadata has an unknown value type {vtype}")


def read_header(path: Path, keep_arrays: bool = False) -> GGUFHeader:
    """Read a GGUF file's metadata and tensor types.

    Big arrays (vocabulary, merges) are skipped unless `keep_arrays`, since
    `mx.load` returns them anyway when the weights are loaded.
    """
    path = Path(path)
    if not path.exists():
        raise ModelError(f"No such file: {path}")
    if not path.is_file():
        raise ModelError(f"Not a file: {path}")
    try:
        with path.open("rb") as f:
            if f.read(4) != GGUF_MAGIC:
                raise ModelError(f"{path.name} is not a GGUF file (bad magic bytes)")
            version = _scalar(f, "<I")
            if version not in (2, 3):
                raise ModelError(f"{path.name}: GGUF version {version} is not supported")
            n_tensors = _scalar(f, "<Q")
            n_kv = _scalar(f, "<Q")
            metadata: dict[str, Any] = {}
            for _ in range(n_kv):
                key = _string(f)
                metadata[key] = _value(f, _scalar(f, "<I"), keep_arrays)
            tensor_types: dict[str, str] = {}
            for _ in range(n_tensors):
                name = _string(f)
                n_dims = _scalar(f, "<I")
                _read(f, 8 * n_dims)
                ttype = _scalar(f, "<I")
                _scalar(f, "<Q")  # data offset
                tensor_types[name] = GGML_TYPE_NAMES.get(ttype, f"type {ttype}")
    except _Truncated:
        raise ModelError(f"{path.name} is truncated or corrupt (the GGUF header ends early)") from None
    except OSError as e:
        raise ModelError(f"Cannot read {path}: {e.strerror or e}") from None
    return GGUFHeader(version=version, metadata=metadata, tensor_types=tensor_types)
