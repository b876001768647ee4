"""The held-out blind bug sets (mlxagent/tasksuite/bugs_blind.py): each task builds, its tests fail
on the buggy project and pass once the fixed files are written, and its `line` points at the bug."""

from __future__ import annotations

import difflib
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from mlxagent.tasksuite import Task, check, materialize
from mlxagent.tasksuite.bugs_blind import blind_bug_tasks

SIZES = {"bugs_blind": (24, 8, 20), "bugs_blind2": (20, 6, 10), "bugs_blind3": (20, 8, 16)}  # tasks, JavaScript ones, kinds at least
TASKS = [t for name in SIZES for t in blind_bug_tasks(name)]
NODE = shutil.which("node")


def _is_js(task: Task) -> bool:
    return all(p.endswith((".js", ".mjs", ".cjs")) for p in task.test_files)


@pytest.mark.parametrize("name", sorted(SIZES))
def test_tasks_build_with_unique_ids_in_a_fixed_order(name):
    tasks, again = blind_bug_tasks(name), blind_bug_tasks(name)
    assert [t.id for t in again] == [t.id for t in tasks]
    assert [t.files for t in again] == [t.files for t in tasks]
    count, js, kinds = SIZES[name]
    assert len({t.id for t in tasks}) == len(tasks) == count
    assert sum(_is_js(t) for t in tasks) == js and not any(_is_js(t) for t in tasks[:count - js])
    assert len({t.mutation for t in tasks}) >= kinds
    assert len({t.id for t in TASKS}) == len(TASKS)  # the sets' ids do not collide
    for task in tasks:
        assert task.source == "blind" and task.module and task.mutation and task.text
        assert task.test_files and all(p in task.files for p in task.test_files)
        assert task.fixed and not set(task.fixed) & set(task.test_files)
        for path, text in task.fixed.items():
            assert path in task.files and task.files[path] != text
        if _is_js(task):
            assert "package.json" in task.files
            assert '"test": "node --test"' in task.files["package.json"]
        else:
            assert all(Path(p).name.startswith("test_") and p.endswith(".py") for p in task.test_files)


def test_texts_describe_the_symptom_not_the_fix():
    for task in TASKS:
        (path, after), = task.fixed.items()
        buggy = task.files[path].splitlines()
        fixed_line_texts = {ln.strip() for ln in after.splitlines()} - {ln.strip() for ln in buggy}
        for ln in fixed_line_texts:
            assert ln not in task.text, (task.id, ln)


@pytest.mark.parametrize("task", TASKS, ids=[t.id for t in TASKS])
def test_line_points_at_the_bug(task):
    (path, after), = task.fixed.items()
    before = task.files[path].splitlines()
    matcher = difflib.SequenceMatcher(None, before, after.splitlines(), autojunk=False)
    near: set[int] = set()
    for tag, i1, i2, _j1, _j2 in matcher.get_opcodes():
        if tag in ("replace", "delete"):
            near.update(range(i1 + 1, i2 + 1))
        elif tag == "insert":   # lines the fix adds go between buggy lines i1 and i1 + 1
            near.update((i1, i1 + 1))
    assert near and 1 <= task.line <= len(before)
    assert task.line in near


def _round_trip(task: Task, root: Path) -> tuple[str, bool, str, bool, str]:
    repo = materialize(task, root / task.id)
    before = check(task, repo)
    for rel, text in task.fixed.items():
        (repo / rel).write_bytes(text.encode("utf-8"))
    after = check(task, repo)
    return task.id, before.passed, before.detail, after.passed, after.detail


def test_buggy_fails_and_fixed_passes(tmp_path):
    tasks = [t for t in TASKS if NODE or not _is_js(t)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda t: _round_trip(t, tmp_path), tasks))
    problems = [f"{tid}: buggy passed ({bd})" for tid, bp, bd, _, _ in results if bp]
    problems += [f"{tid}: fixed failed ({ad})" for tid, _, _, ap, ad in results if not ap]
    assert not problems, "\n".join(problems)
    if NODE is None:
        pytest.skip("node is not installed: the JavaScript tasks were not run")


@pytest.mark.skipif(NODE is None, reason="node is not installed")
def test_node_check_reports_counts_and_changed_tests(tmp_path):
    task = next(t for t in TASKS if _is_js(t))
    repo = materialize(task, tmp_path / "r")
    for rel, text in task.fixed.items():
        (repo / rel).write_text(text)
    result = check(task, repo)
    assert result.passed and "0 fail" in result.detail
    test = repo / task.test_files[0]
    test.write_text(test.read_text() + "\n// touched\n")
    changed = check(task, repo)
    assert changed.tests_passed and not changed.passed
    assert changed.test_files_changed == (task.test_files[0],)
