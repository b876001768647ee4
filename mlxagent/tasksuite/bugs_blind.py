"""A held-out set of small, realistic bug-fix tasks, written without reading the fixer's rules.

Twenty-four small projects, 16 Python (pytest) and 8 JavaScript (`node --test`), each with one bug
of the kind people really write (an off-by-one bound, a wrong comparison, a forgotten `return`, a
stale loop variable, the wrong variable of several in scope, a missing condition, `[]` for `[[]]`,
a bitwise slip, a missing import, a misspelled dict key, `return None` for a raise, an f-string /
template literal that is not one, a mutable default, `//` for `/`, a wrong default, swapped
arguments, ...). The request text describes the symptom the user sees, never the fix.

    tasks = blind_bug_tasks()     # the same 24 tasks, in the same order, every call
    tasks = blind_bug_tasks("bugs_blind2")   # the second set (20: 14 Python, 6 JavaScript), written
                                             # the same way later, after the first had been read
    tasks = blind_bug_tasks("bugs_blind3")   # the third (20: 12 Python, 8 JavaScript), after the second

Each project is stored correct; the bug is planted by one exact text replacement in one file, so
`fixed` is the correct file and `line` is the first line of the buggy file that the fix changes
(for a fix that only adds lines: the line just above where they go). The projects, requests and
snippets live in data/bugs_blind.json (read by _taskdata.py).
"""

from __future__ import annotations

import difflib
from pathlib import PurePosixPath

from . import Task, _taskdata

__all__ = ["blind_bug_tasks"]

SETS = {"bugs_blind": "blind", "bugs_blind2": "blind2", "bugs_blind3": "blind3"}  # data file -> task id prefix


def _is_test(path: str) -> bool:
    name = PurePosixPath(path).name
    return (name.startswith("test_") and name.endswith(".py")) or ".test." in name


def _first_changed_line(buggy: str, fixed: str) -> int:
    """1-based line of `buggy` that the fix first changes; for a fix that only inserts lines,
    the buggy line just above the insertion (1 at the top of the file)."""
    matcher = difflib.SequenceMatcher(None, buggy.splitlines(), fixed.splitlines(), autojunk=False)
    for tag, i1, _i2, _j1, _j2 in matcher.get_opcodes():
        if tag in ("replace", "delete"):
            return i1 + 1
        if tag == "insert":
            return max(i1, 1)
    return 0


def _build(prefix, module, kind, text, files, bug_file, correct, buggy) -> Task:
    source = files[bug_file]
    if source.count(correct) != 1:
        raise AssertionError(f"{module}: the fix snippet occurs {source.count(correct)} times")
    broken = source.replace(correct, buggy)
    return Task(
        id=f"{prefix}-{module}-{kind}",
        text=text,
        files={**files, bug_file: broken},
        fixed={bug_file: source},
        test_files=tuple(sorted(p for p in files if _is_test(p))),
        mutation=kind,
        module=module,
        source="blind",
        line=_first_changed_line(broken, source),
    )


def blind_bug_tasks(name: str = "bugs_blind") -> list[Task]:
    """A held-out set's bug tasks (Python, then JavaScript), in a fixed order: `name` is one of
    SETS (the first: 16 + 8 tasks)."""
    return [_build(SETS[name], t["module"], t["kind"], t["text"], _taskdata.files(t["files"]), t["bug_file"],
                   t["correct"], t["buggy"])
            for t in _taskdata.load(name)["tasks"]]
