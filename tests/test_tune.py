"""`mlxagent tune`: the dataset from sessions (accepted, rejected, failing tests), rendering that
matches inference, generated traces, the packed/prefix-shared training pass, the adapter store
(MODEL+NAME through the catalog and the runtime), and a few real training steps on SmolLM2."""

from __future__ import annotations

import json
import math

import pytest

from mlxagent import cli
from mlxagent.core.formats import format_for, render_prompt
from mlxagent.core.prompts import SYSTEM_PROMPT
from mlxagent.model import adapters
from mlxagent.tune.adapters import install
from mlxagent.tune.dataset import (SEARCH_NOTE, Example, Trace, accepted_calls, agent_tools, build_dataset,
                                   examples_from_record, render_example, render_texts)
from mlxagent.tune.packing import pack, shared_prefix
from mlxagent.tune.train import TuneSettings

EDIT_ARGS = {"path": "calc.py", "search": "return a - b\n", "replace": "return a + b\n"}


def _call(call_id: str, name: str, args: dict) -> dict:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": json.dumps(args)}}


def _edit_record(outcome: str = "applied", tests_ok: bool | None = True, extra_calls=(), content: str = "",
                 record_id: str = "s1") -> Trace:
    """A session: the user asks, the model reads calc.py, then edits it (outcome, then maybe a test run)."""
    messages = [
        {"role": "user", "content": "add() in calc.py subtracts; fix it"},
        {"role": "assistant", "content": "", "tool_calls": [_call("c1", "read_file", {"path": "calc.py"})]},
        {"role": "tool", "tool_call_id": "c1", "name": "read_file",
         "content": "[step 1] calc.py (2 lines):\n   1| def add(a, b):\n   2|     return a - b"},
        {"role": "assistant", "content": content,
         "tool_calls": [*extra_calls, _call("c2", "edit_file", EDIT_ARGS)]},
        {"role": "tool", "tool_call_id": "c2", "name": "edit_file", "content": "[step 2] Applied."},
        {"role": "assistant", "content": "Fixed add()."},
    ]
    events = [
        {"event": "TurnStarted", "user_text": messages[0]["content"]},
        {"event": "ToolCallStarted", "call_id": "c1", "name": "read_file", "arguments": {"path": "calc.py"}},
        {"event": "ToolCallFinished", "call_id": "c1", "name": "read_file", "arguments": {}, "result": "",
         "is_error": False},
        {"event": "ToolCallStarted", "call_id": "c2", "name": "edit_file", "arguments": EDIT_ARGS},
        {"event": "ProposalReady", "proposal": {"id": "p1", "path": "calc.py", "diff": "..."}},
        {"event": "ProposalResolved", "proposal_id": "p1", "path": "calc.py", "outcome": outcome},
    ]
    if tests_ok is not None and outcome in ("applied", "partly applied"):
        events.append({"event": "TestResult", "call_id": "t1", "ok": tests_ok, "after_edit": "p1"})
    events += [{"event": "ToolCallFinished", "call_id": "c2", "name": "edit_file", "arguments": EDIT_ARGS,
                "result": "", "is_error": False},
               {"event": "TurnFinished", "reason": "done"}]
    for n, e in enumerate(events):
        e.update(seq=n, n_messages=len(messages))
    return Trace(record_id, messages, events)


@pytest.fixture(scope="module")
def tokenizer(tiny_model_dir):
    from mlx_lm.utils import load

    return load(str(tiny_model_dir))[1]


# -- which calls are targets ----------------------------------------------------------------------

def test_an_accepted_edit_whose_tests_pass_is_a_target():
    record = _edit_record()
    (example,) = examples_from_record(record)
    assert example.source == "s1#3"
    assert example.messages[0] == {"role": "system", "content": SYSTEM_PROMPT}
    assert example.messages[1:] == record.messages[:3]  # everything before the assistant message
    assert example.target["role"] == "assistant"
    assert [c["function"]["name"] for c in example.target["tool_calls"]] == ["edit_file"]
    assert json.loads(example.target["tool_calls"][0]["function"]["arguments"]) == EDIT_ARGS
    assert example.tools == agent_tools()
    assert [t["function"]["name"] for t in example.tools][:6] == ["list_files", "read_file", "search", "show_diff",
                                                                  "edit_file", "write_file"]


@pytest.mark.parametrize("outcome,tests_ok", [("rejected", None), ("failed", None), ("partly applied", True),
                                              ("applied", False)])
def test_rejected_failed_partial_or_test_breaking_edits_are_never_targets(outcome, tests_ok):
    assert examples_from_record(_edit_record(outcome, tests_ok)) == []
    assert examples_from_record(_edit_record(outcome, tests_ok), include_reads=True) == []


def test_an_accepted_edit_without_a_test_run_is_a_target():
    assert len(examples_from_record(_edit_record(tests_ok=None))) == 1


def test_a_call_that_proposed_nothing_is_not_a_target():
    record = _edit_record()
    record.events = [e for e in record.events if e["event"] not in ("ProposalReady", "ProposalResolved", "TestResult")]
    assert accepted_calls(record) == {}


def test_only_the_accepted_edit_of_a_message_is_learnt():
    record = _edit_record(extra_calls=[_call("c9", "list_files", {"path": "."})])
    (example,) = examples_from_record(record)
    assert [c["id"] for c in example.target["tool_calls"]] == ["c2"]


def test_the_candidate_search_sentence_is_not_learnt_but_its_edit_is():
    (example,) = examples_from_record(_edit_record(content=SEARCH_NOTE + ": flipped a sign."))
    assert example.target["content"] == ""
    (own,) = examples_from_record(_edit_record(content="The sign is wrong."))
    assert own.target["content"] == "The sign is wrong."


def test_reads_leading_to_an_accepted_edit_are_targets_when_asked():
    examples = examples_from_record(_edit_record(), include_reads=True)
    assert [e.source for e in examples] == ["s1#1", "s1#3"]
    assert examples[0].target["tool_calls"][0]["function"]["name"] == "read_file"
    assert examples[0].messages[1:] == _edit_record().messages[:1]


def test_arguments_follow_the_schema_order():
    record = _edit_record()
    record.messages[3]["tool_calls"][0]["function"]["arguments"] = json.dumps(
        {"replace": EDIT_ARGS["replace"], "path": "calc.py", "search": EDIT_ARGS["search"]})
    (example,) = examples_from_record(record)
    assert list(json.loads(example.target["tool_calls"][0]["function"]["arguments"])) == ["path", "search", "replace"]


def test_a_saved_system_prompt_is_used():
    record = _edit_record()
    record.settings = {"system_prompt": "Be brief."}
    assert examples_from_record(record)[0].messages[0]["content"] == "Be brief."


# -- rendering matches inference -----------------------------------------------------------------

def test_prompt_is_exactly_what_the_agent_renders_and_the_completion_is_the_call(tokenizer):
    (example,) = examples_from_record(_edit_record())
    prompt, completion = render_texts(tokenizer, "prompted_hermes", example)
    assert prompt == render_prompt(tokenizer, format_for("prompted_hermes"), example.messages, example.tools)
    assert prompt.endswith("<|im_start|>assistant\n")
    call = format_for("prompted_hermes").call_text("edit_file", EDIT_ARGS)
    assert completion.startswith(call + "<|im_end|>")
    rendered = render_example(tokenizer, "prompted_hermes", example)
    assert rendered.tokens[:rendered.offset] == tokenizer.encode(prompt, add_special_tokens=False)
    assert rendered.tokens[-1] in set(tokenizer.eos_token_ids)
    assert tokenizer.decode(rendered.tokens[rendered.offset:]) == call + "<|im_end|>"
    # what the parser reads back from the completion is the call
    parsed = format_for("prompted_hermes").parse(call, example.tools)
    assert [(c.name, c.arguments) for c in parsed.calls] == [("edit_file", EDIT_ARGS)]


def test_overlong_examples_are_dropped_and_counted(tokenizer):
    examples = examples_from_record(_edit_record(), include_reads=True)
    lengths = [len(render_example(tokenizer, "prompted_hermes", e).tokens) for e in examples]
    data = build_dataset(tokenizer, "prompted_hermes", examples, max_seq_length=min(lengths))
    assert len(data) == 1 and data.dropped_long == 1


def test_a_conversation_packs_into_one_sequence_with_both_targets(tokenizer):
    examples = examples_from_record(_edit_record(), include_reads=True)
    data = build_dataset(tokenizer, "prompted_hermes", examples, 8192)
    (seq,) = pack(data.items)
    read, edit = data.items
    assert seq.tokens == edit.tokens
    assert seq.spans == [(read.offset, len(read.tokens)), (edit.offset, len(edit.tokens))]
    other = build_dataset(tokenizer, "prompted_hermes", examples_from_record(_edit_record(record_id="s2")), 8192)
    seqs = pack(data.items + other.items)
    assert len(seqs) == 2
    p = shared_prefix(seqs)
    assert 0 < p < read.offset
    assert all(s.tokens[:p] == seqs[0].tokens[:p] for s in seqs)


# -- generated traces -------------------------------------------------------------------------------

def test_small_change_is_the_changed_line_as_a_traceback_shows_it():
    from mlxagent.tune.synthetic import small_change

    old = "def f(n):\n    count, n = divmod(7, n)\n    return count\n"
    assert small_change(old, old.replace("divmod(7, n)", "divmod(n, 7)")) == (
        "count, n = divmod(7, n)", "count, n = divmod(n, 7)")
    twice = "x = 1\ny = 2\nx = 1\n"  # not unique as one line: whole lines, widened until unique
    search, replace = small_change(twice, "x = 5\ny = 2\nx = 1\n")
    assert (search, replace) == ("x = 1\ny = 2\n", "x = 5\ny = 2\n")
    grown = small_change(old, old.replace("    return count\n", "    if n:\n        return 0\n    return count\n"))
    assert grown[0].endswith("return count\n") and "if n:" in grown[1]


def test_small_change_edge_cases_still_apply_to_the_file():
    from mlxagent.tune.synthetic import small_change

    assert small_change("a = 1\n", "a = 1\n") == ("", "")
    # the last line without a newline, and a CRLF file: one line, no line end in search or replace
    assert small_change("x = 1\ny = 2", "x = 1\ny = 3") == ("y = 2", "y = 3")
    assert small_change("x = 1\r\ny = 2\r\n", "x = 1\r\ny = 3\r\n") == ("y = 2", "y = 3")
    # more indentation: the line without its old indentation, the replace carrying the extra
    old = "def f():\n    return 1\n"
    new = "def f():\n        return 1\n"
    assert small_change(old, new) == ("return 1", "    return 1")
    # whatever form it takes, replacing search by replace in old gives new
    for before, after in [("x = 1\ny = 2", "x = 1\ny = 3"), (old, new),
                          ("a\nb = f(1, 2)\nc\n", "a\nb = f(2, 1)\nc\n")]:
        search, replace = small_change(before, after)
        assert before.count(search) == 1 and before.replace(search, replace) == after


def test_a_generated_trace_reads_the_file_then_makes_the_exact_fix():
    from mlxagent.tasksuite import generate
    from mlxagent.tune.synthetic import TRAIN_SEED, small_change, solved, task_trace

    task = generate(TRAIN_SEED, 1)[0]
    trace = task_trace(task, "smollm2-135m", "prompted_hermes")
    assert solved(trace)
    read, edit = examples_from_record(trace, include_reads=True)
    (path, fixed), = task.fixed.items()
    assert json.loads(read.target["tool_calls"][0]["function"]["arguments"]) == {"path": path}
    search, replace = small_change(task.files[path], fixed)
    args = json.loads(edit.target["tool_calls"][0]["function"]["arguments"])
    assert args == {"path": path, "search": search, "replace": replace}
    # what the agent itself put in front of the model: the failing tests, the numbered file
    assert "[The tests, run before any change]" in read.messages[1]["content"]
    assert edit.messages[-1]["role"] == "tool" and edit.messages[-1]["content"].startswith("[step 1]")
    assert not examples_from_record(trace)[0].target["tool_calls"][0]["function"]["name"] == "read_file"


def test_a_retry_trace_learns_the_fix_after_the_undone_wrong_edit_not_the_wrong_edit():
    from mlxagent.tasksuite import generate
    from mlxagent.tune.synthetic import TRAIN_SEED, small_change, solved, task_trace

    task = generate(TRAIN_SEED, 2)[1]
    trace = task_trace(task, "smollm2-135m", "prompted_hermes", retry=True)
    assert solved(trace)
    tests = [e["ok"] for e in trace.events if e["event"] == "TestResult" and e.get("after_edit")]
    assert tests == [False, True]  # the wrong edit failed the tests (and was undone), the fix passed
    read, fix = examples_from_record(trace, include_reads=True)
    (path, fixed), = task.fixed.items()
    assert json.loads(fix.target["tool_calls"][0]["function"]["arguments"])["search"] == \
        small_change(task.files[path], fixed)[0]
    assert "The edit was undone because the tests still fail" in fix.messages[-1]["content"]
    assert read.target["tool_calls"][0]["function"]["name"] == "read_file"


def test_the_evaluation_tasks_share_no_module_with_the_traces():
    from mlxagent.tasksuite import HELDOUT, MAIN, generate
    from mlxagent.tune.evaluate import EVAL_SEED, eval_tasks
    from mlxagent.tune.synthetic import TRAIN_SEED

    assert EVAL_SEED != TRAIN_SEED
    assert {t.module for t in eval_tasks(8)} <= set(HELDOUT)
    assert {t.module for t in generate(TRAIN_SEED, 40)} <= set(MAIN)


# -- the training pass --------------------------------------------------------------------------------

def _plain_loss(model, seqs):
    """Mean cross-entropy of the targets from one ordinary forward pass per sequence."""
    import mlx.core as mx
    import mlx.nn as nn

    total, count = 0.0, 0
    for s in seqs:
        logits = model(mx.array([s.tokens[:-1]]))[0]
        for a, b in s.spans:
            ce = nn.losses.cross_entropy(logits[a - 1:b - 1], mx.array(s.tokens[a:b]))
            total += ce.sum().item()
            count += b - a
    return total / count


def test_the_prefix_shared_and_prepared_passes_equal_the_plain_forward(tiny_model_dir, tokenizer):
    import mlx.core as mx
    from mlx.utils import tree_flatten, tree_unflatten
    from mlx_lm.tuner.utils import linear_to_lora_layers

    from mlxagent.model.runtime import load_model_dir
    from mlxagent.tune.forward import layered, make_loss, prepare
    from mlxagent.tune.packing import iterate_packed

    model = load_model_dir(tiny_model_dir, "tiny").model
    examples = (examples_from_record(_edit_record(), include_reads=True)
                + examples_from_record(_edit_record(record_id="s2", content="x")))
    seqs = pack(build_dataset(tokenizer, "prompted_hermes", examples, 8192).items)
    p = shared_prefix(seqs)
    assert layered(model)
    mx.random.seed(3)
    model.freeze()
    linear_to_lora_layers(model, 1, {"rank": 4, "scale": 10.0, "dropout": 0.0})
    nonzero = [(name, mx.random.normal(value.shape) * 0.05)  # so that the adapter matters
               for name, value in tree_flatten(model.trainable_parameters()) if name.endswith("lora_b")]
    model.update(tree_unflatten(nonzero))
    expected = _plain_loss(model, seqs)
    tokens = next(iterate_packed(p, 0)(seqs, 2, 8192))
    loss, n = make_loss(model, p)(model, *tokens)
    assert n.item() == sum(s.target_tokens for s in seqs)
    assert loss.item() == pytest.approx(expected, rel=1e-4)
    prepared = prepare(model, seqs, p, first=1)
    hidden = next(iterate_packed(p, 0, prepared)(seqs, 2, 8192))
    loss2, _ = make_loss(model, p, prepared)(model, *hidden)
    assert loss2.item() == pytest.approx(expected, rel=1e-4)


# -- the adapter store --------------------------------------------------------------------------------

def _fake_adapter(tmp_path, base="smollm2-135m", name="x"):
    staging = tmp_path / "staging"
    staging.mkdir(parents=True)
    (staging / adapters.CONFIG).write_text(json.dumps({"fine_tune_type": "lora", "num_layers": 1,
                                                       "lora_parameters": {"rank": 2, "scale": 1.0}}))
    import mlx.core as mx

    mx.save_safetensors(str(staging / adapters.WEIGHTS), {"model.layers.0.mlp.up_proj.lora_a": mx.zeros((64, 2)),
                                                          "model.layers.0.mlp.up_proj.lora_b": mx.zeros((2, 128))})
    return install(staging, base, name, {"steps": 1})


def test_an_adapter_is_listed_resolved_and_removable_as_model_plus_name(tmp_path):
    from mlxagent.errors import ModelError
    from mlxagent.model import catalog, registry

    info = _fake_adapter(tmp_path)
    assert info.name == "smollm2-135m+x" and info.path.name == "smollm2-135m+x"
    listed = {m.name: m for m in catalog.installed_models()}
    assert listed["smollm2-135m+x"].source == "tuned" and listed["smollm2-135m+x"].path == info.path
    assert catalog.resolve("smollm2-135m+x") == (info.path, "smollm2-135m+x")
    with pytest.raises(ModelError, match="No tuned model 'smollm2-135m\\+nope'"):
        catalog.resolve("smollm2-135m+nope")
    registry.forget(info.path)
    assert "smollm2-135m+x" not in {m.name for m in catalog.installed_models()}
    with pytest.raises(ModelError, match="taken off the list"):
        catalog.resolve("smollm2-135m+x")
    _fake_adapter(tmp_path / "again")  # tuning it again brings it back
    assert "smollm2-135m+x" in {m.name for m in catalog.installed_models()}


def test_adapter_names_are_checked():
    from mlxagent.errors import ModelError

    for bad in ("", "a+b", "../x", "a b"):
        with pytest.raises(ModelError):
            adapters.check_name(bad)
    assert adapters.split_spec("smollm2-135m+mine") == ("smollm2-135m", "mine")
    assert adapters.split_spec("smollm2-135m") is None


def test_an_adapter_that_does_not_fit_is_one_clear_error(tmp_path, tiny_model_dir):
    import mlx.core as mx

    from mlxagent.errors import ModelError
    from mlxagent.model.runtime import load_model_dir

    info = _fake_adapter(tmp_path)
    mx.save_safetensors(str(info.path / adapters.WEIGHTS), {"model.layers.9.mlp.up_proj.lora_a": mx.zeros((64, 2)),
                                                            "model.layers.9.mlp.up_proj.lora_b": mx.zeros((2, 128))})
    with pytest.raises(ModelError, match="does not fit"):
        adapters.apply(load_model_dir(tiny_model_dir, "tiny").model, info.path)


# -- the command ----------------------------------------------------------------------------------------

def test_tune_without_sessions_or_synthetic_says_so_in_one_line(capsys):
    assert cli.main(["tune"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("mlxagent: No saved sessions with accepted edits") and "--synthetic" in err
    assert len(err.splitlines()) == 1


@pytest.mark.parametrize("argv,words", [(["tune", "--name", "a+b"], "Adapter name"),
                                        (["tune", "--steps", "0", "--synthetic", "1"], "--steps"),
                                        (["tune", "--repo", "/no/such/dir", "--synthetic", "1"], "no such folder"),
                                        (["tune", "--eval-only", "--name", "never"], "No tuned model"),
                                        (["tune", "--no-sessions"], "Nothing to learn from")])
def test_bad_tune_input_is_one_line(argv, words, capsys):
    assert cli.main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert words in err and len(err.splitlines()) == 1 and "Traceback" not in err


def test_dry_run_shows_the_dataset(capsys, real_model_dir):
    assert cli.main(["tune", "--synthetic", "2", "--dry-run", "--model", str(real_model_dir)]) == 0
    out = capsys.readouterr().out
    assert "dataset: 4 examples (0 from 0 session(s), 4 from 2 generated trace(s))" in out
    assert "2 sequences" in out
    assert adapters.list_adapters() == []


# -- real training on SmolLM2 ----------------------------------------------------------------------------

def _short_examples() -> list[Example]:
    """Two tiny conversations (a short system prompt, no tool list), so a few real steps take seconds."""
    tools: list = []
    out = []
    for n, (a, b) in enumerate([("-", "+"), ("*", "/")]):
        record = _edit_record(record_id=f"short{n}")
        args = {"path": "calc.py", "search": f"return a {a} b\n", "replace": f"return a {b} b\n"}
        record.messages[3]["tool_calls"][0]["function"]["arguments"] = json.dumps(args)
        out += examples_from_record(record, system_prompt="You fix code.", tools=tools)
    return out


@pytest.mark.real_model
def test_a_few_real_steps_make_an_adapter_that_loads_by_name_and_changes_the_output(real_model, real_model_dir):
    import mlx.core as mx

    from mlxagent.model.runtime import ModelRuntime, load_model_dir
    from mlxagent.tune.command import train_into_store

    examples = _short_examples()
    fmt = "prompted_hermes"
    fresh = load_model_dir(real_model_dir, "smollm2-135m")
    data = build_dataset(fresh.tokenizer, fmt, examples, 2048)
    settings = TuneSettings(steps=3, batch_size=2, layers=2, rank=4, learning_rate=5e-3, warmup=0, save_every=2)
    seen = []
    result, info = train_into_store(fresh, "smollm2-135m", real_model_dir, "test", data, settings,
                                    progress=seen.append)
    assert not result.cancelled and result.steps == 3 and info is not None
    assert [p.step for p in seen if p.stage == "training"] == [1, 2, 3]
    assert all(math.isfinite(p.loss) for p in seen if p.stage == "training")
    meta = json.loads((info.path / adapters.META).read_text())
    assert meta["base"] == "smollm2-135m" and meta["steps"] == 3 and meta["dataset"]["examples"] == 2
    assert sorted(p.name for p in info.path.iterdir()) == ["adapter_config.json", "adapters.safetensors", "tune.json"]

    tuned = ModelRuntime().load("smollm2-135m+test")  # through the catalog, as --model and /model do
    assert tuned.name == "smollm2-135m+test" and tuned.info["adapter"] == str(info.path)
    prompt = mx.array([data.items[0].tokens[:data.items[0].offset]])
    base_logits = real_model.model(prompt)[0, -1]
    tuned_logits = tuned.model(prompt)[0, -1]
    assert not mx.allclose(base_logits, tuned_logits, atol=1e-3).item()
    # the update fused into the dequantised weights computes what the trained LoRA layers did
    assert mx.allclose(fresh.model(prompt)[0, -1], tuned_logits, atol=1e-3).item()
    # the first target token: the tuned model prefers it more than the base does
    target = data.items[0].tokens[data.items[0].offset]
    assert (mx.softmax(tuned_logits)[target] > mx.softmax(base_logits)[target]).item()


def test_cancel_before_a_checkpoint_saves_nothing(tiny_model_dir):
    import threading

    from mlxagent.model.runtime import load_model_dir
    from mlxagent.tune.command import train_into_store

    fresh = load_model_dir(tiny_model_dir, "tiny")
    data = build_dataset(fresh.tokenizer, "prompted_hermes", _short_examples(), 2048)
    cancel = threading.Event()

    def progress(p):
        if p.stage == "training":
            cancel.set()

    settings = TuneSettings(steps=5, batch_size=2, layers=1, rank=2, save_every=4)
    result, info = train_into_store(fresh, "tiny", tiny_model_dir, "cut", data, settings,
                                    progress=progress, cancel=cancel)
    assert result.cancelled and result.steps == 1 and result.saved_step == 0 and info is None
    assert adapters.find("tiny+cut") is None
    assert not any(adapters.root().glob(".tune-*"))


def test_cancel_after_a_checkpoint_keeps_it(tiny_model_dir):
    import threading

    from mlxagent.model.runtime import load_model_dir
    from mlxagent.tune.command import train_into_store

    fresh = load_model_dir(tiny_model_dir, "tiny")
    data = build_dataset(fresh.tokenizer, "prompted_hermes", _short_examples(), 2048)
    cancel = threading.Event()

    def progress(p):
        if p.stage == "training" and p.step == 2:
            cancel.set()

    settings = TuneSettings(steps=6, batch_size=2, layers=1, rank=2, save_every=1)
    result, info = train_into_store(fresh, "tiny", tiny_model_dir, "cut", data, settings,
                                    progress=progress, cancel=cancel)
    assert result.cancelled and result.steps == 2
    assert result.saved_step == 1  # step 2 was stopped before its save
    assert info is not None and json.loads((info.path / adapters.META).read_text())["steps"] == 1
    assert sorted(p.name for p in info.path.iterdir()) == ["adapter_config.json", "adapters.safetensors", "tune.json"]


def test_unfused_and_fused_adapters_compute_the_same(tiny_model_dir, tmp_path):
    import mlx.core as mx

    from mlxagent.model.runtime import load_model_dir

    staging = tmp_path / "a"
    staging.mkdir()
    (staging / adapters.CONFIG).write_text(json.dumps({"fine_tune_type": "lora", "num_layers": 1,
                                                       "lora_parameters": {"rank": 2, "scale": 3.0}}))
    mx.random.seed(1)
    mx.save_safetensors(str(staging / adapters.WEIGHTS), {
        "model.layers.1.self_attn.q_proj.lora_a": mx.random.normal((64, 2)) * 0.1,
        "model.layers.1.self_attn.q_proj.lora_b": mx.random.normal((2, 64)) * 0.1,
        "model.layers.1.mlp.down_proj.lora_a": mx.random.normal((128, 2)) * 0.1,
        "model.layers.1.mlp.down_proj.lora_b": mx.random.normal((2, 64)) * 0.1})
    x = mx.array([[5, 6, 7, 8, 9]])
    base = load_model_dir(tiny_model_dir, "tiny").model
    fused, unfused = load_model_dir(tiny_model_dir, "tiny").model, load_model_dir(tiny_model_dir, "tiny").model
    assert adapters.apply(fused, staging, fuse=True) == 2
    adapters.apply(unfused, staging, fuse=False)
    assert mx.allclose(fused(x), unfused(x), atol=1e-4).item()
    assert not mx.allclose(fused(x), base(x), atol=1e-4).item()


# -- end to end: a real saved session --------------------------------------------------------------------

def test_a_session_saved_by_the_recorder_becomes_examples(tmp_path, capsys, real_model_dir):
    from mlxagent.core.saved_sessions import SessionRecorder, SessionStore
    from mlxagent.tasksuite import generate, materialize
    from mlxagent.tasksuite.harness import build_agent
    from mlxagent.tune.command import session_examples
    from mlxagent.tune.synthetic import ScriptedModel, fix_calls, quiet_pytest

    task = generate(5, 1)[0]
    repo = materialize(task, tmp_path / "repo")
    with quiet_pytest():
        agent = build_agent(repo, "d", ScriptedModel("smollm2-135m", "prompted_hermes", fix_calls(task, "prompted_hermes")),
                            max_steps=6, max_tokens=256)
        store = SessionStore()  # the default database, as the TUI and `mlxagent run` use it
        recorder = SessionRecorder(store, agent, str(repo))
        for _ in recorder.record(agent.run_turn(task.text)):
            pass
    (record,) = list(store.records())
    assert any(e["event"] == "ProposalResolved" and e["outcome"] == "applied" for e in record.events)
    (example,) = examples_from_record(record)
    assert example.messages[1:] == record.messages[:len(example.messages) - 1]
    assert json.loads(example.target["tool_calls"][0]["function"]["arguments"])["path"] == f"{task.module}.py"
    examples, sessions = session_examples(str(repo))
    assert sessions == 1 and len(examples) == 1
    assert session_examples(str(tmp_path)) == ([], 0)  # another repository's sessions are not used
    store.close()
    assert cli.main(["tune", "--dry-run", "--model", str(real_model_dir)]) == 0
    assert "dataset: 1 examples (1 from 1 session(s), 0 from 0 generated trace(s))" in capsys.readouterr().out


def test_the_tune_package_does_not_load_textual_or_rich_on_import():
    import subprocess
    import sys

    code = ("import sys\n"
            "import mlxagent.tune.adapters, mlxagent.tune.dataset, mlxagent.tune.train, mlxagent.tune.evaluate\n"
            "import mlxagent.tune.synthetic, mlxagent.tune.command, mlxagent.tasksuite.harness\n"
            "print(','.join(sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich'))))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""
