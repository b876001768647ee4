"""Starlette routes for the OpenAI-compatible API (Anthropic's Messages API too), and `serve()`
for `mlxagent serve`.

Routes:

    GET    /health, /v1/health               liveness, loaded model, queue length
    GET    /v1/models                        installed models with their aliases, then the aliases
    GET    /v1/models/{id}                   one of those
    POST   /v1/models/install                {"model_id", "name"} -> 202 and an install job
    GET    /v1/models/install                all install jobs
    GET    /v1/models/install/{job}?wait=S   one job (waits up to S seconds for it to finish)
    DELETE /v1/models/install/{job}          cancel it
    POST   /v1/chat/completions              chat completions, plain or streamed (SSE)
    POST   /v1/responses                     OpenAI's Responses API, plain or streamed (responses_api.py)
    POST   /v1/messages                      Anthropic's Messages API, plain or streamed (messages_api.py)
    GET    /v1/stats                         token counts, prompt-cache pool and hit rate, process memory

Every error is `{"error": {"message", "type", "param", "code"}}` with a 4xx/5xx status (on
/v1/messages, Anthropic's `{"type": "error", "error": {"type", "message"}}`); no traceback
ever reaches a client, and no bad request stops the server. A stream's headers and opening
event go out as soon as the request is known to be good, before the prefill, and an SSE comment
(`: keep-alive`) every `keepalive` seconds while nothing else does (clients time out otherwise
on long prompts). Bodies are read up to
`server.max_request_bytes` and must arrive within `body_timeout` seconds (`bodies.py`). A
client that disconnects cancels its generation (or its place in the queue). With an API key
every route but `GET /health` needs it (`auth.py`); `serve()` refuses a non-loopback host
without a key and `--allow-remote`. Web pages (a foreign Origin), DNS rebinding (a foreign
Host without a key) and non-JSON bodies are refused first (`http_guard.py`). The model and
install routes are in `model_routes.py`.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from .. import __version__
from ..config import DEFAULT_SERVER, Settings, guard_config_for, load_settings
from . import chat_api, messages_api, responses_api
from .auth import ApiKeyMiddleware, is_loopback, remote_refusal, resolve_key
from .bodies import BODY_TIMEOUT_SECONDS, json_body
from .http_guard import HttpGuard
from .jobs import InstallJobs
from .model_routes import cancel_job, get_job, get_model, install, list_jobs, list_models
from .schemas import ApiError, on_off, parse_chat_request
from .store import ModelStore
from .worker import Channel, Failed, Finished, GenerationJob, ModelWorker, Started, ToolCalls, Delta

log = logging.getLogger("mlxagent.server")
KEEPALIVE_SECONDS = 10.0
KEEPALIVE_COMMENT = b": keep-alive\n\n"



@dataclass
class ServerState:
    settings: Settings
    store: Any  # ModelStore, or what a test injects
    worker: ModelWorker
    jobs: InstallJobs
    max_request_bytes: int
    guard_default: bool
    edit_tools: frozenset[str]
    body_timeout: float = BODY_TIMEOUT_SECONDS
    api_key: bool = False  # whether requests need a key (the key itself stays in the middleware)
    keepalive: float = KEEPALIVE_SECONDS


def _server_setting(settings: Settings, key: str) -> Any:
    return settings.server.get(key, DEFAULT_SERVER[key])


def create_app(*, settings: Settings | None = None, provider: Any = None, store: Any = None,
               preload: str | None = None, api_key: str | None = None,
               body_timeout: float = BODY_TIMEOUT_SECONDS, keepalive: float = KEEPALIVE_SECONDS) -> Starlette:
    """The ASGI app. `provider` (loads models) and `store` (finds and installs them) may be injected.
    `api_key`: every request but `GET /health` must carry it (Bearer or x-api-key)."""
    if settings is None:
        settings, _ = load_settings()
    if store is None:
        from .. import paths

        store = ModelStore(settings.aliases, config_path=paths.config_file())
    if provider is None:
        from .provider import RuntimeProvider

        provider = RuntimeProvider(_server_setting(settings, "cache_sessions"),
                                   _server_setting(settings, "cache_mb") * 1024 * 1024,
                                   speculative=settings.speculative)
    mlx_lock = threading.Lock()

    def guard_config(model_name: str):
        return dataclasses.replace(guard_config_for(settings, model_name), enabled=True)

    worker = ModelWorker(provider, guard_config, default_max_tokens=settings.max_tokens,
                         default_temperature=settings.temperature, max_queue=_server_setting(settings, "max_queue"),
                         mlx_lock=mlx_lock, weak_tools=_server_setting(settings, "weak_tools"))
    jobs = InstallJobs(lambda job: store.install(job.plan, job.name, job.report, job.cancel.is_set, mlx_lock))
    state = ServerState(
        settings=settings, store=store, worker=worker, jobs=jobs,
        max_request_bytes=_server_setting(settings, "max_request_bytes"),
        guard_default=bool(_server_setting(settings, "loop_guard") and settings.guard.get("enabled", True)),
        edit_tools=frozenset(_server_setting(settings, "edit_tools")),
        body_timeout=body_timeout, api_key=bool(api_key), keepalive=keepalive,
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        worker.start()
        jobs.start()
        if preload:
            target = await run_in_threadpool(store.lookup, preload)
            worker.submit(GenerationJob(target, None, emit=lambda _event: None))
        try:
            yield
        finally:
            jobs.stop()
            await run_in_threadpool(worker.stop)

    routes = [
        Route("/health", health, methods=["GET"]),
        Route("/v1/health", health, methods=["GET"]),
        Route("/v1/stats", stats, methods=["GET"]),
        Route("/v1/models/install", install, methods=["POST"]),
        Route("/v1/models/install", list_jobs, methods=["GET"]),
        Route("/v1/models/install/{job_id}", get_job, methods=["GET"]),
        Route("/v1/models/install/{job_id}", cancel_job, methods=["DELETE"]),
        Route("/v1/models", list_models, methods=["GET"]),
        Route("/v1/models/{model_id:path}", get_model, methods=["GET"]),
        Route("/v1/chat/completions", chat_completions, methods=["POST"]),
        Route("/v1/responses", responses_endpoint, methods=["POST"]),
        Route("/v1/messages", messages_endpoint, methods=["POST"]),
    ]
    middleware = [Middleware(HttpGuard, api_key=bool(api_key))]  # outermost: origin/host/type, error shapes
    middleware += [Middleware(ApiKeyMiddleware, api_key=api_key)] if api_key else []
    app = Starlette(routes=routes, lifespan=lifespan, middleware=middleware, exception_handlers={
        ApiError: _api_error, HTTPException: _http_error, Exception: _internal_error})
    app.state.mlxagent = state
    return app


def _state(request: Request) -> ServerState:
    return request.app.state.mlxagent


# ---------------------------------------------------------------- errors
def error_response(error: ApiError) -> JSONResponse:
    return JSONResponse(error.body(), status_code=error.status, headers=error.headers)


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc)


HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "request_too_large"}


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = exc.detail if exc.status_code != 404 else f"No such endpoint: {request.method} {request.url.path}"
    if exc.status_code == 405:
        message = f"{request.method} is not allowed on {request.url.path}."
    body = ApiError(exc.status_code, str(message), code=HTTP_CODES.get(exc.status_code)).body()
    return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)


async def _internal_error(request: Request, exc: Exception) -> Response:
    log.error("internal error on %s %s: %s: %s", request.method, request.url.path, type(exc).__name__, exc)
    return error_response(ApiError(500, f"internal error: {type(exc).__name__}", code="internal_error"))


# ---------------------------------------------------------------- simple routes
async def health(request: Request) -> Response:
    return JSONResponse({"status": "ok", "version": __version__, **_state(request).worker.health()})


async def stats(request: Request) -> Response:
    out = await run_in_threadpool(_state(request).worker.stats)
    out["process"] = process_memory()
    return JSONResponse(out)


def process_memory() -> dict[str, int | None]:
    """This process's resident memory now and at its peak, in bytes (None where unknown)."""
    rss = peak = None
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    value = int(line.split()[1]) * 1024
                    if line.startswith("VmRSS:"):
                        rss = value
                    else:
                        peak = value
    except (OSError, ValueError, IndexError):
        pass
    if peak is None:
        with contextlib.suppress(Exception):
            import resource

            scale = 1 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB on Linux
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale
    return {"rss_bytes": rss, "peak_rss_bytes": peak}


# ---------------------------------------------------------------- chat completions
async def _watch_disconnect(request: Request, cancel: threading.Event) -> None:
    """Set `cancel` when the client goes away (the body has been read by then)."""
    with contextlib.suppress(Exception):
        while True:
            message = await request.receive()
            if message["type"] == "http.disconnect":
                cancel.set()
                return


async def chat_completions(request: Request) -> Response:
    chat = parse_chat_request(await json_body(request), request.headers.get("x-mlxagent-guard"))

    def whole(model: str, text: str, calls: list[dict[str, Any]], done: Finished) -> dict[str, Any]:
        return chat_api.completion(chat_api.completion_id(), int(time.time()), model, text, calls,
                                    done.finish_reason, done.usage, done.guard)

    return await _generate(request, chat, whole, lambda model: chat_api.ChatEvents(model, chat.include_usage))


async def responses_endpoint(request: Request) -> Response:
    """OpenAI's Responses API on the same worker (server/responses_api.py)."""
    body = await json_body(request)
    chat = responses_api.parse_responses_request(body, request.headers.get("x-mlxagent-guard"))
    tools, dropped = responses_api.request_tools(body)

    def whole(model: str, text: str, calls: list[dict[str, Any]], done: Finished) -> dict[str, Any]:
        output = [responses_api.message_item(responses_api.item_id("msg"), text)] if text or not calls else []
        output += [responses_api.call_item(responses_api.item_id("fc"), c) for c in calls]
        return responses_api.response_object(responses_api.response_id(), int(time.time()), model, output,
                                             done.finish_reason, done.usage, done.guard, tools=tools,
                                             dropped=dropped)

    return await _generate(request, chat, whole,
                           lambda model: responses_api.EventWriter(model, tools=tools, dropped=dropped))


async def messages_endpoint(request: Request) -> Response:
    """Anthropic's Messages API on the same worker (server/messages_api.py)."""
    chat = messages_api.parse_messages_request(await json_body(request), request.headers.get("x-mlxagent-guard"))

    def whole(model: str, text: str, calls: list[dict[str, Any]], done: Finished) -> dict[str, Any]:
        return messages_api.message_object(messages_api.message_id(), model, text, calls, done.finish_reason,
                                           done.usage, done.guard)

    return await _generate(request, chat, whole, lambda model: messages_api.EventWriter(
        model, input_tokens=int(chat.observed.get("prompt_tokens", 0))))


async def _generate(request: Request, chat, whole: Callable, writer: Callable) -> Response:
    """Queue one generation for `chat`. The reply: `whole(model, text, calls, finished)` as JSON,
    or, streaming, the events of `writer(model)` (start / text / calls / finish / failed, each a
    list of SSE chunks): the one worker, cache pool, guard and limits serve every API shape."""
    state = _state(request)
    target = await run_in_threadpool(state.store.lookup, chat.model)
    channel = Channel(asyncio.get_running_loop())
    job = GenerationJob(target, chat, emit=channel.put,
                        guard=state.guard_default if chat.guard is None else chat.guard,
                        edit_tools=state.edit_tools | frozenset(chat.edit_tools),
                        weak_tools=chat.weak_tools if chat.weak_tools is not None
                        else on_off(request.headers.get("x-mlxagent-weak-tools"), "X-Mlxagent-Weak-Tools"))
    state.worker.submit(job)
    watcher = asyncio.create_task(_watch_disconnect(request, job.cancel))
    handed_over = False
    try:
        first = await channel.get()
        if isinstance(first, Failed):
            return error_response(first.error)
        if not isinstance(first, Started):  # cancelled while waiting: the client is gone
            return Response(status_code=499)
        if chat.stream:
            handed_over = True
            return StreamingResponse(_relay(writer(first.model), job, channel, watcher, state.keepalive),
                                     media_type="text/event-stream",
                                     headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
        content: list[str] = []
        calls: list[dict[str, Any]] = []
        while True:
            event = await channel.get()
            if isinstance(event, Delta):
                content.append(event.text)
            elif isinstance(event, ToolCalls):
                calls = event.calls
            elif isinstance(event, Failed):
                return error_response(event.error)
            elif isinstance(event, Finished):
                return JSONResponse(whole(first.model, "".join(content), calls, event))
    finally:
        if not handed_over:
            job.cancel.set()  # a no-op when the job is done; stops it when this handler was cancelled
            watcher.cancel()


async def _relay(writer, job: GenerationJob, channel: Channel, watcher: asyncio.Task, keepalive: float):
    pending: asyncio.Task | None = None
    try:
        for chunk in writer.start():
            yield chunk
        while True:
            pending = pending or asyncio.ensure_future(channel.get())
            done, _ = await asyncio.wait({pending}, timeout=keepalive)
            if not done:  # still prefilling (or a slow token): a comment every SSE client skips
                yield KEEPALIVE_COMMENT
                continue
            event, pending = pending.result(), None
            if isinstance(event, Delta):
                chunks = writer.text(event.text)
            elif isinstance(event, ToolCalls):
                chunks = writer.calls(event.calls)
            elif isinstance(event, Failed):
                for chunk in writer.failed(event.error.body()["error"]):
                    yield chunk
                return
            elif isinstance(event, Finished):
                if event.finish_reason == "cancelled":
                    return
                for chunk in writer.finish(event.finish_reason, event.usage, event.guard):
                    yield chunk
                return
            else:
                continue
            for chunk in chunks:
                yield chunk
    finally:
        if pending is not None:
            pending.cancel()
        job.cancel.set()  # the client went away mid-stream (or the stream ended: then a no-op)
        watcher.cancel()


# ---------------------------------------------------------------- running it
def _uvicorn_server(app: Starlette, host: str, port: int, on_ready: Callable[[Any], None] | None,
                    log_level: str = "info"):
    import uvicorn

    class Server(uvicorn.Server):
        port: int | None = None

        async def startup(self, sockets=None) -> None:
            await super().startup(sockets)
            self.port = self.servers[0].sockets[0].getsockname()[1]
            if on_ready is not None:
                on_ready(self)

        async def shutdown(self, sockets=None) -> None:
            # Generations in flight end now (streams get a "shutting down" error event), so
            # uvicorn's graceful wait for open requests is short.
            app.state.mlxagent.worker.drain()
            await super().shutdown(sockets)

    config = uvicorn.Config(app, host=host, port=port, log_level=log_level, lifespan="on",
                            timeout_graceful_shutdown=5, timeout_keep_alive=5)
    return Server(config)


class BackgroundServer:
    """The app served on a thread (tests, embedding): `start()` returns once it is listening."""

    def __init__(self, app: Starlette, host: str = "127.0.0.1", port: int = 0, log_level: str = "warning") -> None:
        self.host = host
        self._ready = threading.Event()
        self.server = _uvicorn_server(app, host, port, lambda _s: self._ready.set(), log_level)
        self._thread = threading.Thread(target=self.server.run, name="mlxagent-http", daemon=True)

    @property
    def port(self) -> int:
        assert self.server.port is not None
        return self.server.port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 60.0) -> "BackgroundServer":
        self._thread.start()
        for _ in range(int(timeout * 10)):
            if self._ready.wait(0.1):
                return self
            if not self._thread.is_alive():
                break
        raise RuntimeError("the server did not start")

    def stop(self, timeout: float = 30.0) -> None:
        self.server.should_exit = True
        self._thread.join(timeout)


def serve(host: str | None = None, port: int | None = None, model: str | None = None,
          api_key: str | None = None, allow_remote: bool = False, speculative: bool | None = None) -> int:
    """`mlxagent serve`: run until Ctrl+C. Host and port default to the settings ([server]).

    `api_key` (else $MLXAGENT_API_KEY): required on every route but `GET /health`. A host that
    is not loopback is refused (exit 2, one line) unless there is a key and `allow_remote`."""
    settings, warnings = load_settings()
    for warning in warnings:
        print(f"mlxagent: {warning}", file=sys.stderr)
    if speculative is not None:
        settings = dataclasses.replace(settings, speculative=speculative)
    host = host or _server_setting(settings, "host")
    port = _server_setting(settings, "port") if port is None else port
    key = resolve_key(api_key)
    if (refusal := remote_refusal(host, key, allow_remote)) is not None:
        print(f"mlxagent: {refusal}", file=sys.stderr)
        return 2
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s:     %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    app = create_app(settings=settings, preload=model, api_key=key)
    if model:
        try:
            app.state.mlxagent.store.lookup(model)
        except ApiError as e:
            print(f"mlxagent: {e.message}", file=sys.stderr)
            return 1
    if not is_loopback(host):
        print(f"mlxagent: warning: listening on {host}, not loopback: anyone who can reach this machine and has "
              "the API key can use the model and install models.", file=sys.stderr)

    def ready(server) -> None:
        shown = f"[{host}]" if ":" in host else host
        auth = "; requests need the API key (Authorization: Bearer or x-api-key), but GET /health" if key else ""
        print(f"mlxagent: serving on http://{shown}:{server.port}/v1 (OpenAI-compatible{auth}; Ctrl+C stops)",
              file=sys.stderr, flush=True)

    server = _uvicorn_server(app, host, port, ready)
    try:
        server.run()
    except SystemExit:  # uvicorn exits when it cannot bind or start (it has logged why)
        print(f"mlxagent: could not serve on {host}:{port}", file=sys.stderr)
        return 1
    return 0
