"""repair/shapes_expr.py's fix shapes: each makes the fix of a small buggy module (written for
this test, in the shape of a slip people make) among the candidates, and every candidate parses."""

from __future__ import annotations

from mlxagent.core.repair import candidates
from mlxagent.core.repair.shapes import _File
from mlxagent.core.repair import shapes_expr

import ast

from test_fix_shapes import M, T, fix_among_candidates, write


def test_an_operand_too_many_in_arithmetic(tmp_path):
    bug = "def area(w, h):\n    return w * h / 2 + h\n"
    test = "from m import area\n\ndef test_area():\n    assert area(4, 3) == 6\n"
    fix_among_candidates(tmp_path, {M: bug, T: test}, {M: "def area(w, h):\n    return w * h / 2\n"}, "operand")


def test_an_operand_kept_in_brackets_where_the_operation_stood_inside_another():
    f = _File(src := "x = a - (b + c) * 2\n", ast.parse(src))
    made = {text for text, _, _ in shapes_expr.operands(f, 1)}
    assert "x = a - (b + c)\n" in made  # the product dropped to its left operand, bracketed
    assert "x = a - b * 2\n" in made and "x = a - c * 2\n" in made  # its brackets gone with the sum
    for text in made:
        ast.parse(text)


def test_every_boolean_return_of_a_predicate_inverted(tmp_path):
    bug = ("def all_below(xs, t):\n    for x in xs:\n        if x >= t:\n            return True\n"
           "    return False\n")
    test = "from m import all_below\n\ndef test_below():\n    assert all_below([1, 2], 5)\n    assert not all_below([9], 5)\n"
    fixed = bug.replace("return True", "return @").replace("return False", "return True").replace("@", "False")
    fix_among_candidates(tmp_path, {M: bug, T: test}, {M: fixed}, "returns")


def test_one_element_too_many_in_a_literal(tmp_path):
    bug = "def is_odd_digit(d):\n    return d in (1, 2, 3, 5, 7, 9)\n"
    test = "from m import is_odd_digit\n\ndef test_odd():\n    assert not is_odd_digit(2)\n    assert is_odd_digit(3)\n"
    fix_among_candidates(tmp_path, {M: bug, T: test}, {M: bug.replace("(1, 2, 3", "(1, 3")}, "element")


def test_a_sort_in_the_wrong_order(tmp_path):
    bug = "def top(xs, k):\n    return sorted(xs)[:k]\n"
    test = "from m import top\n\ndef test_top():\n    assert top([3, 1, 2], 2) == [3, 2]\n"
    fix_among_candidates(tmp_path, {M: bug, T: test}, {M: bug.replace("sorted(xs)", "sorted(xs, reverse=True)")},
                         "reverse")
    f = _File(src := "ys.sort(key=len, reverse=True)\n", ast.parse(src))
    assert [t for t, _, _ in shapes_expr.reverse(f, 1)] == ["ys.sort(key=len, reverse=False)\n"]


def test_a_predicate_with_one_kind_of_return_is_left_alone(tmp_path):
    sources = write(tmp_path, {M: "def yes(x):\n    if x:\n        return True\n    return True\n"})
    assert not [c for c in candidates(sources, "fix yes", None) if c.rule == "returns"]


def test_a_separator_string_that_should_be_another(tmp_path):
    bug = "def glue(parts):\n    return ' '.join(parts)\n"
    test = "from m import glue\n\ndef test_glue():\n    assert glue(['a', 'b']) == 'ab'\n"
    fix_among_candidates(tmp_path, {M: bug, T: test}, {M: bug.replace("' '", "''")}, "separator")
    assert shapes_expr.separators("'word'") == [] and shapes_expr.separators('"""x"""') == []
    assert "'\\n'" in shapes_expr.separators("'_'") and "'_'" not in shapes_expr.separators("'_'")
