"""The server with a scripted model injected (in-process, on a free loopback port): the read-loop
guard's steering, tool-call shapes, streaming, cancellation, all deterministic."""

from __future__ import annotations

import json
import threading

import httpx
import openai
import pytest

from mlxagent.config import Settings
from mlxagent.server.app import BackgroundServer, create_app
from serve_support import ScriptedProvider, ScriptedStore
from tests.scripted_model import ScriptedModel, hermes_call


@pytest.fixture
def make_server():
    started: list[BackgroundServer] = []

    def make(script, settings: Settings | None = None, **model_kw):
        model = ScriptedModel(script, **model_kw)
        app = create_app(settings=settings or Settings(), provider=ScriptedProvider(model), store=ScriptedStore())
        server = BackgroundServer(app).start()
        started.append(server)
        client = openai.OpenAI(base_url=server.url + "/v1", api_key="x", max_retries=0, timeout=60)
        return server, client, model

    yield make
    for server in started:
        server.stop()


def tool(name: str, *props: str) -> dict:
    return {"type": "function", "function": {
        "name": name, "description": name,
        "parameters": {"type": "object", "properties": {p: {"type": "string"} for p in props},
                       "required": list(props)}}}


READ = tool("read_file", "path")
SEARCH = tool("search", "pattern")
EDIT = tool("edit_file", "path", "search", "replace")


def reads(n: int, *, same: bool = False) -> list[dict]:
    """A task followed by `n` read_file calls (distinct files unless `same`) and their results."""
    messages = [{"role": "user", "content": "Fix the greeting typo."}]
    for i in range(n):
        path = "a.py" if same else f"src/f{i}.py"
        messages.append({"role": "assistant", "content": None, "tool_calls": [{
            "id": f"call_{i}", "type": "function",
            "function": {"name": "read_file", "arguments": json.dumps({"path": path})}}]})
        messages.append({"role": "tool", "tool_call_id": f"call_{i}", "content": f"print('helo {i}')"})
    return messages


def steerable(messages, constraint) -> str:
    """Reads forever, unless constrained to one forced call: then it calls the first tool allowed."""
    if constraint is not None and constraint.forced:
        name = constraint.tools[0]["function"]["name"]
        return hermes_call(name, path="a.py", search="helo", replace="hello")
    return hermes_call("read_file", path="src/again.py")


def raw(client: openai.OpenAI, **kw) -> tuple[dict, object]:
    response = client.chat.completions.with_raw_response.create(model="scripted", **kw)
    return json.loads(response.text), response.parse()


# Default thresholds: 6 free reads, nudge at 8, force at 11 counted reads since the last edit.
def test_read_loop_is_steered_to_the_offered_edit_tool(make_server):
    _, client, model = make_server([steerable])
    body, reply = raw(client, messages=reads(11), tools=[READ, EDIT])
    assert body["mlxagent"]["guard"]["level"] == "force" and body["mlxagent"]["guard"]["action"] == "force"
    call = reply.choices[0].message.tool_calls[0]
    assert reply.choices[0].finish_reason == "tool_calls" and call.function.name == "edit_file"
    assert json.loads(call.function.arguments) == {"path": "a.py", "search": "helo", "replace": "hello"}
    asked = model.calls[-1]
    assert asked["constraint"].forced and [t["function"]["name"] for t in asked["constraint"].tools] == ["edit_file"]
    assert "[loop guard]" in asked["messages"][-1]["content"] and "edit_file" in asked["messages"][-1]["content"]


@pytest.mark.parametrize("keys", [("path", "search", "replace"), ("path", "old_str", "new_str"),
                                  ("file_path", "old_string", "new_string")])
def test_the_forced_edit_is_narrowed_to_the_files_and_lines_the_conversation_read(make_server, keys):
    _, client, model = make_server([steerable])
    edit = tool("edit_file", *keys)
    messages = [{"role": "user", "content": "Fix it."}]
    listing = "calc.py (3 lines):\n   1| def add(a, b):\n   2|     return a - b\n   3| "
    for i in range(11):
        messages.append({"role": "assistant", "content": None, "tool_calls": [{
            "id": f"c{i}", "type": "function",
            "function": {"name": "read_file", "arguments": json.dumps({keys[0]: "calc.py" if i % 2 else "x.py"})}}]})
        messages.append({"role": "tool", "tool_call_id": f"c{i}",
                         "content": listing if i % 2 else "error: x.py does not exist"})
    raw(client, messages=messages, tools=[tool("read_file", keys[0]), edit])
    forced = model.calls[-1]["constraint"]
    assert forced.forced
    schema = json.dumps(forced.tools[0]["function"]["parameters"])
    # the file read (not the one whose read failed), its lines without the numbers or the header
    assert '"calc.py"' in schema and '"x.py"' not in schema
    assert '"def add(a, b):"' in schema and '"    return a - b"' in schema and "lines):" not in schema
    assert f'"{keys[2]}"' in schema and '"pattern"' in schema  # the replacement must differ


def test_below_the_thresholds_nothing_is_steered(make_server):
    _, client, model = make_server([steerable])
    body, reply = raw(client, messages=reads(3), tools=[READ, EDIT])
    assert body["mlxagent"]["guard"]["action"] == "none" and body["mlxagent"]["guard"]["level"] == "ok"
    assert reply.choices[0].message.tool_calls[0].function.name == "read_file"
    assert not model.calls[-1]["constraint"].forced
    assert "[loop guard]" not in model.calls[-1]["messages"][-1]["content"]


def test_nudge_appends_a_note_and_leaves_the_choice_to_the_model(make_server):
    _, client, model = make_server([steerable])
    body, reply = raw(client, messages=reads(9), tools=[READ, EDIT])
    assert body["mlxagent"]["guard"]["action"] == "nudge"
    assert reply.choices[0].message.tool_calls[0].function.name == "read_file"
    assert not model.calls[-1]["constraint"].forced
    assert "[loop guard]" in model.calls[-1]["messages"][-1]["content"]


def test_without_an_edit_tool_a_message_explains_the_loop(make_server):
    _, client, model = make_server([steerable])
    body, reply = raw(client, messages=reads(11), tools=[READ, SEARCH])
    choice = reply.choices[0]
    assert choice.finish_reason == "stop" and not choice.message.tool_calls
    assert "before looping" in choice.message.content and "edit tool" in choice.message.content
    assert body["mlxagent"]["guard"]["action"] == "explain"
    assert model.calls == []  # nothing was generated


def test_explanation_streams_too(make_server):
    _, client, _ = make_server([steerable])
    chunks = list(client.chat.completions.create(model="scripted", messages=reads(11), tools=[READ], stream=True))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert "before looping" in text
    assert chunks[-1].choices[0].finish_reason == "stop"


@pytest.mark.parametrize("how", ["body", "header", "config", "guard-config"])
def test_the_guard_can_be_turned_off(make_server, how):
    settings = Settings()
    kw: dict = {}
    if how == "body":
        kw["extra_body"] = {"mlxagent": {"guard": False}}
    elif how == "header":
        kw["extra_headers"] = {"X-Mlxagent-Guard": "off"}
    elif how == "config":
        settings.server["loop_guard"] = False
    else:
        settings.guard["enabled"] = False
    _, client, model = make_server([steerable], settings=settings)
    body, reply = raw(client, messages=reads(11), tools=[READ, EDIT], **kw)
    assert "mlxagent" not in body
    assert reply.choices[0].message.tool_calls[0].function.name == "read_file"
    assert not model.calls[-1]["constraint"].forced


def test_per_request_on_wins_over_config_off(make_server):
    settings = Settings()
    settings.server["loop_guard"] = False
    _, client, _ = make_server([steerable], settings=settings)
    body, _ = raw(client, messages=reads(11), tools=[READ, EDIT], extra_body={"mlxagent": {"guard": True}})
    assert body["mlxagent"]["guard"]["action"] == "force"


def test_edit_tools_by_configured_list_and_by_request(make_server):
    _, client, model = make_server([steerable], repeat_last=True)
    apply_patch = tool("apply_patch", "patch")  # in the default [server] edit_tools list
    body, reply = raw(client, messages=reads(11), tools=[READ, apply_patch])
    assert body["mlxagent"]["guard"]["tools"] == ["apply_patch"]
    assert reply.choices[0].message.tool_calls[0].function.name == "apply_patch"

    patch_it = tool("patch_it", "path", "search", "replace")
    body, reply = raw(client, messages=reads(11), tools=[READ, patch_it])
    assert body["mlxagent"]["guard"]["action"] == "explain"  # not known as an edit tool
    body, reply = raw(client, messages=reads(11), tools=[READ, patch_it],
                      extra_body={"mlxagent": {"edit_tools": ["patch_it"]}})
    assert body["mlxagent"]["guard"]["tools"] == ["patch_it"]
    assert reply.choices[0].message.tool_calls[0].function.name == "patch_it"


def test_a_new_user_message_starts_a_new_task(make_server):
    _, client, _ = make_server([steerable])
    messages = reads(11) + [{"role": "user", "content": "Now rename the function instead."}]
    body, _ = raw(client, messages=messages, tools=[READ, EDIT])
    assert body["mlxagent"]["guard"]["level"] == "ok"


def test_a_successful_edit_resets_the_count(make_server):
    _, client, _ = make_server([steerable])
    messages = reads(10)
    messages += [{"role": "assistant", "content": None, "tool_calls": [{
        "id": "call_e", "type": "function",
        "function": {"name": "edit_file", "arguments": json.dumps({"path": "a.py", "search": "x", "replace": "y"})}}]},
        {"role": "tool", "tool_call_id": "call_e", "content": "Applied 1 hunk to a.py."}]
    messages += reads(2)[1:]
    body, _ = raw(client, messages=messages, tools=[READ, EDIT])
    assert body["mlxagent"]["guard"]["level"] == "ok" and body["mlxagent"]["guard"]["reads_since_edit"] == 2


def test_failed_forced_edits_stop_with_a_message(make_server):
    _, client, model = make_server([steerable])
    messages = reads(11)
    for i in range(2):
        messages += [{"role": "assistant", "content": None, "tool_calls": [{
            "id": f"edit_{i}", "type": "function",
            "function": {"name": "edit_file",
                         "arguments": json.dumps({"path": "a.py", "search": "nope", "replace": "y"})}}]},
            {"role": "tool", "tool_call_id": f"edit_{i}", "content": "Error: the search text was not found in a.py"}]
    body, reply = raw(client, messages=messages, tools=[READ, EDIT])
    assert body["mlxagent"]["guard"]["level"] == "stopped" and body["mlxagent"]["guard"]["action"] == "explain"
    assert "stopped" in reply.choices[0].message.content and "forced edits failed" in reply.choices[0].message.content
    assert model.calls == []


def test_an_explicitly_named_tool_choice_is_left_alone(make_server):
    _, client, model = make_server([steerable])
    body, reply = raw(client, messages=reads(11), tools=[READ, EDIT],
                      tool_choice={"type": "function", "function": {"name": "read_file"}})
    assert body["mlxagent"]["guard"]["level"] == "force" and body["mlxagent"]["guard"]["action"] == "none"
    constraint = model.calls[-1]["constraint"]
    assert constraint.forced and [t["function"]["name"] for t in constraint.tools] == ["read_file"]
    assert reply.choices[0].message.tool_calls[0].function.name == "read_file"


# ---------------------------------------------------------------- shapes, streaming, cancel
def test_text_then_tool_call_streamed_and_plain(make_server):
    text = "Let me look at it.\n" + hermes_call("read_file", path="a.py")
    _, client, _ = make_server([text, text])
    reply = client.chat.completions.create(model="scripted", messages=reads(0), tools=[READ, EDIT])
    message = reply.choices[0].message
    assert message.content == "Let me look at it.\n" and reply.choices[0].finish_reason == "tool_calls"
    assert message.tool_calls[0].function.name == "read_file"
    assert json.loads(message.tool_calls[0].function.arguments) == {"path": "a.py"}

    chunks = list(client.chat.completions.create(model="scripted", messages=reads(0), tools=[READ, EDIT],
                                                 stream=True))
    content = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert content == "Let me look at it.\n" and "<tool" not in content
    deltas = [d for c in chunks for d in c.choices[0].delta.tool_calls or ()]
    assert len(deltas) == 1 and deltas[0].index == 0 and deltas[0].id.startswith("call_")
    assert deltas[0].function.name == "read_file" and json.loads(deltas[0].function.arguments) == {"path": "a.py"}
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


def test_malformed_call_comes_back_as_text(make_server):
    broken = "<tool_call>\n{not json}\n</tool_call>"
    _, client, _ = make_server([broken])
    reply = client.chat.completions.create(model="scripted", messages=reads(0), tools=[READ])
    assert reply.choices[0].message.content == broken and reply.choices[0].finish_reason == "stop"


def test_two_calls_in_one_reply(make_server):
    text = hermes_call("read_file", path="a.py") + "\n" + hermes_call("search", pattern="helo")
    _, client, _ = make_server([text])
    reply = client.chat.completions.create(model="scripted", messages=reads(0), tools=[READ, SEARCH])
    names = [c.function.name for c in reply.choices[0].message.tool_calls]
    assert names == ["read_file", "search"] and reply.choices[0].message.content is None


def test_disconnect_mid_stream_cancels_and_the_next_request_works(make_server):
    server, client, model = make_server(["word " * 400, "Done."], delay=0.01, piece=5)
    stream = client.chat.completions.create(model="scripted", messages=reads(0), stream=True)
    for i, chunk in enumerate(stream):
        if i == 3:
            break
    stream.close()
    reply = client.chat.completions.create(model="scripted", messages=reads(0))
    assert reply.choices[0].message.content == "Done."
    totals = httpx.get(server.url + "/v1/stats").json()["totals"]
    assert totals["cancelled"] == 1 and totals["completed"] == 1
    assert totals["generated_tokens"] < 100  # the scripted model counts pieces; 400 would mean no cancel


def test_requests_wait_their_turn(make_server):
    gate, generating = threading.Event(), threading.Event()

    def slow(messages, constraint):
        generating.set()
        gate.wait(30)
        return "ok"

    server, client, model = make_server([slow, "second", "third"])
    results: dict[int, str] = {}

    def ask(i: int) -> None:
        results[i] = client.chat.completions.create(model="scripted", messages=reads(0)).choices[0].message.content

    first = threading.Thread(target=ask, args=(0,))
    first.start()
    threads = [threading.Thread(target=ask, args=(i,)) for i in (1, 2)]
    assert generating.wait(30), "the first request never reached the model"
    for t in threads:
        t.start()
    health = httpx.get(server.url + "/health").json()
    assert health["busy"] is True
    gate.set()
    for t in [first, *threads]:
        t.join(30)
    assert results[0] == "ok" and sorted([results[1], results[2]]) == ["second", "third"]


def test_errors_in_openai_shape(make_server):
    server, client, _ = make_server(["x"])
    with pytest.raises(openai.NotFoundError) as err:
        client.chat.completions.create(model="nope", messages=reads(0))
    assert err.value.body["code"] == "model_not_found"
    with pytest.raises(openai.BadRequestError) as err:
        client.chat.completions.create(model="scripted", messages=[{"role": "tool", "content": "x"}])
    assert "tool_call_id" in err.value.body["message"]
    response = httpx.post(server.url + "/v1/chat/completions", json={"model": "scripted", "messages": reads(0)},
                          headers={"X-Mlxagent-Guard": "maybe"})
    assert response.status_code == 400 and response.json()["error"]["param"] == "X-Mlxagent-Guard"
    assert client.models.list().data[0].id == "scripted"
    assert client.chat.completions.create(model="scripted", messages=reads(0)).choices[0].message.content == "x"


def test_shutdown_ends_streams_in_flight_with_an_error_event(make_server):
    server, client, _ = make_server(["word " * 1000], delay=0.01, piece=5)
    stream = client.chat.completions.create(model="scripted", messages=reads(0), stream=True)
    next(iter(stream))
    stopper = threading.Thread(target=server.stop)
    stopper.start()
    with pytest.raises(openai.APIError) as err:
        for _ in stream:
            pass
    assert "shutting down" in str(err.value)
    stopper.join(4)
    assert not stopper.is_alive()  # well inside uvicorn's 5-second graceful timeout


def test_a_repeated_read_is_answered_like_the_agents(make_server):
    """The same read twice since the last edit: the note says the result has not changed and
    names the client's edit tool, as the agent's repeated-read answer does (core/guard/repeats.py)."""
    _, client, model = make_server([steerable])
    body, _ = raw(client, messages=reads(2, same=True), tools=[READ, EDIT])
    assert body["mlxagent"]["guard"]["level"] == "ok" and body["mlxagent"]["guard"]["action"] == "nudge"
    note = model.calls[-1]["messages"][-1]["content"]
    assert "Same call as step 1; its result has not changed" in note and "edit_file" in note
    # after an edit the same read is new again
    messages = reads(1, same=True) + [
        {"role": "assistant", "content": None, "tool_calls": [{
            "id": "call_e", "type": "function",
            "function": {"name": "edit_file", "arguments": json.dumps({"path": "a.py", "search": "x", "replace": "y"})}}]},
        {"role": "tool", "tool_call_id": "call_e", "content": "Applied 1 hunk to a.py."}] + reads(1, same=True)[1:]
    body, _ = raw(client, messages=messages, tools=[READ, EDIT])
    assert body["mlxagent"]["guard"]["action"] == "none"
    assert "Same call" not in model.calls[-1]["messages"][-1]["content"]
