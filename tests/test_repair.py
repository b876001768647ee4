"""The candidate search: where it looks, what it proposes, how it scores, and that checks never touch the repo."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from mlxagent.core.repair import (Candidate, ScratchCopy, Sources, candidates, first_change, is_test_path, rank,
                                  search, suspects)
from mlxagent.core.testing.detect import resolve_test_command
from mlxagent.core.testing.runner import run_command
from mlxagent.core.testing.report import parse_test_output

from fixture_repos import init_repo


def make_repo(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(text.encode())
    init_repo(root)
    return root


def failing_report(root: Path):
    command = resolve_test_command(root)
    result = run_command(list(command.argv), root)
    report = parse_test_output(result.output, result.exit_code, root, command.runner)
    assert not report.ok
    return report


CASES = {
    # kind: (module source with the bug, the fixed line, test file)
    "compare": ("def is_adult(age):\n    return age > 18\n", "    return age >= 18\n",
                "from m import is_adult\n\ndef test_adult():\n    assert is_adult(18)\n    assert not is_adult(17)\n"),
    "arith": ("def total(a, b):\n    return a - b\n", "    return a + b\n",
              "from m import total\n\ndef test_total():\n    assert total(2, 3) == 5\n"),
    "arith_far": ("def divides(n, i):\n    return n - i == 0\n", "    return n % i == 0\n",
                  "from m import divides\n\ndef test_divides():\n    assert divides(6, 3)\n    assert not divides(6, 4)\n"),
    "bound": ("def last(items):\n    return items[len(items)]\n", "    return items[len(items) - 1]\n",
              "from m import last\n\ndef test_last():\n    assert last([1, 2]) == 2\n"),
    "string": ('def greet(name):\n    return "Helo, " + name\n', '    return "Hello, " + name\n',
               'from m import greet\n\ndef test_greet():\n    assert greet("Bob") == "Hello, Bob"\n'),
    "call": ("def biggest(xs):\n    return min(xs)\n", "    return max(xs)\n",
             "from m import biggest\n\ndef test_biggest():\n    assert biggest([1, 3, 2]) == 3\n"),
    "swap": ("def ratio(a, b):\n    return divide(b, a)\n\ndef divide(x, y):\n    return x / y\n",
             "    return divide(a, b)\n",
             "from m import ratio\n\ndef test_ratio():\n    assert ratio(6, 3) == 2\n"),
    "guard": ('def first(xs):\n    """The first item, or None when there is none."""\n    return xs[0]\n', None,
              "from m import first\n\ndef test_first():\n    assert first([]) is None\n    assert first([4]) == 4\n"),
}


@pytest.mark.parametrize("kind", sorted(CASES))
def test_the_fix_is_among_the_candidates_and_the_search_finds_one_that_passes(tmp_path, kind):
    source, fixed_line, test = CASES[kind]
    root = make_repo(tmp_path, {"m.py": source, "test_m.py": test})
    report = failing_report(root)
    sources = Sources(root, ["m.py", "test_m.py"])
    cands = candidates(sources, "fix m.py so the tests pass", report)
    assert all(c.path == "m.py" for c in cands)  # the tests are never edited
    if fixed_line is not None:
        assert any(fixed_line in dict(c.files)["m.py"] for c in cands), [c.description for c in cands][:30]
    command = resolve_test_command(root)
    from mlxagent.core.testing.gate import CommandGate

    gate = CommandGate(root)
    steps = search(sources, "fix m.py so the tests pass", report, None, lambda r: gate.check(command, r),
                   max_checked=len(cands))
    stages = []
    while True:
        try:
            stages.append(next(steps)[0])
        except StopIteration as stop:
            result = stop.value
            break
    assert result.found is not None and stages[-1] == "found"
    assert (root / "m.py").read_text() == source  # the repo is untouched


def test_suspects_put_the_failing_code_frame_first_and_skip_tests(tmp_path):
    root = make_repo(tmp_path, {
        "calc.py": "def inverse(x):\n    return 1 / x\n\ndef other():\n    return 2\n",
        "test_calc.py": "from calc import inverse\n\ndef test_inverse():\n    assert inverse(0) == 0\n",
    })
    report = failing_report(root)
    found = suspects(Sources(root, ["calc.py", "test_calc.py"]), report, "inverse(0) crashes")
    assert (found[0].path, found[0].line) == ("calc.py", 2)
    assert not any(is_test_path(s.path) for s in found)


def test_a_rename_the_request_asks_for_changes_every_file_but_the_tests(tmp_path):
    root = make_repo(tmp_path, {
        "shapes.py": "def calc_area(w, h):\n    return w * h\n",
        "report.py": "from shapes import calc_area\n\nprint(calc_area(2, 3))\n",
        "test_shapes.py": "import shapes\n\ndef test_name():\n    assert hasattr(shapes, 'rectangle_area')\n",
    })
    sources = Sources(root, ["report.py", "shapes.py", "test_shapes.py"])
    cands = candidates(sources, "Rename the function calc_area to rectangle_area everywhere.", None)
    rename = next(c for c in cands if c.rule == "rename")
    assert dict(rename.files).keys() == {"report.py", "shapes.py"}
    assert all("calc_area" not in text for _, text in rename.files)


def test_rank_orders_by_the_scorer_and_a_cancelled_scorer_ranks_the_rest_last(tmp_path):
    root = make_repo(tmp_path, {"a.py": "x = 1\n"})
    sources = Sources(root, ["a.py"])
    cands = [Candidate((("a.py", f"x = {n}\n"),), "a.py", 1, "number", str(n), prior=1.0) for n in (2, 3, 4)]
    ranked = rank(cands, sources, lambda path, ctx, base, variants: [0.0, 5.0, 1.0], "task")
    assert [c.description for c in ranked] == ["3", "4", "2"]
    partial = rank(cands, sources, lambda path, ctx, base, variants: [1.0], "task")
    assert partial[0].description == "2" and partial[-1].score == float("-inf")


def test_scratch_copy_restores_and_removes_itself(tmp_path):
    root = make_repo(tmp_path, {"a.py": "x = 1\r\n", "sub/b.txt": "b\n"})
    scratch = ScratchCopy(root, ["a.py", "sub/b.txt"])
    scratch.apply([("a.py", "x = 2\n"), ("new.py", "y\n")])
    assert (scratch.root / "a.py").read_text() == "x = 2\n"
    scratch.restore()
    assert (scratch.root / "a.py").read_bytes() == b"x = 1\r\n" and not (scratch.root / "new.py").exists()
    scratch.close()
    assert not scratch.dir.exists()
    assert (root / "a.py").read_bytes() == b"x = 1\r\n"


def test_first_change_is_a_unique_whole_line_edit():
    old = "a = 1\nb = 2\na = 1\nc = 3\n"
    new = "a = 1\nb = 2\na = 5\nc = 3\n"
    search_text, replace_text = first_change(old, new)
    assert old.count(search_text) == 1
    assert old.replace(search_text, replace_text) == new


def test_scoring_only_the_changed_span_equals_the_whole_text_difference(tiny_model_dir):
    """score_variants runs only the tokens that differ; with the whole tail it must equal the
    difference of full log-likelihoods computed the plain way."""
    import mlx.core as mx

    from mlxagent.model.runtime import load_model_dir
    from mlxagent.model.scoring import score_variants

    loaded = load_model_dir(tiny_model_dir, "tiny")
    encode = lambda t: list(loaded.tokenizer.encode(t, add_special_tokens=False))  # noqa: E731
    prompt = encode("Fix the function so the tests pass.\n")
    base = encode("def add(a, b):\n    return a - b\n\nprint(add(1, 2))\n")
    variants = [encode("def add(a, b):\n    return a + b\n\nprint(add(1, 2))\n"),
                encode("def add(a, b):\n    return b - a - 0\n\nprint(add(1, 2))\n"),
                base]

    def full(tokens):
        seq = prompt + tokens
        logits = loaded.model(mx.array(seq)[None])[0].astype(mx.float32)
        lp = logits - mx.logsumexp(logits, axis=-1, keepdims=True)
        rows = lp[len(prompt) - 1:-1]
        return float(mx.take_along_axis(rows, mx.array(tokens)[:, None], axis=-1).sum())

    scores = score_variants(loaded, prompt, base, variants, tail=10_000)
    expected = [full(v) - full(base) for v in variants]
    assert scores[2] == 0.0
    assert scores == pytest.approx(expected, abs=2e-3)


def run_search(steps):
    stages = []
    while True:
        try:
            stages.append(next(steps))
        except StopIteration as stop:
            return stages, stop.value


def test_a_search_cancelled_during_the_winning_check_says_interrupted_not_none_passed(tmp_path):
    import threading

    from mlxagent.core.testing.gate import CommandGate

    source, fixed_line, test = CASES["arith"]
    root = make_repo(tmp_path, {"m.py": source, "test_m.py": test})
    report = failing_report(root)
    sources = Sources(root, ["m.py", "test_m.py"])
    command = resolve_test_command(root)
    gate, cancel = CommandGate(root), threading.Event()

    def checker(scratch_root):
        if fixed_line in (scratch_root / "m.py").read_text():
            cancel.set()  # the user presses Esc while the right fix is being checked
        return gate.check(command, scratch_root, cancel)

    stages, result = run_search(search(sources, "fix m.py so the tests pass", report, None, checker,
                                       max_checked=100, cancel=cancel.is_set))
    assert result.found is None and result.interrupted
    assert stages[-1][0] == "interrupted" and "interrupted" in result.message
    assert "none of" not in result.message.split("(")[0]
    assert all(fixed_line not in dict(c.files)["m.py"] for c, _ in result.checked)  # not counted as failed


def test_an_interrupted_search_in_a_turn_does_not_mark_the_search_exhausted(tmp_path, monkeypatch):
    import threading

    from mlxagent.core import events as ev
    from fixture_repos import fixture_repo
    from test_test_loop import TASK, make_agent, of

    repo = fixture_repo("off_by_one", tmp_path)
    agent, _ = make_agent(repo, ["Done."], repair_first=True, auto_approve=True)
    cancel = threading.Event()
    real_check = agent.gate.check

    def check(command, root, cancel_event=None, per_test=None):
        cancel.set()
        return real_check(command, root, cancel_event, per_test)

    monkeypatch.setattr(agent.gate, "check", check)
    events = list(agent.run_turn(TASK, cancel))
    stages = [e.stage for e in of(events, ev.RepairProgress)]
    assert stages and stages[-1] == "interrupted", stages
    assert not agent.tests.repair_exhausted and agent.tests.repairs == 0
    assert not any("could not find a fix" in (e.message or "") for e in of(events, ev.TurnFinished))


def test_a_scratch_copy_left_by_a_killed_search_is_removed_by_the_next_one(tmp_path, monkeypatch):
    import signal
    import subprocess
    import tempfile

    temp = tmp_path / "tmp"
    temp.mkdir()
    source, _, test = CASES["arith"]
    root = make_repo(tmp_path, {"m.py": source, "test_m.py": test})
    child = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\nfrom pathlib import Path\n"
         "from mlxagent.core.repair import ScratchCopy\n"
         "s = ScratchCopy(Path(sys.argv[1]), ['m.py', 'test_m.py'])\nprint(s.dir, flush=True)\ntime.sleep(60)\n",
         str(root)], stdout=subprocess.PIPE, text=True, env={**__import__("os").environ, "TMPDIR": str(temp)})
    leaked = Path(child.stdout.readline().strip())
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert leaked.parent == temp and (leaked / root.name / "m.py").exists()  # killed: nothing cleaned up
    lookalike = temp / "mlxagent-check-not-ours"  # same prefix, no marker: someone else's
    (lookalike / "data").mkdir(parents=True)
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    live = ScratchCopy(root, ["m.py"])  # ours and alive: kept
    try:
        report = failing_report(root)
        run_search(search(Sources(root, ["m.py", "test_m.py"]), "fix m.py", report, None, lambda r: False,
                          max_checked=1))
        assert not leaked.exists()
        assert (lookalike / "data").is_dir() and live.root.is_dir()
    finally:
        live.close()
    assert sorted(p.name for p in temp.iterdir()) == ["mlxagent-check-not-ours"]


INVENTORY = '''class OutOfStock(Exception):
    pass


class Inventory:
    def __init__(self):
        self.stock = {}
        self.log = []

    def add(self, item, count):
        if count <= 0:
            raise ValueError("count must be positive")
        self.stock[item] = self.stock.get(item, 0) + count
        self.log.append(("add", item, count))

    def take(self, item, count):
        if count <= 0:
            raise ValueError("count must be positive")
        if self.stock.get(item, 0) < count:
            raise OutOfStock(item)
        self.stock[item] -= count
        self.log.append(("take", item, count))

    def move(self, item, count, target):
        self.take(item, count)
        self.add(item, count)

    def level(self, item):
        return self.stock.get(item, 0)
'''
INVENTORY_TESTS = '''import pytest

from inventory import Inventory, OutOfStock


def test_add_and_take():
    shop = Inventory()
    shop.add("nail", 10)
    shop.take("nail", 4)
    assert shop.level("nail") == 6


def test_move_to_another():
    shop, depot = Inventory(), Inventory()
    shop.add("nail", 10)
    shop.move("nail", 3, depot)
    assert (shop.level("nail"), depot.level("nail")) == (7, 3)


def test_move_too_many():
    shop, depot = Inventory(), Inventory()
    with pytest.raises(OutOfStock):
        shop.move("nail", 3, depot)
    assert depot.level("nail") == 0
'''


def test_one_family_of_guards_does_not_crowd_the_fix_out_of_the_scored_few(tmp_path):
    from mlxagent.core.repair.ranking import MAX_SCORED
    from mlxagent.core.repair.spectrum import measure

    root = make_repo(tmp_path, {"inventory.py": INVENTORY, "test_inventory.py": INVENTORY_TESTS})
    report = failing_report(root)
    files = ["inventory.py", "test_inventory.py"]
    spectrum = measure(root, files, resolve_test_command(root))
    assert spectrum is not None
    found = candidates(Sources(root, files), "shop.move('nail', 3, depot) leaves the depot empty", report,
                       spectrum=spectrum)
    by_prior = sorted(found, key=lambda c: -c.prior)
    fixed = INVENTORY.replace("        self.add(item, count)\n", "        target.add(item, count)\n")
    place = next(n for n, c in enumerate(by_prior, 1) if dict(c.files)["inventory.py"] == fixed)
    assert place <= MAX_SCORED  # the model scores it
    guards = [c for c in by_prior[:MAX_SCORED] if c.rule == "guard"]
    assert len({c.line for c in guards}) >= 2  # guards of more than one function among them


def test_a_wrong_default_value_is_a_suspect_and_its_fix_a_candidate(tmp_path):
    bug = "def pages(count, per_page=5):\n    \"\"\"Pages of per_page items (10 by default).\"\"\"\n" \
          "    return -(-count // per_page)\n"
    test = "from m import pages\n\ndef test_pages():\n    assert pages(25) == 3\n    assert pages(25, 5) == 5\n"
    root = make_repo(tmp_path, {"m.py": bug, "test_m.py": test})
    report = failing_report(root)
    request = "pages(25) gives 5, it should be 3 with the default of 10 items a page"
    sources = Sources(root, ["m.py", "test_m.py"])
    weights = {s.line: s.weight for s in suspects(sources, report, request) if s.path == "m.py"}
    assert 1 in weights and weights[1] < weights[3]  # the signature, below the body
    found = candidates(sources, request, report)
    assert any(dict(c.files)["m.py"] == bug.replace("per_page=5", "per_page=10") for c in found)
    for c in found:  # a default value may change, the parameters may not
        assert dict(c.files)["m.py"].startswith("def pages(count, per_page=")


def test_a_word_inside_a_python_name_is_never_swapped_for_a_request_word(tmp_path):
    """`even_count` → `even_out` at one use is a NameError: in Python code the word rule changes
    whole words only (a misspelled whole name still gets its fix)."""
    root = make_repo(tmp_path, {
        "m.py": "def tally(xs):\n    even_count = 0\n    for x in xs:\n        even_count += x\n    return even_count\n",
        "test_m.py": "from m import tally\n\ndef test_tally():\n    assert tally([1, 2]) == 4\n"})
    sources = Sources(root, ["m.py", "test_m.py"])
    words = [c.description for c in candidates(sources, "tally: the out total is wrong", failing_report(root))
             if c.rule == "word"]
    assert not any("even_out" in d for d in words), words


@pytest.mark.parametrize("source, test, line, name, wrong, right", [
    ('SECONDS = {"m": 61, "h": 3600}\nUNUSED = 7\n\n\ndef seconds(n, unit):\n'
     '    """`n` minutes or hours in seconds."""\n    return n * SECONDS[unit]\n',
     "from m import seconds\n\n\ndef test_minutes():\n    assert seconds(2, 'm') == 120\n",
     1, "SECONDS", '"m": 61', '"m": 60'),
    ('import re\n\n_PART = re.compile(r"(\\d)([hms])", re.I)\n\n\ndef parts(text):\n'
     '    return _PART.findall(text)\n',
     "from m import parts\n\n\ndef test_parts():\n    assert parts('45s') == [('45', 's')]\n",
     3, "_PART", r"(\d)([hms])", r"(\d+)([hms])"),  # a call of literals: a compiled pattern
])
def test_a_constant_the_failing_function_reads_is_a_suspect_and_its_fix_a_candidate(tmp_path, source, test, line,
                                                                                     name, wrong, right):
    root = make_repo(tmp_path, {"m.py": source, "test_m.py": test})
    report = failing_report(root)
    sources = Sources(root, ["m.py", "test_m.py"])
    found = {s.line: s for s in suspects(sources, report, "fix it")}
    assert line in found and f"the constant {name} it reads" in found[line].why
    if name == "SECONDS":
        assert 2 not in found  # a constant the function does not read
    fixed = source.replace(wrong, right)
    assert any(dict(c.files)["m.py"] == fixed for c in candidates(sources, "fix it", report))


def test_the_best_candidates_by_prior_are_checked_even_when_the_model_ranks_them_last(tmp_path):
    source, fixed_line, test = CASES["arith"]
    root = make_repo(tmp_path, {"m.py": source, "test_m.py": test})
    report = failing_report(root)
    sources = Sources(root, ["m.py", "test_m.py"])
    command = resolve_test_command(root)
    cands = sorted(candidates(sources, "fix m.py", report), key=lambda c: -c.prior)
    best = next(i for i, c in enumerate(cands) if fixed_line in dict(c.files)["m.py"])
    assert best < 3  # the fix is among the best three by prior

    def scorer(path, context, base, variants):  # a model that likes the fix least of all
        return [-100.0 if fixed_line in v else -float(i) / 100 for i, v in enumerate(variants)]

    def checker(scratch_root):
        return run_command(list(command.argv), scratch_root).exit_code == 0

    stages, result = run_search(search(sources, "fix m.py", report, scorer, checker, max_checked=5, fast_checked=5))
    assert result.found is not None and fixed_line in dict(result.found.files)["m.py"]
    assert len(result.checked) <= 5
