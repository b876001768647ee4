"""A question is answered, not turned into an edit (issue 25's "every request").

Found by hand: "what is the capital of France?" in the TUI made the default model call tools
until the read-loop guard forced edits of the repository's files and then stopped the turn. Now
a request that only asks (core/intents/question.py) runs no tests first and no candidate search,
the model may answer without a tool, the guard nudges it to answer (never forces an edit), the
answer step offers no tool, files the question names come attached, and prose that repeats a
sentence a third time is cut there (core/textstream.py `RepeatWatch`).

The agent with the scripted double and the real default model through `mlxagent run`.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from mlxagent.builder import build_agent
from mlxagent.config import Settings
from mlxagent.core import events as ev, modes
from mlxagent.core.agent import NO_ANSWER
from mlxagent.core.guard import GuardConfig
from mlxagent.core.intents.question import answer_only, named_files
from mlxagent.core.textstream import EitherStop, RepeatWatch
from mlxagent.core.workspace import Workspace

from scripted_model import ScriptedModel, hermes_call
from test_modes import Reader
from test_request_beside_failing_tests import CALC, CALC_TEST, SETTINGS, make_repo


@pytest.mark.parametrize("text, asks", [
    ("what is the capital of France?", True),
    ("what does add in calc.py do?", True),  # "add" names a function here
    ("explain what settings.ini configures", True),
    ("is the port set in settings.ini?", True),
    ("why does test_add fail?", True),
    ("how does the retry policy work", True),
    ("can you fix the bug?", False),
    ("how do I rename X to Y?", False),
    ("Can you add a test?", False),
    ("what should the port be? set it to 9090", False),
    ("fix the failing test", False),
    ("set the port to 9090", False),
    ("add a function median", False),
    ("hello", False),  # not shaped like a question: a task, as before
    ("what is wrong here?\nTraceback (most recent call last):", False),  # a pasted block
    ("what is in the file settings.ini?", True),
    ("explain what store.py does in a comment at the top of the file", False),  # an answer to write down
    ("describe the API in a docstring", False),
    ('the bot replies "You have no reminders." - change that reply to "Nothing scheduled yet."', False),
    ("explain how the matchmaker decides who gets paired with who", True),
    # bug reports shaped like questions are tasks (found on the second blind bug set's run)
    ("When Bank.transfer is given an account id that does not exist, it raises KeyError but the money has "
     "already left the source account", False),
    ("summarize(parse_lines(lines)) gets count and mean right but 'top' is always an empty list", False),
    ("when the list is empty, average fails instead of returning 0", False),
    ("when does the cache expire", True),
    ("summarize what the parser does", True),
])
def test_which_requests_only_ask(text, asks):
    assert answer_only(text) is asks


def test_named_files_by_path_or_a_name_only_one_file_has():
    files = ["calc.py", "src/a.py", "b.txt", "x/util.py", "y/util.py"]
    assert named_files("what does add in calc.py do? and src/a.py, ./b.txt.", files) == ["calc.py", "src/a.py", "b.txt"]
    assert named_files("what is in util.py?", files) == []  # two files have that name
    assert named_files("what is in x/util.py?", files) == ["x/util.py"]


def test_repeat_watch_stops_at_the_third_time_and_keeps_the_text_before_the_first_repeat():
    first = "The add function adds two numbers."
    again = "It is called when you want to add two numbers together."
    text = f"{first}\n\n{again}\n\n{again}\n\n{again}\n\nThe"
    watch = RepeatWatch()
    stops = [i for i in range(0, len(text), 5) if watch.feed(text[i:i + 5])]
    assert stops and text[:stops[0] + 5].count(again) == 3
    assert watch.kept(text) == f"{first}\n\n{again}"
    quiet = RepeatWatch()
    assert not quiet.feed("Short. Short. Short. Short. " + first + " " + again)  # under 20 characters: not counted
    assert quiet.kept("unchanged") == "unchanged"
    cancel = threading.Event()
    either = EitherStop(cancel, watch)
    assert either.is_set() and either()
    assert not EitherStop(cancel, quiet).is_set()


def test_a_question_is_answered_without_tests_search_or_a_forced_edit(tmp_path):
    """Failing tests and a reader that never stops: no test run, no search, no forced edit; the
    guard's nudge says to answer, the answer step offers no tool, and a reply that is still only
    a tool call ends the turn with a plain line."""
    repo = make_repo(tmp_path, {"calc.py": CALC, "test_calc.py": CALC_TEST, "settings.ini": SETTINGS})
    reader = Reader(["calc.py", "test_calc.py", "settings.ini"])
    model = ScriptedModel([reader], repeat_last=True)
    model.weak_tool_use = True
    agent = build_agent(Workspace.open(repo), Settings(), model, auto_approve=True, allow_commands=True,
                        max_steps=10)
    agent.config.guard = GuardConfig(allowance=1, nudge_at=2, force_at=3)
    assert agent.tests.enabled()  # the tests would run before a task
    events = list(agent.run_turn("why does test_add fail?"))
    assert not any(isinstance(e, (ev.CommandStarted, ev.RepairProgress, ev.ProposalReady)) for e in events)
    assert reader.forced_edits == []
    assert "force" not in {e.level for e in events if isinstance(e, ev.GuardState)}
    tool_texts = [m["content"] for m in agent.messages if m["role"] == "tool"]
    assert any(modes.ANSWER_NUDGE in t for t in tool_texts)
    assert not any("Propose an edit" in t for t in tool_texts)
    asked = [c["constraint"] for c in model.calls]
    assert asked[0] is not None and not asked[0].forced  # a tool may be called, or not
    assert asked[-1] is None  # the answer step: no tool offered
    end = events[-1]
    assert isinstance(end, ev.TurnFinished) and end.reason == "done" and end.message == NO_ANSWER
    assert (repo / "calc.py").read_text() == CALC


def test_a_question_gets_the_files_it_names_attached_and_a_looping_answer_cut(tmp_path):
    repo = make_repo(tmp_path, {"calc.py": CALC, "settings.ini": SETTINGS})
    again = "The add function is called when you want to add two numbers together."
    model = ScriptedModel([f"add subtracts b from a.\n\n{again}\n\n{again}\n\n{again}\n\n{again}"])
    model.weak_tool_use = True
    agent = build_agent(Workspace.open(repo), Settings(), model, tests=False)
    events = list(agent.run_turn("what does add in calc.py do?"))
    request = model.calls[0]["messages"][-1]["content"]
    assert "return a - b" in request  # calc.py's text went with the question
    assert agent.messages[-1] == {"role": "assistant", "content": f"add subtracts b from a.\n\n{again}"}
    shown = "".join(e.text for e in events if isinstance(e, ev.TextDelta))
    assert shown.count(again) == 3  # cut at the third time, not streamed to the end
    assert events[-1].reason == "done"


@pytest.mark.real_model
def test_the_real_model_answers_a_question_and_changes_nothing(tmp_path, real_model_dir):
    repo = make_repo(tmp_path, {"calc.py": CALC, "test_calc.py": CALC_TEST, "settings.ini": SETTINGS})
    out = subprocess.run([sys.executable, "-m", "mlxagent", "run", "what is the capital of France?", "--repo",
                          str(repo), "--yes", "--allow-commands", "--json", "--max-steps", "6"],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    events = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    answer = "".join(e["text"] for e in events if e["event"] == "TextDelta")
    assert "Paris" in answer
    kinds = {e["event"] for e in events}
    assert not kinds & {"CommandStarted", "RepairProgress", "ProposalReady", "ToolCallStarted"}
    assert subprocess.run(["git", "status", "--porcelain"], cwd=repo, capture_output=True, text=True).stdout == ""
    assert next(e for e in events if e["event"] == "TurnFinished")["reason"] == "done"
