"""Real clients' first requests, and the server's own safety (issue 24).

Each test posts the exact shape a client sends (Claude Code 2.1 on /v1/messages, Codex 0.17x
on /v1/responses) to the real app over HTTP on 127.0.0.1 (in-process, a free port) with a
scripted model, and checks what came back and what reached the model. The safety half:
web pages (a foreign `Origin`), DNS rebinding (a foreign `Host` on a keyless server),
non-JSON bodies, and strings that are not text (a lone surrogate).
"""

from __future__ import annotations

import copy
import json
import logging

import httpx
import pytest

from mlxagent.config import DEFAULT_SERVER, Settings
from mlxagent.errors import ModelError
from mlxagent.server.app import BackgroundServer, create_app
from serve_support import ScriptedProvider, ScriptedStore
from tests.scripted_model import ScriptedModel

KEY = "sk-test-compat-0123456789"
USER = [{"role": "user", "content": "hi"}]


class RecordingModel(ScriptedModel):
    """A scripted model that also records the max_tokens each generation was given."""

    def __init__(self, *args, **kw) -> None:
        super().__init__(*args, **kw)
        self.max_tokens: list[int] = []
        self.refuse: str | None = None  # a ModelError message the next generation raises

    def stream(self, messages, tools, *, max_tokens: int = 1024, **kw):
        self.max_tokens.append(max_tokens)
        if self.refuse is not None:
            message, self.refuse = self.refuse, None
            raise ModelError(message)
        return super().stream(messages, tools, max_tokens=max_tokens, **kw)


def _serve(model, *, api_key: str | None = None, max_request_bytes: int | None = None) -> BackgroundServer:
    server = copy.deepcopy(DEFAULT_SERVER)
    if max_request_bytes is not None:
        server["max_request_bytes"] = max_request_bytes
    app = create_app(settings=Settings(server=server), provider=ScriptedProvider(model), store=ScriptedStore(),
                     api_key=api_key)
    return BackgroundServer(app).start()


@pytest.fixture(scope="module")
def model():
    return RecordingModel(["Hello there."], repeat_last=True, context_length=4096)


@pytest.fixture(scope="module")
def server(model):
    s = _serve(model, max_request_bytes=64 * 1024)
    yield s
    s.stop()


@pytest.fixture(scope="module")
def keyed(model):
    s = _serve(model, api_key=KEY)
    yield s
    s.stop()


def _events(text: str) -> list[tuple[str, dict]]:
    out = []
    for block in text.split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line and not line.startswith(":"))
        if "data" in lines and lines["data"] != "[DONE]":
            out.append((lines.get("event", ""), json.loads(lines["data"])))
    return out


# ---------------------------------------------------------------- Claude Code on /v1/messages
CLAUDE_CODE_BODY = {
    "model": "scripted", "max_tokens": 32000, "temperature": 1, "stream": False,
    "system": [{"type": "text", "text": "You are Claude Code, Anthropic's official CLI for Claude.",
                "cache_control": {"type": "ephemeral"}}],
    "messages": [
        {"role": "user", "content": [{"type": "text", "text": "<system-reminder>Be brief.</system-reminder>"},
                                     {"type": "text", "text": "hi", "cache_control": {"type": "ephemeral"}}]},
        {"role": "system", "content": "<env>Working directory: /tmp/project\nPlatform: linux</env>"},
    ],
    "tools": [{"name": "Read", "description": "Read a file",
               "input_schema": {"type": "object", "properties": {"file_path": {"type": "string"}},
                                "required": ["file_path"], "additionalProperties": False,
                                "$schema": "http://json-schema.org/draft-07/schema#"}}],
    "metadata": {"user_id": "user_abc_account__session_123"},
}


def test_claude_code_system_message_inside_messages_joins_the_system_prompt(server, model):
    reply = httpx.post(server.url + "/v1/messages", json=CLAUDE_CODE_BODY, timeout=30)
    assert reply.status_code == 200, reply.text
    assert reply.json()["content"][0]["text"] == "Hello there."
    sent = model.calls[-1]["messages"]
    assert [m["role"] for m in sent] == ["system", "user"]
    system = sent[0]["content"]
    assert system.index("You are Claude Code") < system.index("<env>Working directory")  # in order
    assert "<system-reminder>" in sent[1]["content"]


def test_messages_without_max_tokens_and_every_api_gets_the_remaining_context(server, model):
    for path, body in (("/v1/messages", {"model": "scripted", "messages": USER}),
                       ("/v1/chat/completions", {"model": "scripted", "messages": USER}),
                       ("/v1/responses", {"model": "scripted", "input": "hi"})):
        reply = httpx.post(server.url + path, json=body, timeout=30)
        assert reply.status_code == 200, (path, reply.text)
        # the whole context is offered; the model clamps it to what the prompt leaves (provider.py)
        assert model.max_tokens[-1] == model.context_length, path
    httpx.post(server.url + "/v1/messages", json={"model": "scripted", "messages": USER, "max_tokens": 7}, timeout=30)
    assert model.max_tokens[-1] == 7


def test_message_start_reports_the_prompt_tokens(server, model):
    body = {**CLAUDE_CODE_BODY, "stream": True}
    reply = httpx.post(server.url + "/v1/messages", json=body, timeout=30)
    events = _events(reply.text)
    start = next(data for kind, data in events if kind == "message_start")
    delta = next(data for kind, data in events if kind == "message_delta")
    assert start["message"]["usage"]["input_tokens"] > 0
    assert start["message"]["usage"]["input_tokens"] == delta["usage"]["input_tokens"]


def test_messages_errors_are_in_anthropics_shape(server):
    def check(reply, status, kind, fragment):
        assert reply.status_code == status, reply.text
        body = reply.json()
        assert body["type"] == "error" and body["error"]["type"] == kind, body
        assert fragment in body["error"]["message"], body
        assert set(body["error"]) == {"type", "message"}

    check(httpx.post(server.url + "/v1/messages", json={**CLAUDE_CODE_BODY, "model": "nope"}, timeout=30),
          404, "not_found_error", "'nope'")
    check(httpx.post(server.url + "/v1/messages", content=b"{not json", timeout=30,
                     headers={"Content-Type": "application/json"}), 400, "invalid_request_error", "not valid JSON")
    big = json.dumps({"model": "scripted", "messages": [{"role": "user", "content": "x" * 100_000}]})
    check(httpx.post(server.url + "/v1/messages", content=big, timeout=30,
                     headers={"Content-Type": "application/json"}), 413, "request_too_large", "too large")
    check(httpx.post(server.url + "/v1/messages", json={"model": "scripted", "messages": [{"role": "robot"}]},
                     timeout=30), 400, "invalid_request_error", "'messages[0].role'")
    # the other endpoints keep OpenAI's shape
    reply = httpx.post(server.url + "/v1/chat/completions", json={"model": "nope", "messages": USER}, timeout=30)
    assert reply.status_code == 404 and reply.json()["error"]["code"] == "model_not_found"


# ---------------------------------------------------------------- Codex on /v1/responses
SHELL = {"type": "function", "name": "shell", "description": "Runs a shell command", "strict": False,
         "parameters": {"type": "object", "properties": {"command": {"type": "array", "items": {"type": "string"}}},
                        "required": ["command"], "additionalProperties": False}}
CODEX_BODY = {
    "model": "scripted", "instructions": "You are Codex, a coding agent.",
    "input": [
        {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "<permissions/>"}]},
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]},
    ],
    "tools": [
        SHELL,
        {"type": "namespace", "name": "mcp__files", "description": "An MCP server's tools", "tools": [
            {"type": "function", "name": "read_text", "description": "Read a file", "strict": False,
             "parameters": {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]}},
            {"type": "function", "name": "list_dir", "description": "List a folder",
             "parameters": {"type": "object", "properties": {}}}]},
        {"type": "custom", "name": "apply_patch", "description": "Patch files",
         "format": {"type": "grammar", "syntax": "lark", "definition": "start: /.+/"}},
        {"type": "local_shell"},
        {"type": "web_search"},
    ],
    "tool_choice": "auto", "parallel_tool_calls": False, "reasoning": {"effort": "medium", "summary": "auto"},
    "store": False, "stream": False, "include": ["reasoning.encrypted_content"], "prompt_cache_key": "abc-123",
}


def test_codex_namespace_tools_are_offered_and_hosted_tools_dropped(server, model, caplog):
    with caplog.at_level(logging.INFO, logger="mlxagent.server"):
        reply = httpx.post(server.url + "/v1/responses", json=CODEX_BODY, timeout=30)
    assert reply.status_code == 200, reply.text
    body = reply.json()
    offered = [t["function"]["name"] for t in model.calls[-1]["constraint"].tools]
    assert offered == ["shell", "read_text", "list_dir"]
    assert body["tools"] == CODEX_BODY["tools"]  # echoed as given
    assert body["mlxagent"]["dropped_tools"] == ["custom:apply_patch", "local_shell", "web_search"]
    assert any("dropped" in r.getMessage() and "web_search" in r.getMessage() for r in caplog.records)
    stream = httpx.post(server.url + "/v1/responses", json={**CODEX_BODY, "stream": True}, timeout=30)
    done = next(data for kind, data in _events(stream.text) if kind == "response.completed")
    assert done["response"]["tools"] == CODEX_BODY["tools"]
    assert done["response"]["mlxagent"]["dropped_tools"] == ["custom:apply_patch", "local_shell", "web_search"]


def test_responses_context_errors_name_input(server, model):
    for stream in (False, True):
        model.refuse = "The conversation is 9000 tokens long; the model's context holds 4096."
        reply = httpx.post(server.url + "/v1/responses", json={"model": "scripted", "input": "hi", "stream": stream},
                           timeout=30)
        assert reply.status_code == 400, reply.text
        error = reply.json()["error"]
        assert error["param"] == "input" and error["code"] == "context_length_exceeded"


def test_4xx_reasons_are_logged(server, caplog):
    with caplog.at_level(logging.INFO, logger="mlxagent.server"):
        httpx.post(server.url + "/v1/chat/completions", json={"model": "scripted", "messages": "hi"}, timeout=30)
    lines = [r.getMessage() for r in caplog.records if r.name == "mlxagent.server"]
    assert any("400" in line and "'messages' must be" in line for line in lines), lines


# ---------------------------------------------------------------- safety
def test_a_web_page_cannot_drive_a_keyless_server(server):
    # a text/plain "simple" request from a foreign page: no preflight in a browser
    reply = httpx.post(server.url + "/v1/models/install", content=json.dumps({"model_id": "x", "name": "evil"}),
                       headers={"Origin": "http://evil.example", "Content-Type": "text/plain"}, timeout=30)
    assert reply.status_code == 403 and reply.json()["error"]["code"] == "forbidden_origin"
    reply = httpx.post(server.url + "/v1/chat/completions", json={"model": "scripted", "messages": USER},
                       headers={"Origin": "https://localhost.evil.example"}, timeout=30)
    assert reply.status_code == 403
    reply = httpx.post(server.url + "/v1/messages", json=CLAUDE_CODE_BODY, headers={"Origin": "null"}, timeout=30)
    assert reply.status_code == 403 and reply.json()["error"]["type"] == "permission_error"
    for origin in ("http://127.0.0.1:5173", "http://localhost:3000", "http://[::1]:8080", "http://localhost"):
        reply = httpx.post(server.url + "/v1/chat/completions", json={"model": "scripted", "messages": USER},
                           headers={"Origin": origin}, timeout=30)
        assert reply.status_code == 200, (origin, reply.text)


def test_dns_rebinding_is_refused_without_a_key(server, keyed):
    for host in ("evil.example", "evil.example:8000", "127.0.0.1.evil.example", "localhost:80@evil"):
        reply = httpx.get(server.url + "/v1/models", headers={"Host": host}, timeout=30)
        assert reply.status_code == 403 and reply.json()["error"]["code"] == "forbidden_host", host
    for host in ("127.0.0.1", f"127.0.0.1:{server.port}", "localhost:1234", "[::1]:8000", "LOCALHOST"):
        assert httpx.get(server.url + "/v1/models", headers={"Host": host}, timeout=30).status_code == 200, host
    # with a key, the Host may be anything (a remote server), but a foreign Origin is still refused
    auth = {"Authorization": f"Bearer {KEY}"}
    assert httpx.get(keyed.url + "/v1/models", headers={**auth, "Host": "gpu-box.lan:8000"},
                     timeout=30).status_code == 200
    reply = httpx.get(keyed.url + "/v1/models", headers={**auth, "Origin": "http://evil.example"}, timeout=30)
    assert reply.status_code == 403 and reply.json()["error"]["code"] == "forbidden_origin"


def test_non_json_bodies_are_refused(server):
    body = json.dumps({"model": "scripted", "messages": USER})
    for kind in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"):
        reply = httpx.post(server.url + "/v1/chat/completions", content=body, headers={"Content-Type": kind},
                           timeout=30)
        assert reply.status_code == 415 and kind.split(";")[0] in reply.json()["error"]["message"], kind
    for kind in ("application/json", "application/json; charset=utf-8", "Application/JSON"):
        reply = httpx.post(server.url + "/v1/chat/completions", content=body, headers={"Content-Type": kind},
                           timeout=30)
        assert reply.status_code == 200, (kind, reply.text)


def test_a_lone_surrogate_is_a_400_naming_the_field(server):
    raw = b'{"model": "scripted", "messages": [{"role": "user", "content": "a\\ud800b"}]}'
    reply = httpx.post(server.url + "/v1/chat/completions", content=raw,
                       headers={"Content-Type": "application/json"}, timeout=30)
    assert reply.status_code == 400 and reply.json()["error"]["param"] == "messages[0].content", reply.text
    raw = b'{"model": "scripted", "max_tokens": 5, "messages": [{"role": "user", "content": [{"type": "text", ' \
          b'"text": "\\udfff"}]}]}'
    reply = httpx.post(server.url + "/v1/messages", content=raw, headers={"Content-Type": "application/json"},
                       timeout=30)
    assert reply.status_code == 400 and "'messages[0].content[0].text'" in reply.json()["error"]["message"]
    reply = httpx.post(server.url + "/v1/chat/completions", timeout=30, headers={"Content-Type": "application/json"},
                       content='{"model": "scripted", "messages": [{"role": "user", "content": "ok 😀"}]}'.encode())
    assert reply.status_code == 200
