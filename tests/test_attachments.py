"""`@path` mentions: attaching the files a request names (expand_mentions), completing the
path being typed (complete_paths, mention_at), and the dropdown in the real app's input."""

from __future__ import annotations

import pytest
from fixture_repos import init_repo
from scripted_model import ScriptedModel
from ui_support import ScriptedFactory, factory_for, make_app, press_text, type_text, wait_for, wait_idle, wait_model

from mlxagent.core.attachments import (PER_FILE_CHARS, TOTAL_CHARS, Attached, complete_paths, expand_mentions,
                                       find_mentions, mention_at)
from mlxagent.core.workspace import Workspace

CALC = "def add(a, b):\n    return a + b\n"


def make_repo(tmp_path):
    root = tmp_path / "repo"
    (root / "src" / "app").mkdir(parents=True)
    (root / "docs").mkdir()
    (root / "calc.py").write_text(CALC)
    (root / "src" / "app" / "main.py").write_text("x = 1\n")
    (root / "src" / "util.py").write_text("u = 1\n")
    (root / "docs" / "util.py").write_text("d = 1\n")
    (root / "docs" / "with space.txt").write_text("spaced\n")
    (root / "logo.png").write_bytes(b"\x89PNG\x00\x00binary")
    (root / ".gitignore").write_text("build/\n")
    (root / "build").mkdir()
    (root / "build" / "out.txt").write_text("built\n")
    (root / "README.md").write_text("# Readme\n")
    init_repo(root)
    return root


@pytest.fixture
def ws(tmp_path) -> Workspace:
    return Workspace.open(make_repo(tmp_path))


# -- expand_mentions ----------------------------------------------------------------------


def test_no_mention_leaves_the_text_alone(ws):
    for text in ("fix the bug", "mail a@b.com about it", "x@calc.py is not a mention", "@", "@ calc.py"):
        assert expand_mentions(text, ws) == Attached(text)


def test_a_mention_attaches_the_file_after_the_text_with_numbered_lines(ws):
    got = expand_mentions("fix @calc.py.", ws)
    assert got.paths == ("calc.py",) and got.notes == ()
    assert got.text == ("fix @calc.py.\n\n[Attached file: calc.py (2 lines)]\n```\n"
                        "   1| def add(a, b):\n   2|     return a + b\n```")


@pytest.mark.parametrize("text", ["see @calc.py, please", "(@calc.py)", "@calc.py!", "[@calc.py]", "@./calc.py?"])
def test_trailing_punctuation_is_not_part_of_the_path(ws, text):
    assert expand_mentions(text, ws).paths == ("calc.py",)


def test_punctuation_that_is_part_of_a_file_name_is_kept(ws):
    (ws.root / "notes.").write_text("odd name\n")
    assert expand_mentions("read @notes.", ws).paths == ("notes.",)


def test_several_files_in_order_each_once(ws):
    got = expand_mentions("compare @src/util.py with @calc.py and @src/util.py again, then @CALC.py", ws)
    assert got.paths == ("src/util.py", "calc.py")
    assert got.text.index("[Attached file: src/util.py") < got.text.index("[Attached file: calc.py")
    assert got.text.startswith("compare @src/util.py with @calc.py and @src/util.py again, then @CALC.py\n\n")


def test_quoted_path_with_spaces(ws):
    got = expand_mentions('look at @"docs/with space.txt".', ws)
    assert got.paths == ("docs/with space.txt",)
    assert "   1| spaced" in got.text


def test_an_absolute_path_inside_the_repo_is_made_relative(ws):
    assert expand_mentions(f"fix @{ws.root / 'calc.py'}", ws).paths == ("calc.py",)


def test_a_unique_file_name_is_found_anywhere_with_a_note(ws):
    got = expand_mentions("fix @main.py", ws)
    assert got.paths == ("src/app/main.py",)
    assert got.notes == ("@main.py: no file at that path; attached src/app/main.py, the only file by that name",)
    assert expand_mentions("fix @app/main.py", ws).paths == ("src/app/main.py",)


def test_an_ambiguous_file_name_is_not_attached(ws):
    got = expand_mentions("fix @util.py", ws)
    assert got.paths == () and got.text == "fix @util.py"
    assert got.notes == ("@util.py: more than one file by that name (docs/util.py, src/util.py), none attached",)


def test_what_cannot_be_attached_gets_a_note_each(ws):
    got = expand_mentions("@docs @logo.png @build/out.txt @nope.py @../secret.txt @/etc/passwd @~/x.txt", ws)
    assert got.paths == () and got.text.startswith("@docs @logo.png")
    assert got.notes == (
        "@docs: a folder, not a file (name a file inside it), not attached",
        "logo.png: a binary file, not attached",
        "@build/out.txt: ignored by git, not attached",
        "@nope.py: no such file in the repository",
        "@../secret.txt: outside the repository, not attached",
        "@/etc/passwd: outside the repository, not attached",
        "@~/x.txt: outside the repository, not attached",
    )


def test_words_after_an_at_sign_that_do_not_look_like_paths_are_left_alone(ws):
    got = expand_mentions("add @property to it and ask @alice", ws)
    assert got == Attached("add @property to it and ask @alice")


def test_a_symlink_leading_out_is_refused(ws, tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("secret\n")
    (ws.root / "link.txt").symlink_to(outside)
    got = expand_mentions("read @link.txt", ws)
    assert got.paths == () and "secret" not in got.text
    assert got.notes == ("link.txt: not attached: it leads outside the repository",)


def test_an_untracked_file_is_attached(ws):
    (ws.root / "new.py").write_text("n = 1\n")
    assert expand_mentions("see @new.py", ws).paths == ("new.py",)


def test_an_empty_file(ws):
    (ws.root / "empty.py").write_text("")
    got = expand_mentions("see @empty.py", ws)
    assert got.paths == ("empty.py",) and got.text.endswith("[Attached file: empty.py (empty)]")


def test_a_large_file_is_cut_at_a_line_with_a_note_and_a_marker(ws):
    (ws.root / "big.txt").write_text("".join(f"line {i} " + "x" * 50 + "\n" for i in range(1, 2001)))
    got = expand_mentions("see @big.txt", ws)
    assert got.paths == ("big.txt",)
    body = got.text.split("```\n", 1)[1].split("\n```", 1)[0]
    shown = body.splitlines()
    assert len(body) <= PER_FILE_CHARS and shown[-1].startswith(f"{len(shown):>4}| line {len(shown)} ")
    assert f"[Attached file: big.txt (lines 1-{len(shown)} of 2000, cut to fit)]" in got.text
    assert got.text.endswith(f"[Only lines 1-{len(shown)} of 2000 of big.txt are attached; "
                             f"read_file with start_line={len(shown) + 1} reads on.]")
    assert got.notes == (f"big.txt: too large; attached lines 1-{len(shown)} of 2000",)


def test_the_total_is_capped_across_files(ws):
    for name in ("a.txt", "b.txt", "c.txt"):
        (ws.root / name).write_text("".join(f"{name} {i} " + "y" * 60 + "\n" for i in range(400)))
    got = expand_mentions("@a.txt @b.txt @c.txt @calc.py", ws)
    assert got.paths == ("a.txt", "b.txt")
    assert len(got.text) < TOTAL_CHARS + 1000
    assert got.notes[0].startswith("a.txt: too large") and got.notes[1].startswith("b.txt: too large")
    assert got.notes[2:] == ("c.txt: not attached: the attached files already fill the 24,000-character limit",
                             "calc.py: not attached: the attached files already fill the 24,000-character limit")


def test_find_mentions_positions_and_candidates():
    found = find_mentions('a @x.py, (@"b c.txt") e@mail.com\n@y/z.')
    assert [(m.start, m.token, m.candidates) for m in found] == [
        (2, "x.py,", ("x.py,", "x.py")),
        (10, "b c.txt", ("b c.txt",)),
        (33, "y/z.", ("y/z.", "y/z")),
    ]


# -- complete_paths, mention_at ----------------------------------------------------------------

FILES = ["README.md", "calc.py", "docs/calc_notes.md", "lib/calculator.py", "src/app/main.py", "src/cal.py",
         "tests/test_calc.py", "tools/scale.py"]


def test_complete_paths_ranks_prefix_then_name_then_substring_then_subsequence():
    assert complete_paths("cal", FILES) == [
        "calc.py",  # a prefix of the path
        "src/cal.py", "lib/calculator.py", "docs/calc_notes.md",  # a prefix of the name, shorter first
        "tools/scale.py", "tests/test_calc.py",  # a substring
    ]
    assert complete_paths("smp", FILES) == ["src/app/main.py"]  # letters in order
    assert complete_paths("CALC.P", FILES) == ["calc.py", "tests/test_calc.py", "lib/calculator.py"]  # any case
    assert complete_paths("src/", FILES) == ["src/cal.py", "src/app/main.py"]
    assert complete_paths("zzz", FILES) == []


def test_complete_paths_subsequence_prefers_tighter_matches():
    assert complete_paths("tc", ["t/x/x/c.py", "tc_long_name.py", "atbc.py"]) == ["tc_long_name.py", "atbc.py",
                                                                                   "t/x/x/c.py"]


def test_complete_paths_empty_query_lists_shallow_files_first_and_limit():
    assert complete_paths("", FILES, limit=3) == ["calc.py", "README.md", "docs/calc_notes.md"]
    assert len(complete_paths("", FILES)) == 8 and complete_paths("c", FILES, limit=0) == []


@pytest.mark.parametrize("text, cursor, expected", [
    ("fix @cal", 8, (4, "cal")),
    ("@", 1, (0, "")),
    ("fix @cal more", 8, (4, "cal")),
    ("fix @cal more", 6, (4, "c")),
    ("fix @calc.py ", 13, None),
    ("fix (@src/ap", 12, (5, "src/ap")),
    ('see @"docs/with sp', 18, (4, "docs/with sp")),
    ('see @"docs/with space.txt" ', 26, None),
    ("mail a@b", 8, None),
    ("no mention", 10, None),
    ("one\n@two", 8, (4, "two")),
    ("@one\ntwo", 8, None),
    ("fix @cal", 99, None),
])
def test_mention_at(text, cursor, expected):
    assert mention_at(text, cursor) == expected


# -- the dropdown in the app -----------------------------------------------------------------------


def app_repo(tmp_path):
    root = tmp_path / "app_repo"
    (root / "src").mkdir(parents=True)
    (root / "calc.py").write_text(CALC)
    (root / "src" / "report.py").write_text("r = 1\n")
    (root / "notes.md").write_text("notes\n")
    init_repo(root)
    return root


def the_app(tmp_path, script=("Done.",)):
    return make_app(app_repo(tmp_path), factory_for(script))


async def dropdown_shows(pilot, paths=None):
    completion = pilot.app.chat.prompt.completion
    await wait_for(pilot, lambda: completion.is_open and (paths is None or completion.paths == paths),
                   what=f"the dropdown to show {paths}")
    await pilot.pause()
    return completion


async def test_typing_a_mention_opens_the_dropdown_and_tab_inserts_the_path(tmp_path):
    app = the_app(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_model(pilot)
        prompt = app.chat.prompt
        prompt.focus()
        await press_text(pilot, "fix @cal")
        completion = await dropdown_shows(pilot, ["calc.py"])
        assert completion.highlighted_path == "calc.py"
        # it floats just above the input, over the transcript
        assert completion.region.bottom == prompt.region.y and completion.region.height == 3
        await pilot.press("tab")
        assert prompt.text == "fix @calc.py " and prompt.cursor_location == (0, 13)
        assert not completion.is_open and prompt.has_focus
        assert not app.chat.busy  # tab did not send


async def test_up_down_move_the_highlight_and_enter_inserts_instead_of_sending(tmp_path):
    app = the_app(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_model(pilot)
        await type_text(pilot, "compare @")  # an empty query: every file, shallowest first
        completion = await dropdown_shows(pilot, ["calc.py", "notes.md", "src/report.py"])
        await pilot.press("down", "down")
        assert completion.highlighted_path == "src/report.py"
        await pilot.press("up")
        assert completion.highlighted_path == "notes.md"
        await pilot.press("enter")
        prompt = app.chat.prompt
        assert prompt.text == "compare @notes.md " and not completion.is_open
        assert not app.chat.busy and not app.agent.messages[1:]
        await pilot.press("enter")  # closed: Enter sends
        await wait_idle(pilot)
        assert app.chat.last_finish.reason == "done"
        assert app.agent.messages[1]["content"].startswith("compare @notes.md")


async def test_escape_closes_the_dropdown_without_interrupting_the_model(tmp_path):
    gate_text = "word " * 3000
    factory = ScriptedFactory({"scripted-a": lambda: ScriptedModel([gate_text, "ok"], piece=5, delay=0.01)})
    app = make_app(app_repo(tmp_path), factory)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_model(pilot)
        await type_text(pilot, "talk a lot")
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(app.chat.transcript.streamed_text) > 20, what="streaming")
        await type_text(pilot, "next fix @rep")
        completion = await dropdown_shows(pilot, ["src/report.py"])
        await pilot.press("escape")
        assert not completion.is_open
        assert app.chat.busy and not app.chat._cancel.is_set()  # the model goes on
        await press_text(pilot, "o")  # the same mention: it stays closed
        await pilot.pause()
        assert not completion.is_open and app.chat.prompt.text == "next fix @repo"
        await pilot.press("escape")  # closed now: Esc interrupts, as before
        await wait_idle(pilot)
        assert app.chat.last_finish.reason == "cancelled"


async def test_up_without_the_dropdown_still_walks_the_history_and_cursor_moves_close_it(tmp_path):
    app = the_app(tmp_path, script=("One.", "Two."))
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_model(pilot)
        prompt = app.chat.prompt
        await type_text(pilot, "see @calc.py")
        await dropdown_shows(pilot, ["calc.py"])
        await pilot.press("space")  # the mention is over
        assert not prompt.completion.is_open
        await pilot.press("enter")
        await wait_idle(pilot)
        await pilot.press("up")  # a history entry ending in a mention opens no dropdown
        assert prompt.text == "see @calc.py" and not prompt.completion.is_open
        await pilot.press("down")
        assert prompt.text == ""
        await type_text(pilot, "a @ca")
        await dropdown_shows(pilot, ["calc.py"])
        await pilot.press("left")  # still in the mention: the list follows the query ("c")
        await dropdown_shows(pilot, ["calc.py", "src/report.py"])
        await pilot.press("left", "left")  # before the `@`: closed
        await wait_for(pilot, lambda: not prompt.completion.is_open, what="the dropdown to close")
        await pilot.press("right", "right")  # moving back in does not reopen it; typing does
        await pilot.pause()
        assert not prompt.completion.is_open
        await press_text(pilot, "t")  # "@ct|a"
        await dropdown_shows(pilot, ["src/report.py"])
        await pilot.press("tab")  # the whole word is replaced
        assert prompt.text == "a @src/report.py " and prompt.cursor_location == (0, 17)


async def test_no_match_shows_nothing_and_enter_sends(tmp_path):
    app = the_app(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_model(pilot)
        prompt = app.chat.prompt
        await wait_for(pilot, lambda: bool(prompt.files), what="the file list")
        await type_text(pilot, "fix @zzz")
        await pilot.pause()
        assert not prompt.completion.is_open
        await pilot.press("enter")
        await wait_idle(pilot)
        assert app.chat.last_finish.reason == "done"
