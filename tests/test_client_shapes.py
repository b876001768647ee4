"""What real clients send, posted to a real in-process server with a scripted model.

tests/client_requests/ holds the exact requests Claude Code (`claude -p`, and `claude --bare -p`),
Codex (`codex exec`) and opencode (`opencode run`) sent to a capture server
(`bench/clients.py capture`) on a task that reads one file: for each client the first request
and the follow-up carrying the tool result (paths and ids scrubbed); `*_lean_*` are the same
clients configured with the small prompt and tool list the README gives for an 8k-context model. Each is posted as it was
and must get a 200 and a well-formed reply in that client's API, streamed as the client asked.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from mlxagent.config import Settings
from mlxagent.server.app import BackgroundServer, create_app
from serve_support import ScriptedProvider, ScriptedStore
from tests.scripted_model import ScriptedModel, hermes_call

REQUESTS = Path(__file__).parent / "client_requests"
CAPTURED = sorted(p.stem for p in REQUESTS.glob("*.json"))
FILE_TEXT = "hello from the capture"


# (the captured first request, the read call a model would make with that client's tool)
READ_CALLS = {
    "claude_code_001": ("Read", {"file_path": "/repo/hello.txt"}),
    "claude_code_bare_001": ("Read", {"file_path": "/repo/hello.txt"}),
    "codex_001": ("exec_command", {"cmd": "cat hello.txt"}),
    "codex_lean_001": ("exec_command", {"cmd": "cat hello.txt"}),
    "opencode_002": ("read", {"filePath": "/repo/hello.txt"}),
    "opencode_lean_002": ("read", {"filePath": "/repo/hello.txt"}),
}


def captured(name: str) -> dict:
    return json.loads((REQUESTS / f"{name}.json").read_text())


@pytest.fixture
def serve():
    started: list[BackgroundServer] = []

    def make(script: list) -> tuple[str, ScriptedModel]:
        model = ScriptedModel(script)
        app = create_app(settings=Settings(), provider=ScriptedProvider(model), store=ScriptedStore())
        started.append(BackgroundServer(app).start())
        return started[-1].url, model

    yield make
    for server in started:
        server.stop()


def post(url: str, entry: dict, **changes) -> httpx.Response:
    """The captured request as the client sent it (its headers, less the host and length)."""
    headers = {k: v for k, v in entry["headers"].items()
               if k not in ("host", "content-length", "authorization", "x-api-key", "accept-encoding")}
    return httpx.post(url + entry["path"], json=dict(entry["body"], **changes), headers=headers, timeout=60)


def sse_events(text: str) -> list[tuple[str | None, object]]:
    events = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        name, data = None, []
        for line in block.split("\n"):
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].strip())
        if data:
            payload = "\n".join(data)
            events.append((name, payload if payload == "[DONE]" else json.loads(payload)))
    return events


# -- one well-formedness check per API; each returns (text, [(tool, arguments)]) ----------------

def anthropic_reply(response: httpx.Response, stream: bool) -> tuple[str, list]:
    if not stream:
        body = response.json()
        assert body["type"] == "message" and body["role"] == "assistant" and body["stop_reason"]
        text = "".join(b["text"] for b in body["content"] if b["type"] == "text")
        return text, [(b["name"], b["input"]) for b in body["content"] if b["type"] == "tool_use"]
    assert response.headers["content-type"].startswith("text/event-stream")
    events = sse_events(response.text)
    names = [n for n, _ in events]
    assert names[0] == "message_start" and names[-1] == "message_stop", names
    assert all(n == d["type"] for n, d in events if n != "ping"), "event name and data type differ"
    blocks: dict[int, dict] = {}
    for name, data in events:
        if name == "content_block_start":
            assert data["index"] not in blocks
            blocks[data["index"]] = dict(data["content_block"], partial="")
        elif name == "content_block_delta":
            block, delta = blocks[data["index"]], data["delta"]
            block["partial"] += delta.get("text", "") + delta.get("partial_json", "")
        elif name == "content_block_stop":
            blocks[data["index"]]["closed"] = True
    assert all(b.get("closed") for b in blocks.values())
    delta = next(d for n, d in events if n == "message_delta")
    assert delta["delta"]["stop_reason"] in ("end_turn", "tool_use", "max_tokens", "stop_sequence")
    text = "".join(b["partial"] for b in blocks.values() if b["type"] == "text")
    calls = [(b["name"], json.loads(b["partial"] or "{}")) for b in blocks.values() if b["type"] == "tool_use"]
    assert (delta["delta"]["stop_reason"] == "tool_use") == bool(calls)
    return text, calls


def responses_reply(response: httpx.Response, stream: bool) -> tuple[str, list]:
    if stream:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = sse_events(response.text)
        names = [n for n, _ in events]
        assert names[0] == "response.created" and names[-1] == "response.completed", names
        assert all(n == d["type"] for n, d in events)
        done = [d["item"] for n, d in events if n == "response.output_item.done"]
        final = events[-1][1]["response"]
        assert final["output"] == done
    else:
        final = response.json()
    assert final["object"] == "response" and final["status"] == "completed" and final["usage"]
    text = "".join(c["text"] for item in final["output"] if item["type"] == "message"
                   for c in item["content"] if c["type"] == "output_text")
    calls = [(i["name"], json.loads(i["arguments"])) for i in final["output"] if i["type"] == "function_call"]
    assert all(i["call_id"] for i in final["output"] if i["type"] == "function_call")
    return text, calls


def chat_reply(response: httpx.Response, stream: bool) -> tuple[str, list]:
    if not stream:
        choice = response.json()["choices"][0]
        calls = choice["message"].get("tool_calls") or []
        return choice["message"].get("content") or "", [
            (c["function"]["name"], json.loads(c["function"]["arguments"])) for c in calls]
    events = sse_events(response.text)
    assert events[-1][1] == "[DONE]"
    chunks = [d for _, d in events[:-1]]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert chunks[-1]["usage"] and chunks[-1]["choices"] == []  # stream_options.include_usage
    finishes = [ch["finish_reason"] for c in chunks for ch in c["choices"] if ch["finish_reason"]]
    assert len(finishes) == 1
    text = "".join(ch["delta"].get("content") or "" for c in chunks for ch in c["choices"])
    by_index: dict[int, dict] = {}
    for c in chunks:
        for ch in c["choices"]:
            for tc in ch["delta"].get("tool_calls") or []:
                call = by_index.setdefault(tc["index"], {"name": "", "arguments": ""})
                call["name"] += (tc.get("function") or {}).get("name") or ""
                call["arguments"] += (tc.get("function") or {}).get("arguments") or ""
    calls = [(c["name"], json.loads(c["arguments"])) for c in by_index.values()]
    assert (finishes[0] == "tool_calls") == bool(calls)
    return text, calls


REPLY = {"/v1/messages": anthropic_reply, "/v1/responses": responses_reply, "/v1/chat/completions": chat_reply}


def reply_of(response: httpx.Response, entry: dict, stream: bool | None = None) -> tuple[str, list]:
    assert response.status_code == 200, response.text[:500]
    stream = entry["body"].get("stream", False) if stream is None else stream
    return REPLY[entry["path"].split("?")[0]](response, stream)


# -- the tests -----------------------------------------------------------------------------------

def test_the_captures_are_the_clients_real_requests():
    assert {n.rsplit("_", 1)[0] for n in CAPTURED} == {
        "claude_code", "claude_code_bare", "codex", "codex_lean", "opencode", "opencode_lean"}
    for name in CAPTURED:
        entry = captured(name)
        assert entry["method"] == "POST" and entry["body"]["model"] == "scripted"
        text = json.dumps(entry)
        assert "/tmp/clients" not in text and "sk-dummy" not in text
        assert all(entry["headers"].get(k, "<scrubbed>") == "<scrubbed>" for k in ("authorization", "x-api-key"))


@pytest.mark.parametrize("name", CAPTURED)
def test_each_captured_request_gets_a_well_formed_reply(serve, name):
    url, model = serve(["Done."])
    entry = captured(name)
    text, calls = reply_of(post(url, entry), entry)
    assert text == "Done." and calls == []
    seen = model.calls[-1]["messages"]
    assert seen[0]["role"] == "system" and [m["role"] for m in seen[1:]].count("system") == 0
    if any(k in json.dumps(entry["body"]) for k in ('"tool_result"', '"function_call_output"', '"role": "tool"')):
        # the follow-up: the model reads the tool's result
        assert any(m["role"] == "tool" and FILE_TEXT in str(m["content"]) for m in seen)


@pytest.mark.parametrize("name", list(READ_CALLS))
def test_a_tool_call_goes_back_in_the_clients_own_shape(serve, name):
    tool, arguments = READ_CALLS[name]
    url, _ = serve([hermes_call(tool, **arguments)])
    entry = captured(name)
    assert reply_of(post(url, entry), entry)[1] == [(tool, arguments)]


@pytest.mark.parametrize("name", ["claude_code_001", "codex_001", "opencode_002"])
def test_the_same_request_unstreamed(serve, name):
    url, _ = serve(["Done."])
    entry = captured(name)
    assert reply_of(post(url, entry, stream=False), entry, stream=False) == ("Done.", [])


def test_claude_codes_system_role_messages_join_the_system_prompt(serve):
    url, model = serve(["Done."])
    entry = captured("claude_code_002")  # `--bare` sends none
    reply_of(post(url, entry), entry)
    seen = model.calls[-1]["messages"]
    inline = [m for m in entry["body"]["messages"] if m["role"] == "system"]
    assert inline, "Claude Code sent no system-role message this time"
    for m in inline:
        text = m["content"] if isinstance(m["content"], str) else m["content"][0]["text"]
        assert text[:80] in seen[0]["content"]


def test_codex_developer_messages_are_the_system_prompt(serve):
    url, model = serve(["Done."])
    entry = captured("codex_001")
    reply_of(post(url, entry), entry)
    assert model.calls[-1]["messages"][0]["content"].startswith("You are a coding agent running in the Codex CLI")



@pytest.mark.parametrize("name", CAPTURED)
def test_after_the_system_prompt_user_and_assistant_alternate(serve, name):
    url, model = serve(["Done."])
    entry = captured(name)
    post(url, entry)
    roles = [m["role"] for m in model.calls[-1]["messages"]][1:]
    # tool results answer the assistant's calls (several in a row for parallel calls)
    turns = [r for i, r in enumerate(roles) if not (r == "tool" and i and roles[i - 1] == "tool")]
    turns = ["user" if r == "tool" else r for r in turns]
    assert all(a != b for a, b in zip(turns, turns[1:])), roles


def read_loop(name: str, reads: int = 12) -> dict:
    """The client's captured request with `reads` more file reads in its own shape."""
    entry = captured(name)
    body = json.loads(json.dumps(entry["body"]))
    for i in range(reads):
        path, lines = f"/repo/m{i}.py", f"     1\tdef f{i}():\n     2\t    return {i}\n"
        if entry["path"].startswith("/v1/messages"):
            body["messages"] += [
                {"role": "assistant", "content": [{"type": "tool_use", "id": f"t{i}", "name": "Read",
                                                   "input": {"file_path": path}}]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": f"t{i}", "content": lines}]}]
        else:
            body["messages"] += [
                {"role": "assistant", "content": "", "tool_calls": [{"id": f"c{i}", "type": "function", "function": {
                    "name": "read", "arguments": json.dumps({"filePath": path})}}]},
                {"role": "tool", "tool_call_id": f"c{i}", "content": lines}]
    return dict(entry, body=body)


@pytest.mark.parametrize("name, edit", [("claude_code_bare_001", "Edit"), ("opencode_lean_002", "edit")])
def test_a_read_loop_is_steered_to_the_clients_own_edit_tool(serve, name, edit):
    url, model = serve(["Done."])
    entry = read_loop(name)
    response = post(url, entry, stream=False)
    assert response.status_code == 200 and response.json()["mlxagent"]["guard"]["action"] == "force"
    forced = model.calls[-1]["constraint"]
    assert forced.forced and [t["function"]["name"] for t in forced.tools] == [edit]
    assert "/repo/m11.py" in json.dumps(forced.tools[0]["function"]["parameters"])
