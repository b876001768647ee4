"""`mlxagent doctor`: what this machine runs the model on, and where things live."""

from __future__ import annotations

import platform
import sys

from . import __version__, paths


def decode_kernel_line() -> str:
    """Which kernel computes a quantised model's products here, and why (model/qkernel)."""
    import mlx.core as mx

    from .model import backend, qkernel

    if backend.backend_name() != "CPU":
        return f"MLX's own quantised kernels ({mx.default_device()})"
    kernel = qkernel.status()
    if kernel.fast or (kernel.available and not backend.loaded_openblas()):
        return f"{kernel.line}; quantised models keep their 4/8-bit weights"
    if kernel.available:
        return f"float32 weights dequantised at load, through OpenBLAS ({kernel.line}: slower than that)"
    fallback = "float32 weights dequantised at load, through OpenBLAS" if backend.loaded_openblas() \
        else "MLX's own scalar quantised kernels"
    return f"{fallback}; native kernel {kernel.line}"


def doctor() -> int:
    import mlx.core as mx

    from .model import backend, default_model

    print(f"mlxagent {__version__} on {platform.system()} {platform.machine()}, Python {sys.version.split()[0]}")
    print(f"MLX {mx.__version__}, backend: {backend.backend_name()} ({mx.default_device()})")
    print(f"BLAS: {backend.blas_name()}")
    if hint := backend.speed_hint():
        print("  hint: " + hint)
    print(f"f32 matmul: {backend.matmul_gflops():.1f} GFLOPS (512x512)")
    print(f"decode kernel: {decode_kernel_line()}")
    state = f"installed at {default_model.model_dir()}" if default_model.is_installed() else \
        "not installed (run `mlxagent models pull`)"
    print(f"default model {default_model.NAME}: {state}")
    print(f"config: {paths.config_file()}")
    print(f"cache:  {paths.cache_dir()}")
    print(f"data:   {paths.data_dir()} (sessions.db: saved conversations)")
    return 0
