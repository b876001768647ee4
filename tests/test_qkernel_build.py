"""Building the native kernel (mlxagent/model/qkernel/build.py, setup.py): a build from the source
gives a module that loads and passes its self-check, and a build that cannot happen never fails an
install (setup.py prints one line and goes on)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mlxagent.model.qkernel import build

ROOT = Path(__file__).resolve().parents[1]
KERNEL = ROOT / "mlxagent" / "model" / "qkernel"


def _source_tree(dest: Path) -> Path:
    """setup.py, pyproject.toml and the kernel's files: what setup.py's build_ext reads."""
    (dest / "mlxagent" / "model").mkdir(parents=True)
    shutil.copy2(ROOT / "setup.py", dest / "setup.py")
    shutil.copy2(ROOT / "pyproject.toml", dest / "pyproject.toml")
    shutil.copy2(ROOT / "README.md", dest / "README.md")
    shutil.copy2(ROOT / "mlxagent" / "__init__.py", dest / "mlxagent" / "__init__.py")
    (dest / "mlxagent" / "model" / "__init__.py").write_text("")
    shutil.copytree(KERNEL, dest / "mlxagent" / "model" / "qkernel",
                    ignore=shutil.ignore_patterns("_qmm*", "__pycache__"))
    return dest


def _build_ext(tree: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "setup.py", "-q", "build_ext", "--inplace"], cwd=tree,
                          capture_output=True, text=True, timeout=300, env={**os.environ, **env})


@pytest.mark.skipif(build.why_not() is not None, reason="the kernel is built on Linux x86-64 only")
def test_a_build_from_the_source_loads_and_passes_its_self_check(tmp_path):
    out = build.build(tmp_path / "out", log=lambda line: None)
    assert out.exists() and out.name == build.module_name()
    info = json.loads((tmp_path / "out" / build.INFO).read_text())
    from importlib.metadata import version

    assert info["mlx"] == version("mlx")
    # in a fresh interpreter: mlx.core first (libmlx, nanobind types), then the module just built
    code = ("import sys, mlx.core as mx; sys.path.insert(0, sys.argv[1]); import _qmm; "
            "from mlxagent.model.qkernel import _self_check; print(_self_check(_qmm, mx), _qmm.simd())")
    run = subprocess.run([sys.executable, "-c", code, str(tmp_path / "out")], capture_output=True, text=True,
                         timeout=120, cwd=ROOT)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.split()[0] == "None"


def test_switched_off_build_never_fails_the_install(tmp_path):
    tree = _source_tree(tmp_path / "src")
    run = _build_ext(tree, MLXAGENT_NO_KERNEL_BUILD="1")
    assert run.returncode == 0, run.stderr[-2000:]
    assert "native decode kernel not built: MLXAGENT_NO_KERNEL_BUILD is set" in run.stderr
    assert not list((tree / "mlxagent" / "model" / "qkernel").glob("_qmm*.so"))


@pytest.mark.skipif(build.why_not() is not None, reason="the kernel is built on Linux x86-64 only")
def test_a_failing_compile_is_one_line_and_the_install_goes_on(tmp_path):
    tree = _source_tree(tmp_path / "src")
    source = tree / "mlxagent" / "model" / "qkernel" / "qmm.cpp"
    source.write_text(source.read_text() + "\nthis is not C++;\n")
    run = _build_ext(tree)
    assert run.returncode == 0, run.stderr[-2000:]
    lines = [line for line in run.stderr.splitlines() if "native decode kernel not built" in line]
    assert len(lines) == 1 and "kernel build failed" in lines[0] and "float32 path" in lines[0]
    assert not list((tree / "mlxagent" / "model" / "qkernel").glob("_qmm*.so"))


def test_why_not_names_the_switch(monkeypatch):
    monkeypatch.setenv("MLXAGENT_NO_KERNEL_BUILD", "1")
    assert build.why_not() == "MLXAGENT_NO_KERNEL_BUILD is set"
    with pytest.raises(RuntimeError, match="MLXAGENT_NO_KERNEL_BUILD"):
        build.build(Path("/nonexistent"))
