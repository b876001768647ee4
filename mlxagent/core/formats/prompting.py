"""OpenAI-style chat messages made ready for a model's chat template, and the prompt text.

Templates with tool support get the history nearly as is (arguments as objects, which
is what they `tojson`). Templates without it (SmolLM2) get the tools described in the
system message, past calls written back in the call syntax, and tool results as user
turns, so the model sees its own protocol and nothing the template cannot render.

Rendering is deterministic (no random ids, no clock): the same history gives the same
prompt, which keeps prompt caches valid between turns.

Of a tool-call format this module needs only its markers and how it writes one call
(`CallSyntax`); `families.ToolFormat` has both. So `families` imports this module and
this module does not import `families`.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Mapping, Protocol, Sequence

from .schemas import normalize_tools


class CallSyntax(Protocol):
    """What prompting needs of a tool-call format (`families.ToolFormat` is one): the
    markers around a call and the text of one call."""

    @property
    def tool_call_start(self) -> str: ...

    @property
    def tool_call_end(self) -> str: ...

    def call_text(self, name: str, arguments: Mapping[str, Any]) -> str: ...


TOOLS_INTRO = (
    "# Tools\n\n"
    "You can call tools to do the task. Their signatures are inside <tools></tools>:\n"
    "<tools>\n{tools}\n</tools>\n\n"
    "To call a tool, reply with a JSON object inside {start}{end} tags, like this:\n"
    "{example}\n"
    "Tool results come back inside <tool_response></tool_response> tags."
)


def _text(content: Any) -> str:
    """Message content as text: None is empty, OpenAI content parts are joined."""
    if content is None:
        return ""
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, Mapping))
    return str(content)


def _call_entry(call: Any) -> dict[str, Any]:
    """One assistant tool call as `{"id", "type", "function": {"name", "arguments": dict}}`."""
    if hasattr(call, "to_openai"):
        call = call.to_openai()
    fn = call.get("function") or call
    arguments = fn.get("arguments", {})
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments) if arguments.strip() else {}
        except json.JSONDecodeError:
            arguments = {"arguments": arguments}  # keep what the model wrote, visibly
    return {"id": str(call.get("id") or ""), "type": "function",
            "function": {"name": fn.get("name", ""), "arguments": arguments}}


def normalize_history(messages: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for message in messages:
        m = dict(message)
        m["content"] = _text(m.get("content"))
        if m.get("tool_calls"):
            m["tool_calls"] = [_call_entry(c) for c in m["tool_calls"]]
        else:
            m.pop("tool_calls", None)
        out.append(m)
    return out


def tools_system_block(fmt: CallSyntax, tools: Sequence[Mapping[str, Any]]) -> str:
    listed = "\n".join(json.dumps(t, ensure_ascii=False) for t in normalize_tools(tools))
    example = fmt.call_text("<tool-name>", {"<argument>": "<value>"})
    return TOOLS_INTRO.format(tools=listed, start=fmt.tool_call_start, end=fmt.tool_call_end, example=example)


def tool_response_text(content: str) -> str:
    return f"<tool_response>\n{content}\n</tool_response>"


def prompted_messages(
    fmt: CallSyntax, messages: Sequence[Mapping[str, Any]], tools: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Messages for a template without tool support: only system/user/assistant with text."""
    history = normalize_history(messages)
    out: list[dict[str, Any]] = []
    if tools:
        block = tools_system_block(fmt, tools)
        if history and history[0]["role"] == "system":
            head = history.pop(0)["content"].rstrip()
            block = f"{head}\n\n{block}" if head else block
        out.append({"role": "system", "content": block})
    results: list[str] = []  # consecutive tool results become one user turn

    def flush() -> None:
        if results:
            out.append({"role": "user", "content": "\n".join(results)})
            results.clear()

    for m in history:
        if m["role"] == "tool":
            results.append(tool_response_text(m["content"]))
            continue
        flush()
        if m["role"] == "assistant" and m.get("tool_calls"):
            calls = "\n".join(fmt.call_text(c["function"]["name"], c["function"]["arguments"])
                              for c in m["tool_calls"])
            text = m["content"].strip()
            out.append({"role": "assistant", "content": f"{text}\n{calls}" if text else calls})
        else:
            out.append({"role": m["role"], "content": m["content"]})
    flush()
    return out


def template_messages(fmt: CallSyntax, messages: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Messages for a template with tool support: the history, normalized."""
    return normalize_history(messages)


def mistral_call_id(call_id: str) -> str:
    """Mistral's template insists on 9-character alphanumeric ids; derive one stably."""
    return hashlib.sha1(call_id.encode()).hexdigest()[:9]


def with_mistral_ids(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for m in messages:
        for call in m.get("tool_calls") or ():
            call["id"] = mistral_call_id(call["id"])
        if m["role"] == "tool" and m.get("tool_call_id"):
            m["tool_call_id"] = mistral_call_id(str(m["tool_call_id"]))
    return messages


def alternating(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mistral's template refuses a history whose user and assistant text turns (calls and results
    aside) do not alternate from a user turn. The agent writes such histories: a turn cancelled or
    failed after its tool results is followed by the next user turn, `/test` adds a user turn
    before the next prompt. Adjacent texts of one role are merged; where calls and results stand
    between the two, an empty turn of the other role goes in before the second."""
    out: list[dict[str, Any]] = []
    last = "assistant"  # so the first text turn must be the user's
    for m in messages:
        if m["role"] not in ("user", "assistant") or m.get("tool_calls"):
            out.append(m)
            continue
        if m["role"] == last:
            prev = out[-1] if out else None
            if prev is not None and prev["role"] == m["role"] and not prev.get("tool_calls"):
                out[-1] = {**prev, "content": "\n\n".join(t for t in (prev["content"], m["content"]) if t)}
                continue
            out.append({"role": "assistant" if m["role"] == "user" else "user", "content": ""})
        out.append(m)
        last = m["role"]
    return out


def one_call_per_message(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Llama 3.1's template renders one call per assistant message: split a multi-call
    message into call/result pairs, pairing results by `tool_call_id` (else by order)."""
    out: list[dict[str, Any]] = []
    i = 0
    while i < len(messages):
        m = messages[i]
        calls = m.get("tool_calls") or []
        if m["role"] != "assistant" or len(calls) < 2:
            out.append(m)
            i += 1
            continue
        j = i + 1
        while j < len(messages) and messages[j]["role"] == "tool":
            j += 1
        results = messages[i + 1:j]
        for n, call in enumerate(calls):
            out.append({**m, "content": m["content"] if n == 0 else "", "tool_calls": [call]})
            match = next((r for r in results if r.get("tool_call_id") == call["id"]), None)
            if match is None and results and not results[0].get("tool_call_id"):
                match = results[0]
            if match is not None:
                results.remove(match)
                out.append(match)
        out.extend(results)  # results that answer no call still reach the model
        i = j
    return out
