"""JavaScript test runners other than jest: node's own (`node --test`, TAP and spec
reporters, run for real here), mocha and vitest (sample output, written the way
their reporters print it), and detection of those test commands."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from mlxagent.core.testing.detect import TestCommand, detect_test_command, resolve_test_command
from mlxagent.core.testing.report import Frame, parse_test_output

needs_node = pytest.mark.skipif(shutil.which("node") is None or shutil.which("npm") is None,
                                reason="node and npm are not installed")


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def _run(argv: list[str], cwd: Path) -> tuple[str, int]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("npm_", "NODE_", "FORCE_COLOR"))}
    env.update({
        "NO_UPDATE_NOTIFIER": "1", "npm_config_update_notifier": "false", "npm_config_audit": "false",
        "npm_config_fund": "false", "npm_config_cache": str(cwd.parent / "npm-cache"), "NO_COLOR": "1",
    })
    done = subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=60, stdin=subprocess.DEVNULL)
    return done.stdout, done.returncode


# --- node --test, for real -----------------------------------------------------------------------

PROJECT = {
    "package.json": json.dumps({"name": "proj", "version": "1.0.0", "scripts": {"test": "node --test"}}),
    "src/math.js": """\
function add(a, b) {
  return a - b;
}
function divide(a, b) {
  if (b === 0) throw new Error('Division by zero');
  return a / b;
}
module.exports = { add, divide };
""",
    "test/math.test.js": """\
const { test, describe, it } = require('node:test');
const assert = require('node:assert');
const { add, divide } = require('../src/math');

test('adds', () => {
  assert.strictEqual(add(2, 2), 4);
});

test('divides', () => {
  assert.strictEqual(divide(4, 2), 2);
});

test('divide by zero', () => {
  divide(1, 0);
});

describe('group', () => {
  it('deep equal', () => {
    assert.deepStrictEqual({ a: 1, b: [1, 2] }, { a: 1, b: [1, 3] });
  });
  it('ok inner', () => {});
  it.skip('skipped one', () => {});
  it.todo('todo one');
});
""",
    "test/other.test.mjs": """\
import test from 'node:test';
import assert from 'node:assert/strict';
test('esm fails', async () => {
  await Promise.resolve();
  assert.equal(1 + 1, 3, 'math is broken');
});
test('esm ok', () => {});
""",
}


@pytest.fixture(scope="module")
def node_runs(tmp_path_factory):
    """The project's tests run three ways: npm test (TAP: the output is no terminal), and
    node --test with each reporter named."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node and npm are not installed")
    root = tmp_path_factory.mktemp("nodeproj") / "proj"
    _write(root, PROJECT)
    runs = {
        "npm": _run(["npm", "test"], root),
        "tap": _run(["node", "--test", "--test-reporter=tap"], root),
        "spec": _run(["node", "--test", "--test-reporter=spec"], root),
    }
    return root, runs


@needs_node
@pytest.mark.parametrize("how", ["npm", "tap", "spec"])
def test_node_test_runner_for_real(node_runs, how):
    root, runs = node_runs
    output, code = runs[how]
    assert code == 1
    if how == "npm":
        assert "> proj@1.0.0 test" in output
    report = parse_test_output(output, code, root, runner="node")
    assert report.runner == "node" and report.recognised, output
    assert (report.passed, report.failed, report.skipped, report.errors) == (3, 4, 2, 0)
    names = [f.name for f in report.failures]
    assert names == ["adds", "divide by zero", "group > deep equal", "esm fails"]
    adds, divide, deep, esm = report.failures
    assert adds.message.splitlines()[0] == "AssertionError: Expected values to be strictly equal:"
    assert "0 !== 4" in adds.message
    assert adds.frames == (Frame("test/math.test.js", 6, "assert.strictEqual(add(2, 2), 4);"),)
    assert "Division by zero" in divide.message
    assert [(f.path, f.line) for f in divide.frames] == [("test/math.test.js", 14), ("src/math.js", 5)]
    assert divide.frame.text == "if (b === 0) throw new Error('Division by zero');"
    assert "actual: 2" in deep.message and "expected: 3" in deep.message
    assert deep.frame.where() == "test/math.test.js:19"
    assert esm.message.startswith("AssertionError: math is broken")
    assert esm.frame.where() == "test/other.test.mjs:5"  # from a file:// URL
    summary = report.summary()
    assert summary.startswith("Tests: 4 failed, 3 passed, 2 skipped.")
    assert "at src/math.js:5: if (b === 0)" in summary


@needs_node
def test_npm_test_is_detected_as_node_and_parsed_without_a_hint(node_runs):
    root, runs = node_runs
    command = detect_test_command(root)
    assert command == TestCommand(("npm", "test"), "node", "detected (package.json scripts.test)")
    assert command.narrowed("test/math.test.js") == ("node", "--test", "test/math.test.js")
    output, code = runs["npm"]
    assert parse_test_output(output, code, root).runner == "node"
    assert parse_test_output(output, code, root, runner="npm").failed == 4  # the jest hint falls through


BROKEN = {
    "package.json": json.dumps({"name": "broken", "version": "1.0.0", "scripts": {"test": "node --test"}}),
    "test/missing.test.js": "const x = require('./missing');\n",
    "test/syntax.test.js": "const test = require('node:test');\ntest('x', () => {\n  foo(;\n});\n",
    "test/hook.test.js": """\
const { describe, it, before } = require('node:test');
describe('hooked', () => {
  before(() => { throw new TypeError('setup failed'); });
  it('never runs', () => {});
});
""",
    "test/fine.test.js": "require('node:test')('fine', () => {});\n",
}


@needs_node
@pytest.mark.parametrize("reporter", ["tap", "spec"])
def test_node_files_that_do_not_load_and_hooks(tmp_path, reporter):
    root = tmp_path / "broken"
    _write(root, BROKEN)
    output, code = _run(["node", "--test", f"--test-reporter={reporter}"], root)
    report = parse_test_output(output, code, root)
    assert report.runner == "node" and not report.ok
    assert (report.passed, report.errors) == (1, 2)
    by_name = {f.name: f for f in report.failures}
    missing = by_name["test/missing.test.js"]
    assert missing.kind == "error" and missing.message.startswith("Error: Cannot find module './missing'")
    assert missing.frame.where() == "test/missing.test.js:1"
    syntax = by_name["test/syntax.test.js"]
    assert syntax.kind == "error" and syntax.message.startswith("SyntaxError: Unexpected token")
    assert syntax.frame == Frame("test/syntax.test.js", 3, "foo(;")
    hooked = by_name["hooked"]
    assert hooked.message == "TypeError: setup failed" and hooked.frame.where() == "test/hook.test.js:3"
    assert "never runs" not in by_name  # only cancelled because its hook failed


# --- node TAP and spec, samples ----------------------------------------------------------------


def test_tap_names_are_unescaped_and_suites_of_failed_tests_not_repeated(tmp_path):
    output = """\
TAP version 13
# Subtest: outer
    # Subtest: name with \\# hash
    not ok 1 - name with \\# hash
      ---
      duration_ms: 0.9
      location: '/elsewhere/h.test.js:2:1'
      failureType: 'testCodeFailure'
      error: 'it''s bad'
      code: 'ERR_TEST_FAILURE'
      name: 'RangeError'
      ...
    1..1
not ok 1 - outer
  ---
  duration_ms: 1.2
  type: 'suite'
  failureType: 'subtestsFailed'
  error: '1 subtest failed'
  code: 'ERR_TEST_FAILURE'
  ...
# Subtest: later
ok 2 - later # TODO
1..2
# tests 2
# suites 1
# pass 0
# fail 1
# cancelled 0
# skipped 0
# todo 1
# duration_ms 50.1
"""
    report = parse_test_output(output, 1, tmp_path)
    assert report.runner == "node" and (report.failed, report.skipped) == (1, 1)
    (failure,) = report.failures
    assert failure.name == "outer > name with # hash"
    assert failure.message == "RangeError: it's bad" and failure.frames == ()


# --- mocha -----------------------------------------------------------------------------------------

MOCHA_OUTPUT = """\

> proj@1.0.0 test
> mocha



  math
    ✔ adds small numbers
    1) divides
    - subtracts
    nested
      2) strict equal

  esm
    3) "before all" hook for "loads"


  1 passing (9ms)
  1 pending
  3 failing

  1) math
       divides:
     Error: Division by zero
      at divide (src/math.js:5:22)
      at Context.<anonymous> (test/math.spec.js:12:5)
      at process.processImmediate (node:internal/timers:476:21)

  2) math
       nested
         strict equal:

      AssertionError [ERR_ASSERTION]: Expected values to be strictly equal:

0 !== 4

      + expected - actual

      -0
      +4
      
      at Context.<anonymous> (test/math.spec.js:18:14)
      at process.processImmediate (node:internal/timers:476:21)

  3) esm
       "before all" hook for "loads":
     TypeError: Cannot read properties of undefined (reading 'x')
      at Context.<anonymous> (file://{root}/test/esm.spec.mjs:4:20)



npm ERR! Test failed.  See above for more details.
"""

MOCHA_FILES = {
    "src/math.js": "\n\n\n\n  if (b === 0) throw new Error('Division by zero');\n",
    "test/math.spec.js": "\n" * 11 + "    divide(1, 0);\n" + "\n" * 5 + "    assert.strictEqual(add(2, 2), 4);\n",
    "test/esm.spec.mjs": "\n\n\n  before(() => undefined.x);\n",
}


def test_mocha(tmp_path):
    _write(tmp_path, MOCHA_FILES)
    report = parse_test_output(MOCHA_OUTPUT.replace("{root}", str(tmp_path)), 1, tmp_path, runner="mocha")
    assert report.runner == "mocha" and report.recognised
    assert (report.passed, report.failed, report.skipped) == (1, 3, 1)
    divides, strict, hook = report.failures
    assert divides.name == "math > divides" and divides.message == "Error: Division by zero"
    assert [f.where() for f in divides.frames] == ["test/math.spec.js:12", "src/math.js:5"]
    assert divides.frame.text == "if (b === 0) throw new Error('Division by zero');"
    assert strict.name == "math > nested > strict equal"
    assert strict.message.splitlines() == [
        "AssertionError: Expected values to be strictly equal:", "0 !== 4", "actual: 0", "expected: 4"]
    assert strict.frame == Frame("test/math.spec.js", 18, "assert.strictEqual(add(2, 2), 4);")
    assert hook.name == 'esm > "before all" hook for "loads"'
    assert hook.message == "TypeError: Cannot read properties of undefined (reading 'x')"
    assert hook.frame.where() == "test/esm.spec.mjs:4"
    assert "npm" not in "".join(f.message for f in report.failures)
    # Without the hint, too.
    assert parse_test_output(MOCHA_OUTPUT, 1, tmp_path).runner == "mocha"


def test_mocha_all_passing(tmp_path):
    report = parse_test_output("\n  math\n    ✓ adds\n\n\n  1 passing (2ms)\n\n", 0, tmp_path)
    assert report.runner == "mocha" and report.ok and report.passed == 1 and not report.failures


# --- vitest ----------------------------------------------------------------------------------------

VITEST_OUTPUT = """\

> proj@1.0.0 test
> vitest run


 RUN  v1.6.0 {root}

 ❯ test/math.test.js  (4 tests | 2 failed | 1 skipped) 7ms
   ❯ test/math.test.js > math > adds
     → expected 0 to be 4 // Object.is equality
   ❯ test/math.test.js > math > divides
     → Division by zero
 ✓ test/other.test.js  (1 test) 1ms
 ❯ test/broken.test.js  (0 test)

⎯⎯⎯⎯⎯⎯ Failed Suites 1 ⎯⎯⎯⎯⎯⎯⎯

 FAIL  test/broken.test.js [ test/broken.test.js ]
Error: Failed to load url ./missing.js (resolved id: ./missing.js) in {root}/test/broken.test.js. Does the file exist?
 ❯ loadAndTransform node_modules/vite/dist/node/chunks/dep-x.js:5:11

⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯[1/3]⎯

⎯⎯⎯⎯⎯⎯⎯ Failed Tests 2 ⎯⎯⎯⎯⎯⎯⎯

 FAIL  test/math.test.js > math > adds
AssertionError: expected 0 to be 4 // Object.is equality

- Expected
+ Received

- 4
+ 0

 ❯ test/math.test.js:7:23
      5| describe('math', () => {
      6|   it('adds', () => {
      7|     expect(add(2, 2)).toBe(4)
       |                       ^
      8|   })
      9|

⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯[2/3]⎯

 FAIL  test/math.test.js > math > divides
Error: Division by zero
 ❯ divide src/math.js:5:22
      3|
      4| export function divide(a, b) {
      5|   if (b === 0) throw new Error('Division by zero')
       |                      ^
      6|   return a / b
      7| }
 ❯ test/math.test.js:11:5

⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯[3/3]⎯

 Test Files  2 failed | 1 passed (3)
      Tests  2 failed | 2 passed | 1 skipped (5)
   Start at  10:12:03
   Duration  412ms (transform 31ms, setup 0ms, collect 25ms, tests 7ms, environment 0ms, prepare 143ms)

npm error Lifecycle script `test` failed with error:
npm error code 1
"""

VITEST_FILES = {
    "src/math.js": "\n\n\n\n  if (b === 0) throw new Error('Division by zero')\n",
    "test/math.test.js": "\n" * 6 + "    expect(add(2, 2)).toBe(4)\n" + "\n" * 3 + "    divide(1, 0)\n",
    "node_modules/vite/dist/node/chunks/dep-x.js": "\n" * 10,
}


def test_vitest(tmp_path):
    _write(tmp_path, VITEST_FILES)
    report = parse_test_output(VITEST_OUTPUT.replace("{root}", str(tmp_path)), 1, tmp_path, runner="vitest")
    assert report.runner == "vitest" and report.recognised
    assert (report.passed, report.failed, report.skipped, report.errors) == (2, 2, 1, 1)
    broken, adds, divides = report.failures
    assert broken.kind == "error" and broken.name == "test/broken.test.js"
    assert broken.message.startswith("Error: Failed to load url ./missing.js")
    assert "in test/broken.test.js" in broken.message and broken.frames == ()  # node_modules is not the repo
    assert adds.name == "test/math.test.js > math > adds"
    assert adds.message == "AssertionError: expected 0 to be 4 // Object.is equality\nexpected: 4\nreceived: 0"
    assert adds.frames == (Frame("test/math.test.js", 7, "expect(add(2, 2)).toBe(4)"),)
    assert divides.message == "Error: Division by zero"
    assert [f.where() for f in divides.frames] == ["test/math.test.js:11", "src/math.js:5"]
    assert parse_test_output(VITEST_OUTPUT, 1, tmp_path, runner="npm").runner == "vitest"


def test_vitest_all_passing(tmp_path):
    output = " ✓ test/a.test.js  (2 tests) 3ms\n\n Test Files  1 passed (1)\n      Tests  2 passed (2)\n   Start at  09:00:00\n"
    report = parse_test_output(output, 0, tmp_path)
    assert report.runner == "vitest" and report.ok and report.passed == 2


# --- the chooser: no parser takes another runner's output ----------------------------------------


def test_jest_and_pytest_are_still_theirs_under_a_js_hint(tmp_path):
    from tests.test_testresults import JEST_OUTPUT

    for hint in ("node", "mocha", "vitest"):
        jest = parse_test_output(JEST_OUTPUT, 1, tmp_path, runner=hint)
        assert jest.runner == "jest" and (jest.failed, jest.passed) == (2, 3)
        pytest_run = parse_test_output("..F\n1 failed, 2 passed in 0.03s\n", 1, tmp_path, runner=hint)
        assert pytest_run.runner == "pytest" and pytest_run.failed == 1
    for output in (MOCHA_OUTPUT, VITEST_OUTPUT):
        assert parse_test_output(output, 1, tmp_path, runner="node").runner != "node"


# --- detection and narrowing ---------------------------------------------------------------------------


@pytest.mark.parametrize("script, runner", [
    ("node --test", "node"),
    ("node --test test/", "node"),
    ("tsc && node --import tsx --test", "node"),
    ("mocha", "mocha"),
    ("c8 mocha --recursive", "mocha"),
    ("NODE_ENV=test mocha 'test/**/*.spec.js'", "mocha"),
    ("vitest run", "vitest"),
    ("vitest", "vitest"),
    ("npx vitest run --coverage", "vitest"),
    ("jest", "npm"),
    ("node scripts/test.js", "npm"),
    ("eslint . && jest --ci", "npm"),
])
def test_npm_test_script_runner(tmp_path, script, runner):
    (tmp_path / "package.json").write_text(json.dumps({"name": "x", "scripts": {"test": script}}))
    command = detect_test_command(tmp_path)
    assert command.argv == ("npm", "test") and command.runner == runner


def test_narrowed_js_runners():
    node = TestCommand(("npm", "test"), "node", "")
    assert node.narrowed("test/a.test.js") == ("node", "--test", "test/a.test.js")
    assert node.narrowed("adds (big)") == ("node", "--test", "--test-name-pattern", r"adds \(big\)")
    mocha = TestCommand(("npm", "test"), "mocha", "")
    assert mocha.narrowed("test/a.spec.js") == ("npx", "--no", "mocha", "test/a.spec.js")
    assert mocha.narrowed("adds (big)") == ("npx", "--no", "mocha", "--grep", "adds (big)")
    vitest = TestCommand(("npm", "test"), "vitest", "")
    assert vitest.narrowed("src/a.test.ts") == ("npx", "--no", "vitest", "run", "src/a.test.ts")
    assert vitest.narrowed("adds") == ("npx", "--no", "vitest", "run", "-t", "adds")
    assert vitest.narrowed(None) == ("npm", "test")
    # A configured command keeps its own arguments.
    configured = TestCommand(("node", "--test", "test/"), "node", "")
    assert configured.narrowed("adds") == ("node", "--test", "--test-name-pattern", "adds", "test/")
    assert configured.narrowed("test/a.test.js") == ("node", "--test", "test/", "test/a.test.js")


def test_configured_js_commands_get_their_runner(tmp_path):
    for text, runner in [("node --test", "node"), ("npx mocha -r ts-node/register", "mocha"),
                         ("npx vitest run", "vitest"), ("npx jest", "npm"), ("npm test", "npm")]:
        assert resolve_test_command(tmp_path, override=text).runner == runner


@needs_node
def test_narrowed_node_command_runs_one_file(node_runs):
    root, _ = node_runs
    argv = detect_test_command(root).narrowed("test/other.test.mjs")
    output, code = _run(list(argv), root)
    report = parse_test_output(output, code, root, runner="node")
    assert (report.passed, report.failed) == (1, 1)
    assert [f.name for f in report.failures] == ["esm fails"]


LATE = {
    "package.json": json.dumps({"name": "late", "version": "1.0.0", "scripts": {"test": "node --test"}}),
    "test/a.test.js": """\
const test = require('node:test');
const assert = require('node:assert');
test('ok false', () => { assert.ok(0 > 1); });
test('parent', async (t) => {
  await t.test('child fails', () => { assert.equal('a', 'b'); });
  await t.test('child ok', () => {});
});
test('late error', () => { setTimeout(() => { throw new Error('late boom'); }, 1); });
""",
}


@needs_node
@pytest.mark.parametrize("reporter", ["tap", "spec"])
def test_node_subtests_and_errors_after_a_test_ended(tmp_path, reporter):
    root = tmp_path / "late"
    _write(root, LATE)
    output, code = _run(["node", "--test", f"--test-reporter={reporter}"], root)
    report = parse_test_output(output, code, root)
    assert (report.passed, report.failed, report.errors) == (2, 3, 1)  # node counts "parent" as failed too
    ok_false, child, late = report.failures
    assert ok_false.message.splitlines() == [
        "AssertionError: The expression evaluated to a falsy value:", "  assert.ok(0 > 1)", "expected: true",
        "actual: false"]
    assert child.name == "parent > child fails" and child.frame.where() == "test/a.test.js:5"
    assert late.kind == "error" and late.name == "late error"
    assert late.message == "Error: late boom (thrown after the test had ended)"
    assert late.frame.where() == "test/a.test.js:8"


def test_vitest_unhandled_error(tmp_path):
    _write(tmp_path, {"test/x.test.js": "\n\n\n  setTimeout(() => { throw new Error('boom') })\n"})
    output = """\
 ✓ test/x.test.js  (1 test) 3ms

⎯⎯⎯⎯⎯⎯ Unhandled Errors ⎯⎯⎯⎯⎯⎯

Vitest caught 1 unhandled error during the test run.
This might cause false positive tests. Resolve unhandled errors to make sure your tests are not affected.

⎯⎯⎯⎯ Unhandled Error ⎯⎯⎯⎯
Error: boom
 ❯ Timeout._onTimeout test/x.test.js:4:28
 ❯ listOnTimeout node:internal/timers:569:17

This error originated in "test/x.test.js" test file. It doesn't mean the error was thrown inside the file itself.
⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯

 Test Files  1 passed (1)
      Tests  1 passed (1)
     Errors  1 error
"""
    report = parse_test_output(output, 1, tmp_path)
    assert (report.runner, report.passed, report.errors) == ("vitest", 1, 1) and not report.ok
    (failure,) = report.failures
    assert failure.kind == "error" and failure.message == "Error: boom"
    assert failure.frame.where() == "test/x.test.js:4"
