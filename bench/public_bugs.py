"""A public bug benchmark for the repair search: HumanEvalFix (HumanEvalPack, Muennighoff et al. 2023,
"OctoPack"), Python and JavaScript, read at run time from a copy of the dataset (never stored here).

    .venv/bin/python bench/public_bugs.py --data DIR [--rev REV] [--lang python|javascript|both]
                                          [--limit N] [--sample-seed S] [--configs c,oracle]
                                          [--max-steps 8] [--max-tokens 128] [--no-sampled]
                                          [--model NAME] [--json bench/results/public_bugs.json]

--data: the `datasets/humanevalpack-fix` folder of a checkout of the Harbor export of the dataset
(github.com/ArthurYangX/harbor-humanevalpack-dataset), or with --rev a git directory of that
repository (a bare mirror is enough): its files are then read with `git cat-file` at REV, under
--subdir (default datasets/humanevalpack-fix).

Each item (task folder `python_N` / `javascript_N`: instruction.md with the buggy code in its
"# Context" block and the request "Fix bugs in NAME.", solution/solution.py|js, tests/test_code.txt)
becomes a task of mlxagent.tasksuite (a fresh git repo per run), run with the harness of
bench/tasks.py (mlxagent.tasksuite.harness: run_task, summarise, CONFIGS):

  Python      NAME.py (the buggy code), tests/test_NAME.py (the dataset's `check` with its trailing
              module-level call dropped, run by `def test_NAME(): check(NAME)`), and a root
              conftest.py so a bare `pytest` imports NAME from the project root.
  JavaScript  NAME.js (the buggy code as a CommonJS module exporting its top-level names),
              test/NAME.test.js (a node:test test running the dataset's test code, its
              `console.assert(` calls made `assert.ok(` so a false one fails), and a package.json
              whose `npm test` runs `node --test`.

The request is the dataset's own ("Fix bugs in NAME."); the oracle writes the dataset's solution
(plus the same export line for JavaScript). Before a run every selected task is checked: the buggy
repo must fail its test and the fixed one pass (otherwise it is dropped and reported). Items that
the conversion cannot express are listed in EXCLUDED with the reason.

Reported per configuration and language: tasks, tests pass, test files modified, wrong edits left
applied (a failed run that leaves the module changed), median tool calls, tokens and seconds.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, write_results  # noqa: E402

from mlxagent.tasksuite import CheckResult, Task, check, materialize  # noqa: E402

LANGS = {"python": "py", "javascript": "js"}
DEFAULT_SUBDIR = "datasets/humanevalpack-fix"
# Items whose conversion cannot be expressed faithfully: {task folder: why}. Filled from the full
# check of both languages (`--verify-only --lang both`); see the report in BENCHMARKS.md.
EXCLUDED: dict[str, str] = {
    "javascript_162": "needs the npm package js-md5, which the task repo does not have (no network, no node_modules)",
}

_CONTEXT = re.compile(r"# Context\s*\n\s*```[\w+-]*\n(?P<code>.*?)```\s*\n+# Instruction\s*\n+(?P<request>[^\n]+)",
                      re.S)
_ENTRY = re.compile(r"Fix bugs in ([A-Za-z_$][\w$]*)\.?\s*$")
_JS_TOP = re.compile(r"^(?:async\s+)?(?:function\s*\*?|const|let|var|class)\s+([A-Za-z_$][\w$]*)", re.M)
_PY_HEADER = "from typing import Any, Dict, List, Optional, Tuple, Union  # noqa: F401\nimport math  # noqa: F401\n"
_CONFTEST = "# The project root on sys.path for the tests (pytest inserts a rootdir conftest's folder).\n"
_PACKAGE = {"name": "humanevalfix-task", "version": "1.0.0", "private": True, "scripts": {"test": "node --test"}}


class DatasetError(Exception):
    """The dataset cannot be read as given (one line for the user)."""


class Dataset:
    """The task folders of the dataset: a plain folder, or a git directory read at a revision."""

    def __init__(self, root: str, rev: str | None = None, subdir: str = DEFAULT_SUBDIR):
        self.root, self.rev, self.subdir = Path(root), rev, subdir.strip("/")
        self._blobs: dict[str, str] = {}
        if not self.root.is_dir():
            raise DatasetError(f"--data {root}: no such folder")
        if rev is None:
            if not any(p.is_dir() and _number(p.name) is not None for p in self.root.iterdir()):
                hint = " (a git directory? give --rev HEAD)" if (self.root / "HEAD").is_file() else ""
                raise DatasetError(f"--data {root}: no task folders (python_N, javascript_N) in it{hint}")
            return
        listing = self._git("ls-tree", "-r", "--name-only", f"{rev}:{self.subdir}")
        if listing is None:
            raise DatasetError(f"--data {root} --rev {rev}: cannot list {self.subdir!r} at that revision "
                               "(not a git directory, unknown revision, or no such folder)")
        self._paths = set(listing.splitlines())

    def _git(self, *args: str, data: str | None = None) -> str | None:
        try:
            done = subprocess.run(["git", "--git-dir", str(self.root), *args], input=data,
                                  capture_output=True, text=True, encoding="utf-8")
        except OSError:
            return None
        return done.stdout if done.returncode == 0 else None

    def folders(self, lang: str) -> list[str]:
        """The task folders of `lang`, in numeric order."""
        if self.rev is None:
            names = {p.name for p in self.root.iterdir() if p.is_dir()}
        else:
            names = {p.split("/", 1)[0] for p in self._paths}
        return sorted((n for n in names if n.startswith(lang + "_") and _number(n) is not None), key=_number)

    def prefetch(self, folders: list[str], files: tuple[str, ...]) -> None:
        """Read those files of those folders from git in one process (`git cat-file --batch`)."""
        if self.rev is None:
            return
        wanted = [f"{f}/{rel}" for f in folders for rel in files if f"{f}/{rel}" in self._paths]
        if not wanted:
            return
        proc = subprocess.run(["git", "--git-dir", str(self.root), "cat-file", "--batch"],
                              input="".join(f"{self.rev}:{self.subdir}/{w}\n" for w in wanted).encode(),
                              capture_output=True, check=False)
        out, pos = proc.stdout, 0
        for name in wanted:
            end = out.index(b"\n", pos)
            header = out[pos:end].split()
            if len(header) < 3 or header[1] != b"blob":
                raise DatasetError(f"cannot read {name} at {self.rev}")
            size = int(header[2])
            self._blobs[name] = out[end + 1:end + 1 + size].decode("utf-8")
            pos = end + 1 + size + 1

    def read(self, folder: str, rel: str) -> str | None:
        if self.rev is None:
            path = self.root / folder / rel
            return path.read_bytes().decode("utf-8") if path.is_file() else None
        name = f"{folder}/{rel}"
        if name not in self._blobs and name in self._paths:
            self._blobs[name] = self._git("show", f"{self.rev}:{self.subdir}/{name}") or ""
        return self._blobs.get(name)


def _number(folder: str) -> int | None:
    tail = folder.rsplit("_", 1)[-1]
    return int(tail) if "_" in folder and tail.isdigit() else None


def first_changed_line(buggy: str, fixed: str) -> int:
    """1-based line of `buggy` that the fix first changes, blank lines aside (for a pure insertion,
    the line above it)."""
    old, new = buggy.splitlines(), fixed.splitlines()
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal" or not any(ln.strip() for ln in old[i1:i2] + new[j1:j2]):
            continue  # the solutions add or drop blank lines beside the real change
        if tag in ("replace", "delete"):
            return i1 + 1
        if tag == "insert":
            return max(i1, 1)
    return 0


def js_names(code: str) -> list[str]:
    """The top-level names a JavaScript file declares (const/let/var/function/class at column 0)."""
    seen: list[str] = []
    for name in _JS_TOP.findall(code):
        if name not in seen:
            seen.append(name)
    return seen


def _ends(text: str) -> str:
    return text if text.endswith("\n") else text + "\n"


def python_files(entry: str, buggy: str, solution: str, test_code: str) -> tuple[dict, dict, tuple]:
    lines = test_code.rstrip().splitlines()
    if not lines or not re.fullmatch(rf"check\(\s*{re.escape(entry)}\s*\)", lines[-1].strip()):
        raise ValueError(f"the test does not end with check({entry})")
    if not re.search(r"^def check\(", test_code, re.M):
        raise ValueError("the test defines no check()")
    body = "\n".join(lines[:-1]).strip("\n")
    test = (f'"""HumanEvalFix test of {entry} (converted by bench/public_bugs.py)."""\n\n{_PY_HEADER}\n'
            f"from {entry} import *  # noqa: F401,F403\n\n\n{body}\n\n\ndef test_{entry}():\n    check({entry})\n")
    test_path = f"tests/test_{entry}.py"
    files = {f"{entry}.py": _ends(buggy), "conftest.py": _CONFTEST, test_path: test}
    return files, {f"{entry}.py": _ends(solution)}, (test_path,)


def javascript_files(entry: str, buggy: str, solution: str, test_code: str) -> tuple[dict, dict, tuple]:
    have, fixed = js_names(buggy), js_names(solution)
    if entry not in fixed:
        raise ValueError(f"the solution declares no top-level {entry}")
    if "console.assert(" not in test_code:
        raise ValueError("the test has no console.assert call")
    names = have + [n for n in fixed if n not in have]

    def module(code: str, exported: list[str]) -> str:
        return f"{_ends(code.rstrip())}\nmodule.exports = {{ {', '.join(exported)} }};\n"

    body = "\n".join("  " + ln if ln.strip() else "" for ln in test_code.replace("console.assert(", "assert.ok(")
                     .strip("\n").splitlines())
    test = (f"// HumanEvalFix test of {entry} (converted by bench/public_bugs.py).\n"
            'const { test } = require("node:test");\nconst assert = require("node:assert");\n'
            f'const {{ {", ".join(names)} }} = require("../{entry}.js");\n\n'
            f'test("{entry}", () => {{\n{body}\n}});\n')
    test_path = f"test/{entry}.test.js"
    files = {f"{entry}.js": module(buggy, have), "package.json": json.dumps(_PACKAGE, indent=2) + "\n",
             test_path: test}
    return files, {f"{entry}.js": module(solution, fixed)}, (test_path,)


def convert(dataset: Dataset, folder: str) -> Task:
    """The task of one dataset item; ValueError says why it cannot be converted."""
    lang = folder.rsplit("_", 1)[0]
    instruction = dataset.read(folder, "instruction.md")
    solution = dataset.read(folder, f"solution/solution.{LANGS[lang]}")
    test_code = dataset.read(folder, "tests/test_code.txt")
    if instruction is None or solution is None or test_code is None:
        raise ValueError("instruction.md, the solution or tests/test_code.txt is missing")
    found = _CONTEXT.search(instruction)
    if not found:
        raise ValueError("instruction.md has no '# Context' code block followed by '# Instruction'")
    request = found.group("request").strip()
    entry = _ENTRY.search(request)
    if not entry:
        raise ValueError(f"the request is not 'Fix bugs in NAME.': {request[:60]!r}")
    name, buggy = entry.group(1), found.group("code")
    declared = js_names(solution) if lang == "javascript" else re.findall(r"^def (\w+)", solution, re.M)
    if name not in declared:  # the request may spell it with another case (minSubarraySum for minSubArraySum)
        same = [d for d in declared if d.lower() == name.lower()]
        if len(same) != 1:
            raise ValueError(f"the solution defines no top-level {name}")
        name = same[0]
    build = python_files if lang == "python" else javascript_files
    files, fixed, tests = build(name, buggy, solution, test_code)
    (module_path, fixed_text), = fixed.items()
    if files[module_path] == fixed_text:
        raise ValueError("the buggy code and the solution are the same")
    return Task(id=f"humanevalfix-{folder}", text=request, files=files, fixed=fixed, test_files=tests,
                mutation="humanevalfix", module=name, source=f"humanevalfix-{lang}",
                line=first_changed_line(files[module_path], fixed_text))


def _loops(task: Task, repo: Path, timeout: float) -> bool:
    """Whether a JavaScript task's `node --test` run goes past `timeout` (then its whole process group
    is killed: tasksuite.check's subprocess timeout kills only `node --test`, not the test process it
    started, which would loop on). Python tasks: False (pytest is one process, check handles it)."""
    if not all(rel.endswith(".js") for rel in task.test_files):
        return False
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "NODE_OPTIONS", "NODE_TEST"))}
    try:
        proc = subprocess.Popen(["node", "--test", *task.test_files], cwd=repo, env=env, start_new_session=True,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except OSError:
        return False
    try:
        proc.wait(timeout)
        return False
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        return True


def verify(task: Task, timeout: float = 20) -> str | None:
    """Why the task is not usable (its buggy repo passes, or the fixed one fails), or None.
    A buggy test run past `timeout` seconds (some bugs loop forever) counts as failing."""
    with tempfile.TemporaryDirectory(prefix="mlxagent-public-") as tmp:
        repo = materialize(task, Path(tmp) / "repo")
        before = None if _loops(task, repo, timeout) else check(task, repo, timeout)
        if before is not None and before.tests_passed:
            return f"the buggy code passes its test ({before.detail})"
        for rel, text in task.fixed.items():
            (repo / rel).write_bytes(text.encode("utf-8"))
        after = check(task, repo)
        if not after.tests_passed:
            return f"the solution fails its test ({after.detail})"
    return None


def select(numbers: list[int], limit: int, seed: int | None) -> list[int]:
    """`limit` task numbers (0: all): the first ones, or a seeded random sample, in numeric order."""
    if not limit or limit >= len(numbers):
        return list(numbers)
    if seed is None:
        return numbers[:limit]
    return sorted(random.Random(seed).sample(numbers, limit))


_LEFT: dict[str, dict] = {}  # task id -> what a run left in its repo (filled by _checked)


def _checked(task: Task, repo: Path, timeout: float = 120):
    """tasksuite.check, also noting whether the run left the task's code files changed (and a
    JavaScript test that loops is stopped with its process group, see _loops)."""
    if _loops(task, repo, timeout):
        changed = tuple(rel for rel in task.test_files
                        if not (repo / rel).is_file() or (repo / rel).read_bytes() != task.files[rel].encode())
        result = CheckResult(False, False, changed, f"node --test timed out after {timeout:g}s")
    else:
        result = check(task, repo, timeout)
    changed = [rel for rel, text in sorted(task.files.items()) if rel not in task.test_files
               and (not (repo / rel).is_file() or (repo / rel).read_bytes() != text.encode("utf-8"))]
    _LEFT[task.id] = {"code_files_changed": changed,
                      "equals_solution": all((repo / rel).is_file() and (repo / rel).read_bytes() == text.encode()
                                             for rel, text in task.fixed.items())}
    return result


def load_tasks(dataset: Dataset, langs: list[str], limit: int, seed: int | None,
               skip_verify: bool = False, items: list[int] | None = None) -> tuple[list[Task], list[tuple[str, str]]]:
    """The selected tasks of each language, and the (folder, why) of every item dropped."""
    tasks: list[Task] = []
    dropped: list[tuple[str, str]] = []
    for lang in langs:
        folders = dataset.folders(lang)
        numbers = [_number(f) for f in folders]
        if items:
            numbers = [n for n in numbers if n in items]
        chosen = select(numbers, limit, seed)  # EXCLUDED aside: a stable sample
        print(f"{lang}: {len(chosen)} of {len(folders)} items: {' '.join(map(str, chosen))}", flush=True)
        dropped += [(f"{lang}_{n}", EXCLUDED[f"{lang}_{n}"]) for n in chosen if f"{lang}_{n}" in EXCLUDED]
        picked = [f"{lang}_{n}" for n in chosen if f"{lang}_{n}" not in EXCLUDED]
        ext = LANGS[lang]
        dataset.prefetch(picked, ("instruction.md", f"solution/solution.{ext}", "tests/test_code.txt"))
        for folder in picked:
            try:
                task = convert(dataset, folder)
            except ValueError as exc:
                dropped.append((folder, f"cannot convert: {exc}"))
                continue
            why = None if skip_verify else verify(task)
            if why:
                dropped.append((folder, why))
            else:
                tasks.append(task)
    for folder, why in dropped:
        print(f"dropped {folder}: {why}", flush=True)
    return tasks, dropped


def summary_table(summary: dict) -> str:
    lines = [f"{'config':7} {'lang':11} {'tasks':>5} {'pass':>5} {'rate':>5} {'tests mod':>9} "
             f"{'wrong left':>10} {'calls':>5} {'tokens':>7} {'med s':>6}"]
    for key, s in summary.items():
        config, lang = key.split("/")
        lines.append(f"{config:7} {lang:11} {s['tasks']:5} {s['passed']:5} {s['success_rate']:5.0%} "
                     f"{s['test_files_modified_any']:9} {s['wrong_edits_left']:10} {s['median_tool_calls']:5} "
                     f"{s['median_tokens']:7} {s['median_seconds']:6.1f}")
    return "\n".join(lines)


def main() -> int:
    from mlxagent.blas import reexec_openblas

    reexec_openblas(__file__)
    os.environ.setdefault("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")  # as bench/tasks.py
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", help="the humanevalpack-fix folder, or with --rev a git directory")
    parser.add_argument("--rev", default=None, help="read --data as a git directory at this revision")
    parser.add_argument("--subdir", default=DEFAULT_SUBDIR, help="with --rev: the dataset's folder in the repo")
    parser.add_argument("--lang", choices=("python", "javascript", "both"), default="both")
    parser.add_argument("--limit", type=int, default=0, help="this many items per language (0: all)")
    parser.add_argument("--sample-seed", type=int, default=None,
                        help="with --limit: a seeded random sample of the item numbers (else the first ones)")
    parser.add_argument("--items", default="", help="only these item numbers, e.g. 10,114 (before --limit)")
    parser.add_argument("--configs", default="c,oracle")
    parser.add_argument("--max-steps", type=int, default=8)
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--no-sampled", action="store_true",
                        help="the candidate search without the model's sampled rewrites (core/repair/sampled.py)")
    parser.add_argument("--model", default="smollm2-135m", help="the model for a to d, as `--model` takes it")
    parser.add_argument("--verify-only", action="store_true",
                        help="only convert and check the items (buggy fails, solution passes); no agent runs")
    parser.add_argument("--no-verify", action="store_true",
                        help="skip the check before the run (for a set already checked with --verify-only)")
    parser.add_argument("--from-rows", nargs="+", metavar="JSONL",
                        help="no run: summarise the .rows.jsonl of runs cut short into --json")
    parser.add_argument("--json", default=str(ROOT / "bench" / "results" / "public_bugs.json"))
    args = parser.parse_args()
    if args.from_rows:
        return _from_rows(args, parser)
    if not args.data:
        parser.error("--data is required (the humanevalpack-fix folder, or a git directory with --rev)")
    if args.limit < 0:
        parser.error("--limit must not be negative")
    try:
        items = [int(n) for n in args.items.split(",") if n.strip()]
    except ValueError:
        parser.error(f"--items takes item numbers separated by commas, not {args.items!r}")
    from mlxagent.tasksuite import harness

    configs = [c.strip() for c in args.configs.split(",") if c.strip()]
    unknown = [c for c in configs if c not in harness.CONFIGS]
    if unknown or not configs:
        parser.error(f"unknown configuration {unknown[0] if unknown else ''!r}; "
                     f"choose from {', '.join(harness.CONFIGS)}")
    if args.no_sampled:
        harness.SAMPLED = False
    try:
        dataset = Dataset(args.data, args.rev, args.subdir)
    except DatasetError as exc:
        parser.error(str(exc))
    langs = list(LANGS) if args.lang == "both" else [args.lang]
    tasks, dropped = load_tasks(dataset, langs, args.limit, args.sample_seed, skip_verify=args.no_verify,
                                items=items)
    if not tasks:
        parser.error("no task to run (see the dropped items above)")
    if args.verify_only:
        print(f"\n{len(tasks)} tasks convert and check (buggy fails, solution passes); {len(dropped)} dropped")
        return 0
    loaded = None
    if any(c != "oracle" for c in configs):
        from mlxagent.model.runtime import ModelRuntime

        loaded = ModelRuntime().load(args.model)
    harness.check = _checked  # run_task's check, also noting what a run left behind
    rows: list[dict] = []
    partial = Path(args.json).with_suffix(".rows.jsonl")  # one line per finished task
    partial.parent.mkdir(parents=True, exist_ok=True)
    partial.write_text("")
    for config in configs:
        for task in tasks:
            row = harness.run_task(task, config, loaded, args.max_steps, args.max_tokens)
            left = _LEFT.pop(task.id, {"code_files_changed": [], "equals_solution": False})
            row.update(lang=task.source.split("-", 1)[1], item=task.id.split("-", 1)[1], entry=task.module,
                       bug_line=task.line, **left,
                       wrong_edit_left=not row["passed"] and bool(left["code_files_changed"]))
            rows.append(row)
            with partial.open("a") as f:
                f.write(json.dumps(row) + "\n")
            mark = "PASS" if row["passed"] else "fail"
            print(f"{config:6} {mark} {row['item']:15} {row['reason']:14} calls={row['tool_calls']:2} "
                  f"tokens={row['tokens']:6} {row['seconds']:6.1f}s left={','.join(left['code_files_changed']) or '-'}"
                  f"  {row['detail'][:60]}", flush=True)
    _write(args, rows, dropped)
    return 0


def _write(args, rows: list[dict], dropped: list[tuple[str, str]]) -> None:
    """The summary table, and the JSON of the summary and the rows."""
    from mlxagent.tasksuite.harness import summarise

    summary = {}
    for config in dict.fromkeys(r["config"] for r in rows):
        for lang in LANGS:
            part = [r for r in rows if r["config"] == config and r["lang"] == lang]
            if part:
                summary[f"{config}/{lang}"] = {**summarise(part),
                                               "wrong_edits_left": sum(r["wrong_edit_left"] for r in part),
                                               "passed_items": [r["item"] for r in part if r["passed"]]}
    print("\n" + summary_table(summary))
    write_results({"args": vars(args), "dropped": [{"item": f, "why": w} for f, w in dropped],
                   "load_average": list(os.getloadavg()), "summary": summary, "rows": rows}, args.json)


def _from_rows(args, parser) -> int:
    """--from-rows: the summary and JSON of runs cut short, from their .rows.jsonl files."""
    rows: list[dict] = []
    for path in args.from_rows:
        try:
            rows += [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]
        except (OSError, ValueError) as exc:
            parser.error(f"--from-rows {path}: {exc}")
    if not rows:
        parser.error("--from-rows: no rows in those files")
    _write(args, rows, [])
    return 0


if __name__ == "__main__":
    sys.exit(main())
