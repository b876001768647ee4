"""Tool-call formats, one per model family: how calls look, how to read them back, and
the grammar that makes a constrained model write them.

Parsing of the harder syntaxes (Mistral, Qwen3-Coder XML) is mlx-lm's own
(`mlx_lm.tool_parsers`, imported lazily: importing mlx-lm costs about a second). The
Hermes parser in mlx-lm is `json.loads` on the tag body, so that one is plain `json`
here rather than a second's import; Llama 3.1's bare JSON has no mlx-lm parser.

Grammars are llguidance Lark text. Markers are passed in as Lark references
(`"<tool_call>"` as text, or `<[151657]>` where the tokenizer has it as a special
token): only the tokenizer knows which, see `constraint.py`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from ...errors import MlxAgentError
from . import prompting
from .calls import ParsedOutput, ToolCall, new_call_id
from .prompting import alternating, one_call_per_message, with_mistral_ids
from .schemas import arguments_schema, call_schema, normalize_tools, tool_function, tool_names

# Compact JSON exactly as json.dumps writes it (the form history is rendered in), so the
# model's constrained calls look like its past ones and never spend tokens on layout.
JSON_GRAMMAR_OPTIONS = {
    "whitespace_flexible": False,
    "item_separator": ", ",
    "key_separator": ": ",
    "lenient": True,  # ignore schema keywords llguidance does not know rather than fail
}
# Layout around a call body: at most the one newline (or, after [TOOL_CALLS], space) that chat
# templates write there. Small models otherwise spend tokens on blank lines.
NEWLINE = '"\\n"?'
SPACE = '" "?'


class ToolFormatError(MlxAgentError):
    """An unknown tool-call format was asked for."""


def lark_literal(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def lark_json(schema: Mapping[str, Any]) -> str:
    return "%json " + json.dumps({**schema, "x-guidance": JSON_GRAMMAR_OPTIONS}, ensure_ascii=False)


class _Malformed(ValueError):
    """A call body that cannot be read; the message says why, for the model."""


@dataclass(frozen=True)
class ToolFormat:
    name: str
    tool_call_start: str
    tool_call_end: str
    template_has_tools: bool
    args_key: str = "arguments"
    # Text a model may write before a call in formats without a start marker.
    reply_prefixes: tuple[str, ...] = ()

    # ---- text form -------------------------------------------------------------------

    def call_text(self, name: str, arguments: Mapping[str, Any]) -> str:
        body = json.dumps({"name": name, self.args_key: dict(arguments)}, ensure_ascii=False)
        return f"{self.tool_call_start}\n{body}\n{self.tool_call_end}"

    def parse(self, text: str, tools: Sequence[Mapping[str, Any]]) -> ParsedOutput:
        fns = normalize_tools(tools)
        names = tool_names(fns)
        content, bodies = self._split(text)
        calls: list[ToolCall] = []
        errors: list[str] = []
        for body in bodies:
            try:
                items = self._decode(body, fns)
            except _Malformed as exc:
                errors.append(f"Your tool call could not be read: {exc}. "
                              f"Write a call exactly like this: {self._example(tools)}")
                continue
            for item in items:
                call = self._check(item, names)
                if isinstance(call, str):
                    errors.append(call)
                else:
                    calls.append(call)
        return ParsedOutput(content.strip(), calls, errors)

    def _split(self, text: str) -> tuple[str, list[str]]:
        """(text outside calls, call bodies). Tag formats: a body runs to its end tag, to the
        next start tag, or to the end of the text (generation may stop before the end tag)."""
        start, end = self.tool_call_start, self.tool_call_end
        content: list[str] = []
        bodies: list[str] = []
        pos = 0
        while (i := text.find(start, pos)) != -1:
            content.append(text[pos:i])
            body_at = i + len(start)
            j = text.find(end, body_at) if end else -1
            k = text.find(start, body_at)
            if j != -1 and (k == -1 or j < k):
                bodies.append(text[body_at:j])
                pos = j + len(end)
            else:
                stop = k if k != -1 else len(text)
                bodies.append(text[body_at:stop])
                pos = stop
        content.append(text[pos:])
        return "".join(content), bodies

    def _decode(self, body: str, tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Call dicts ({"name", args_key or "arguments", maybe "id"}) from one body."""
        try:
            value = json.loads(body.strip())
        except json.JSONDecodeError as exc:
            raise _Malformed(f"it is not valid JSON ({exc})") from None
        items = value if isinstance(value, list) else [value]
        if not items or not all(isinstance(v, dict) for v in items):
            raise _Malformed("it must be a JSON object with \"name\" and \"arguments\"")
        return items

    def _check(self, item: Mapping[str, Any], names: list[str]) -> ToolCall | str:
        name = item.get("name")
        if not isinstance(name, str) or not name:
            return f'A tool call has no "name". Write it like this: {self.call_text("<tool name>", {})}'
        if name not in names:
            available = ", ".join(names) if names else "none"
            return f"Unknown tool {name!r}. Available tools: {available}."
        # Small models mix up the two keys; reading either costs nothing.
        arguments = item.get(self.args_key, item.get("arguments", item.get("parameters")))
        if isinstance(arguments, str):
            try:
                arguments = json.loads(arguments) if arguments.strip() else {}
            except json.JSONDecodeError:
                pass
        if arguments is None:
            arguments = {}
        if not isinstance(arguments, dict):
            return f'The arguments of {name} must be a JSON object, e.g. {self.call_text(name, {})}'
        call_id = item.get("id") if isinstance(item.get("id"), str) and item.get("id") else new_call_id()
        return ToolCall(call_id, name, arguments)

    def _example(self, tools: Sequence[Mapping[str, Any]]) -> str:
        """One well-formed call to the first tool, with placeholder values for its required arguments."""
        if not tools:
            return self.call_text("<tool name>", {"<argument>": "<value>"})
        fn = tool_function(tools[0])
        required = (fn.get("parameters") or {}).get("required") or []
        return self.call_text(fn["name"], {arg: "..." for arg in required})

    # ---- chat messages -----------------------------------------------------------------

    def render_messages(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """OpenAI-style messages adapted for this family's chat template."""
        if not self.template_has_tools:
            return prompting.prompted_messages(self, messages, tools)
        return prompting.template_messages(self, messages)

    # ---- grammar ---------------------------------------------------------------------

    def call_schema(self, tools: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        """The JSON schema of a call's body (what the grammar embeds)."""
        return call_schema(tools, self.args_key)

    def grammar(self, tools: Sequence[Mapping[str, Any]], start_ref: str, end_ref: str) -> str:
        """Lark for exactly one call: start marker, body, end marker."""
        return "\n".join([
            f"start: {start_ref} {NEWLINE} body {NEWLINE} {end_ref}",
            f"body: {lark_json(self.call_schema(tools))}",
        ])


@dataclass(frozen=True)
class Llama3JsonFormat(ToolFormat):
    """Llama 3.1 JSON tool calling: the reply is a bare `{"name": ..., "parameters": {...}}`,
    sometimes after `<|python_tag|>`. No markers, so calls are found as JSON objects with a
    name and parameters (several may be separated by `;`)."""

    _CALL_OPENING = re.compile(r'\{\s*"name"\s*:')

    def call_text(self, name: str, arguments: Mapping[str, Any]) -> str:
        return json.dumps({"name": name, "parameters": dict(arguments)}, ensure_ascii=False)

    def render_messages(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return one_call_per_message(super().render_messages(messages, tools))

    def _split(self, text: str) -> tuple[str, list[str]]:
        for prefix in self.reply_prefixes:
            text = text.replace(prefix, "")
        decoder = json.JSONDecoder()
        content: list[str] = []
        bodies: list[str] = []
        pos = 0
        for match in self._CALL_OPENING.finditer(text):
            if match.start() < pos:
                continue
            try:
                value, end = decoder.raw_decode(text, match.start())
            except json.JSONDecodeError:
                rest = text[match.start():]
                if '"parameters"' in rest or '"arguments"' in rest:  # a call, broken: report it
                    content.append(text[pos:match.start()])
                    bodies.append(rest)
                    pos = len(text)
                    break
                continue
            if isinstance(value, dict) and ("parameters" in value or "arguments" in value):
                content.append(text[pos:match.start()])
                bodies.append(text[match.start():end])
                pos = end
                if text[pos:].lstrip().startswith(";"):
                    pos = text.index(";", pos) + 1
        content.append(text[pos:])
        return "".join(content), bodies

    def grammar(self, tools: Sequence[Mapping[str, Any]], start_ref: str, end_ref: str) -> str:
        return f"start: {lark_json(self.call_schema(tools))}"


@dataclass(frozen=True)
class MistralFormat(ToolFormat):
    """Mistral v0.3: `[TOOL_CALLS][{"name": ..., "arguments": {...}}, ...]`, no end marker."""

    def call_text(self, name: str, arguments: Mapping[str, Any]) -> str:
        return self.tool_call_start + json.dumps([{"name": name, "arguments": dict(arguments)}], ensure_ascii=False)

    def render_messages(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return with_mistral_ids(alternating(super().render_messages(messages, tools)))

    def _split(self, text: str) -> tuple[str, list[str]]:
        first, *segments = text.split(self.tool_call_start)
        content = [first]
        bodies = []
        decoder = json.JSONDecoder()
        for segment in segments:
            stripped = segment.lstrip()
            try:  # text after the JSON array is ordinary content
                _, end = decoder.raw_decode(stripped)
                bodies.append(stripped[:end])
                content.append(stripped[end:])
            except json.JSONDecodeError:
                bodies.append(segment)  # maybe the `name[ARGS]{...}` form; mlx-lm decides
        return "".join(content), bodies

    def _decode(self, body: str, tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
        from mlx_lm.tool_parsers import mistral

        try:
            value = mistral.parse_tool_call(body.strip(), tools)
        except (ValueError, AttributeError, TypeError):
            raise _Malformed('it must be a JSON list of {"name": ..., "arguments": {...}} objects') from None
        return value if isinstance(value, list) else [value]

    def call_schema(self, tools: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        return {"type": "array", "items": call_schema(tools, "arguments"), "minItems": 1}

    def grammar(self, tools: Sequence[Mapping[str, Any]], start_ref: str, end_ref: str) -> str:
        return "\n".join([
            f"start: {start_ref} {SPACE} body",
            f"body: {lark_json(self.call_schema(tools))}",
        ])


@dataclass(frozen=True)
class Qwen3CoderFormat(ToolFormat):
    """Qwen3-Coder XML: `<tool_call><function=NAME><parameter=P>value</parameter></function></tool_call>`,
    one tag per line; string values are raw text, others JSON."""

    def call_text(self, name: str, arguments: Mapping[str, Any]) -> str:
        lines = [self.tool_call_start, f"<function={name}>"]
        for key, value in arguments.items():
            text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
            lines += [f"<parameter={key}>", text, "</parameter>"]
        lines += ["</function>", self.tool_call_end]
        return "\n".join(lines)

    def _decode(self, body: str, tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
        from mlx_lm.tool_parsers import qwen3_coder

        try:
            return [qwen3_coder.parse_tool_call(body.strip(), tools)]
        except (ValueError, TypeError):
            raise _Malformed("it must be <function=NAME> with <parameter=NAME> value </parameter> "
                             "lines and end with </function>") from None

    def grammar(self, tools: Sequence[Mapping[str, Any]], start_ref: str, end_ref: str) -> str:
        rules: list[str] = []
        functions: list[str] = []
        for t, tool in enumerate(tools):
            fn = tool_function(tool)
            params = arguments_schema(fn)
            for v, variant in enumerate(params.get("anyOf") or [params]):
                rule = f"f{t}_{v}"
                functions.append(rule)
                rules += _xml_function_rules(rule, fn["name"], variant)
        return "\n".join([
            f"start: {start_ref} {NEWLINE} call {NEWLINE} {end_ref}",
            "call: " + " | ".join(functions),
            # A string value runs to the first "\n</parameter>", like mlx-lm's parser reads it.
            'text_value[lazy]: /(.|\\n)*\\n<\\/parameter>/',
            *rules,
        ])


def _xml_function_rules(rule: str, name: str, schema: Mapping[str, Any]) -> list[str]:
    props: Mapping[str, Any] = schema.get("properties") or {}
    required = set(schema.get("required") or ())
    body = [lark_literal(f"<function={name}>\n")]
    rules = []
    for p, (key, prop) in enumerate(props.items()):
        prule = f"{rule}_p{p}"
        opening = lark_literal(f"<parameter={key}>\n")
        rules.append(f"{prule}: {opening} {_xml_value(prop)}")
        body.append(prule if key in required else f"{prule}?")
    body.append(lark_literal("</function>"))
    return [f"{rule}: " + " ".join(body), *rules]


def _xml_value(prop: Mapping[str, Any]) -> str:
    """Lark for one parameter's value and its closing tag."""
    close = lark_literal("\n</parameter>\n")
    choices = prop.get("enum") if "enum" in prop else ([prop["const"]] if "const" in prop else None)
    if choices is not None and all(isinstance(c, str) for c in choices):
        return "(" + " | ".join(lark_literal(c) for c in choices) + f") {close}"
    if prop.get("type") == "string" and choices is None:
        return "text_value " + lark_literal("\n")  # text_value holds "\n</parameter>"; the last "\n" is ours
    return f"{lark_json(prop)} {close}"


FORMATS: dict[str, ToolFormat] = {
    f.name: f
    for f in (
        ToolFormat("hermes", "<tool_call>", "</tool_call>", template_has_tools=True),
        Llama3JsonFormat("llama3_json", "", "", template_has_tools=True, args_key="parameters",
                         reply_prefixes=("<|python_tag|>",)),
        MistralFormat("mistral", "[TOOL_CALLS]", "", template_has_tools=True),
        Qwen3CoderFormat("qwen3_coder", "<tool_call>", "</tool_call>", template_has_tools=True),
        ToolFormat("prompted_hermes", "<tool_call>", "</tool_call>", template_has_tools=False),
    )
}


def format_for(name: str) -> ToolFormat:
    try:
        return FORMATS[name]
    except KeyError:
        raise ToolFormatError(f"Unknown tool-call format {name!r}; known formats: {', '.join(FORMATS)}") from None
