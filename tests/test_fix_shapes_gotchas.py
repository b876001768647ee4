"""repair/shapes_gotchas.py: Python's well-known gotchas. Each makes the fix of a small buggy module
(written for this test) among the candidates the search checks, every candidate parses, and the
gotchas stay away from lines that do not have them."""

from __future__ import annotations

import ast

from mlxagent.core.repair.shapes import _File
from mlxagent.core.repair.shapes_gotchas import gotchas

from test_fix_shapes import M, T, fix_among_candidates


def made(src: str, line: int) -> list[tuple[str, str]]:
    f = _File(src, ast.parse(src))
    out = [(text, rule) for text, rule, _ in gotchas(f, line, f.starts.get(line))]
    for text, _ in out:
        ast.parse(text)
    return out


def test_timedelta_seconds_is_not_its_length(tmp_path):
    bug = "def hours(delta):\n    return delta.seconds / 3600\n"
    test = ("from datetime import timedelta\nfrom m import hours\n\n"
            "def test_h():\n    assert hours(timedelta(days=1, hours=3)) == 27\n")
    fix_among_candidates(tmp_path, {M: bug, T: test},
                         {M: bug.replace("delta.seconds", "delta.total_seconds()")}, "total_seconds")


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


def test_a_generator_kept_and_read_twice(tmp_path):
    bug = ("def spread(rows):\n    values = (r * 2 for r in rows)\n    low = min(values)\n"
           "    return max(values) - low\n")
    test = "from m import spread\n\ndef test_s():\n    assert spread([1, 5, 3]) == 8\n"
    fix_among_candidates(tmp_path, {M: bug, T: test},
                         {M: bug.replace("(r * 2 for r in rows)", "[r * 2 for r in rows]")}, "generator_list")


def test_a_return_inside_the_loop(tmp_path):
    bug = ("def problems(items):\n    out = []\n    for item in items:\n        if item < 0:\n"
           "            out.append(item)\n        return out\n")
    test = "from m import problems\n\ndef test_p():\n    assert problems([1, -2, -3]) == [-2, -3]\n"
    fix_among_candidates(tmp_path, {M: bug, T: test},
                         {M: bug.replace("        return out\n", "    return out\n")}, "return_after_loop")


def test_pages_round_up(tmp_path):
    bug = "def pages(count, size):\n    return count // size\n"
    test = "from m import pages\n\ndef test_p():\n    assert pages(11, 5) == 3\n    assert pages(10, 5) == 2\n"
    fix_among_candidates(tmp_path, {M: bug, T: test}, {M: bug.replace("count // size", "-(-count // size)")},
                         "ceil_div")


def test_rows_of_a_grid_are_not_one_row(tmp_path):
    bug = "def grid(n, m):\n    return [[0] * m] * n\n"
    test = "from m import grid\n\ndef test_g():\n    g = grid(2, 2)\n    g[0][0] = 1\n    assert g[1][0] == 0\n"
    fix_among_candidates(tmp_path, {M: bug, T: test},
                         {M: bug.replace("[[0] * m] * n", "[[0] * m for _ in range(n)]")}, "rows")


def test_a_generator_function_s_result_kept_and_read_twice(tmp_path):
    bug = ("def clean(rows):\n    for r in rows:\n        if r:\n            yield r\n\n\n"
           "def spread(rows):\n    values = clean(rows)\n    low = min(values)\n    return max(values) - low\n")
    test = "from m import spread\n\ndef test_s():\n    assert spread([1, 0, 5, 3]) == 4\n"
    fix_among_candidates(tmp_path, {M: bug, T: test}, {M: bug.replace("= clean(rows)", "= list(clean(rows))")},
                         "generator_list")


def test_a_sort_key_of_numbers_kept_as_text(tmp_path):
    bug = "def top(rows):\n    return sorted(rows, key=lambda r: r['amount'], reverse=True)[0]\n"
    test = ("from m import top\n\ndef test_t():\n"
            "    assert top([{'amount': '9.5'}, {'amount': '10.25'}]) == {'amount': '10.25'}\n")
    fix_among_candidates(tmp_path, {M: bug, T: test}, {M: bug.replace("r['amount']", "float(r['amount'])")},
                         "numeric_key")


def test_the_module_s_own_converter_for_a_built_in_one(tmp_path):
    bug = ("def parse_bool(text):\n    return text.strip().lower() in ('1', 'true', 'yes')\n\n\n"
           "TYPES = {'debug': bool, 'port': int}\n\n\n"
           "def read(key, text):\n    return TYPES[key](text)\n")
    test = "from m import read\n\ndef test_r():\n    assert read('debug', 'false') is False\n"
    fix_among_candidates(tmp_path, {M: bug, T: test}, {M: bug.replace("'debug': bool", "'debug': parse_bool")},
                         "converter")


def test_lines_without_gotchas_get_none():
    src = "def f(a, b):\n    total = a + b\n    return total\n"
    assert made(src, 2) == [] and made(src, 3) == []
