"""Everything is in pyproject.toml except the optional native kernel (mlxagent/model/qkernel).

At `pip install` on Linux x86-64 it is built with CMake + nanobind against MLX (build
requirements in pyproject.toml). It is optional: if it cannot be built (no compiler, another
platform, MLXAGENT_NO_KERNEL_BUILD set), the install goes on and mlxagent runs on its float32
path; `mlxagent doctor` says which (`decode kernel: ...`).
"""

import importlib.util
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = Path(__file__).resolve().parent


class OptionalKernel(build_ext):
    def run(self):
        spec = importlib.util.spec_from_file_location("qkernel_build", HERE / "mlxagent/model/qkernel/build.py")
        builder = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(builder)
        reason = builder.why_not()
        if reason:
            print(f"mlxagent: native decode kernel not built: {reason}", file=sys.stderr)
            return
        for ext in self.extensions:
            target = Path(self.get_ext_fullpath(ext.name))
            try:
                builder.build(target.parent, log=lambda line: print(line, file=sys.stderr))
            except Exception as e:  # noqa: BLE001 - optional: never fail the install
                print(f"mlxagent: native decode kernel not built ({e}); the float32 path will be used",
                      file=sys.stderr)
                continue
            if self.inplace:
                continue
            # a wheel build: also keep the version file beside the module in the package tree
            info = target.parent / builder.INFO
            if not info.exists():
                print("mlxagent: native decode kernel built without its version file", file=sys.stderr)

    def get_outputs(self):
        return [p for p in super().get_outputs() if Path(p).exists()]


setup(ext_modules=[Extension("mlxagent.model.qkernel._qmm", sources=[])], cmdclass={"build_ext": OptionalKernel})
