"""The held-out instruction sets kept as JSON: the fourth (instructions_fourth.py, 2026-12-06) and
the fifth, sixth, seventh and eighth (instructions_fifth.py, _sixth.py, _seventh.py, _eighth.py,
2026-12-07), read by tasksuite/instruction_data.py."""

from __future__ import annotations

import ast
import configparser
import json
import re
import tomllib
from collections import Counter
from pathlib import PurePosixPath

import pytest
import yaml

from mlxagent.tasksuite import (instructions_eighth, instructions_fifth, instructions_fourth, instructions_seventh,
                                instructions_sixth)
from mlxagent.tasksuite.instruction_runner import CANNOT, FILE_KINDS, InstructionTask

# module, its functions' prefix, tasks per file kind, cannot tasks, id prefix, the day it was written,
# files written with CRLF at least, tasks changing several files at least
SETS = {"fourth": (instructions_fourth, "fourth", 4, 6, "instr4", "2026-12-06", 3, 6),
        "fifth": (instructions_fifth, "fifth", 5, 6, "fifth", "2026-12-07", 1, 6),
        "sixth": (instructions_sixth, "sixth", 5, 6, "sixth", "2026-12-07", 1, 5),
        "seventh": (instructions_seventh, "seventh", 5, 6, "seventh", "2026-12-07", 1, 5),
        "eighth": (instructions_eighth, "eighth", 5, 6, "eighth", "2026-12-07", 1, 1)}


def _fns(name: str):
    module, prefix = SETS[name][:2]
    return (getattr(module, f"{prefix}_instruction_tasks"), getattr(module, f"{prefix}_cannot_tasks"),
            getattr(module, f"{prefix}_tasks"))


def _kind_of(path: str) -> str | None:
    name = PurePosixPath(path).name
    suffix = PurePosixPath(path).suffix
    if name == ".editorconfig" or suffix in (".ini", ".cfg"):
        return "ini"
    if suffix in (".yml", ".yaml"):
        return "yaml"
    return {".py": "py", ".json": "json", ".toml": "toml", ".md": "md", ".js": "js"}.get(suffix)


def _js_balanced(text: str) -> None:
    """Brackets balance outside strings and comments (enough for the plain config modules here)."""
    pairs, stack, i = {")": "(", "]": "[", "}": "{"}, [], 0
    while i < len(text):
        ch = text[i]
        if text.startswith("//", i):
            i = text.find("\n", i) if "\n" in text[i:] else len(text)
            continue
        if ch in "'\"`":
            end = i + 1
            while text[end] != ch:
                end += 2 if text[end] == "\\" else 1
            i = end + 1
            continue
        if ch in "([{":
            stack.append(ch)
        elif ch in pairs:
            if not stack or stack.pop() != pairs[ch]:
                raise ValueError(f"unbalanced {ch!r} at {i}")
        i += 1
    if stack:
        raise ValueError(f"unclosed {stack}")


def _parse(path: str, text: str) -> None:
    kind = _kind_of(path)
    if kind == "json":
        json.loads(text)
    elif kind == "toml":
        tomllib.loads(text)
    elif kind == "ini":
        configparser.ConfigParser().read_string(text)
    elif kind == "yaml":
        yaml.safe_load(text)
    elif kind == "py":
        ast.parse(text)
    elif kind == "js":
        _js_balanced(text)


def _after(task: InstructionTask) -> dict[str, str]:
    return {**task.files, **task.expected}


@pytest.fixture(params=sorted(SETS))
def which(request) -> str:
    return request.param


@pytest.fixture
def tasks(which) -> list[InstructionTask]:
    return _fns(which)[2]()


def _instruction_tasks(which: str) -> list[InstructionTask]:
    return _fns(which)[0]()


def test_the_set_loads_its_instruction_tasks_and_cannot_tasks(which, tasks):
    normal, cannot, _ = _fns(which)
    per_kind, n_cannot = SETS[which][2:4]
    assert all(isinstance(t, InstructionTask) for t in tasks)
    assert len(normal()) == per_kind * len(FILE_KINDS)
    assert len(cannot()) == n_cannot
    assert len(tasks) == per_kind * len(FILE_KINDS) + n_cannot
    assert [t.id for t in tasks] == [t.id for t in normal() + cannot()]


def test_ids_are_unique_and_name_their_kind(which, tasks):
    ids = [t.id for t in tasks]
    assert len(set(ids)) == len(ids)
    for t in tasks:
        assert re.fullmatch(rf"{SETS[which][4]}-{t.kind}-\d+", t.id), t.id
        assert t.text.strip() and t.files


def test_as_many_tasks_per_file_kind_and_cannot_tasks_expect_nothing(which, tasks):
    counts = Counter(t.kind for t in tasks)
    assert counts == Counter({**{kind: SETS[which][2] for kind in FILE_KINDS}, CANNOT: SETS[which][3]})
    for t in _fns(which)[1]():
        assert t.expected == {}


def test_each_expected_file_exists_and_differs_from_the_original(which):
    for t in _instruction_tasks(which):
        assert t.expected, t.id
        for path, text in t.expected.items():
            assert path in t.files, (t.id, path)
            assert text != t.files[path], (t.id, path)


def test_the_main_change_is_in_a_file_of_the_task_kind(which):
    for t in _instruction_tasks(which):
        assert t.kind in {_kind_of(path) for path in t.expected}, t.id


@pytest.mark.parametrize("task", instructions_fourth.fourth_tasks() + instructions_fifth.fifth_tasks()
                         + instructions_sixth.sixth_tasks() + instructions_seventh.seventh_tasks()
                         + instructions_eighth.eighth_tasks(),
                         ids=lambda t: t.id)
def test_every_file_parses_before_and_after(task):
    for stage in (task.files, _after(task)):
        for path, text in stage.items():
            try:
                _parse(path, text)
            except Exception as exc:  # noqa: BLE001 - report which file failed
                pytest.fail(f"{task.id}: {path} does not parse: {exc}")


def test_the_parser_check_catches_broken_files():
    for path, broken in [("a.json", '{"a": 1,}'), ("a.toml", "a = "), ("a.ini", "[x]\n[x]\n"),
                         ("a.yml", "a: [1, 2"), ("a.py", "def f(:\n"), ("a.js", "const a = {b: [1, 2};\n")]:
        with pytest.raises(Exception):
            _parse(path, broken)


def test_crlf_files_are_present_and_stay_crlf(which, tasks):
    crlf_files = {(path, text) for t in tasks for path, text in t.files.items() if "\r\n" in text}
    assert len(crlf_files) >= SETS[which][6]
    for t in tasks:
        for path, text in t.expected.items():
            if "\r\n" in t.files[path]:
                assert text.count("\n") == text.count("\r\n"), (t.id, path)
            else:
                assert "\r" not in text, (t.id, path)
    assert any("\r\n" in t.files[p] for t in _instruction_tasks(which) for p in t.expected)


def test_a_file_without_final_newline_is_present_and_edited_without_adding_one(tasks):
    bare = [(t, path) for t in tasks for path, text in t.files.items() if not text.endswith("\n")]
    assert bare
    edited = [(t, path) for t, path in bare if path in t.expected]
    assert edited
    for t, path in edited:
        assert not t.expected[path].endswith("\n"), t.id


def test_non_ascii_text_is_present_in_files_and_in_expected_edits(which, tasks):
    assert any(not text.isascii() for t in tasks for text in t.files.values())
    assert any(not text.isascii() for t in _instruction_tasks(which) for text in t.expected.values())


def test_some_tasks_change_several_files(which):
    assert sum(len(t.expected) > 1 for t in _instruction_tasks(which)) >= SETS[which][7]


def test_returned_tasks_are_fresh_copies(which):
    every = _fns(which)[2]
    first = every()[0]
    first.files.clear()
    first.expected.clear()
    again = every()[0]
    assert again.files and again.expected


@pytest.mark.parametrize("name", sorted(SETS))
def test_loader_is_small_and_does_not_import_the_agent(name):
    module, prefix = SETS[name][:2]
    for path in (module.__file__, str(PurePosixPath(module.__file__).with_name("instruction_data.py"))):
        source = open(path, encoding="utf-8").read()
        assert len(source.splitlines()) < 150
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.ImportFrom):
                assert "core" not in (("." * node.level) + (node.module or "")).split("."), path
            elif isinstance(node, ast.Import):
                assert not any(a.name.startswith("mlxagent.core") for a in node.names)
    source = open(module.__file__, encoding="utf-8").read()
    assert SETS[name][5] in source and "blind" in source
    assert module.DATA_FILE.name == f"instructions_{prefix}.json" and module.DATA_FILE.parent.name == "data"
