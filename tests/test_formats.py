"""Tool-call formats: parsing each family, rendering chat history, detection, forced-edit schemas."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlxagent.core.formats import (
    FORMATS,
    ToolFormatError,
    detect_format,
    forced_edit_tools,
    format_for,
    normalize_tools,
    render_prompt,
)
from mlxagent.core.formats.schemas import differs_from
from mlxagent.errors import ModelError

TOOLS = [
    {"type": "function", "function": {
        "name": "read_file", "description": "Read a file.",
        "parameters": {"type": "object", "properties": {
            "path": {"type": "string"}, "start": {"type": "integer"}}, "required": ["path"]}}},
    # a bare (non-OpenAI-wrapped) schema is accepted too
    {"name": "edit_file", "description": "Replace text in a file.",
     "parameters": {"type": "object", "properties": {
         "path": {"type": "string"}, "search": {"type": "string"}, "replace": {"type": "string"}},
         "required": ["path", "search", "replace"]}},
    {"type": "function", "function": {
        "name": "write_file", "description": "Write a whole file.",
        "parameters": {"type": "object", "properties": {
            "path": {"type": "string"}, "content": {"type": "string"}}, "required": ["path", "content"]}}},
]

ARGS = {"path": "src/app.py", "start": 3}
EDIT_ARGS = {"path": "a.py", "search": 'print("hi")\n', "replace": "x = {\"k\": [1, 2]}"}


# ---- every family: its own call text reads back -------------------------------------------------

@pytest.mark.parametrize("name", list(FORMATS))
def test_call_text_parses_back_with_text_around(name):
    fmt = format_for(name)
    text = "Let me look. " + fmt.call_text("read_file", ARGS)
    parsed = fmt.parse(text, TOOLS)
    assert parsed.errors == []
    assert [(c.name, c.arguments) for c in parsed.calls] == [("read_file", ARGS)]
    assert parsed.content == "Let me look."
    assert parsed.calls[0].id


@pytest.mark.parametrize("name", list(FORMATS))
def test_string_arguments_with_newlines_and_quotes_survive(name):
    fmt = format_for(name)
    parsed = fmt.parse(fmt.call_text("edit_file", EDIT_ARGS), TOOLS)
    assert parsed.errors == []
    assert parsed.calls[0].arguments == EDIT_ARGS


@pytest.mark.parametrize("name", list(FORMATS))
def test_unknown_tool_is_one_corrective_error(name):
    fmt = format_for(name)
    parsed = fmt.parse(fmt.call_text("delete_everything", {"path": "/"}), TOOLS)
    assert parsed.calls == []
    assert parsed.errors == ["Unknown tool 'delete_everything'. Available tools: read_file, edit_file, write_file."]


@pytest.mark.parametrize("name", list(FORMATS))
def test_plain_text_has_no_calls(name):
    parsed = format_for(name).parse("The answer is 42. No tools needed.", TOOLS)
    assert (parsed.content, parsed.calls, parsed.errors) == ("The answer is 42. No tools needed.", [], [])


def test_openai_form_of_a_call():
    call = format_for("hermes").parse(format_for("hermes").call_text("read_file", ARGS), TOOLS).calls[0]
    entry = call.to_openai()
    assert entry["type"] == "function" and entry["id"] == call.id
    assert entry["function"]["name"] == "read_file"
    assert json.loads(entry["function"]["arguments"]) == ARGS


# ---- malformed calls, family by family ------------------------------------------------------------

@pytest.mark.parametrize("name", ["hermes", "prompted_hermes"])
def test_hermes_bad_json_error_shows_the_right_syntax(name):
    parsed = format_for(name).parse('<tool_call>\n{"name": "read_file", "arguments": {path: 1}}\n</tool_call>', TOOLS)
    assert parsed.calls == []
    [error] = parsed.errors
    assert error.startswith("Your tool call could not be read: it is not valid JSON")
    assert '<tool_call>\n{"name": "read_file", "arguments": {"path": "..."}}\n</tool_call>' in error


def test_hermes_several_calls_one_bad_one_unterminated():
    text = ('<tool_call>{"name": "read_file", "arguments": {"path": "a"}}</tool_call>\n'
            '<tool_call>{"name": "read_file", "arguments": </tool_call>\n'
            '<tool_call>{"name": "write_file", "arguments": "{\\"path\\": \\"b\\", \\"content\\": \\"x\\"}"}')
    parsed = format_for("hermes").parse(text, TOOLS)
    assert [(c.name, c.arguments) for c in parsed.calls] == [
        ("read_file", {"path": "a"}), ("write_file", {"path": "b", "content": "x"})]  # string arguments decoded
    assert len(parsed.errors) == 1 and "not valid JSON" in parsed.errors[0]
    assert len({c.id for c in parsed.calls}) == 2


def test_hermes_arguments_must_be_an_object():
    parsed = format_for("hermes").parse('<tool_call>{"name": "read_file", "arguments": [1]}</tool_call>', TOOLS)
    assert parsed.calls == [] and parsed.errors[0].startswith("The arguments of read_file must be a JSON object")


def test_hermes_call_without_name():
    parsed = format_for("hermes").parse('<tool_call>{"arguments": {}}</tool_call>', TOOLS)
    assert parsed.calls == [] and parsed.errors[0].startswith('A tool call has no "name"')


def test_llama3_python_tag_and_semicolon_separated_calls():
    fmt = format_for("llama3_json")
    text = ('<|python_tag|>{"name": "read_file", "parameters": {"path": "a"}}; '
            '{"name": "read_file", "parameters": {"path": "b"}}')
    parsed = fmt.parse(text, TOOLS)
    assert [c.arguments["path"] for c in parsed.calls] == ["a", "b"]
    assert parsed.content == "" and parsed.errors == []


def test_llama3_json_that_is_not_a_call_is_content_and_broken_call_is_an_error():
    fmt = format_for("llama3_json")
    text = 'package.json says {"name": "demo", "version": "1.0"}.'
    assert fmt.parse(text, TOOLS).content == text
    broken = fmt.parse('{"name": "read_file", "parameters": {"path": "a"', TOOLS)
    assert broken.calls == [] and "not valid JSON" in broken.errors[0]
    assert '{"name": "read_file", "parameters": {"path": "..."}}' in broken.errors[0]


def test_mistral_list_of_calls_and_header_form():
    fmt = format_for("mistral")
    two = fmt.parse('[TOOL_CALLS] [{"name": "read_file", "arguments": {"path": "a"}, "id": "abcdefghi"}, '
                    '{"name": "read_file", "arguments": {"path": "b"}}]', TOOLS)
    assert [c.arguments["path"] for c in two.calls] == ["a", "b"]
    assert two.calls[0].id == "abcdefghi"  # the model's own id is kept
    header = fmt.parse('[TOOL_CALLS]read_file[ARGS]{"path": "c"}', TOOLS)  # newer Mistral tokenizers
    assert [(c.name, c.arguments) for c in header.calls] == [("read_file", {"path": "c"})]


def test_mistral_malformed():
    parsed = format_for("mistral").parse('[TOOL_CALLS] [{"name": "read_file", "argu', TOOLS)
    assert parsed.calls == []
    assert parsed.errors[0].startswith("Your tool call could not be read: it must be a JSON list")


def test_qwen3_coder_converts_typed_values_and_reports_broken_xml():
    fmt = format_for("qwen3_coder")
    text = ("<tool_call>\n<function=read_file>\n<parameter=path>\nsrc/x.py\n</parameter>\n"
            "<parameter=start>\n12\n</parameter>\n</function>\n</tool_call>")
    assert fmt.parse(text, TOOLS).calls[0].arguments == {"path": "src/x.py", "start": 12}
    broken = fmt.parse("<tool_call>\n<function=read_file>\n<parameter=path>\na\n</parameter>\n", TOOLS)
    assert broken.calls == [] and "must be <function=NAME>" in broken.errors[0]


def test_unknown_format_is_a_user_error():
    with pytest.raises(ToolFormatError, match="Unknown tool-call format 'nope'; known formats: hermes"):
        format_for("nope")


# ---- detection ----------------------------------------------------------------------------------

@pytest.mark.parametrize("model, expected", [
    ("NousResearch/Hermes-3-Llama-3.1-8B", "hermes"),
    ("mlx-community/Qwen2.5-7B-Instruct-4bit", "hermes"),
    ("Qwen/Qwen2.5-Coder-1.5B-Instruct", "hermes"),
    ("mlx-community/Meta-Llama-3.1-8B-Instruct-4bit", "llama3_json"),
    ("llama3.2-3b", "llama3_json"),
    ("mistralai/Mistral-7B-Instruct-v0.3", "mistral"),
    ("Qwen/Qwen3-Coder-30B-A3B-Instruct", "qwen3_coder"),
    ("qwen3_coder_480b", "qwen3_coder"),
    ("HuggingFaceTB/SmolLM2-135M-Instruct", "prompted_hermes"),
    ({"_name_or_path": "Qwen/Qwen2.5-0.5B", "model_type": "qwen2"}, "hermes"),
])
def test_detect_by_family_name(model, expected):
    assert detect_format(model, chat_template="{{ '[TOOL_CALLS]' }}") == expected  # the name wins


@pytest.mark.parametrize("template, expected", [
    ("{% for tool in tools %}<tool_call>\n<function={{ tool.name }}>{% endfor %}", "qwen3_coder"),
    ("{{ '[TOOL_CALLS]' + tool_calls|tojson }}", "mistral"),
    ("{% if tools %}<tools>{{ tools }}</tools>{% endif %}<tool_call>", "hermes"),
    ("{% if tools %}{{ '<|python_tag|>' }}{% endif %}", "llama3_json"),
    ("{{ messages[0]['content'] }}", "prompted_hermes"),
    (None, "prompted_hermes"),
])
def test_detect_by_template_then_fallback(template, expected):
    assert detect_format("my-own-finetune", template) == expected


# ---- rendering history ----------------------------------------------------------------------------

HISTORY = [
    {"role": "system", "content": "You are a careful coding agent."},
    {"role": "user", "content": "Fix a.py"},
    {"role": "assistant", "content": "Reading both.", "tool_calls": [
        {"id": "call_1", "type": "function",
         "function": {"name": "read_file", "arguments": json.dumps({"path": "a.py"})}},
        {"id": "call_2", "type": "function", "function": {"name": "read_file", "arguments": {"path": "b.py"}}},
    ]},
    {"role": "tool", "tool_call_id": "call_1", "content": "print('a')"},
    {"role": "tool", "tool_call_id": "call_2", "content": "print('b')"},
    {"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_3", "type": "function", "function": {"name": "edit_file", "arguments": json.dumps(EDIT_ARGS)}}]},
    {"role": "tool", "tool_call_id": "call_3", "content": "applied"},
]


def test_prompted_history_only_has_text_turns_and_the_tools_in_the_system_message():
    fmt = format_for("prompted_hermes")
    out = fmt.render_messages(HISTORY, TOOLS)
    assert [m["role"] for m in out] == ["system", "user", "assistant", "user", "assistant", "user"]
    assert all(set(m) == {"role", "content"} and isinstance(m["content"], str) for m in out)
    system = out[0]["content"]
    assert system.startswith("You are a careful coding agent.\n\n# Tools")
    assert json.dumps(TOOLS[0], ensure_ascii=False) in system
    assert '"name": "edit_file"' in system  # the bare schema is listed in OpenAI form too
    assert out[2]["content"] == ("Reading both.\n" + fmt.call_text("read_file", {"path": "a.py"}) + "\n"
                                 + fmt.call_text("read_file", {"path": "b.py"}))
    assert out[3]["content"] == "<tool_response>\nprint('a')\n</tool_response>\n<tool_response>\nprint('b')\n</tool_response>"
    assert out[4]["content"] == fmt.call_text("edit_file", EDIT_ARGS)


def test_prompted_without_system_message_or_tools():
    fmt = format_for("prompted_hermes")
    with_tools = fmt.render_messages([{"role": "user", "content": "hi"}], TOOLS)
    assert with_tools[0]["role"] == "system" and with_tools[0]["content"].startswith("# Tools")
    assert fmt.render_messages([{"role": "user", "content": "hi"}], []) == [{"role": "user", "content": "hi"}]


def test_template_formats_get_the_history_with_arguments_as_objects():
    out = format_for("hermes").render_messages(HISTORY, TOOLS)
    assert [m["role"] for m in out] == [m["role"] for m in HISTORY]
    assert out[2]["tool_calls"][0]["function"]["arguments"] == {"path": "a.py"}
    assert out[5]["content"] == "" and out[5]["tool_calls"][0]["function"]["arguments"] == EDIT_ARGS
    assert HISTORY[2]["tool_calls"][0]["function"]["arguments"] == json.dumps({"path": "a.py"})  # input untouched


def test_mistral_ids_are_nine_alphanumerics_and_still_pair_up():
    out = format_for("mistral").render_messages(HISTORY, TOOLS)
    ids = [c["id"] for m in out for c in m.get("tool_calls") or ()]
    assert all(re.fullmatch(r"[a-zA-Z0-9]{9}", i) for i in ids) and len(set(ids)) == 3
    assert [m["tool_call_id"] for m in out if m["role"] == "tool"] == ids
    assert format_for("mistral").render_messages(HISTORY, TOOLS) == out  # deterministic: prompt caches stay valid


def test_llama3_splits_multi_call_messages_into_call_result_pairs():
    out = format_for("llama3_json").render_messages(HISTORY, TOOLS)
    roles = [(m["role"], m.get("tool_call_id") or [c["id"] for c in m.get("tool_calls") or ()]) for m in out]
    assert roles == [("system", []), ("user", []), ("assistant", ["call_1"]), ("tool", "call_1"),
                     ("assistant", ["call_2"]), ("tool", "call_2"), ("assistant", ["call_3"]), ("tool", "call_3")]
    assert out[2]["content"] == "Reading both." and out[4]["content"] == ""


# ---- through real chat templates -------------------------------------------------------------------

def test_smollm2_prompt_round_trip(smollm_tokenizer):
    fmt = format_for(detect_format("SmolLM2-135M-Instruct", smollm_tokenizer.chat_template))
    assert fmt.name == "prompted_hermes"
    prompt = render_prompt(smollm_tokenizer, fmt, HISTORY, TOOLS)
    assert prompt.startswith("<|im_start|>system\nYou are a careful coding agent.\n\n# Tools")
    assert prompt.endswith("<|im_start|>assistant\n")
    turns = re.findall(r"<\|im_start\|>(\w+)\n(.*?)<\|im_end\|>", prompt, re.DOTALL)
    assert [role for role, _ in turns] == ["system", "user", "assistant", "user", "assistant", "user"]
    # what the model sees as its own past turns parses back to the very same calls
    replayed = [c for role, text in turns if role == "assistant" for c in fmt.parse(text, TOOLS).calls]
    assert [(c.name, c.arguments) for c in replayed] == [
        ("read_file", {"path": "a.py"}), ("read_file", {"path": "b.py"}), ("edit_file", EDIT_ARGS)]
    assert "<tool_response>\napplied\n</tool_response>" in turns[-1][1]


TOOL_TEMPLATE = (
    "{% if tools %}TOOLS:{% for t in tools %}{{ t.function.name }};{% endfor %}{{ '\\n' }}{% endif %}"
    "{% for m in messages %}[{{ m.role }}]{{ m.content }}"
    "{% for c in m.tool_calls or [] %}<call>{{ c.function.name }}{{ c.function.arguments | tojson }}</call>{% endfor %}"
    "{{ '\\n' }}{% endfor %}{% if add_generation_prompt %}[assistant]{% endif %}"
)


def test_template_with_tool_support_receives_tools_and_calls(smollm_tokenizer, monkeypatch):
    monkeypatch.setattr(smollm_tokenizer._tokenizer, "chat_template", TOOL_TEMPLATE)
    prompt = render_prompt(smollm_tokenizer, format_for("hermes"), HISTORY[:4], TOOLS)
    assert prompt.startswith("TOOLS:read_file;edit_file;write_file;\n[system]You are a careful coding agent.\n")
    assert '<call>read_file{"path": "a.py"}</call>' in prompt and prompt.endswith("[assistant]")
    # a prompted format never hands tools to the template: they are in the system message
    prompted = render_prompt(smollm_tokenizer, format_for("prompted_hermes"), HISTORY[:2], TOOLS)
    assert not prompted.startswith("TOOLS:") and "[system]You are a careful coding agent.\n\n# Tools" in prompted


def test_template_that_refuses_the_conversation_is_one_line_model_error(smollm_tokenizer, monkeypatch):
    monkeypatch.setattr(smollm_tokenizer._tokenizer, "chat_template",
                        "{{ raise_exception('Conversation roles must alternate user/assistant') }}")
    with pytest.raises(ModelError) as info:
        render_prompt(smollm_tokenizer, format_for("hermes"), HISTORY, TOOLS)
    assert str(info.value) == ("The model's chat template cannot render this conversation: "
                               "Conversation roles must alternate user/assistant")


# ---- forced-edit schemas -----------------------------------------------------------------------------

def _params(tools, name):
    return next(t["function"]["parameters"] for t in normalize_tools(tools) if t["function"]["name"] == name)


def test_forced_edit_tools_narrow_path_and_search(tmp_path):
    (tmp_path / "a.py").write_text("import os\n\ndef main():\n    print('hi')\n\nimport os\n")
    lines = (tmp_path / "a.py").read_text().splitlines(keepends=True)
    tools = forced_edit_tools(TOOLS, ["a.py", "new.py"], {"a.py": lines})
    assert [t["function"]["name"] for t in tools] == ["edit_file", "write_file"]  # read_file is gone
    branches = _params(tools, "edit_file")["anyOf"]  # one per line: its replace must differ from it
    assert {b["properties"]["path"]["const"] for b in branches} == {"a.py"}  # new.py has no lines to search
    assert [b["properties"]["search"] for b in branches] == [
        {"type": "string", "const": line} for line in ("import os", "def main():", "    print('hi')")]
    # free text is capped so a rambling model still closes the call within max_tokens
    replace = branches[0]["properties"]["replace"]
    assert replace == {"type": "string", "maxLength": 400, "pattern": differs_from("import os")}
    assert all(b["additionalProperties"] is False for b in branches)
    assert _params(tools, "write_file")["properties"]["path"]["enum"] == ["a.py", "new.py"]
    assert _params(tools, "write_file")["properties"]["content"]["maxLength"] == 1200
    assert _params(TOOLS, "edit_file")["properties"]["path"] == {"type": "string"}  # the input is untouched


def test_forced_edit_tools_one_branch_per_distinct_file_and_capped():
    long_file = [f"line {i}\n" for i in range(500)]
    tools = forced_edit_tools(TOOLS, ["a.py", "b.py", "c.py"],
                              {"a.py": ["x = 1\n"], "b.py": long_file, "c.py": ["x = 1\n"]})
    branches = _params(tools, "edit_file")["anyOf"]
    assert [b["properties"]["path"] for b in branches] == [
        {"type": "string", "enum": ["a.py", "c.py"]}, {"type": "string", "const": "b.py"}]
    assert branches[0]["properties"]["search"] == {"type": "string", "const": "x = 1"}
    assert "pattern" in branches[0]["properties"]["replace"]
    # a long file (and every file after the first) keeps one branch with an enum, no pattern
    assert len(branches[1]["properties"]["search"]["enum"]) == 200
    assert "pattern" not in branches[1]["properties"]["replace"]


@given(st.text(max_size=130), st.text(max_size=130))
def test_differs_from_matches_every_string_but_its_own(text, other):
    pattern = differs_from(text)
    assert re.fullmatch(pattern[1:-1], text) is None
    assert (re.fullmatch(pattern[1:-1], other) is not None) == (other != text)


def test_forced_edit_tools_without_known_lines_only_write():
    tools = forced_edit_tools(TOOLS, ["new.py"], {})
    assert [t["function"]["name"] for t in tools] == ["write_file"]


def test_with_path_enums_limits_paths_to_the_workspace():
    from mlxagent.core.formats import with_path_enums

    tools = with_path_enums(TOOLS, ["a.py", "pkg/b.py"], [".", "pkg"])
    assert _params(tools, "read_file")["properties"]["path"]["enum"] == ["a.py", "pkg/b.py"]
    assert "enum" not in _params(tools, "write_file")["properties"]["path"]  # creating files stays possible
    assert _params(with_path_enums(TOOLS, [f"f{i}.py" for i in range(400)], ["."]), "read_file")[
        "properties"]["path"] == {"type": "string"}  # too many files: paths stay free


def test_differs_from_a_long_line_still_refuses_only_that_line():
    line = "Counts are kept in `~/.tally.json`, so you recieve the same totals in every terminal [x-y]^\\."
    pattern = differs_from(line)[1:-1]
    assert re.fullmatch(pattern, line) is None
    assert re.fullmatch(pattern, line.replace("recieve", "receive")) is not None
    assert re.fullmatch(pattern, line[:-1]) is not None and re.fullmatch(pattern, line + " ") is not None
