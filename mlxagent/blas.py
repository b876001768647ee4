"""Re-run the process with a system OpenBLAS preloaded (Linux, CPU backend).

mlx-cpu ships a reference BLAS; preloading OpenBLAS makes f32 matmuls ~30x
faster. The entry point re-executes itself once with LD_PRELOAD set.
Opt out with MLXAGENT_NO_OPENBLAS=1.
"""

from __future__ import annotations

import glob
import os
import sys

OPT_OUT = "MLXAGENT_NO_OPENBLAS"
MARKER = "MLXAGENT_BLAS_REEXEC"
CANDIDATES = (
    "/usr/lib/*-linux-gnu/openblas-pthread/libopenblas.so.0",
    "/usr/lib/*-linux-gnu/libopenblas.so.0",
    "/usr/lib64/libopenblasp.so.0",
    "/usr/lib64/libopenblas.so.0",
    "/usr/lib/libopenblas.so.0",
)


def find_openblas() -> str | None:
    for pattern in CANDIDATES:
        for path in sorted(glob.glob(pattern)):
            if os.path.isfile(path):
                return path
    return None


def _has_cuda_mlx() -> bool:
    # mlx[cuda] installs this distribution; there the CPU BLAS does not matter.
    from importlib.util import find_spec

    return find_spec("mlx_cuda") is not None


def maybe_reexec(argv: list[str], script: str | None = None) -> None:
    """Replace this process with one that has OpenBLAS preloaded, when that helps.

    Re-runs `python -m mlxagent ARGV`, or `python SCRIPT ARGV` for benchmarks.
    """
    if not sys.platform.startswith("linux") or os.environ.get(OPT_OUT) or os.environ.get(MARKER):
        return
    if "libopenblas" in os.environ.get("LD_PRELOAD", ""):
        return
    lib = find_openblas()
    if lib is None or _has_cuda_mlx():
        return
    env = dict(os.environ)
    env[MARKER] = "1"
    env["LD_PRELOAD"] = ":".join(p for p in (lib, env.get("LD_PRELOAD", "")) if p)
    try:
        head = [script] if script else ["-m", "mlxagent"]
        os.execve(sys.executable, [sys.executable, *head, *argv], env)
    except OSError:
        return  # could not re-exec: run as we are, just slower


def reexec_openblas(script: str) -> None:
    """For a script's `__main__`: the same re-exec as the entry point."""
    maybe_reexec(sys.argv[1:], script=script)
