"""The checks' budget: the best-ranked few are always checked; more only while the tests are fast."""

from __future__ import annotations

import time
from pathlib import Path

from mlxagent.core.repair import Sources, candidates, search
from mlxagent.core.repair.search import MAX_CHECKED

from test_repair import failing_report, make_repo, run_search

SOURCE = ("def scale(values, factor, offset):\n"
          "    out = []\n"
          "    for v in values:\n"
          "        out.append(v * factor + offset - 1)\n"
          "    return out\n")
TEST = "from m import scale\n\ndef test_scale():\n    assert scale([1, 2], 2, 1) == [3, 5]\n"


def _setup(tmp_path: Path):
    root = make_repo(tmp_path, {"m.py": SOURCE, "test_m.py": TEST})
    report = failing_report(root)
    sources = Sources(root, ["m.py", "test_m.py"])
    cands = candidates(sources, "fix m.py", report)
    assert len(cands) > MAX_CHECKED + 6
    return root, report, sources


def _checker_passing_at(rank: int, delay: float = 0.0):
    """A checker that fails the first `rank - 1` candidates it sees and passes the next."""
    seen = []

    def check(root: Path) -> bool:
        seen.append(root)
        time.sleep(delay)
        return len(seen) == rank
    return check, seen


def test_fast_tests_get_more_checks_than_the_fixed_few(tmp_path):
    root, report, sources = _setup(tmp_path)
    check, seen = _checker_passing_at(MAX_CHECKED + 5)
    _, result = run_search(search(sources, "fix m.py", report, None, check, fast_seconds=60.0))
    assert result.found is not None and len(result.checked) == MAX_CHECKED + 5 == len(seen)


def test_slow_tests_stop_at_the_fixed_few(tmp_path):
    root, report, sources = _setup(tmp_path)
    check, seen = _checker_passing_at(MAX_CHECKED + 5, delay=0.05)
    # 14 checks of 0.05 s already pass a 0.3 s budget: the wider search is not tried
    _, result = run_search(search(sources, "fix m.py", report, None, check, fast_seconds=0.3))
    assert result.found is None and len(result.checked) == MAX_CHECKED == len(seen)
    assert f"none of the {MAX_CHECKED} best-ranked" in result.message


def test_an_explicit_cap_still_holds(tmp_path):
    root, report, sources = _setup(tmp_path)
    check, seen = _checker_passing_at(100)
    _, result = run_search(search(sources, "fix m.py", report, None, check, max_checked=3, fast_checked=3))
    assert len(result.checked) == 3 == len(seen)
