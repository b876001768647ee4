"""The house of imports: the layers contract and no circles (import-linter, configured in
pyproject.toml), and the domain (core/, model/) and the HTTP server never load Textual or Rich,
so they run headless."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import mlxagent.core
import mlxagent.model
import mlxagent.server


def _domain_modules() -> list[str]:
    names = []
    for package in (mlxagent.core, mlxagent.model, mlxagent.server):
        names.append(package.__name__)
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            names.append(info.name)
    return names


@pytest.mark.parametrize("module", _domain_modules())
def test_domain_module_does_not_load_textual_or_rich(module):
    # mlx.core first, as the product does: the native kernel (model/qkernel/_qmm) links libmlx,
    # which the dynamic linker finds once mlx.core has loaded it (its build-time path is pip's
    # temporary build environment)
    code = (f"import sys, mlx.core, {module}\n"
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich'))\n"
            "print(','.join(bad))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "", f"{module} loads {done.stdout.strip()}"


def test_import_contracts_hold():
    """`lint-imports`: front ends above the builder above the model above the domain; inside the
    domain the loop above its rooms; no module or package circles (lazy imports count too)."""
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run([sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command; "
                           "sys.exit(lint_imports_command())"], capture_output=True, text=True, timeout=300, cwd=root)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout
