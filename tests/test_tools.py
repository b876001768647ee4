"""The agent's tools through the Toolbox, as the agent calls them, on real repos."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from fixture_repos import fixture_names, fixture_repo
from mlxagent.core.events import Review
from mlxagent.core.proposals import outcome_text
from mlxagent.core.tools import COMMAND_TOOLS, EDIT_TOOLS, READ_ONLY_TOOLS, ToolLimits, Toolbox, paths_in_result
from mlxagent.core.workspace import Workspace


def toolbox_for(root: Path, **limits) -> Toolbox:
    return Toolbox(Workspace.open(root), limits=ToolLimits(**limits))


@pytest.fixture
def shapes(tmp_path) -> Path:
    return fixture_repo("rename_function", tmp_path)


@pytest.fixture
def tools(shapes) -> Toolbox:
    return toolbox_for(shapes)


def applied(tools: Toolbox, result) -> bytes:
    """Accept every hunk of the result's proposal; the file's bytes afterwards."""
    assert not result.is_error, result.text
    proposal = result.proposal
    outcome = tools.proposals.apply(proposal, Review.accept_all(len(proposal.hunks)))
    assert outcome.outcome == "applied", outcome
    return tools.workspace.resolve(proposal.path).read_bytes()


# --- fixtures ---------------------------------------------------------------------------


def test_every_fixture_has_a_task_and_becomes_a_repo(tmp_path):
    assert {"off_by_one", "rename_function", "readme_typo", "crlf_file", "no_final_newline"} <= set(fixture_names())
    for name in fixture_names():
        root = fixture_repo(name, tmp_path)
        task = (root / "TASK.txt").read_text()
        assert task.strip() and len(task.strip().splitlines()) == 1
        ws = Workspace.open(root)
        assert ws.diff_head() == "" and "TASK.txt" in ws.list_files()


def test_crlf_fixture_is_committed_byte_exact(tmp_path):
    ws = Workspace.open(fixture_repo("crlf_file", tmp_path))
    assert ws.head_bytes("settings.ini").count(b"\r\n") == 7
    assert not ws.head_bytes("settings.ini").replace(b"\r\n", b"").count(b"\n")


def test_no_final_newline_fixture(tmp_path):
    root = fixture_repo("no_final_newline", tmp_path)
    assert not (root / "version.py").read_bytes().endswith(b"\n")


# --- schemas and the registry -----------------------------------------------------------


def test_schemas_are_openai_function_tools(tools):
    schemas = tools.schemas()
    names = [s["function"]["name"] for s in schemas]
    assert set(names) == READ_ONLY_TOOLS | EDIT_TOOLS | COMMAND_TOOLS
    assert not READ_ONLY_TOOLS & EDIT_TOOLS
    for schema in schemas:
        assert schema["type"] == "function"
        fn = schema["function"]
        assert 0 < len(fn["description"]) <= 120  # small models read these
        assert fn["parameters"]["type"] == "object"
        assert set(fn["parameters"]["required"]) <= set(fn["parameters"]["properties"])


def test_schemas_can_be_limited_to_read_only_tools(tools):
    assert {s["function"]["name"] for s in tools.schemas(READ_ONLY_TOOLS)} == READ_ONLY_TOOLS


@pytest.mark.parametrize(
    ("name", "arguments", "expected"),
    [
        ("delete_everything", {}, "Unknown tool 'delete_everything'. Available tools: list_files, read_file"),
        ("read_file", {}, "read_file needs argument 'path'. Call it as read_file(path (string, required)"),
        ("read_file", {"file": "x"}, "read_file has no argument 'file'"),
        ("read_file", {"path": 3}, "Argument 'path' of read_file must be a string, not 3"),
        ("read_file", {"path": "shapes.py", "start_line": "two"}, "must be an integer, not 'two'"),
        ("read_file", {"path": "shapes.py", "start_line": True}, "must be an integer"),
        ("search", {"pattern": "x", "regex": "maybe"}, "must be true or false"),
        ("read_file", ["shapes.py"], "Arguments must be a JSON object"),
        ("edit_file", {"path": "shapes.py", "search": "x"}, "needs argument 'replace'"),
        ("show_diff", {"path": "x"}, "show_diff() takes no arguments"),
    ],
)
def test_malformed_calls_get_a_corrective_error(tools, name, arguments, expected):
    result = tools.execute(name, arguments)
    assert result.is_error and result.proposal is None
    assert expected in result.text


def test_loosely_typed_arguments_are_accepted(tools):
    result = tools.execute("read_file", {"path": "shapes.py", "start_line": "2", "end_line": 3.0})
    assert not result.is_error
    assert "   2| " in result.text and "   4| " not in result.text
    assert not tools.execute("search", {"pattern": "CALC", "regex": "false"}).is_error


def test_arguments_as_json_text(tools):
    assert tools.execute("read_file", '{"path": "shapes.py", "end_line": 1}').text.endswith("   1| def calc_area(width, height):")
    result = tools.execute("read_file", '{"path": "shapes.py"')
    assert result.is_error and result.text.startswith("Arguments are not valid JSON. Call it as read_file(path")


def test_null_optional_arguments_mean_not_given(tools):
    assert not tools.execute("list_files", {"path": None, "glob": None}).is_error
    assert not tools.execute("list_files", None).is_error


# --- list_files -------------------------------------------------------------------------


def test_list_files_tree(tools, shapes):
    (shapes / "pkg" / "sub").mkdir(parents=True)
    (shapes / "pkg" / "sub" / "deep.py").write_text("x\n")
    (shapes / "pkg" / "top.py").write_text("x\n")
    (shapes / ".gitignore").write_text("*.log\n")
    (shapes / "ignored.log").write_text("x\n")
    text = tools.execute("list_files", {}).text
    assert text.splitlines() == [
        "6 files:",
        ".gitignore",
        "TASK.txt",
        "pkg/",
        "  sub/",
        "    deep.py",
        "  top.py",
        "report.py",
        "shapes.py",
    ]


def test_paths_can_be_read_back_from_list_files_and_search(tools, shapes):
    for rel in ("pkg/sub/deep.py", "pkg/top.py", "pkg/sub/x/y.txt", "z.md"):
        (shapes / rel).parent.mkdir(parents=True, exist_ok=True)
        (shapes / rel).write_text("calc_area\n")
    listing = tools.execute("list_files", {}).text
    assert paths_in_result("list_files", listing) == tools.workspace.list_files()
    hits = tools.execute("search", {"pattern": "calc_area"}).text
    assert paths_in_result("search", hits) == ["TASK.txt", "pkg/sub/deep.py", "pkg/sub/x/y.txt", "pkg/top.py", "report.py", "shapes.py", "z.md"]
    assert paths_in_result("read_file", listing) == []


def test_list_files_path_and_glob(tools, shapes):
    (shapes / "pkg").mkdir()
    (shapes / "pkg" / "a.py").write_text("x\n")
    (shapes / "pkg" / "b.txt").write_text("x\n")
    assert tools.execute("list_files", {"path": "pkg"}).text.splitlines() == ["2 files under pkg:", "pkg/", "  a.py", "  b.txt"]
    assert "shapes.py" in tools.execute("list_files", {"glob": "*.py"}).text
    assert "b.txt" not in tools.execute("list_files", {"glob": "*.py"}).text
    assert tools.execute("list_files", {"path": "pkg", "glob": "*.md"}).text == "No files under pkg match '*.md'."


def test_list_files_is_capped_with_a_notice(shapes):
    for i in range(30):
        (shapes / f"f{i:02}.txt").write_text("x\n")
    text = toolbox_for(shapes, list_max_entries=10).execute("list_files", {}).text
    lines = text.splitlines()
    assert len(lines) == 12  # header, 10 entries, notice
    assert lines[-1] == "[23 more files not shown; narrow with path= or glob=.]"


def test_list_files_refuses_missing_and_escaping_paths(tools):
    assert tools.execute("list_files", {"path": "nope"}).is_error
    result = tools.execute("list_files", {"path": "../"})
    assert result.is_error and "outside the repository" in result.text


# --- read_file --------------------------------------------------------------------------


def test_read_file_numbers_lines(tools):
    text = tools.execute("read_file", {"path": "shapes.py"}).text
    lines = text.splitlines()
    assert lines[0] == "shapes.py (7 lines):"
    assert lines[1] == "   1| def calc_area(width, height):"
    assert lines[7] == '   7|     return f"{width}x{height} rectangle, area {calc_area(width, height)}"'


def test_read_file_range(tools):
    text = tools.execute("read_file", {"path": "shapes.py", "start_line": 6, "end_line": 7}).text
    assert text.splitlines()[0] == "shapes.py (lines 6-7 of 7):"
    assert len(text.splitlines()) == 3


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({"path": "shapes.py", "start_line": 50}, "shapes.py has only 7 lines"),
        ({"path": "shapes.py", "start_line": 0}, "start_line counts from 1"),
        ({"path": "shapes.py", "start_line": 5, "end_line": 2}, "end_line (2) is before start_line (5)"),
        ({"path": "missing.py"}, "No file named missing.py"),
        ({"path": "."}, "is a folder"),
        ({"path": "/etc/passwd"}, "absolute"),
        ({"path": ".git/config"}, ".git/"),
    ],
)
def test_read_file_errors(tools, arguments, expected):
    result = tools.execute("read_file", arguments)
    assert result.is_error and expected in result.text


def test_read_file_huge_file_is_capped_with_a_way_on(shapes):
    big = shapes / "big.txt"
    big.write_bytes(b"".join(b"line %d\n" % i for i in range(1, 300_001)))  # ~3.5 MB
    tools = toolbox_for(shapes, read_max_lines=100)
    text = tools.execute("read_file", {"path": "big.txt"}).text
    lines = text.splitlines()
    assert lines[0] == "big.txt (lines 1-100 of 300000):"
    assert lines[100] == " 100| line 100"
    assert lines[-1] == "[Showing lines 1-100 of 300000. Call read_file with start_line=101 to read on.]"
    on = tools.execute("read_file", {"path": "big.txt", "start_line": 299_999}).text
    assert on.splitlines()[1:] == ["299999| line 299999", "300000| line 300000"]


def test_read_file_char_cap_and_long_lines(shapes):
    (shapes / "wide.txt").write_text(("x" * 1000 + "\n") * 50)
    text = toolbox_for(shapes, read_max_chars=2000, line_max_chars=300).execute("read_file", {"path": "wide.txt"}).text
    assert len(text) < 2600
    assert "…[700 more characters]" in text
    assert "start_line=" in text.splitlines()[-1]


def test_read_file_refuses_binary(tools, shapes):
    (shapes / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    result = tools.execute("read_file", {"path": "logo.png"})
    assert result.is_error and "binary" in result.text


def test_read_file_empty_and_crlf(tmp_path):
    root = fixture_repo("crlf_file", tmp_path)
    (root / "empty.txt").write_bytes(b"")
    tools = toolbox_for(root)
    assert tools.execute("read_file", {"path": "empty.txt"}).text == "empty.txt is empty."
    assert "\r" not in tools.execute("read_file", {"path": "settings.ini"}).text


# --- search -----------------------------------------------------------------------------


def test_search_literal(tools):
    text = tools.execute("search", {"pattern": "calc_area("}).text
    assert text.splitlines() == [
        "report.py:5: return sum(calc_area(w, h) for w, h in rectangles)",
        "shapes.py:1: def calc_area(width, height):",
        'shapes.py:7: return f"{width}x{height} rectangle, area {calc_area(width, height)}"',
    ]


def test_search_regex_path_and_glob(tools, shapes):
    assert tools.execute("search", {"pattern": r"def \w+\(", "regex": True, "path": "report.py"}).text.splitlines() == [
        "report.py:4: def total_area(rectangles):",
        "report.py:8: def report(rectangles):",
    ]
    assert "TASK.txt" not in tools.execute("search", {"pattern": "calc_area", "glob": "*.py"}).text
    assert tools.execute("search", {"pattern": "calc_area", "glob": "*.txt"}).text.startswith("TASK.txt:1:")


def test_search_no_match_and_bad_regex(tools):
    result = tools.execute("search", {"pattern": "CALC_AREA"})
    assert not result.is_error and "No matches for 'CALC_AREA'" in result.text and "case-sensitive" in result.text
    bad = tools.execute("search", {"pattern": "(unclosed", "regex": True})
    assert bad.is_error and "Invalid regex" in bad.text and "regex=false" in bad.text
    assert tools.execute("search", {"pattern": ""}).is_error


def test_search_is_capped(shapes):
    (shapes / "many.txt").write_text("needle\n" * 500)
    text = toolbox_for(shapes, search_max_results=20).execute("search", {"pattern": "needle"}).text
    lines = text.splitlines()
    assert len(lines) == 21
    assert lines[-1] == "[Stopped at 20 matches; narrow the search with path= or glob=.]"


def test_search_skips_binary_ignored_huge_and_escaping_files(tmp_path):
    root = fixture_repo("readme_typo", tmp_path)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("recieve the secret\n")
    (root / "leak.txt").symlink_to(outside / "secret.txt")
    (root / "blob.bin").write_bytes(b"\x00recieve")
    (root / ".gitignore").write_text("ignored.txt\n")
    (root / "ignored.txt").write_text("recieve\n")
    (root / "huge.txt").write_text("recieve\n" + "x" * 2_000_000)
    text = toolbox_for(root).execute("search", {"pattern": "recieve"}).text
    assert text.splitlines() == ["README.md:8: Counts are kept in `~/.tally.json`, so you recieve the same totals in every terminal."]


# --- edit_file --------------------------------------------------------------------------


def test_edit_tools_never_write(tools, shapes):
    before = {p: p.read_bytes() for p in shapes.rglob("*") if p.is_file() and ".git" not in p.parts}
    head = tools.workspace.repo.head.commit.hexsha
    r1 = tools.execute("edit_file", {"path": "shapes.py", "search": "def calc_area", "replace": "def area"})
    r2 = tools.execute("write_file", {"path": "new.py", "content": "x = 1\n"})
    r3 = tools.execute("write_file", {"path": "shapes.py", "content": "gone\n"})
    assert all(r.proposal is not None and not r.is_error for r in (r1, r2, r3))
    after = {p: p.read_bytes() for p in shapes.rglob("*") if p.is_file() and ".git" not in p.parts}
    assert after == before
    assert tools.workspace.repo.head.commit.hexsha == head
    assert tools.proposals.pending() == [r1.proposal, r2.proposal, r3.proposal]


def test_edit_exact_match(tools):
    result = tools.execute("edit_file", {"path": "shapes.py", "search": "return width * height", "replace": "return width * height  # m²"})
    assert result.text == "Proposed: edit shapes.py: 1 hunk, +1 -1. Waiting for the user's review."
    assert result.proposal.note == ""
    assert b"return width * height  # m\xc2\xb2\n" in applied(tools, result)


def test_edit_fuzzy_trailing_whitespace_is_reported(tools, shapes):
    (shapes / "shapes.py").write_bytes((shapes / "shapes.py").read_bytes().replace(b"height):\n", b"height):   \n", 1))
    result = tools.execute(
        "edit_file",
        {"path": "shapes.py", "search": "def calc_area(width, height):\n    \"\"\"Area of a width x height rectangle.\"\"\"\n",
         "replace": "def area(width, height):\n    \"\"\"Area of a width x height rectangle.\"\"\"\n"},
    )
    assert "Note: matched ignoring trailing whitespace." in result.text
    assert applied(tools, result).startswith(b'def area(width, height):\n    """Area of a width')
    # The model's final tool result is the outcome text; the note must survive into it.
    resolved = tools.proposals.apply(
        tools.execute("edit_file", {"path": "shapes.py", "search": "  def area(width, height):", "replace": "def area(w, h):"}).proposal,
        Review.accept_all(1),
    )
    assert outcome_text(resolved) == "Edit applied: the user accepted it and shapes.py is saved. (matched ignoring indentation)"


def test_edit_fuzzy_indentation_reindents_the_replacement(tools):
    result = tools.execute(
        "edit_file",
        {"path": "report.py", "search": "lines = [describe(w, h) for w, h in rectangles]\nlines.append(f\"total area {total_area(rectangles)}\")",
         "replace": "lines = [describe(w, h) for w, h in rectangles]\nif not lines:\n    return \"nothing\"\nlines.append(f\"total area {total_area(rectangles)}\")"},
    )
    assert "matched ignoring indentation; the replacement was re-indented to fit" in result.text
    text = applied(tools, result).decode()
    assert '    lines = [describe(w, h) for w, h in rectangles]\n    if not lines:\n        return "nothing"\n    lines.append(' in text


def test_edit_search_copied_with_line_numbers(tools):
    result = tools.execute(
        "edit_file", {"path": "shapes.py", "search": "   3|     return width * height\n", "replace": "   3|     return height * width\n"}
    )
    assert "removing read_file line numbers" in result.text
    assert b"    return height * width\n" in applied(tools, result)


def test_edit_multiple_matches_lists_them(tools):
    result = tools.execute("edit_file", {"path": "shapes.py", "search": "calc_area(width, height)", "replace": "area(width, height)"})
    assert result.is_error and result.proposal is None
    assert "search matches 2 places in shapes.py, starting at:" in result.text
    assert "   1| def calc_area(width, height):" in result.text
    assert "   7|     return f" in result.text
    assert "Add neighbouring lines" in result.text


def test_edit_no_match_shows_the_closest_lines(tools):
    result = tools.execute(
        "edit_file",
        {"path": "report.py", "search": "def total_area(rects):\n    return sum(calc_area(w, h) for w, h in rects)", "replace": "x"},
    )
    assert result.is_error
    assert "search not found in report.py. The most similar lines are 4-5:" in result.text
    assert "   4| def total_area(rectangles):" in result.text
    assert "   5|     return sum(calc_area(w, h) for w, h in rectangles)" in result.text


def test_edit_no_match_with_nothing_similar(tools):
    result = tools.execute("edit_file", {"path": "report.py", "search": "zzzzqqqq", "replace": "x"})
    assert result.is_error and result.text.startswith("search not found in report.py. Copy the file's")


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({"path": "shapes.py", "search": "", "replace": "x"}, "search is empty"),
        ({"path": "shapes.py", "search": "calc_area(width, height):", "replace": "calc_area(width, height):"}, "nothing would change"),
        ({"path": "nope.py", "search": "a", "replace": "b"}, "No file named nope.py"),
        ({"path": "../x.py", "search": "a", "replace": "b"}, "outside the repository"),
    ],
)
def test_edit_errors(tools, arguments, expected):
    result = tools.execute("edit_file", arguments)
    assert result.is_error and expected in result.text


def test_edit_refuses_binary_and_huge_files(shapes):
    (shapes / "data.bin").write_bytes(b"abc\x00def")
    (shapes / "huge.txt").write_text("a\n" * 600)
    tools = toolbox_for(shapes, edit_max_bytes=1000)
    assert "binary" in tools.execute("edit_file", {"path": "data.bin", "search": "abc", "replace": "x"}).text
    assert "too large" in tools.execute("edit_file", {"path": "huge.txt", "search": "a", "replace": "x"}).text


def test_edit_keeps_crlf(tmp_path):
    root = fixture_repo("crlf_file", tmp_path)
    tools = toolbox_for(root)
    result = tools.execute("edit_file", {"path": "settings.ini", "search": "host = 127.0.0.1\nport = 8080\n", "replace": "host = 127.0.0.1\nport = 9090\ntimeout = 5\n"})
    assert result.proposal.note == ""
    assert applied(tools, result) == (
        b"[server]\r\nhost = 127.0.0.1\r\nport = 9090\r\ntimeout = 5\r\n\r\n[logging]\r\nlevel = info\r\nfile = server.log\r\n"
    )


def test_edit_keeps_a_missing_final_newline(tmp_path):
    root = fixture_repo("no_final_newline", tmp_path)
    tools = toolbox_for(root)
    result = tools.execute("edit_file", {"path": "version.py", "search": 'VERSION = "1.0.0"\n', "replace": 'VERSION = "1.1.0"\n'})
    assert applied(tools, result) == b'"""The package version."""\n\nVERSION = "1.1.0"'


def test_edit_mixed_line_endings_only_touch_the_edited_line(shapes):
    (shapes / "mixed.txt").write_bytes(b"one\r\ntwo\nthree\r\n")
    tools = toolbox_for(shapes)
    result = tools.execute("edit_file", {"path": "mixed.txt", "search": "two", "replace": "TWO"})
    assert applied(tools, result) == b"one\r\nTWO\nthree\r\n"


def test_edit_keeps_a_latin1_encoding(shapes):
    (shapes / "legacy.txt").write_bytes("café = 1\nnaïve = 2\n".encode("latin-1"))
    tools = toolbox_for(shapes)
    result = tools.execute("edit_file", {"path": "legacy.txt", "search": "naïve = 2", "replace": "naïve = 3"})
    assert applied(tools, result) == "café = 1\nnaïve = 3\n".encode("latin-1")
    bad = tools.execute("edit_file", {"path": "legacy.txt", "search": "café", "replace": "café ☕"})
    assert bad.is_error and "latin-1" in bad.text


def test_edit_deletes_lines_fuzzily(tools):
    result = tools.execute("edit_file", {"path": "shapes.py", "search": '  """Area of a width x height rectangle."""', "replace": ""})
    assert b'"""Area' not in applied(tools, result)


# --- write_file -------------------------------------------------------------------------


def test_write_file_creates_with_a_final_newline(tools, shapes):
    result = tools.execute("write_file", {"path": "pkg/new/mod.py", "content": "x = 1"})
    assert result.text == "Proposed: create pkg/new/mod.py: 1 hunk, +1 -0. Waiting for the user's review."
    assert result.proposal.old is None
    assert applied(tools, result) == b"x = 1\n"


def test_write_file_replacing_keeps_crlf_and_final_newline_state(tmp_path):
    root = fixture_repo("crlf_file", tmp_path)
    (root / "bare.txt").write_bytes(b"a\r\nb")
    tools = toolbox_for(root)
    assert applied(tools, tools.execute("write_file", {"path": "settings.ini", "content": "[server]\nport = 1"})) == b"[server]\r\nport = 1\r\n"
    assert applied(tools, tools.execute("write_file", {"path": "bare.txt", "content": "a\nc\n"})) == b"a\r\nc"


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({"path": "empty.py", "content": ""}, "content is empty"),
        ({"path": "shapes.py/inner.py", "content": "x"}, "shapes.py is a file, not a folder"),
        ({"path": "report.py", "content": (Path(__file__).parent.parent / "fixtures/rename_function/report.py").read_text()}, "nothing would change"),
        ({"path": ".", "content": "x"}, "is a folder"),
        ({"path": "/tmp/evil.py", "content": "x"}, "absolute"),
        ({"path": ".git/hooks/pre-commit", "content": "x"}, ".git/"),
    ],
)
def test_write_file_errors(tools, arguments, expected):
    result = tools.execute("write_file", arguments)
    assert result.is_error and expected in result.text


def test_write_file_empty_content_empties_an_existing_file(tools):
    assert applied(tools, tools.execute("write_file", {"path": "report.py", "content": ""})) == b""


# --- show_diff --------------------------------------------------------------------------


def test_show_diff_clean_then_changed_then_pending(tools, shapes):
    assert tools.execute("show_diff", {}).text == "No changes since the last commit."
    (shapes / "report.py").write_text("changed\n")
    tools.execute("write_file", {"path": "added.txt", "content": "hi\n"})
    text = tools.execute("show_diff", {}).text
    assert text.startswith("Changes since the last commit:\ndiff --git a/report.py b/report.py")
    assert "+changed" in text
    assert "Edits waiting for the user's review:\n--- /dev/null\n+++ b/added.txt\n@@ -0,0 +1 @@\n+hi\n" in text


def test_show_diff_is_capped(shapes):
    (shapes / "report.py").write_text("y\n" * 5000)
    text = toolbox_for(shapes, diff_max_chars=500).execute("show_diff", {}).text
    assert len(text) < 600 and text.endswith("[Diff cut at 500 characters; read_file shows any file in full.]")


# --- the sandbox holds through every tool -----------------------------------------------


def _tree_digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
        for p in sorted(folder.rglob("*"))
        if not p.is_symlink()
    }


def test_nothing_is_ever_written_outside_the_repo(tmp_path):
    root = fixture_repo("readme_typo", tmp_path)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "victim.txt").write_text("recieve\n")
    (root / "link").symlink_to(outside)
    (root / "victim_link.txt").symlink_to(outside / "victim.txt")
    snapshot = _tree_digest(outside)
    git_snapshot = _tree_digest(root / ".git")
    tools = toolbox_for(root)
    escapes = ["../outside/victim.txt", str(outside / "victim.txt"), "link/victim.txt", "victim_link.txt",
               "link/new.txt", "../new.txt", ".git/config", ".git/new", "a/../../outside/x", "~/x"]
    for path in escapes:
        for name, args in [
            ("write_file", {"path": path, "content": "pwned\n"}),
            ("edit_file", {"path": path, "search": "recieve", "replace": "pwned"}),
            ("read_file", {"path": path}),
            ("list_files", {"path": path}),
            ("search", {"pattern": "recieve", "path": path}),
        ]:
            result = tools.execute(name, args)
            assert result.is_error, (name, path, result.text)
    # Whatever is pending gets accepted; none of it may land outside.
    for proposal in tools.proposals.pending():
        tools.proposals.apply(proposal, Review.accept_all(len(proposal.hunks)))
    assert _tree_digest(outside) == snapshot
    assert _tree_digest(root / ".git") == git_snapshot
    assert not (tmp_path / "new.txt").exists()
    assert sorted(os.listdir(tmp_path)) == ["outside", "readme_typo"]
