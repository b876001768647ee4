"""API keys and remote listening for `mlxagent serve`.

With a key, every route but `GET /health` answers 401 without it; the key is accepted as
`Authorization: Bearer KEY` (the official openai client) and as `x-api-key: KEY` (httpx, the
way Anthropic clients send it). The server is the real app over HTTP on 127.0.0.1, with a
scripted model. A non-loopback host is refused without a key and `--allow-remote`; that is
tested through the CLI (subprocess and in-process) without ever binding such an address.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import httpx
import openai
import pytest

from mlxagent import cli
from mlxagent.config import Settings
from mlxagent.server import app as server_app
from mlxagent.server import auth
from mlxagent.server.app import BackgroundServer, create_app
from serve_support import ScriptedProvider, ScriptedStore
from tests.scripted_model import ScriptedModel

KEY = "sk-test-0123456789abcdef"
USER = [{"role": "user", "content": "hi"}]


def hello_provider() -> ScriptedProvider:
    return ScriptedProvider(ScriptedModel(["Hello there."], repeat_last=True))


@pytest.fixture(scope="module")
def keyed():
    server = BackgroundServer(create_app(settings=Settings(), provider=hello_provider(), store=ScriptedStore(),
                                         api_key=KEY)).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def open_server():
    server = BackgroundServer(create_app(settings=Settings(), provider=hello_provider(), store=ScriptedStore())).start()
    yield server
    server.stop()


# ---------------------------------------------------------------- with a key
def test_openai_client_with_the_key_as_bearer(keyed):
    client = openai.OpenAI(base_url=keyed.url + "/v1", api_key=KEY, max_retries=0, timeout=30)
    reply = client.chat.completions.create(model="scripted", messages=USER, max_tokens=8)
    assert reply.choices[0].message.content == "Hello there."
    assert [m.id for m in client.models.list()] == ["scripted"]
    chunks = list(client.chat.completions.create(model="scripted", messages=USER, stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Hello there."


def test_openai_client_with_a_wrong_key_is_refused(keyed):
    client = openai.OpenAI(base_url=keyed.url + "/v1", api_key="sk-wrong", max_retries=0, timeout=30)
    with pytest.raises(openai.AuthenticationError) as err:
        client.chat.completions.create(model="scripted", messages=USER)
    assert err.value.status_code == 401
    assert err.value.body["code"] == "invalid_api_key"
    with pytest.raises(openai.AuthenticationError):
        client.models.list()


def test_httpx_with_the_key_as_x_api_key(keyed):
    headers = {"x-api-key": KEY}
    reply = httpx.post(keyed.url + "/v1/chat/completions", headers=headers, timeout=30,
                       json={"model": "scripted", "messages": USER})
    assert reply.status_code == 200 and reply.json()["choices"][0]["message"]["content"] == "Hello there."
    for path in ("/v1/models", "/v1/models/scripted", "/v1/stats", "/v1/health", "/v1/models/install"):
        assert httpx.get(keyed.url + path, headers=headers, timeout=30).status_code == 200, path
    job = httpx.post(keyed.url + "/v1/models/install", headers=headers, json={"model_id": "x"}, timeout=30)
    assert job.status_code == 202
    wrong = httpx.get(keyed.url + "/v1/models", headers={"x-api-key": KEY + "x"}, timeout=30)
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "invalid_api_key"


def test_health_is_open_without_the_key(keyed):
    health = httpx.get(keyed.url + "/health", timeout=30)
    assert health.status_code == 200 and health.json()["status"] == "ok"


ROUTES = [
    ("GET", "/v1/health"), ("GET", "/v1/models"), ("GET", "/v1/models/scripted"), ("GET", "/v1/stats"),
    ("GET", "/v1/models/install"), ("GET", "/v1/models/install/install-000"),
    ("DELETE", "/v1/models/install/install-000"), ("POST", "/v1/models/install"),
    ("POST", "/v1/chat/completions"), ("POST", "/v1/responses"), ("POST", "/v1/messages"),
    ("GET", "/v1/no-such-route"), ("POST", "/health"),
]


@pytest.mark.parametrize("method, path", ROUTES)
def test_every_other_route_needs_the_key(keyed, method, path):
    body = json.dumps({"model": "scripted", "messages": USER}) if method == "POST" else None
    for headers in ({}, {"Authorization": f"Basic {KEY}"}, {"Authorization": "Bearer"}, {"x-api-key": ""}):
        response = httpx.request(method, keyed.url + path, content=body, headers=headers, timeout=30)
        assert response.status_code == 401, (headers, response.text)
        error = response.json()["error"]
        if path == "/v1/messages":  # Anthropic's error shape on Anthropic's endpoint
            assert response.json()["type"] == "error" and error["type"] == "authentication_error"
        else:
            assert error["code"] == "missing_api_key"
        assert "Authorization: Bearer" in error["message"]
        assert response.headers["www-authenticate"].startswith("Bearer")
    response = httpx.request(method, keyed.url + path, content=body, headers={"Authorization": "Bearer nope"},
                             timeout=30)
    assert response.status_code == 401 and "not valid" in response.json()["error"]["message"]


def test_bearer_scheme_is_case_insensitive_and_either_header_may_carry_the_key(keyed):
    for headers in ({"Authorization": f"bearer {KEY}"}, {"Authorization": "Bearer wrong", "x-api-key": KEY}):
        assert httpx.get(keyed.url + "/v1/models", headers=headers, timeout=30).status_code == 200


def test_a_refused_request_with_a_large_body_still_reads_its_401(keyed):
    big = json.dumps({"model": "scripted", "messages": [{"role": "user", "content": "x" * 500_000}]})
    response = httpx.post(keyed.url + "/v1/chat/completions", content=big, timeout=30,
                          headers={"Content-Type": "application/json"})
    assert response.status_code == 401
    assert httpx.get(keyed.url + "/health", timeout=30).status_code == 200


def test_keys_are_compared_with_hmac_compare_digest(keyed, monkeypatch):
    calls = []
    real = auth.hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(auth.hmac, "compare_digest", spy)
    assert httpx.get(keyed.url + "/v1/models", headers={"x-api-key": "guess"}, timeout=30).status_code == 401
    assert httpx.get(keyed.url + "/v1/models", headers={"x-api-key": KEY}, timeout=30).status_code == 200
    assert calls == [(b"guess", KEY.encode()), (KEY.encode(), KEY.encode())]


def test_without_a_key_nothing_is_needed(open_server):
    assert httpx.get(open_server.url + "/v1/models", timeout=30).status_code == 200
    reply = httpx.post(open_server.url + "/v1/chat/completions", json={"model": "scripted", "messages": USER},
                       timeout=30)
    assert reply.status_code == 200


# ---------------------------------------------------------------- who may listen where
@pytest.mark.parametrize("host, loopback", [
    ("127.0.0.1", True), ("127.0.0.2", True), ("localhost", True), ("::1", True), ("[::1]", True),
    ("0.0.0.0", False), ("::", False), ("192.168.1.10", False), ("example.com", False),
])
def test_is_loopback(host, loopback):
    assert auth.is_loopback(host) is loopback


def test_key_comes_from_the_flag_then_the_environment():
    assert auth.resolve_key("flag", {"MLXAGENT_API_KEY": "env"}) == "flag"
    assert auth.resolve_key(None, {"MLXAGENT_API_KEY": " env "}) == "env"
    assert auth.resolve_key(None, {"MLXAGENT_API_KEY": "  "}) is None
    assert auth.resolve_key(None, {}) is None
    assert auth.resolve_key(" ", {"MLXAGENT_API_KEY": "env"}) == "env"  # a blank flag never turns the key off


def _serve_subprocess(*args: str, key: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "MLXAGENT_API_KEY"}
    if key is not None:
        env["MLXAGENT_API_KEY"] = key
    return subprocess.run([sys.executable, "-m", "mlxagent", "serve", *args], env=env, capture_output=True,
                          text=True, timeout=120)


def test_serve_refuses_a_non_loopback_host_without_a_key():
    done = _serve_subprocess("--host", "0.0.0.0", "--port", "0")
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("mlxagent: refusing to listen on 0.0.0.0: it is not a loopback address")
    assert "MLXAGENT_API_KEY or --api-key" in lines[0] and "--allow-remote" in lines[0]


def test_serve_refuses_a_non_loopback_host_with_a_key_but_without_allow_remote():
    done = _serve_subprocess("--host", "0.0.0.0", "--port", "0", key=KEY)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "mlxagent: refusing to listen on 0.0.0.0: it is not a loopback address, and serving beyond this machine "
        "needs --allow-remote."]


class FakeServer:
    """Stands in for uvicorn: records what `serve()` would have served, binds nothing."""

    made: list[dict] = []

    def __init__(self, app, host, port, on_ready, log_level="info") -> None:
        FakeServer.made.append({"app": app, "host": host, "port": port})

    def run(self) -> None:
        pass


@pytest.fixture
def no_binding(monkeypatch):
    monkeypatch.setenv("MLXAGENT_NO_OPENBLAS", "1")  # cli.main must not re-exec the test process
    monkeypatch.delenv("MLXAGENT_API_KEY", raising=False)
    FakeServer.made = []
    monkeypatch.setattr(server_app, "_uvicorn_server", FakeServer)
    monkeypatch.setattr(server_app.log, "handlers", list(server_app.log.handlers))  # serve() adds one
    monkeypatch.setattr(server_app.log, "level", server_app.log.level)
    return FakeServer.made


@pytest.mark.parametrize("argv, env_key, reason", [
    (["--host", "0.0.0.0"], None, "needs an API key (MLXAGENT_API_KEY or --api-key) and --allow-remote."),
    (["--host", "::", "--allow-remote"], None, "needs an API key (MLXAGENT_API_KEY or --api-key)."),
    (["--host", "192.168.1.10", "--api-key", KEY], None, "needs --allow-remote."),
    (["--host", "0.0.0.0", "--api-key", "   ", "--allow-remote"], None,
     "needs an API key (MLXAGENT_API_KEY or --api-key)."),
    (["--host", "example.com"], KEY, "needs --allow-remote."),
])
def test_cli_refusals_name_what_is_missing(no_binding, monkeypatch, capsys, argv, env_key, reason):
    if env_key:
        monkeypatch.setenv("MLXAGENT_API_KEY", env_key)
    assert cli.main(["serve", *argv, "--port", "0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("mlxagent: refusing to listen on ") and err[0].endswith(reason)
    assert no_binding == []  # nothing was served


@pytest.mark.parametrize("argv, env_key", [
    (["--host", "0.0.0.0", "--api-key", KEY, "--allow-remote"], None),
    (["--host", "0.0.0.0", "--allow-remote"], KEY),
])
def test_cli_serves_remote_with_a_key_and_allow_remote(no_binding, monkeypatch, capsys, argv, env_key):
    if env_key:
        monkeypatch.setenv("MLXAGENT_API_KEY", env_key)
    assert cli.main(["serve", *argv, "--port", "0"]) == 0
    assert [(m["host"], m["port"]) for m in no_binding] == [("0.0.0.0", 0)]
    assert no_binding[0]["app"].state.mlxagent.api_key is True
    assert "warning: listening on 0.0.0.0" in capsys.readouterr().err


def test_cli_loopback_with_a_key_requires_it(no_binding, monkeypatch):
    monkeypatch.setenv("MLXAGENT_API_KEY", KEY)
    assert cli.main(["serve", "--host", "127.0.0.1", "--port", "0"]) == 0
    assert no_binding[0]["app"].state.mlxagent.api_key is True
    monkeypatch.delenv("MLXAGENT_API_KEY")
    assert cli.main(["serve", "--host", "127.0.0.1", "--port", "0"]) == 0
    assert no_binding[1]["app"].state.mlxagent.api_key is False
