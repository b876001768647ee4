"""core/repair/localise.py's later evidence: what a test-called function calls (a class it makes:
its __init__), a linter's warnings in the files the evidence points at, and a module-level table of
names a suspect function reads. Real pytest runs of small projects in tmp_path."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from mlxagent.core.repair import Sources, suspects
from mlxagent.core.testing.report import parse_test_output

SOURCE = '''"""A roster."""


def parse_bool(text):
    return text.strip().lower() in ("1", "true", "yes")


TYPES = {"active": bool, "age": int}


class Member:
    def __init__(self, name, tags=[]):
        self.name = name
        self.tags = tags


class Roster:
    def __init__(self):
        self.members = {}

    def join(self, name):
        self.members[name] = Member(name)
        return self.members[name]

    def field(self, key, text):
        return TYPES[key](text)
'''

TEST = '''from roster import Roster


def test_members_have_their_own_tags():
    roster = Roster()
    roster.join("a").tags.append("x")
    assert roster.join("b").tags == []


def test_field():
    assert Roster().field("active", "false") is False
'''


def _suspects(tmp_path: Path):
    (tmp_path / "roster.py").write_text(SOURCE)
    (tmp_path / "test_roster.py").write_text(TEST)
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=60)
    report = parse_test_output(run.stdout + run.stderr, run.returncode, tmp_path)
    assert len(report.failures) == 2
    return {s.line: s for s in suspects(Sources(tmp_path, ["roster.py", "test_roster.py"]), report, "fix the roster")}


def test_a_class_the_test_called_function_makes_is_suspect(tmp_path):
    found = _suspects(tmp_path)
    assert "called by join()" in found[13].why and "called by join()" in found[14].why  # Member.__init__'s body


def test_a_linter_s_warning_is_suspect_where_the_evidence_points(tmp_path):
    found = _suspects(tmp_path)
    assert "mutable default" in found[12].why and found[12].weight >= 5.0


def test_a_table_of_names_a_suspect_reads_is_suspect(tmp_path):
    found = _suspects(tmp_path)
    assert "the constant TYPES" in found[8].why
