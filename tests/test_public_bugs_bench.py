"""bench/public_bugs.py's conversion of HumanEvalFix items into tasks, on a tiny invented dataset in
the same layout (no dataset content here): the buggy repo fails its test, the solution passes it, an
item whose "bug" passes is refused, and the dataset is read from a plain folder and from git."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "bench") not in sys.path:
    sys.path.insert(0, str(ROOT / "bench"))

import public_bugs  # noqa: E402

from mlxagent.tasksuite import check, materialize  # noqa: E402

needs_node = pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")

PY_BUGGY = '''def count_vowels(word: str) -> int:
    """How many of the letters are a, e, i, o or u."""
    return sum(1 for ch in word.lower() if ch in "aeio")
'''
PY_FIXED = PY_BUGGY.replace('"aeio"', '"aeiou"')
PY_TEST = '''

def check(count_vowels):
    assert count_vowels("") == 0
    assert count_vowels("Tulip") == 2
    assert count_vowels("queue") == 4

check(count_vowels)
'''
JS_BUGGY = '''/* the sign of the sum */
const signOfSum = (xs) => {
  const total = sumAll(xs);
  return total > 0 ? 1 : total < 0 ? -1 : 1;
}

function sumAll(xs) {
  return xs.reduce((a, b) => a + b, 0);
}
'''
JS_FIXED = JS_BUGGY.replace("-1 : 1;", "-1 : 0;")
JS_TEST = '''const testSignOfSum = () => {
  console.assert(signOfSum([2, -1]) === 1)
  console.assert(signOfSum([]) === 0)
  console.assert(sumAll([1, 2]) === 3)
}

testSignOfSum()
'''


def _item(root: Path, folder: str, lang: str, name: str, buggy: str, fixed: str, test: str) -> None:
    ext = public_bugs.LANGS[lang]
    (root / folder / "solution").mkdir(parents=True)
    (root / folder / "tests").mkdir()
    (root / folder / "instruction.md").write_text(
        f"# Context\n\n```{lang}\n{buggy}```\n\n# Instruction\n\nFix bugs in {name}.\n\n# Prompt\n\nignored\n")
    (root / folder / "solution" / f"solution.{ext}").write_text(fixed)
    (root / folder / "tests" / "test_code.txt").write_text(test)


@pytest.fixture
def dataset_dir(tmp_path) -> Path:
    root = tmp_path / "humanevalpack-fix"
    _item(root, "python_0", "python", "count_vowels", PY_BUGGY, PY_FIXED, PY_TEST)
    _item(root, "javascript_0", "javascript", "signOfSum", JS_BUGGY, JS_FIXED, JS_TEST)
    # a "bug" that changes nothing the test sees: must be refused by verify()
    _item(root, "python_1", "python", "count_vowels", PY_FIXED.replace("word.lower()", "word.casefold()"),
          PY_FIXED, PY_TEST)
    return root


def _run_check(task, files: dict[str, str] | None, tmp: Path):
    repo = materialize(task, tmp / "repo")
    for rel, text in (files or {}).items():
        (repo / rel).write_text(text)
    return check(task, repo)


def test_python_item_converts_buggy_fails_solution_passes(dataset_dir, tmp_path):
    data = public_bugs.Dataset(str(dataset_dir))
    task = public_bugs.convert(data, "python_0")
    assert task.text == "Fix bugs in count_vowels."
    assert set(task.files) == {"count_vowels.py", "conftest.py", "tests/test_count_vowels.py"}
    assert task.test_files == ("tests/test_count_vowels.py",)
    assert task.files["count_vowels.py"] == PY_BUGGY and task.fixed == {"count_vowels.py": PY_FIXED}
    assert task.line == 3
    test = task.files["tests/test_count_vowels.py"]
    assert "\ncheck(count_vowels)\n" not in test.replace("    check(count_vowels)", "")  # module-level call dropped
    assert "def test_count_vowels():\n    check(count_vowels)\n" in test
    buggy = _run_check(task, None, tmp_path / "a")
    assert not buggy.tests_passed and "1 failed" in buggy.detail
    fixed = _run_check(task, task.fixed, tmp_path / "b")
    assert fixed.passed, fixed.detail
    # a bare `pytest` in the repo (how the agent's detected command runs) imports the module too
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", ".",
                           "tests"], cwd=tmp_path / "b" / "repo", capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
                               "PYTHONSAFEPATH": "1"})
    assert done.returncode == 0, done.stdout + done.stderr
    assert public_bugs.verify(task) is None


@needs_node
def test_javascript_item_converts_buggy_fails_solution_passes(dataset_dir, tmp_path):
    data = public_bugs.Dataset(str(dataset_dir))
    task = public_bugs.convert(data, "javascript_0")
    assert task.text == "Fix bugs in signOfSum."
    assert set(task.files) == {"signOfSum.js", "package.json", "test/signOfSum.test.js"}
    assert task.files["signOfSum.js"].endswith("module.exports = { signOfSum, sumAll };\n")
    test = task.files["test/signOfSum.test.js"]
    assert "console.assert(" not in test and "assert.ok(signOfSum([]) === 0)" in test
    buggy = _run_check(task, None, tmp_path / "a")
    assert not buggy.tests_passed and "1 fail" in buggy.detail
    fixed = _run_check(task, task.fixed, tmp_path / "b")
    assert fixed.passed, fixed.detail
    assert public_bugs.verify(task) is None


def test_a_bug_the_test_does_not_see_is_refused(dataset_dir):
    task = public_bugs.convert(public_bugs.Dataset(str(dataset_dir)), "python_1")
    assert public_bugs.verify(task).startswith("the buggy code passes its test")


def test_unconvertible_items_say_why(dataset_dir):
    (dataset_dir / "python_0" / "tests" / "test_code.txt").write_text(PY_TEST.replace("check(count_vowels)\n", ""))
    with pytest.raises(ValueError, match="does not end with check"):
        public_bugs.convert(public_bugs.Dataset(str(dataset_dir)), "python_0")
    (dataset_dir / "python_1" / "instruction.md").write_text("# Context\n\nno code here\n")
    with pytest.raises(ValueError, match="no '# Context' code block"):
        public_bugs.convert(public_bugs.Dataset(str(dataset_dir)), "python_1")


def test_read_from_git_at_a_revision_and_sample(dataset_dir, tmp_path):
    repo = tmp_path / "mirror"
    (repo / "datasets").mkdir(parents=True)
    shutil.copytree(dataset_dir, repo / "datasets" / "humanevalpack-fix")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", "-c", "commit.gpgsign=false"]
    subprocess.run([*git, "init", "-q"], cwd=repo, check=True)
    subprocess.run([*git, "add", "-A"], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "data"], cwd=repo, check=True)
    data = public_bugs.Dataset(str(repo / ".git"), "HEAD")
    assert data.folders("python") == ["python_0", "python_1"]
    assert data.folders("javascript") == ["javascript_0"]
    data.prefetch(["python_0"], ("instruction.md", "solution/solution.py", "tests/test_code.txt"))
    plain = public_bugs.convert(public_bugs.Dataset(str(dataset_dir)), "python_0")
    assert public_bugs.convert(data, "python_0") == plain
    with pytest.raises(public_bugs.DatasetError, match="cannot list"):
        public_bugs.Dataset(str(repo / ".git"), "no-such-rev")
    assert public_bugs.select(list(range(50)), 5, 7) == public_bugs.select(list(range(50)), 5, 7)
    assert public_bugs.select(list(range(50)), 5, None) == [0, 1, 2, 3, 4]
    assert len(set(public_bugs.select(list(range(50)), 5, 7))) == 5


def test_bad_data_path_is_one_line(tmp_path):
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "public_bugs.py"), "--data",
                           str(tmp_path / "missing"), "--configs", "oracle"], capture_output=True, text=True)
    assert done.returncode == 2
    assert "no such folder" in done.stderr and "Traceback" not in done.stderr


@needs_node
def test_a_javascript_bug_that_loops_counts_as_failing_and_leaves_no_process(tmp_path):
    root = tmp_path / "data"
    name = "signOfSumLoopsForever"  # a name no other test process has
    looping = JS_BUGGY.replace("const total = sumAll(xs);", "let total = 0;\n  while (xs) { total += 0; }")
    _item(root, "javascript_5", "javascript", name, looping.replace("signOfSum", name),
          JS_FIXED.replace("signOfSum", name), JS_TEST.replace("signOfSum", name))
    task = public_bugs.convert(public_bugs.Dataset(str(root)), "javascript_5")
    assert public_bugs.verify(task, timeout=3) is None  # the loop is stopped, the solution passes
    time.sleep(0.5)
    left = subprocess.run(["pgrep", "-f", f"{name}.test.js"], capture_output=True, text=True).stdout
    assert not left.strip(), f"a test process outlived the check: {left}"


def test_a_request_spelling_the_name_in_another_case_finds_the_function(dataset_dir):
    md = dataset_dir / "javascript_0" / "instruction.md"
    md.write_text(md.read_text().replace("Fix bugs in signOfSum.", "Fix bugs in signofSum."))
    task = public_bugs.convert(public_bugs.Dataset(str(dataset_dir)), "javascript_0")
    assert task.text == "Fix bugs in signofSum." and "signOfSum.js" in task.files
    md.write_text(md.read_text().replace("Fix bugs in signofSum.", "Fix bugs in signOfProduct."))
    with pytest.raises(ValueError, match="defines no top-level signOfProduct"):
        public_bugs.convert(public_bugs.Dataset(str(dataset_dir)), "javascript_0")
