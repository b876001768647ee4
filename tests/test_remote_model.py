"""The agent driving a model over HTTP (model/remote.py): `mlxagent serve` and mlx-lm's own
server, both real subprocesses on loopback with the default model; a refused key, an
unreachable host, an unknown model and a connection dropped mid-reply are each one line."""

from __future__ import annotations

import http.server
import json
import os
import socket
import sys
import threading
from pathlib import Path

import pytest

from fixture_repos import fixture_repo
from serve_support import SERVE_READY, launch, stop

from mlxagent.core import events as ev
from mlxagent.config import settings_from_mapping
from mlxagent.core.llm import Constraint
from mlxagent.errors import ModelError, OfflineError
from mlxagent.builder import build_session
from mlxagent.model.remote import Provider, RemoteChatModel, list_models, remote_model

pytestmark = pytest.mark.real_model
KEY = "remote-test-key"
READ_TOOL = {"type": "function", "function": {
    "name": "read_file", "description": "Read a file of the repository",
    "parameters": {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]}}}


@pytest.fixture(scope="module")
def serve_url(tmp_path_factory, real_gguf):
    home = tmp_path_factory.mktemp("remote-serve-home")
    downloads = home / "cache" / "downloads"
    downloads.mkdir(parents=True)
    (downloads / real_gguf.name).symlink_to(real_gguf)
    env = {**os.environ, "MLXAGENT_HOME": str(home), "MLXAGENT_API_KEY": KEY, "PIP_NO_INDEX": "1"}
    url, proc, _ = launch([sys.executable, "-m", "mlxagent", "serve", "--host", "127.0.0.1", "--port", "0"],
                          env, SERVE_READY)
    try:
        import httpx

        auth = {"Authorization": f"Bearer {KEY}"}
        job = httpx.post(url + "/v1/models/install", json={"model_id": "smollm2-135m"}, headers=auth, timeout=60)
        assert job.status_code == 202, job.text
        done = httpx.get(f"{url}/v1/models/install/{job.json()['id']}", params={"wait": 120}, headers=auth,
                         timeout=180).json()
        assert done["status"] == "succeeded", done
        yield url + "/v1"
    finally:
        stop(proc)


def write_config(text: str) -> None:
    from mlxagent import paths

    paths.config_file().parent.mkdir(parents=True, exist_ok=True)
    paths.config_file().write_text(text)


def box_config(url: str, extra: str = "") -> str:
    return (f'[providers.box]\nbase_url = "{url}"\napi_key_env = "BOX_KEY"\n'
            'models = { "smollm2-135m" = { weak_tools = true } }\n' + extra)


def run(agent, text: str) -> list:
    out = []
    for event in agent.run_turn(text):
        if isinstance(event, ev.ProposalReady):
            event.reply.set_result(ev.Review.accept_all(len(event.proposal.hunks)))
        out.append(event)
    return out


def test_a_turn_with_tool_calls_against_mlxagent_serve(serve_url, tmp_path, monkeypatch):
    monkeypatch.setenv("BOX_KEY", KEY)
    write_config(box_config(serve_url))
    repo = fixture_repo("off_by_one", tmp_path)
    agent, _, warnings = build_session(str(repo), "box/smollm2-135m", max_steps=2, max_tokens=64, auto_test=False)
    assert warnings == [] and agent.model.name == "box/smollm2-135m"
    events = run(agent, "Read windows.py.")
    calls = [e for e in events if isinstance(e, ev.ToolCallFinished)]
    assert calls and all(not e.is_error or "Same call" in e.result for e in calls)  # calls parsed and run
    stats = [e for e in events if isinstance(e, ev.GenerationStats)]
    assert stats and stats[0].prompt_tokens > 100 and stats[0].generated_tokens > 0  # from the server's usage
    assert len(stats) < 2 or stats[1].reused_tokens > 0  # the server's prompt cache, reported back
    assert events[-1].reason in ("done", "max_steps")


def test_a_forced_edit_goes_out_as_the_named_tool_and_comes_back_valid(serve_url, tmp_path, monkeypatch):
    """The guard's forced edit over HTTP: the edit tool (path enum, search lines) as the one
    tool in `tools`, `tool_choice` naming it; mlxagent serve holds the model to its grammar."""
    monkeypatch.setenv("BOX_KEY", KEY)
    # "box/smollm2" is longer than the built-in "smollm2" key, so these thresholds win
    write_config(box_config(serve_url, '[guard.models."box/smollm2"]\nallowance = 1\nnudge_at = 2\nforce_at = 2\n'
                                       "max_forced_failures = 1\n"))
    repo = fixture_repo("off_by_one", tmp_path)
    agent, _, _ = build_session(str(repo), "box/smollm2-135m", max_steps=4, max_tokens=96, auto_test=False)
    sent = []
    real = RemoteChatModel._body

    def spy(self, messages, tools, constraint, max_tokens, temperature):
        body = real(self, messages, tools, constraint, max_tokens, temperature)
        sent.append(body)
        return body

    monkeypatch.setattr(RemoteChatModel, "_body", spy)
    events = run(agent, "Fix the off-by-one bug in windows.py.")
    forced = [b for b in sent if isinstance(b.get("tool_choice"), dict)]
    assert forced, [b.get("tool_choice") for b in sent]
    assert [t["function"]["name"] for t in forced[0]["tools"]] == [forced[0]["tool_choice"]["function"]["name"]]
    schema = json.dumps(forced[0]["tools"][0]["function"]["parameters"])
    # the search lines of the files went out (without the replace-differs regexes, which would
    # not fit SmolLM2's 8k context): the server holds the model to them
    assert "if size <= 0:" in schema and '"pattern"' not in schema
    proposals = [e for e in events if isinstance(e, ev.ProposalReady)]
    results = [(e.name, e.arguments, e.result[:200]) for e in events if isinstance(e, ev.ToolCallFinished)]
    assert proposals, (len(json.dumps(forced[0]["tools"])), results[-1], events[-1].message)  # parsed into an edit


def test_the_forced_schema_goes_out_narrowed_unless_it_would_crowd_the_context():
    edit = {"type": "function", "function": {"name": "edit_file", "parameters": {
        "type": "object", "properties": {"path": {"type": "string"}, "search": {"type": "string"},
                                         "replace": {"type": "string"}}}}}
    lines = [f"line {i} of the file" for i in range(200)]
    narrowed = {"type": "function", "function": {"name": "edit_file", "parameters": {
        "type": "object", "properties": {"path": {"type": "string", "enum": ["windows.py"]},
                                         "search": {"type": "string", "enum": lines},
                                         "replace": {"type": "string"}}}}}
    forced = Constraint([narrowed], forced=True)
    messages = [{"role": "user", "content": "fix it"}]
    big = RemoteChatModel(Provider("p", "http://127.0.0.1:9/v1"), "m", context_length=131072)
    body = big._body(messages, [edit], forced, 64, None)
    assert body["tool_choice"] == {"type": "function", "function": {"name": "edit_file"}}
    assert body["tools"][0]["function"]["parameters"]["properties"]["search"]["enum"] == lines  # grounded
    small = RemoteChatModel(Provider("p", "http://127.0.0.1:9/v1"), "m", context_length=8192)
    body = small._body(messages, [edit], forced, 64, None)
    assert body["tool_choice"] == {"type": "function", "function": {"name": "edit_file"}}
    # its own definition with only the path narrowed; the agent checks the rest
    sent_params = body["tools"][0]["function"]["parameters"]["properties"]
    assert sent_params["path"] == {"type": "string", "enum": ["windows.py"]} and sent_params["search"] == {"type": "string"}
    assert "tools" not in big._body(messages, [], None, 64, None)


def test_one_line_errors(serve_url, monkeypatch):
    monkeypatch.setenv("BOX_KEY", "wrong")
    table = settings_from_mapping({"providers": {"box": {"base_url": serve_url, "api_key_env": "BOX_KEY"}}})[0].providers
    with pytest.raises(ModelError, match=r"^box: the server refused the API key \(401\) \(set \$BOX_KEY\)$"):
        remote_model("box/smollm2-135m", table)
    monkeypatch.setenv("BOX_KEY", KEY)
    with pytest.raises(ModelError, match=r"^box has no model 'nope' \(it offers: .*smollm2-135m"):
        remote_model("box/nope", table)
    monkeypatch.delenv("BOX_KEY")
    with pytest.raises(ModelError, match=r"^box: \$BOX_KEY is not set"):
        remote_model("box/smollm2-135m", table)
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    with pytest.raises(OfflineError, match=rf"^far: cannot reach http://127.0.0.1:{closed}/v1 \("):
        list_models(Provider("far", f"http://127.0.0.1:{closed}/v1"))
    assert remote_model("smollm2-135m", table) is None and remote_model("owner/name", table) is None  # not remote


class _DroppingHandler(http.server.BaseHTTPRequestHandler):
    """Streams two SSE chunks of a reply, then drops the connection."""

    def do_POST(self):  # noqa: N802 - the http.server API
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        for text in ("Hel", "lo"):
            chunk = {"choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]}
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            self.wfile.flush()
        self.wfile.write(b'data: {"choices": [{"index": 0, "delta": {"content": "!')  # cut mid-event
        self.wfile.flush()
        self.connection.shutdown(socket.SHUT_RDWR)

    def log_message(self, *args):
        pass


def test_a_connection_dropped_mid_reply_ends_the_step_with_one_line():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _DroppingHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        model = RemoteChatModel(Provider("flaky", f"http://127.0.0.1:{server.server_address[1]}/v1"), "m")
        got = []
        with pytest.raises(ModelError, match=r"^flaky/m: the connection broke during the reply"):
            for chunk in model.stream([{"role": "user", "content": "hi"}], []):
                got.append(chunk.text)
        assert "".join(got) == "Hello"  # what came before the drop was delivered
    finally:
        server.shutdown()


def test_against_mlx_lm_own_server(real_model_dir, tmp_path, monkeypatch):
    """mlx-lm's server, which we did not write. Its SmolLM2 template ignores `tools`, so the
    provider says tools = "prompted": the tools go in the system message and calls are read
    from the reply's text. (SmolLM2-135M does not write a call without a grammar, measured:
    so the turn ends with its text answer, cleanly, and a call parsed from mlx-lm's reply
    format is checked on a reply the model did not write.)"""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url, proc, log = launch([sys.executable, "-m", "mlx_lm.server", "--model", str(real_model_dir),
                             "--host", "127.0.0.1", "--port", str(port)], dict(os.environ),
                            r"(Starting httpd at 127\.0\.0\.1 on port \d+)", timeout=120, stream="stderr")
    try:
        write_config(f'[providers.mlx]\nbase_url = "http://127.0.0.1:{port}/v1"\n'
                     f'models = {{ "{real_model_dir}" = {{ tools = "prompted" }} }}\n')
        # mlx-lm lists the Hugging Face cache (none here: it answers an empty body): no list, no error
        assert isinstance(list_models(Provider("mlx", f"http://127.0.0.1:{port}/v1")), list)
        sent = []
        real = RemoteChatModel._body

        def spy(self, *args):
            body = real(self, *args)
            sent.append(body)
            return body

        monkeypatch.setattr(RemoteChatModel, "_body", spy)
        repo = fixture_repo("off_by_one", tmp_path)
        agent, _, _ = build_session(str(repo), f"mlx/{real_model_dir}", max_steps=1, max_tokens=24,
                                    auto_test=False, no_guard=True)
        assert agent.model.tool_format == "prompted_hermes"
        events = run(agent, "Read windows.py.")
        assert "tools" not in sent[0] and "<tools>" in sent[0]["messages"][0]["content"]  # prompted
        stats = [e for e in events if isinstance(e, ev.GenerationStats)]
        assert stats and stats[0].prompt_tokens > 300 and stats[0].generated_tokens > 0  # mlx-lm's usage
        deltas = "".join(e.text for e in events if isinstance(e, ev.TextDelta))
        assert deltas.strip()  # its streamed text reached the agent
        assert events[-1].reason in ("done", "max_steps", "parse_failures"), events[-1]
    finally:
        stop(proc)


class _FakeOpenAI(http.server.BaseHTTPRequestHandler):
    """An OpenAI-compatible server in a few lines: lists one model, streams a short answer."""

    requests: list = []

    def do_GET(self):  # noqa: N802
        body = json.dumps({"object": "list", "data": [{"id": "tiny", "object": "model"}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):  # noqa: N802
        _FakeOpenAI.requests.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        for text in ("Hello ", "from ", "the box."):
            self.wfile.write(f"data: {json.dumps({'choices': [{'index': 0, 'delta': {'content': text}}]})}\n\n".encode())
        done = {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 321, "completion_tokens": 3}}
        self.wfile.write(f"data: {json.dumps(done)}\n\ndata: [DONE]\n\n".encode())

    def log_message(self, *args):
        pass


async def test_the_tui_lists_remote_models_with_reachability_and_talks_to_one(tmp_path, real_model_dir):
    from ui_support import send, wait_for, wait_idle, wait_model

    from mlxagent.config import Settings
    from mlxagent.ui.app import MlxAgentApp
    from mlxagent.ui.model_factory import RuntimeModelFactory
    from mlxagent.ui.screens.models import ModelSwitcher

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _FakeOpenAI)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    providers = settings_from_mapping({"providers": {
        "box": {"base_url": f"http://127.0.0.1:{server.server_address[1]}/v1"},
        "gone": {"base_url": f"http://127.0.0.1:{closed}/v1", "models": {"big": {}}}}})[0].providers
    settings = Settings(default_model="box/tiny", providers=providers, max_steps=1, auto_test=False)
    app = MlxAgentApp(fixture_repo("readme_typo", tmp_path), settings=settings, total_memory=16 * 10**9,
                      model_factory=RuntimeModelFactory(providers=providers), cursor_blink=False)
    try:
        async with app.run_test(size=(130, 40)) as pilot:
            await wait_model(pilot, "box/tiny", timeout=30)
            assert app.model_state.backend == f"127.0.0.1:{server.server_address[1]}"  # where it runs
            await send(pilot, "hi")
            await wait_idle(pilot, timeout=30)
            assert "Hello from the box." in app.chat.transcript.streamed_text
            assert _FakeOpenAI.requests[-1]["model"] == "tiny" and _FakeOpenAI.requests[-1]["stream"] is True
            await pilot.press("ctrl+o")
            await wait_for(pilot, lambda: isinstance(app.screen, ModelSwitcher) and bool(app.screen.installed),
                           timeout=20, what="the switcher")
            table = app.screen.query_one("#models-installed")
            rows = {str(table.get_row_at(i)[0]): [str(c) for c in table.get_row_at(i)] for i in range(table.row_count)}
            assert rows["box/tiny"][-1] == "◆ current" and rows["box/tiny"][4] == "box (remote)"
            assert rows["gone/big"][-1] == "unreachable"
    finally:
        server.shutdown()


def test_the_agent_over_http_a_refused_key_and_a_dropped_reply_are_one_line(serve_url, tmp_path, monkeypatch):
    """Headless, as `mlxagent run` builds it: a wrong key stops before the first turn; a server
    that drops the connection mid-reply ends that turn with one line, and the agent goes on."""
    repo = fixture_repo("off_by_one", tmp_path)
    monkeypatch.setenv("BOX_KEY", "wrong")
    write_config(box_config(serve_url))
    with pytest.raises(ModelError) as info:
        build_session(str(repo), "box/smollm2-135m", auto_test=False)
    assert str(info.value) == "box: the server refused the API key (401) (set $BOX_KEY)"

    flaky = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _DroppingHandler)
    threading.Thread(target=flaky.serve_forever, daemon=True).start()
    try:
        write_config(f'[providers.flaky]\nbase_url = "http://127.0.0.1:{flaky.server_address[1]}/v1"\n')
        agent, _, _ = build_session(str(repo), "flaky/m", auto_test=False, max_steps=2)
        events = run(agent, "hello")
        finished = events[-1]
        assert isinstance(finished, ev.TurnFinished) and finished.reason == "error"
        assert "flaky/m: the connection broke during the reply" in finished.message and "\n" not in finished.message
        assert [m["content"] for m in agent.messages if m["role"] == "user"] == ["hello"]  # kept for the next turn
    finally:
        flaky.shutdown()
