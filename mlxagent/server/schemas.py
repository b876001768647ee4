"""Request bodies, checked by hand into small dataclasses, and errors in OpenAI's shape.

Every check names the offending field (`param`) and says what was expected, so a client
gets one clear line with a 4xx status instead of a traceback. Unknown top-level fields are
ignored, as most OpenAI-compatible servers do; known fields of the wrong type are refused.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Mapping

ROLES = ("system", "developer", "user", "assistant", "tool")
TOOL_NAME_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
MAX_MESSAGES = 10_000
MAX_TOOLS = 128
MAX_STOPS = 4
MAX_STOP_CHARS = 256
MAX_TOKENS_LIMIT = 1_000_000


class ApiError(Exception):
    """An error the client gets as `{"error": {...}}` with an HTTP status."""

    def __init__(self, status: int, message: str, *, param: str | None = None, code: str | None = None,
                 type: str | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.headers = headers  # extra response headers (e.g. Connection: close)
        self.message = message
        self.param = param
        self.code = code
        self.type = type or ("invalid_request_error" if status < 500 else "server_error")

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}


def json_type(value: Any) -> str:
    """The JSON name of a value's type, for messages ("a string", "an array", ...)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _bad(param: str, expected: str, value: Any, code: str = "invalid_type") -> ApiError:
    return ApiError(400, f"'{param}' must be {expected}, not {json_type(value)}.", param=param, code=code)


def bad_value(param: str, what: str, value: Any) -> ApiError:
    """A 400 that quotes the value itself (the other API shapes' request fields)."""
    return ApiError(400, f"'{param}' must be {what}, not {json.dumps(value)[:80]}.", param=param, code="invalid_value")


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_json_object(raw: bytes) -> dict[str, Any]:
    """The request body as a JSON object, or a 400 that says what is wrong with it."""
    if not raw.strip():
        raise ApiError(400, "The request body is empty: send a JSON object.", code="invalid_json")
    try:
        value = json.loads(raw, parse_constant=_refuse_constant)
    except json.JSONDecodeError as e:
        raise ApiError(400, f"The request body is not valid JSON: {e.msg} (line {e.lineno}, column {e.colno}).",
                       code="invalid_json") from None
    except (ValueError, UnicodeDecodeError, RecursionError) as e:
        raise ApiError(400, f"The request body is not valid JSON: {str(e)[:200] or type(e).__name__}.",
                       code="invalid_json") from None
    if not isinstance(value, dict):
        raise ApiError(400, f"The request body must be a JSON object, not {json_type(value)}.", code="invalid_json")
    if (where := _lone_surrogate(value, "")) is not None:
        raise ApiError(400, f"'{where}' holds a lone UTF-16 surrogate (such as \\ud800), which is not text.",
                       param=where, code="invalid_string")
    return value


def _lone_surrogate(value: Any, path: str) -> str | None:
    """Where in a parsed body a string (or key) holds an unpaired surrogate, or None."""
    stack = [(value, path)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return where or "(body)"
        elif isinstance(item, dict):
            for key, child in item.items():
                child_path = f"{where}.{key}" if where else str(key)
                if _lone_surrogate(key, "") is not None:
                    return (where + ".(key)") if where else "(key)"
                stack.append((child, child_path))
        elif isinstance(item, list):
            stack.extend((child, f"{where}[{i}]") for i, child in enumerate(item))
    return None


# ---------------------------------------------------------------- small checks
def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _text_content(content: Any, param: str, *, allow_null: bool) -> str | None:
    """Message content: a string, null (where allowed), or an array of text parts."""
    if content is None:
        if allow_null:
            return None
        raise _bad(param, "a string or an array of text parts", content)
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for i, part in enumerate(content):
            where = f"{param}[{i}]"
            if not isinstance(part, dict):
                raise _bad(where, "an object like {\"type\": \"text\", \"text\": \"...\"}", part)
            if part.get("type") != "text":
                raise ApiError(400, f"'{where}.type' is {part.get('type')!r}: only text content parts are supported.",
                               param=f"{where}.type", code="unsupported_content")
            if not isinstance(part.get("text"), str):
                raise _bad(f"{where}.text", "a string", part.get("text"))
            parts.append(part["text"])
        return "".join(parts)
    raise _bad(param, "a string or an array of text parts", content)


def _tool_call(call: Any, param: str) -> dict[str, Any]:
    if not isinstance(call, dict):
        raise _bad(param, "an object", call)
    fn = call.get("function")
    if not isinstance(fn, dict):
        raise _bad(f"{param}.function", "an object with \"name\" and \"arguments\"", fn)
    name = fn.get("name")
    if not isinstance(name, str) or not name:
        raise _bad(f"{param}.function.name", "a non-empty string", name)
    arguments = fn.get("arguments", "{}")
    if isinstance(arguments, dict):
        arguments = json.dumps(arguments, ensure_ascii=False)
    elif not isinstance(arguments, str):
        raise _bad(f"{param}.function.arguments", "a string of JSON", arguments)
    call_id = call.get("id", "")
    if not isinstance(call_id, str):
        raise _bad(f"{param}.id", "a string", call_id)
    if call.get("type", "function") != "function":
        raise ApiError(400, f"'{param}.type' must be \"function\".", param=f"{param}.type", code="invalid_value")
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def parse_messages(value: Any) -> list[dict[str, Any]]:
    """OpenAI messages -> the engine's form: role, content as text, tool_calls with JSON-string arguments."""
    if not isinstance(value, list):
        raise _bad("messages", "an array of messages", value)
    if not value:
        raise ApiError(400, "'messages' must hold at least one message.", param="messages", code="invalid_value")
    if len(value) > MAX_MESSAGES:
        raise ApiError(400, f"'messages' holds {len(value)} messages; at most {MAX_MESSAGES} are accepted.",
                       param="messages", code="invalid_value")
    out = []
    for i, m in enumerate(value):
        param = f"messages[{i}]"
        if not isinstance(m, dict):
            raise _bad(param, "an object with \"role\" and \"content\"", m)
        role = m.get("role")
        if role not in ROLES:
            raise ApiError(400, f"'{param}.role' must be one of {', '.join(ROLES)}, not {role!r}.",
                           param=f"{param}.role", code="invalid_value")
        message: dict[str, Any] = {"role": "system" if role == "developer" else role}
        if role == "assistant":
            calls = m.get("tool_calls")
            if calls is not None and not isinstance(calls, list):
                raise _bad(f"{param}.tool_calls", "an array", calls)
            message["content"] = _text_content(m.get("content"), f"{param}.content", allow_null=True) or ""
            if calls:
                message["tool_calls"] = [_tool_call(c, f"{param}.tool_calls[{j}]") for j, c in enumerate(calls)]
        else:
            if "content" not in m:
                raise ApiError(400, f"'{param}.content' is missing.", param=f"{param}.content", code="missing")
            message["content"] = _text_content(m.get("content"), f"{param}.content", allow_null=False)
        if role == "tool":
            call_id = m.get("tool_call_id")
            if not isinstance(call_id, str):
                raise _bad(f"{param}.tool_call_id", "a string (the id of the call this answers)", call_id)
            message["tool_call_id"] = call_id
        if "name" in m and m["name"] is not None:
            if not isinstance(m["name"], str):
                raise _bad(f"{param}.name", "a string", m["name"])
            message["name"] = m["name"]
        out.append(message)
    return out


def template_turns(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The turns as chat templates take them: every system message (Codex sends two `developer`
    messages, Claude Code system-role ones mid-conversation) joins one system prompt at the
    start, in order, and user texts in a row (Codex's environment, then the task) become one
    turn. Many templates refuse a second system message or two user turns in a row."""
    system = [m["content"] for m in messages if m["role"] == "system" and m["content"]]
    out: list[dict[str, Any]] = [{"role": "system", "content": "\n\n".join(system)}] if system else []
    for m in messages:
        if m["role"] == "system":
            continue
        prev = out[-1] if out else None
        if m["role"] == "user" and prev is not None and prev["role"] == "user":
            out[-1] = {**prev, "content": "\n\n".join(t for t in (prev["content"], m["content"]) if t)}
            continue
        out.append(m)
    return out


def parse_tools(value: Any) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _bad("tools", "an array of tools", value)
    if len(value) > MAX_TOOLS:
        raise ApiError(400, f"'tools' holds {len(value)} tools; at most {MAX_TOOLS} are accepted.",
                       param="tools", code="invalid_value")
    out, seen = [], set()
    for i, tool in enumerate(value):
        param = f"tools[{i}]"
        if not isinstance(tool, dict):
            raise _bad(param, "an object like {\"type\": \"function\", \"function\": {...}}", tool)
        if tool.get("type", "function") != "function":
            raise ApiError(400, f"'{param}.type' must be \"function\" (the only tool type supported).",
                           param=f"{param}.type", code="invalid_value")
        fn = tool.get("function")
        if not isinstance(fn, dict):
            raise _bad(f"{param}.function", "an object with a \"name\"", fn)
        name = fn.get("name")
        if not isinstance(name, str) or not TOOL_NAME_RE.match(name):
            raise ApiError(400, f"'{param}.function.name' must be 1-64 letters, digits, '_', '-', '.' or ':', "
                                f"not {name!r}.", param=f"{param}.function.name", code="invalid_value")
        if name in seen:
            raise ApiError(400, f"Two tools are named {name!r}; tool names must be unique.",
                           param=f"{param}.function.name", code="invalid_value")
        seen.add(name)
        description = fn.get("description", "")
        if description is not None and not isinstance(description, str):
            raise _bad(f"{param}.function.description", "a string", description)
        parameters = fn.get("parameters", {"type": "object", "properties": {}})
        if not isinstance(parameters, dict):
            raise _bad(f"{param}.function.parameters", "a JSON schema object", parameters)
        out.append({"type": "function", "function": {"name": name, "description": description or "",
                                                     "parameters": parameters}})
    return out


def parse_tool_choice(value: Any, tools: list[dict[str, Any]]) -> tuple[str, str | None]:
    """("auto" | "none" | "required" | "function", the forced function's name)."""
    names = [t["function"]["name"] for t in tools]
    if value is None:
        return ("auto" if tools else "none"), None
    if isinstance(value, str):
        if value not in ("auto", "none", "required"):
            raise ApiError(400, f"'tool_choice' must be \"auto\", \"none\", \"required\" or "
                                f"{{\"type\": \"function\", \"function\": {{\"name\": ...}}}}, not {value!r}.",
                           param="tool_choice", code="invalid_value")
        if value == "required" and not tools:
            raise ApiError(400, "'tool_choice' is \"required\" but no 'tools' were given.", param="tool_choice",
                           code="invalid_value")
        return value, None
    if isinstance(value, dict):
        fn = value.get("function")
        name = fn.get("name") if isinstance(fn, dict) else None
        if value.get("type") != "function" or not isinstance(name, str):
            raise ApiError(400, "'tool_choice' as an object must be {\"type\": \"function\", \"function\": "
                                "{\"name\": \"NAME\"}}.", param="tool_choice", code="invalid_value")
        if name not in names:
            offered = ", ".join(names) or "none"
            raise ApiError(400, f"'tool_choice' names the function {name!r}, which is not in 'tools' "
                                f"(offered: {offered}).", param="tool_choice", code="invalid_value")
        return "function", name
    raise _bad("tool_choice", "a string or an object", value)


def _stop(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(s, str) for s in items):
        raise _bad("stop", "a string or an array of strings", value)
    if len(items) > MAX_STOPS:
        raise ApiError(400, f"'stop' may hold at most {MAX_STOPS} strings.", param="stop", code="invalid_value")
    if any(len(s) > MAX_STOP_CHARS for s in items):
        raise ApiError(400, f"A 'stop' string is longer than {MAX_STOP_CHARS} characters.", param="stop",
                       code="invalid_value")
    return tuple(s for s in items if s)


def _optional_number(body: Mapping[str, Any], key: str, low: float, high: float, *, low_open: bool = False):
    value = body.get(key)
    if value is None:
        return None
    if not _is_number(value):
        raise _bad(key, "a number", value)
    if value < low or value > high or (low_open and value == low):
        lower = f"greater than {low}" if low_open else f"at least {low}"
        raise ApiError(400, f"'{key}' must be {lower} and at most {high}, not {value}.", param=key,
                       code="invalid_value")
    return float(value)


def _optional_bool(body: Mapping[str, Any], key: str, default: bool | None = None) -> bool | None:
    value = body.get(key)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise _bad(key, "true or false", value)
    return value


def _names_list(value: Any, param: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise _bad(param, "an array of tool names", value)
    return tuple(value)


@dataclass(frozen=True)
class ChatRequest:
    model: str
    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]] = field(default_factory=list)
    tool_choice: str = "none"  # "auto" | "none" | "required" | "function"
    forced_function: str | None = None
    temperature: float | None = None
    top_p: float | None = None
    seed: int | None = None
    max_tokens: int | None = None
    stop: tuple[str, ...] = ()
    stream: bool = False
    include_usage: bool = False
    guard: bool | None = None  # None: as configured
    edit_tools: tuple[str, ...] = ()  # extra names of edit-type tools for the guard
    response_schema: dict[str, Any] | None = None  # response_format: the reply is JSON of this schema
    weak_tools: bool | None = None  # hold the model to a call on a user's turn (server/tool_policy.py); None: as set
    # What the worker learns while serving it ("prompt_tokens", before a stream starts).
    observed: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


def parse_response_format(value: Any, tools: list[dict[str, Any]]) -> dict[str, Any] | None:
    """`response_format` as the JSON schema the whole reply must follow (None: free text).
    `json_object` is any JSON object; `json_schema` carries its schema. Enforced with the
    same grammar engine as tool calls, so the reply always parses."""
    if value is None:
        return None
    if not isinstance(value, dict) or value.get("type") not in ("text", "json_object", "json_schema"):
        raise ApiError(400, "'response_format' must be {\"type\": \"text\"}, {\"type\": \"json_object\"} or "
                            "{\"type\": \"json_schema\", \"json_schema\": {\"name\": ..., \"schema\": {...}}}.",
                       param="response_format", code="invalid_value")
    if value["type"] == "text":
        return None
    if tools:
        raise ApiError(400, "'response_format' with 'tools' is not supported: a reply is either calls or JSON.",
                       param="response_format", code="unsupported_parameter")
    if value["type"] == "json_object":
        return {"type": "object"}
    spec = value.get("json_schema")
    if not isinstance(spec, dict) or not isinstance(spec.get("schema", {}), dict):
        raise _bad("response_format.json_schema", "an object with a 'schema' object", spec)
    return dict(spec.get("schema") or {"type": "object"})


def parse_chat_request(body: Mapping[str, Any], guard_header: str | None = None) -> ChatRequest:
    model = body.get("model")
    if not isinstance(model, str) or not model.strip():
        if "model" not in body:
            raise ApiError(400, "'model' is missing: name an installed model or alias (see GET /v1/models).",
                           param="model", code="missing")
        raise _bad("model", "a non-empty string (a model name or alias)", model)
    if "messages" not in body:
        raise ApiError(400, "'messages' is missing.", param="messages", code="missing")
    messages = template_turns(parse_messages(body.get("messages")))
    if body.get("functions") is not None or body.get("function_call") is not None:
        raise ApiError(400, "'functions' and 'function_call' are not supported: use 'tools' and 'tool_choice'.",
                       param="functions", code="unsupported_parameter")
    tools = parse_tools(body.get("tools"))
    tool_choice, forced = parse_tool_choice(body.get("tool_choice"), tools)
    max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
    key = "max_completion_tokens" if body.get("max_completion_tokens") is not None else "max_tokens"
    if max_tokens is not None and (not _is_int(max_tokens) or not 1 <= max_tokens <= MAX_TOKENS_LIMIT):
        if not _is_int(max_tokens):
            raise _bad(key, "a whole number", max_tokens)
        raise ApiError(400, f"'{key}' must be from 1 to {MAX_TOKENS_LIMIT}, not {max_tokens}.", param=key,
                       code="invalid_value")
    n = body.get("n")
    if n is not None and (not _is_int(n) or n != 1):
        raise ApiError(400, "'n' must be 1: one choice per request is supported.", param="n",
                       code="unsupported_parameter")
    if _optional_bool(body, "logprobs"):
        raise ApiError(400, "'logprobs' is not supported.", param="logprobs", code="unsupported_parameter")
    response_schema = parse_response_format(body.get("response_format"), tools)
    seed = body.get("seed")
    if seed is not None and not _is_int(seed):
        raise _bad("seed", "a whole number", seed)
    for key_ in ("frequency_penalty", "presence_penalty"):  # accepted for compatibility, not applied
        _optional_number(body, key_, -2.0, 2.0)
    for key_ in ("user",):
        if body.get(key_) is not None and not isinstance(body[key_], str):
            raise _bad(key_, "a string", body[key_])
    _optional_bool(body, "parallel_tool_calls")
    stream = bool(_optional_bool(body, "stream", False))
    include_usage = False
    options = body.get("stream_options")
    if options is not None:
        if not isinstance(options, dict):
            raise _bad("stream_options", "an object", options)
        include_usage = bool(_optional_bool(options, "include_usage", False))
    guard, edit_tools, weak_tools = _mlxagent_options(body.get("mlxagent"), guard_header)
    return ChatRequest(
        model=model.strip(), messages=messages, tools=tools, tool_choice=tool_choice, forced_function=forced,
        temperature=_optional_number(body, "temperature", 0.0, 2.0),
        top_p=_optional_number(body, "top_p", 0.0, 1.0, low_open=True),
        seed=seed, max_tokens=max_tokens, stop=_stop(body.get("stop")), stream=stream,
        include_usage=include_usage, guard=guard, edit_tools=edit_tools, response_schema=response_schema,
        weak_tools=weak_tools,
    )


GUARD_OFF = ("off", "false", "0", "no", "disable", "disabled")
GUARD_ON = ("on", "true", "1", "yes", "enable", "enabled")


def on_off(header: str | None, name: str) -> bool | None:
    """An on/off request header (None when absent); a 400 naming it for any other word."""
    if header is None:
        return None
    word = header.strip().lower()
    if word in GUARD_OFF or word in GUARD_ON:
        return word in GUARD_ON
    raise ApiError(400, f"The {name} header must be \"on\" or \"off\", not {header!r}.", param=name,
                   code="invalid_value")


def _mlxagent_options(value: Any, guard_header: str | None) -> tuple[bool | None, tuple[str, ...], bool | None]:
    """The `mlxagent` extension object ({"guard": bool, "edit_tools": [...], "weak_tools": bool})
    and the X-Mlxagent-Guard header: (guard, edit_tools, weak_tools)."""
    guard = on_off(guard_header, "X-Mlxagent-Guard")
    if value is None:
        return guard, (), None
    if not isinstance(value, dict):
        raise _bad("mlxagent", "an object like {\"guard\": false}", value)
    flags: dict[str, bool | None] = {"guard": guard, "weak_tools": None}
    for key in flags:
        if value.get(key) is not None:
            if not isinstance(value[key], bool):
                raise _bad(f"mlxagent.{key}", "true or false", value[key])
            flags[key] = value[key]
    edit_tools: tuple[str, ...] = ()
    if value.get("edit_tools") is not None:
        edit_tools = _names_list(value["edit_tools"], "mlxagent.edit_tools")
    return flags["guard"], edit_tools, flags["weak_tools"]


@dataclass(frozen=True)
class InstallRequest:
    model_id: str
    name: str | None


NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:+@-]{0,127}$")


def parse_install_request(body: Mapping[str, Any]) -> InstallRequest:
    model_id = body.get("model_id")
    if model_id is None:
        raise ApiError(400, "'model_id' is missing: give a hub id (owner/name), a catalogue name, "
                            "or the absolute path of a .gguf file.", param="model_id", code="missing")
    if not isinstance(model_id, str) or not model_id.strip():
        raise _bad("model_id", "a non-empty string", model_id)
    if len(model_id) > 1024 or any(ord(c) < 32 for c in model_id):
        raise ApiError(400, "'model_id' is too long or holds control characters.", param="model_id",
                       code="invalid_value")
    name = body.get("name")
    if name is not None:
        if not isinstance(name, str):
            raise _bad("name", "a string", name)
        if not NAME_RE.match(name):
            raise ApiError(400, f"'name' must be 1-128 letters, digits, '.', '_', '-', ':', '+' or '@', starting "
                                f"with a letter or digit, not {name!r}.", param="name", code="invalid_value")
    return InstallRequest(model_id.strip(), name)
