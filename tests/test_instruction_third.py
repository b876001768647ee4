"""The third blind instruction task set builds and is well formed (no model, no agent)."""

from __future__ import annotations

import ast
import configparser
import json
import tomllib
from pathlib import PurePosixPath

import pytest
import yaml

from mlxagent.tasksuite.instruction_runner import CANNOT, FILE_KINDS, parses
from mlxagent.tasksuite.instructions_third import (
    third_cannot_tasks,
    third_instruction_tasks,
    third_tasks,
)


def _ini(text: str) -> None:
    configparser.ConfigParser(interpolation=None).read_string(text)


PARSERS = {
    ".json": json.loads,
    ".toml": tomllib.loads,
    ".yaml": yaml.safe_load,
    ".yml": yaml.safe_load,
    ".ini": _ini,
    ".cfg": _ini,
    ".py": ast.parse,
}

TASKS = third_tasks()
EXACT = third_instruction_tasks()
CANNOTS = third_cannot_tasks()


def test_counts_and_order():
    assert len(EXACT) == 21 and len(CANNOTS) == 6
    assert [t.id for t in TASKS] == [t.id for t in EXACT + CANNOTS]
    assert [t.id for t in third_tasks()] == [t.id for t in TASKS]  # fixed order


def test_ids_unique_and_named_by_kind():
    ids = [t.id for t in TASKS]
    assert len(ids) == len(set(ids))
    for task in TASKS:
        assert task.id.startswith(f"instr-{task.kind}-t"), task.id
        assert task.text.strip()


def test_each_kind_has_at_least_three():
    for kind in FILE_KINDS:
        assert sum(t.kind == kind for t in EXACT) >= 3, kind
    assert all(t.kind == CANNOT for t in CANNOTS)


def test_repositories_are_small():
    for task in TASKS:
        assert 6 <= len(task.files) <= 12, task.id


@pytest.mark.parametrize("task", EXACT, ids=lambda t: t.id)
def test_expected_differs_and_stays_in_repo(task):
    assert task.expected
    for path, text in task.expected.items():
        assert path in task.files
        assert text != task.files[path]
        if "\r\n" in task.files[path]:  # a CRLF file stays CRLF
            assert "\n" not in text.replace("\r\n", "")
    kinds_touched = {PurePosixPath(p).suffix.lstrip(".") for p in task.expected}
    assert task.kind in {{"yml": "yaml"}.get(k, k) for k in kinds_touched}


@pytest.mark.parametrize("task", TASKS, ids=lambda t: t.id)
def test_structured_files_parse_before_and_after(task):
    after = {**task.files, **task.expected}
    for label, files in (("before", task.files), ("after", after)):
        for path, text in files.items():
            suffix = PurePosixPath(path).suffix
            if suffix in PARSERS:
                try:
                    PARSERS[suffix](text)
                except Exception as exc:  # noqa: BLE001
                    pytest.fail(f"{task.id}: {path} does not parse {label}: {exc}")
            if suffix == ".js":
                assert parses(path, text), f"{task.id}: {path} unbalanced {label}"


def test_cannot_tasks_expect_nothing():
    for task in CANNOTS:
        assert task.expected == {}
        assert task.kind == CANNOT
