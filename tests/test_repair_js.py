"""Candidate fixes for JavaScript and TypeScript (core/repair/treesit.py, treesit_rules.py): each kind
of edit makes the expected fix among its candidates, comments and unnamed strings never change,
every candidate parses, the suspects of a node project come from its failing test, and one whole
search on a real node project finds the fix."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from mlxagent.core.repair import Sources, search, suspects
from mlxagent.core.repair.candidates import candidates
from mlxagent.core.repair.treesit import _error_count, _parse, tree_file
from mlxagent.core.repair.treesit_rules import TreeMaker
from mlxagent.core.testing.report import parse_test_output


def _variants(tmp_path: Path, source: str, line_text: str, *, path: str = "lib/m.js", failure: str = "",
              hints: tuple[str, ...] = ()) -> list[tuple[str, str, str]]:
    """The candidates for the (only) line of `source` that contains `line_text`."""
    target = tmp_path / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(source)
    lines = source.splitlines()
    [line] = [i for i, text in enumerate(lines, 1) if line_text in text]
    out = list(TreeMaker(Sources(tmp_path, [path]), failure, hints).variants(path, line))
    kind = tree_file(Sources(tmp_path, [path]), path).kind
    for new, _, _ in out:  # every candidate parses cleanly
        assert _error_count(_parse(kind, new.encode()).root_node) == 0, new
    return out


def _replaced(source: str, old: str, new: str) -> str:
    assert source.count(old) == 1, old
    return source.replace(old, new)


OPS = """function check(a, b, xs, n) {
  if (a === b) return 0;
  for (let i = 0; i < n; i++) xs[i] = 1;
  const ok = a > 0 && b > 0;
  return xs.length + n;
}
"""


@pytest.mark.parametrize("line,old,new,rule", [
    ("a === b", "a === b", "a !== b", "compare"),
    ("i < n", "i < n", "i <= n", "compare"),
    ("&&", "a > 0 && b > 0", "a > 0 || b > 0", "logic"),
    ("xs.length + n", "xs.length + n", "xs.length - n", "arith"),
    ("xs.length + n", "xs.length + n", "xs.length % n", "arith_far"),  # any other operator, weighed less
])
def test_operator_swaps(tmp_path, line, old, new, rule):
    out = _variants(tmp_path, OPS, line)
    assert (_replaced(OPS, old, new), rule) in [(text, r) for text, r, _ in out]


BOUNDS = """function lastOf(xs, n) {
  const end = xs.length;
  for (let i = 0; i <= n; i++) {}
  return xs.slice(0, xs.length - 1);
}
"""


@pytest.mark.parametrize("line,old,new", [
    ("const end", "xs.length;", "xs.length - 1;"),
    ("i <= n", "i <= n", "i < n"),
    ("return xs.slice", "xs.length - 1)", "xs.length)"),
    ("return xs.slice", "slice(0,", "slice(1,"),
])
def test_off_by_one(tmp_path, line, old, new):
    texts = [t for t, _, _ in _variants(tmp_path, BOUNDS, line)]
    assert _replaced(BOUNDS, old, new) in texts


LITERALS = """const SEP = '';
const re = /-+/;
function f(x) {
  let seen = false;
  let count = 0;
  return x.replace(re, SEP);
}
"""


@pytest.mark.parametrize("line,old,new", [
    ("let seen", "false", "true"),
    ("let count", "count = 0", "count = 1"),
    ("const SEP", "''", "' '"),
    ("const re", "/-+/", "/-+/g"),
])
def test_literals(tmp_path, line, old, new):
    texts = [t for t, _, _ in _variants(tmp_path, LITERALS, line)]
    assert _replaced(LITERALS, old, new) in texts


def test_wrong_variable_becomes_another_in_scope(tmp_path):
    source = "function area(width, height) {\n  const w = width;\n  return w * w;\n}\n"
    texts = [t for t, r, _ in _variants(tmp_path, source, "return") if r == "name"]
    assert source.replace("w * w", "w * height") in texts


def test_condition_inverted_both_ways(tmp_path):
    source = "function f(x, y) {\n  if (x.ready) return 1;\n  if (!y) return 2;\n  return 3;\n}\n"
    assert source.replace("(x.ready)", "(!x.ready)") in [t for t, _, _ in _variants(tmp_path, source, "x.ready")]
    assert source.replace("(!y)", "(y)") in [t for t, _, _ in _variants(tmp_path, source, "!y")]


def test_missing_return_before_the_last_expression(tmp_path):
    source = "const double = (n) => {\n  n * 2;\n};\nfunction g(a) {\n  a.map((x) => x + 1);\n}\n"
    out = _variants(tmp_path, source, "n * 2")
    assert (source.replace("  n * 2;", "  return n * 2;"), "return") in [(t, r) for t, r, _ in out]
    out = _variants(tmp_path, source, "a.map")
    assert source.replace("  a.map", "  return a.map") in [t for t, _, _ in out]


@pytest.mark.parametrize("call,new", [
    ("xs.push(v)", "xs.unshift(v)"), ("xs.slice(1, 2)", "xs.splice(1, 2)"),
    ("xs.indexOf(v)", "xs.lastIndexOf(v)"), ("Math.min(a, b)", "Math.max(a, b)"),
    ("s.toLowerCase()", "s.toUpperCase()"), ("Object.keys(o)", "Object.values(o)"),
    ("Object.keys(o)", "Object.entries(o)"),
])
def test_method_swaps(tmp_path, call, new):
    source = f"function f(xs, v, a, b, s, o) {{\n  return {call};\n}}\n"
    out = _variants(tmp_path, source, call)
    assert (source.replace(call, new), "call") in [(t, r) for t, r, _ in out]


def test_truthy_index_after_index_of(tmp_path):
    source = ("function has(xs, v) {\n  const at = xs.indexOf(v);\n  if (at) {\n    return true;\n  }\n"
              "  return false;\n}\n")
    texts = [t for t, r, _ in _variants(tmp_path, source, "if (at)") if r == "index"]
    assert source.replace("if (at)", "if (at !== -1)") in texts
    assert source.replace("if (at)", "if (at >= 0)") in texts
    direct = "function has(xs, v) {\n  return xs.filter((x) => x.indexOf(v));\n}\n"
    texts = [t for t, r, _ in _variants(tmp_path, direct, "filter") if r == "index"]
    assert direct.replace("x.indexOf(v))", "x.indexOf(v) !== -1)") in texts


COMMENTED = """// Sums: a < b && c || d, return true, x.push(y), 1 + 1
function total(xs /* xs.length - 1 */) {
  let sum = 0; // start at 0 === false
  for (const x of xs) sum += x; /* x < 1 */
  return sum > 0 ? "sum > 0: yes" : 'none';
}
"""


def test_comments_and_unnamed_strings_never_change(tmp_path):
    comments = ["// Sums: a < b && c || d, return true, x.push(y), 1 + 1", "/* xs.length - 1 */",
                "// start at 0 === false", "/* x < 1 */"]
    made = 0
    for n, line in enumerate(COMMENTED.splitlines(), 1):
        for new, rule, _ in _variants(tmp_path, COMMENTED, line):
            made += 1
            for comment in comments:
                assert comment in new, (rule, new)
            assert '"sum > 0: yes"' in new and "'none'" in new, (rule, new)
    assert made > 10


def test_a_string_the_failure_names_moves_towards_the_expected_one(tmp_path):
    source = "function slug(s) {\n  return s.split(' ').join('_');\n}\n"
    failure = "Expected values to be strictly equal:\n'a_b' !== 'a-b'"
    texts = [t for t, r, _ in _variants(tmp_path, source, "join", failure=failure, hints=("a-b", "-"))
             if r == "string"]
    assert source.replace("join('_')", "join('-')") in texts
    assert all("split(' ')" in t for t in texts)  # ' ' is not in the message: left alone


def test_typescript_gets_the_same_rules(tmp_path):
    source = "export function clamp(x: number, lo: number, hi: number): number {\n  return Math.min(lo, x);\n}\n"
    out = _variants(tmp_path, source, "Math.min", path="src/clamp.ts")
    assert source.replace("Math.min", "Math.max") in [t for t, _, _ in out]


def test_other_tree_sitter_languages_get_the_shared_rules(tmp_path):
    source = "package m\n\nfunc Clamp(x, hi int) int {\n\tif x < hi {\n\t\treturn x\n\t}\n\treturn hi\n}\n"
    texts = [t for t, _, _ in _variants(tmp_path, source, "if x < hi", path="m.go")]
    assert source.replace("x < hi", "x <= hi") in texts


STATS = """"use strict";
// Small statistics helpers.
function mean(xs) {
  let total = 0;
  for (const x of xs) total += x;
  return total / xs.length;
}

function secondLargest(xs) {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[sorted.length - 1];
}

module.exports = { mean, secondLargest };
"""

STATS_TEST = """"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const { mean, secondLargest } = require("../lib/stats.js");

test("mean", () => {
  assert.equal(mean([1, 2, 3]), 2);
});

test("second largest", () => {
  assert.equal(secondLargest([4, 9, 7]), 7);
  assert.equal(secondLargest([1, 2]), 1);
});
"""


def _node_project(root: Path) -> list[str]:
    (root / "lib").mkdir()
    (root / "test").mkdir()
    (root / "lib" / "stats.js").write_text(STATS)
    (root / "test" / "stats.test.js").write_text(STATS_TEST)
    (root / "package.json").write_text('{"name": "stats", "scripts": {"test": "node --test"}}\n')
    return ["lib/stats.js", "package.json", "test/stats.test.js"]


def _node_test(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["node", "--test"], cwd=root, capture_output=True, text=True, timeout=120)


needs_node = pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")


@needs_node
def test_suspects_of_a_node_project_are_the_function_the_failing_test_calls(tmp_path):
    files = _node_project(tmp_path)
    run = _node_test(tmp_path)
    report = parse_test_output(run.stdout + run.stderr, run.returncode, tmp_path)
    assert report.failures and not report.ok
    found = suspects(Sources(tmp_path, files), report, "make the tests pass")
    assert found and {s.line for s in found[:4]} <= set(range(9, 13))  # secondLargest()
    assert all(s.path == "lib/stats.js" for s in found)
    cands = candidates(Sources(tmp_path, files), "make the tests pass", report)
    assert any("sorted[sorted.length - 2]" in c.description for c in cands)


@needs_node
def test_search_finds_the_fix_in_a_real_node_project(tmp_path):
    files = _node_project(tmp_path)
    run = _node_test(tmp_path)
    assert run.returncode != 0
    report = parse_test_output(run.stdout + run.stderr, run.returncode, tmp_path)
    steps = search(Sources(tmp_path, files), "make the tests pass", report, None,
                   lambda root: _node_test(root).returncode == 0)
    while True:
        try:
            next(steps)
        except StopIteration as stop:
            result = stop.value
            break
    assert result.found is not None, result.message
    fixed = dict(result.found.files)["lib/stats.js"]
    assert fixed == STATS.replace("sorted.length - 1]", "sorted.length - 2]")
    assert (tmp_path / "lib" / "stats.js").read_text() == STATS  # the user's tree is untouched


def test_division_made_whole_and_quotes_made_a_template(tmp_path):
    source = "function mid(lo, hi, n) {\n  const m = (lo + hi) / 2;\n  return 'item ${n}';\n}\n"
    texts = [t for t, _, _ in _variants(tmp_path, source, "const m")]
    assert source.replace("(lo + hi) / 2", "Math.floor((lo + hi) / 2)") in texts
    texts = [t for t, _, _ in _variants(tmp_path, source, "return")]
    assert source.replace("'item ${n}'", "`item ${n}`") in texts


def test_an_operand_dropped_and_boolean_returns_inverted(tmp_path):
    source = ("const area = (w, h) => {\n  return w * h / 2 + h;\n};\n"
              "function allBelow(xs, t) {\n  for (const x of xs) {\n    if (x >= t) {\n      return true;\n    }\n  }\n"
              "  const inner = function () { return true; };\n  return false;\n}\n")
    out = _variants(tmp_path, source, "w * h / 2 + h")
    assert (_replaced(source, "w * h / 2 + h", "w * h / 2"), "operand") in [(t, r) for t, r, _ in out]
    flipped = source.replace("      return true;", "      return false;").replace("  return false;\n}", "  return true;\n}")
    out = _variants(tmp_path, source, "if (x >= t)")
    assert (flipped, "returns") in [(t, r) for t, r, _ in out]  # the arrow function's `false` is its own


def test_a_separator_string_that_should_be_another(tmp_path):
    source = "const glue = (parts) => parts.join('_');\n"
    out = _variants(tmp_path, source, "parts.join")
    assert (source.replace("'_'", "'-'"), "separator") in [(t, r) for t, r, _ in out]


def test_every_other_comparison_in_the_file_s_style_of_equality(tmp_path):
    source = "function f(depth) {\n  if (depth < 0) {\n    return 1;\n  }\n  return depth == 2;\n}\n"
    out = [(t, r) for t, r, _ in _variants(tmp_path, source, "depth < 0")]
    assert (source.replace("depth < 0", "depth == 0"), "compare_far") in out  # `==`: the file has no `===`
    assert source.replace("depth < 0", "depth === 0") not in [t for t, _ in out]
