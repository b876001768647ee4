"""Build the native kernel (qmm.cpp) with CMake and nanobind against the installed MLX.

Called by setup.py at `pip install` (a failure there is a warning, never a failed install) and by
hand: `python -m mlxagent.model.qkernel.build [--out DIR]`. Writes `_qmm*.so` and `_qmm.json`
(the MLX version and nanobind version it was built against: the loader refuses a module built
for another MLX, whose C++ ABI may differ). Imports nothing of mlxagent, so setup.py can run it
from a source tree in an isolated build environment.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
INFO = "_qmm.json"


def why_not() -> str | None:
    """Why this machine gets no native kernel build, or None."""
    if sys.platform != "linux":
        return f"built on Linux only (this is {sys.platform}; MLX's own kernels serve Metal)"
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return f"x86-64 only (this is {platform.machine()})"
    if os.environ.get("MLXAGENT_NO_KERNEL_BUILD"):
        return "MLXAGENT_NO_KERNEL_BUILD is set"
    return None


def module_name() -> str:
    return "_qmm" + (sysconfig.get_config_var("EXT_SUFFIX") or ".so")


def build(out_dir: Path = HERE, log=print) -> Path:
    """Configure and build in a temporary directory; copy the module and its info into out_dir."""
    reason = why_not()
    if reason:
        raise RuntimeError(reason)
    import mlx.core as mx  # noqa: F401 - must be importable: its headers and libmlx are used
    import nanobind

    cmake = shutil.which("cmake")
    if cmake is None:
        try:
            import cmake as cmake_pkg  # the PyPI cmake wheel

            cmake = str(Path(cmake_pkg.CMAKE_BIN_DIR) / "cmake")
        except ImportError:
            raise RuntimeError("cmake not found (pip install cmake)") from None
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="mlxagent-qkernel-") as tmp:
        jobs = str(max(1, os.cpu_count() or 1))
        configure = [cmake, "-S", str(HERE), "-B", tmp, "-DCMAKE_BUILD_TYPE=Release",
                     f"-DPython_EXECUTABLE={sys.executable}"]
        for cmd in (configure, [cmake, "--build", tmp, "--parallel", jobs]):
            run = subprocess.run(cmd, capture_output=True, text=True)
            if run.returncode != 0:
                tail = (run.stdout + run.stderr).strip().splitlines()[-15:]
                raise RuntimeError("kernel build failed: " + " | ".join(tail))
        built = next(Path(tmp).glob("_qmm*.so"), None)
        if built is None:
            raise RuntimeError("kernel build produced no module")
        target = out_dir / module_name()
        # A new file renamed over the old one: a running mlxagent keeps the module it mapped
        # (copying into the same file would change it under that process).
        staged = target.with_name(target.name + ".new")
        shutil.copy2(built, staged)
        os.replace(staged, target)
    from importlib.metadata import version

    info = {"mlx": version("mlx"), "nanobind": nanobind.__version__, "python": sys.version.split()[0]}
    (out_dir / INFO).write_text(json.dumps(info) + "\n")
    log(f"mlxagent: native decode kernel built ({target.name}, mlx {info['mlx']})")
    return target


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(HERE))
    args = parser.parse_args()
    try:
        build(Path(args.out))
    except Exception as e:  # noqa: BLE001 - one line for the person who ran it
        print(f"mlxagent: native kernel not built: {e}", file=sys.stderr)
        sys.exit(1)
