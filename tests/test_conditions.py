"""A missing guard synthesised from the tests' values (issue 26, core/repair/conditions.py, probe.py).

Real pytest runs in real git repos in tmp_path: the probe traces the suspect functions while the
tests run and keeps the conditions that are true where a test expects an exception and false
everywhere else; those become `if <cond>: raise E(...)` candidates that the search checks first.
The turn end to end: `mlxagent run --yes --allow-commands` with the real default model.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from mlxagent.core.repair import Candidate, Sources, search
from mlxagent.core.repair.conditions import expectations, synthesised
from mlxagent.core.repair.probe import Site, observe
from mlxagent.core.testing.detect import resolve_test_command
from mlxagent.core.testing.report import parse_test_output
from mlxagent.core.testing.runner import run_command

from fixture_repos import init_repo
from test_repair import run_search

ACCOUNT = '''\
class Overdrawn(Exception):
    pass


class Account:
    def __init__(self, balance=0):
        self.balance = balance

    def withdraw(self, amount):
        """Take out `amount` (a positive number); the balance never drops below zero."""
        if amount > self.balance:
            raise Overdrawn(amount)
        self.balance -= amount
        return self.balance
'''
ACCOUNT_TEST = '''\
import pytest

from account import Account, Overdrawn


def test_withdraw_down_to_zero():
    a = Account(30)
    assert a.withdraw(30) == 0
    with pytest.raises(Overdrawn):
        a.withdraw(1)


def test_withdraw_nothing_is_refused():
    a = Account(0)
    with pytest.raises(ValueError):
        a.withdraw(0)
'''
STACK = '''\
class StackError(Exception):
    pass


class Stack:
    def __init__(self, capacity=None):
        self.items = []
        self.capacity = capacity

    def push(self, item):
        self.items.append(item)

    def is_full(self):
        return self.capacity is not None and len(self.items) == self.capacity
'''
STACK_TEST = '''\
import unittest

from stack import Stack, StackError


class StackTest(unittest.TestCase):
    def test_full(self):
        s = Stack(1)
        s.push(1)
        with self.assertRaises(StackError):
            s.push(2)
        self.assertEqual(s.items, [1])

    def test_unbounded(self):
        s = Stack()
        for i in range(5):
            s.push(i)
        self.assertEqual(len(s.items), 5)
'''


def make_repo(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    for path, text in files.items():
        (root / path).write_text(text)
    init_repo(root)
    return root


def report_of(root: Path):
    command = resolve_test_command(root)
    result = run_command(list(command.argv), root)
    return command, parse_test_output(result.output, result.exit_code, root, command.runner)


def passes_with(root: Path, command, candidate: Candidate) -> bool:
    (path, text), = candidate.files
    old = (root / path).read_bytes()
    (root / path).write_text(text)
    try:
        return run_command(list(command.argv), root).exit_code == 0
    finally:
        (root / path).write_bytes(old)


def test_the_condition_the_tests_values_call_for_is_made_first_and_passes(tmp_path):
    root = make_repo(tmp_path, {"account.py": ACCOUNT, "test_account.py": ACCOUNT_TEST})
    before = {p: (root / p).read_bytes() for p in ("account.py", "test_account.py")}
    command, report = report_of(root)
    sources = Sources(root, ["account.py", "test_account.py"])
    made = synthesised(sources, report, "withdrawing nothing should be refused", command)
    assert made, "no condition held"
    conditions = [c.description.split("add if ")[1].split(":")[0] for c in made]
    assert conditions[0] in ("not amount", "amount <= 0"), conditions
    assert all(c.rule == "condition" and "raise ValueError(" in dict(c.files)["account.py"] for c in made)
    # at the body's start, true for withdraw(1) at a balance of 30 - 30: inside the block that
    # expects Overdrawn, a guard raising ValueError there would break that test, so the probe
    # counted it against (below the Overdrawn check, withdraw(1) never reaches the guard)
    at_start = [c.description.split("add if ")[1].split(":")[0] for c in made if c.line == 11]
    assert at_start and "amount > self.balance" not in at_start and "not self.balance" not in at_start
    assert passes_with(root, command, made[0])
    assert {p: (root / p).read_bytes() for p in before} == before  # the probe ran in a scratch copy


def test_unittest_assert_raises_and_a_predicate_method_of_the_class(tmp_path):
    root = make_repo(tmp_path, {"stack.py": STACK, "test_stack.py": STACK_TEST})
    command, report = report_of(root)
    made = synthesised(Sources(root, ["stack.py", "test_stack.py"]), report, "fix push", command)
    assert made and "add if self.is_full(): raise StackError" in made[0].description, [c.description for c in made]
    assert 'raise StackError("stack is full")' in dict(made[0].files)["stack.py"]
    assert passes_with(root, command, made[0])
    # `len(self.items) >= self.capacity` fails on the unbounded stack (None): only its guarded form may hold
    assert not any(c.description.split("add if ")[1].startswith("len(self.items) >= self.capacity:") for c in made)


def test_nothing_is_probed_when_no_failing_line_is_inside_a_block_that_expects_an_exception(tmp_path, monkeypatch):
    test = "from account import Account\n\n\ndef test_balance():\n    assert Account(5).withdraw(2) == 2\n"
    root = make_repo(tmp_path, {"account.py": ACCOUNT.replace("-= amount", "+= amount"), "test_account.py": test})
    command, report = report_of(root)
    assert not report.ok
    monkeypatch.setattr("mlxagent.core.repair.conditions.observe", lambda *a, **k: pytest.fail("probed"))
    assert synthesised(Sources(root, ["account.py", "test_account.py"]), report, "fix it", command) == []


def test_blocks_are_read_with_their_exception_and_the_failing_one_is_marked(tmp_path):
    root = make_repo(tmp_path, {"account.py": ACCOUNT, "test_account.py": ACCOUNT_TEST})
    _, report = report_of(root)
    found = expectations(Sources(root, ["account.py", "test_account.py"]), report)
    assert [(b.start, b.end, b.expect, exc) for b, exc, _ in found] == [
        (9, 10, False, "Overdrawn"), (15, 16, True, "ValueError")]


def test_the_probe_sorts_observations_by_block_and_an_error_counts_against(tmp_path):
    code = "def f(x, y=None):\n    if y:\n        raise KeyError(y)\n    return x\n"
    test = ("import pytest\nfrom m import f\n\n\ndef test_f():\n    assert f(3) == 3\n"
            "    with pytest.raises(KeyError):\n        f(-1, 'k')\n    with pytest.raises(ValueError):\n"
            "        f(-2)\n")
    root = make_repo(tmp_path, {"m.py": code, "test_m.py": test})
    command = resolve_test_command(root)
    conds = ("x < 0", "x < -1", "x <= 0 and y is None", "y < 0", "x == 3", "not y")
    held = observe(root, ["m.py", "test_m.py"], command, [Site("m.py", 2, conds)], "ValueError")
    # f(-1, 'k') is in a block that expects KeyError: a guard raising ValueError there breaks it,
    # so `x < 0` is out; `y < 0` fails (None < 0) at f(-2); `x == 3` and `not y` are true at f(3)
    assert held == [["x < -1", "x <= 0 and y is None"]]
    assert observe(root, ["m.py", "test_m.py"], command, [Site("m.py", 2, conds)], "TypeError") is None


def test_a_test_goes_on_past_a_block_that_did_not_raise_and_two_blocks_make_an_or(tmp_path):
    code = "MAX_PORT = 65535\n\n\ndef parse_port(text):\n    port = int(text)\n    return port\n"
    test = ("import pytest\nfrom ports import parse_port\n\n\ndef test_ok():\n    assert parse_port('80') == 80\n\n\n"
            "def test_out_of_range():\n    with pytest.raises(ValueError):\n        parse_port('0')\n"
            "    with pytest.raises(ValueError):\n        parse_port('70000')\n")
    root = make_repo(tmp_path, {"ports.py": code, "test_ports.py": test})
    command, report = report_of(root)
    made = synthesised(Sources(root, ["ports.py", "test_ports.py"]), report, "fix parse_port", command)
    assert made, "nothing held"
    assert all(" or " in c.description for c in made[:2]), [c.description for c in made]
    assert any(passes_with(root, command, c) for c in made[:3]), [c.description for c in made]
    assert 'raise ValueError("invalid port")' in dict(made[0].files)["ports.py"]


def test_the_search_checks_the_synthesised_candidates_before_the_others(tmp_path):
    root = make_repo(tmp_path, {"account.py": ACCOUNT, "test_account.py": ACCOUNT_TEST})
    command, report = report_of(root)
    sources = Sources(root, ["account.py", "test_account.py"])
    first = synthesised(sources, report, "fix it", command)
    checked: list[str] = []

    def checker(scratch_root: Path) -> bool:
        checked.append((scratch_root / "account.py").read_text())
        return run_command(list(command.argv), scratch_root).exit_code == 0

    scored: list[int] = []

    def scorer(path, context, base, variants):
        scored.append(len(variants))
        return [0.0] * len(variants)

    _, result = run_search(search(sources, "fix it", report, scorer, checker, first=first))
    assert result.found is not None and result.found.rule == "condition"
    assert checked[0] == dict(first[0].files)["account.py"] and len(checked) == 1
    assert scored == [len(first)] and result.scored == len(first)  # the rest were never ranked
    assert result.considered > len(first)


@pytest.mark.real_model
def test_a_turn_adds_the_missing_guard_with_the_real_model(tmp_path, real_model_dir):
    root = make_repo(tmp_path, {"account.py": ACCOUNT, "test_account.py": ACCOUNT_TEST})
    out = subprocess.run([sys.executable, "-m", "mlxagent", "run",
                          "test_withdraw_nothing_is_refused fails: withdraw(0) should raise ValueError",
                          "--repo", str(root), "--yes", "--allow-commands", "--json", "--max-steps", "6"],
                         capture_output=True, text=True, timeout=600)
    events = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    assert out.returncode == 0, (out.stderr[-2000:], events[-3:])
    text = (root / "account.py").read_text()
    assert "raise ValueError(" in text and text.count("\n") == ACCOUNT.count("\n") + 2
    assert (root / "test_account.py").read_text() == ACCOUNT_TEST
    assert [e["ok"] for e in events if e["event"] == "TestResult"][-1] is True
    assert next(e for e in events if e["event"] == "TurnFinished")["reason"] == "done"


def test_a_cancelled_probe_gives_nothing(tmp_path):
    root = make_repo(tmp_path, {"account.py": ACCOUNT, "test_account.py": ACCOUNT_TEST})
    command, report = report_of(root)
    cancel = threading.Event()
    cancel.set()
    assert synthesised(Sources(root, ["account.py", "test_account.py"]), report, "fix it", command,
                       cancel=cancel) == []


SHOW = '''\
class SoldOut(Exception):
    pass


class Show:
    def __init__(self, seats):
        self.seats = seats
        self.booked = {}
        self.log = []

    def available(self):
        return self.seats - sum(self.booked.values())

    def last(self):
        return self.log.pop()

    def book(self, name, count):
        if self.available() == 0:
            raise SoldOut()
        self.booked[name] = self.booked.get(name, 0) + count
        self.log.append(name)
        return self.available()
'''
SHOW_TEST = '''\
import pytest

from show import Show, SoldOut


def test_book():
    show = Show(10)
    assert show.book("ann", 3) == 7
    assert show.book("bob", 7) == 0


def test_sold_out():
    show = Show(2)
    show.book("ann", 2)
    with pytest.raises(SoldOut):
        show.book("bob", 1)


def test_not_more_than_are_left():
    show = Show(4)
    show.book("ann", 3)
    with pytest.raises(ValueError):
        show.book("bob", 2)
    assert show.available() == 1
'''


def test_a_guard_below_another_check_compares_with_a_method_that_only_computes(tmp_path):
    root = make_repo(tmp_path, {"show.py": SHOW, "test_show.py": SHOW_TEST})
    command, report = report_of(root)
    made = synthesised(Sources(root, ["show.py", "test_show.py"]), report, "fix book", command)
    assert made and made[0].description.startswith("show.py:20: add if count > self.available(): raise ValueError"), \
        [c.description for c in made]
    assert 'raise ValueError("count > available")' in dict(made[0].files)["show.py"]
    assert passes_with(root, command, made[0])
    # `last()` pops: the probe never calls it (a condition would change what the tests test)
    import ast

    from mlxagent.core.repair.conditions import _members
    terms, predicates = _members(next(n for n in ast.parse(SHOW).body if isinstance(n, ast.ClassDef)
                                      and n.name == "Show"))
    assert "self.available()" in terms and "self.last()" not in terms and "last" not in predicates


def test_the_probe_runs_only_the_test_files_of_the_failing_blocks(tmp_path):
    marker = tmp_path / "other-ran"
    other = f"from pathlib import Path\n\n\ndef test_elsewhere():\n    Path({str(marker)!r}).touch()\n"
    root = make_repo(tmp_path, {"account.py": ACCOUNT, "test_account.py": ACCOUNT_TEST, "test_other.py": other})
    command, report = report_of(root)
    assert marker.exists()  # the whole suite ran for the report
    marker.unlink()
    made = synthesised(Sources(root, ["account.py", "test_account.py", "test_other.py"]), report, "fix it", command)
    assert made and not marker.exists()  # tracing a large suite whole would slow the turn down
