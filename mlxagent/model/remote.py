"""A model behind an OpenAI-compatible HTTP endpoint, as the agent's `ChatModel`.

`mlxagent serve` on a bigger Mac, mlx-lm's server (also under `mlx.launch` across several
Macs), exo or vLLM: the agent, its tools, the review and the guard stay on this machine;
only the generation goes over `POST {base_url}/chat/completions` (streamed, server-sent
events). Providers are `[providers.NAME]` tables in config.toml:

    [providers.box]
    base_url = "http://studio.local:8000/v1"   # the only key required
    api_key_env = "BOX_API_KEY"                # the NAME of the variable holding the key
    headers = { "X-Team" = "me" }
    models = { "qwen3-coder" = { context_length = 262144 } }
    # tools = "prompted" for a model whose chat template ignores `tools` (SmolLM2 under
    # mlx_lm.server): the tools then go in the system message and calls come back as text.
    # weak_tools = true: hold every step to a tool call until an edit (small models).
    # Left out, context_length and weak_tools are what `mlxagent serve` says of its model.

and a model is named `NAME/MODEL` (`--model box/qwen3-coder`, `default_model`, `/model`).

Tool calls come back as the backend's structured `tool_calls` ("native") and are handed to
the agent written in Hermes syntax, which it parses as it does a local model's text; a
forced edit goes out as the one tool in `tools` with `tool_choice` naming it (mlxagent
serve holds the model to it with its grammar; whatever a backend returns is checked by the
agent as usual, and a call that is not a valid edit is a failed forced edit). Token counts
and speeds come from the backend's `usage`.
"""

from __future__ import annotations

import json
import os
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any, Iterator

from ..core.events import GenerationStats
from ..core.formats import format_for
from ..core.formats.prompting import normalize_history, prompted_messages
from ..core.formats.schemas import normalize_tools, without_patterns
from ..core.llm import Chunk, Constraint
from ..errors import ModelError, OfflineError

DEFAULT_CONTEXT = 8192
# A forced edit's narrowed tool schema goes out whole while it takes at most this share of
# the context (servers render tools into the prompt).
FORCED_SCHEMA_SHARE = 0.15
TOOL_MODES = ("native", "prompted")


@dataclass(frozen=True)
class Provider:
    name: str
    base_url: str
    api_key_env: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    models: dict[str, dict[str, Any]] = field(default_factory=dict)
    timeout: float = 600.0

    def request_headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "text/event-stream, application/json",
                   **self.headers}
        if self.api_key_env:
            key = os.environ.get(self.api_key_env, "")
            if not key:
                raise ModelError(f"{self.name}: ${self.api_key_env} is not set (it should hold the API key)")
            headers["Authorization"] = f"Bearer {key}"
        return headers

    def url(self, path: str) -> str:
        return self.base_url.rstrip("/") + path


def providers_from(table: dict[str, dict[str, Any]]) -> dict[str, Provider]:
    """The validated [providers] tables (config.py checks their shape)."""
    return {name: Provider(name, str(t["base_url"]), str(t.get("api_key_env", "")), dict(t.get("headers", {})),
                           {m: dict(v) for m, v in (t.get("models") or {}).items()})
            for name, t in table.items()}


def remote_model(spec: str, providers_table: dict[str, dict[str, Any]], temperature: float = 0.0,
                 check: bool = True) -> "RemoteChatModel | None":
    """The remote model `spec` names (`NAME/MODEL` of a configured provider), else None.
    `check`: ask the backend first, so that an unreachable host, a refused key or an
    unknown model is one line now rather than at the first turn."""
    providers = providers_from(providers_table)
    found = split_spec(spec, providers)
    if found is None:
        return None
    provider, model = found
    advertised: dict[str, Any] = {}
    if check:
        rows = model_rows(provider)
        offered = [str(r["id"]) for r in rows]
        if offered and model not in offered:
            raise ModelError(f"{provider.name} has no model '{model}' (it offers: {', '.join(offered[:12])})")
        row = next((r for r in rows if r["id"] == model), {})
        advertised = row.get("mlxagent") if isinstance(row.get("mlxagent"), dict) else {}
    return RemoteChatModel(provider, model, temperature=temperature, advertised=advertised)


def provider_models(providers_table: dict[str, dict[str, Any]], timeout: float = 3.0) -> list:
    """Each provider's models as rows of the installed list (`NAME/MODEL`): the ones its
    `GET /models` names, else the ones config.toml lists; one row marked unreachable when the
    server does not answer (or refuses the key)."""
    from pathlib import Path

    from .catalog import InstalledModel

    rows = []
    for provider in providers_from(providers_table).values():
        try:
            names, reachable = list_models(provider, timeout=timeout) or list(provider.models), True
        except ModelError:
            names, reachable = list(provider.models) or ["*"], False
        for model in names:
            rows.append(InstalledModel(f"{provider.name}/{model}", Path(provider.base_url), f"{provider.name} (remote)",
                                       0, "remote", reachable=reachable))
    return rows


def split_spec(spec: str, providers: dict[str, Provider]) -> tuple[Provider, str] | None:
    """`NAME/MODEL` with NAME a configured provider, else None (a local spec or a hub id)."""
    head, sep, model = spec.partition("/")
    if sep and model and head in providers:
        return providers[head], model
    return None


def _one_line(e: BaseException) -> str:
    text = str(getattr(e, "reason", None) or e).strip().splitlines()
    return (text[0] if text else type(e).__name__)[:200]


def _unreachable(provider: Provider, e: BaseException) -> OfflineError:
    return OfflineError(f"{provider.name}: cannot reach {provider.base_url} ({_one_line(e)})")


def _http_error(provider: Provider, model: str, e: urllib.error.HTTPError) -> ModelError:
    try:
        body = json.loads(e.read().decode("utf-8", "replace") or "{}")
        detail = body.get("error", {}).get("message") if isinstance(body.get("error"), dict) else body.get("error")
        detail = str(detail or body.get("detail") or "")
    except (ValueError, AttributeError, OSError):
        detail = ""
    detail = detail.strip().splitlines()[0][:200] if detail.strip() else e.reason
    if e.code in (401, 403):
        hint = f" (set ${provider.api_key_env})" if provider.api_key_env else " (give api_key_env in [providers." \
            f"{provider.name}])"
        return ModelError(f"{provider.name}: the server refused the API key ({e.code}){hint}")
    if e.code == 404:
        return ModelError(f"{provider.name}/{model}: the server has no such model or endpoint (404: {detail})")
    return ModelError(f"{provider.name}/{model}: the server answered {e.code} ({detail})")


def list_models(provider: Provider, timeout: float = 5.0) -> list[str]:
    """The model ids `GET {base_url}/models` names ([] when the server lists none); raises
    OfflineError when unreachable, ModelError when the key is refused."""
    return [str(r["id"]) for r in model_rows(provider, timeout)]


def model_rows(provider: Provider, timeout: float = 5.0) -> list[dict[str, Any]]:
    """The rows of `GET {base_url}/models` that have an id. `mlxagent serve` adds to each an
    `mlxagent` object: `context_length`, and `weak_tool_use` (hold steps to tool calls)."""
    req = urllib.request.Request(provider.url("/models"), headers=provider.request_headers())
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            data = json.loads(resp.read().decode("utf-8"))
    except urllib.error.HTTPError as e:
        if e.code in (404, 405, 501):  # a server without the listing endpoint: nothing to check against
            return []
        raise _http_error(provider, "*", e) from None
    except (urllib.error.URLError, OSError, TimeoutError) as e:
        raise _unreachable(provider, e) from None
    except ValueError:
        # reachable, but no list to be had (mlx-lm's server sends an empty body when it has no
        # Hugging Face cache to scan): the models cannot be checked in advance
        return []
    if not isinstance(data, dict):
        return []
    rows = data.get("data", [])
    return [m for m in rows if isinstance(m, dict) and m.get("id")] if isinstance(rows, list) else []


def _wire_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The agent's history in OpenAI's wire form (call arguments as JSON text)."""
    out = []
    for m in normalize_history(messages):
        m = {k: v for k, v in m.items() if k in ("role", "content", "tool_calls", "tool_call_id", "name")}
        if m.get("tool_calls"):
            m["tool_calls"] = [{"id": c["id"] or f"call_{i}", "type": "function",
                                "function": {"name": c["function"]["name"],
                                             "arguments": json.dumps(c["function"]["arguments"], ensure_ascii=False)}}
                               for i, c in enumerate(m["tool_calls"])]
        out.append(m)
    return out


class RemoteChatModel:
    def __init__(self, provider: Provider, model: str, *, context_length: int | None = None,
                 tool_mode: str | None = None, temperature: float = 0.0,
                 advertised: dict[str, Any] | None = None) -> None:
        # What the server says of its model (`mlxagent serve`'s /v1/models), under config.toml's word.
        hints = advertised or {}
        options = dict(provider.models.get(model, {}))
        length = hints.get("context_length")
        if isinstance(length, int) and not isinstance(length, bool) and length > 0:
            options.setdefault("context_length", length)
        if isinstance(hints.get("weak_tool_use"), bool):
            options.setdefault("weak_tools", hints["weak_tool_use"])
        self.provider = provider
        self.model = model
        self.name = f"{provider.name}/{model}"
        self.backend = urllib.parse.urlsplit(provider.base_url).netloc or provider.base_url  # the status bar
        self.context_length = int(context_length or options.get("context_length") or DEFAULT_CONTEXT)
        self.tool_mode = tool_mode or options.get("tools") or "native"
        if self.tool_mode not in TOOL_MODES:
            raise ModelError(f"{self.name}: tools must be one of {', '.join(TOOL_MODES)}, not {self.tool_mode!r}")
        # The agent reads calls in this syntax: native calls are written in it here; prompted
        # models are told to write it.
        self.tool_format = "hermes" if self.tool_mode == "native" else "prompted_hermes"
        # A model weak at tools (`weak_tools = true`, and every prompted one): the agent holds each
        # step to a tool call until an edit, sent as tool_choice "required".
        self.weak_tool_use = bool(options.get("weak_tools", self.tool_mode == "prompted"))
        self.temperature = temperature
        self.last_usage: dict[str, Any] = {}

    # -- the ChatModel protocol -----------------------------------------------------------------

    def count_tokens(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> int:
        """An estimate (the backend's tokenizer is over there): about 3.5 characters a token."""
        text = json.dumps(_wire_messages(messages), ensure_ascii=False) + json.dumps(tools or [])
        return max(1, int(len(text) / 3.5))

    def stream(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]], *,
               constraint: Constraint | None = None, max_tokens: int = 1024,
               cancel: threading.Event | None = None, temperature: float | None = None,
               **_: Any) -> Iterator[Chunk]:
        body = self._body(messages, tools, constraint, max_tokens, temperature)
        started = time.perf_counter()
        first_token: float | None = None
        calls: dict[int, dict[str, str]] = {}
        finish = "stop"
        usage: dict[str, Any] = {}
        req = urllib.request.Request(self.provider.url("/chat/completions"), data=json.dumps(body).encode(),
                                     headers=self.provider.request_headers(), method="POST")
        try:
            resp = urllib.request.urlopen(req, timeout=self.provider.timeout)
        except urllib.error.HTTPError as e:
            raise _http_error(self.provider, self.model, e) from None
        except (urllib.error.URLError, OSError, TimeoutError) as e:
            raise _unreachable(self.provider, e) from None
        with resp:
            try:
                for event in _sse_events(resp):
                    if cancel is not None and cancel.is_set():
                        finish = "cancelled"
                        break
                    if event.get("usage"):
                        usage = event["usage"]
                    for choice in event.get("choices") or ():
                        delta = choice.get("delta") or choice.get("message") or {}
                        if delta.get("content"):
                            first_token = first_token or time.perf_counter()
                            yield Chunk(text=delta["content"])
                        for call in delta.get("tool_calls") or ():
                            slot = calls.setdefault(int(call.get("index", len(calls))), {"name": "", "arguments": ""})
                            fn = call.get("function") or {}
                            slot["name"] += fn.get("name") or ""
                            args = fn.get("arguments")
                            slot["arguments"] += args if isinstance(args, str) else json.dumps(args or {})
                        if choice.get("finish_reason"):
                            finish = choice["finish_reason"]
            except (OSError, TimeoutError, ValueError) as e:
                # a dropped connection mid-stream: the step ends here, as a model error
                raise ModelError(f"{self.name}: the connection broke during the reply ({_one_line(e)})") from None
        if calls:
            fmt = format_for(self.tool_format)
            text = "\n".join(fmt.call_text(c["name"], _arguments(c["arguments"])) for _, c in sorted(calls.items()))
            yield Chunk(text=("\n" if finish != "cancelled" else "") + text)
        self.last_usage = usage
        # the agent knows stop / length / cancelled; "tool_calls" and the rest end a reply normally
        yield Chunk(finish_reason=finish if finish in ("stop", "length", "cancelled") else "stop",
                    stats=self._stats(usage, started, first_token, body))

    # -- helpers --------------------------------------------------------------------------------

    def _body(self, messages, tools, constraint, max_tokens, temperature) -> dict[str, Any]:
        offered = list(constraint.tools) if constraint is not None and constraint.tools else list(tools or [])
        body: dict[str, Any] = {"model": self.model, "stream": True, "max_tokens": max_tokens,
                                "temperature": self.temperature if temperature is None else temperature,
                                "stream_options": {"include_usage": True}}
        if self.tool_mode == "prompted":
            body["messages"] = prompted_messages(format_for(self.tool_format), messages, offered)
            return body
        body["messages"] = _wire_messages(messages)
        if offered:
            body["tools"] = normalize_tools(offered)
            if constraint is not None and constraint.forced:
                names = [t["function"]["name"] for t in body["tools"]]
                body["tools"] = self._fitting(body["tools"], tools, names)
                body["tool_choice"] = ({"type": "function", "function": {"name": names[0]}} if len(names) == 1
                                       else "required")
        return body

    def _fitting(self, narrowed: list[dict[str, Any]], tools: list[dict[str, Any]],
                 names: list[str]) -> list[dict[str, Any]]:
        """The forced edit's schema as sent: servers render tools into the prompt, so a schema
        that would take more than FORCED_SCHEMA_SHARE of the context is cut down, in steps:
        without its `replace` ≠ `search` patterns (one long regex per line), then the tools'
        own definitions with only `path` narrowed. What is not sent is checked by the agent,
        as for any backend that cannot hold a model to a schema."""
        budget = FORCED_SCHEMA_SHARE * self.context_length * 3.5  # characters
        if len(json.dumps(narrowed)) <= budget:
            return narrowed
        plain = without_patterns(narrowed)
        if len(json.dumps(plain)) <= budget or not tools:
            return plain
        return [_with_paths(t, _paths_in(narrowed)) for t in normalize_tools(tools)
                if t["function"]["name"] in names] or plain

    def _stats(self, usage, started, first_token, body) -> GenerationStats:
        now = time.perf_counter()
        prompt = int(usage.get("prompt_tokens") or 0) or self.count_tokens(body.get("messages", []), [])
        generated = int(usage.get("completion_tokens") or 0)
        cached = int((usage.get("prompt_tokens_details") or {}).get("cached_tokens") or 0)
        if first_token is None:
            # nothing streamed before the end (a reply of tool calls only, which servers send
            # whole once parsed): no split between prefill and decode to report
            prefill_tps, decode_tps = 0.0, generated / (now - started) if generated else 0.0
        else:
            prefill_s, decode_s = first_token - started, now - first_token
            prefill_tps = (prompt - cached) / prefill_s if prefill_s > 0 else 0.0
            decode_tps = generated / decode_s if decode_s > 0 and generated else 0.0
        return GenerationStats(prompt_tokens=prompt, prefilled_tokens=max(0, prompt - cached), reused_tokens=cached,
                               generated_tokens=generated, prefill_tps=prefill_tps, decode_tps=decode_tps)


def _paths_in(tools: list[dict[str, Any]]) -> list[str]:
    """The paths a narrowed schema allows (its `path` enums and consts, in order)."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            path = (node.get("properties") or {}).get("path") if isinstance(node.get("properties"), dict) else None
            if isinstance(path, dict):
                for value in path.get("enum", []) + ([path["const"]] if "const" in path else []):
                    if isinstance(value, str) and value not in found:
                        found.append(value)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(tools)
    return found


def _with_paths(tool: dict[str, Any], paths: list[str]) -> dict[str, Any]:
    params = json.loads(json.dumps(tool["function"].get("parameters") or {}))
    if paths and isinstance(params.get("properties"), dict) and "path" in params["properties"]:
        params["properties"]["path"] = {**params["properties"]["path"], "enum": paths}
    return {"type": "function", "function": {**tool["function"], "parameters": params}}


def _arguments(text: str) -> Any:
    try:
        return json.loads(text) if text.strip() else {}
    except json.JSONDecodeError:
        return {"arguments": text}  # what the backend sent, visibly: the agent reports it


def _sse_events(resp) -> Iterator[dict[str, Any]]:
    """The JSON objects of a server-sent-events stream (or one plain JSON reply)."""
    kind = resp.headers.get("Content-Type", "")
    if "text/event-stream" not in kind:
        yield json.loads(resp.read().decode("utf-8"))
        return
    for raw in resp:
        line = raw.decode("utf-8", "replace").strip()
        if not line.startswith("data:"):
            continue
        data = line[5:].strip()
        if data == "[DONE]":
            return
        if data:
            yield json.loads(data)
