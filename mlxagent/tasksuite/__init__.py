"""A deterministic suite of small bug-fix tasks for benchmarking the agent.

Each generated task takes one small, correct module from modules/<name>/ (with its pytest
file), plants one seeded mutation in the module (found with `ast`, vetted so the module still
parses, its tests fail, and the original passes them), and words the request the way a user
would describe the symptom. The hand-written repos under fixtures/ are tasks as well (those are
read from a checkout's fixtures/ folder, which is not packaged; the generator's modules are).
Used by bench/tasks.py and by `mlxagent tune --synthetic/--eval` (mlxagent/tune).

    tasks = suite(seed=0, count=40)
    repo = materialize(tasks[0], Path("/tmp/t0"))
    ...run the agent in repo...
    result = check(tasks[0], repo)
"""

from __future__ import annotations

import os
import random
import re
import subprocess
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from . import _fixtures, _texts
from ._mutate import KINDS, Mutant, mutants
from ._runner import Failure, run_tests

__all__ = [
    "HELDOUT", "KINDS", "MAIN", "CheckResult", "Task", "check", "fixture_tasks", "generate",
    "materialize", "module_files", "suite",
]

MODULES_DIR = Path(__file__).resolve().parent / "modules"

MAIN = (
    "bank", "bounds", "chunks", "config_lines", "dict_utils", "durations", "inventory",
    "money", "pagination", "semver", "stack", "stats", "text_utils",
)
HELDOUT = ("csv_rows", "rate_limiter", "roman", "temperature")


@dataclass(frozen=True)
class Task:
    id: str                      # stable: "<module>-<kind>-<index among that module's mutants>"
    text: str                    # one sentence, as a user would type it
    files: dict[str, str]        # the repo's files (path -> text), with the bug
    fixed: dict[str, str]        # path -> correct text, for the files the fix changes
    test_files: tuple[str, ...]  # must be unchanged by a successful run
    mutation: str                # one of KINDS (a fixture's name for fixtures)
    module: str                  # module set name (the fixture's name for fixtures)
    source: str                  # "generated" | "fixture"
    line: int                    # 1-based line of the bug in the buggy file (0 when unknown)

    def __hash__(self) -> int:   # the dict fields are unhashable; ids are unique in a suite
        return hash(self.id)


@dataclass(frozen=True)
class CheckResult:
    passed: bool                 # tests_passed and not test_files_changed
    tests_passed: bool
    test_files_changed: tuple[str, ...]
    detail: str                  # pytest's last summary line, and what changed


# --- modules ---------------------------------------------------------------------------

@lru_cache(maxsize=None)
def module_files(name: str) -> tuple[str, str]:
    """(module source, test source) of modules/<name>/, exactly as stored."""
    folder = MODULES_DIR / name
    return ((folder / f"{name}.py").read_bytes().decode("utf-8"),
            (folder / f"test_{name}.py").read_bytes().decode("utf-8"))


@lru_cache(maxsize=None)
def _candidates(name: str) -> dict[str, tuple[Mutant, ...]]:
    source, tests = module_files(name)
    failures = run_tests(name, source, tests)
    if failures is None or failures:
        raise RuntimeError(f"the original {name}.py fails its own tests: {failures}")
    return {kind: tuple(ms) for kind, ms in mutants(source).items()}


_VERDICTS: dict[tuple[str, str], tuple[Failure, ...]] = {}


def _failures(name: str, mutated: str) -> tuple[Failure, ...]:
    """The mutant's test failures; empty when it is harmless (or hangs, which is rejected too)."""
    key = (name, mutated)
    if key not in _VERDICTS:
        result = run_tests(name, mutated, module_files(name)[1])
        _VERDICTS[key] = tuple(result) if result else ()
    return _VERDICTS[key]


def _task(name: str, mutant: Mutant, failures: tuple[Failure, ...], rng: random.Random) -> Task:
    source, tests = module_files(name)
    file, test = f"{name}.py", f"test_{name}.py"
    what = _texts.label(mutant.cls, mutant.func, mutant.is_property, file)
    forbidden = tuple(mutant.original_line.splitlines()) + (mutant.mutated_line,)
    text = _texts.compose(rng, mutant.kind, name, what, failures[0], forbidden)
    return Task(
        id=f"{name}-{mutant.kind}-{mutant.index}",
        text=text,
        files={file: mutant.source, test: tests},
        fixed={file: source},
        test_files=(test,),
        mutation=mutant.kind,
        module=name,
        source="generated",
        line=mutant.line,
    )


def generate(seed: int = 0, count: int = 40, heldout: bool = False) -> list[Task]:
    """`count` distinct generated tasks, the same for the same arguments.

    Modules take turns (in a seeded order); each turn picks, among the kinds that still have
    candidates in that module, one of the kinds used least so far, then a seeded candidate of
    that kind, keeping it only if the module's tests fail with it. Raises ValueError when the
    modules cannot supply `count` tasks.
    """
    if count < 0:
        raise ValueError("count must not be negative")
    rng = random.Random(seed)
    names = sorted(HELDOUT if heldout else MAIN)
    rng.shuffle(names)
    pools = {n: {k: list(ms) for k, ms in sorted(_candidates(n).items())} for n in names}
    used = {k: 0 for k in KINDS}
    seen: set[tuple[str, int, str]] = set()
    tasks: list[Task] = []
    active = list(names)
    while len(tasks) < count:
        if not active:
            raise ValueError(f"only {len(tasks)} distinct tasks can be generated, not {count}")
        for name in list(active):
            if len(tasks) >= count:
                break
            task = _draw(name, pools[name], used, seen, rng)
            if task is None:
                active.remove(name)
            else:
                tasks.append(task)
    return tasks


def _draw(name, pool, used, seen, rng) -> Task | None:
    while True:
        kinds = [k for k in KINDS if pool[k]]
        if not kinds:
            return None
        fewest = min(used[k] for k in kinds)
        kind = rng.choice([k for k in kinds if used[k] == fewest])
        mutant = pool[kind].pop(rng.randrange(len(pool[kind])))
        key = (name, mutant.line, mutant.mutated_line if mutant.kind != "drop_guard"
               else "drop:" + mutant.original_line)
        if key in seen:
            continue
        failures = _failures(name, mutant.source)
        if not failures:
            continue
        seen.add(key)
        used[kind] += 1
        return _task(name, mutant, failures, rng)


# --- fixtures --------------------------------------------------------------------------

def fixture_tasks() -> list[Task]:
    """The repos under fixtures/ as tasks (a test file is added where a fixture has none)."""
    tasks = []
    for name in sorted(_fixtures.SPECS):
        text, files = _fixtures.read_fixture(name)
        _, added = _fixtures.SPECS[name]
        files = {**files, **added}
        fixed = _fixtures.fixed_files(name, files)
        tests = tuple(sorted(p for p in files if Path(p).name.startswith("test_") and p.endswith(".py")))
        line = 0
        if len(fixed) == 1:
            (path, after), = fixed.items()
            line = _fixtures.first_changed_line(files[path], after)
        tasks.append(Task(id=f"fixture-{name}", text=text, files=files, fixed=fixed,
                          test_files=tests, mutation=name, module=name, source="fixture", line=line))
    return tasks


def suite(seed: int = 0, count: int = 40) -> list[Task]:
    """fixture_tasks() followed by generated tasks, `count` in all."""
    fixtures = fixture_tasks()
    if count < len(fixtures):
        raise ValueError(f"a suite holds at least the {len(fixtures)} fixtures")
    return fixtures + generate(seed, count - len(fixtures))


# --- repos -----------------------------------------------------------------------------

def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("GIT_") and k not in ("PYTEST_ADDOPTS", "PYTEST_PLUGINS")}
    env.update(extra)
    return env


def materialize(task: Task, dest: Path) -> Path:
    """Write the task's files into `dest` (created) as one commit, "initial", of a new git repo."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    for rel, text in sorted(task.files.items()):
        path = dest / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8"))
    env = _clean_env(GIT_CONFIG_NOSYSTEM="1")

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=dest, env=env, check=True, capture_output=True)

    git("-c", "init.defaultBranch=main", "init", "-q")
    for key, value in (("user.name", "tasksuite"), ("user.email", "tasksuite@example.invalid"),
                       ("core.autocrlf", "false"), ("commit.gpgsign", "false")):
        git("config", "--local", key, value)
    git("add", "-A")
    git("commit", "-q", "--no-verify", "-m", "initial")
    return dest


_COUNT = re.compile(r"(\d+) (passed|failed|errors?|skipped|xfailed|xpassed)")


def _run_group(cmd: list[str], cwd: Path, env: dict, timeout: float) -> subprocess.CompletedProcess:
    """subprocess.run in a process group of its own, the whole group killed on the timeout: a
    buggy test that loops forever in a child (node --test starts one per file) must not outlive
    the check."""
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, 9)
        except ProcessLookupError:
            pass
        proc.communicate()
        raise
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def check(task: Task, repo: Path, timeout: float = 120) -> CheckResult:
    """Run the task's tests with real pytest in `repo`, and see whether the test files were kept.

    Passing means exit status 0 with at least one test passed and none skipped or xfailed.
    Plugin autoloading is off, so the plain-assert task tests run the same wherever pytest's
    installed plugins differ (and start several times faster).
    """
    repo = Path(repo)
    changed = []
    for rel in task.test_files:
        path = repo / rel
        if not path.is_file() or path.read_bytes() != task.files[rel].encode("utf-8"):
            changed.append(rel)
    if task.test_files and all(rel.endswith((".js", ".mjs", ".cjs")) for rel in task.test_files):
        # JavaScript tests run with `node --test <test files>`: passing means exit status 0 and
        # node's summary showing at least one pass and no fail (nor cancelled, skipped or todo).
        env = {k: v for k, v in _clean_env().items() if k not in ("NODE_OPTIONS", "NODE_TEST_CONTEXT")}
        try:
            done = _run_group(["node", "--test", *task.test_files], repo, env, timeout)
            counts = {word: int(number) for word, number in re.findall(
                r"(?m)^(?:#|\u2139) (tests|pass|fail|cancelled|skipped|todo) (\d+)\s*$", done.stdout)}
            summary = (", ".join(f"{counts[w]} {w}" for w in ("pass", "fail", "cancelled", "skipped", "todo")
                                 if w in ("pass", "fail") and w in counts or counts.get(w))
                       or ((done.stdout + done.stderr).strip().splitlines() or ["no output"])[-1])
            tests_passed = (done.returncode == 0 and counts.get("pass", 0) > 0
                            and not any(counts.get(k) for k in ("fail", "cancelled", "skipped", "todo")))
        except FileNotFoundError:
            summary, tests_passed = "node is not installed", False
        except subprocess.TimeoutExpired:
            summary, tests_passed = f"node --test timed out after {timeout:g}s", False
        detail = f"test files changed: {', '.join(changed)}; {summary}" if changed else summary
        return CheckResult(passed=tests_passed and not changed, tests_passed=tests_passed,
                           test_files_changed=tuple(changed), detail=detail)
    env = _clean_env(PYTHONDONTWRITEBYTECODE="1", PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *task.test_files]
    try:
        done = _run_group(cmd, repo, env, timeout)
        lines = [ln.strip(" =") for ln in done.stdout.splitlines() if ln.strip(" =")]
        summary = lines[-1] if lines else (done.stderr.strip().splitlines() or ["no output"])[-1]
        counts: dict[str, int] = {}
        for number, word in _COUNT.findall(summary):
            counts[word.rstrip("s") if word.startswith("error") else word] = int(number)
        tests_passed = (done.returncode == 0 and counts.get("passed", 0) > 0
                        and not any(counts.get(k) for k in ("failed", "error", "skipped", "xfailed")))
    except subprocess.TimeoutExpired:
        summary, tests_passed = f"pytest timed out after {timeout:g}s", False
    detail = summary
    if changed:
        detail = f"test files changed: {', '.join(changed)}; {summary}"
    return CheckResult(passed=tests_passed and not changed, tests_passed=tests_passed,
                       test_files_changed=tuple(changed), detail=detail)
