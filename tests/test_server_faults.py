"""Faults on the server side: the model raising mid-generation, a model that will not load, an
install job cancelled or killed, a client that sends a new request while its old stream is
being cancelled, and a slow-loris body. Each is reported as a clear JSON error
(`{"error": {...}}`, or the install job's `error`), and the server keeps serving.

The server is the real app over HTTP on 127.0.0.1 (in-process, a free port). Faults are injected
through test doubles: a provider whose models raise when armed, a store whose installs block or
die. The last section does the same with the real SmolLM2-135M, the fault raised from inside
the real generation loop.
"""

from __future__ import annotations

import json
import socket
import threading
import time

import httpx
import openai
import pytest

from mlxagent.config import Settings
from mlxagent.errors import CancelledError, ModelError
from mlxagent.server.app import BackgroundServer, create_app
from mlxagent.server.store import ModelTarget
from serve_support import ScriptedProvider, ScriptedStore
from tests.scripted_model import ScriptedModel

USER = [{"role": "user", "content": "hi"}]
REPLY = "The quick brown fox jumps over the lazy dog."


class FaultyModel:
    """Wraps a model; when armed with (after, error), the next generation raises `error` after
    `after` chunks have been streamed."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.name = inner.name
        self.tool_format = inner.tool_format
        self.context_length = inner.context_length
        self.fault: tuple[int, BaseException] | None = None

    def count_tokens(self, messages, tools) -> int:
        return self.inner.count_tokens(messages, tools)

    def stream(self, messages, tools, **kw):
        fault, self.fault = self.fault, None
        for i, chunk in enumerate(self.inner.stream(messages, tools, **kw)):
            if fault is not None and i == fault[0]:
                raise fault[1]
            yield chunk


class FaultyProvider(ScriptedProvider):
    def __init__(self, model) -> None:
        super().__init__(model)
        self.load_error: BaseException = ModelError("broken: could not load the model (weights are corrupt)")

    def load(self, target: ModelTarget):
        if target.name == "broken":
            self.loads.append(target.name)
            raise self.load_error
        return super().load(target)


class FaultyStore(ScriptedStore):
    """Installs: "ok" succeeds, "slow" runs until cancelled, "killed" dies with a SystemExit."""

    def __init__(self) -> None:
        self.running = threading.Event()

    def lookup(self, name: str) -> ModelTarget:
        if name == "broken":
            return ModelTarget(name, name, name, name)
        return super().lookup(name)

    def install(self, plan, name, progress, cancel, lock) -> dict:
        progress("downloading", 0.1)
        if plan == "slow":
            self.running.set()
            for _ in range(300):
                if cancel():
                    raise CancelledError("download cancelled")
                time.sleep(0.05)
            raise AssertionError("the install was never cancelled")
        if plan == "killed":
            raise SystemExit("download process killed by signal 9")
        return super().install(plan, name, progress, cancel, lock)


@pytest.fixture
def make_server():
    started: list[BackgroundServer] = []

    def make(*, delay: float = 0.0, text: str = REPLY, body_timeout: float = 30.0):
        model = FaultyModel(ScriptedModel([text], repeat_last=True, piece=4, delay=delay))
        provider, store = FaultyProvider(model), FaultyStore()
        app = create_app(settings=Settings(), provider=provider, store=store, body_timeout=body_timeout)
        server = BackgroundServer(app).start()
        started.append(server)
        return server, model, provider, store

    yield make
    for server in started:
        server.stop()


def chat(server, *, model: str = "scripted", stream: bool = False, **kw) -> httpx.Response:
    return httpx.post(server.url + "/v1/chat/completions", timeout=60,
                      json={"model": model, "messages": USER, "stream": stream, **kw})


def sse_events(response: httpx.Response) -> list:
    events = []
    for line in response.iter_lines():
        if line.startswith("data: "):
            data = line[len("data: "):]
            events.append(data if data == "[DONE]" else json.loads(data))
    return events


def stats(server) -> dict:
    return httpx.get(server.url + "/v1/stats", timeout=30).json()


def assert_serving(server, text: str = REPLY) -> None:
    health = httpx.get(server.url + "/health", timeout=30).json()
    assert health["status"] == "ok" and health["busy"] is False
    reply = chat(server)
    assert reply.status_code == 200, reply.text
    assert reply.json()["choices"][0]["message"]["content"] == text


def assert_json_error(response: httpx.Response, status: int, code: str, *fragments: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == code, error
    assert set(error) == {"message", "type", "param", "code"}
    for fragment in fragments:
        assert fragment in error["message"], error
    assert "Traceback" not in response.text
    return error


# ---------------------------------------------------------------- the model raising mid-generation
def test_model_raising_mid_generation_is_a_json_error(make_server):
    server, model, _, _ = make_server()
    model.fault = (2, RuntimeError("device lost"))
    error = assert_json_error(chat(server), 500, "generation_failed", "RuntimeError: device lost",
                              "still serving")
    assert error["type"] == "server_error"
    assert stats(server)["totals"]["failed"] == 1
    assert_serving(server)


def test_model_raising_mid_stream_ends_the_stream_with_an_error_event(make_server):
    server, model, _, _ = make_server()
    model.fault = (2, RuntimeError("device lost"))
    with httpx.stream("POST", server.url + "/v1/chat/completions", timeout=60,
                      json={"model": "scripted", "messages": USER, "stream": True}) as response:
        assert response.status_code == 200  # the stream had started when the model failed
        events = sse_events(response)
    assert events[-1] == "[DONE]"
    error = events[-2]["error"]
    assert error["code"] == "generation_failed" and "RuntimeError: device lost" in error["message"]
    text = "".join(e["choices"][0]["delta"].get("content") or "" for e in events[:-2] if e.get("choices"))
    assert text == REPLY[:8]  # the two chunks sent before the fault
    # The official client turns that event into an exception instead of a truncated reply.
    model.fault = (1, RuntimeError("device lost again"))
    client = openai.OpenAI(base_url=server.url + "/v1", api_key="x", max_retries=0, timeout=60)
    with pytest.raises(openai.APIError, match="device lost again"):
        list(client.chat.completions.create(model="scripted", messages=USER, stream=True))
    assert_serving(server)


@pytest.mark.parametrize("error", [SystemExit("model called exit"), KeyboardInterrupt(), MemoryError()],
                         ids=["system-exit", "keyboard-interrupt", "memory-error"])
def test_even_a_base_exception_in_the_model_leaves_the_worker_running(make_server, error):
    server, model, _, _ = make_server()
    model.fault = (1, error)
    assert_json_error(chat(server), 500, "generation_failed", type(error).__name__)
    assert_serving(server)
    assert_serving(server)


def test_queued_requests_survive_a_fault_in_the_one_ahead(make_server):
    server, model, _, _ = make_server(delay=0.02)
    model.fault = (3, RuntimeError("boom"))
    results: dict[int, httpx.Response] = {}

    def ask(i: int) -> None:
        results[i] = chat(server)

    first = threading.Thread(target=ask, args=(0,))
    first.start()
    time.sleep(0.05)  # the faulty generation is running; the next ones queue behind it
    others = [threading.Thread(target=ask, args=(i,)) for i in (1, 2)]
    for t in others:
        t.start()
    for t in [first, *others]:
        t.join(60)
    failed = [r for r in results.values() if r.status_code != 200]
    assert len(failed) == 1  # whichever ran first met the fault
    assert_json_error(failed[0], 500, "generation_failed", "boom")
    served = [r.json()["choices"][0]["message"]["content"] for r in results.values() if r.status_code == 200]
    assert served == [REPLY, REPLY]


# ---------------------------------------------------------------- a model that will not load
@pytest.mark.parametrize("load_error, fragment", [
    (ModelError("broken: could not load the model (weights are corrupt)"), "weights are corrupt"),
    (RuntimeError("[metal] out of memory"), "RuntimeError: [metal] out of memory"),
    (OSError(28, "No space left on device"), "No space left on device"),
], ids=["model-error", "runtime-error", "os-error"])
def test_a_model_load_failure_is_a_json_error_and_other_models_still_serve(make_server, load_error, fragment):
    server, _, provider, _ = make_server()
    provider.load_error = load_error
    for stream in (False, True):  # a streamed request fails before its stream starts: a plain JSON error
        error = assert_json_error(chat(server, model="broken", stream=stream), 500, "model_load_failed",
                                  "The model 'broken' could not be loaded", fragment)
        assert error["type"] == "server_error"
    assert_serving(server)
    assert httpx.get(server.url + "/health", timeout=30).json()["model"] == "scripted"
    assert_json_error(chat(server, model="broken"), 500, "model_load_failed")  # tried again, not remembered
    assert_serving(server)
    assert provider.loads == ["broken", "broken", "scripted", "broken", "scripted"]
    assert stats(server)["totals"]["failed"] == 3


# ---------------------------------------------------------------- install jobs cancelled or killed
def _job(server, job_id: str, wait: float | None = None) -> dict:
    params = {"wait": wait} if wait is not None else None
    return httpx.get(f"{server.url}/v1/models/install/{job_id}", params=params, timeout=60).json()


def _install(server, model_id: str) -> dict:
    started = httpx.post(server.url + "/v1/models/install", json={"model_id": model_id}, timeout=30)
    assert started.status_code == 202, started.text
    return started.json()


def test_an_install_cancelled_while_running_reports_it(make_server):
    server, _, _, store = make_server()
    job = _install(server, "slow")
    assert store.running.wait(30)
    assert _job(server, job["id"])["status"] == "running"
    assert chat(server).status_code == 200  # chats go on while an install runs
    cancelled = httpx.delete(f"{server.url}/v1/models/install/{job['id']}", timeout=30)
    assert cancelled.status_code == 200
    final = _job(server, job["id"], wait=30)
    assert final["status"] == "cancelled"
    assert final["error"] == {"message": "download cancelled", "type": "install_error", "code": "cancelled"}
    assert _job(server, _install(server, "ok")["id"], wait=30)["status"] == "succeeded"
    assert_serving(server)


def test_a_killed_install_fails_clearly_and_the_next_one_runs(make_server):
    server, _, _, _ = make_server()
    killed = _install(server, "killed")
    queued = _install(server, "ok")  # waits behind the one that dies
    final = _job(server, killed["id"], wait=30)
    assert final["status"] == "failed" and final["error"]["code"] == "killed"
    assert "The install was killed (SystemExit: download process killed by signal 9)" in final["error"]["message"]
    assert _job(server, queued["id"], wait=30)["status"] == "succeeded"
    listed = httpx.get(server.url + "/v1/models/install", timeout=30).json()["data"]
    assert [j["status"] for j in listed] == ["failed", "succeeded"]
    assert_serving(server)


def test_cancelling_an_unknown_or_finished_install(make_server):
    server, _, _, _ = make_server()
    missing = httpx.delete(f"{server.url}/v1/models/install/install-nope", timeout=30)
    assert_json_error(missing, 404, "not_found", "install-nope")
    done = _job(server, _install(server, "ok")["id"], wait=30)
    again = httpx.delete(f"{server.url}/v1/models/install/{done['id']}", timeout=30)
    assert again.status_code == 200 and again.json()["status"] == "succeeded"  # cancelling a finished job is a no-op


# ---------------------------------------------------------------- a new request while the old stream is cancelled
def _read_content_events(response: httpx.Response, n: int) -> None:
    seen = 0
    for line in response.iter_lines():
        if line.startswith("data: {") and '"content"' in line:
            seen += 1
            if seen >= n:
                return
    raise AssertionError("the stream ended early")


@pytest.mark.parametrize("order", ["new-request-first", "close-first"])
def test_new_request_while_the_old_stream_is_being_cancelled(make_server, order):
    long_text = " ".join(f"word{i}" for i in range(100))
    server, model, _, _ = make_server(delay=0.01, text=long_text)
    before = stats(server)["totals"]
    new_reply: dict[str, httpx.Response] = {}
    asker = threading.Thread(target=lambda: new_reply.setdefault("r", chat(server, stream=True)))
    with httpx.Client(timeout=60) as old_client:
        with old_client.stream("POST", server.url + "/v1/chat/completions",
                               json={"model": "scripted", "messages": USER, "stream": True}) as old:
            _read_content_events(old, 3)
            if order == "new-request-first":
                asker.start()  # queued behind the old stream's generation...
                time.sleep(0.05)
        # ...which is cancelled here, as the old stream's connection closes.
        if order == "close-first":
            asker.start()
    asker.join(60)
    response = new_reply["r"]
    assert response.status_code == 200
    events = sse_events(response)
    assert events[-1] == "[DONE]"
    assert "".join(e["choices"][0]["delta"].get("content") or "" for e in events[:-1] if e["choices"]) == long_text
    after = stats(server)["totals"]
    assert after["cancelled"] == before["cancelled"] + 1 and after["completed"] == before["completed"] + 1
    assert after["failed"] == before["failed"]
    assert_serving(server, long_text)


def test_cancelled_stream_then_the_same_conversation_at_once_with_the_openai_client(make_server):
    server, _, _, _ = make_server(delay=0.01, text=" ".join(["tok"] * 100))
    client = openai.OpenAI(base_url=server.url + "/v1", api_key="x", max_retries=0, timeout=60)
    for _ in range(3):
        stream = client.chat.completions.create(model="scripted", messages=USER, stream=True)
        for i, _chunk in enumerate(stream):
            if i == 2:
                break
        stream.close()
    reply = client.chat.completions.create(model="scripted", messages=USER)
    assert reply.choices[0].message.content == " ".join(["tok"] * 100)
    totals = stats(server)["totals"]
    assert totals["cancelled"] == 3 and totals["completed"] == 1 and totals["failed"] == 0


# ---------------------------------------------------------------- slow and vanishing bodies
def _raw_request(port: int, head: bytes, body_part: bytes) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    sock.sendall(head + body_part)
    return sock


def _read_response(sock: socket.socket) -> tuple[int, dict[str, str], dict]:
    data = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, json.loads(body)


def test_a_slow_loris_body_gets_a_408_and_the_connection_is_closed(make_server):
    server, _, _, _ = make_server(body_timeout=1.0)
    body = json.dumps({"model": "scripted", "messages": USER}).encode()
    head = (f"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()
    started = time.monotonic()
    sock = _raw_request(server.port, head, body[:5])
    for byte in body[5:9]:  # a byte every 0.2 s, then silence: the body never completes in time
        sock.sendall(bytes([byte]))
        time.sleep(0.2)
    status, headers, payload = _read_response(sock)  # returns once the server has closed the connection
    sock.close()
    assert status == 408 and headers["connection"] == "close"
    assert payload["error"]["code"] == "request_timeout" and "did not arrive within 1 seconds" in \
        payload["error"]["message"]
    assert time.monotonic() - started < 10
    assert_serving(server)


def test_a_client_vanishing_mid_body_is_no_server_error(make_server, caplog):
    server, _, _, _ = make_server()
    head = (b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1000\r\n\r\n")
    for _ in range(5):
        _raw_request(server.port, head, b'{"model": "scr').close()
    time.sleep(0.3)
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]
    assert_serving(server)


# ---------------------------------------------------------------- the same with the real model
class RealFaults:
    """Arms a fault raised from inside the real generation loop: the cancel check the session
    makes after every token raises once `after` checks have passed."""

    def __init__(self) -> None:
        self.after: int | None = None


def _real_provider(faults: RealFaults):
    from mlxagent.server.provider import RuntimeProvider

    class Wrapped:
        def __init__(self, inner) -> None:
            self.inner = inner
            self.name, self.tool_format, self.context_length = inner.name, inner.tool_format, inner.context_length

        def count_tokens(self, messages, tools) -> int:
            return self.inner.count_tokens(messages, tools)

        def stream(self, messages, tools, *, cancel=None, **kw):
            after, faults.after = faults.after, None
            if after is None:
                return self.inner.stream(messages, tools, cancel=cancel, **kw)
            checks = iter(range(10_000))

            def cancel_or_fault() -> bool:
                if next(checks) >= after:
                    raise RuntimeError("injected fault inside the generation loop")
                return cancel.is_set()

            return self.inner.stream(messages, tools, cancel=cancel_or_fault, **kw)

    class Provider(RuntimeProvider):
        def load(self, target):
            return Wrapped(super().load(target))

    return Provider(cache_sessions=4, cache_bytes=256 * 1024 * 1024)


@pytest.fixture(scope="module")
def real_server(real_model_dir, tmp_path_factory):
    broken = tmp_path_factory.mktemp("broken-model")
    (broken / "config.json").write_text("{not json")
    specs = {"smollm2-135m": str(real_model_dir), "broken": str(broken)}

    class Store(FaultyStore):
        def lookup(self, name: str) -> ModelTarget:
            if name not in specs:
                return super().lookup(name)
            return ModelTarget(name, specs[name], specs[name], name)

    faults = RealFaults()
    app = create_app(settings=Settings(), provider=_real_provider(faults), store=Store())
    server = BackgroundServer(app).start()
    client = openai.OpenAI(base_url=server.url + "/v1", api_key="x", max_retries=0, timeout=300)
    yield server, client, faults
    server.stop()


FRANCE = [{"role": "user", "content": "What is the capital of France?"}]


@pytest.mark.real_model
def test_real_model_fault_mid_generation_then_the_conversation_is_answered_as_before(real_server):
    server, client, faults = real_server
    reference = client.chat.completions.create(model="smollm2-135m", messages=FRANCE, max_tokens=12)
    assert "Paris" in reference.choices[0].message.content
    faults.after = 3  # three tokens in
    response = httpx.post(server.url + "/v1/chat/completions", timeout=300,
                          json={"model": "smollm2-135m", "messages": FRANCE, "max_tokens": 12})
    assert_json_error(response, 500, "generation_failed", "injected fault inside the generation loop")
    again = client.chat.completions.create(model="smollm2-135m", messages=FRANCE, max_tokens=12)
    assert again.choices[0].message.content == reference.choices[0].message.content
    pool = stats(server)["prompt_cache"]
    assert pool["sessions"] >= 1 and pool["bytes"] <= pool["max_bytes"]


@pytest.mark.real_model
def test_real_model_new_request_while_its_old_stream_is_cancelled(real_server):
    server, client, _ = real_server
    before = stats(server)["totals"]
    story = [{"role": "user", "content": "Write a very long story about a dragon."}]
    stream = client.chat.completions.create(model="smollm2-135m", messages=story, max_tokens=300, stream=True)
    seen = 0
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            seen += 1
            if seen == 3:
                break
    replies: list = []
    asker = threading.Thread(target=lambda: replies.append(client.chat.completions.create(
        model="smollm2-135m", messages=FRANCE, max_tokens=12)))
    asker.start()  # sent while the old stream is still open...
    stream.close()  # ...and then cancelled
    asker.join(300)
    assert "Paris" in replies[0].choices[0].message.content
    after = stats(server)["totals"]
    assert after["cancelled"] == before["cancelled"] + 1 and after["failed"] == before["failed"]
    generated = after["generated_tokens"] - before["generated_tokens"] - replies[0].usage.completion_tokens
    assert generated < 100  # the cancelled story stopped far short of its 300 tokens


@pytest.mark.real_model
def test_real_model_load_failure_then_the_default_model_loads_again(real_server):
    server, client, _ = real_server
    response = httpx.post(server.url + "/v1/chat/completions", timeout=300,
                          json={"model": "broken", "messages": FRANCE, "max_tokens": 4})
    assert_json_error(response, 500, "model_load_failed", "The model 'broken' could not be loaded",
                      "unreadable config.json")
    reply = client.chat.completions.create(model="smollm2-135m", messages=FRANCE, max_tokens=12)
    assert "Paris" in reply.choices[0].message.content
    assert httpx.get(server.url + "/health", timeout=30).json()["model"] == "smollm2-135m"
