"""Every edit passes the syntax gate, and nothing unvalidated is written unattended (issue 25).

Real git repos in tmp_path, the real agent loop and tools; the model is the scripted test
double (the real SmolLM2 ranks request candidates in test_requested_edits.py).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from mlxagent.core import events as ev
from mlxagent.core.agent import Agent, AgentConfig
from mlxagent.core.proposals import ProposalManager
from mlxagent.core.testing.consent import CommandPermissions
from mlxagent.core.testing.detect import resolve_test_command
from mlxagent.core.testing.gate import CommandGate
from mlxagent.core.testing.loop import RetryPolicy
from mlxagent.core.tools import Toolbox
from mlxagent.core.workspace import Workspace

from scripted_model import ScriptedModel, hermes_call

CONFIG = '{\n  "name": "demo",\n  "debug": true,\n  "port": 8080\n}\n'


class WeakModel(ScriptedModel):
    weak_tool_use = True


def repo_with(tmp_path: Path, files: dict[str, str]) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    for name, text in files.items():
        (repo / name).write_bytes(text.encode("utf-8"))
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    subprocess.run(["git", "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "init"], cwd=repo, check=True)
    return repo


def make_agent(repo: Path, model, *, unattended: bool, **config) -> Agent:
    ws = Workspace.open(repo)
    gate = CommandGate(ws.root, CommandPermissions(None, ws.root), allow=True)
    return Agent(Toolbox(ws, ProposalManager(ws, journal=None)), model,
                 AgentConfig(review="apply" if unattended else "ask", retry=RetryPolicy.unattended(unattended),
                             auto_test=False, **config), gate=gate)


def drive(agent: Agent, task: str, accept: bool = True) -> list[ev.Event]:
    out = []
    for event in agent.run_turn(task):
        out.append(event)
        if isinstance(event, ev.ProposalReady) and not event.reply.done():
            n = len(event.proposal.hunks)
            event.reply.set_result(ev.Review.accept_all(n) if accept else ev.Review.reject_all(n, "no"))
    return out


def finished(events) -> ev.TurnFinished:
    return next(e for e in events if isinstance(e, ev.TurnFinished))


def test_an_edit_that_breaks_json_is_refused_and_the_model_reads_why(tmp_path):
    repo = repo_with(tmp_path, {"config.json": CONFIG})
    broken = hermes_call("edit_file", path="config.json", search='  "debug": true,', replace='  "debug": false,,')
    model = ScriptedModel([broken, "I could not do it."])
    events = drive(make_agent(repo, model, unattended=True), "make debug false in config.json please")
    assert (repo / "config.json").read_text() == CONFIG
    assert not any(isinstance(e, ev.ProposalReady) for e in events)
    refused = [e.message for e in events if isinstance(e, ev.ErrorEvent)]
    assert any(m.startswith("Not offered: config.json:3") for m in refused), refused
    tool_results = [m["content"] for m in model.calls[-1]["messages"] if m["role"] == "tool"]
    assert any("Refused: config.json:3" in r for r in tool_results), tool_results


def test_a_refused_edit_is_shown_with_its_reason_only_when_asked_and_a_person_reviews(tmp_path):
    repo = repo_with(tmp_path, {"app.py": "def f():\n    return 1\n"})
    broken = hermes_call("edit_file", path="app.py", search="    return 1", replace="    return (1")
    agent = make_agent(repo, ScriptedModel([broken, "ok"]), unattended=False, show_refused=True)
    events = drive(agent, "change f", accept=False)
    shown = [e.proposal for e in events if isinstance(e, ev.ProposalReady)]
    assert len(shown) == 1 and shown[0].note.startswith("Refused by the syntax gate: app.py:2")
    assert (repo / "app.py").read_text() == "def f():\n    return 1\n"


def test_a_weak_models_unconfirmed_edit_is_held_under_yes(tmp_path):
    repo = repo_with(tmp_path, {"version.py": 'VERSION = "1.0.0"\n'})
    guess = hermes_call("edit_file", path="version.py", search="VERSION", replace="VERSIONS")
    events = drive(make_agent(repo, WeakModel([guess, "done"]), unattended=True, repair=False),
                   "bump the version to 1.1.0")
    assert (repo / "version.py").read_text() == 'VERSION = "1.0.0"\n'
    end = finished(events)
    assert end.reason == "unconfirmed" and "Which file" in end.message


def test_a_weak_models_edit_the_requests_words_confirm_is_applied_under_yes(tmp_path):
    repo = repo_with(tmp_path, {"version.py": 'VERSION = "1.0.0"\n'})
    right = hermes_call("edit_file", path="version.py", search='"1.0.0"', replace='"1.1.0"')
    events = drive(make_agent(repo, WeakModel([right, "done"]), unattended=True, repair=False),
                   "bump the version from 1.0.0 to 1.1.0")
    assert (repo / "version.py").read_text() == 'VERSION = "1.1.0"\n'
    assert finished(events).reason == "done"


def test_a_capable_models_parsing_edit_is_applied_and_the_gate_still_applies(tmp_path):
    repo = repo_with(tmp_path, {"version.py": 'VERSION = "1.0.0"\n'})
    own = hermes_call("edit_file", path="version.py", search="VERSION", replace="RELEASE")
    drive(make_agent(repo, ScriptedModel([own, "done"]), unattended=True), "rename VERSION")
    assert (repo / "version.py").read_text() == 'RELEASE = "1.0.0"\n'


def test_a_weak_model_gets_the_requests_own_candidate_first(tmp_path):
    repo = repo_with(tmp_path, {"config.json": CONFIG, "notes.md": "debug notes\n"})
    model = WeakModel([hermes_call("edit_file", path="config.json", search='"port": 8080', replace='"port": 1')])
    events = drive(make_agent(repo, model, unattended=True), "set debug to false in config.json")
    assert (repo / "config.json").read_text() == CONFIG.replace('"debug": true', '"debug": false')
    end = finished(events)
    assert end.reason == "done" and not model.calls  # the model wrote nothing
    proposal = next(e.proposal for e in events if isinstance(e, ev.ProposalReady))
    assert proposal.checked == "request"


def test_changing_a_name_the_code_uses_is_a_rename_of_every_reference_or_nothing(tmp_path):
    from mlxagent.core.repair.requested import validated

    files = {"shapes/geometry.py": "def tidy(x):\n    return x.strip()\n\n\ndef both(a, b):\n    return tidy(a) + tidy(b)\n",
             "shapes/use.py": "from .geometry import tidy\n\nprint(tidy(' a '))\n"}
    edits = validated(files, "use `neat` instead of `tidy`")
    assert edits, "no candidate"
    best = max(edits, key=lambda e: e.prior)
    after = {**files, **dict(best.files)}
    assert "tidy" not in "".join(after.values()) and after["shapes/use.py"].count("neat") == 2
    # no candidate renames only some of the uses
    for edit in edits:
        changed = {**files, **dict(edit.files)}
        text = "".join(changed.values())
        assert "tidy" not in text or "neat" not in text


@pytest.mark.skipif(shutil.which("node") is None or shutil.which("npm") is None, reason="needs node and npm")
def test_a_test_command_that_runs_no_test_neither_drives_the_turn_nor_undoes_the_request(tmp_path):
    """`npm test` runs `node --test test/` and there is no test/ folder: exit 1 with no test run. The
    request's own candidate is made, applied under --yes and kept (it was once undone as
    "leaving the tests failing", and the model flailed after it)."""
    pkg = '{\n  "name": "tides",\n  "scripts": {\n    "test": "node --test test/"\n  },\n' \
          '  "dependencies": {\n    "chalk": "^5.3.0",\n    "node-fetch": "^3.3.2"\n  }\n}\n'
    repo = repo_with(tmp_path, {"package.json": pkg, "index.js": "console.log(1);\n"})
    model = WeakModel([hermes_call("edit_file", path="index.js", search="1", replace="2")])
    ws = Workspace.open(repo)
    gate = CommandGate(ws.root, CommandPermissions(None, ws.root), allow=True)
    agent = Agent(Toolbox(ws, ProposalManager(ws, journal=None)), model,
                  AgentConfig(review="apply", retry=RetryPolicy.unattended(True), auto_test=True), gate=gate)
    agent.toolbox.context.test_command = resolve_test_command(ws.root)
    assert agent.tests.command is not None and agent.tests.command.argv[:2] == ("npm", "test")
    # the file named: a removal applied unread needs it (core/repair/trust.py)
    events = drive(agent, "drop the node-fetch dependency from package.json, we use the built-in fetch")
    assert [e for e in events if isinstance(e, ev.TestResult)]  # the tests did run, before and after
    assert (repo / "package.json").read_text() == pkg.replace('"chalk": "^5.3.0",', '"chalk": "^5.3.0"').replace(
        '    "node-fetch": "^3.3.2"\n', "")
    assert finished(events).reason == "done" and not model.calls
    assert not [e for e in events if isinstance(e, ev.ErrorEvent) and "undone" in e.message]
