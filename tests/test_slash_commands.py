"""Custom slash commands (core/slash.py): templates from the repository's .mlxagent/commands/ and
the user's config dir, their expansion, the clash rules, bad files; the TUI's /help, palette and
`/NAME args`; and `mlxagent run "/NAME args"`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from argparse import Namespace
from pathlib import Path

import pytest
from fixture_repos import init_repo
from scripted_model import ScriptedModel
from ui_support import factory_for, make_app, notices, send, wait_for, wait_idle, wait_model

from mlxagent import paths
from mlxagent.core.slash import expand, load_commands, parse_invocation, split_arguments


def run_cli(*args: str, home, timeout: int = 120) -> subprocess.CompletedProcess:
    env = dict(os.environ, MLXAGENT_HOME=str(home))
    return subprocess.run([sys.executable, "-m", "mlxagent", *args], capture_output=True, text=True, env=env,
                          timeout=timeout)


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def user_dir() -> Path:
    return paths.config_dir() / "commands"


def make_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    write(repo / "README.md", "# demo\n")
    write(repo / ".mlxagent" / "commands" / "fix-typo.md",
          "---\ndescription: fix a typo in a file\n---\nFix the typo $2 in $1. Change nothing else.\n")
    init_repo(repo)
    return repo


# -- expansion -----------------------------------------------------------------------------------


@pytest.mark.parametrize("template, arguments, expected", [
    ("Explain $ARGUMENTS.", "the cache layer", "Explain the cache layer."),
    ("Rename $1 to $2 in $3", "old new src/app.py", "Rename old to new in src/app.py"),
    ("Say $1 then $2", '"hello there" \'and you\'', "Say hello there then and you"),
    ("Fix $1 ($2) [$3]", "only", "Fix only () []"),  # missing arguments are empty
    ("All: $ARGUMENTS; first: $1", '"a b" c', 'All: "a b" c; first: a b'),
    ("Review the staged changes.", "focus on tests", "Review the staged changes.\n\nfocus on tests"),
    ("Review the staged changes.\n", "", "Review the staged changes."),
    ("Cost is $5 and $0 and $$1", "x", "Cost is  and $0 and $x"),
])
def test_expansion(template, arguments, expected):
    assert expand(template, arguments) == expected


def test_unbalanced_quotes_fall_back_to_plain_words():
    assert split_arguments('it\'s "here') == ["it's", '"here']
    assert expand("$1|$2", 'it\'s "here') == "it's|\"here"


def test_what_counts_as_an_invocation():
    assert parse_invocation("/fix-typo README.md recieve") == ("fix-typo", "README.md recieve")
    assert parse_invocation("  /Git:Commit  tidy up ") == ("git:commit", "tidy up")
    assert parse_invocation("/review\nand the tests too") == ("review", "and the tests too")
    assert parse_invocation("/tmp/x fix this") is None  # a path, not a command
    assert parse_invocation("fix /tmp/x") is None
    assert parse_invocation("/ fix") is None
    assert parse_invocation("/über x") is None


# -- loading -------------------------------------------------------------------------------------


def test_commands_from_both_folders_with_descriptions_and_namespaces(tmp_path):
    repo = make_repo(tmp_path)
    write(repo / ".mlxagent" / "commands" / "git" / "commit.md", "\n\n# Write a commit message\nfor $ARGUMENTS\n")
    write(user_dir() / "explain.md", "Explain $ARGUMENTS simply.\n")
    found = load_commands(repo)
    assert found.notes == []
    by_name = {c.name: (c.origin, c.description) for c in found.listed()}
    assert by_name == {"explain": ("user", "Explain $ARGUMENTS simply."),
                       "fix-typo": ("repository", "fix a typo in a file"),
                       "git:commit": ("repository", "Write a commit message")}
    assert found.get("fix-typo").expand("README.md recieve") == "Fix the typo recieve in README.md. Change nothing else."
    assert found.get("GIT:commit").expand("the parser") == "# Write a commit message\nfor the parser"


def test_clashes_the_users_command_wins_and_built_ins_are_skipped(tmp_path):
    repo = make_repo(tmp_path)
    write(user_dir() / "fix-typo.md", "My own typo fixer for $ARGUMENTS\n")
    write(repo / ".mlxagent" / "commands" / "help.md", "Not the help.\n")
    found = load_commands(repo, reserved={"help", "test"})
    assert found.get("fix-typo").origin == "user"
    assert found.get("fix-typo").expand("x") == "My own typo fixer for x"
    assert found.get("help") is None
    assert found.notes == [
        "repository command fix-typo.md: /fix-typo is already one of your own commands; skipped",
        "repository command help.md: /help is a built-in command; skipped",
    ]


def test_bad_files_cost_one_line_each_and_never_raise(tmp_path):
    repo = make_repo(tmp_path)
    folder = repo / ".mlxagent" / "commands"
    write(folder / "latin.md", b"caf\xe9 $1\n")
    write(folder / "empty.md", "---\ndescription: nothing here\n---\n\n")
    write(folder / "two words.md", "x\n")
    write(folder / "huge.md", "x" * 70_000)
    write(folder / "a" / "b" / "c" / "d" / "deep.md", "x\n")
    write(folder / "notes.txt", "not a command\n")
    write(folder / ".hidden.md", "x\n")
    secret = write(tmp_path / "secret.md", "a file outside the repository\n")
    os.symlink(secret, folder / "leak.md")
    write(folder / "open.md", "---\nno closing line\nUse $1\n")
    found = load_commands(repo)
    assert sorted(found.commands) == ["fix-typo", "open"]
    assert found.get("open").expand("x") == "---\nno closing line\nUse x"
    assert len(found.notes) == 6 and all("\n" not in n for n in found.notes)
    text = " | ".join(found.notes)
    for expected in ("latin.md: not UTF-8 text", "empty.md: the template is empty",
                     "'two words' is not a command name", "huge.md: 70000 bytes", "nested too deep",
                     "leak.md: a link to a file outside"):
        assert expected in text
    # a user's own link is theirs to make
    os.symlink(secret, write(user_dir() / "x.md", "x").parent / "mine.md")
    assert load_commands(repo).get("mine").origin == "user"


def test_a_missing_or_unreadable_folder_is_no_commands(tmp_path):
    assert load_commands(tmp_path / "nowhere").commands == {}
    assert load_commands(None, user=tmp_path / "none").commands == {}


# -- the TUI -------------------------------------------------------------------------------------


async def test_tui_lists_custom_commands_and_sends_the_expansion(tmp_path):
    repo = make_repo(tmp_path)
    write(repo / ".mlxagent" / "commands" / "help.md", "shadowing the built-in\n")
    factory = factory_for(["On it."])
    app = make_app(repo, factory)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_model(pilot)
        await send(pilot, "/help")
        await wait_for(pilot, lambda: bool(app.chat.transcript.query(".help")), what="the help")
        shown = app.chat.transcript.query_one(".help").source
        assert "`/fix-typo [ARGS]` fix a typo in a file (repository)" in shown
        assert "/help is a built-in command; skipped" in shown
        assert any(c.title == "/fix-typo" and c.help == "fix a typo in a file" for c in app.palette_commands())
        await send(pilot, '/fix-typo README.md "recieve"')
        await wait_idle(pilot)
        model = app.agent.model
        asked = [m for m in model.calls[-1]["messages"] if m["role"] == "user"]
        assert asked[-1]["content"].startswith("Fix the typo recieve in README.md. Change nothing else.")
        await send(pilot, "/no-such-thing now")
        assert "Unknown command /no-such-thing; /help lists them." in notices(app)
        assert len(model.calls) == 1


# -- mlxagent run --------------------------------------------------------------------------------


def test_run_expands_a_custom_command(tmp_path, monkeypatch, capsys):
    from mlxagent import headless
    from mlxagent.builder import build_agent
    from mlxagent.config import Settings
    from mlxagent.core.workspace import Workspace

    repo = make_repo(tmp_path)
    model = ScriptedModel(["Fixed."])
    agent = build_agent(Workspace.open(repo), Settings(), model, auto_approve=True, tests=False, auto_test=False)
    monkeypatch.setattr(headless, "build_session", lambda *a, **k: (agent, None, []))
    args = Namespace(task="/fix-typo README.md recieve", repo=str(repo), model=None, no_guard=False, yes=True,
                     reject=False, max_steps=None, max_tokens=None, test_cmd=None, allow_commands=False,
                     no_auto_test=True, no_speculative=True, json=True, continue_session=False, resume=None)
    assert headless.run_task(args) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert events[0]["event"] == "TurnStarted"
    assert events[0]["user_text"] == "Fix the typo recieve in README.md. Change nothing else."
    assert model.calls[0]["messages"][-1]["content"].startswith("Fix the typo recieve in README.md.")
    # a task that starts with a path is not a command
    assert headless.expand_slash_task("/tmp/x fix this", str(repo)) == "/tmp/x fix this"


def test_run_with_an_unknown_command_is_one_line_and_exit_2(tmp_path, isolated_home):
    repo = make_repo(tmp_path)
    done = run_cli("run", "/nope do it", "--repo", str(repo), "--model", "no-such-model", home=isolated_home)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == "mlxagent: unknown command /nope (custom commands: /fix-typo)"
