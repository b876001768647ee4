"""The read-loop guard policy: every rule, every reset, config validation and overrides."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlxagent.core.events import GuardState
from mlxagent.core.guard import (
    FORCE_REFUSAL,
    ForceSpec,
    GuardConfig,
    GuardConfigError,
    ReadLoopGuard,
    thresholds_for_model,
)
from mlxagent.errors import MlxAgentError


def no_file(path: str) -> None:
    return None


def call(guard: ReadLoopGuard, name: str, args: dict, *, error: bool = False, fingerprint=no_file,
         batch_index: int = 0, batch_size: int = 1, seen_paths=()) -> str:
    """One tool call through the guard, as the agent loop makes it; returns the action."""
    decision = guard.before_tool(name, args, fingerprint)
    guard.after_tool(name, args, error, batch_index, batch_size, seen_paths=seen_paths)
    return decision.action


def read(guard: ReadLoopGuard, path: str, **kw) -> str:
    return call(guard, "read_file", {"path": path}, **kw)


def distinct_reads(guard: ReadLoopGuard, n: int, prefix: str = "f") -> list[str]:
    levels = []
    for i in range(n):
        read(guard, f"{prefix}{i}.py")
        levels.append(guard.level)
    return levels


def reach_force(guard: ReadLoopGuard) -> None:
    distinct_reads(guard, guard.config.force_at, prefix="force")
    assert guard.level == "force"


@pytest.fixture
def guard() -> ReadLoopGuard:
    return ReadLoopGuard(GuardConfig())


@pytest.fixture
def workspace(tmp_path: Path):
    """A real file and a fingerprint function over real bytes, as the agent provides."""
    (tmp_path / "foo.py").write_text("".join(f"line {i}\n" for i in range(1, 101)))

    def fingerprint(path: str) -> str | None:
        target = tmp_path / path
        return hashlib.sha256(target.read_bytes()).hexdigest() if target.is_file() else None

    return tmp_path, fingerprint


# -- config -------------------------------------------------------------------------------


def test_config_defaults_and_unknown_keys_ignored():
    config = GuardConfig.from_mapping({"nudge_at": 9, "colour": "red", "models": {}})
    assert config == GuardConfig(nudge_at=9)
    assert (GuardConfig().allowance, GuardConfig().nudge_at, GuardConfig().force_at) == (6, 8, 11)


@pytest.mark.parametrize(
    "mapping, words",
    [
        ({"nudge_at": "eight"}, "nudge_at must be a whole number"),
        ({"force_at": True}, "force_at must be a whole number"),
        ({"allowance": -1}, "allowance must be a whole number of at least 0"),
        ({"max_forced_failures": 0}, "max_forced_failures must be a whole number of at least 1"),
        ({"force_at": 7.5}, "force_at must be a whole number"),
        ({"enabled": "yes"}, "enabled must be true or false"),
        ({"allowance": 9}, "allowance <= nudge_at <= force_at (got 9, 8, 11)"),
        ({"nudge_at": 12}, "allowance <= nudge_at <= force_at (got 6, 12, 11)"),
    ],
)
def test_config_validation_errors_are_one_line(mapping, words):
    with pytest.raises(MlxAgentError) as info:
        GuardConfig.from_mapping(mapping)
    assert isinstance(info.value, GuardConfigError)
    assert words in str(info.value)
    assert "\n" not in str(info.value)


def test_config_must_be_a_table():
    with pytest.raises(GuardConfigError, match="expected a table"):
        GuardConfig.from_mapping([("nudge_at", 3)])


def test_per_model_override():
    mapping = {"allowance": 4, "nudge_at": 8, "force_at": 11, "models": {"smollm2-135m": {"force_at": 9}}}
    small = thresholds_for_model(mapping, "HuggingFaceTB/SmolLM2-135M-Instruct")
    other = thresholds_for_model(mapping, "Qwen2.5-Coder-7B-Instruct")
    assert (small.allowance, small.nudge_at, small.force_at) == (4, 8, 9)
    assert (other.allowance, other.nudge_at, other.force_at) == (4, 8, 11)


def test_the_more_specific_model_override_wins():
    mapping = {"models": {"smollm2": {"force_at": 10, "nudge_at": 7}, "smollm2-135m": {"force_at": 9}}}
    config = thresholds_for_model(mapping, "smollm2-135m-instruct")
    assert (config.nudge_at, config.force_at) == (7, 9)
    assert thresholds_for_model(mapping, "smollm2-360m").force_at == 10


def test_bad_model_override_names_the_model():
    with pytest.raises(GuardConfigError, match="with the overrides for smollm2-135m") as info:
        thresholds_for_model({"models": {"smollm2-135m": {"nudge_at": 20}}}, "smollm2-135m")
    assert "\n" not in str(info.value)
    with pytest.raises(GuardConfigError, match="models must be a table"):
        thresholds_for_model({"models": ["smollm2"]}, "smollm2")
    with pytest.raises(GuardConfigError, match="models.smollm2 must be a table"):
        thresholds_for_model({"models": {"smollm2": 3}}, "smollm2")
    # An override that does not apply cannot break another model's settings.
    assert thresholds_for_model({"models": {"smollm2": {"nudge_at": 20}}}, "qwen").nudge_at == 8


# -- thresholds, allowance, batches ---------------------------------------------------------


def test_false_positive_five_reads_then_an_edit_is_never_nudged(guard):
    for cycle in range(6):
        for i in range(5):
            assert read(guard, f"src/mod{cycle}_{i}.py") == "run"
            assert guard.level == "ok" and guard.note() is None and guard.force_spec() is None
        call(guard, "edit_file", {"path": "src/mod.py", "old": "a", "new": "b"})
        guard.on_proposal_resolved("applied")
        assert guard.level == "ok"


def test_nudge_then_force_at_the_thresholds(guard):
    levels = distinct_reads(guard, 11)
    assert levels == ["ok"] * 7 + ["nudge"] * 3 + ["force"]
    state = guard.state()
    assert state == GuardState("force", 11, 6, 8, 11, "11 reads since the task began")


def test_errors_from_read_tools_still_count(guard):
    for i in range(8):
        read(guard, f"missing{i}.py", error=True)
    assert guard.level == "nudge"


def test_tools_that_neither_read_nor_edit_do_not_count(guard):
    for i in range(20):
        call(guard, "run_tests", {"i": i})
    assert guard.level == "ok" and guard.state().reads_since_edit == 0


def test_allowance_makes_early_repeats_free():
    sequence = ["a.py", "a.py", "a.py", "b.py"]
    free = ReadLoopGuard(GuardConfig(allowance=6))
    strict = ReadLoopGuard(GuardConfig(allowance=0))
    for path in sequence:
        read(free, path)
        read(strict, path)
    assert free.level == "ok" and free.state().reads_since_edit == 4
    assert strict.level == "nudge" and strict.state().reason == "read a.py 3 times"
    assert strict.state().reads_since_edit == 1 + 2 + 2 + 1


def test_a_batch_at_the_start_of_a_task_counts_once(guard):
    paths = [f"f{i}.py" for i in range(10)] + ["f0.py", "f0.py"]  # duplicates too
    for i, path in enumerate(paths):
        read(guard, path, batch_index=i, batch_size=len(paths))
    assert guard.level == "ok"
    assert guard.state().reads_since_edit == 1


def test_the_same_reads_one_per_message_do_trigger(guard):
    for i in range(12):
        read(guard, f"f{i}.py")
    assert guard.level == "force"


def test_a_batch_later_in_the_task_counts_in_full(guard):
    read(guard, "first.py")
    for i in range(10):
        read(guard, f"f{i}.py", batch_index=i, batch_size=10)
    assert guard.level == "force"
    assert guard.state().reads_since_edit == 11


def test_after_a_start_batch_single_reads_count_normally(guard):
    for i in range(5):
        read(guard, f"batch{i}.py", batch_index=i, batch_size=5)
    levels = distinct_reads(guard, 7)
    assert levels == ["ok"] * 6 + ["nudge"]  # 1 for the batch + 7 = 8


# -- the nudge note -------------------------------------------------------------------------


def test_note_names_counts_relevant_files_and_asks_for_an_edit(guard):
    assert guard.note() is None
    read(guard, "src/core.py", batch_index=0, batch_size=2)
    call(guard, "search", {"pattern": "parse"}, batch_index=1, batch_size=2)
    for path in ["src/util.py", "src/core.py", "src/a.py", "src/b.py", "src/core.py"]:
        read(guard, path)
    assert guard.level == "ok"  # still within the allowance: the repeats were free
    read(guard, "src/util.py")  # a repeat past the allowance counts 2: 6 + 2 = 8
    assert guard.level == "nudge"
    assert guard.state().reason == "8 reads since the task began, 3 of them repeated"
    note = guard.note()
    assert note.startswith(
        "[guard] 8 read-only calls since the task began (4 different files read, 3 repeated calls)."
    )
    # Most read first; among files read once, the most recent first.
    assert "Files that look relevant: src/core.py (read 3 times), src/util.py (read 2 times), src/b.py." in note
    assert "Noticed" not in note  # the count is already said
    assert "propose an edit now with edit_file or write_file" in note
    assert "after at most 3 more reads" in note


def test_note_reports_a_pattern_reason():
    guard = ReadLoopGuard(GuardConfig(nudge_at=20, force_at=30))
    distinct_reads(guard, 6)
    for path in ["a.py", "b.py", "a.py", "b.py"]:
        read(guard, path, error=True)
    assert guard.level == "nudge"
    assert "Noticed: oscillating between read_file a.py and read_file b.py." in guard.note()


# -- forcing --------------------------------------------------------------------------------


def test_force_spec_lists_edit_tools_and_candidates_most_relevant_first(guard):
    assert guard.force_spec() is None
    call(guard, "list_files", {"path": "src"}, seen_paths=["src/listed.py", "src/hit.py"])
    call(guard, "search", {"pattern": "def main"}, seen_paths=["src/hit.py"])
    read(guard, "src/main.py")
    read(guard, "src/main.py", fingerprint=lambda p: None)
    read(guard, "./src/other.py")
    distinct_reads(guard, 6, prefix="pad/f")
    assert guard.level == "force"
    spec = guard.force_spec()
    assert isinstance(spec, ForceSpec)
    assert spec.tools == ("edit_file", "write_file")
    assert spec.candidate_paths[:2] == ("src/main.py", "pad/f5.py")
    assert "src/other.py" in spec.candidate_paths  # spelled one way
    assert spec.candidate_paths[-2:] == ("src/hit.py", "src/listed.py")
    assert spec.reason in spec.instruction and FORCE_REFUSAL in spec.instruction


@pytest.mark.parametrize("request_text, path, named", [
    ("Fix the spelling mistake in README.md.", "README.md", True),
    ("fix readme.md please", "README.md", True),
    ("change src/app.py", "src/app.py", True),
    ("change app.py", "src/app.py", True),
    ("rewrite the application", "app", False),
    ("edit app.py", "app", False),
    ("edit data.py", "a.py", False),
    ("look at (notes.txt)", "notes.txt", True),
])
def test_a_file_is_named_only_as_a_word_of_its_own(guard, request_text, path, named):
    guard.reset_task(request_text)
    assert guard.named_in_request([path]) == ([path] if named else [])


def test_a_forced_edit_goes_to_the_files_the_user_named(guard):
    guard.reset_task("Fix the typo in README.md please")
    call(guard, "list_files", {"path": "."}, seen_paths=["README.md", "calc.py"])
    for _ in range(8):
        call(guard, "list_files", {"path": "."}, seen_paths=["README.md", "calc.py"])
        read(guard, "calc.py", fingerprint=lambda p: None)
        if guard.level == "force":
            break
    assert guard.level == "force"
    assert guard.force_spec().candidate_paths == ("README.md",)  # only what the user named
    guard.reset_task("now rename add in calc.py")  # a new request ranks by its own words
    read(guard, "calc.py", fingerprint=lambda p: None)
    for _ in range(12):
        read(guard, "README.md", fingerprint=lambda p: None)
    assert guard.level == "force"
    assert guard.force_spec().candidate_paths == ("calc.py",)


def test_reads_are_refused_while_forcing_and_edits_run(guard, workspace):
    _, fingerprint = workspace
    reach_force(guard)
    for name in ReadLoopGuard.READ_ONLY:
        decision = guard.before_tool(name, {"path": "foo.py"}, fingerprint)
        assert decision.action == "refuse"
        assert decision.message == FORCE_REFUSAL
        guard.after_tool(name, {"path": "foo.py"}, True)
    assert guard.state().reads_since_edit == 11  # refused calls are not counted
    assert guard.before_tool("edit_file", {"path": "foo.py"}, fingerprint).action == "run"
    assert guard.before_tool("write_file", {"path": "new.py"}, fingerprint).action == "run"


# -- skip_unchanged -------------------------------------------------------------------------


def test_unchanged_range_is_skipped_and_refers_to_the_step(guard, workspace):
    root, fingerprint = workspace
    call(guard, "list_files", {"path": "."})
    lines = {"path": "foo.py", "start_line": 1, "end_line": 40}
    assert call(guard, "read_file", lines, fingerprint=fingerprint) == "run"
    decision = guard.before_tool("read_file", dict(lines), fingerprint)
    assert decision.action == "skip_unchanged"
    assert decision.message == "lines 1-40 of foo.py, unchanged since step 2; see that result"
    guard.after_tool("read_file", lines, False)
    assert guard.state().reads_since_edit == 3  # a skipped read is still a read

    # The skip points at the original read, not at the skipped one.
    assert guard.before_tool("read_file", {"path": "./foo.py", "end_line": 40, "start_line": 1},
                             fingerprint).message.endswith("since step 2; see that result")


def test_not_skipped_for_another_range_or_a_changed_file(guard, workspace):
    root, fingerprint = workspace
    assert read(guard, "foo.py", fingerprint=fingerprint) == "run"
    decision = guard.before_tool("read_file", {"path": "foo.py"}, fingerprint)
    assert decision.message == "all of foo.py, unchanged since step 1; see that result"
    guard.after_tool("read_file", {"path": "foo.py"}, False)

    assert call(guard, "read_file", {"path": "foo.py", "start_line": 41}, fingerprint=fingerprint) == "run"
    assert guard.before_tool("read_file", {"path": "foo.py", "start_line": 41}, fingerprint).message == (
        "lines 41-end of foo.py, unchanged since step 3; see that result"
    )
    guard.after_tool("read_file", {"path": "foo.py", "start_line": 41}, False)

    with (root / "foo.py").open("a") as f:
        f.write("line 101\n")
    assert read(guard, "foo.py", fingerprint=fingerprint) == "run"
    assert read(guard, "foo.py", fingerprint=fingerprint) == "skip_unchanged"


def test_failed_reads_and_forgotten_context_are_not_skipped(guard, workspace):
    _, fingerprint = workspace
    assert read(guard, "foo.py", fingerprint=fingerprint, error=True) == "run"
    assert read(guard, "foo.py", fingerprint=fingerprint) == "run"
    assert read(guard, "gone.py", fingerprint=fingerprint) == "run"
    assert read(guard, "gone.py", fingerprint=fingerprint) == "run"  # no fingerprint: never skipped
    guard.forget_reads()
    assert read(guard, "foo.py", fingerprint=fingerprint) == "run"
    assert read(guard, "foo.py", fingerprint=fingerprint) == "skip_unchanged"


def test_unreadable_fingerprint_lets_the_tool_run(guard):
    def broken(path: str) -> str:
        raise PermissionError(path)

    assert read(guard, "locked.py", fingerprint=broken) == "run"
    assert read(guard, "locked.py", fingerprint=broken) == "run"


# -- repeats and oscillation ------------------------------------------------------------------


def test_repeated_identical_calls_count_double_and_jump_to_nudge(guard):
    distinct_reads(guard, 6)
    search = {"pattern": "TODO", "path": "src"}
    call(guard, "search", search)
    assert guard.state().reads_since_edit == 7
    call(guard, "search", search)
    assert guard.state().reads_since_edit == 9 and guard.level == "nudge"
    assert guard.state().reason == "8 reads since the task began, 1 of them repeated"

    other = ReadLoopGuard(GuardConfig(nudge_at=20, force_at=30))
    distinct_reads(other, 6)
    for _ in range(3):
        read(other, "foo.py")
    assert other.level == "nudge"
    assert other.state().reason == "read foo.py 3 times"
    assert other.state().reads_since_edit == 6 + 1 + 2 + 2


def test_search_repeats_are_described_in_words():
    guard = ReadLoopGuard(GuardConfig(allowance=0, nudge_at=20, force_at=30))
    for _ in range(3):
        call(guard, "search", {"pattern": "parse_args"})
    assert guard.state().reason == "called search pattern='parse_args' 3 times"


def test_a_b_a_b_oscillation_escalates():
    guard = ReadLoopGuard(GuardConfig(nudge_at=20, force_at=30))
    distinct_reads(guard, 6)
    for step, args in enumerate([{"path": "a.py"}, {"pattern": "x"}, {"path": "a.py"}]):
        call(guard, "read_file" if "path" in args else "search", args)
    assert guard.level == "ok"
    call(guard, "search", {"pattern": "x"})
    assert guard.level == "nudge"
    assert guard.state().reason == "oscillating between read_file a.py and search pattern='x'"


def test_a_b_a_c_is_not_oscillation():
    guard = ReadLoopGuard(GuardConfig(nudge_at=20, force_at=30))
    distinct_reads(guard, 6)
    for path in ["a.py", "b.py", "a.py", "c.py", "d.py", "d.py"]:
        read(guard, path)
    assert guard.level == "ok"


def test_oscillation_continued_after_the_nudge_reaches_force():
    guard = ReadLoopGuard(GuardConfig(nudge_at=12, force_at=16))
    distinct_reads(guard, 6)
    levels, scores = [], []
    for path in ["a.py", "b.py"] * 3:
        read(guard, path)
        levels.append(guard.level)
        scores.append(guard.state().reads_since_edit)
    assert scores == [7, 8, 10, 12, 14, 16]  # repeats count double
    assert levels == ["ok", "ok", "ok", "nudge", "nudge", "force"]
    assert guard.state().reason == "12 reads since the task began, 4 of them repeated"


# -- resets ---------------------------------------------------------------------------------


@pytest.mark.parametrize("outcome", ["applied", "partly applied", "rejected", "failed"])
def test_a_resolved_proposal_resets_to_ok(guard, outcome):
    distinct_reads(guard, 9)
    assert guard.level == "nudge"
    guard.on_proposal_resolved(outcome)
    assert guard.state() == GuardState("ok", 0, 6, 8, 11, "")
    # Counting starts again from the proposal; repeat counts too.
    levels = distinct_reads(guard, 8, prefix="again")
    assert levels == ["ok"] * 7 + ["nudge"]
    assert guard.state().reason == "8 reads since the last edit"


def test_unknown_outcome_is_a_programming_error(guard):
    with pytest.raises(ValueError):
        guard.on_proposal_resolved("maybe")


def test_two_invalid_forced_edits_stop(guard):
    reach_force(guard)
    guard.on_forced_edit_invalid("no such file: bar.py")
    assert guard.level == "force"
    assert "1 of 2 forced edits failed" in guard.state().reason
    guard.on_forced_edit_invalid("not valid JSON")
    state = guard.state()
    assert state.level == "stopped"
    assert state.reason == "2 forced edits failed (last: the forced edit was invalid: not valid JSON); asking the user"
    decision = guard.before_tool("edit_file", {"path": "x"}, no_file)
    assert decision.action == "refuse" and state.reason in decision.message
    guard.on_proposal_resolved("applied")  # stopped stays stopped until the user speaks
    assert guard.level == "stopped"


def test_rejected_forced_edits_count_as_failures(guard):
    reach_force(guard)
    guard.on_proposal_resolved("rejected")
    assert guard.level == "ok"  # a proposal is progress: counters reset
    reach_force(guard)
    guard.on_proposal_resolved("rejected")
    assert guard.level == "stopped"
    assert "the user rejected the forced edit" in guard.state().reason


def test_an_applied_edit_clears_forced_failures(guard):
    reach_force(guard)
    guard.on_forced_edit_invalid("bad")
    guard.on_proposal_resolved("applied")
    reach_force(guard)
    guard.on_proposal_resolved("rejected")
    assert guard.level == "ok"


def test_rejecting_an_unforced_edit_is_no_failure(guard):
    for _ in range(3):
        distinct_reads(guard, 9)
        assert guard.level == "nudge"
        guard.on_proposal_resolved("rejected")
    assert guard.level == "ok"
    guard.on_forced_edit_invalid("ignored when not forcing")
    assert guard.level == "ok"


def test_reset_task_starts_everything_again_but_remembers_reads(guard, workspace):
    _, fingerprint = workspace
    read(guard, "foo.py", fingerprint=fingerprint)
    reach_force(guard)
    guard.on_forced_edit_invalid("a")
    guard.on_forced_edit_invalid("b")
    assert guard.level == "stopped"
    guard.reset_task()
    assert guard.state() == GuardState("ok", 0, 6, 8, 11, "")
    # The allowance is back: early repeats are free again.
    for _ in range(4):
        read(guard, "bar.py")
    assert guard.level == "ok"
    # The conversation still holds the old result, so an unchanged read is still skipped.
    assert read(guard, "foo.py", fingerprint=fingerprint) == "skip_unchanged"
    # And a start batch counts once again.
    guard.reset_task()
    for i in range(9):
        read(guard, f"f{i}.py", batch_index=i, batch_size=9)
    assert guard.level == "ok"


def test_disabled_guard_never_intervenes(workspace):
    _, fingerprint = workspace
    guard = ReadLoopGuard(GuardConfig(enabled=False))
    for _ in range(30):
        assert read(guard, "foo.py", fingerprint=fingerprint) == "run"
    assert guard.level == "ok" and guard.note() is None and guard.force_spec() is None


def test_after_tool_without_before_tool_is_recorded(guard):
    for i in range(8):
        guard.after_tool("read_file", {"path": f"f{i}.py"}, False)
    assert guard.level == "nudge" and guard.step == 8


def test_guard_state_is_a_json_ready_event(guard):
    distinct_reads(guard, 8)
    assert guard.state().to_dict() == {
        "event": "GuardState", "level": "nudge", "reads_since_edit": 8, "allowance": 6,
        "nudge_at": 8, "force_at": 11, "reason": "8 reads since the task began",
    }


# -- invariants -------------------------------------------------------------------------------

calls = st.lists(
    st.tuples(
        st.sampled_from(["read_file", "search", "list_files", "show_diff", "edit_file", "run_tests"]),
        st.sampled_from(["a.py", "b.py", "c.py"]),
        st.booleans(),  # error
        st.integers(min_value=1, max_value=3),  # batch size
    ),
    max_size=40,
)
events = st.lists(
    st.one_of(
        calls.map(lambda c: ("calls", c)),
        st.sampled_from(["applied", "partly applied", "rejected", "failed"]).map(lambda o: ("resolved", o)),
        st.just(("invalid", "bad edit")),
    ),
    max_size=8,
)


def play(guard: ReadLoopGuard, script) -> None:
    for kind, payload in script:
        if kind == "calls":
            for name, path, error, size in payload:
                for i in range(size):
                    call(guard, name, {"path": path}, error=error, batch_index=i, batch_size=size)
        elif kind == "resolved":
            guard.on_proposal_resolved(payload)
        else:
            guard.on_forced_edit_invalid(payload)


@settings(max_examples=150, deadline=None)
@given(script=events)
def test_an_applied_proposal_always_brings_back_ok(script):
    guard = ReadLoopGuard(GuardConfig())
    play(guard, script)
    stopped = guard.level == "stopped"
    guard.on_proposal_resolved("applied")
    if stopped:
        assert guard.level == "stopped"
    else:
        assert guard.state() == GuardState("ok", 0, 6, 8, 11, "")
    guard.reset_task()
    assert guard.level == "ok" and guard.note() is None and guard.force_spec() is None


@settings(max_examples=150, deadline=None)
@given(script=calls, config=st.sampled_from([GuardConfig(), GuardConfig(allowance=0, nudge_at=2, force_at=3)]))
def test_reads_only_raise_the_level_and_refusals_only_come_when_forcing(script, config):
    guard = ReadLoopGuard(config)
    order = ["ok", "nudge", "force", "stopped"]
    before = guard.level
    for name, path, error, size in script:
        for i in range(size):
            decision = guard.before_tool(name, {"path": path}, no_file)
            assert (decision.action == "refuse") == (guard.level == "force" and name in ReadLoopGuard.READ_ONLY)
            guard.after_tool(name, {"path": path}, error, i, size)
            assert order.index(guard.level) >= order.index(before)
            assert (guard.note() is not None) == (guard.level == "nudge")
            assert (guard.force_spec() is not None) == (guard.level == "force")
            before = guard.level


def test_failed_edits_count_as_no_progress_and_repeats_escalate():
    guard = ReadLoopGuard(GuardConfig(allowance=1, nudge_at=3, force_at=5))
    call = {"path": "a.py", "search": "nope", "replace": "x"}
    for _ in range(6):
        guard.before_tool("edit_file", call, lambda p: None)
        guard.after_tool("edit_file", call, True)
    assert guard.level == "force"


def test_successful_edit_calls_are_not_counted_as_reads():
    guard = ReadLoopGuard(GuardConfig(allowance=1, nudge_at=3, force_at=5))
    for i in range(6):
        args = {"path": "a.py", "search": f"line {i}", "replace": "x"}
        guard.before_tool("edit_file", args, lambda p: None)
        guard.after_tool("edit_file", args, False)
    assert guard.level == "ok"


def test_repeated_reads_point_back_then_force_the_next_read():
    from mlxagent.core.guard import RepeatedReads

    repeats = RepeatedReads()
    repeats.new_turn(enabled=True)
    unread = ["b.py"]
    assert repeats.check("read_file", {"path": "a.py"}, lambda: unread) is None
    repeats.record("read_file", {"path": "a.py"}, step=1)
    assert repeats.was_read("a.py") and not repeats.was_read("b.py")
    first = repeats.check("read_file", {"path": "a.py"}, lambda: unread)
    assert first == "Same call as step 1; its result has not changed (see step 1). Next, read b.py with read_file."
    assert repeats.take_next_read() is None  # one repeat only points
    repeats.check("read_file", {"path": "a.py"}, lambda: unread)
    assert repeats.take_next_read() == "b.py" and repeats.take_next_read() is None  # the second makes it so
    # nothing left to read: propose an edit; after an edit the call runs again; edits are not reads
    assert "Propose an edit now with edit_file." in repeats.check("read_file", {"path": "a.py"}, list)
    repeats.edited()
    assert repeats.check("read_file", {"path": "a.py"}, list) is None
    assert repeats.check("edit_file", {"path": "a.py"}, list) is None
    off = RepeatedReads()
    off.new_turn(enabled=False)
    off.record("search", {"pattern": "x"}, step=1)
    assert off.check("search", {"pattern": "x"}, list) is None
