"""The fresh held-out instruction tasks (mlxagent/tasksuite/instructions_fresh.py) are well formed:
they build, ids are unique, every file kind is covered, every expected file really changes, and
structured files parse both before and after the expected edit."""

from __future__ import annotations

import ast
import configparser
import json
import tomllib
from pathlib import PurePosixPath

import pytest
import yaml

from mlxagent.tasksuite.instruction_runner import CANNOT, FILE_KINDS, parses
from mlxagent.tasksuite.instructions_fresh import (fresh_cannot_tasks, fresh_instruction_tasks,
                                                     fresh_tasks)


def _ini(text: str) -> None:
    configparser.ConfigParser(interpolation=None).read_string(text)


_CHECKS = {
    ".json": json.loads,
    ".toml": tomllib.loads,
    ".yaml": lambda t: list(yaml.safe_load_all(t)),
    ".yml": lambda t: list(yaml.safe_load_all(t)),
    ".ini": _ini,
    ".py": ast.parse,
}

TASKS = fresh_tasks()


def test_counts_and_ids():
    normal, cannot = fresh_instruction_tasks(), fresh_cannot_tasks()
    assert len(normal) == 28 and len(cannot) == 10
    ids = [t.id for t in TASKS]
    assert len(ids) == len(set(ids))
    for kind in FILE_KINDS:
        of_kind = [t for t in normal if t.kind == kind]
        assert len(of_kind) >= 4, kind
        assert all(t.id.startswith(f"instr-{kind}-f") for t in of_kind)
    assert all(t.kind == CANNOT and t.id.startswith("instr-cannot-f") for t in cannot)


def test_same_order_every_call():
    assert [t.id for t in fresh_tasks()] == [t.id for t in TASKS]
    assert [t.text for t in fresh_tasks()] == [t.text for t in TASKS]


def test_repos_are_small_realistic():
    for task in TASKS:
        assert 6 <= len(task.files) <= 12, task.id
        assert task.text.strip()
    assert any("\r\n" in text for t in TASKS for text in t.files.values())


@pytest.mark.parametrize("task", fresh_instruction_tasks(), ids=lambda t: t.id)
def test_expected_changes_and_parses(task):
    assert task.expected
    for path, after in task.expected.items():
        assert path in task.files
        assert after != task.files[path]
    kinds = {PurePosixPath(p).suffix.lstrip(".") for p in task.expected}
    assert task.kind in kinds


@pytest.mark.parametrize("task", TASKS, ids=lambda t: t.id)
def test_structured_files_parse(task):
    for path, before in task.files.items():
        suffix = PurePosixPath(path).suffix
        texts = [before] + ([task.expected[path]] if path in task.expected else [])
        for text in texts:
            check = _CHECKS.get(suffix)
            if check is not None:
                check(text)
            if suffix == ".js":
                assert parses(path, text), path


def test_cannot_tasks_expect_nothing():
    for task in fresh_cannot_tasks():
        assert task.expected == {}
