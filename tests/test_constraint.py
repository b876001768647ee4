"""Grammar-constrained tool calls (llguidance as an mlx-lm logits processor).

Most tests drive the processor the way mlx-lm does, one token at a time, with scripted
tokens and flat logits: fast, and exact about which tokens each step allows. The last
ones generate with the real SmolLM2 model.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import mlx.core as mx
import numpy as np
import pytest

from mlxagent.core.formats import (
    ConstraintError,
    ToolCallConstraint,
    constrain_tool_call,
    forced_edit_tools,
    format_for,
    render_prompt,
)
from mlxagent.core.formats.constraint import ll_tokenizer

READ = {"type": "function", "function": {
    "name": "read_file", "description": "Read a file.",
    "parameters": {"type": "object", "properties": {
        "path": {"type": "string"}, "start": {"type": "integer"}}, "required": ["path"]}}}
EDIT = {"type": "function", "function": {
    "name": "edit_file", "description": "Replace text in a file.",
    "parameters": {"type": "object", "properties": {
        "path": {"type": "string"}, "search": {"type": "string"}, "replace": {"type": "string"}},
        "required": ["path", "search", "replace"]}}}
WRITE = {"type": "function", "function": {
    "name": "write_file", "description": "Write a whole file.",
    "parameters": {"type": "object", "properties": {
        "path": {"type": "string"}, "content": {"type": "string"}}, "required": ["path", "content"]}}}
TOOLS = [READ, EDIT, WRITE]
SMOLLM_VOCAB = 49152
EOS = 2  # <|im_end|>


@pytest.fixture(scope="module")
def special_tokenizer(real_model_dir):
    """SmolLM2's vocabulary plus markers as single special tokens, as in Qwen/Hermes/Mistral vocabularies."""
    from mlx_lm.tokenizer_utils import TokenizerWrapper
    from tokenizers import AddedToken, Tokenizer
    from transformers import PreTrainedTokenizerFast

    raw = Tokenizer.from_file(str(real_model_dir / "tokenizer.json"))
    raw.add_special_tokens([AddedToken(t, special=True) for t in ("<tool_call>", "</tool_call>", "[TOOL_CALLS]")])
    return TokenizerWrapper(PreTrainedTokenizerFast(tokenizer_object=raw, eos_token="<|im_end|>"))


@dataclass
class Step:
    masked: bool  # the processor changed the logits
    allowed: np.ndarray  # bool per vocabulary id


def drive(proc, ids: list[int], vocab: int = SMOLLM_VOCAB, prompt=(1, 2, 3)) -> list[Step]:
    """Feed `ids` as if each were sampled, as mlx-lm calls a logits processor.

    Returns the step before each id, plus the one after the last; stops early at the
    first id the processor refuses (that step is the last one returned).
    """
    tokens = list(prompt)
    steps = []
    for want in [*ids, None]:
        logits = mx.zeros((1, vocab))
        out = proc(mx.array(tokens), logits)
        steps.append(Step(out is not logits, np.array(mx.isfinite(out)[0])))
        if want is None or not steps[-1].allowed[want]:
            break
        tokens.append(want)
    return steps


def encode(tokenizer, *pieces: str) -> list[int]:
    """Token ids for text pieces encoded separately, so a marker can be split where a test wants."""
    return [i for piece in pieces for i in tokenizer.encode(piece, add_special_tokens=False)]


def refused_after(tokenizer, proc, text: str) -> str | None:
    """The text accepted before the first token the processor refuses (None: all of it accepted)."""
    ids = encode(tokenizer, text)
    steps = drive(proc, ids)
    if len(steps) == len(ids) + 1:
        return None
    return tokenizer.decode(ids[:len(steps) - 1])


# ---- not forced: dormant until the start marker ------------------------------------------------------

def test_dormant_until_a_split_marker_then_constrained_through_the_end_marker(smollm_tokenizer):
    fmt = format_for("prompted_hermes")
    proc = ToolCallConstraint(smollm_tokenizer, fmt, TOOLS, forced=False)
    # The marker arrives in pieces ("<", "tool", "_", "c" | "all", ">"), and the token that completes it
    # could as well carry the body's first bytes. (Each piece is encoded on its own; inside the call the
    # tokens must be canonical, as llguidance only offers a forced string's canonical tokens.)
    ids = encode(smollm_tokenizer, "Sure, I will read it. <tool_c",
                 'all>\n{"name": "read_file", "arguments": {"path": "a.py"}}\n</tool_call>', " Done, reading.")
    steps = drive(proc, ids)
    assert len(steps) == len(ids) + 1  # the valid call went through untouched
    # Which steps were masked: from the token completing "<tool_call>" to the one completing "</tool_call>".
    opened = next(i for i in range(len(ids)) if "<tool_call>" in smollm_tokenizer.decode(ids[:i + 1]))
    closed = next(i for i in range(len(ids)) if "</tool_call>" in smollm_tokenizer.decode(ids[:i + 1]))
    assert [s.masked for s in steps] == [i > opened and i <= closed for i in range(len(steps))]
    assert all(s.allowed.all() for s in steps if not s.masked)
    assert proc.calls_completed == 1 and proc.error == "" and not proc.active
    assert format_for("prompted_hermes").parse(smollm_tokenizer.decode(ids), TOOLS).calls[0].arguments == {"path": "a.py"}


def test_a_started_call_cannot_name_an_unknown_tool_or_argument(smollm_tokenizer):
    fmt = format_for("prompted_hermes")
    new = lambda: ToolCallConstraint(smollm_tokenizer, fmt, TOOLS, forced=False)  # noqa: E731
    bad_name = refused_after(smollm_tokenizer, new(), 'Ok <tool_call>\n{"name": "delete_all", "arguments": {}}')
    assert bad_name is not None and bad_name.endswith('{"name": "')
    bad_arg = refused_after(smollm_tokenizer, new(), '<tool_call>{"name": "read_file", "arguments": {"mode": "x"}}')
    assert bad_arg is not None and bad_arg.endswith('"arguments": {"')
    # EOS is refused inside the call: a call that begins always ends
    proc = new()
    steps = drive(proc, encode(smollm_tokenizer, '<tool_call>\n{"name": "read_file", "arguments": {"path": "a'))
    assert steps[-1].masked and not steps[-1].allowed[EOS]


def test_dormant_leaves_plain_text_alone_and_two_calls_are_both_constrained(smollm_tokenizer):
    fmt = format_for("prompted_hermes")
    proc = ToolCallConstraint(smollm_tokenizer, fmt, TOOLS, forced=False)
    call = fmt.call_text("read_file", {"path": "a.py"})
    ids = encode(smollm_tokenizer, "No tools: just <b>text</b> and <tool> words. ", call, "\n", call)
    steps = drive(proc, ids)
    assert len(steps) == len(ids) + 1 and proc.calls_completed == 2
    plain = encode(smollm_tokenizer, "No tools: just <b>text</b> and <tool> words. ")
    assert not any(s.masked for s in steps[:len(plain) + 1])


def test_special_token_markers_are_matched_by_id(special_tokenizer):
    start, end = special_tokenizer.convert_tokens_to_ids(["<tool_call>", "</tool_call>"])
    assert start >= SMOLLM_VOCAB and end >= SMOLLM_VOCAB
    vocab = SMOLLM_VOCAB + 8  # the model's vocab is padded past the tokenizer's
    proc = ToolCallConstraint(special_tokenizer, format_for("hermes"), TOOLS, forced=False)
    assert f"<[{start}]>" in proc.grammar and f"<[{end}]>" in proc.grammar
    ids = encode(special_tokenizer, 'Reading. <tool_call>\n{"name": "read_file", "arguments": {"path": "x"}}\n</tool_call>')
    assert start in ids and end in ids
    steps = drive(proc, ids, vocab=vocab)
    assert len(steps) == len(ids) + 1
    masked = [s for s in steps if s.masked]
    assert masked and all(not s.allowed[len(special_tokenizer):].any() for s in masked)  # padding never allowed
    text_lt = encode(special_tokenizer, "</")[0]
    assert not steps[ids.index(end)].allowed[text_lt]  # the end marker must be the special token
    assert proc.calls_completed == 1 and not steps[-1].masked

    forced = ToolCallConstraint(special_tokenizer, format_for("hermes"), TOOLS, forced=True)
    first = drive(forced, [], vocab=vocab)[0]
    assert np.flatnonzero(first.allowed).tolist() == [start]


def test_bare_json_calls_are_constrained_only_when_the_reply_opens_with_a_brace(smollm_tokenizer):
    fmt = format_for("llama3_json")
    opens = ToolCallConstraint(smollm_tokenizer, fmt, TOOLS, forced=False)
    refused = refused_after(smollm_tokenizer, opens, ' {"name": "rm", "parameters": {}}')
    assert refused is not None and refused.endswith('"name": "')
    talks = ToolCallConstraint(smollm_tokenizer, fmt, TOOLS, forced=False)
    steps = drive(talks, encode(smollm_tokenizer, 'Sure: {"name": "rm", "parameters": {}}'))
    assert not any(s.masked for s in steps)
    valid = ToolCallConstraint(smollm_tokenizer, fmt, TOOLS, forced=False)
    ids = encode(smollm_tokenizer, fmt.call_text("read_file", {"path": "a", "start": 2}))
    steps = drive(valid, ids)
    assert len(steps) == len(ids) + 1 and valid.calls_completed == 1
    tagged = ToolCallConstraint(smollm_tokenizer, fmt, TOOLS, forced=False)
    refused = refused_after(smollm_tokenizer, tagged, '<|python_tag|>{"name": "rm", "parameters": {}}')
    assert refused is not None and refused.endswith('{"name": "')


def test_a_marker_completed_by_a_token_the_grammar_refuses_gives_up_without_breaking(smollm_tokenizer):
    proc = ToolCallConstraint(smollm_tokenizer, format_for("prompted_hermes"), TOOLS, forced=False)
    [closing] = [i for i in range(SMOLLM_VOCAB) if smollm_tokenizer.decode([i]) == ">."]  # ">" + a bad body byte
    ids = encode(smollm_tokenizer, "See <tool_call") + [closing] + encode(smollm_tokenizer, " and more text")
    steps = drive(proc, ids)
    assert len(steps) == len(ids) + 1 and not any(s.masked for s in steps)
    assert proc.error and not proc.active


# ---- forced: one call, then only EOS ----------------------------------------------------------------

@pytest.mark.parametrize("name", ["prompted_hermes", "hermes", "llama3_json", "mistral", "qwen3_coder"])
def test_forced_call_in_each_format_then_only_eos(smollm_tokenizer, name):
    fmt = format_for(name)
    proc = ToolCallConstraint(smollm_tokenizer, fmt, TOOLS, forced=True)
    text = fmt.call_text("edit_file", {"path": "a.py", "search": 'x = "1"', "replace": "x = 2\ny = 3"})
    ids = encode(smollm_tokenizer, text)
    steps = drive(proc, ids)
    assert len(steps) == len(ids) + 1, f"refused after {smollm_tokenizer.decode(ids[:len(steps) - 1])!r}"
    assert all(s.masked for s in steps)
    assert np.flatnonzero(steps[-1].allowed).tolist() == [EOS]
    assert not steps[0].allowed[encode(smollm_tokenizer, "Hello")[0]]  # no chatting before the call


@pytest.mark.parametrize("name", ["prompted_hermes", "llama3_json", "mistral", "qwen3_coder"])
def test_forced_edit_schema_limits_paths_and_search_text(smollm_tokenizer, tmp_path, name):
    (tmp_path / "app.py").write_text("def main():\n    return 1\n")
    lines = (tmp_path / "app.py").read_text().splitlines(keepends=True)
    tools = forced_edit_tools(TOOLS, ["app.py"], {"app.py": lines})
    fmt = format_for(name)
    new = lambda: ToolCallConstraint(smollm_tokenizer, fmt, tools, forced=True)  # noqa: E731
    good = fmt.call_text("edit_file", {"path": "app.py", "search": "    return 1", "replace": "    return 2"})
    assert refused_after(smollm_tokenizer, new(), good) is None
    bads = [{"path": "zzz.py", "search": "    return 1", "replace": ""},
            {"path": "app.py", "search": "    return 7", "replace": ""}]
    if name != "qwen3_coder":  # XML parameter values are free text up to </parameter>: no pattern there
        bads.append({"path": "app.py", "search": "    return 1", "replace": "    return 1"})  # a no-op edit
    for bad in bads:
        assert refused_after(smollm_tokenizer, new(), fmt.call_text("edit_file", bad)) is not None
    assert refused_after(smollm_tokenizer, new(), fmt.call_text("read_file", {"path": "app.py"})) is not None


# ---- building and reuse ---------------------------------------------------------------------------

def test_schema_is_returned_and_bad_schemas_are_one_line_errors(smollm_tokenizer):
    proc, schema = constrain_tool_call(smollm_tokenizer, "hermes", [READ], forced=True)
    assert isinstance(proc, ToolCallConstraint)
    assert schema["properties"]["name"] == {"const": "read_file"}
    assert schema["properties"]["arguments"]["additionalProperties"] is False
    with pytest.raises(ConstraintError, match="at least one tool"):
        ToolCallConstraint(smollm_tokenizer, "hermes", [], forced=True)
    broken = {"type": "function", "function": {"name": "t", "parameters": {
        "type": "object", "properties": {"a": {"$ref": "#/definitions/missing"}}}}}
    with pytest.raises(ConstraintError) as info:
        ToolCallConstraint(smollm_tokenizer, "hermes", [broken], forced=True)
    assert str(info.value).startswith("The tool schemas cannot be constrained:") and "\n" not in str(info.value)


def test_tokenizer_conversion_is_cached(smollm_tokenizer):
    assert ll_tokenizer(smollm_tokenizer) is ll_tokenizer(smollm_tokenizer)


def test_reused_for_a_new_generation_it_starts_over(smollm_tokenizer):
    fmt = format_for("prompted_hermes")
    proc = ToolCallConstraint(smollm_tokenizer, fmt, TOOLS, forced=True)
    ids = encode(smollm_tokenizer, fmt.call_text("read_file", {"path": "a"}))
    assert len(drive(proc, ids, prompt=range(10))) == len(ids) + 1
    again = drive(proc, ids, prompt=range(5))  # shorter than what it has seen: a new generation
    assert len(again) == len(ids) + 1 and proc.error == ""


def test_processor_overhead_per_token(smollm_tokenizer, capsys):
    """Informational: time in the processor per token, dormant and constrained (200-line enum)."""
    lines = [f"    value_{i} = compute({i})\n" for i in range(300)]
    tools = forced_edit_tools(TOOLS, ["big.py"], {"big.py": lines})
    fmt = format_for("prompted_hermes")
    text = fmt.call_text("edit_file", {"path": "big.py", "search": "    value_17 = compute(17)", "replace": "pass"})
    ids = encode(smollm_tokenizer, text)
    built = time.perf_counter()
    forced = ToolCallConstraint(smollm_tokenizer, fmt, tools, forced=True)
    built = time.perf_counter() - built
    assert len(drive(forced, ids)) == len(ids) + 1
    dormant = ToolCallConstraint(smollm_tokenizer, fmt, tools, forced=False)
    plain = encode(smollm_tokenizer, "A plain answer with no tool call at all, just words. " * 3)
    drive(dormant, plain)
    with capsys.disabled():
        print(f"\n[constraint overhead] build {built * 1000:.1f} ms; "
              f"constrained {forced.seconds / forced.steps * 1000:.3f} ms/token; "
              f"dormant {dormant.seconds / dormant.steps * 1000:.3f} ms/token")
    assert forced.masked_steps == forced.steps and dormant.masked_steps == 0


# ---- the real model -----------------------------------------------------------------------------------

class Primed:
    """The real model with one prompt prefilled once; each generation continues from it and
    is trimmed off afterwards (prefill on a CPU is the slow part)."""

    def __init__(self, loaded, prompt: str):
        from mlx_lm.models.cache import make_prompt_cache

        self.model, self.tokenizer = loaded.model, loaded.tokenizer
        self.ids = self.tokenizer.encode(prompt, add_special_tokens=False)
        self.cache = make_prompt_cache(self.model)
        self.model(mx.array(self.ids[:-1])[None], cache=self.cache)
        mx.eval([c.state for c in self.cache])
        self.base = self.cache[0].offset

    def generate(self, processor, max_tokens: int) -> tuple[str, float]:
        from mlx_lm.generate import stream_generate
        from mlx_lm.models.cache import trim_prompt_cache

        text, began = "", time.perf_counter()
        try:
            for r in stream_generate(self.model, self.tokenizer, mx.array(self.ids[-1:]), max_tokens=max_tokens,
                                     prompt_cache=self.cache, logits_processors=[processor] if processor else None):
                text += r.text
        finally:
            trim_prompt_cache(self.cache, self.cache[0].offset - self.base)
        return text, time.perf_counter() - began


@pytest.fixture(scope="module")
def primed(real_model):
    fmt = format_for("prompted_hermes")
    # No tool list in the prompt: the grammar alone must produce the call, and prefill stays short.
    messages = [{"role": "system", "content": "You edit code."}, {"role": "user", "content": "Fix app.py"}]
    return Primed(real_model, render_prompt(real_model.tokenizer, fmt, messages, []))


@pytest.mark.real_model
def test_real_model_forced_edit_is_a_valid_call_on_a_real_line(primed, tmp_path, capsys):
    source = "def add(a, b):\n    return a - b\n\nprint(add(1, 2))\n"
    (tmp_path / "app.py").write_text(source)
    lines = (tmp_path / "app.py").read_text().splitlines(keepends=True)
    edit = EDIT["function"]
    short_edit = {"type": "function", "function": {**edit, "parameters": {**edit["parameters"], "properties": {
        **edit["parameters"]["properties"], "replace": {"type": "string", "maxLength": 24}}}}}  # a short test
    tools = forced_edit_tools([READ, short_edit, WRITE], ["app.py", "notes.md"], {"app.py": lines})
    fmt = format_for("prompted_hermes")
    proc = ToolCallConstraint(primed.tokenizer, fmt, tools, forced=True)
    text, seconds = primed.generate(proc, max_tokens=60)
    parsed = fmt.parse(text, tools)
    assert parsed.errors == [] and len(parsed.calls) == 1, text
    call = parsed.calls[0]
    assert text.startswith("<tool_call>") and text.endswith("</tool_call>")
    assert call.name in ("edit_file", "write_file") and call.arguments["path"] in ("app.py", "notes.md")
    if call.name == "edit_file":
        assert call.arguments["path"] == "app.py" and call.arguments["search"] in source.splitlines()
    with capsys.disabled():
        print(f"\n[constraint overhead, real model] constrained {proc.seconds / proc.steps * 1000:.3f} ms/token "
              f"in the processor; {proc.steps} tokens in {seconds:.2f} s: {text!r}")


@pytest.mark.real_model
def test_real_model_dormant_constraint_changes_nothing_in_plain_text(primed, capsys):
    baseline, plain_s = primed.generate(None, max_tokens=8)
    assert "<tool_call>" not in baseline
    proc = ToolCallConstraint(primed.tokenizer, format_for("prompted_hermes"), TOOLS, forced=False)
    text, dormant_s = primed.generate(proc, max_tokens=8)
    assert text == baseline and proc.masked_steps == 0 and proc.steps >= 8
    with capsys.disabled():
        print(f"\n[constraint overhead, real model] dormant {proc.seconds / proc.steps * 1000:.3f} ms/token "
              f"in the processor; 8 tokens in {plain_s:.2f} s without it, {dormant_s:.2f} s with it")


def test_forced_edit_on_long_lines_compiles_and_refuses_a_no_op(smollm_tokenizer):
    """A line longer than one regex chunk (the README line that once broke the grammar)."""
    line = "Counts are kept in `~/.tally.json`, so you recieve the same totals in every terminal."
    lines = ["# tally\n", "A tiny command-line counter [beta].\n", line + "\n", "x" * 300 + "\n"]
    tools = forced_edit_tools(TOOLS, ["README.md"], {"README.md": lines})
    fmt = format_for("prompted_hermes")
    new = lambda: ToolCallConstraint(smollm_tokenizer, fmt, tools, forced=True)  # noqa: E731
    fixed = {"path": "README.md", "search": line, "replace": line.replace("recieve", "receive")}
    assert refused_after(smollm_tokenizer, new(), fmt.call_text("edit_file", fixed)) is None
    no_op = {"path": "README.md", "search": line, "replace": line}
    assert refused_after(smollm_tokenizer, new(), fmt.call_text("edit_file", no_op)) is not None


def test_a_pattern_the_grammar_cannot_take_is_dropped_not_fatal(real_model):
    """The no-op patterns are an extra: a forced call whose pattern does not compile still runs."""
    from mlxagent.core.formats import without_patterns
    from mlxagent.core.llm import Constraint
    from mlxagent.model.chat_model import MlxChatModel

    edit = EDIT["function"]
    broken = {"type": "function", "function": {**edit, "parameters": {**edit["parameters"], "properties": {
        **edit["parameters"]["properties"], "replace": {"type": "string", "pattern": "^(unclosed$"}}}}}
    assert "pattern" not in without_patterns([broken])[0]["function"]["parameters"]["properties"]["replace"]
    search = {"type": "function", "function": {"name": "search", "parameters": {
        "type": "object", "properties": {"pattern": {"type": "string"}}}}}
    assert without_patterns([search]) == [search]  # a parameter named "pattern" stays
    with pytest.raises(ConstraintError):
        ToolCallConstraint(real_model.tokenizer, format_for("prompted_hermes"), [broken], forced=True)
    model = MlxChatModel(real_model, tool_format="prompted_hermes")
    messages = [{"role": "user", "content": "Fix app.py"}]
    chunks = list(model.stream(messages, [broken], constraint=Constraint([broken], forced=True), max_tokens=3))
    assert "".join(c.text for c in chunks).startswith("<tool")
