"""JavaScript's well-known slips (core/repair/treesit_slips.py): each is among the candidates of the
line that holds it, as the fix people write, every candidate parses, and a line without the slip's
pattern gets none of them; one whole search on a real node project (an async forEach) finds the fix."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from mlxagent.core.repair import Sources, search
from mlxagent.core.testing.report import parse_test_output

from test_repair import run_search
from test_repair_js import _replaced, _variants

SOURCE = """'use strict';

class Report {
  constructor(rows) {
    this.rows = rows;
  }

  label(value) {
    return `#${value}`;
  }

  labels() {
    return this.rows.map(this.label);
  }
}

function sorted(values) {
  return [...values].sort();
}

function isPlain(value) {
  return typeof value === 'object' && !Array.isArray(value);
}

function monthOf(date) {
  return String(date.getUTCMonth()).padStart(2, '0');
}

function grid(rows, cols) {
  return new Array(rows).fill(new Array(cols).fill(0));
}

function largest(values) {
  return Math.max(values);
}

function copyDefaults(defaults) {
  const out = { ...defaults };
  return out;
}

function indexes(values) {
  const out = [];
  for (const i in values) out.push(i);
  return out;
}

function drop(values, i) {
  delete values[i];
  return values;
}

function versions(text) {
  return text.split('.').map(parseInt);
}

function route(source) {
  return new RegExp('^' + source);
}

async function runOne(job) {
  const value = job.fn();
  return value;
}

async function load(name) {
  return name;
}

async function loadAll(names) {
  const out = [];
  for (const name of names) out.push(load(name));
  return out;
}

module.exports = { Report, sorted, isPlain, monthOf, grid, largest, copyDefaults, indexes, drop, versions, route,
  runOne, loadAll };
"""


@pytest.mark.parametrize("line,old,new", [
    ("[...values].sort()", "[...values].sort()", "[...values].sort((a, b) => a - b)"),
    ("typeof value", "return typeof value", "return value !== null && typeof value"),
    ("getUTCMonth", "String(date.getUTCMonth())", "String(date.getUTCMonth() + 1)"),
    ("fill(new Array", "new Array(rows).fill(new Array(cols).fill(0))",
     "Array.from({ length: rows }, () => new Array(cols).fill(0))"),
    ("Math.max", "Math.max(values)", "Math.max(...values)"),
    ("this.rows.map", "this.rows.map(this.label)", "this.rows.map(this.label.bind(this))"),
    ("{ ...defaults }", "{ ...defaults }", "structuredClone(defaults)"),
    ("const i in", "const i in values", "const i of values"),
    ("delete values", "delete values[i]", "values.splice(i, 1)"),
    ("out.push(load", "out.push(load(name))", "out.push(await load(name))"),
    ("map(parseInt)", "map(parseInt)", "map(Number)"),
    ("new RegExp", "new RegExp('^' + source)", "new RegExp('^' + source + '$')"),
    ("const value = job.fn()", "const value = job.fn()", "const value = await job.fn()"),
], ids=["sort", "typeof-null", "month", "fill", "spread-max", "bind", "clone", "for-of", "splice", "await", "radix",
        "anchor", "await-any"])
def test_each_slip_is_a_candidate_of_its_line(tmp_path, line, old, new):
    out = _variants(tmp_path, SOURCE, line)
    assert (_replaced(SOURCE, old, new), "slip") in [(text, rule) for text, rule, _ in out]


def test_lines_without_the_patterns_get_no_slips(tmp_path):
    for line in ("this.rows = rows;", "return `#${value}`;", "return name;"):
        assert not [d for _, rule, d in _variants(tmp_path, SOURCE, line) if rule == "slip"], line


RUNNER = """'use strict';

async function runJobs(jobs, log) {
  jobs.forEach(async (job) => {
    const result = await job();
    log.push(result);
  });
  return log.length;
}

module.exports = { runJobs };
"""

RUNNER_TEST = """'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { runJobs } = require('../lib/runner.js');

const later = (value) => () => new Promise((resolve) => setImmediate(() => resolve(value)));

test('every job has run when runJobs resolves', async () => {
  const log = [];
  const count = await runJobs([later('a'), later('b')], log);
  assert.equal(count, 2);
  assert.deepEqual(log, ['a', 'b']);
});

test('no jobs', async () => {
  assert.equal(await runJobs([], []), 0);
});
"""


def test_foreach_async_becomes_a_for_of_loop(tmp_path):
    out = _variants(tmp_path, RUNNER, "jobs.forEach")
    loop = RUNNER.replace("jobs.forEach(async (job) => {", "for (const job of jobs) {").replace("  });\n", "  }\n")
    assert (loop, "slip") in [(text, rule) for text, rule, _ in out]


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_search_finds_an_async_foreach_fix_in_a_real_node_project(tmp_path):
    (tmp_path / "lib").mkdir()
    (tmp_path / "test").mkdir()
    (tmp_path / "lib" / "runner.js").write_text(RUNNER)
    (tmp_path / "test" / "runner.test.js").write_text(RUNNER_TEST)
    (tmp_path / "package.json").write_text('{"name": "r", "private": true, "scripts": {"test": "node --test"}}\n')
    files = ["lib/runner.js", "test/runner.test.js", "package.json"]

    def node_test(root):
        return subprocess.run(["node", "--test"], cwd=root, capture_output=True, text=True, timeout=60)

    run = node_test(tmp_path)
    assert run.returncode != 0
    report = parse_test_output(run.stdout + run.stderr, run.returncode, tmp_path)
    _, result = run_search(search(Sources(tmp_path, files), "runJobs returns before the jobs have run", report, None,
                                  lambda root: node_test(root).returncode == 0))
    assert result.found is not None, result.message
    fixed = dict(result.found.files)["lib/runner.js"]
    assert "for (const job of jobs)" in fixed or "Promise.all" in fixed
    assert (tmp_path / "lib" / "runner.js").read_text() == RUNNER  # the user's tree is untouched
