"""OpenAI's Responses API (`POST /v1/responses`) on the chat-completions machinery.

A request becomes a chat request (same validation, worker, prompt-cache pool, guard and
limits); the worker's events become a response object, or its streaming events:

    response.created, response.in_progress,
    response.output_item.added / response.content_part.added / response.output_text.delta ...
    response.output_text.done / response.content_part.done / response.output_item.done,
    (per call) response.output_item.added / response.function_call_arguments.delta / .done /
    response.output_item.done, then response.completed (or response.incomplete).

Input items: a string, or messages ({"role", "content": text or input_text/output_text parts},
with or without "type": "message"), "function_call" items (call_id, name, arguments) and
"function_call_output" items (call_id, output). `instructions` is the system message.
Function tools are `{"type": "function", "name", "description", "parameters"}`; a `namespace`
tool (`{"type": "namespace", "name", "tools": [function tools]}`) offers its function tools;
hosted tools (web_search, ...) are dropped, and the response names them under
`mlxagent.dropped_tools`; the response echoes the request's tools as given. The whole
conversation comes with each request: `previous_response_id` (server-side state) is refused.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from typing import Any, Mapping

from .chat_api import sse_event
from .schemas import ApiError, ChatRequest, bad_value, parse_chat_request
from .tool_shapes import ToolShape

log = logging.getLogger("mlxagent.server")


def _text(content: Any, param: str) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        out = []
        for i, part in enumerate(content):
            if not isinstance(part, Mapping) or part.get("type") not in ("input_text", "output_text", "text"):
                raise ApiError(400, f"'{param}[{i}]' must be an input_text or output_text part (only text is "
                                    "supported).", param=f"{param}[{i}]", code="unsupported_parameter")
            out.append(str(part.get("text", "")))
        return "".join(out)
    raise bad_value(param, "a string or a list of text parts", content)


def chat_messages(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The request's `instructions` and `input` as chat messages."""
    messages: list[dict[str, Any]] = []
    if isinstance(body.get("instructions"), str) and body["instructions"]:
        messages.append({"role": "system", "content": body["instructions"]})
    raw = body.get("input")
    if raw is None:
        raise ApiError(400, "'input' is missing.", param="input", code="missing")
    if isinstance(raw, str):
        return messages + [{"role": "user", "content": raw}]
    if not isinstance(raw, list):
        raise bad_value("input", "a string or a list of input items", raw)
    for i, item in enumerate(raw):
        where = f"input[{i}]"
        if not isinstance(item, Mapping):
            raise bad_value(where, "an object", item)
        kind = item.get("type", "message")
        if kind == "message":
            role = item.get("role")
            if role not in ("user", "assistant", "system", "developer"):
                raise bad_value(f"{where}.role", '"user", "assistant", "system" or "developer"', role)
            messages.append({"role": "system" if role == "developer" else role,
                             "content": _text(item.get("content", ""), f"{where}.content")})
        elif kind == "function_call":
            call = {"id": str(item.get("call_id") or item.get("id") or f"call_{i}"), "type": "function",
                    "function": {"name": str(item.get("name", "")), "arguments": str(item.get("arguments", "{}"))}}
            last = messages[-1] if messages else None
            if last is not None and last["role"] == "assistant" and last.get("tool_calls") is not None:
                last["tool_calls"].append(call)  # parallel calls: one assistant turn
            else:
                messages.append({"role": "assistant", "content": "", "tool_calls": [call]})
        elif kind == "function_call_output":
            output = item.get("output", "")
            messages.append({"role": "tool", "tool_call_id": str(item.get("call_id", "")),
                             "content": output if isinstance(output, str) else json.dumps(output)})
        else:
            raise ApiError(400, f"'{where}.type' {kind!r} is not supported (message, function_call, "
                                "function_call_output).", param=f"{where}.type", code="unsupported_parameter")
    return messages


TOOL_SHAPE = ToolShape(
    list_of="a list of function tools",
    is_tool=lambda tool: isinstance(tool, Mapping) and tool.get("type") == "function",
    refusal="must be a function tool (built-in tools are not supported).",
    function=lambda tool: {k: tool[k] for k in ("name", "description", "parameters") if k in tool},
    named_choice="function",
)


def flatten_tools(tools: Any) -> tuple[Any, list[str]]:
    """`tools` with each `namespace` group's function tools in its place, and without the
    hosted tools this server cannot run (web_search, file_search, ...): (tools, the dropped
    ones as "type" or "type:name"). Anything else is left for the tool checks to name."""
    if not isinstance(tools, list):
        return tools, []
    out: list[Any] = []
    dropped: list[str] = []
    for i, tool in enumerate(tools):
        kind = tool.get("type") if isinstance(tool, Mapping) else None
        if kind == "namespace":
            inner = tool.get("tools")
            if not isinstance(inner, list):
                raise bad_value(f"tools[{i}].tools", "a list of function tools", inner)
            flat, lost = flatten_tools(inner)
            out += flat
            dropped += lost
        elif isinstance(kind, str) and kind != "function":
            name = tool.get("name")
            dropped.append(f"{kind}:{name}" if isinstance(name, str) and name else kind)
        else:
            out.append(tool)
    return out, dropped


def request_tools(body: Mapping[str, Any]) -> tuple[list[Any], list[str]]:
    """The request's tools as given (the response echoes them) and the hosted ones dropped."""
    given = body.get("tools")
    if not isinstance(given, list):
        return [], []
    return given, flatten_tools(given)[1]


def _response_format(text: Any) -> dict[str, Any] | None:
    fmt = text.get("format") if isinstance(text, Mapping) else None
    if not isinstance(fmt, Mapping) or fmt.get("type") in (None, "text"):
        return None
    if fmt.get("type") == "json_schema":
        return {"type": "json_schema", "json_schema": {"name": fmt.get("name"), "schema": fmt.get("schema")}}
    return {"type": fmt.get("type")}


def parse_responses_request(body: Mapping[str, Any], guard_header: str | None = None) -> ChatRequest:
    if body.get("previous_response_id"):
        raise ApiError(400, "'previous_response_id' is not supported: send the whole conversation in 'input'.",
                       param="previous_response_id", code="unsupported_parameter")
    chat: dict[str, Any] = {"model": body.get("model"), "messages": chat_messages(body),
                            "stream": body.get("stream", False)}
    for key in ("temperature", "top_p", "mlxagent"):
        if key in body:
            chat[key] = body[key]
    if body.get("max_output_tokens") is not None:
        chat["max_tokens"] = body["max_output_tokens"]
    given, dropped = flatten_tools(body.get("tools"))
    if dropped:
        log.info("/v1/responses: dropped tools this server cannot run: %s", ", ".join(dropped))
    if (tools := TOOL_SHAPE.chat_tools(given)) is not None:
        chat["tools"] = tools
    if body.get("tool_choice") is not None:
        chat["tool_choice"] = TOOL_SHAPE.chat_tool_choice(body["tool_choice"])
    if (fmt := _response_format(body.get("text"))) is not None:
        chat["response_format"] = fmt
    try:
        return parse_chat_request(chat, guard_header)
    except ApiError as e:  # name the Responses field, not the chat one it became
        renamed = {"max_tokens": "max_output_tokens", "messages": "input", "response_format": "text.format"}
        head = (e.param or "").split("[")[0].split(".")[0]
        if head in renamed:
            e.param = renamed[head] + (e.param or "")[len(head):]
        raise


# ---------------------------------------------------------------- output

def response_id() -> str:
    return item_id("resp")


def item_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:24]}"


def usage(chat_usage: Mapping[str, Any]) -> dict[str, Any]:
    prompt, completion = int(chat_usage.get("prompt_tokens", 0)), int(chat_usage.get("completion_tokens", 0))
    cached = int((chat_usage.get("prompt_tokens_details") or {}).get("cached_tokens", 0))
    return {"input_tokens": prompt, "input_tokens_details": {"cached_tokens": cached},
            "output_tokens": completion, "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": prompt + completion}


def message_item(item_id: str, text: str, status: str = "completed") -> dict[str, Any]:
    return {"type": "message", "id": item_id, "status": status, "role": "assistant",
            "content": [{"type": "output_text", "text": text, "annotations": []}] if status == "completed" or text
            else []}


def call_item(item_id: str, call: Mapping[str, Any], arguments: str | None = None) -> dict[str, Any]:
    fn = call["function"]
    return {"type": "function_call", "id": item_id, "call_id": call["id"], "name": fn["name"],
            "arguments": fn["arguments"] if arguments is None else arguments, "status": "completed"}


def response_object(rid: str, created: int, model: str, output: list[dict[str, Any]], finish_reason: str,
                    chat_usage: Mapping[str, Any] | None, guard: dict[str, Any] | None,
                    status: str | None = None, tools: list[Any] | None = None,
                    dropped: list[str] | None = None) -> dict[str, Any]:
    """The response; `tools`: the request's, echoed as given; `dropped`: hosted tools not offered."""
    incomplete = finish_reason == "length"
    body: dict[str, Any] = {
        "id": rid, "object": "response", "created_at": created, "model": model,
        "status": status or ("incomplete" if incomplete else "completed"),
        "incomplete_details": {"reason": "max_output_tokens"} if incomplete else None,
        "output": output, "parallel_tool_calls": True, "tool_choice": "auto", "tools": list(tools or []),
        "usage": usage(chat_usage) if chat_usage is not None else None, "error": None,
    }
    extra = {"guard": guard} if guard is not None else {}
    if dropped:
        extra["dropped_tools"] = list(dropped)
    if extra:
        body["mlxagent"] = extra
    return body


class EventWriter:
    """`event: TYPE` / `data: {...}` lines for one streamed response."""

    def __init__(self, model: str, tools: list[Any] | None = None, dropped: list[str] | None = None) -> None:
        self.tools, self.dropped = tools, dropped
        self.id = response_id()
        self.created = int(time.time())
        self.model = model
        self.sequence = 0
        self.output: list[dict[str, Any]] = []
        self._text_item: dict[str, Any] | None = None
        self._text = ""

    def event(self, kind: str, **fields: Any) -> bytes:
        body = {"type": kind, "sequence_number": self.sequence, **fields}
        self.sequence += 1
        return sse_event(kind, body)

    def start(self) -> list[bytes]:
        shell = response_object(self.id, self.created, self.model, [], "stop", None, None, status="in_progress",
                                tools=self.tools, dropped=self.dropped)
        return [self.event("response.created", response=shell), self.event("response.in_progress", response=shell)]

    def text(self, delta: str) -> list[bytes]:
        out = []
        if self._text_item is None:
            self._text_item = message_item(item_id("msg"), "", status="in_progress")
            index = len(self.output)
            self.output.append(self._text_item)
            out.append(self.event("response.output_item.added", output_index=index, item=self._text_item))
            out.append(self.event("response.content_part.added", item_id=self._text_item["id"], output_index=index,
                                  content_index=0, part={"type": "output_text", "text": "", "annotations": []}))
        self._text += delta
        out.append(self.event("response.output_text.delta", item_id=self._text_item["id"],
                              output_index=self.output.index(self._text_item), content_index=0, delta=delta))
        return out

    def _close_text(self) -> list[bytes]:
        if self._text_item is None:
            return []
        item, index = self._text_item, self.output.index(self._text_item)
        done = message_item(item["id"], self._text)
        self.output[index] = done
        self._text_item = None
        part = done["content"][0]
        return [self.event("response.output_text.done", item_id=item["id"], output_index=index, content_index=0,
                           text=self._text),
                self.event("response.content_part.done", item_id=item["id"], output_index=index, content_index=0,
                           part=part),
                self.event("response.output_item.done", output_index=index, item=done)]

    def calls(self, calls: list[dict[str, Any]]) -> list[bytes]:
        out = self._close_text()
        for call in calls:
            fc_id = item_id("fc")
            index = len(self.output)
            args = call["function"]["arguments"]
            pending = {**call_item(fc_id, call, arguments=""), "status": "in_progress"}
            self.output.append(call_item(fc_id, call))
            out += [self.event("response.output_item.added", output_index=index, item=pending),
                    self.event("response.function_call_arguments.delta", item_id=fc_id, output_index=index,
                               delta=args),
                    self.event("response.function_call_arguments.done", item_id=fc_id, output_index=index,
                               arguments=args),
                    self.event("response.output_item.done", output_index=index, item=self.output[index])]
        return out

    def finish(self, finish_reason: str, chat_usage: Mapping[str, Any], guard: dict[str, Any] | None) -> list[bytes]:
        out = self._close_text()
        final = response_object(self.id, self.created, self.model, self.output, finish_reason, chat_usage, guard,
                                tools=self.tools, dropped=self.dropped)
        kind = "response.incomplete" if final["status"] == "incomplete" else "response.completed"
        return out + [self.event(kind, response=final)]

    def failed(self, error: Mapping[str, Any]) -> list[bytes]:
        shell = response_object(self.id, self.created, self.model, self.output, "stop", None, None, status="failed",
                                tools=self.tools, dropped=self.dropped)
        shell["error"] = {"code": error.get("code") or "server_error", "message": error.get("message", "")}
        return [self.event("response.failed", response=shell)]
