"""What `serve` does for clients of a small model (issue 24): the weak-tool-user policy (a user's
turn offered tools gets a constrained call), the model card in /v1/models that a remote agent
reads, and a stream's headers and keep-alive comments before the prefill ends.

Real app over HTTP on 127.0.0.1 with scripted models; the card test reads the real SmolLM2
folder the suite installs.
"""

from __future__ import annotations

import copy
import json
import threading
import time

import httpx
import pytest

from mlxagent.config import DEFAULT_SERVER, Settings
from mlxagent.core.events import GenerationStats
from mlxagent.core.llm import Chunk
from mlxagent.model import catalog
from mlxagent.model.card import model_card
from mlxagent.model.remote import remote_model
from mlxagent.server.app import BackgroundServer, create_app
from mlxagent.server.tool_policy import weak_tool_user
from serve_support import ScriptedProvider, ScriptedStore
from tests.scripted_model import ScriptedModel, hermes_call

READ = {"type": "function", "function": {"name": "read_file", "description": "Read a file",
                                         "parameters": {"type": "object", "properties": {"path": {"type": "string"}},
                                                        "required": ["path"]}}}
ASK = [{"role": "user", "content": "what does app.py do?"}]
AFTER_CALL = ASK + [
    {"role": "assistant", "content": "", "tool_calls": [
        {"id": "c1", "type": "function", "function": {"name": "read_file", "arguments": '{"path": "app.py"}'}}]},
    {"role": "tool", "tool_call_id": "c1", "content": "print('hi')"}]


class WeakModel(ScriptedModel):
    weak_tool_use = True


def _serve(model, weak_tools: dict | None = None, **kw) -> BackgroundServer:
    server = copy.deepcopy(DEFAULT_SERVER)
    if weak_tools is not None:
        server["weak_tools"] = weak_tools
    app = create_app(settings=Settings(server=server), provider=ScriptedProvider(model), store=ScriptedStore(), **kw)
    return BackgroundServer(app).start()


def _forced(model, server, messages, headers=None, **body) -> bool | None:
    """Whether the generation was held to a call (None: no constraint at all)."""
    r = httpx.post(server.url + "/v1/chat/completions", headers=headers or {}, timeout=30,
                   json={"model": "scripted", "messages": messages, "tools": [READ], **body})
    assert r.status_code == 200, r.text
    constraint = model.calls[-1]["constraint"]
    return None if constraint is None else constraint.forced


@pytest.fixture
def weak():
    model = WeakModel([hermes_call("read_file", path="app.py")], repeat_last=True)
    server = _serve(model)
    yield model, server
    server.stop()


def test_a_weak_model_answers_a_users_turn_with_a_call(weak):
    model, server = weak
    r = httpx.post(server.url + "/v1/chat/completions", timeout=30,
                   json={"model": "scripted", "messages": ASK, "tools": [READ]})
    assert r.json()["choices"][0]["message"]["tool_calls"][0]["function"]["name"] == "read_file"
    assert model.calls[-1]["constraint"].forced
    assert [t["function"]["name"] for t in model.calls[-1]["constraint"].tools] == ["read_file"]


def test_after_the_tool_result_it_may_answer_in_text(weak):
    model, server = weak
    assert _forced(model, server, AFTER_CALL) is False


def test_a_request_can_turn_the_policy_off(weak):
    model, server = weak
    assert _forced(model, server, ASK, mlxagent={"weak_tools": False}) is False
    assert _forced(model, server, ASK, headers={"X-Mlxagent-Weak-Tools": "off"}) is False
    assert _forced(model, server, ASK, tool_choice="none") is None
    r = httpx.post(server.url + "/v1/chat/completions", headers={"X-Mlxagent-Weak-Tools": "maybe"}, timeout=30,
                   json={"model": "scripted", "messages": ASK, "tools": [READ]})
    assert r.status_code == 400 and r.json()["error"]["param"] == "X-Mlxagent-Weak-Tools"


def test_the_setting_decides_per_model():
    strong = ScriptedModel(["Fine."], repeat_last=True)
    on = _serve(strong, weak_tools={"script": True})
    weak_model = WeakModel(["Fine."], repeat_last=True)
    off = _serve(weak_model, weak_tools={"scripted": False, "other": True})
    try:
        assert _forced(strong, on, ASK) is True
        assert _forced(weak_model, off, ASK) is False
        assert _forced(strong, on, ASK, mlxagent={"weak_tools": False}) is False
    finally:
        on.stop()
        off.stop()


def test_weak_tool_user_matching():
    assert weak_tool_user({}, "smollm2-135m", True) is True
    assert weak_tool_user({"SmolLM2": False}, "smollm2-135m /models/x", True) is False
    assert weak_tool_user({"smol": True, "smollm2-135m": False}, "smollm2-135m", False) is False  # the longer key
    assert weak_tool_user({"qwen": True}, "smollm2-135m", False) is False


def test_the_card_of_the_default_model_says_weak_and_8k(real_model_dir):
    card = model_card(real_model_dir, "smollm2-135m")
    assert card == {"context_length": 8192, "tool_format": "prompted_hermes", "weak_tool_use": True}


def test_the_card_of_a_model_taught_tools(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"max_position_embeddings": 32768}))
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({"chat_template": (
        "{% if tools %}<tools>{{ tools | tojson }}</tools>{% endif %}{% for m in messages %}<|im_start|>"
        "{{ m.role }}\n{{ m.content }}<|im_end|>{% endfor %}<tool_call></tool_call>")}))
    card = model_card(tmp_path, "qwen2.5-coder")
    assert card["context_length"] == 32768 and card["weak_tool_use"] is False


def test_models_list_carries_the_card_and_the_setting(tmp_path, real_model_dir):
    name = catalog.remember_folder(real_model_dir, "smollm2-135m")
    for setting, expected in (({}, True), ({"smollm2": False}, False)):
        server = copy.deepcopy(DEFAULT_SERVER)
        server["weak_tools"] = setting
        from mlxagent.server.store import ModelStore

        app = create_app(settings=Settings(server=server), provider=ScriptedProvider(ScriptedModel([])),
                         store=ModelStore({}, config_path=tmp_path / "config.toml", persist=False))
        bg = BackgroundServer(app).start()
        try:
            rows = httpx.get(bg.url + "/v1/models", timeout=30).json()["data"]
            row = next(r for r in rows if r["id"] == name)
            assert row["mlxagent"]["context_length"] == 8192
            assert row["mlxagent"]["weak_tool_use"] is expected
            one = httpx.get(bg.url + f"/v1/models/{name}", timeout=30).json()
            assert one["mlxagent"]["weak_tool_use"] is expected
        finally:
            bg.stop()


class CardStore(ScriptedStore):
    def list_models(self) -> list[dict]:
        return [{"id": "scripted", "object": "model", "created": 0, "owned_by": "tests",
                 "mlxagent": {"context_length": 2048, "tool_format": "prompted_hermes", "weak_tool_use": True}}]


def test_a_remote_agent_reads_the_card():
    app = create_app(settings=Settings(), provider=ScriptedProvider(ScriptedModel([])), store=CardStore())
    bg = BackgroundServer(app).start()
    try:
        table = {"box": {"base_url": bg.url + "/v1"}}
        model = remote_model("box/scripted", table)
        assert model.context_length == 2048 and model.weak_tool_use is True
        # config.toml's word wins over the server's
        table = {"box": {"base_url": bg.url + "/v1", "models": {"scripted": {"weak_tools": False,
                                                                             "context_length": 4096}}}}
        model = remote_model("box/scripted", table)
        assert model.context_length == 4096 and model.weak_tool_use is False
    finally:
        bg.stop()


class SlowPrefill(ScriptedModel):
    """Calls `ready` at once, then 'prefills' for `prefill` seconds before the first token."""

    def __init__(self, prefill: float) -> None:
        super().__init__(["Hello."])
        self.prefill = prefill
        self.release = threading.Event()

    def stream(self, messages, tools, *, ready=None, cancel=None, **kw):
        if ready is not None:
            ready(1234)
        self.release.wait(self.prefill)
        yield from super().stream(messages, tools, cancel=cancel, **kw)


@pytest.mark.parametrize("path, body", [
    ("/v1/messages", {"max_tokens": 50}),
    ("/v1/chat/completions", {}),
    ("/v1/responses", {}),
])
def test_a_stream_starts_before_the_prefill_ends_and_keeps_alive(path, body):
    model = SlowPrefill(prefill=30)
    bg = _serve(model, keepalive=0.2)
    key = "input" if path == "/v1/responses" else "messages"
    try:
        started = time.monotonic()
        with httpx.stream("POST", bg.url + path, timeout=20,
                          json={"model": "scripted", key: ASK, "stream": True, **body}) as r:
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
            head = time.monotonic() - started
            seen = ""
            lines = r.iter_lines()
            while seen.count(": keep-alive") < 3:
                seen += next(lines) + "\n"
            model.release.set()  # the prefill ends; the reply follows
            rest = "\n".join(lines)
        assert head < 10, "headers waited for the prefill"
        if path == "/v1/messages":
            start = next(json.loads(x[6:]) for x in seen.splitlines() if x.startswith("data: "))
            assert start["type"] == "message_start" and start["message"]["usage"]["input_tokens"] == 1234
        assert "Hello." in rest
    finally:
        bg.stop()


def test_a_held_call_takes_required_arguments_and_short_strings():
    from mlxagent.server.tool_policy import HELD_STRING_MAX_CHARS, held_tools

    exec_command = {"type": "function", "function": {"name": "exec_command", "parameters": {
        "type": "object", "required": ["cmd"],
        "properties": {"cmd": {"type": "string"}, "workdir": {"type": "string"},
                       "yield_time_ms": {"type": "number"},
                       "mode": {"type": "string", "enum": ["a", "b"]}}}}}
    free = {"type": "function", "function": {"name": "note", "parameters": {
        "type": "object", "properties": {"lines": {"type": "array", "items": {"type": "string", "maxLength": 9}}}}}}
    held = held_tools([exec_command, free])
    params = held[0]["function"]["parameters"]
    assert list(params["properties"]) == ["cmd"] and params["additionalProperties"] is False
    assert params["properties"]["cmd"]["maxLength"] == HELD_STRING_MAX_CHARS
    assert held[1]["function"]["parameters"]["properties"]["lines"]["items"]["maxLength"] == 9
    assert "maxLength" not in exec_command["function"]["parameters"]["properties"]["cmd"]  # the client's own stays


def test_a_weak_model_that_loops_is_stopped_and_the_reply_completes():
    from mlxagent.core.textstream import LoopDetector

    model = WeakModel(["It says hello.\n\n" + "<output_stream>\n\n" * 400], piece=5)
    bg = _serve(model)
    try:
        r = httpx.post(bg.url + "/v1/responses", timeout=30,
                       json={"model": "scripted", "input": AFTER_CALL[:1], "max_output_tokens": 5000})
        body = r.json()
        assert body["status"] == "completed", body.get("incomplete_details")
        text = body["output"][0]["content"][0]["text"]
        assert text.startswith("It says hello.") and text.count("<output_stream>") < 40
    finally:
        bg.stop()
    detector = LoopDetector()
    prose = "The function adds two numbers and returns the sum; the test checks 2 + 2 == 4. " * 2
    assert not any(detector.feed(c) for c in (prose + "def add(a, b):\n    return a + b\n") * 2)
