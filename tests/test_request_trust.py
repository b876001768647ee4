"""Unattended approval applies a request's candidate only when its kind is trusted (issue 25).

`mlxagent run --yes` end to end (the real builder, headless loop and tools, a real git repo in
tmp_path; the model is the scripted test double, a weak tool user, so the request's own candidates
come first): a trusted kind is applied byte-exact; an untrusted one leaves every file as it was and
ends the turn with a question naming the change; with a person reviewing, the same candidate is
still offered. And the trust table (core/repair/trust.py) is backed by the figures it cites.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from scripted_model import ScriptedModel, hermes_call

from mlxagent import cli, headless
from mlxagent.builder import build_agent
from mlxagent.config import Settings
from mlxagent.core import events as ev
from mlxagent.core.intents.base import Edit, Intent
from mlxagent.core.repair import trust
from mlxagent.core.repair.requested import validated
from mlxagent.core.workspace import Workspace

SETTINGS = "[server]\nhost = localhost\nport = 8080\n"
README = "# demo\n\nA small server.\n"
TRUSTED_ASK = "set the port in settings.ini to 9090"  # said-set, the file named
GUESSED_ASK = "the server listens on 9090 now"  # guess-slot: a new value put where the words point
APPLIED = SETTINGS.replace("port = 8080", "port = 9090")


def make_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "settings.ini").write_bytes(SETTINGS.encode())
    (repo / "README.md").write_bytes(README.encode())
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    subprocess.run(["git", "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "init"], cwd=repo, check=True)
    return repo


def snapshot(repo: Path) -> dict[str, bytes]:
    return {str(p.relative_to(repo)): p.read_bytes() for p in sorted(repo.rglob("*"))
            if p.is_file() and ".git" not in p.relative_to(repo).parts}


def weak_model(script: list) -> ScriptedModel:
    model = ScriptedModel(script)
    model.weak_tool_use = True
    return model


def run(repo: Path, task: str, model: ScriptedModel, monkeypatch, capsys, *extra: str) -> tuple[int, list[dict]]:
    monkeypatch.setattr("mlxagent.builder.load_model", lambda *a, **k: model)
    monkeypatch.setattr(sys, "stdin", open("/dev/null"))  # nobody at a terminal
    args = cli._sub_parser().parse_args(["run", task, "--repo", str(repo), "--model", "scripted", "--json",
                                         "--no-auto-test", "--max-steps", "4", *extra])
    code = headless.run_task(args)
    return code, [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]


def finished(events: list[dict]) -> dict:
    return next(e for e in events if e["event"] == "TurnFinished")


# the model's own edit, were the turn to go on to it: the very change the request's words confirm
MODELS_OWN = hermes_call("edit_file", path="settings.ini", search="port = 8080", replace="port = 9090")


def test_a_trusted_kind_is_applied_byte_exact_under_yes(tmp_path, monkeypatch, capsys):
    repo = make_repo(tmp_path)
    model = weak_model(["Done."])
    code, events = run(repo, TRUSTED_ASK, model, monkeypatch, capsys, "--yes")
    assert code == 0, events
    assert (repo / "settings.ini").read_bytes() == APPLIED.encode()
    assert (repo / "README.md").read_bytes() == README.encode()
    end = finished(events)
    assert end["reason"] == "done" and "port = 9090" in end["message"]
    assert [e["outcome"] for e in events if e["event"] == "ProposalResolved"] == ["applied"]
    assert model.calls == []  # the candidate did the turn


@pytest.mark.parametrize("extra", [("--yes",), ("--mode", "accept-edits"), ("--mode", "auto")])
def test_an_untrusted_kind_is_not_applied_unattended_and_the_turn_asks(tmp_path, monkeypatch, capsys, extra):
    repo = make_repo(tmp_path)
    before = snapshot(repo)
    model = weak_model([MODELS_OWN, "Done."])
    code, events = run(repo, GUESSED_ASK, model, monkeypatch, capsys, *extra)
    assert snapshot(repo) == before  # every file byte-identical
    assert code == 1  # the "asked, not applied" outcome: not the 0 of a finished task
    end = finished(events)
    assert end["reason"] == "unconfirmed", end
    assert end["message"].startswith("Not applied without review: settings.ini: port = 8080 → port = 9090 "
                                      "(a guess from the request's words; guess-slot")
    assert "Run without --yes" in end["message"] and "\n" not in end["message"]
    assert not any(e["event"] in ("ProposalReady", "ProposalResolved") for e in events)
    assert model.calls == []  # nor did the turn go on to the model's own edit


def test_the_same_candidate_is_still_offered_when_a_person_reviews(tmp_path):
    repo = make_repo(tmp_path)
    agent = build_agent(Workspace.open(repo), Settings(), weak_model(["Done."]), auto_approve=False,
                        tests=False, auto_test=False)
    offered = []
    for event in agent.run_turn(GUESSED_ASK, threading.Event()):
        if isinstance(event, ev.ProposalReady):
            offered.append(event.proposal)
            event.reply.set_result(ev.Review.accept_all(len(event.proposal.hunks)))
        if isinstance(event, ev.TurnFinished):
            end = event
    assert [p.path for p in offered] == ["settings.ini"] and offered[0].new == APPLIED.encode()
    assert (repo / "settings.ini").read_bytes() == APPLIED.encode()
    assert end.reason == "done"


def test_headless_review_without_yes_offers_it_and_writes_nothing_when_rejected(tmp_path, monkeypatch, capsys):
    repo = make_repo(tmp_path)
    before = snapshot(repo)
    code, events = run(repo, GUESSED_ASK, weak_model(["Not done."]), monkeypatch, capsys, "--reject")
    ready = [e for e in events if e["event"] == "ProposalReady"]
    assert len(ready) == 1 and ready[0]["proposal"]["path"] == "settings.ini", events
    assert snapshot(repo) == before and finished(events)["reason"] != "unconfirmed"


# -- the trust table ------------------------------------------------------------------------------

def edit(rule: str, intent: Intent | None, path: str = "settings.ini") -> Edit:
    return Edit(((path, "x"),), path, 1, rule, "d", 1.0, intent=intent)


def test_kinds_and_specificity_are_read_from_the_hypothesis():
    said = edit("set-ini", Intent("set", None, "9090", key="port", files=("settings.ini",)))
    assert trust.kind_of(said) == "said-set"
    assert trust.specificity(said, TRUSTED_ASK) == {"file"} and trust.trusted(said, TRUSTED_ASK)
    assert trust.specificity(said, "set the port to 9090") == frozenset()
    paired = edit("replace", Intent("replace", "8080", "9090", basis="pair"))
    assert not trust.trusted(paired, "port 8080 is now 9090")  # guess-pair: 11/14, under the bar
    guessed = edit("set-ini", Intent("set", "8080", "9090", key="server.port", basis="slot"))
    assert trust.kind_of(guessed) == "guess-slot" and not trust.trusted(guessed, GUESSED_ASK)
    assert trust.label(guessed, "port 8080 is now 9090 in settings.ini") == "guess-slot+file+old"
    renamed = edit("rename", Intent("rename", "a", "b", basis="said-as-rename"))
    assert trust.kind_of(renamed) == "said-as-rename"
    assert trust.kind_of(edit("set-ini", None)) == "unknown" and not trust.trusted(edit("set-ini", None), "x")


def test_request_candidates_carry_their_hypothesis():
    files = {"settings.ini": SETTINGS, "README.md": README}
    [first] = sorted(validated(dict(files), TRUSTED_ASK), key=lambda e: -e.prior)[:1]
    assert trust.label(first, TRUSTED_ASK) == "said-set+file" and first.intent.key == "port"
    guessed = sorted(validated(dict(files), GUESSED_ASK), key=lambda e: -e.prior)[0]
    assert trust.kind_of(guessed) == "guess-slot" and guessed.files == (("settings.ini", APPLIED),)


def test_every_trusted_kind_reaches_the_bar_on_the_instruction_sets():
    """The table is what the figures say: each trusted kind, at its specificity, is right first at
    least 90% of 5 or more times over the six sets (bench/request_rules.py --by-kind measures it)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
    from request_rules import _right, _sets, _tied, suggested

    seen = []
    for tasks in _sets(["dev", "heldout", "blind", "fresh", "third", "fourth", "fifth", "sixth"]).values():
        for task in tasks:
            edits = sorted(validated(dict(task.files), task.text), key=lambda e: -e.prior)
            if edits and not _tied(edits):
                seen.append((trust.kind_of(edits[0]), trust.specificity(edits[0], task.text),
                             task.kind != "cannot" and _right(task, edits[0])))
    for kind, need in trust.TRUSTED.items():
        hits = [ok for k, spec, ok in seen if k == kind and need <= spec]
        assert len(hits) >= 5 and sum(hits) >= 0.9 * len(hits), (kind, sum(hits), len(hits))
    assert set(trust.TRUSTED) <= set(suggested(seen))
    assert "guess-slot" not in trust.TRUSTED  # under the bar: the kind behind most wrong unattended edits
