"""Runtime values for condition synthesis: which conditions hold where a test expects an exception.

`observe()` runs the project's pytest command once, in a `ScratchCopy`, with a tiny pytest plugin
(`-p mlxagent_probe_plugin` from a temp dir on PYTHONPATH; the standard library only) that traces
the lines of the given files. At each *site* (a line a guard would go before) it evaluates the
site's candidate conditions in that frame. Each observation belongs to the innermost block that
expects an exception around it (`with pytest.raises(E):`, `with self.assertRaises(E):`; the plugin
wraps both), or to none: "outside". The wrapped blocks also note whether E was raised, and never
fail: a block that did not raise lets its test go on, so that the blocks after it are seen too.

Afterwards, for an exception `target` (the one a failing block expects), a condition *holds* at
a site when
- outside any block, and in blocks expecting another exception, it was never true and never failed
  (a guard raising `target` there would break that test);
- in blocks expecting `target` that did raise it, it never failed (true or false: both raise it);
- in every block expecting `target` that did not raise it (the ones to fix), it was true before it
  ever failed.
When no single condition covers every block to fix, two that hold elsewhere and cover them
together are offered as `a or b`. This is how Nopol and angelic-value repair find a missing
condition: from the values the tests produce, not from a template's guess. Conditions are made
from names, attributes, comparisons and side-effect-free methods only (conditions.py), and run in
the scratch copy.

Only for pytest, with an interpreter `spectrum.coverage_argv` can tell; anything else gives None.
The run is of the failing blocks' test files only (tracing slows a large suite down), within
PROBE_SECONDS.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from ..testing.runner import run_command
from .scratch import ScratchCopy
from .spectrum import _path_with, coverage_argv

PROBE_SECONDS = 30.0
PLUGIN = "mlxagent_probe_plugin"
SPEC_ENV = "MLXAGENT_PROBE_SPEC"
OUT_ENV = "MLXAGENT_PROBE_OUT"
MAX_EVENTS = 20_000  # observations per site outside any block at most (a hot loop stops being watched)
MAX_RUNS = 300  # block runs recorded at most

_PLUGIN_SOURCE = r'''
import json
import os
import sys
import threading

_spec = json.load(open(os.environ["%(spec)s"], encoding="utf-8"))
_root = os.path.realpath(os.getcwd())
_sites = {}  # realpath -> {line: (site index, compiled conditions)}
for _index, (_rel, _line, _conds) in enumerate(_spec["sites"]):
    _compiled = []
    for _c in _conds:
        try:
            _compiled.append(compile(_c, "<probe>", "eval"))
        except SyntaxError:
            _compiled.append(None)
    _sites.setdefault(os.path.realpath(os.path.join(_root, _rel)), {})[_line] = (_index, _compiled)
_outside = [{"bad": set(), "n": 0} for _ in _spec["sites"]]  # never true nor failing, outside any block
_runs = []  # one per block run: exception names, raised, and per site: true first / ever true / ever failed
_stack = []
_names = {}


def _real(filename):
    real = _names.get(filename)
    if real is None:
        real = _names[filename] = os.path.realpath(filename)
    return real


def _observe(frame, index, compiled):
    run = _stack[-1] if _stack else None
    if run is None:
        state = _outside[index]
        if state["n"] >= %(max_events)d:
            return
        state["n"] += 1
        bad = state["bad"]
        for i, code in enumerate(compiled):
            if code is None or i in bad:
                continue
            try:
                if eval(code, frame.f_globals, frame.f_locals):
                    bad.add(i)
            except Exception:
                bad.add(i)
        return
    if run is False:
        return  # past MAX_RUNS
    seen = run["sites"].setdefault(index, ([], set(), set()))  # (true first, ever true, ever failed)
    first, true, failed = seen
    skip = _outside[index]["bad"]
    for i, code in enumerate(compiled):
        if code is None or i in skip or i in failed:
            continue
        try:
            value = bool(eval(code, frame.f_globals, frame.f_locals))
        except Exception:
            failed.add(i)
            continue
        if value and i not in true:
            true.add(i)
            first.append(i)


def _local(frame, event, arg):
    if event == "line":
        site = _sites.get(_real(frame.f_code.co_filename), {}).get(frame.f_lineno)
        if site is not None:
            _observe(frame, *site)
    return _local


def _global(frame, event, arg):
    if event == "call" and _real(frame.f_code.co_filename) in _sites:
        return _local
    return None


def _exception_names(expected):
    items = expected if isinstance(expected, tuple) else (expected,)
    return [getattr(e, "__name__", str(e)) for e in items]


class _Watched:
    """A block that expects an exception: records its run; never fails, so the test goes on."""

    def __init__(self, inner, expected):
        self.inner, self.expected = inner, expected

    def __enter__(self):
        if len(_runs) < %(max_runs)d:
            self.run = {"names": _exception_names(self.expected), "raised": False, "sites": {}}
            _runs.append(self.run)
        else:
            self.run = False
        _stack.append(self.run)
        return self.inner.__enter__()

    def __exit__(self, et, ev, tb):
        if _stack:
            _stack.pop()
        raised = False
        if et is not None and isinstance(self.expected, (type, tuple)):
            try:
                raised = issubclass(et, self.expected) and bool(self.inner.__exit__(et, ev, tb))
            except Exception:
                raised = False
        if self.run:
            self.run["raised"] = raised
        return True


def _wrap_pytest():
    try:
        import pytest
    except Exception:
        return
    original = pytest.raises

    def raises(expected_exception, *args, **kwargs):
        if args:
            return original(expected_exception, *args, **kwargs)
        return _Watched(original(expected_exception, **kwargs), expected_exception)

    pytest.raises = raises


def _wrap_unittest():
    import unittest

    for name in ("assertRaises", "assertRaisesRegex"):
        original = getattr(unittest.TestCase, name)

        def wrapped(self, expected_exception, *args, _original=original, _name=name, **kwargs):
            context_form = not args if _name == "assertRaises" else len(args) == 1
            if not context_form or kwargs.keys() - {"msg"}:
                return _original(self, expected_exception, *args, **kwargs)
            return _Watched(_original(self, expected_exception, *args, **kwargs), expected_exception)

        setattr(unittest.TestCase, name, wrapped)


_wrap_pytest()
_wrap_unittest()
sys.settrace(_global)
threading.settrace(_global)


def pytest_sessionfinish(session, exitstatus):
    sys.settrace(None)
    out = {"outside": [sorted(s["bad"]) for s in _outside],
           "runs": [{"names": r["names"], "raised": r["raised"],
                     "sites": {str(k): [v[0], sorted(v[1]), sorted(v[2])] for k, v in r["sites"].items()}}
                    for r in _runs]}
    with open(os.environ["%(out)s"], "w", encoding="utf-8") as f:
        json.dump(out, f)
''' % {"spec": SPEC_ENV, "out": OUT_ENV, "max_events": MAX_EVENTS, "max_runs": MAX_RUNS}


@dataclass(frozen=True)
class Site:
    """A line a guard would go before, and the conditions to try there."""

    path: str  # relative to the repository
    line: int
    conditions: tuple[str, ...]


def observe(root: Path | str, files: Sequence[str], command, sites: Sequence[Site], target: str, *,
            tests: Sequence[str] = (), timeout: float = PROBE_SECONDS,
            cancel: threading.Event | None = None) -> list[list[str]] | None:
    """For each site, the conditions that hold there for the exception named `target` (the
    module doc), single ones first, then `a or b` pairs where no single one covers every block
    to fix; [] at a site where none does. None when the probe cannot run (not pytest, an
    interpreter it cannot tell, a timeout, any error) or no block expecting `target` went unraised.
    `tests`: test files to run instead of the whole suite (tracing slows a large one down)."""
    try:
        return _observe(Path(root), files, command, sites, target, tuple(tests), timeout, cancel)
    except Exception:  # noqa: BLE001 - the search goes on without synthesised conditions
        return None


def _observe(root: Path, files, command, sites, target, tests, timeout, cancel) -> list[list[str]] | None:
    if command is None or getattr(command, "runner", None) != "pytest" or not sites:
        return None
    split = coverage_argv(command.argv, root)
    if split is None:
        return None
    python, pytest_args = split
    temp = Path(tempfile.mkdtemp(prefix="mlxagent-probe-"))
    scratch = None
    try:
        scratch = ScratchCopy(root, files)
        spec, out = temp / "spec.json", temp / "out.json"
        spec.write_text(json.dumps({"sites": [[s.path, s.line, list(s.conditions)] for s in sites]}), encoding="utf-8")
        (temp / f"{PLUGIN}.py").write_text(_PLUGIN_SOURCE, encoding="utf-8")
        env = {"PYTHONPATH": _path_with(temp), SPEC_ENV: str(spec), OUT_ENV: str(out)}
        argv = [*python, "-m", "pytest", "-p", PLUGIN, *pytest_args, *tests]
        result = run_command(argv, scratch.root, timeout=timeout, max_output_chars=4000, cancel=cancel, env=env)
        if result.exit_code is None or not out.is_file():
            return None
        return held(json.loads(out.read_text(encoding="utf-8")), sites, target)
    finally:
        if scratch is not None:
            scratch.close()
        shutil.rmtree(temp, ignore_errors=True)


MAX_PAIRS = 4  # `a or b` conditions per site, at most


def held(data: dict, sites: Sequence[Site], target: str) -> list[list[str]] | None:
    """The conditions that hold at each site, from the plugin's record (the module doc's rules)."""
    outside, runs = data.get("outside", []), data.get("runs", [])
    if len(outside) != len(sites):
        return None
    to_fix = [r for r in runs if target in r["names"] and not r["raised"]]
    if not to_fix:
        return None
    out = []
    for index, site in enumerate(sites):
        key = str(index)
        bad = set(outside[index])
        for r in runs:
            first, true, failed = r["sites"].get(key, ([], [], []))
            bad |= set(failed)
            if target not in r["names"]:
                bad |= set(true)
        clean = [i for i in range(len(site.conditions)) if i not in bad]
        covers = {i: {n for n, r in enumerate(to_fix) if i in r["sites"].get(key, ([], [], []))[0]} for i in clean}
        every = set(range(len(to_fix)))
        single = [i for i in clean if covers[i] == every]
        good = [site.conditions[i] for i in single]
        if not single and len(to_fix) > 1:
            partial = [i for i in clean if covers[i]]
            pairs = [(a, b) for n, a in enumerate(partial) for b in partial[n + 1:] if covers[a] | covers[b] == every]
            good = [f"{site.conditions[a]} or {site.conditions[b]}" for a, b in pairs[:MAX_PAIRS]]
        out.append(good)
    return out
