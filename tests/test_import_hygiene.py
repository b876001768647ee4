"""The domain (core/, model/) and the HTTP server never import Textual or Rich, so they run headless."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

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
    code = (f"import sys, {module}\n"
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich'))\n"
            "print(','.join(bad))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "", f"{module} loads {done.stdout.strip()}"
