"""The blind instruction tasks (mlxagent/tasksuite/instructions_blind.py) are well formed: they
build, ids are unique, every file kind is covered, expected files really change, and every
structured file parses before and after."""

from __future__ import annotations

import ast
import configparser
import json
import tomllib
from collections import Counter
from pathlib import PurePosixPath

import pytest
import yaml

from mlxagent.tasksuite.instruction_runner import CANNOT, FILE_KINDS, InstructionTask, parses
from mlxagent.tasksuite.instructions_blind import (blind_cannot_tasks, blind_instruction_tasks,
                                                   blind_tasks)


def _ini(text: str) -> None:
    configparser.ConfigParser(interpolation=None).read_string(text)


def _yaml(text: str) -> None:
    list(yaml.safe_load_all(text))


_STRUCTURED = {".json": json.loads, ".toml": tomllib.loads, ".yaml": _yaml, ".yml": _yaml,
               ".ini": _ini, ".cfg": _ini, ".py": ast.parse}


def _check_parses(task_id: str, path: str, text: str) -> None:
    parser = _STRUCTURED.get(PurePosixPath(path).suffix)
    if parser is not None:
        try:
            parser(text)
        except Exception as exc:  # noqa: BLE001
            pytest.fail(f"{task_id}: {path} does not parse: {exc}")
    assert parses(path, text) is not False, f"{task_id}: {path} fails instruction_runner.parses"


def test_tasks_build_and_ids_are_unique():
    tasks = blind_tasks()
    assert all(isinstance(t, InstructionTask) for t in tasks)
    ids = [t.id for t in tasks]
    assert len(ids) == len(set(ids))
    assert [t.id for t in blind_tasks()] == ids  # same order every call
    assert len(blind_instruction_tasks()) == 32
    assert len(blind_cannot_tasks()) == 12
    for t in blind_instruction_tasks():
        assert t.id.startswith(f"instr-{t.kind}-b"), t.id
    for t in blind_cannot_tasks():
        assert t.id.startswith("instr-cannot-b"), t.id


def test_every_file_kind_has_at_least_four_tasks():
    counts = Counter(t.kind for t in blind_instruction_tasks())
    assert set(counts) <= set(FILE_KINDS)
    for kind in FILE_KINDS:
        assert counts[kind] >= 4, (kind, counts[kind])


def test_expected_files_exist_and_differ():
    for t in blind_instruction_tasks():
        assert t.expected, t.id
        assert 5 <= len(t.files) <= 12, t.id
        for path, text in t.expected.items():
            assert path in t.files, (t.id, path)
            assert text != t.files[path], (t.id, path)


def test_structured_files_parse_before_and_after():
    for t in blind_tasks():
        for path, text in t.files.items():
            _check_parses(t.id, path, text)
        for path, text in t.expected.items():
            _check_parses(t.id, path, text)


def test_cannot_tasks_expect_nothing():
    for t in blind_cannot_tasks():
        assert t.kind == CANNOT
        assert t.expected == {}


def test_repos_have_realistic_noise():
    repos = {tuple(sorted(t.files.items())): t.files for t in blind_tasks()}
    texts = [text for files in repos.values() for text in files.values()]
    assert any("\r\n" in text for text in texts)  # CRLF somewhere
    assert any(text and not text.endswith("\n") for text in texts)  # a file without final newline
    assert 3 <= len(repos) <= 4
