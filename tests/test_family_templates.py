"""Each model family's chat template rendering a whole agent conversation through the project's
prompting, checked against the family's documented layout, and each family's call syntax read back.

The templates in tests/templates/ are written for these tests from each family's documented prompt
format (special tokens, role headers, layout); they are not the models' own files. SmolLM2's is its
real one, from the embedded model's tokenizer. Every template runs in the SmolLM2 tokenizer (its
`chat_template` swapped), the way transformers renders any model's template.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from jinja2 import TemplateError

from mlxagent.core.formats import (
    ToolCallConstraint,
    detect_format,
    forced_edit_tools,
    format_for,
    normalize_tools,
    render_prompt,
)
from mlxagent.core.formats.constraint import ll_tokenizer
from mlxagent.core.tools.edit import EDIT_FILE, WRITE_FILE
from mlxagent.core.tools.read import READ_FILE
from mlxagent.core.tools.search import SEARCH
from mlxagent.errors import ModelError

TEMPLATES = Path(__file__).parent / "templates"

# The agent's own tool schemas, as the toolbox hands them to the model.
TOOLS = [READ_FILE.schema(), SEARCH.schema(), EDIT_FILE.schema()]

SYSTEM = "You are a careful coding agent working in this repository."
USER_1 = "Why does app.py crash on empty input?"
USER_2 = "Thanks. Now add a test for it."
FINAL = "app.py now answers an empty argv with a usage line instead of crashing."

# (name, arguments): one call, then two in parallel. Integers, a boolean, multi-line strings with
# quotes and a trailing newline: what each syntax has to carry.
CALL_1 = ("read_file", {"path": "app.py", "start_line": 1, "end_line": 40})
CALL_2 = ("search", {"pattern": "main(", "regex": False, "path": "tests"})
CALL_3 = ("edit_file", {"path": "app.py", "search": "def main(argv):\n    return argv[0]\n",
                        "replace": 'def main(argv):\n    if not argv:\n        return "usage: app NAME"\n'
                                   "    return argv[0]\n"})
CALLS = [CALL_1, CALL_2, CALL_3]
RESULT_1 = "[step 1] 1: def main(argv):\n2:     return argv[0]"
RESULT_2 = '[step 2] tests/test_app.py:3:     assert main([]) == "usage: app NAME"'
RESULT_3 = "[step 3] Edit to app.py proposed; the user accepted it."
RESULTS = [RESULT_1, RESULT_2, RESULT_3]
IDS = ["call_5f0c1d2e3a4b", "call_6a7b8c9d0e1f", "call_7e6d5c4b3a29"]


def _call(call_id: str, call: tuple[str, dict]) -> dict:
    # As the agent appends them: arguments as the JSON text of the OpenAI API.
    return {"id": call_id, "type": "function", "function": {"name": call[0], "arguments": json.dumps(call[1])}}


def _result(call_id: str, call: tuple[str, dict], text: str) -> dict:
    return {"role": "tool", "tool_call_id": call_id, "name": call[0], "content": text}


CONVERSATION = [
    {"role": "system", "content": SYSTEM},
    {"role": "user", "content": USER_1},
    {"role": "assistant", "content": "Let me read app.py first.", "tool_calls": [_call(IDS[0], CALL_1)]},
    _result(IDS[0], CALL_1, RESULT_1),
    {"role": "assistant", "content": "", "tool_calls": [_call(IDS[1], CALL_2), _call(IDS[2], CALL_3)]},
    _result(IDS[1], CALL_2, RESULT_2),
    _result(IDS[2], CALL_3, RESULT_3),
    {"role": "assistant", "content": FINAL},
    {"role": "user", "content": USER_2},
]


@pytest.fixture
def with_template(smollm_tokenizer, monkeypatch):
    """The tokenizer, rendering with tests/templates/NAME.jinja (None: SmolLM2's own template)."""

    def use(name: str | None):
        if name is not None:
            monkeypatch.setattr(smollm_tokenizer._tokenizer, "chat_template", (TEMPLATES / f"{name}.jinja").read_text())
        return smollm_tokenizer

    return use


def calls_of(parsed) -> list[tuple[str, dict]]:
    assert parsed.errors == []
    return [(c.name, c.arguments) for c in parsed.calls]


def assert_in_order(text: str, pieces: list[str]) -> None:
    at = 0
    for piece in pieces:
        found = text.find(piece, at)
        assert found != -1, f"{piece!r} not found after position {at}: {text[at:at + 200]!r}"
        at = found + len(piece)


def hermes_call(call: tuple[str, dict]) -> str:
    """A call as Hermes-style templates write it (and the model is told to)."""
    return "<tool_call>\n" + json.dumps({"name": call[0], "arguments": call[1]}) + "\n</tool_call>"


def chatml_turns(prompt: str) -> list[tuple[str, str]]:
    return re.findall(r"<\|im_start\|>(\w+)\n(.*?)<\|im_end\|>\n", prompt, re.DOTALL)


# A reply with two parallel calls, written out by hand in each family's syntax.
HERMES_REPLY = (
    "Searching the tests and fixing the function together.\n"
    '<tool_call>\n{"name": "search", "arguments": {"pattern": "main(", "regex": false, "path": "tests"}}\n</tool_call>\n'
    '<tool_call>\n{"name": "edit_file", "arguments": {"path": "app.py", '
    '"search": "def main(argv):\\n    return argv[0]\\n", '
    '"replace": "def main(argv):\\n    if not argv:\\n        return \\"usage: app NAME\\"\\n    return argv[0]\\n"}}\n'
    "</tool_call>"
)


# ---- the catalog's models speak these formats ---------------------------------------------------------

def test_catalog_models_are_detected_as_the_formats_tested_here():
    from mlxagent.model.catalog import catalog_entry

    for name, repo in [("hermes-3-8b", "Hermes-3-Llama-3.1-8B"), ("llama-3.1-8b", "Meta-Llama-3.1-8B-Instruct"),
                       ("mistral-7b-v0.3", "Mistral-7B-Instruct-v0.3"), ("qwen2.5-coder-32b", "Qwen2.5-Coder-32B"),
                       ("qwen3-coder-30b-a3b", "Qwen3-Coder-30B-A3B"), ("smollm2-135m", None)]:
        entry = catalog_entry(name)
        assert entry is not None and (repo is None or repo in entry.repo_id)
        assert detect_format(entry.repo_id or "SmolLM2-135M-Instruct", None) == entry.tool_format, name


# ---- Hermes 3 --------------------------------------------------------------------------------------------

def test_hermes3_renders_chatml_with_tools_in_system_and_a_tool_role(with_template):
    tokenizer = with_template("hermes3")
    fmt = format_for(detect_format("mlx-community/Hermes-3-Llama-3.1-8B-4bit", tokenizer.chat_template))
    assert fmt.name == "hermes"
    prompt = render_prompt(tokenizer, fmt, CONVERSATION, TOOLS)

    assert prompt.startswith("<|begin_of_text|><|im_start|>system\n" + SYSTEM + "\n\n")
    assert prompt.count("<|begin_of_text|>") == 1
    turns = chatml_turns(prompt)
    assert "".join(f"<|im_start|>{r}\n{t}<|im_end|>\n" for r, t in turns) + "<|im_start|>assistant\n" \
        == prompt.removeprefix("<|begin_of_text|>")  # nothing outside the turns
    assert [r for r, _ in turns] == ["system", "user", "assistant", "tool", "assistant", "tool", "assistant", "user"]
    listed = re.search(r"<tools>\n(.*)</tools>", turns[0][1], re.DOTALL).group(1)
    assert listed.splitlines() == [json.dumps(t) for t in normalize_tools(TOOLS)]
    assert turns[2][1] == "Let me read app.py first.\n" + hermes_call(CALL_1)
    assert turns[3][1] == f"<tool_response>\n{RESULT_1}\n</tool_response>\n"
    assert turns[4][1] == hermes_call(CALL_2) + "\n" + hermes_call(CALL_3)
    assert turns[5][1] == f"<tool_response>\n{RESULT_2}\n</tool_response>\n<tool_response>\n{RESULT_3}\n</tool_response>\n"
    assert turns[6][1] == FINAL and turns[7][1] == USER_2
    assert prompt.endswith("<|im_end|>\n<|im_start|>assistant\n")

    # the model's past turns read back as the calls they were
    assert [c for r, t in turns if r == "assistant" for c in calls_of(fmt.parse(t, TOOLS))] == CALLS
    reply = fmt.parse(HERMES_REPLY, TOOLS)
    assert calls_of(reply) == [CALL_2, CALL_3]
    assert reply.content == "Searching the tests and fixing the function together."


# ---- Llama 3.1 -------------------------------------------------------------------------------------------

LLAMA_HEADER = re.compile(r"<\|start_header_id\|>(\w+)<\|end_header_id\|>\n\n(.*?)<\|eot_id\|>", re.DOTALL)


def llama_call(call: tuple[str, dict]) -> str:
    return json.dumps({"name": call[0], "parameters": call[1]})


def test_llama31_renders_one_call_per_turn_and_results_as_ipython(with_template):
    tokenizer = with_template("llama31")
    fmt = format_for(detect_format("mlx-community/Meta-Llama-3.1-8B-Instruct-4bit", tokenizer.chat_template))
    assert fmt.name == "llama3_json"
    prompt = render_prompt(tokenizer, fmt, CONVERSATION, TOOLS)

    assert prompt.startswith("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nEnvironment: ipython\n")
    assert prompt.count("<|begin_of_text|>") == 1
    turns = LLAMA_HEADER.findall(prompt)
    assert [r for r, _ in turns] == ["system", "user", "assistant", "ipython", "assistant", "ipython",
                                     "assistant", "ipython", "assistant", "user"]
    assert "<|start_header_id|>tool<|end_header_id|>" not in prompt
    assert turns[0][1].endswith("\n\n" + SYSTEM)
    # the function definitions and the reply format come with the first user turn, before its text
    first_user = turns[1][1]
    assert '{"name": function name, "parameters": dictionary of argument name and its value}' in first_user
    assert_in_order(first_user, [json.dumps(t, indent=4) for t in normalize_tools(TOOLS)] + [USER_1])
    assert first_user.endswith("\n\n" + USER_1)
    # a call is the whole assistant turn; the two parallel calls became call/result pairs, each result
    # after its own call
    assert [(turns[i][1], turns[i + 1][1]) for i in (2, 4, 6)] == [
        (llama_call(call), result) for call, result in zip(CALLS, RESULTS)]
    assert turns[8][1] == FINAL and turns[9][1] == USER_2
    assert prompt.endswith("<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n")

    assert [c for r, t in turns if r == "assistant" for c in calls_of(fmt.parse(t, TOOLS))] == CALLS
    # the model's own forms: `<|python_tag|>` with calls separated by ";", and a bare JSON call
    tagged = fmt.parse("<|python_tag|>" + llama_call(CALL_2) + "; " + llama_call(CALL_3), TOOLS)
    assert calls_of(tagged) == [CALL_2, CALL_3] and tagged.content == ""
    assert calls_of(fmt.parse(llama_call(CALL_1), TOOLS)) == [CALL_1]


def test_llama31_template_cannot_take_two_calls_in_one_message(with_template):
    """Why the format splits parallel calls: unsplit, the template refuses the conversation."""
    tokenizer = with_template("llama31")
    unsplit = format_for("hermes").render_messages(CONVERSATION, TOOLS)  # the history, only normalized
    with pytest.raises(TemplateError, match="only supports single tool-calls"):
        tokenizer.apply_chat_template(unsplit, tools=normalize_tools(TOOLS), add_generation_prompt=True, tokenize=False)


# ---- Mistral v0.3 ----------------------------------------------------------------------------------------

NINE = re.compile(r"[a-zA-Z0-9]{9}")


def text_roles(messages: list[dict]) -> list[str]:
    """The turns Mistral's alternation rule counts: user and assistant text, calls and results aside."""
    return [m["role"] for m in messages
            if m["role"] == "user" or (m["role"] == "assistant" and not m.get("tool_calls"))]


def alternates(messages: list[dict]) -> bool:
    roles = text_roles(messages[1:] if messages and messages[0]["role"] == "system" else messages)
    return roles == ["user", "assistant"] * (len(roles) // 2) + ["user"] * (len(roles) % 2)


def assert_alternates(messages: list[dict]) -> None:
    assert alternates(messages), text_roles(messages)


def mistral_calls(prompt: str) -> list[list[dict]]:
    return [json.loads(body) for body in re.findall(r"\[TOOL_CALLS\] (\[.*?\])</s>", prompt)]


def mistral_results(prompt: str) -> list[dict]:
    return [json.loads(body) for body in re.findall(r"\[TOOL_RESULTS\] (\{.*?\})\[/TOOL_RESULTS\]", prompt)]


def test_mistral_renders_nine_character_ids_results_that_point_at_them_and_strict_turns(with_template):
    tokenizer = with_template("mistral_v03")
    fmt = format_for(detect_format("mlx-community/Mistral-7B-Instruct-v0.3-4bit", tokenizer.chat_template))
    assert fmt.name == "mistral"
    rendered = fmt.render_messages(CONVERSATION, TOOLS)
    assert_alternates(rendered)
    prompt = render_prompt(tokenizer, fmt, CONVERSATION, TOOLS)  # the template would raise otherwise

    assert prompt.startswith("<s>[INST] " + USER_1 + "[/INST][TOOL_CALLS] [") and prompt.count("<s>") == 1
    assert_in_order(prompt, [
        "<s>", f"[INST] {USER_1}[/INST]", "[TOOL_CALLS] [", "]</s>", "[TOOL_RESULTS] {", "}[/TOOL_RESULTS]",
        "[TOOL_CALLS] [", "]</s>", "[TOOL_RESULTS] {", "}[/TOOL_RESULTS]", "[TOOL_RESULTS] {", "}[/TOOL_RESULTS]",
        f" {FINAL}</s>", "[AVAILABLE_TOOLS] ", "[/AVAILABLE_TOOLS]", f"[INST] {SYSTEM}\n\n{USER_2}[/INST]"])
    # the tools and the system prompt go with the last user turn, and the prompt ends there
    tools_block = f"[AVAILABLE_TOOLS] {json.dumps(normalize_tools(TOOLS))}[/AVAILABLE_TOOLS]"
    assert prompt.endswith(f"</s>{tools_block}[INST] {SYSTEM}\n\n{USER_2}[/INST]")
    assert prompt.count("[AVAILABLE_TOOLS]") == 1 and prompt.count(SYSTEM) == 1

    batches = mistral_calls(prompt)
    assert [[(c["name"], c["arguments"]) for c in batch] for batch in batches] == [[CALL_1], [CALL_2, CALL_3]]
    ids = [c["id"] for batch in batches for c in batch]
    assert all(NINE.fullmatch(i) for i in ids) and len(set(ids)) == 3
    assert [(r["call_id"], r["content"]) for r in mistral_results(prompt)] == list(zip(ids, RESULTS))
    # each past assistant turn reads back as its calls, with their ids
    replayed = fmt.parse(prompt, TOOLS)
    assert calls_of(replayed) == CALLS and [c.id for c in replayed.calls] == ids

    reply = ('[TOOL_CALLS] [{"name": "search", "arguments": {"pattern": "main(", "regex": false, "path": "tests"}, '
             '"id": "a1B2c3D4e"}, {"name": "edit_file", "arguments": {"path": "app.py", '
             '"search": "def main(argv):\\n    return argv[0]\\n", "replace": "def main(argv):\\n    if not argv:\\n'
             '        return \\"usage: app NAME\\"\\n    return argv[0]\\n"}, "id": "Z9y8X7w6v"}]')
    parsed = fmt.parse(reply, TOOLS)
    assert calls_of(parsed) == [CALL_2, CALL_3] and [c.id for c in parsed.calls] == ["a1B2c3D4e", "Z9y8X7w6v"]
    # ... and goes back into the history as the agent appends it, results and all
    after = CONVERSATION + [
        {"role": "assistant", "content": "", "tool_calls": [c.to_openai() for c in parsed.calls]},
        *[_result(c.id, (c.name, c.arguments), f"[step {4 + n}] ok") for n, c in enumerate(parsed.calls)]]
    prompt = render_prompt(tokenizer, fmt, after, TOOLS)
    last = mistral_calls(prompt)[-1]
    assert [r["call_id"] for r in mistral_results(prompt)[-2:]] == [c["id"] for c in last]
    assert all(NINE.fullmatch(c["id"]) for c in last)
    assert prompt.endswith("[/TOOL_RESULTS]")  # the model answers the results


def test_mistral_template_refuses_two_user_turns_in_a_row(with_template):
    tokenizer = with_template("mistral_v03")
    two_users = [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]
    with pytest.raises(TemplateError, match="must alternate"):
        tokenizer.apply_chat_template(two_users, add_generation_prompt=True, tokenize=False)
    with pytest.raises(ModelError, match="must alternate"):  # the history as is, as other formats pass it
        render_prompt(tokenizer, format_for("hermes"), two_users, TOOLS)


# Histories the agent writes whose user and assistant texts do not alternate, and how the prompt ends.
AGENT_HISTORIES = {
    # a turn cancelled (or failed) after its tool results ends without an assistant text, so the
    # next user turn follows the results: an empty assistant turn goes in between
    "cancelled after results": (
        CONVERSATION[:4] + [{"role": "user", "content": USER_2}],
        f"}}[/TOOL_RESULTS] </s>[AVAILABLE_TOOLS] {json.dumps(normalize_tools(TOOLS))}[/AVAILABLE_TOOLS]"
        f"[INST] {SYSTEM}\n\n{USER_2}[/INST]"),
    # `/test` puts the test run in as a user turn and the next prompt is another: they are merged
    "/test before a prompt": (
        CONVERSATION[:8] + [{"role": "user", "content": "[I ran the tests]\n3 passed"},
                            {"role": "user", "content": USER_2}],
        f"[INST] {SYSTEM}\n\n[I ran the tests]\n3 passed\n\n{USER_2}[/INST]"),
}


@pytest.mark.parametrize("case", list(AGENT_HISTORIES))
def test_mistral_histories_the_agent_writes_still_alternate(with_template, case):
    tokenizer = with_template("mistral_v03")
    messages, ending = AGENT_HISTORIES[case]
    assert not alternates(messages)
    with pytest.raises(ModelError, match="must alternate"):  # as the agent keeps it
        render_prompt(tokenizer, "hermes", messages, TOOLS)
    rendered = format_for("mistral").render_messages(messages, TOOLS)
    assert_alternates(rendered)
    prompt = render_prompt(tokenizer, "mistral", messages, TOOLS)
    assert prompt.endswith(ending)
    assert all(m["content"] in prompt for m in messages if m["role"] == "user")  # nothing the user said is lost
    assert format_for("mistral").render_messages(messages, TOOLS) == rendered  # deterministic


# ---- Qwen 2.5 --------------------------------------------------------------------------------------------

def test_qwen25_renders_hermes_calls_and_groups_results_in_one_user_turn(with_template):
    tokenizer = with_template("qwen25")
    fmt = format_for(detect_format("mlx-community/Qwen2.5-Coder-32B-Instruct-4bit", tokenizer.chat_template))
    assert fmt.name == "hermes"
    prompt = render_prompt(tokenizer, fmt, CONVERSATION, TOOLS)

    assert prompt.startswith("<|im_start|>system\n" + SYSTEM + "\n\n# Tools\n\n")  # no BOS
    turns = chatml_turns(prompt)
    assert "".join(f"<|im_start|>{r}\n{t}<|im_end|>\n" for r, t in turns) + "<|im_start|>assistant\n" == prompt
    assert [r for r, _ in turns] == ["system", "user", "assistant", "user", "assistant", "user", "assistant", "user"]
    listed = re.search(r"\n<tools>\n(.*)\n</tools>\n", turns[0][1], re.DOTALL).group(1)
    assert listed.splitlines() == [json.dumps(t) for t in normalize_tools(TOOLS)]
    assert turns[0][1].endswith('<tool_call>\n{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call>')
    assert turns[2][1] == "Let me read app.py first.\n" + hermes_call(CALL_1)
    assert turns[3][1] == f"<tool_response>\n{RESULT_1}\n</tool_response>"
    assert turns[4][1] == hermes_call(CALL_2) + "\n" + hermes_call(CALL_3)
    assert turns[5][1] == f"<tool_response>\n{RESULT_2}\n</tool_response>\n<tool_response>\n{RESULT_3}\n</tool_response>"
    assert turns[6][1] == FINAL and turns[7][1] == USER_2
    assert prompt.endswith("<|im_start|>assistant\n")

    assert [c for r, t in turns if r == "assistant" for c in calls_of(fmt.parse(t, TOOLS))] == CALLS
    assert calls_of(fmt.parse(HERMES_REPLY, TOOLS)) == [CALL_2, CALL_3]


# ---- Qwen3-Coder -----------------------------------------------------------------------------------------

QWEN3_REPLY = (
    "<tool_call>\n<function=search>\n<parameter=pattern>\nmain(\n</parameter>\n<parameter=regex>\nfalse\n"
    "</parameter>\n<parameter=path>\ntests\n</parameter>\n</function>\n</tool_call>\n"
    "<tool_call>\n<function=edit_file>\n<parameter=path>\napp.py\n</parameter>\n"
    "<parameter=search>\ndef main(argv):\n    return argv[0]\n\n</parameter>\n"
    '<parameter=replace>\ndef main(argv):\n    if not argv:\n        return "usage: app NAME"\n    return argv[0]\n\n'
    "</parameter>\n</function>\n</tool_call>"
)


def test_qwen3_coder_renders_xml_calls_and_tools_in_the_system_turn(with_template):
    tokenizer = with_template("qwen3_coder")
    fmt = format_for(detect_format("mlx-community/Qwen3-Coder-30B-A3B-Instruct-4bit", tokenizer.chat_template))
    assert fmt.name == "qwen3_coder"
    prompt = render_prompt(tokenizer, fmt, CONVERSATION, TOOLS)

    assert prompt.startswith("<|im_start|>system\n" + SYSTEM + "\n\n# Tools\n\n")
    turns = chatml_turns(prompt)
    assert "".join(f"<|im_start|>{r}\n{t}<|im_end|>\n" for r, t in turns) + "<|im_start|>assistant\n" == prompt
    assert [r for r, _ in turns] == ["system", "user", "assistant", "user", "assistant", "user", "assistant", "user"]
    system = turns[0][1]
    assert re.findall(r"<function>\n<name>(\w+)</name>", system) == ["read_file", "search", "edit_file"]
    assert "<parameter>\n<name>start_line</name>\n<type>integer</type>" in system
    assert_in_order(system, ["<tools>", "</tools>", "<tool_call>\n<function=example_function_name>\n"
                                                    "<parameter=example_parameter_1>\nvalue_1\n</parameter>"])
    assert turns[2][1] == ("Let me read app.py first.\n<tool_call>\n<function=read_file>\n<parameter=path>\napp.py\n"
                           "</parameter>\n<parameter=start_line>\n1\n</parameter>\n<parameter=end_line>\n40\n"
                           "</parameter>\n</function>\n</tool_call>")
    assert turns[4][1] == fmt.call_text(*CALL_2) + "\n" + fmt.call_text(*CALL_3)  # the format writes what the template does
    assert turns[3][1] == f"<tool_response>\n{RESULT_1}\n</tool_response>\n"
    assert turns[5][1] == f"<tool_response>\n{RESULT_2}\n</tool_response>\n<tool_response>\n{RESULT_3}\n</tool_response>\n"
    assert turns[6][1] == FINAL and turns[7][1] == USER_2
    assert prompt.endswith("<|im_start|>assistant\n")

    # typed values come back typed (1 and 40 as integers, false as a boolean), strings verbatim
    assert [c for r, t in turns if r == "assistant" for c in calls_of(fmt.parse(t, TOOLS))] == CALLS
    assert calls_of(fmt.parse(QWEN3_REPLY, TOOLS)) == [CALL_2, CALL_3]


def test_qwen3_coder_forced_edit_enforces_choices_but_not_string_patterns_or_lengths(smollm_tokenizer):
    """The limitation: an XML parameter value is free text up to "\\n</parameter>", so the forced-edit
    grammar keeps the schema's choices (path and search: const/enum) but not what JSON string schemas
    add to a value: the no-op guard (`pattern`: replace must differ from the searched line) and the
    length caps (`maxLength` 400 for replace, 1200 for write_file's content). JSON formats enforce all."""
    import llguidance

    lines = ["def main(argv):\n", "    return argv[0]\n"]
    tools = forced_edit_tools([EDIT_FILE.schema(), WRITE_FILE.schema()], ["app.py"], {"app.py": lines})
    lltok = ll_tokenizer(smollm_tokenizer)

    def accepted(name: str, tool: str, arguments: dict) -> bool:
        fmt = format_for(name)
        grammar = ToolCallConstraint(smollm_tokenizer, fmt, tools, forced=True).grammar
        matcher = llguidance.LLMatcher(lltok, llguidance.LLMatcher.grammar_from_lark(grammar), log_level=0)
        ok = matcher.consume_tokens(lltok.tokenize_str(fmt.call_text(tool, arguments)))
        return ok and not matcher.is_error() and matcher.is_accepting()

    line = "    return argv[0]"
    good = {"path": "app.py", "search": line, "replace": "    return argv[0] if argv else None"}
    wrong_path = {**good, "path": "other.py"}
    wrong_line = {**good, "search": "    return argv[1]"}
    no_op = {**good, "replace": line}
    too_long = {**good, "replace": "x" * 401}
    long_content = {"path": "app.py", "content": "y" * 1201}
    for name in ("hermes", "prompted_hermes", "llama3_json", "mistral", "qwen3_coder"):
        assert accepted(name, "edit_file", good), name
        assert not accepted(name, "edit_file", wrong_path) and not accepted(name, "edit_file", wrong_line), name
        json_body = name != "qwen3_coder"
        assert accepted(name, "edit_file", no_op) is not json_body, name
        assert accepted(name, "edit_file", too_long) is not json_body, name
        assert accepted(name, "write_file", long_content) is not json_body, name


# ---- SmolLM2 (its real template; tools prompted) ----------------------------------------------------------

def test_smollm2_real_template_gets_tools_calls_and_results_as_text_turns(with_template):
    tokenizer = with_template(None)
    fmt = format_for(detect_format("HuggingFaceTB/SmolLM2-135M-Instruct", tokenizer.chat_template))
    assert fmt.name == "prompted_hermes"
    prompt = render_prompt(tokenizer, fmt, CONVERSATION, TOOLS)

    turns = chatml_turns(prompt)
    assert "".join(f"<|im_start|>{r}\n{t}<|im_end|>\n" for r, t in turns) + "<|im_start|>assistant\n" == prompt
    # only the roles the template knows, alternating after the system turn; results are user turns
    assert [r for r, _ in turns] == ["system", "user", "assistant", "user", "assistant", "user", "assistant", "user"]
    system = turns[0][1]
    assert system.startswith(SYSTEM + "\n\n# Tools\n")
    listed = re.search(r"<tools>\n(.*)\n</tools>", system, re.DOTALL).group(1)
    assert listed.splitlines() == [json.dumps(t) for t in normalize_tools(TOOLS)]
    assert turns[2][1] == "Let me read app.py first.\n" + hermes_call(CALL_1)
    assert turns[3][1] == f"<tool_response>\n{RESULT_1}\n</tool_response>"
    assert turns[4][1] == hermes_call(CALL_2) + "\n" + hermes_call(CALL_3)
    assert turns[5][1] == f"<tool_response>\n{RESULT_2}\n</tool_response>\n<tool_response>\n{RESULT_3}\n</tool_response>"
    assert turns[6][1] == FINAL and turns[7][1] == USER_2

    assert [c for r, t in turns if r == "assistant" for c in calls_of(fmt.parse(t, TOOLS))] == CALLS
    assert calls_of(fmt.parse(HERMES_REPLY, TOOLS)) == [CALL_2, CALL_3]
