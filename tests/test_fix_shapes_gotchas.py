"""repair/shapes_gotchas.py: Python's well-known gotchas. Each makes the fix of a small buggy module
(written for this test) among the candidates the search checks, every candidate parses, and the
gotchas stay away from lines that do not have them."""

from __future__ import annotations

import ast

import pytest

from mlxagent.core.repair.shapes import _File
from mlxagent.core.repair.shapes_gotchas import gotchas

from test_fix_shapes import M, T, fix_among_candidates


def made(src: str, line: int) -> list[tuple[str, str]]:
    f = _File(src, ast.parse(src))
    out = [(text, rule) for text, rule, _ in gotchas(f, line, f.starts.get(line))]
    for text, _ in out:
        ast.parse(text)
    return out


# (buggy m.py, its test, the text the fix replaces, what replaces it, the rule that makes it)
CASES = {
    "timedelta-seconds": (
        "def hours(delta):\n    return delta.seconds / 3600\n",
        "from datetime import timedelta\nfrom m import hours\n\n"
        "def test_h():\n    assert hours(timedelta(days=1, hours=3)) == 27\n",
        "delta.seconds", "delta.total_seconds()", "total_seconds"),
    "generator-read-twice": (
        "def spread(rows):\n    values = (r * 2 for r in rows)\n    low = min(values)\n    return max(values) - low\n",
        "from m import spread\n\ndef test_s():\n    assert spread([1, 5, 3]) == 8\n",
        "(r * 2 for r in rows)", "[r * 2 for r in rows]", "generator_list"),
    "generator-function-read-twice": (
        "def clean(rows):\n    for r in rows:\n        if r:\n            yield r\n\n\n"
        "def spread(rows):\n    values = clean(rows)\n    low = min(values)\n    return max(values) - low\n",
        "from m import spread\n\ndef test_s():\n    assert spread([1, 0, 5, 3]) == 4\n",
        "= clean(rows)", "= list(clean(rows))", "generator_list"),
    "return-inside-the-loop": (
        "def problems(items):\n    out = []\n    for item in items:\n        if item < 0:\n"
        "            out.append(item)\n        return out\n",
        "from m import problems\n\ndef test_p():\n    assert problems([1, -2, -3]) == [-2, -3]\n",
        "        return out\n", "    return out\n", "return_after_loop"),
    "pages-round-up": (
        "def pages(count, size):\n    return count // size\n",
        "from m import pages\n\ndef test_p():\n    assert pages(11, 5) == 3\n    assert pages(10, 5) == 2\n",
        "count // size", "-(-count // size)", "ceil_div"),
    "grid-rows": (
        "def grid(n, m):\n    return [[0] * m] * n\n",
        "from m import grid\n\ndef test_g():\n    g = grid(2, 2)\n    g[0][0] = 1\n    assert g[1][0] == 0\n",
        "[[0] * m] * n", "[[0] * m for _ in range(n)]", "rows"),
    "numeric-sort-key": (
        "def top(rows):\n    return sorted(rows, key=lambda r: r['amount'], reverse=True)[0]\n",
        "from m import top\n\ndef test_t():\n"
        "    assert top([{'amount': '9.5'}, {'amount': '10.25'}]) == {'amount': '10.25'}\n",
        "r['amount']", "float(r['amount'])", "numeric_key"),
    "own-converter": (
        "def parse_bool(text):\n    return text.strip().lower() in ('1', 'true', 'yes')\n\n\n"
        "TYPES = {'debug': bool, 'port': int}\n\n\n"
        "def read(key, text):\n    return TYPES[key](text)\n",
        "from m import read\n\ndef test_r():\n    assert read('debug', 'false') is False\n",
        "'debug': bool", "'debug': parse_bool", "converter"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_gotcha_s_fix_is_among_the_candidates(tmp_path, case):
    bug, test, old, new, rule = CASES[case]
    fix_among_candidates(tmp_path, {M: bug, T: test}, {M: bug.replace(old, new)}, rule)


def test_lstrip_of_a_prefix(tmp_path):
    bug = "def host(url):\n    return url.lstrip('www.')\n"
    test = "from m import host\n\ndef test_h():\n    assert host('www.wiki.org') == 'wiki.org'\n"
    fix_among_candidates(tmp_path, {M: bug, T: test}, {M: bug.replace("lstrip", "removeprefix")}, "removeprefix")
    assert made("x = s.lstrip('w')\n", 1) == []  # one character: stripping is meant


def test_quantize_rounds_half_up_imported_as_the_module_imports_decimal(tmp_path):
    bug = ("from decimal import Decimal\n\nCENT = Decimal('0.01')\n\n\n"
           "def cents(x):\n    return Decimal(x).quantize(CENT)\n")
    test = "from m import cents\n\ndef test_c():\n    assert str(cents('0.125')) == '0.13'\n"
    fixed = bug.replace("import Decimal\n", "import Decimal, ROUND_HALF_UP\n").replace(
        "quantize(CENT)", "quantize(CENT, rounding=ROUND_HALF_UP)")
    fix_among_candidates(tmp_path, {M: bug, T: test}, {M: fixed}, "half_up")
    src = "import decimal\n\n\ndef c(x):\n    return x.quantize(Q)\n"
    assert made(src, 5) == [(src.replace("quantize(Q)", "quantize(Q, rounding=decimal.ROUND_HALF_UP)"), "half_up")]


def test_lines_without_gotchas_get_none():
    src = "def f(a, b):\n    total = a + b\n    return total\n"
    assert made(src, 2) == [] and made(src, 3) == []
