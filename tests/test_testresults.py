"""Parsing test runner output. Real pytest runs are in test_commands.py; here the
other runners, from sample output written the way each one prints it."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlxagent.core.testing.report import Failure, Frame, TestReport, parse_test_output


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


# --- unittest ------------------------------------------------------------------------

CALC = "def divide(a, b):\n    return a / b\n"
TEST_CALC = """\
import unittest
from calc import divide


class TestCalc(unittest.TestCase):
    def test_half(self):
        self.assertEqual(divide(1, 2), 0.25)

    def test_zero(self):
        self.assertEqual(divide(1, 0), 0)
"""

UNITTEST_OUTPUT = """\
F.sE
======================================================================
ERROR: test_zero (test_calc.TestCalc.test_zero)
----------------------------------------------------------------------
Traceback (most recent call last):
  File "{root}/test_calc.py", line 10, in test_zero
    self.assertEqual(divide(1, 0), 0)
                     ^^^^^^^^^^^^
  File "{root}/calc.py", line 2, in divide
    return a / b
           ~~^~~
ZeroDivisionError: division by zero

======================================================================
FAIL: test_half (test_calc.TestCalc.test_half)
----------------------------------------------------------------------
Traceback (most recent call last):
  File "{root}/test_calc.py", line 7, in test_half
    self.assertEqual(divide(1, 2), 0.25)
  File "/usr/lib/python3.11/unittest/case.py", line 873, in assertEqual
    assertion_func(first, second, msg=msg)
AssertionError: 0.5 != 0.25

----------------------------------------------------------------------
Ran 4 tests in 0.001s

FAILED (failures=1, errors=1, skipped=1)
"""


def test_unittest(tmp_path):
    _write(tmp_path, {"calc.py": CALC, "test_calc.py": TEST_CALC})
    report = parse_test_output(UNITTEST_OUTPUT.format(root=tmp_path), 1, tmp_path)
    assert report.runner == "unittest" and report.recognised
    assert (report.passed, report.failed, report.errors, report.skipped) == (1, 1, 1, 1)
    zero, half = report.failures
    assert zero.name == "test_calc.TestCalc.test_zero" and zero.kind == "error"
    assert zero.message == "ZeroDivisionError: division by zero"
    assert zero.frames == (
        Frame("test_calc.py", 10, "self.assertEqual(divide(1, 0), 0)"),
        Frame("calc.py", 2, "return a / b"),
    )
    assert half.name == "test_calc.TestCalc.test_half" and half.kind == "failed"
    assert half.message == "AssertionError: 0.5 != 0.25"
    # The frame in the standard library is dropped: the deepest repository frame is the test.
    assert half.frame == Frame("test_calc.py", 7, "self.assertEqual(divide(1, 2), 0.25)")
    assert report.summary() == (
        "Tests: 1 failed, 1 error, 1 passed, 1 skipped.\n"
        "ERROR test_calc.TestCalc.test_zero\n"
        "  ZeroDivisionError: division by zero\n"
        "  at calc.py:2: return a / b\n"
        "FAILED test_calc.TestCalc.test_half\n"
        "  AssertionError: 0.5 != 0.25\n"
        "  at test_calc.py:7: self.assertEqual(divide(1, 2), 0.25)"
    )


def test_unittest_ok_and_old_style_names(tmp_path):
    output = "....\n----------------------------------------------------------------------\nRan 4 tests in 0.002s\n\nOK\n"
    report = parse_test_output(output, 0, tmp_path)
    assert report.runner == "unittest" and report.ok
    assert report.summary() == "Tests: all 4 passed."
    old = UNITTEST_OUTPUT.replace("(test_calc.TestCalc.test_half)", "(test_calc.TestCalc)")
    report = parse_test_output(old.format(root=tmp_path), 1, tmp_path, runner="unittest")
    assert report.failures[1].name == "test_calc.TestCalc.test_half"


def test_frame_text_falls_back_to_the_output_when_the_file_is_missing(tmp_path):
    report = parse_test_output(UNITTEST_OUTPUT.format(root=tmp_path), 1, tmp_path)
    assert report.failures[0].frame == Frame("calc.py", 2, "return a / b")


def test_chained_exceptions_keep_the_last(tmp_path):
    output = """\
E
======================================================================
ERROR: test_load (test_cfg.T.test_load)
----------------------------------------------------------------------
Traceback (most recent call last):
  File "{root}/cfg.py", line 3, in load
    return data[key]
KeyError: 'name'

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File "{root}/test_cfg.py", line 6, in test_load
    load({{}}, "name")
  File "{root}/cfg.py", line 5, in load
    raise LookupError(f"no {{key}}")
LookupError: no name

----------------------------------------------------------------------
Ran 1 test in 0.000s

FAILED (errors=1)
""".format(root=tmp_path)
    report = parse_test_output(output, 1, tmp_path)
    (failure,) = report.failures
    assert failure.message == "LookupError: no name"
    assert [(f.path, f.line) for f in failure.frames] == [("test_cfg.py", 6), ("cfg.py", 5)]
    assert failure.frame.text == 'raise LookupError(f"no {key}")'


# --- pytest (literal samples; real runs live in test_commands.py) -----------------------

PYTEST_SHORT = """\
.F                                                                       [100%]
=================================== FAILURES ===================================
______________________________ test_parse[a-b] _______________________________
tests/test_parse.py:9: in test_parse
    assert parse(text) == expected
{site}/lib/python3.11/site-packages/helper/wrap.py:20: in __call__
    return self.fn(*args)
src/parse.py:3: in parse
    return text.split(",")[1]
E   IndexError: list index out of range
----------------------------- Captured stdout call -----------------------------
tests/test_parse.py:99: in not_a_frame
=========================== short test summary info ============================
FAILED tests/test_parse.py::test_parse[a-b] - IndexError: list index out of range
1 failed, 1 passed in 0.04s
"""


def test_pytest_short_sample_drops_foreign_frames(tmp_path):
    site = tmp_path.parent / "elsewhere-venv"
    report = parse_test_output(PYTEST_SHORT.format(site=site), 1, tmp_path)
    assert report.runner == "pytest"
    (failure,) = report.failures
    assert failure.name == "tests/test_parse.py::test_parse[a-b]"
    # No files: the source lines come from the output.
    assert failure.frames == (
        Frame("tests/test_parse.py", 9, "assert parse(text) == expected"),
        Frame("src/parse.py", 3, 'return text.split(",")[1]'),
    )
    assert report.failing_locations() == [Frame("src/parse.py", 3, 'return text.split(",")[1]')]


def test_pytest_frames_in_a_venv_inside_the_repo_are_dropped(tmp_path):
    report = parse_test_output(PYTEST_SHORT.format(site=tmp_path / ".venv"), 1, tmp_path)
    assert [f.path for f in report.failures[0].frames] == ["tests/test_parse.py", "src/parse.py"]


def test_pytest_without_short_summary_names_from_headers(tmp_path):
    output = PYTEST_SHORT.format(site="/opt/py").split("=========================== short")[0]
    output += "======================== 1 failed, 1 passed in 0.04s ========================\n"
    report = parse_test_output(output, 1, tmp_path)
    assert report.failures[0].name == "tests/test_parse.py::test_parse[a-b]"
    assert report.failures[0].message == "IndexError: list index out of range"


def test_pytest_no_tests(tmp_path):
    report = parse_test_output("\nno tests ran in 0.01s\n", 5, tmp_path)
    assert report.recognised and not report.ok
    assert report.summary().startswith("Tests: no tests ran, but the command exited with code 5.")


# --- cargo ------------------------------------------------------------------------------

LIB_RS = """\
pub fn add(a: u64, b: u64) -> u64 {
    a + b
}

pub fn double(x: u64) -> u64 {
    x + x + 1
}
"""

CARGO_OUTPUT = """\
   Compiling adder v0.1.0 (/home/dev/adder)
    Finished `test` profile [unoptimized + debuginfo] target(s) in 0.42s
     Running unittests src/lib.rs (target/debug/deps/adder-3b4c2a9f1e5d6c7b)

running 4 tests
test tests::adds ... ok
test tests::later ... ignored
test tests::doubles ... FAILED
test tests::doubles_zero ... FAILED

failures:

---- tests::doubles stdout ----

thread 'tests::doubles' panicked at src/lib.rs:14:9:
assertion `left == right` failed
  left: 5
 right: 4
note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace

---- tests::doubles_zero stdout ----
thread 'tests::doubles_zero' panicked at 'assertion failed: `(left == right)`
  left: `1`,
 right: `0`', src/lib.rs:18:9


failures:
    tests::doubles
    tests::doubles_zero

test result: FAILED. 1 passed; 2 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.00s

     Running tests/integration.rs (target/debug/deps/integration-9f8e7d6c5b4a3210)

running 2 tests
test it_adds ... ok
test it_adds_more ... ok

test result: ok. 2 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s

error: test failed, to rerun pass `--lib`
"""


def test_cargo(tmp_path):
    _write(tmp_path, {"src/lib.rs": LIB_RS + "\n" * 6 + "        assert_eq!(double(2), 4);\n"})
    report = parse_test_output(CARGO_OUTPUT, 101, tmp_path)
    assert report.runner == "cargo" and report.recognised
    assert (report.passed, report.failed, report.skipped) == (3, 2, 1)
    first, second = report.failures
    assert first.name == "tests::doubles"
    assert first.message == "assertion `left == right` failed\n  left: 5\n right: 4"
    assert first.frame == Frame("src/lib.rs", 14, "assert_eq!(double(2), 4);")
    assert second.name == "tests::doubles_zero"
    assert second.message.startswith("assertion failed: `(left == right)`")
    assert (second.frame.path, second.frame.line) == ("src/lib.rs", 18)
    assert second.frame.text == ""  # past the end of the file, not in the output
    assert report.summary().startswith("Tests: 2 failed, 3 passed, 1 skipped.\nFAILED tests::doubles\n")


def test_cargo_compile_error(tmp_path):
    _write(tmp_path, {"src/lib.rs": LIB_RS})
    output = """\
   Compiling adder v0.1.0 (/home/dev/adder)
error[E0308]: mismatched types
 --> src/lib.rs:2:5
  |
1 | pub fn add(a: u64, b: u64) -> u64 {
  |                               --- expected `u64` because of return type
2 |     a + b
  |     ^^^^^ expected `u64`, found `i32`

For more information about this error, try `rustc --explain E0308`.
error: could not compile `adder` (lib test) due to 1 previous error
"""
    report = parse_test_output(output, 101, tmp_path, runner="cargo")
    assert report.runner == "cargo" and report.errors == 1
    (failure,) = report.failures
    assert failure.kind == "error"
    assert failure.message == "error[E0308]: mismatched types"
    assert failure.frame == Frame("src/lib.rs", 2, "a + b")


# --- go test ------------------------------------------------------------------------------

ADD_TEST_GO = "\n".join(
    ["package adder", "", 'import "testing"', "", "func TestAdd(t *testing.T) {", "\tif got := Add(2, 2); got != 4 {",
     "", "", "", "", "", '\t\tt.Errorf("Add(2, 2) = %d; want 4", got)']
    + [""] * 12
    + ['\t\t\tt.Errorf("Add(-1, -1) = %d; want -2", got)']
) + "\n"

GO_OUTPUT = """\
--- FAIL: TestAdd (0.00s)
    add_test.go:12: Add(2, 2) = 5; want 4
        extra detail line
--- FAIL: TestTable (0.00s)
    --- FAIL: TestTable/negative (0.00s)
        add_test.go:25: Add(-1, -1) = -1; want -2
FAIL
FAIL	example.com/adder	0.002s
ok  	example.com/adder/util	0.001s
FAIL
"""


def test_go(tmp_path):
    _write(tmp_path, {"go.mod": "module example.com/adder\n", "add_test.go": ADD_TEST_GO})
    report = parse_test_output(GO_OUTPUT, 1, tmp_path)
    assert report.runner == "go" and report.recognised
    assert report.failed == 2
    add, table = report.failures
    assert add.name == "TestAdd"
    assert add.message == "Add(2, 2) = 5; want 4\nextra detail line"
    assert add.frame == Frame("add_test.go", 12, 't.Errorf("Add(2, 2) = %d; want 4", got)')
    assert table.name == "TestTable/negative"
    assert table.frame == Frame("add_test.go", 25, 't.Errorf("Add(-1, -1) = %d; want -2", got)')


def test_go_file_in_a_package_folder_is_found(tmp_path):
    _write(tmp_path, {"go.mod": "module example.com/adder\n", "pkg/add/add_test.go": ADD_TEST_GO})
    report = parse_test_output(GO_OUTPUT, 1, tmp_path, runner="go")
    assert report.failures[0].frame.path == "pkg/add/add_test.go"
    assert report.failures[0].frame.text.startswith("t.Errorf")


def test_go_verbose_pass(tmp_path):
    output = """\
=== RUN   TestAdd
--- PASS: TestAdd (0.00s)
=== RUN   TestSub
--- PASS: TestSub (0.00s)
=== RUN   TestMul
--- SKIP: TestMul (0.00s)
    mul_test.go:6: not yet
PASS
ok  	example.com/adder	0.002s
"""
    report = parse_test_output(output, 0, tmp_path)
    assert report.runner == "go" and report.ok
    assert (report.passed, report.skipped) == (2, 1)
    assert report.summary() == "Tests: all 2 passed, 1 skipped."
    quiet = parse_test_output("ok  \texample.com/adder\t(cached)\n", 0, tmp_path)
    assert quiet.runner == "go" and quiet.summary() == "Tests: passed."


def test_go_panic(tmp_path):
    _write(tmp_path, {"list.go": "package adder\n\nfunc Get(xs []int, i int) int {\n\treturn xs[i]\n}\n"})
    output = """\
--- FAIL: TestGet (0.00s)
panic: runtime error: index out of range [5] with length 3 [recovered]
	panic: runtime error: index out of range [5] with length 3

goroutine 7 [running]:
testing.tRunner.func1.2({{0x5201e0, 0xc000016108}})
	/usr/local/go/src/testing/testing.go:1545 +0x238
panic({{0x5201e0?, 0xc000016108?}})
	/usr/local/go/src/runtime/panic.go:914 +0x21f
example.com/adder.Get(...)
	{root}/list.go:4
example.com/adder.TestGet(0x0?)
	{root}/list_test.go:8 +0x1d
testing.tRunner(0xc0000a0820, 0x55b0a8)
	/usr/local/go/src/testing/testing.go:1595 +0xff
exit status 2
FAIL	example.com/adder	0.003s
""".format(root=tmp_path)
    report = parse_test_output(output, 1, tmp_path)
    (failure,) = report.failures
    assert failure.name == "TestGet"
    assert failure.message == "runtime error: index out of range [5] with length 3"
    assert [(f.path, f.line) for f in failure.frames] == [("list_test.go", 8), ("list.go", 4)]
    assert failure.frame.text == "return xs[i]"


def test_go_build_failure(tmp_path):
    _write(tmp_path, {"add.go": "package adder\n\nfunc Add(a, b int) int {\n\treturn a + c\n}\n"})
    output = "# example.com/adder\n./add.go:4:13: undefined: c\nFAIL\texample.com/adder [build failed]\nFAIL\n"
    report = parse_test_output(output, 1, tmp_path)
    assert report.runner == "go" and report.errors == 1 and not report.ok
    (failure,) = report.failures
    assert failure.kind == "error" and failure.message == "undefined: c"
    assert failure.frame == Frame("add.go", 4, "return a + c")


# --- jest ---------------------------------------------------------------------------------

JEST_OUTPUT = """\
 FAIL  src/sum.test.js
  math
    ✓ adds small numbers (2 ms)
    ✕ adds big numbers (3 ms)
    ✕ divides (1 ms)
    ○ skipped subtracts

  ● math › adds big numbers

    expect(received).toBe(expected) // Object.is equality

    Expected: 5
    Received: 4

       5 |   test('adds big numbers', () => {
       6 |     expect(sum(2, 2)).toBe(4);
    >  7 |     expect(sum(2, 2)).toBe(5);
         |                       ^
       8 |   });

      at Object.toBe (src/sum.test.js:7:23)

  ● math › divides

    Division by zero

      1 | function divide(a, b) {
    > 2 |   if (b === 0) throw new Error('Division by zero');
        |                      ^
      3 |   return a / b;

      at divide (src/divide.js:2:22)
      at Object.<anonymous> (src/sum.test.js:12:12)
      at Promise.then.completed (node_modules/jest-circus/build/utils.js:298:28)

 PASS  src/other.test.js
 FAIL  src/broken.test.js
  ● Test suite failed to run

    Cannot find module './missing' from 'src/broken.test.js'

    > 1 | const x = require('./missing');
        | ^

      at Resolver._throwModNotFoundError (node_modules/jest-resolve/build/resolver.js:427:11)
      at Object.<anonymous> (src/broken.test.js:1:1)

Test Suites: 2 failed, 1 passed, 3 total
Tests:       2 failed, 1 skipped, 3 passed, 6 total
Snapshots:   0 total
Time:        0.61 s, estimated 1 s
Ran all test suites.
"""


def test_jest(tmp_path):
    report = parse_test_output("\x1b[1m\x1b[31m" + JEST_OUTPUT + "\x1b[0m", 1, tmp_path, runner="npm")
    assert report.runner == "jest" and report.recognised
    assert (report.failed, report.passed, report.skipped, report.errors) == (2, 3, 1, 1)
    big, divides, broken = report.failures
    assert big.name == "math › adds big numbers"
    assert big.message == "expect(received).toBe(expected) // Object.is equality\nExpected: 5\nReceived: 4"
    assert big.frame == Frame("src/sum.test.js", 7, "")
    assert divides.message == "Division by zero"
    assert [(f.path, f.line) for f in divides.frames] == [("src/sum.test.js", 12), ("src/divide.js", 2)]
    assert broken.kind == "error" and broken.name == "src/broken.test.js"
    assert broken.message == "Cannot find module './missing' from 'src/broken.test.js'"
    assert broken.frame.path == "src/broken.test.js"


def test_jest_reads_frame_text_from_the_file(tmp_path):
    _write(tmp_path, {"src/divide.js": "function divide(a, b) {\n  if (b === 0) throw new Error('Division by zero');\n}\n"})
    report = parse_test_output(JEST_OUTPUT, 1, tmp_path)
    assert report.failures[1].frame.text == "if (b === 0) throw new Error('Division by zero');"


# --- unrecognised, summary, to_dict ----------------------------------------------------------


def test_unrecognised_output_falls_back_to_the_tail(tmp_path):
    output = "\n".join(f"step {i}" for i in range(100)) + "\nSegmentation fault\n\n"
    report = parse_test_output(output, 139, tmp_path, runner="make")
    assert not report.recognised and report.runner == "unknown" and not report.ok
    lines = report.tail.splitlines()
    assert len(lines) == 40 and lines[-1] == "Segmentation fault" and lines[0] == "step 61"
    assert report.summary().startswith("Tests exited with code 139. Last lines:\nstep 61\n")
    assert parse_test_output("", None, tmp_path).summary().startswith("Tests did not finish")


def test_summary_caps_the_failures(tmp_path):
    failures = tuple(Failure(f"t.py::test_{i}", f"assert {i}", (Frame("t.py", i + 1, f"line {i}"),)) for i in range(8))
    report = TestReport("pytest", 1, passed=2, failed=8, failures=failures, recognised=True)
    summary = report.summary(max_failures=3)
    assert summary.splitlines()[0] == "Tests: 8 failed, 2 passed."
    assert summary.count("FAILED ") == 3
    assert summary.endswith("… and 5 more.")
    assert report.failing_locations()[0] == Frame("t.py", 1, "line 0")


def test_to_dict(tmp_path):
    _write(tmp_path, {"calc.py": CALC, "test_calc.py": TEST_CALC})
    data = parse_test_output(UNITTEST_OUTPUT.format(root=tmp_path), 1, tmp_path).to_dict()
    assert data["runner"] == "unittest" and data["ok"] is False
    assert data["failures"][0]["frame"] == {"path": "calc.py", "line": 2, "text": "return a / b"}
    assert data["failures"][0]["kind"] == "error"
    assert isinstance(data["tail"], str)


def test_failing_locations_are_deduped(tmp_path):
    frame = Frame("a.py", 3, "x")
    report = TestReport(
        "pytest", 1, failed=2, recognised=True, failures=(Failure("a", "m", (frame,)), Failure("b", "m", (frame,)))
    )
    assert report.failing_locations() == [frame]


@pytest.mark.parametrize("runner", [None, "make", "custom"])
def test_runner_hint_that_does_not_parse_falls_back_to_detection(tmp_path, runner):
    output = "make test\npython -m pytest -q\n..\n2 passed in 0.01s\n"
    report = parse_test_output(output, 0, tmp_path, runner=runner)
    assert report.runner == "pytest" and report.passed == 2 and report.ok
