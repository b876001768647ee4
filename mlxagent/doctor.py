"""`mlxagent doctor`: what this machine runs the model on, and where things live."""

from __future__ import annotations

import platform
import sys

from . import __version__, paths


def doctor() -> int:
    import mlx.core as mx

    from .blas import find_openblas
    from .model import backend, default_model

    print(f"mlxagent {__version__} on {platform.system()} {platform.machine()}, Python {sys.version.split()[0]}")
    print(f"MLX {mx.__version__}, backend: {backend.backend_name()} ({mx.default_device()})")
    print(f"BLAS: {backend.blas_name()}")
    if backend.backend_name() == "CPU" and sys.platform.startswith("linux") and not backend.loaded_openblas():
        lib = find_openblas()
        print("  hint: " + ("OpenBLAS found at " + lib + " but not loaded (MLXAGENT_NO_OPENBLAS set?)" if lib
                            else "install libopenblas0-pthread for ~30x faster CPU matmuls"))
    print(f"f32 matmul: {backend.matmul_gflops():.1f} GFLOPS (512x512)")
    state = f"installed at {default_model.model_dir()}" if default_model.is_installed() else \
        "not installed (run `mlxagent models pull`)"
    print(f"default model {default_model.NAME}: {state}")
    print(f"config: {paths.config_file()}")
    print(f"cache:  {paths.cache_dir()}")
    return 0
