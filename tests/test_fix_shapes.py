"""The candidate search's extra fix shapes (repair/shapes.py): each makes the fix of a small buggy
module among the candidates, every candidate parses, and no rule edits a docstring or a comment."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mlxagent.core.repair import Sources, candidates
from mlxagent.core.repair.candidates import RULE_WEIGHT, CandidateMaker
from mlxagent.core.repair.shapes import comment_start, protected_lines
from mlxagent.core.testing.parse_common import Failure, Frame
from mlxagent.core.testing.report import TestReport, parse_test_output


def write(tmp_path: Path, files: dict[str, str]) -> Sources:
    for path, text in files.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)
    return Sources(tmp_path, list(files))


def run_tests(root: Path) -> TestReport:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTEST_ADDOPTS", "PYTEST_PLUGINS")}
    env.update(PYTEST_DISABLE_PLUGIN_AUTOLOAD="1", PYTHONDONTWRITEBYTECODE="1")
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=root, env=env,
                          capture_output=True, text=True, timeout=60)
    report = parse_test_output(done.stdout + done.stderr, done.returncode, root, "pytest")
    assert not report.ok and report.failures, done.stdout
    return report


def fix_among_candidates(tmp_path: Path, files: dict[str, str], fixed: dict[str, str], rule: str,
                         report: TestReport | None = None, request: str = "fix it so the tests pass") -> list:
    """The candidates for the buggy repo; asserts `fixed` (path → whole text) is one of them, made
    by `rule`, and that every candidate parses."""
    sources = write(tmp_path, files)
    cands = candidates(sources, request, report if report is not None else run_tests(tmp_path))
    for c in cands:
        for path, text in c.files:
            compile(text, path, "exec", dont_inherit=True)  # parses, and each return/break is in place
    hits = [c for c in cands if dict(c.files) == fixed]
    assert hits, [c.description for c in cands if c.rule == rule][:40]
    assert hits[0].rule == rule and RULE_WEIGHT[rule] <= 1.2
    return cands


M = "m.py"
T = "test_m.py"


def test_return_at_the_end_of_a_function_that_returns_none(tmp_path):
    bug = "def total(xs):\n    result = 0\n    for x in xs:\n        result += x\n"
    test = "from m import total\n\ndef test_total():\n    assert total([1, 2]) == 3\n"
    fix_among_candidates(tmp_path, {M: bug, T: test}, {M: bug + "    return result\n"}, "return")


def test_break_after_the_last_statement_of_a_block_in_a_loop(tmp_path):
    bug = ("def first_even(xs):\n    found = None\n    for x in xs:\n        if x % 2 == 0:\n"
           "            found = x\n    return found\n")
    fixed = bug.replace("found = x\n", "found = x\n            break\n")
    test = "from m import first_even\n\ndef test_first_even():\n    assert first_even([1, 2, 4]) == 2\n"
    fix_among_candidates(tmp_path, {M: bug, T: test}, {M: fixed}, "loop_exit")


def test_a_missing_loop_update_copied_from_a_nearby_one(tmp_path):
    # the loop never ends, so the report is the one a timeout would leave: the frame in the loop
    bug = ("def merge(a, b):\n    i = j = 0\n    out = []\n    while i < len(a) and j < len(b):\n"
           "        if a[i] <= b[j]:\n            out.append(a[i])\n            i += 1\n"
           "        else:\n            out.append(b[j])\n    return out + a[i:] + b[j:]\n")
    fixed = bug.replace("out.append(b[j])\n", "out.append(b[j])\n            j += 1\n")
    test = "from m import merge\n\ndef test_merge():\n    assert merge([1, 4], [2, 3]) == [1, 2, 3, 4]\n"
    report = TestReport(runner="pytest", exit_code=1, failed=1, recognised=True, failures=(Failure(
        "test_m.py::test_merge", "Failed: Timeout >10.0s",
        (Frame(T, 4, "assert merge([1, 4], [2, 3]) == [1, 2, 3, 4]"), Frame(M, 9, "out.append(b[j])"))),))
    fix_among_candidates(tmp_path, {M: bug, T: test}, {M: fixed}, "update", report)


def test_a_recursive_call_copied_with_left_and_right_swapped(tmp_path):
    bug = ("class Node:\n    def __init__(self, value, left=None, right=None):\n"
           "        self.value, self.left, self.right = value, left, right\n\n\n"
           "def tree_sum(node):\n    if node is None:\n        return 0\n    total = node.value\n"
           "    total += tree_sum(node.left)\n    return total\n")
    fixed = bug.replace("    total += tree_sum(node.left)\n",
                        "    total += tree_sum(node.left)\n    total += tree_sum(node.right)\n")
    test = ("from m import Node, tree_sum\n\ndef test_sum():\n"
            "    assert tree_sum(Node(1, Node(2), Node(3))) == 6\n")
    fix_among_candidates(tmp_path, {M: bug, T: test}, {M: fixed}, "recurse")


def test_a_statement_deleted(tmp_path):
    bug = "def clean(items):\n    items = list(items)\n    items.reverse()\n    return items\n"
    test = "from m import clean\n\ndef test_clean():\n    assert clean((1, 2)) == [1, 2]\n"
    fix_among_candidates(tmp_path, {M: bug, T: test}, {M: bug.replace("    items.reverse()\n", "")}, "delete")


@pytest.mark.parametrize("bug, fixed, test", [
    ("def distance(a, b):\n    return a - b\n", "def distance(a, b):\n    return abs(a - b)\n",
     "from m import distance\n\ndef test_distance():\n    assert distance(2, 5) == 3\n    assert distance(5, 2) == 3\n"),
    ("def count_words(text):\n    words = text.split()\n    return words\n",
     "def count_words(text):\n    words = text.split()\n    return len(words)\n",
     "from m import count_words\n\ndef test_count():\n    assert count_words('a b') == 2\n"),
])
def test_an_expression_wrapped_in_a_call(tmp_path, bug, fixed, test):
    fix_among_candidates(tmp_path, {M: bug, T: test}, {M: fixed}, "wrap")


def test_a_call_unwrapped_and_a_yielded_call_made_its_argument(tmp_path):
    bug = "def first_seen(xs):\n    return sorted(xs)[0]\n"
    test = "from m import first_seen\n\ndef test_first():\n    assert first_seen([3, 1]) == 3\n"
    fix_among_candidates(tmp_path, {M: bug, T: test}, {M: bug.replace("sorted(xs)", "xs")}, "unwrap")
    other = tmp_path / "yield"
    bug = ("def describe(item):\n    return f'<{item}>'\n\n\n"
           "def items(things):\n    for thing in things:\n        yield describe(thing)\n")
    test = "from m import items\n\ndef test_items():\n    assert list(items([1, 2])) == [1, 2]\n"
    fix_among_candidates(other, {M: bug, T: test}, {M: bug.replace("describe(thing)\n", "thing\n")}, "yield")


def test_a_condition_added_around_a_statement_inside_a_block(tmp_path):
    bug = ("def below(xs, limit):\n    out = []\n    for x in xs:\n        out.append(x)\n    return out\n")
    fixed = bug.replace("        out.append(x)\n", "        if x < limit:\n            out.append(x)\n")
    test = "from m import below\n\ndef test_below():\n    assert below([1, 5, 3], 4) == [1, 3]\n"
    fix_among_candidates(tmp_path, {M: bug, T: test}, {M: fixed}, "cond")


def test_an_if_removed_keeping_its_body(tmp_path):
    bug = ("def shout(text):\n    if text.endswith('!'):  # loud ones only\n        # as capitals\n"
           "        text = text.upper()\n    return text\n")
    fixed = "def shout(text):\n    # loud ones only\n    # as capitals\n    text = text.upper()\n    return text\n"
    test = "from m import shout\n\ndef test_shout():\n    assert shout('hi') == 'HI'\n"
    fix_among_candidates(tmp_path, {M: bug, T: test}, {M: fixed}, "unguard")


def test_an_attribute_and_a_dict_key_replaced(tmp_path):
    bug = ("class Rect:\n    def __init__(self, w, h):\n        self.width = w\n        self.height = h\n\n"
           "    def area(self):\n        return self.width * self.width\n")
    test = "from m import Rect\n\ndef test_area():\n    assert Rect(2, 3).area() == 6\n"
    fix_among_candidates(tmp_path, {M: bug, T: test}, {M: bug.replace("self.width * self.width",
                                                                      "self.width * self.height")}, "attr")
    bug = "def display(user):\n    return user['name']\n"
    test = ("from m import display\n\ndef test_display():\n"
            "    assert display({'name': 'Bob B.', 'login': 'bob'}) == 'bob'\n")
    fix_among_candidates(tmp_path / "key", {M: bug, T: test}, {M: bug.replace("'name'", "'login'")}, "key")


def test_a_container_literal_changed(tmp_path):
    bug = ("def group(pairs):\n    groups = {}\n    for key, value in pairs:\n"
           "        groups.setdefault(key, {}).append(value)\n    return groups\n")
    fixed = bug.replace("setdefault(key, {})", "setdefault(key, [])")
    test = "from m import group\n\ndef test_group():\n    assert group([('a', 1), ('a', 2)]) == {'a': [1, 2]}\n"
    fix_among_candidates(tmp_path, {M: bug, T: test}, {M: fixed}, "container")


def test_bitwise_and_augmented_operators_swapped(tmp_path):
    bug = "def toggle(flags, bit):\n    return flags | bit\n"
    test = "from m import toggle\n\ndef test_toggle():\n    assert toggle(3, 1) == 2\n"
    fix_among_candidates(tmp_path, {M: bug, T: test}, {M: bug.replace("|", "^")}, "bitwise")
    bug = "def total(xs):\n    t = 0\n    for x in xs:\n        t = x\n    return t\n"
    test = "from m import total\n\ndef test_total():\n    assert total([1, 2, 3]) == 6\n"
    fix_among_candidates(tmp_path / "aug", {M: bug, T: test}, {M: bug.replace("t = x", "t += x")}, "augment")


def test_a_missing_import_of_a_stdlib_module_or_a_project_name(tmp_path):
    bug = '"""Geometry."""\nimport os\n\n\ndef hyp(a, b):\n    return math.sqrt(a * a + b * b)\n'
    test = "from m import hyp\n\ndef test_hyp():\n    assert hyp(3, 4) == 5\n"
    fixed = bug.replace("import os\n", "import os\nimport math\n")
    fix_among_candidates(tmp_path, {M: bug, T: test}, {M: fixed}, "import")
    bug = "def quadruple(x):\n    return double(double(x))\n"
    files = {M: bug, "helpers.py": "def double(x):\n    return 2 * x\n",
             T: "from m import quadruple\n\ndef test_q():\n    assert quadruple(1) == 4\n"}
    fix_among_candidates(tmp_path / "project", files, {M: "from helpers import double\n" + bug}, "import")


def test_return_none_becomes_the_raise_the_tests_expect(tmp_path):
    bug = "def parse_age(text):\n    n = int(text)\n    if n < 0:\n        return None\n    return n\n"
    test = ("import pytest\nfrom m import parse_age\n\ndef test_negative():\n"
            "    with pytest.raises(ValueError, match='negative'):\n        parse_age('-1')\n")
    fixed = bug.replace("return None", "raise ValueError('negative')")
    fix_among_candidates(tmp_path, {M: bug, T: test}, {M: fixed}, "raise")


DOCUMENTED = '''"""Areas of shapes.

>>> area(2, 3)
6
"""

# the maximum is 100 square units, as the spec says


def area(width, height):
    """Width times height.

    >>> area(2, 3)
    6
    """
    total = width * height  # 10 or 100 at most
    return total - 1  # subtract 1 for the border


class Shape:
    """A shape with sides 1 and 2."""

    sides = 4  # four sides
'''


def _without_docstrings(text: str) -> str:
    tree = ast.parse(text)
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef)) and node.body and isinstance(
                node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant):
            node.body = node.body[1:] or [ast.Pass()]
    return ast.dump(tree)


def test_no_candidate_changes_only_a_docstring_or_a_comment(tmp_path):
    test = "from shapes import area\n\ndef test_area():\n    assert area(2, 3) == 6\n"
    sources = write(tmp_path, {"shapes.py": DOCUMENTED, "test_shapes.py": test})
    request = "area() in shapes.py is off by one: the units and sides are wrong, fix shapes.py so 100 is 6"
    report = run_tests(tmp_path)
    cands = candidates(sources, request, report)
    assert cands
    code = _without_docstrings(DOCUMENTED)
    old_lines = DOCUMENTED.splitlines()
    comments = {line.split("#", 1)[1] for line in old_lines if "#" in line}
    for c in cands:
        new = dict(c.files)["shapes.py"]
        assert _without_docstrings(new) != code, c.description  # the code itself changed
        new_comments = {line.split("#", 1)[1] for line in new.splitlines() if "#" in line}
        assert new_comments <= comments, c.description  # no comment was edited
    # line_variants, on its own, proposes nothing for docstring or comment lines
    maker = CandidateMaker(sources, request, report)
    protected = protected_lines(DOCUMENTED, ast.parse(DOCUMENTED))
    assert {1, 3, 4, 5, 7, 11, 13, 14, 15, 21} <= protected and not protected & {10, 16, 17, 20, 23}
    for line in protected:
        assert list(maker.line_variants("shapes.py", line)) == []
    for line in (16, 17, 23):  # code with a trailing comment: the comment is kept as it was
        body = old_lines[line - 1]
        variants = list(maker.line_variants("shapes.py", line))
        assert variants and all(v[0].rstrip("\n").endswith(body[comment_start(body):]) for v in variants)


def test_comment_start_ignores_a_hash_in_a_string():
    assert comment_start("x = '#'  # note") == 9
    assert comment_start("    y = 1") is None
    assert comment_start('    "a#b",  # tail') == 12


# --- shapes_more.py ---------------------------------------------------------------------------


def test_a_string_with_fields_in_scope_gets_its_f_prefix(tmp_path):
    bug = ("def greet(name, count):\n    if count > 1:\n        return 'hi {name}, {count} new'\n"
           "    return 'hi {name} ({count!r})'.format(name=name, count=count)\n")
    test = "from m import greet\n\ndef test_greet():\n    assert greet('Ann', 2) == 'hi Ann, 2 new'\n"
    cands = fix_among_candidates(tmp_path, {M: bug, T: test},
                                 {M: bug.replace("'hi {name}, {count} new'", "f'hi {name}, {count} new'")}, "fstring")
    # a string that is .format()-ed, or whose fields name nothing in scope, is left alone
    assert not [c for c in cands if c.rule == "fstring" and ".format" in c.description]
    bug = "def pattern(width):\n    return 'x{3}y {missing}'\n"
    sources = write(tmp_path / "none", {M: bug})
    assert not [c for c in candidates(sources, "fix pattern", None) if c.rule == "fstring"]


def test_a_bit_cleared_with_its_complement(tmp_path):
    bug = ("class Flags:\n    def __init__(self, mask):\n        self.mask = mask\n\n"
           "    def clear(self, bit):\n        self.mask &= bit\n        return self.mask\n")
    test = ("from m import Flags\n\ndef test_clear():\n    assert Flags(3).clear(1) == 2\n"
            "    assert Flags(2).clear(1) == 2\n")
    fix_among_candidates(tmp_path, {M: bug, T: test}, {M: bug.replace("&= bit", "&= ~bit")}, "bitwise")
    bug = "def without(mask, bits):\n    return mask & bits | 0\n"
    test = "from m import without\n\ndef test_without():\n    assert without(7, 2) == 5\n"
    fix_among_candidates(tmp_path / "binop", {M: bug, T: test}, {M: bug.replace("& bits", "& ~bits")}, "bitwise")


def test_a_flag_of_the_function_added_to_an_elif_condition(tmp_path):
    bug = ('def code_lines(lines):\n    count, in_block = 0, False\n    for line in lines:\n'
           '        if line.startswith("~~~"):\n            in_block = not in_block\n'
           '        elif line.strip():\n            count += 1\n    return count\n')
    fixed = bug.replace("elif line.strip():", "elif line.strip() and not in_block:")
    test = ('from m import code_lines\n\ndef test_fenced_lines_do_not_count():\n'
            '    assert code_lines(["a", "~~~", "b", "c", "~~~", "", "d"]) == 2\n')
    fix_among_candidates(tmp_path, {M: bug, T: test}, {M: fixed}, "conjunct")


def test_a_loop_that_never_updates_the_item_it_compares_with(tmp_path):
    bug = ("def rises(values):\n    count = 0\n    last = None\n    for v in values:\n"
           "        if last is not None and v > last:\n            count += 1\n    return count\n")
    fixed = bug.replace("            count += 1\n", "            count += 1\n        last = v\n")
    test = "from m import rises\n\ndef test_rises():\n    assert rises([1, 3, 2, 5]) == 2\n"
    fix_among_candidates(tmp_path, {M: bug, T: test}, {M: fixed}, "track")


def test_a_mutable_default_argument_becomes_none_and_a_new_object(tmp_path):
    bug = ("def collect(item, into=[]):\n    \"\"\"Add item to the list.\"\"\"\n"
           "    into.append(item)\n    return into\n")
    fixed = bug.replace("into=[]", "into=None").replace(
        '"""\n    into.append', '"""\n    if into is None:\n        into = []\n    into.append')
    test = ("from m import collect\n\ndef test_fresh_list():\n"
            "    assert collect(1) == [1]\n    assert collect(2) == [2]\n")
    cands = fix_among_candidates(tmp_path, {M: bug, T: test}, {M: fixed}, "default")
    copy = bug.replace("into=[]", "into=None").replace(
        '"""\n    into.append', '"""\n    into = list(into) if into is not None else []\n    into.append')
    assert any(dict(c.files) == {M: copy} for c in cands)
