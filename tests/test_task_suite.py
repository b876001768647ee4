"""The bug-fix task suite (mlxagent/tasksuite): generation, fixtures, repos and the real-pytest check."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from mlxagent.tasksuite import (  # noqa: E402
    HELDOUT, KINDS, MAIN, MODULES_DIR, CheckResult, Task, check, fixture_tasks, generate,
    materialize, module_files, suite,
)
from mlxagent.tasksuite._texts import is_one_sentence  # noqa: E402

SUITE = suite(seed=0, count=40)
GENERATED = generate(seed=0, count=40)


def _write(repo: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        (repo / rel).write_bytes(text.encode("utf-8"))


@pytest.mark.parametrize("task", SUITE, ids=[t.id for t in SUITE])
def test_task_fails_before_and_passes_once_fixed(task: Task, tmp_path):
    repo = materialize(task, tmp_path / "repo")
    before = check(task, repo)
    assert isinstance(before, CheckResult)
    assert not before.tests_passed and not before.passed, before.detail
    assert before.test_files_changed == ()
    _write(repo, task.fixed)
    after = check(task, repo)
    assert after.passed and after.tests_passed, after.detail
    assert "passed" in after.detail


def test_suite_is_fixtures_then_generated():
    assert len(SUITE) == 40
    fixtures = fixture_tasks()
    assert SUITE[: len(fixtures)] == fixtures
    assert all(t.source == "generated" for t in SUITE[len(fixtures):])
    assert len({t.id for t in SUITE}) == 40
    with pytest.raises(ValueError):
        suite(count=len(fixtures) - 1)


def test_generate_is_deterministic_per_seed():
    assert generate(seed=0, count=40) == GENERATED
    other = generate(seed=1, count=40)
    assert {t.id for t in other} != {t.id for t in GENERATED}
    assert generate(seed=1, count=40) == other
    assert generate(seed=0, count=40, heldout=True) == generate(seed=0, count=40, heldout=True)


@pytest.mark.parametrize("count", [0, 1, 7, 40, 60])
def test_count_is_honoured(count):
    tasks = generate(seed=3, count=count)
    assert len(tasks) == count
    assert len({t.id for t in tasks}) == count


def test_count_that_cannot_be_met_raises():
    with pytest.raises(ValueError):
        generate(seed=0, count=100_000, heldout=True)
    with pytest.raises(ValueError):
        generate(count=-1)


def test_forty_tasks_spread_over_modules_and_kinds():
    assert len(GENERATED) >= 40
    assert len({t.module for t in GENERATED}) >= 12
    kinds = Counter(t.mutation for t in GENERATED)
    assert len(kinds) >= 6
    assert set(kinds) <= set(KINDS)
    assert max(kinds.values()) <= 10


def test_module_sets():
    assert len(MAIN) >= 12 and len(HELDOUT) >= 3
    assert not set(MAIN) & set(HELDOUT)
    assert {p.name for p in MODULES_DIR.iterdir() if p.is_dir() and not p.name.startswith("_")} \
        == set(MAIN) | set(HELDOUT)
    assert {t.module for t in GENERATED} <= set(MAIN)
    held = generate(seed=0, count=40, heldout=True)
    assert len(held) == 40
    assert {t.module for t in held} == set(HELDOUT)
    assert len({t.mutation for t in held}) >= 6


@pytest.mark.parametrize("name", MAIN + HELDOUT)
def test_module_layout(name):
    source, tests = module_files(name)
    assert source.isascii() and tests.isascii()
    assert 20 <= len(source.splitlines()) <= 60
    tree = ast.parse(source)
    assert ast.get_docstring(tree)
    assert 3 <= sum(1 for n in ast.parse(tests).body
                    if isinstance(n, ast.FunctionDef) and n.name.startswith("test_")) <= 8
    assert f"from {name} import " in tests


def test_original_modules_pass_their_tests_under_real_pytest(tmp_path):
    for name in MAIN + HELDOUT:
        source, tests = module_files(name)
        folder = tmp_path / name
        folder.mkdir()
        _write(folder, {f"{name}.py": source, f"test_{name}.py": tests})
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "."],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          env={"PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1",
                               "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"})
    assert done.returncode == 0, done.stdout[-2000:]


def _all_generated():
    return GENERATED + generate(seed=0, count=40, heldout=True) + generate(seed=7, count=60)


def test_generated_tasks_mutate_only_the_module():
    for task in _all_generated():
        source, tests = module_files(task.module)
        file, test = f"{task.module}.py", f"test_{task.module}.py"
        assert task.source == "generated"
        assert task.test_files == (test,)
        assert task.files[test] == tests
        assert task.fixed == {file: source}
        assert set(task.files) == {file, test}
        assert task.files[file] != source
        ast.parse(task.files[file])
        assert task.id.startswith(f"{task.module}-{task.mutation}-")
        buggy = task.files[file].splitlines()
        assert 1 <= task.line <= len(buggy)
        if task.mutation != "drop_guard":
            assert buggy[task.line - 1] != source.splitlines()[task.line - 1]
            assert len(buggy) == len(source.splitlines())
        else:
            assert len(buggy) < len(source.splitlines())


def test_no_duplicate_mutations_within_a_run():
    for tasks in (GENERATED, generate(seed=5, count=120)):
        keys = [(t.module, t.line, t.files[f"{t.module}.py"].splitlines()[t.line - 1]
                 if t.mutation != "drop_guard" else t.id) for t in tasks]
        assert len(keys) == len(set(keys))


def test_every_text_is_one_sentence_that_hides_the_fix():
    for task in _all_generated() + fixture_tasks():
        assert is_one_sentence(task.text), task.text
        assert task.text == task.text.strip() and task.text
    for task in _all_generated():
        fixed_lines = task.fixed[f"{task.module}.py"].splitlines()
        original = fixed_lines[task.line - 1].strip()
        assert original not in task.text, (task.id, task.text)
        assert f"{task.module}.py" in task.text


def test_fixture_tasks_match_the_fixture_files():
    tasks = {t.mutation: t for t in fixture_tasks()}
    assert set(tasks) == {"crlf_file", "no_final_newline", "off_by_one", "readme_typo",
                          "rename_function"}
    for name, task in tasks.items():
        folder = ROOT / "fixtures" / name
        assert task.source == "fixture" and task.module == name
        assert task.text == (folder / "TASK.txt").read_text().strip()
        for path in folder.iterdir():
            if path.name != "TASK.txt":
                assert task.files[path.name].encode("utf-8") == path.read_bytes()
        assert task.test_files and all(p in task.files for p in task.test_files)
        assert set(task.fixed) <= set(task.files) and not set(task.fixed) & set(task.test_files)
    assert tasks["off_by_one"].test_files == ("test_windows.py",)
    assert set(tasks["rename_function"].fixed) == {"shapes.py", "report.py"}
    assert tasks["crlf_file"].fixed["settings.ini"].count("\r\n") == 7
    assert not tasks["no_final_newline"].fixed["version.py"].endswith("\n")
    assert tasks["off_by_one"].line == 8 and tasks["crlf_file"].line == 3


def test_materialize_keeps_crlf_in_the_commit(tmp_path):
    task = next(t for t in fixture_tasks() if t.mutation == "crlf_file")
    repo = materialize(task, tmp_path / "crlf")
    committed = subprocess.run(["git", "show", "HEAD:settings.ini"], cwd=repo,
                               capture_output=True, check=True).stdout
    assert committed == task.files["settings.ini"].encode("utf-8")
    assert b"\r\n" in committed
    log = subprocess.run(["git", "log", "--format=%s"], cwd=repo, capture_output=True,
                         text=True, check=True).stdout.split()
    assert log == ["initial"]
    status = subprocess.run(["git", "status", "--porcelain"], cwd=repo, capture_output=True,
                            text=True, check=True).stdout
    assert status == ""


def test_check_rejects_a_pass_that_edits_the_test_file(tmp_path):
    task = GENERATED[0]
    repo = materialize(task, tmp_path / "edited")
    test = task.test_files[0]
    (repo / test).write_text("def test_nothing():\n    assert True\n")
    result = check(task, repo)
    assert result.tests_passed
    assert not result.passed
    assert result.test_files_changed == (test,)
    assert test in result.detail


def test_check_counts_a_deleted_test_file_as_changed(tmp_path):
    task = GENERATED[1]
    repo = materialize(task, tmp_path / "deleted")
    _write(repo, task.fixed)
    (repo / task.test_files[0]).unlink()
    result = check(task, repo)
    assert not result.passed and not result.tests_passed
    assert result.test_files_changed == task.test_files


def test_cli_lists_id_kind_and_text():
    done = subprocess.run([sys.executable, "-m", "mlxagent.tasksuite", "--seed", "0", "--count", "40",
                           "--list"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    rows = [line.split("\t") for line in done.stdout.splitlines()]
    assert [(r[0], r[1], r[2]) for r in rows] == [(t.id, t.mutation, t.text) for t in GENERATED]
