"""Faster checks of candidate fixes where pytest's installed plugins cost more than the tests.

pytest loads every plugin installed in the environment at start-up (setuptools entry points:
hypothesis, textual's snapshots, coverage, ...). On this project's own environment that is 0.85 s
of a 1.0 s run of a small project's tests (BENCHMARKS.md), so the candidate search's time budget
checked about thirty candidates where it could check two hundred. `PYTEST_DISABLE_PLUGIN_AUTOLOAD=1`
skips them; a project whose tests need one (pytest-asyncio, pytest-django) names it in its
configuration with `-p`, which still loads, or its tests behave otherwise without it.

So `quick_checker()` first runs the tests once without the autoloaded plugins, in a scratch copy of
the repository as it is: when that run fails and passes exactly the tests the agent's own run did,
candidates are checked that way, and the one that passes is checked again with the test command
as the user runs it (a candidate counts only when both pass). Otherwise every check is the usual one.

    check = quick_checker(gate, command, sources, baseline, cancel, per_test)
    check(scratch_root)  # -> bool
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Callable

from ..testing.report import TestReport
from .scratch import ScratchCopy
from .sources import Sources

__all__ = ["NO_AUTOLOAD", "quick_checker"]

NO_AUTOLOAD = {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}


def quick_checker(gate, command, sources: Sources, baseline: TestReport | None,
                  cancel: threading.Event | None = None, per_test: int | None = None) -> Callable[[Path], bool]:
    """The checker the search uses: quick where the tests tell the same without the autoloaded
    plugins (the module doc), gate.check otherwise."""

    def full(root: Path) -> bool:
        return gate.check(command, root, cancel, per_test)

    if getattr(command, "runner", None) != "pytest" or baseline is None or baseline.ok or not baseline.failures:
        return full
    try:
        scratch = ScratchCopy(sources.root, sources.paths)
        try:
            bare = gate.check_report(command, scratch.root, cancel, per_test, NO_AUTOLOAD)
        finally:
            scratch.close()
    except Exception:  # noqa: BLE001 - no quick path: every check is the usual one
        return full
    if bare is None or not same_verdict(bare, baseline):
        return full

    def quick(root: Path) -> bool:
        report = gate.check_report(command, root, cancel, per_test, NO_AUTOLOAD)
        return report is not None and report.ok and full(root)

    return quick


def same_verdict(a: TestReport, b: TestReport) -> bool:
    """The two runs passed and failed the same tests."""
    return (a.passed, a.failed, a.errors) == (b.passed, b.failed, b.errors) \
        and sorted(f.name for f in a.failures) == sorted(f.name for f in b.failures)
