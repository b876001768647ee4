"""The instruction tasks (mlxagent/tasksuite/instructions*.py): data, check_instruction, the runner."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from mlxagent.core.testing.detect import detect_test_command  # noqa: E402
from mlxagent.tasksuite import materialize  # noqa: E402
from mlxagent.tasksuite.instruction_runner import (  # noqa: E402
    CANNOT, FILE_KINDS, InstructionTask, check_instruction, file_kind, format_summary, parses,
    summarise_instructions,
)
from mlxagent.tasksuite.instructions import instruction_tasks, make_task  # noqa: E402
from mlxagent.tasksuite.instructions_heldout import (  # noqa: E402
    cannot_tasks, heldout_instruction_tasks, heldout_tasks,
)

MAIN = instruction_tasks()
HELDOUT = heldout_tasks()
ALL = MAIN + HELDOUT
EXACT = [t for t in ALL if t.kind != CANNOT]


def _write(repo: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = repo / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8"))


@pytest.fixture
def repo_of(tmp_path):
    def make(task: InstructionTask) -> Path:
        repo = tmp_path / "repo"
        _write(repo, task.files)
        return repo
    return make


# --- the sets ------------------------------------------------------------------------------

def test_sizes_and_kinds():
    kinds = Counter(t.kind for t in MAIN)
    assert set(kinds) == set(FILE_KINDS)
    assert all(n >= 4 for n in kinds.values()), kinds
    assert 30 <= len(MAIN) <= 40
    held = Counter(t.kind for t in HELDOUT)
    assert held[CANNOT] == 20 and 12 <= len(heldout_instruction_tasks()) <= 20
    assert HELDOUT == heldout_instruction_tasks() + cannot_tasks()


def test_ids_unique_and_named_by_kind():
    ids = [t.id for t in ALL]
    assert len(ids) == len(set(ids))
    for task in ALL:
        assert task.id.startswith(f"instr-{task.kind}-"), task.id


def test_sets_are_deterministic():
    assert instruction_tasks() == MAIN
    assert heldout_tasks() == HELDOUT
    assert [t.text for t in instruction_tasks()] == [t.text for t in MAIN]


def test_heldout_wordings_differ_from_main():
    assert not {t.text for t in MAIN} & {t.text for t in HELDOUT}


@pytest.mark.parametrize("task", EXACT, ids=[t.id for t in EXACT])
def test_expected_differs_and_everything_parses(task: InstructionTask):
    assert task.expected
    for rel, after in task.expected.items():
        assert rel in task.files
        assert after != task.files[rel]
    for rel, text in {**task.files, **task.expected}.items():
        assert parses(rel, text) is not False, rel
    # the request is a single line, as typed
    assert "\n" not in task.text and task.text.strip() == task.text


@pytest.mark.parametrize("task", cannot_tasks(), ids=[t.id for t in cannot_tasks()])
def test_cannot_tasks_have_no_expected_and_parse(task: InstructionTask):
    assert task.expected == {}
    assert all(parses(rel, text) is not False for rel, text in task.files.items())


def test_repositories_have_realistic_variety():
    files = {rel: text for t in ALL for rel, text in t.files.items()}
    assert any("\r\n" in text for text in files.values())
    assert any(not text.endswith("\n") for text in files.values())
    assert any("\t" in text for text in files.values())
    assert {file_kind(rel) for rel in files} >= set(FILE_KINDS)


def test_no_test_command_in_task_repos(tmp_path):
    seen = set()
    for i, task in enumerate(ALL):
        key = tuple(sorted(task.files))
        if key in seen:
            continue
        seen.add(key)
        repo = tmp_path / str(i)
        _write(repo, task.files)
        assert detect_test_command(repo) is None, task.id


def test_make_task_refuses_ambiguous_edits():
    with pytest.raises(ValueError):
        make_task("instr-py-x", "py", "rename a to b", {"a.py": "a = 1\na = 2\n"}, {"a.py": [("a =", "b =", 1)]})


# --- the check -------------------------------------------------------------------------------

@pytest.mark.parametrize("task", EXACT, ids=[t.id for t in EXACT])
def test_check_exact_bytes(task: InstructionTask, repo_of):
    repo = repo_of(task)
    ok, detail, unparseable = check_instruction(task, repo)
    assert not ok and unparseable == [] and "not as expected" in detail
    _write(repo, task.expected)
    ok, detail, unparseable = check_instruction(task, repo)
    assert ok and detail == "exact" and unparseable == []


def test_check_rejects_near_misses(repo_of):
    task = next(t for t in MAIN if t.id == "instr-ini-1")  # CRLF settings.ini
    repo = repo_of(task)
    after = task.expected["settings.ini"]
    _write(repo, {"settings.ini": after.replace("\r\n", "\n")})  # right value, line endings lost
    assert not check_instruction(task, repo)[0]
    _write(repo, {"settings.ini": after})
    assert check_instruction(task, repo)[0]
    _write(repo, {"README.md": task.files["README.md"] + "\n"})  # a file that had to stay
    ok, detail, _ = check_instruction(task, repo)
    assert not ok and "changed: README.md" in detail
    _write(repo, {"README.md": task.files["README.md"]})
    (repo / "notes.txt").write_text("x")
    ok, detail, _ = check_instruction(task, repo)
    assert not ok and "added: notes.txt" in detail
    (repo / "notes.txt").unlink()
    (repo / "config.json").unlink()
    ok, detail, _ = check_instruction(task, repo)
    assert not ok and "deleted: config.json" in detail


def test_rename_keeps_look_alikes_and_strings():
    task = next(t for t in MAIN if t.id == "instr-py-1")
    shapes = task.expected["geokit/shapes.py"]
    assert "def area(" in shapes and "def calc_area_total(" in shapes
    assert 'CACHE_KEY = "geokit.shapes.calc_area"' in shapes
    assert "CHANGELOG.md" not in task.expected
    js = next(t for t in MAIN if t.id == "instr-js-2")
    assert "'cart is full (MAX_ITEMS reached)'" in js.expected["src/cart.js"]


def test_broken_json_is_unparseable(repo_of):
    task = next(t for t in MAIN if t.id == "instr-json-1")
    repo = repo_of(task)
    _write(repo, {"config.json": task.expected["config.json"].replace('"units"', 'units')})
    ok, detail, unparseable = check_instruction(task, repo)
    assert not ok and unparseable == ["config.json"] and "unparseable: config.json" in detail


@pytest.mark.parametrize("rel,broken", [
    ("notekeeper/text.py", "def f(:\n"),
    ("config.yaml", "server: [unclosed\n"),
    ("pyproject.toml", "[tool.poetry\n"),
    ("app.ini", "no section header\n"),
    ("src/board.js", "export function f() {\n"),
    ("config/default.json", "{,}"),
])
def test_cannot_task_fails_when_a_file_breaks(rel, broken, tmp_path):
    task = next(t for t in cannot_tasks() if rel in t.files)
    repo = tmp_path / "repo"
    _write(repo, task.files)
    ok, detail, unparseable = check_instruction(task, repo)
    assert ok and unparseable == []
    _write(repo, {rel: broken})
    ok, detail, unparseable = check_instruction(task, repo)
    assert not ok and unparseable == [rel]


def test_cannot_task_accepts_changes_that_still_parse(tmp_path):
    task = cannot_tasks()[0]  # add a function median to stats.py
    repo = tmp_path / "repo"
    _write(repo, task.files)
    _write(repo, {"stats.py": task.files["stats.py"] + "\n\ndef median(v):\n    return sorted(v)[len(v) // 2]\n",
                  "test_stats.py": "def test_x():\n    pass\n"})
    ok, detail, unparseable = check_instruction(task, repo)
    assert ok and unparseable == [] and "1 changed, 1 added" in detail
    (repo / "stats.py").unlink()
    ok, detail, _ = check_instruction(task, repo)
    assert not ok and "deleted: stats.py" in detail


def test_js_checker():
    assert parses("a.js", "const s = '})'; // ({[\n/* ) */ f(`${x}`);\n")
    assert not parses("a.js", "f(;")
    assert not parses("a.js", "const s = 'open\n")
    assert parses("a.md", "anything ((") is None


# --- the runner ------------------------------------------------------------------------------

def test_oracle_turn_solves_tasks():
    from mlxagent.tasksuite.harness import run_task

    picked = [next(t for t in MAIN if t.id == i) for i in ("instr-toml-1", "instr-ini-1", "instr-js-1")]
    rows = [run_task(t, "oracle", None) for t in picked + [cannot_tasks()[0]]]
    assert all(r["passed"] for r in rows), [r["detail"] for r in rows]
    assert [r["exact"] for r in rows] == [True, True, True, False]
    assert all(r["source"] == "instruction" and r["unparseable"] == [] for r in rows)
    summary = summarise_instructions(rows)
    assert summary["all"] == {"tasks": 4, "passed": 4, "unparseable_files": 0,
                              "median_seconds": summary["all"]["median_seconds"]}
    assert set(summary) == {"toml", "ini", "js", CANNOT, "all"}
    assert "4/4" in format_summary(summary)


def test_materialized_repo_checks_clean(tmp_path):
    task = next(t for t in HELDOUT if t.id == "instr-json-h1")  # CRLF JSON
    repo = materialize(task, tmp_path / "repo")
    ok, detail, _ = check_instruction(task, repo)
    assert not ok and detail == "not as expected: config/default.json"
    _write(repo, task.expected)
    assert check_instruction(task, repo) == (True, "exact", [])


def test_summary_counts_unparseable():
    rows = [{"kind": "json", "passed": False, "unparseable": ["a.json"], "seconds": 2.0},
            {"kind": "json", "passed": True, "unparseable": [], "seconds": 4.0}]
    s = summarise_instructions(rows)["json"]
    assert s == {"tasks": 2, "passed": 1, "unparseable_files": 1, "median_seconds": 3.0}
    assert summarise_instructions([]) == {}
