"""Which MLX backend and BLAS this process runs on, and a quick matmul measurement."""

from __future__ import annotations

import sys
import time
from pathlib import Path


def backend_name() -> str:
    import mlx.core as mx

    if mx.metal.is_available():
        return "Metal"
    try:
        if mx.cuda.is_available():
            return "CUDA"
    except AttributeError:
        pass
    return "CPU"


def loaded_openblas() -> str | None:
    """Path of the OpenBLAS mapped into this process, if any (Linux)."""
    maps = Path("/proc/self/maps")
    if not maps.exists():
        return None
    try:
        for line in maps.read_text().splitlines():
            if "libopenblas" in line:
                return line.split()[-1]
    except OSError:
        return None
    return None


def blas_name() -> str:
    if backend_name() != "CPU":
        return "n/a (GPU)"
    if sys.platform == "darwin":
        return "Accelerate"
    if lib := loaded_openblas():
        return f"OpenBLAS ({lib})"
    return "reference BLAS (built into mlx-cpu; slow)"


def speed_hint() -> str | None:
    """One line when the CPU backend runs on Linux without OpenBLAS (prompts prefill ~20x slower)."""
    if not sys.platform.startswith("linux") or backend_name() != "CPU" or loaded_openblas():
        return None
    from ..blas import OPT_OUT, find_openblas

    lib = find_openblas()
    if lib:
        return f"OpenBLAS is at {lib} but not loaded ({OPT_OUT} set?): the CPU backend runs ~20x slower without it."
    return ("The CPU backend is running mlx's reference BLAS, ~20x slower on prompts: "
            "install libopenblas0-pthread (apt) and restart; mlxagent loads it by itself.")


def matmul_gflops(n: int = 512, repeats: int = 5) -> float:
    """Measured f32 matmul throughput on the default device."""
    import mlx.core as mx

    a = mx.random.normal((n, n))
    b = mx.random.normal((n, n))
    mx.eval(a @ b)  # warm up
    t0 = time.perf_counter()
    for _ in range(repeats):
        mx.eval(a @ b)
    dt = (time.perf_counter() - t0) / repeats
    return 2 * n**3 / dt / 1e9
