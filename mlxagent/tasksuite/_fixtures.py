"""The hand-written fixture repos under fixtures/, as tasks with tests and known fixes.

Each fixture's fix is written as exact text edits of the fixture's own bytes, so CRLF line
endings and a missing final newline carry over into `fixed` untouched. Where a fixture has no
test file, one is added here; those tests avoid spelling out the text the task removes, so an
agent that edits every occurrence of it never needs to touch the test file.
"""

from __future__ import annotations

from pathlib import Path

FIXTURES_DIR = Path(__file__).resolve().parents[2] / "fixtures"

_TEST_VERSION = '''\
from pathlib import Path

import version

HERE = Path(__file__).parent


def test_version_is_the_new_one():
    assert version.VERSION == "1.1." + "0"


def test_version_file_still_has_no_final_newline():
    assert not (HERE / "version.py").read_bytes().endswith(b"\\n")
'''

_TEST_SETTINGS = '''\
import configparser
from pathlib import Path

HERE = Path(__file__).parent


def read_settings():
    return (HERE / "settings.ini").read_bytes()


def test_server_port_is_changed():
    parser = configparser.ConfigParser()
    parser.read_string(read_settings().decode("utf-8"))
    assert parser["server"]["port"] == str(9000 + 90)
    assert parser["server"]["host"] == "127.0.0.1"
    assert parser["logging"]["level"] == "info"
    assert parser["logging"]["file"] == "server.log"


def test_line_endings_stay_crlf():
    data = read_settings()
    assert data.count(b"\\r\\n") == data.count(b"\\n") == 7
'''

_TEST_README = '''\
from pathlib import Path

HERE = Path(__file__).parent
WRONG = "reci" + "eve"
RIGHT = "rece" + "ive"


def test_the_misspelling_is_fixed():
    text = (HERE / "README.md").read_text(encoding="utf-8")
    assert WRONG not in text
    assert "you " + RIGHT + " the same totals" in text
'''

_TEST_RENAME = '''\
from pathlib import Path

import report
import shapes

HERE = Path(__file__).parent
OLD = "calc" + "_area"


def test_shapes_defines_rectangle_area():
    assert shapes.rectangle_area(2, 3) == 6
    assert not hasattr(shapes, OLD)


def test_report_uses_rectangle_area():
    assert report.total_area([(2, 3), (1, 1)]) == 7
    assert shapes.describe(2, 3) == "2x3 rectangle, area 6"
    assert "rectangle_area" in (HERE / "report.py").read_text()


def test_the_old_name_is_gone_everywhere():
    for name in ("shapes.py", "report.py"):
        assert OLD not in (HERE / name).read_text()
'''

# name -> (edits as (path, old, new, every occurrence?), added test files)
SPECS: dict[str, tuple[tuple[tuple[str, str, str, bool], ...], dict[str, str]]] = {
    "crlf_file": ((("settings.ini", "port = 8080", "port = 9090", False),),
                  {"test_settings.py": _TEST_SETTINGS}),
    "no_final_newline": ((("version.py", 'VERSION = "1.0.0"', 'VERSION = "1.1.0"', False),),
                         {"test_version.py": _TEST_VERSION}),
    "off_by_one": ((("windows.py", "range(len(values) - size)", "range(len(values) - size + 1)",
                     False),), {}),
    "readme_typo": ((("README.md", "recieve", "receive", False),), {"test_readme.py": _TEST_README}),
    "rename_function": ((("shapes.py", "calc_area", "rectangle_area", True),
                         ("report.py", "calc_area", "rectangle_area", True)),
                        {"test_rename.py": _TEST_RENAME}),
}


def read_fixture(name: str) -> tuple[str, dict[str, str]]:
    """(TASK.txt's text, every other file of the fixture as exact text)."""
    root = FIXTURES_DIR / name
    if not root.is_dir():
        raise FileNotFoundError(f"fixture {name!r} not found under {FIXTURES_DIR}")
    files: dict[str, str] = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        if rel != "TASK.txt":
            files[rel] = path.read_bytes().decode("utf-8")
    return (root / "TASK.txt").read_bytes().decode("utf-8").strip(), files


def fixed_files(name: str, files: dict[str, str]) -> dict[str, str]:
    edits, _ = SPECS[name]
    fixed: dict[str, str] = {}
    for path, old, new, every in edits:
        text = fixed.get(path, files[path])
        count = text.count(old)
        if count == 0 or (count > 1 and not every):
            raise ValueError(f"fixture {name}: {old!r} occurs {count} times in {path}")
        fixed[path] = text.replace(old, new)
    return fixed


def first_changed_line(before: str, after: str) -> int:
    for i, (a, b) in enumerate(zip(before.splitlines(), after.splitlines()), start=1):
        if a != b:
            return i
    return 0
