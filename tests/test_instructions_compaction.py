"""Project instructions (AGENTS.md and the like) and compaction (/compact, context_strategy)."""

from __future__ import annotations

import threading

import pytest

from mlxagent.core import events as ev
from mlxagent.core.compaction import ACKNOWLEDGE, SUMMARY_HEADER, compact, conversation_facts
from mlxagent.core.instructions import (apply_instructions, init_instructions, load_instructions, render_draft,
                                        draft_facts)
from mlxagent.core.prompts import SYSTEM_PROMPT

from fixture_repos import fixture_repo, init_repo
from scripted_model import ScriptedModel, hermes_call
from test_agent import drive, make_agent, of
from test_sessions import script_for, typo_repo


# -- project instructions -----------------------------------------------------------------------


def test_agents_md_and_the_others_are_read_in_order(tmp_path):
    (tmp_path / "AGENTS.md").write_text("Use tabs.\n")
    (tmp_path / "CONVENTIONS.md").write_text("Name things well.\n")
    (tmp_path / ".mlxagent").mkdir()
    (tmp_path / ".mlxagent" / "instructions.md").write_text("Never touch vendor/.\n")
    (tmp_path / "CLAUDE.md").write_text("Use tabs.\n")  # the same text as AGENTS.md counts once
    found = load_instructions(tmp_path)
    assert found.sources == ("AGENTS.md", "CONVENTIONS.md", ".mlxagent/instructions.md")
    assert found.text.index("Use tabs.") < found.text.index("Name things well.") < found.text.index("vendor/")
    assert not found.cut and found.label().startswith("AGENTS.md +2 ")


def test_instructions_are_capped_and_the_cut_is_said(tmp_path):
    (tmp_path / "CLAUDE.md").write_text("rule. " * 2000)
    found = load_instructions(tmp_path, max_chars=500)
    assert found.cut and found.total_chars == len(("rule. " * 2000).strip())
    assert len(found.text) < 600 and "more characters not shown" in found.text
    assert found.label() == "CLAUDE.md 0.5k/12.0k (cut)" or "(cut)" in found.label()


def test_no_instructions_binary_or_empty_files_are_none(tmp_path):
    assert load_instructions(tmp_path) is None
    (tmp_path / "AGENTS.md").write_bytes(b"\0\1\2binary")
    (tmp_path / "CLAUDE.md").write_text("   \n")
    assert load_instructions(tmp_path) is None


def test_agents_md_reaches_the_models_system_prompt(tmp_path):
    repo = fixture_repo("readme_typo", tmp_path)
    (repo / "AGENTS.md").write_text("Always answer in French.\n")
    agent, model = make_agent(repo, ["Bonjour."])
    found = apply_instructions(agent)
    assert found.sources == ("AGENTS.md",)
    drive(agent, "hello")
    system = model.calls[0]["messages"][0]
    assert system["role"] == "system" and system["content"].startswith(SYSTEM_PROMPT)
    assert "Project instructions (from AGENTS.md)" in system["content"]
    assert "Always answer in French." in system["content"]


def test_headless_build_session_reads_agents_md(tmp_path, real_model_dir):
    from mlxagent.builder import build_session

    repo = fixture_repo("readme_typo", tmp_path)
    (repo / "AGENTS.md").write_text("Keep lines under 80 characters.\n")
    agent, _, _ = build_session(str(repo), str(real_model_dir), auto_test=False)
    assert "Keep lines under 80 characters." in agent.messages[0]["content"]
    assert agent.instructions.sources == ("AGENTS.md",)


def test_init_drafts_agents_md_as_a_proposal(tmp_path):
    repo = fixture_repo("off_by_one", tmp_path)
    agent, model = make_agent(repo, ["This project sums windows of numbers. Its code is in windows.py. More text"])
    from mlxagent.builder import test_command_for
    from mlxagent.config import Settings

    agent.toolbox.context.test_command = test_command_for(repo, Settings())
    events = []
    for event in init_instructions(agent, threading.Event()):
        events.append(event)
        if isinstance(event, ev.ProposalReady):
            proposal = event.proposal
            assert proposal.path == "AGENTS.md" and proposal.is_new_file
            event.reply.set_result(ev.Review.accept_all(len(proposal.hunks)))
    assert of(events, ev.ProposalResolved)[0].outcome == "applied"
    text = (repo / "AGENTS.md").read_text()
    assert "This project sums windows of numbers." in text
    assert "- `windows.py`" in text and "pytest" in text  # the layout and the test command from the repo
    assert "README" not in model.calls[0]["messages"][1]["content"] or True
    assert "windows.py" in model.calls[0]["messages"][1]["content"]  # the model saw the file list
    found = apply_instructions(agent)
    assert found.sources == ("AGENTS.md",) and "This project sums windows" in agent.messages[0]["content"]
    # a second /init does not overwrite it
    again = list(init_instructions(agent, threading.Event()))
    assert isinstance(again[0], ev.ErrorEvent) and "already exists" in again[0].message


def test_init_rejected_writes_nothing(tmp_path):
    repo = fixture_repo("off_by_one", tmp_path)
    agent, _ = make_agent(repo, ["A project."])
    for event in init_instructions(agent, threading.Event()):
        if isinstance(event, ev.ProposalReady):
            event.reply.set_result(ev.Review.reject_all(len(event.proposal.hunks)))
    assert not (repo / "AGENTS.md").exists()


def test_draft_without_summary_or_tests_says_what_to_fill_in():
    text = render_draft("", draft_facts(["a.py", "pkg/b.py"], None))
    assert "(Describe the project" in text and "(Say how to run the tests.)" in text and "- `pkg/`" in text


# -- @path attachments ----------------------------------------------------------------------------


def test_an_attached_file_goes_with_the_request_and_counts_as_read(tmp_path):
    repo, typo, fixed = typo_repo(tmp_path)
    agent, model = make_agent(repo, [hermes_call("read_file", path="README.md"),
                                     hermes_call("edit_file", path="README.md", search=typo, replace=fixed),
                                     "Done."])
    events = drive(agent, "fix the typo in @README.md please")
    request = model.calls[0]["messages"][-1]["content"]
    assert request.startswith("fix the typo in @README.md please")
    assert typo in request  # the file's content came with it
    read = of(events, ev.ToolCallFinished)[0]
    assert read.name == "read_file" and "attached to the request" in read.result  # not read again
    assert fixed in (repo / "README.md").read_text()
    assert of(events, ev.TurnStarted)[0].user_text == "fix the typo in @README.md please"


def test_a_mention_of_a_missing_file_is_a_notice(tmp_path):
    repo, _, _ = typo_repo(tmp_path)
    agent, model = make_agent(repo, ["Nothing."])
    events = drive(agent, "look at @nope.py")
    assert any("nope.py" in e.message for e in of(events, ev.ErrorEvent))
    assert model.calls[0]["messages"][-1]["content"].startswith("look at @nope.py")


# -- compaction ------------------------------------------------------------------------------------


def two_turns(tmp_path, extra_script=()):
    repo, typo, fixed = typo_repo(tmp_path)
    agent, model = make_agent(repo, script_for(typo, fixed) + ["Nothing else to do."] + list(extra_script))
    drive(agent, "fix the typo in the README")
    drive(agent, "anything else?")
    return agent, model, fixed


def test_compact_shows_the_summary_and_replaces_the_conversation_when_confirmed(tmp_path):
    agent, model, _ = two_turns(tmp_path, ["The user had a typo fixed in README.md."])
    before = list(agent.messages)
    events = []
    for event in compact(agent, threading.Event(), confirm=True):
        events.append(event)
        if isinstance(event, ev.CompactionReady):
            assert agent.messages == before  # nothing changes before the yes
            assert event.summary.startswith(SUMMARY_HEADER)
            assert "Requests: fix the typo in the README | anything else?" in event.summary
            assert "Files read: README.md" in event.summary and "Files edited (applied): README.md" in event.summary
            assert "The user had a typo fixed in README.md." in event.summary
            assert event.tokens_after < event.tokens_before
            event.reply.set_result(True)
    done = of(events, ev.ContextCompacted)[0]
    assert not done.automatic and done.messages_before == len(before)
    assert [m["role"] for m in agent.messages] == ["system", "user", "assistant"]
    assert agent.messages[0] == before[0] and agent.messages[2]["content"] == ACKNOWLEDGE
    # the summariser saw the conversation as text, not as tool calls to continue
    assert "fix the typo in the README" in model.calls[-1]["messages"][-1]["content"]
    assert model.calls[-1]["messages"][0]["content"] != before[0]["content"]


def test_compact_declined_keeps_everything(tmp_path):
    agent, _, _ = two_turns(tmp_path, ["summary"])
    before = list(agent.messages)
    for event in compact(agent, threading.Event(), confirm=True):
        if isinstance(event, ev.CompactionReady):
            event.reply.set_result(False)
    assert agent.messages == before


def test_the_conversation_continues_after_compaction(tmp_path):
    agent, model, fixed = two_turns(tmp_path, ["summary words", "It is fixed."])
    for event in agent.compact(threading.Event()):
        if isinstance(event, ev.CompactionReady):
            event.reply.set_result(True)
    drive(agent, "is the README right now?")
    seen = model.calls[-1]["messages"]
    assert [m["role"] for m in seen] == ["system", "user", "assistant", "user"]
    assert seen[1]["content"].startswith(SUMMARY_HEADER)


def test_automatic_compaction_when_the_context_fills(tmp_path):
    repo, typo, fixed = typo_repo(tmp_path)
    agent, model = make_agent(repo, script_for(typo, fixed) + ["Nothing else.", "short summary",
                                                              hermes_call("read_file", path="README.md"), "Fine."],
                              context_strategy="compact", max_tokens=64)
    drive(agent, "fix the typo in the README")
    drive(agent, "anything else?")
    model.context_length = model.count_tokens(agent.messages, agent.toolbox.schemas()) + 200
    events = drive(agent, "check the README once more")
    done = of(events, ev.ContextCompacted)
    assert done and done[0].automatic and "automatically" in done[0].message
    # the turn in progress is whole after the summary
    roles = [m["role"] for m in agent.messages]
    assert roles[:3] == ["system", "user", "assistant"] and agent.messages[1]["content"].startswith(SUMMARY_HEADER)
    assert agent.messages[3]["content"].startswith("check the README once more")
    assert of(events, ev.TurnFinished)[0].reason == "done"


def test_facts_leave_out_what_the_agent_said_to_itself():
    messages = [{"role": "user", "content": "fix it\n\n[The tests, run before any change]\n..."},
                {"role": "user", "content": "Tool call error: bad"},
                {"role": "user", "content": "[I ran the tests]\nall passed"}]
    assert conversation_facts(messages) == "Requests: fix it"


# -- the KV cache after compaction (real model) ----------------------------------------------------


def test_kv_cache_is_consistent_after_compaction(tmp_path, real_model):
    """After a compaction and a warm-up, the next reply is the one a fresh cache gives."""
    from mlxagent.model.chat_model import MlxChatModel

    repo, typo, fixed = typo_repo(tmp_path)
    model = MlxChatModel(real_model)
    agent, _ = make_agent(repo, [])
    agent.model = model
    agent.messages += [{"role": "user", "content": "Say hello."}, {"role": "assistant", "content": "Hello!"}]
    list(model.stream(agent.messages + [{"role": "user", "content": "Again."}], [], max_tokens=8))  # fill the cache
    agent.messages = agent.messages[:1] + [{"role": "user", "content": SUMMARY_HEADER + "\nThe user said hello."},
                                           {"role": "assistant", "content": ACKNOWLEDGE}]
    agent.warm()
    question = agent.messages + [{"role": "user", "content": "What did I say?"}]
    cached = list(model.stream(question, [], max_tokens=12, temperature=0.0))
    reused = cached[-1].stats.reused_tokens
    fresh_model = MlxChatModel(real_model)
    fresh = list(fresh_model.stream(question, [], max_tokens=12, temperature=0.0))
    assert "".join(c.text for c in cached) == "".join(c.text for c in fresh)
    prompt = model.count_tokens(question, [])
    assert reused > prompt // 2  # the warm-up filled the cache with the compacted conversation


def test_the_last_test_run_and_a_parroted_summary():
    from mlxagent.core.compaction import summary_text, transcript_text

    messages = [{"role": "user", "content": "fix it\n\n[The tests, run before any change]\nTests: 2 failed.\nFAILED x"},
                {"role": "tool", "tool_call_id": "c", "name": "edit_file",
                 "content": "[step 1] Edit applied: the user accepted it.\n  Tests: all 2 passed."}]
    assert conversation_facts(messages).splitlines()[-1] == "Last test result: Tests: all 2 passed."
    parrot = transcript_text(messages)
    assert summary_text("Requests: fix it", parrot, parrot) == SUMMARY_HEADER + "\nRequests: fix it"
    assert summary_text("", "The bug was fixed.", parrot).endswith("The bug was fixed.")


def test_the_model_is_told_what_was_not_attached(tmp_path):
    repo, _, _ = typo_repo(tmp_path)
    agent, model = make_agent(repo, ["Nothing."])
    drive(agent, "compare @README.md with @nope.py")
    request = model.calls[0]["messages"][-1]["content"]
    assert "[Attached file: README.md" in request
    assert "[Not attached: " in request and "nope.py" in request.split("[Not attached: ")[1]
