"""repair/shapes_slips.py's fix shapes: each makes the fix of a small buggy module (written for this
test, in the shape of a slip people make) among the candidates, and every candidate parses."""

from __future__ import annotations

import ast

from mlxagent.core.repair import shapes_slips
from mlxagent.core.repair.shapes import _File

from test_fix_shapes import M, T, fix_among_candidates


def made(src: str, line: int, rule) -> list[str]:
    f = _File(src, ast.parse(src))
    stmt = f.starts.get(line)
    out = [text for text, _, _ in (rule(f, line) if rule not in (shapes_slips.iterate_copy, shapes_slips.reorder)
                                   else rule(f, stmt))]
    for text in out:
        ast.parse(text)
    return out


def test_identity_for_equality(tmp_path):
    bug = 'CELSIUS = "".join(["C", "elsius"])\n\n\ndef is_celsius(scale):\n    return scale.title() is CELSIUS\n'
    test = "from m import is_celsius\n\ndef test_c():\n    assert is_celsius('celsius')\n"
    fix_among_candidates(tmp_path, {M: bug, T: test}, {M: bug.replace(" is CELSIUS", " == CELSIUS")}, "identity")
    assert made("x = a is None\ny = a is not b\n", 1, shapes_slips.identity) == []  # None's identity is meant
    assert made("x = a is None\ny = a is not b\n", 2, shapes_slips.identity) == ["x = a is None\ny = a != b\n"]


def test_a_split_without_its_limit(tmp_path):
    bug = "def pair(line):\n    key, value = line.split('=')\n    return key.strip(), value.strip()\n"
    test = "from m import pair\n\ndef test_pair():\n    assert pair('url = a?b=c') == ('url', 'a?b=c')\n"
    fix_among_candidates(tmp_path, {M: bug, T: test}, {M: bug.replace("split('=')", "split('=', 1)")}, "maxsplit")


def test_a_pattern_without_its_quantifier(tmp_path):
    bug = 'import re\n\n\ndef seconds(text):\n    m = re.fullmatch(r"(\\d)s", text)\n    return int(m.group(1))\n'
    test = "from m import seconds\n\ndef test_s():\n    assert seconds('45s') == 45\n"
    fix_among_candidates(tmp_path, {M: bug, T: test}, {M: bug.replace(r"(\d)s", r"(\d+)s")}, "quantifier")
    assert 're.sub(r"a*", "", t)\n' in made('re.sub(r"a+", "", t)\n', 1, shapes_slips.quantifiers)


def test_brackets_where_precedence_bound_otherwise(tmp_path):
    bug = "def net(price, discount):\n    return price * 1 - discount\n"
    test = "from m import net\n\ndef test_net():\n    assert net(200, 0.25) == 150\n"
    fix_among_candidates(tmp_path, {M: bug, T: test}, {M: bug.replace("price * 1 - discount", "price * (1 - discount)")},
                         "regroup")
    assert made("y = a - b * c\n", 1, shapes_slips.regroup) == ["y = (a - b) * c\n"]


def test_a_list_changed_while_a_loop_walks_it(tmp_path):
    bug = ("def drop_negative(xs):\n    for x in xs:\n        if x < 0:\n            xs.remove(x)\n"
           "    return xs\n")
    test = "from m import drop_negative\n\ndef test_drop():\n    assert drop_negative([-1, -2, 3]) == [3]\n"
    fix_among_candidates(tmp_path, {M: bug, T: test}, {M: bug.replace("for x in xs:", "for x in list(xs):")},
                         "copy_iter")
    assert made("for x in xs:\n    print(x)\n", 1, shapes_slips.iterate_copy) == []  # nothing changes xs


def test_an_iterator_read_through_twice(tmp_path):
    bug = ("def stats(values):\n    total = sum(values)\n    top = max(values)\n    return total, top\n")
    test = ("from m import stats\n\ndef test_stats():\n    assert stats(v for v in [1, 5, 2]) == (8, 5)\n")
    fix_among_candidates(tmp_path, {M: bug, T: test},
                         {M: bug.replace("    total =", "    values = list(values)\n    total =")}, "materialize")


def test_two_statements_in_the_wrong_order(tmp_path):
    bug = ("def move(accounts, a, b, n):\n    accounts[a] -= n\n    check = accounts[b]\n"
           "    accounts[b] = check + n\n")
    test = ("import pytest\nfrom m import move\n\ndef test_unknown():\n    acc = {'x': 5}\n"
            "    with pytest.raises(KeyError):\n        move(acc, 'x', 'y', 2)\n    assert acc == {'x': 5}\n")
    fixed = bug.replace("    accounts[a] -= n\n    check = accounts[b]\n", "    check = accounts[b]\n    accounts[a] -= n\n")
    fix_among_candidates(tmp_path, {M: bug, T: test}, {M: fixed}, "reorder")
    assert made("a = 1\nreturn a\n", 1, shapes_slips.reorder) == []  # a return is not moved up


def test_every_bound_of_a_condition_made_strict_together(tmp_path):
    bug = ("def overlaps(a, b):\n    return (\n        a[0] <= b[1]\n        and b[0] <= a[1]\n    )\n")
    test = ("from m import overlaps\n\ndef test_touching():\n    assert not overlaps((9, 10), (10, 11))\n\n"
            "def test_inside():\n    assert overlaps((9, 12), (10, 11))\n")
    fixed = bug.replace("<=", "<")
    fix_among_candidates(tmp_path, {M: bug, T: test}, {M: fixed}, "compare_all")
    src = "def f(a, b, c):\n    return a <= b and b < c\n"
    assert made(src, 2, shapes_slips.compare_all) == []  # one comparison of its kind: the one-token swap's
