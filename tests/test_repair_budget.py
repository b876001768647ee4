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


def _many(tmp_path: Path, n: int):
    from mlxagent.core.repair import Candidate

    root = make_repo(tmp_path, {"a.py": "x = 0\n"})
    cands = [Candidate((("a.py", f"x = {k}\n"),), "a.py", 1, "number", str(k), prior=1.0 - k / 1000)
             for k in range(1, n + 1)]
    return Sources(root, ["a.py"]), cands


def test_the_model_scores_past_the_first_few_while_scoring_is_fast(tmp_path):
    """Hundreds of candidates of equal place: past MAX_SCORED the scoring goes on a chunk at a
    time while it fits the time budget, so the last-by-prior one, which the model likes best, wins."""
    from mlxagent.core.repair.ranking import MAX_SCORED, MORE_SCORED, rank

    sources, cands = _many(tmp_path, MORE_SCORED + 40)
    now = [0.0]
    calls = []

    def scorer(path, ctx, base, variants):
        calls.append(len(variants))
        now[0] += 0.01 * len(variants)  # fast: 10 ms a candidate
        return [float(v.split("= ")[1]) for v in variants]

    assert len(rank(cands, sources, scorer, "task", clock=lambda: now[0])) == MAX_SCORED  # without `more`
    calls.clear()
    ranked = rank(cands, sources, scorer, "task", more=MORE_SCORED, clock=lambda: now[0])
    assert len(ranked) == MORE_SCORED and calls[0] == MAX_SCORED
    assert ranked[0].description == str(MORE_SCORED)  # the best one scored, far down by prior


def test_slow_scoring_stops_at_the_first_few(tmp_path):
    from mlxagent.core.repair.ranking import MAX_SCORED, SCORE_SECONDS, rank

    sources, cands = _many(tmp_path, MAX_SCORED * 3)
    now = [0.0]

    def scorer(path, ctx, base, variants):
        now[0] += SCORE_SECONDS / MAX_SCORED * 1.5 * len(variants)  # the first 120 take 1.5x the budget
        return [0.0] * len(variants)

    assert len(rank(cands, sources, scorer, "task", more=MAX_SCORED * 3, clock=lambda: now[0])) == MAX_SCORED
    now[0] = 0.0

    def half(path, ctx, base, variants):  # the first 120 take half the budget: one chunk more fits
        now[0] += SCORE_SECONDS / MAX_SCORED * 0.5 * len(variants)
        return [0.0] * len(variants)

    from mlxagent.core.repair.ranking import SCORE_CHUNK
    assert len(rank(cands, sources, half, "task", more=MAX_SCORED * 3, clock=lambda: now[0])) \
        == MAX_SCORED + SCORE_CHUNK * 2


def test_when_none_of_the_best_by_prior_passes_the_model_scores_more_and_those_are_checked(tmp_path, monkeypatch):
    """200 candidates of one place: the fix is 190th by prior, past the 120 scored first. None of
    those passes, so the model scores the rest and the best 14 of them are checked: found."""
    import importlib

    search_module = importlib.import_module("mlxagent.core.repair.search")
    from mlxagent.core.repair.ranking import MAX_SCORED

    sources, cands = _many(tmp_path, 200)
    monkeypatch.setattr(search_module, "candidates", lambda *a, **k: list(cands))
    scored = []

    def scorer(path, ctx, base, variants):
        scored.extend(variants)
        return [float(v.split("= ")[1]) for v in variants]  # the model likes the larger numbers

    checked = []

    def check(root: Path) -> bool:
        checked.append((root / "a.py").read_text())
        return (root / "a.py").read_text() == "x = 190\n"

    _, result = run_search(search(sources, "fix a.py", None, scorer, check))
    assert result.found is not None and result.found.description == "190"
    assert len(scored) == 200 and result.scored == 200
    assert checked[:1] == ["x = 120\n"] and "x = 200\n" in checked  # the first 120, then the rest
    fast = min(search_module.FAST_CHECKED, MAX_SCORED)  # the fast checks of the first scored, then 200..190
    assert checked[-1] == "x = 190\n" and len(checked) == fast + 11

    scored.clear()
    _, result = run_search(search(sources, "fix a.py", None, scorer, lambda root: (root / "a.py").read_text() == "x = 100\n"))
    assert result.found is not None and len(scored) == MAX_SCORED  # found among the first: no more scoring
