"""The OpenAI-compatible server, end to end: `mlxagent serve` in a subprocess on a free loopback
port, the real SmolLM2-135M model, the official `openai` client, and the curl command from the
issue. The server gets its own MLXAGENT_HOME with only the default model's GGUF in its download
cache (so installing the default model works offline) and a hub endpoint that refuses
connections (so hub installs fail the way they do offline).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import tomllib
from dataclasses import dataclass
from pathlib import Path

import httpx
import openai
import pytest

from serve_support import SERVE_READY, launch, stop

pytestmark = pytest.mark.real_model

MAX_REQUEST_BYTES = 262_144
ISSUE_CURL = """curl -X POST http://localhost:8000/v1/models/install \\
  -H "Content-Type: application/json" \\
  -d '{"model_id": "mlx-community/Hermes-3-Llama-3.1-8B-4bit", "name": "Hermes-3-8B"}'"""
WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "Get the current weather for a city",
    "parameters": {"type": "object", "properties": {
        "city": {"type": "string", "maxLength": 30},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
        "required": ["city", "unit"]}}}
TIME = {"type": "function", "function": {
    "name": "get_time", "description": "Get the local time in a timezone",
    "parameters": {"type": "object", "properties": {"timezone": {"type": "string", "maxLength": 30}},
                   "required": ["timezone"]}}}
FRANCE = [{"role": "user", "content": "What is the capital of France?"}]


@dataclass
class Server:
    url: str
    home: Path
    proc: subprocess.Popen
    log: list[str]
    default_install: dict

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def get(self, path: str, **kw) -> httpx.Response:
        return httpx.get(self.url + path, timeout=120, **kw)

    def post(self, path: str, **kw) -> httpx.Response:
        return httpx.post(self.url + path, timeout=300, **kw)

    def install(self, model_id: str, name: str | None = None) -> dict:
        body = {"model_id": model_id, **({"name": name} if name else {})}
        started = self.post("/v1/models/install", json=body)
        assert started.status_code == 202, started.text
        return self.wait(started.json()["id"])

    def wait(self, job_id: str) -> dict:
        job = self.get(f"/v1/models/install/{job_id}", params={"wait": 120}).json()
        assert job["status"] in ("succeeded", "failed", "cancelled"), job
        return job

    def stats(self) -> dict:
        return self.get("/v1/stats").json()


@pytest.fixture(scope="module")
def server(tmp_path_factory, real_gguf) -> Server:
    home = tmp_path_factory.mktemp("server-home")
    downloads = home / "cache" / "downloads"
    downloads.mkdir(parents=True)
    (downloads / real_gguf.name).symlink_to(real_gguf)  # the default model's GGUF, as if fetched earlier
    (home / "config").mkdir()
    # Small request limit for the 413 tests; SmolLM2 forced to edit after two reads (short prompts on a slow CPU).
    (home / "config" / "config.toml").write_text(
        f"[server]\nmax_request_bytes = {MAX_REQUEST_BYTES}\n"
        "[guard.models.smollm2]\nallowance = 1\nnudge_at = 2\nforce_at = 3\n")
    env = {**os.environ, "MLXAGENT_HOME": str(home), "MLXAGENT_HF_ENDPOINT": "http://127.0.0.1:9",
           "PIP_NO_INDEX": "1"}
    url, proc, log = launch([sys.executable, "-m", "mlxagent", "serve", "--host", "127.0.0.1", "--port", "0"],
                            env, SERVE_READY)
    try:
        srv = Server(url, home, proc, log, {})
        srv.default_install = srv.install("smollm2-135m")
        yield srv
    finally:
        stop(proc)


@pytest.fixture(scope="module")
def client(server) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.url + "/v1", api_key="not-needed", max_retries=0, timeout=300)


def _assert_serving(server: Server, client: openai.OpenAI) -> None:
    assert server.get("/health").json()["status"] == "ok"
    reply = client.chat.completions.create(model="smollm2-135m", messages=FRANCE, max_tokens=1)
    assert reply.choices[0].finish_reason in ("length", "stop")
    assert server.proc.poll() is None


# ---------------------------------------------------------------- models
def test_default_model_installs_offline(server):
    job = server.default_install
    assert job["status"] == "succeeded", job
    assert job["result"]["model"] == "smollm2-135m"
    assert Path(job["result"]["path"]).is_relative_to(server.home)
    models = server.get("/v1/models").json()
    assert models["object"] == "list"
    assert "smollm2-135m" in [m["id"] for m in models["data"]]


def test_health_reports_the_model(server, client):
    client.chat.completions.create(model="smollm2-135m", messages=FRANCE, max_tokens=1)
    health = server.get("/health").json()
    assert health["status"] == "ok" and health["model"] == "smollm2-135m" and health["queued"] == 0


def test_issue_curl_install_of_an_unreachable_hub_model_fails_clearly(server, client):
    command = ISSUE_CURL.replace("localhost:8000", f"localhost:{server.port}")
    done = subprocess.run(command, shell=True, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    job = json.loads(done.stdout)
    assert job["object"] == "model.install" and job["model_id"] == "mlx-community/Hermes-3-Llama-3.1-8B-4bit"
    assert job["name"] == "Hermes-3-8B" and job["status"] in ("queued", "running", "failed")
    final = server.wait(job["id"])
    assert final["status"] == "failed"
    assert final["error"]["code"] == "offline"
    assert "Could not reach the Hugging Face hub" in final["error"]["message"]
    with pytest.raises(openai.NotFoundError) as err:
        client.chat.completions.create(model="Hermes-3-8B", messages=FRANCE, max_tokens=4)
    assert "not installed" in str(err.value)
    _assert_serving(server, client)


def test_gguf_import_with_an_alias_then_chat_by_alias(server, client, real_gguf):
    job = server.install(str(real_gguf), "my-smol")
    assert job["status"] == "succeeded", job
    rows = {m["id"]: m for m in server.get("/v1/models").json()["data"]}
    assert "my-smol" in rows["smollm2-135m"]["aliases"]
    assert rows["my-smol"]["alias_of"] == "smollm2-135m"
    assert str(server.home) not in server.get("/v1/models").text  # no local paths leave the machine
    assert str(server.home) not in server.get("/v1/models/smollm2-135m").text
    config = tomllib.loads((server.home / "config" / "config.toml").read_text())
    assert config["aliases"]["my-smol"] == job["result"]["path"]  # saved for the CLI and the TUI too
    reply = client.chat.completions.create(model="my-smol", messages=FRANCE, max_tokens=12)
    assert reply.model == "my-smol" and "Paris" in reply.choices[0].message.content
    assert client.models.retrieve("my-smol").id == "my-smol"


def test_model_swap_on_demand(server, client, tiny_model_dir):
    assert server.install(str(tiny_model_dir), "tiny-random")["status"] == "succeeded"
    loads = server.stats()["totals"]["model_loads"]
    reply = client.chat.completions.create(model="tiny-random", messages=FRANCE, max_tokens=3)
    assert reply.model == "tiny-random" and reply.usage.completion_tokens <= 3
    assert server.get("/health").json()["model"] == "tiny-random"
    reply = client.chat.completions.create(model="smollm2-135m", messages=FRANCE, max_tokens=12)
    assert "Paris" in reply.choices[0].message.content
    assert server.get("/health").json()["model"] == "smollm2-135m"
    assert server.stats()["totals"]["model_loads"] == loads + 2


# ---------------------------------------------------------------- chat completions
def test_plain_completion(client):
    reply = client.chat.completions.create(model="smollm2-135m", messages=FRANCE, max_tokens=12)
    choice = reply.choices[0]
    assert reply.object == "chat.completion" and reply.model == "smollm2-135m"
    assert choice.message.role == "assistant" and "Paris" in choice.message.content
    assert choice.finish_reason in ("stop", "length") and not choice.message.tool_calls
    assert reply.usage.prompt_tokens > 10 and 0 < reply.usage.completion_tokens <= 12
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens


def test_streaming_gives_the_same_text_in_chunks(client):
    plain = client.chat.completions.create(model="smollm2-135m", messages=FRANCE, max_tokens=12)
    stream = client.chat.completions.create(model="smollm2-135m", messages=FRANCE, max_tokens=12, stream=True,
                                            stream_options={"include_usage": True})
    chunks = list(stream)
    assert chunks[0].choices[0].delta.role == "assistant"
    texts = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert len(texts) > 1
    assert "".join(texts) == plain.choices[0].message.content
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == [plain.choices[0].finish_reason]
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == plain.usage.completion_tokens
    assert all(c.object == "chat.completion.chunk" and c.id == chunks[0].id for c in chunks)


def test_stop_strings(client):
    reply = client.chat.completions.create(model="smollm2-135m", messages=FRANCE, max_tokens=16, stop=["Paris"])
    assert "Paris" not in reply.choices[0].message.content
    assert reply.choices[0].finish_reason == "stop"


def test_sampling_parameters_are_accepted(client):
    reply = client.chat.completions.create(model="smollm2-135m", messages=FRANCE, max_tokens=6,
                                           temperature=0.8, top_p=0.9, seed=7)
    assert reply.choices[0].message.content and reply.usage.completion_tokens <= 6


def _check_weather_call(call) -> dict:
    assert call.type == "function" and call.id.startswith("call_")
    assert call.function.name == "get_weather"
    arguments = json.loads(call.function.arguments)
    assert set(arguments) == {"city", "unit"}
    assert isinstance(arguments["city"], str) and arguments["unit"] in ("celsius", "fahrenheit")
    return arguments


WEATHER_QUESTION = [{"role": "user", "content": "What is the weather in Paris?"}]


def test_tool_choice_required_is_a_parseable_tool_call(client):
    reply = client.chat.completions.create(model="smollm2-135m", messages=WEATHER_QUESTION, tools=[WEATHER],
                                           tool_choice="required", max_tokens=60)
    choice = reply.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert len(choice.message.tool_calls) == 1
    _check_weather_call(choice.message.tool_calls[0])


def test_named_tool_choice_calls_that_function(client):
    reply = client.chat.completions.create(
        model="smollm2-135m", messages=[{"role": "user", "content": "What time is it in Tokyo?"}],
        tools=[WEATHER, TIME], tool_choice={"type": "function", "function": {"name": "get_time"}}, max_tokens=60)
    call = reply.choices[0].message.tool_calls[0]
    assert reply.choices[0].finish_reason == "tool_calls"
    assert call.function.name == "get_time"
    assert list(json.loads(call.function.arguments)) == ["timezone"]


def test_streamed_tool_call_deltas(client):
    stream = client.chat.completions.create(model="smollm2-135m", messages=WEATHER_QUESTION, tools=[WEATHER],
                                            tool_choice="required", max_tokens=60, stream=True)
    calls: dict[int, dict] = {}
    finish = None
    for chunk in stream:
        if not chunk.choices:
            continue
        delta = chunk.choices[0].delta
        assert not delta.content  # the call's markup is never streamed as text
        for d in delta.tool_calls or ():
            entry = calls.setdefault(d.index, {"id": "", "name": "", "arguments": ""})
            entry["id"] += d.id or ""
            entry["name"] += d.function.name or ""
            entry["arguments"] += d.function.arguments or ""
        finish = chunk.choices[0].finish_reason or finish
    assert finish == "tool_calls" and list(calls) == [0]
    assert calls[0]["name"] == "get_weather" and calls[0]["id"].startswith("call_")
    arguments = json.loads(calls[0]["arguments"])
    assert arguments["unit"] in ("celsius", "fahrenheit")


def test_auto_tool_choice_gives_text_or_valid_calls(client):
    reply = client.chat.completions.create(model="smollm2-135m", messages=WEATHER_QUESTION, tools=[WEATHER],
                                           max_tokens=60)
    choice = reply.choices[0]
    if choice.message.tool_calls:
        assert choice.finish_reason == "tool_calls"
        for call in choice.message.tool_calls:
            _check_weather_call(call)
    else:
        assert choice.finish_reason in ("stop", "length") and choice.message.content
        assert "<tool_call>" not in choice.message.content


def test_conversation_with_tool_calls_and_results(client):
    messages = [
        {"role": "system", "content": "You are a helpful assistant."},
        *WEATHER_QUESTION,
        {"role": "assistant", "content": None, "tool_calls": [{
            "id": "call_1", "type": "function",
            "function": {"name": "get_weather", "arguments": json.dumps({"city": "Paris", "unit": "celsius"})}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "18 degrees and sunny"},
    ]
    reply = client.chat.completions.create(model="smollm2-135m", messages=messages, tools=[WEATHER],
                                           tool_choice="none", max_tokens=20)
    choice = reply.choices[0]
    assert not choice.message.tool_calls and choice.message.content
    assert choice.finish_reason in ("stop", "length")


def test_guard_steers_a_read_loop_to_the_clients_edit_tool(client):
    """With the thresholds in the server's config (1 free read, force at 3), a second identical
    read (repeats count twice) forces an edit; the real model must then write a parseable one."""
    string = {"type": "string", "maxLength": 40}
    tools = [
        {"type": "function", "function": {"name": "read_file", "description": "Read a file",
                                          "parameters": {"type": "object", "properties": {"path": string},
                                                         "required": ["path"]}}},
        {"type": "function", "function": {"name": "edit_file", "description": "Edit a file",
                                          "parameters": {"type": "object", "properties": {
                                              "path": string, "search": string, "replace": string},
                                              "required": ["path", "search", "replace"]}}},
    ]
    messages = [{"role": "user", "content": "Fix the typo in the greeting."}]
    for i in range(2):
        messages.append({"role": "assistant", "content": None, "tool_calls": [{
            "id": f"call_{i}", "type": "function",
            "function": {"name": "read_file", "arguments": json.dumps({"path": "hello.py"})}}]})
        messages.append({"role": "tool", "tool_call_id": f"call_{i}", "content": "print('helo')"})
    reply = client.chat.completions.with_raw_response.create(model="smollm2-135m", messages=messages, tools=tools,
                                                             max_tokens=120)
    body = json.loads(reply.text)
    assert body["mlxagent"]["guard"]["level"] == "force"
    assert body["mlxagent"]["guard"]["action"] == "force" and body["mlxagent"]["guard"]["tools"] == ["edit_file"]
    parsed = reply.parse()
    assert parsed.choices[0].finish_reason == "tool_calls"
    call = parsed.choices[0].message.tool_calls[0]
    assert call.function.name == "edit_file"
    assert set(json.loads(call.function.arguments)) == {"path", "search", "replace"}

    off = client.chat.completions.with_raw_response.create(model="smollm2-135m", messages=messages, tools=tools,
                                                           max_tokens=4, extra_body={"mlxagent": {"guard": False}})
    assert "mlxagent" not in json.loads(off.text)


CALC = "def add(a, b):\n    return a - b\n\n\ndef mul(a, b):\n    return a * b\n"


def test_a_forced_edit_is_grounded_in_what_the_conversation_read(client):
    """As a new user found it: six `read_file calc.py` calls, the file's text in each result; the
    forced edit must name calc.py, search a line it showed, and replace it with something else
    (the client's tool here has Claude Code's shape: file_path / old_string / new_string)."""
    tools = [
        {"type": "function", "function": {"name": "read_file", "description": "Read a file", "parameters": {
            "type": "object", "properties": {"file_path": {"type": "string"}}, "required": ["file_path"]}}},
        {"type": "function", "function": {"name": "Edit", "description": "Replace text in a file", "parameters": {
            "type": "object", "properties": {"file_path": {"type": "string"}, "old_string": {"type": "string"},
                                             "new_string": {"type": "string"}},
            "required": ["file_path", "old_string", "new_string"]}}},
    ]
    messages = [{"role": "user", "content": "Fix the bug in add."}]
    for i in range(6):
        messages.append({"role": "assistant", "content": None, "tool_calls": [{
            "id": f"call_{i}", "type": "function",
            "function": {"name": "read_file", "arguments": json.dumps({"file_path": "calc.py"})}}]})
        messages.append({"role": "tool", "tool_call_id": f"call_{i}", "content": CALC})
    reply = client.chat.completions.with_raw_response.create(
        model="smollm2-135m", messages=messages, tools=tools, max_tokens=120,
        extra_body={"mlxagent": {"edit_tools": ["Edit"]}})
    body = json.loads(reply.text)
    assert body["mlxagent"]["guard"]["action"] == "force", body["mlxagent"]
    call = reply.parse().choices[0].message.tool_calls[0]
    args = json.loads(call.function.arguments)
    assert call.function.name == "Edit" and args["file_path"] == "calc.py"
    assert args["old_string"] in CALC.splitlines() and args["old_string"].strip()
    assert args["new_string"] != args["old_string"]


def test_prompt_cache_reused_across_requests(server, client):
    system_a = {"role": "system", "content": "You are a geography tutor. Answer in one short sentence."}
    system_b = {"role": "system", "content": "You are a chef. Answer with one recipe name only, nothing else."}
    a1 = [system_a, {"role": "user", "content": "What is the capital of Italy?"}]
    first = client.chat.completions.create(model="smollm2-135m", messages=a1, max_tokens=10)
    b1 = [system_b, {"role": "user", "content": "Something with eggs?"}]
    client.chat.completions.create(model="smollm2-135m", messages=b1, max_tokens=6)  # another conversation between
    a2 = a1 + [{"role": "assistant", "content": first.choices[0].message.content},
               {"role": "user", "content": "And of Spain?"}]
    second = client.chat.completions.create(model="smollm2-135m", messages=a2, max_tokens=10)
    cached = second.usage.prompt_tokens_details.cached_tokens
    # Everything of the first turn was kept (its prompt, and the reply but for a token or two).
    assert cached >= first.usage.prompt_tokens
    assert second.usage.prompt_tokens - cached < 30
    pool = server.stats()["prompt_cache"]
    assert 2 <= pool["sessions"] <= pool["max_sessions"] and pool["bytes"] <= pool["max_bytes"]
    print(f"\nprompt cache: turn 1 prompt {first.usage.prompt_tokens} tokens; turn 2 prompt "
          f"{second.usage.prompt_tokens} tokens, {cached} reused, {second.usage.prompt_tokens - cached} prefilled")


# ---------------------------------------------------------------- robustness
BAD_CHATS = [
    pytest.param(b'{"model": "smollm2-135m", "messages": [', 400, "invalid_json", "not valid JSON", id="malformed-json"),
    pytest.param(b"[1, 2, 3]", 400, "invalid_json", "must be a JSON object", id="not-an-object"),
    pytest.param(b"", 400, "invalid_json", "empty", id="empty-body"),
    pytest.param({"model": "no-such-model", "messages": FRANCE}, 404, "model_not_found", "no-such-model",
                 id="unknown-model"),
    pytest.param({"model": "smollm2-135m", "messages": FRANCE, "max_tokens": "ten"}, 400, "invalid_type",
                 "'max_tokens' must be a whole number", id="max-tokens-string"),
    pytest.param({"model": "smollm2-135m", "messages": "hi"}, 400, "invalid_type", "'messages' must be an array",
                 id="messages-string"),
    pytest.param({"model": "smollm2-135m", "messages": [{"role": "robot", "content": "x"}]}, 400, "invalid_value",
                 "messages[0].role", id="bad-role"),
    pytest.param({"model": "smollm2-135m", "messages": FRANCE, "temperature": True}, 400, "invalid_type",
                 "'temperature' must be a number", id="temperature-bool"),
    pytest.param({"model": "smollm2-135m", "messages": FRANCE, "temperature": 5}, 400, "invalid_value",
                 "'temperature' must be", id="temperature-range"),
    pytest.param({"model": "smollm2-135m", "messages": FRANCE, "tools": {"a": 1}}, 400, "invalid_type",
                 "'tools' must be an array", id="tools-object"),
    pytest.param({"model": "smollm2-135m", "messages": FRANCE, "tools": [WEATHER],
                  "tool_choice": {"type": "function", "function": {"name": "nope"}}}, 400, "invalid_value",
                 "not in 'tools'", id="tool-choice-unknown-function"),
    pytest.param({"model": "smollm2-135m", "messages": FRANCE, "tool_choice": "required"}, 400, "invalid_value",
                 "no 'tools'", id="required-without-tools"),
    pytest.param({"model": "smollm2-135m", "messages": FRANCE, "stream": "yes"}, 400, "invalid_type",
                 "'stream' must be true or false", id="stream-string"),
    pytest.param({"model": 7, "messages": FRANCE}, 400, "invalid_type", "'model' must be", id="model-number"),
    pytest.param({"model": "smollm2-135m", "messages": FRANCE, "n": 3}, 400, "unsupported_parameter", "'n' must be 1",
                 id="n-3"),
]


@pytest.mark.parametrize("body, status, code, message", BAD_CHATS)
def test_bad_chat_requests_get_4xx_and_the_server_keeps_serving(server, client, body, status, code, message):
    if isinstance(body, bytes):
        response = server.post("/v1/chat/completions", content=body, headers={"Content-Type": "application/json"})
    else:
        response = server.post("/v1/chat/completions", json=body)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code and message in error["message"] and error["type"] == "invalid_request_error"
    assert "Traceback" not in response.text
    _assert_serving(server, client)


BAD_INSTALLS = [
    pytest.param({"model_id": "../../etc/passwd"}, "path tricks", id="dot-dot"),
    pytest.param({"model_id": "mlx-community/../../etc/passwd", "name": "x"}, "path tricks", id="dot-dot-in-repo"),
    pytest.param({"model_id": "/etc/passwd"}, "unknown format", id="not-a-model-file"),
    pytest.param({"model_id": "/no/such/model.gguf"}, "no such file", id="missing-file"),
    pytest.param({"model_id": "models/local.gguf"}, "relative path", id="relative-path"),
    pytest.param({"model_id": "just some words"}, "not a model id", id="unknown-id"),
    pytest.param({"model_id": 42}, "'model_id' must be a non-empty string", id="model-id-number"),
    pytest.param({"name": "x"}, "'model_id' is missing", id="no-model-id"),
    pytest.param({"model_id": "smollm2-135m", "name": "bad name/../x"}, "'name' must be", id="bad-name"),
    pytest.param({"model_id": "mlx-community/foo", "name": "hermes-3-8b"}, "catalogue model", id="reserved-name"),
]


@pytest.mark.parametrize("body, message", BAD_INSTALLS)
def test_bad_installs_are_refused_with_a_message(server, client, body, message):
    response = server.post("/v1/models/install", json=body)
    assert response.status_code == 400, response.text
    assert message in response.json()["error"]["message"]
    _assert_serving(server, client)


def test_install_of_a_file_that_only_claims_to_be_gguf(server, tmp_path):
    fake = tmp_path / "fake.gguf"
    fake.write_text("not really")
    response = server.post("/v1/models/install", json={"model_id": str(fake)})
    assert response.status_code == 400 and "not a GGUF file" in response.json()["error"]["message"]


def test_oversized_bodies_get_413(server, client):
    big = json.dumps({"model": "smollm2-135m", "messages": [{"role": "user", "content": "x" * MAX_REQUEST_BYTES}]})
    response = server.post("/v1/chat/completions", content=big, headers={"Content-Type": "application/json"})
    assert response.status_code == 413 and "too large" in response.json()["error"]["message"]

    def chunked():  # no Content-Length: the limit holds while reading
        for _ in range(8):
            yield b"x" * (MAX_REQUEST_BYTES // 4)

    response = server.post("/v1/chat/completions", content=chunked(), headers={"Content-Type": "application/json"})
    assert response.status_code == 413 and response.json()["error"]["code"] == "request_too_large"
    _assert_serving(server, client)


def test_unknown_route_and_wrong_method_are_openai_errors(server):
    missing = server.get("/v1/nothing-here")
    assert missing.status_code == 404 and "No such endpoint" in missing.json()["error"]["message"]
    wrong = server.get("/v1/chat/completions")
    assert wrong.status_code == 405 and wrong.json()["error"]["code"] == "method_not_allowed"
    job = server.get("/v1/models/install/install-000")
    assert job.status_code == 404 and job.json()["error"]["code"] == "not_found"


def test_client_disconnect_mid_stream_cancels_the_generation(server, client):
    before = server.stats()["totals"]
    stream = client.chat.completions.create(
        model="smollm2-135m", messages=[{"role": "user", "content": "Write a very long story about a dragon."}],
        max_tokens=400, stream=True)
    seen = 0
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            seen += 1
            if seen == 3:
                break
    stream.close()  # the client goes away mid-stream
    # The next request waits for the model, so it finishing means the cancelled one has ended.
    reply = client.chat.completions.create(model="smollm2-135m", messages=FRANCE, max_tokens=12)
    assert "Paris" in reply.choices[0].message.content
    after = server.stats()["totals"]
    assert after["cancelled"] == before["cancelled"] + 1
    generated = after["generated_tokens"] - before["generated_tokens"] - reply.usage.completion_tokens
    assert 3 <= generated < 100  # stopped within a few tokens of the disconnect, far short of 400
    _assert_serving(server, client)


def test_concurrent_requests_are_queued_and_all_answered(server, client):
    before = server.stats()["totals"]["completed"]
    results: list = []
    errors: list = []

    def ask(i: int) -> None:
        try:
            results.append(client.chat.completions.create(
                model="smollm2-135m", messages=[{"role": "user", "content": f"Say the number {i}."}], max_tokens=4))
        except Exception as e:  # noqa: BLE001 - collected for the assertion
            errors.append(e)

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert not errors and len(results) == 3
    assert all(r.choices[0].message.content is not None for r in results)
    assert server.stats()["totals"]["completed"] == before + 3


def test_response_format_is_enforced_with_the_grammar(client):
    """mlx-lm's server ignores response_format; here the reply always parses, and follows the schema."""
    schema = {"type": "object", "properties": {"city": {"type": "string", "maxLength": 30},
                                                "country": {"type": "string", "maxLength": 30}},
              "required": ["city", "country"], "additionalProperties": False}
    reply = client.chat.completions.create(
        model="smollm2-135m", messages=[{"role": "user", "content": "What is the capital of France? Answer in JSON."}],
        response_format={"type": "json_schema", "json_schema": {"name": "capital", "schema": schema}}, max_tokens=60,
        temperature=0)
    data = json.loads(reply.choices[0].message.content)
    assert set(data) == {"city", "country"} and all(isinstance(v, str) for v in data.values())
    plain = client.chat.completions.create(
        model="smollm2-135m", temperature=0,
        messages=[{"role": "user", "content": "Give the name and age of a person as a JSON object."}],
        response_format={"type": "json_object"}, max_tokens=100, stream=True)
    text = "".join(c.choices[0].delta.content or "" for c in plain if c.choices)
    assert isinstance(json.loads(text), dict)
    with pytest.raises(openai.BadRequestError, match="response_format"):
        client.chat.completions.create(model="smollm2-135m", messages=FRANCE, max_tokens=4,
                                       response_format={"type": "json_object"}, tools=[{
                                           "type": "function", "function": {"name": "f", "parameters": {}}}])


# ---------------------------------------------------------------- the Responses API

READ_FN = {"type": "function", "name": "read_file", "description": "Read a file of the repository",
           "parameters": {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]}}


def test_responses_minimal_request_returns_output(server):
    reply = server.post("/v1/responses", json={"model": "smollm2-135m", "input": "Say hi", "max_output_tokens": 8})
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["object"] == "response" and body["output"][0]["type"] == "message"
    assert body["output"][0]["content"][0]["type"] == "output_text" and body["output"][0]["content"][0]["text"]
    assert body["status"] == "incomplete" and body["incomplete_details"] == {"reason": "max_output_tokens"}
    assert body["usage"]["output_tokens"] == 8 and body["usage"]["input_tokens"] > 0


def test_responses_with_the_official_client_plain_streaming_and_tools(client):
    plain = client.responses.create(model="smollm2-135m", instructions="Answer in one word.",
                                    input="What is the capital of France?", max_output_tokens=10)
    assert "Paris" in plain.output_text

    events = list(client.responses.create(model="smollm2-135m", input="What is the capital of France?",
                                          max_output_tokens=10, stream=True))
    kinds = [e.type for e in events]
    assert kinds[:2] == ["response.created", "response.in_progress"]
    assert kinds[-1] == {"completed": "response.completed", "incomplete": "response.incomplete"}[events[-1].response.status]
    assert "response.output_item.added" in kinds and "response.output_item.done" in kinds
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert deltas and deltas == events[-1].response.output_text
    assert [e.sequence_number for e in events] == list(range(len(events)))

    called = client.responses.create(model="smollm2-135m", input="Read the file notes.txt.", tools=[READ_FN],
                                     tool_choice={"type": "function", "name": "read_file"}, max_output_tokens=60)
    call = next(item for item in called.output if item.type == "function_call")
    assert call.name == "read_file" and set(json.loads(call.arguments)) == {"path"}
    # the call's result goes back as a function_call_output item; the model answers from it
    follow = client.responses.create(model="smollm2-135m", max_output_tokens=20, tools=[READ_FN], input=[
        {"role": "user", "content": "Read the file notes.txt."},
        {"type": "function_call", "call_id": call.call_id, "name": call.name, "arguments": call.arguments},
        {"type": "function_call_output", "call_id": call.call_id, "output": "The meeting is at noon."},
    ])
    assert follow.output and follow.usage.input_tokens > 0

    streamed = list(client.responses.create(model="smollm2-135m", input="Read the file notes.txt.", tools=[READ_FN],
                                            tool_choice="required", max_output_tokens=60, stream=True))
    done = [e for e in streamed if e.type == "response.function_call_arguments.done"]
    assert done and set(json.loads(done[0].arguments)) == {"path"}


def test_responses_refuses_what_it_cannot_do_in_one_line(server):
    for body, param in (({"model": "smollm2-135m", "input": "x", "previous_response_id": "resp_1"},
                         "previous_response_id"),
                        ({"model": "smollm2-135m", "input": [{"type": "web_search_call"}]}, "input[0].type"),
                        ({"model": "smollm2-135m", "input": "x", "tools": [{"name": "untyped"}]}, "tools[0]"),
                        ({"model": "smollm2-135m", "input": "x", "max_output_tokens": 0}, "max_output_tokens"),
                        ({"model": "smollm2-135m"}, "input")):
        reply = server.post("/v1/responses", json=body)
        assert reply.status_code == 400 and reply.json()["error"]["param"] == param, (body, reply.text)


# ---------------------------------------------------------------- the Messages API

READ_TOOL_ANTHROPIC = {"name": "read_file", "description": "Read a file of the repository",
                       "input_schema": {"type": "object", "properties": {"path": {"type": "string"}},
                                        "required": ["path"]}}


def test_messages_minimal_request_returns_content_blocks(server):
    reply = server.post("/v1/messages", json={"model": "smollm2-135m", "max_tokens": 8,
                                              "messages": [{"role": "user", "content": "Say hi"}]})
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["type"] == "message" and body["role"] == "assistant"
    assert body["content"][0]["type"] == "text" and body["content"][0]["text"]
    assert body["stop_reason"] == "max_tokens" and body["usage"]["output_tokens"] == 8


def test_messages_with_the_official_anthropic_client_plain_streaming_and_tools(server):
    import anthropic

    client = anthropic.Anthropic(base_url=server.url, api_key="not-needed", max_retries=0, timeout=300)
    plain = client.messages.create(model="smollm2-135m", max_tokens=10, system="Answer in one word.",
                                   messages=[{"role": "user", "content": "What is the capital of France?"}])
    assert "Paris" in plain.content[0].text and plain.usage.input_tokens > 0

    with client.messages.stream(model="smollm2-135m", max_tokens=10,
                                messages=[{"role": "user", "content": "What is the capital of France?"}]) as stream:
        streamed = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert streamed and final.content[0].text == streamed and final.stop_reason in ("end_turn", "max_tokens")

    called = client.messages.create(model="smollm2-135m", max_tokens=60, tools=[READ_TOOL_ANTHROPIC],
                                    tool_choice={"type": "tool", "name": "read_file"},
                                    messages=[{"role": "user", "content": "Read the file notes.txt."}])
    use = next(b for b in called.content if b.type == "tool_use")
    assert called.stop_reason == "tool_use" and use.name == "read_file" and set(use.input) == {"path"}
    follow = client.messages.create(model="smollm2-135m", max_tokens=20, tools=[READ_TOOL_ANTHROPIC], messages=[
        {"role": "user", "content": "Read the file notes.txt."},
        {"role": "assistant", "content": [{"type": "tool_use", "id": use.id, "name": use.name, "input": use.input}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id,
                                      "content": "The meeting is at noon."}]},
    ])
    assert follow.content and follow.usage.input_tokens > called.usage.input_tokens

    with client.messages.stream(model="smollm2-135m", max_tokens=60, tools=[READ_TOOL_ANTHROPIC],
                                tool_choice={"type": "any"},
                                messages=[{"role": "user", "content": "Read the file notes.txt."}]) as stream:
        final = stream.get_final_message()
    use = next(b for b in final.content if b.type == "tool_use")
    assert final.stop_reason == "tool_use" and set(use.input) == {"path"}


def test_messages_refuses_what_it_cannot_do_in_one_line(server):
    for body, param in (({"model": "smollm2-135m", "max_tokens": 4, "messages": [{"role": "user", "content": [
                            {"type": "image", "source": {}}]}]}, "messages[0].content[0]"),
                        ({"model": "smollm2-135m", "max_tokens": 4, "messages": []}, "messages")):
        reply = server.post("/v1/messages", json=body)
        assert reply.status_code == 400 and reply.json()["type"] == "error", (body, reply.text)
        error = reply.json()["error"]  # Anthropic's shape: the field is named in the message
        assert error["type"] == "invalid_request_error" and f"'{param}'" in error["message"], (body, reply.text)


def test_responses_text_format_json_schema_is_enforced(server):
    schema = {"type": "object", "properties": {"city": {"type": "string", "maxLength": 30}},
              "required": ["city"], "additionalProperties": False}
    reply = server.post("/v1/responses", json={
        "model": "smollm2-135m", "input": "What is the capital of France? Answer in JSON.", "max_output_tokens": 40,
        "temperature": 0, "text": {"format": {"type": "json_schema", "name": "capital", "schema": schema}}})
    assert reply.status_code == 200, reply.text
    assert set(json.loads(reply.json()["output"][0]["content"][0]["text"])) == {"city"}
