"""The MCP servers of one session: started together, listed, called, stopped together.

The SDK (`mcp`) is async; the agent loop runs in a worker thread. So the manager runs one
asyncio loop in a background thread; each server is one task on it that opens the transport
(a stdio child process, or streamable HTTP), initialises the session, lists the tools, then
waits until the manager closes. Everything the rest of the program calls here is sync:
`start`, `wait`, `statuses`, `tools`, `call(...)` (with a timeout and the turn's cancel), `close`.

A server that cannot start, or that dies, is `failed` with a one-line reason (its last line
on stderr, when it wrote one); the others go on. `close` stops every task, which closes each
stdio server's pipes and kills its process tree (the SDK's shutdown: stdin closed, then SIGTERM,
then SIGKILL), so no server outlives the session.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import os
import tempfile
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Mapping

STATES = ("starting", "ready", "failed", "stopped", "disabled")
SEPARATOR = "."  # tools are named SERVER.tool (the formats and constrained decoding take dots; tests/test_mcp.py)


@dataclass(frozen=True)
class McpTool:
    server: str
    name: str  # as the server names it
    description: str
    input_schema: dict[str, Any]
    read_only: bool  # annotations.readOnlyHint: called without asking

    @property
    def full_name(self) -> str:
        return f"{self.server}{SEPARATOR}{self.name}"

    @property
    def summary(self) -> str:
        """The description's first line."""
        return next((line.strip() for line in self.description.splitlines() if line.strip()), "")


@dataclass
class ServerStatus:
    name: str
    state: str = "starting"
    reason: str = ""  # one line, for failed (and stopped after a failure)
    tools: list[McpTool] = field(default_factory=list)
    where: str = ""  # the command line or the URL

    def line(self) -> str:
        text = f"{self.name}: {self.state}"
        if self.state == "ready":
            text += f" ({len(self.tools)} tool{'s' if len(self.tools) != 1 else ''})"
        return text + (f": {self.reason}" if self.reason else "")

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "state": self.state, "reason": self.reason, "where": self.where,
                "tools": [{"name": t.full_name, "description": t.summary, "read_only": t.read_only}
                          for t in self.tools]}


def _one_line(text: str, limit: int = 240) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _leaf(exc: BaseException) -> BaseException:
    """The first real error inside (nested) exception groups."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


class McpManager:
    def __init__(self, servers: Mapping[str, Mapping[str, Any]]):
        self.config = {name: dict(table) for name, table in servers.items()}
        self._status = {name: ServerStatus(name, where=_where(table)) for name, table in self.config.items()}
        self._sessions: dict[str, Any] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stop: asyncio.Event | None = None
        self._tasks: dict[str, concurrent.futures.Future] = {}
        self._settled = {name: threading.Event() for name in self.config}
        self._stderr: dict[str, Any] = {}
        self._lock = threading.Lock()
        self.closed = False
        self.left_out: list[str] = []  # tools left out of the prompt (tools.add_tools)
        for name, table in self.config.items():
            if not table.get("enabled", True):
                self._status[name].state = "disabled"
                self._settled[name].set()

    # -- life ----------------------------------------------------------------------------------

    def start(self) -> "McpManager":
        """Start every enabled server (returns at once; `wait` for them to settle)."""
        wanted = [n for n, s in self._status.items() if s.state == "starting"]
        if not wanted or self._thread is not None:
            return self
        ready = threading.Event()

        def run_loop() -> None:
            self._loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self._loop)
            self._stop = asyncio.Event()
            ready.set()
            self._loop.run_forever()
            self._loop.close()

        self._thread = threading.Thread(target=run_loop, name="mcp-servers", daemon=True)
        self._thread.start()
        ready.wait()
        for name in wanted:
            self._tasks[name] = asyncio.run_coroutine_threadsafe(self._serve(name), self._loop)
        return self

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until every server is ready or failed (at most `timeout` seconds, else each
        server's own start timeout); False if some are still starting."""
        limit = timeout if timeout is not None else max(
            [float(t.get("timeout", 30)) for t in self.config.values()] or [0]) + 1
        deadline = time.monotonic() + limit
        for event in self._settled.values():
            if not event.wait(max(0.0, deadline - time.monotonic())):
                return False
        return True

    def close(self, timeout: float = 10.0) -> None:
        """Stop every server and the loop; kills what does not stop (idempotent)."""
        if self.closed:
            return
        self.closed = True
        loop = self._loop
        if loop is not None and self._stop is not None:
            loop.call_soon_threadsafe(self._stop.set)
            deadline = time.monotonic() + timeout
            for future in self._tasks.values():
                with contextlib.suppress(Exception):
                    future.result(timeout=max(0.1, deadline - time.monotonic()))
            for future in self._tasks.values():
                if not future.done():
                    loop.call_soon_threadsafe(future.cancel)
            loop.call_soon_threadsafe(loop.stop)
            if self._thread is not None:
                self._thread.join(timeout=5)
        with self._lock:
            for status in self._status.values():
                if status.state in ("starting", "ready"):
                    status.state = "stopped"
        for log in self._stderr.values():
            with contextlib.suppress(OSError):
                log.close()

    # -- what there is ---------------------------------------------------------------------------

    def statuses(self) -> list[ServerStatus]:
        with self._lock:
            return [ServerStatus(s.name, s.state, s.reason, list(s.tools), s.where) for s in self._status.values()]

    def tools(self) -> list[McpTool]:
        return [tool for status in self.statuses() if status.state == "ready" for tool in status.tools]

    # -- calls ----------------------------------------------------------------------------------------

    def call(self, server: str, tool: str, arguments: dict[str, Any],
             cancel: threading.Event | None = None) -> tuple[str, bool]:
        """Call `tool` on `server`; returns (text for the model, is_error), never raises."""
        status = self._status.get(server)
        if status is None or status.state != "ready" or self._loop is None:
            why = f" ({status.state}{': ' + status.reason if status and status.reason else ''})" if status else ""
            return f"The MCP server {server!r} is not running{why}; its tools cannot be called.", True
        timeout = float(self.config[server].get("timeout", 30))
        future = asyncio.run_coroutine_threadsafe(self._call(server, tool, arguments, timeout), self._loop)
        while True:
            try:
                return future.result(timeout=0.1)
            except concurrent.futures.TimeoutError:
                if cancel is not None and cancel.is_set():
                    future.cancel()
                    return f"The call of {server}{SEPARATOR}{tool} was interrupted.", True
            except concurrent.futures.CancelledError:
                return f"The call of {server}{SEPARATOR}{tool} was interrupted.", True

    async def _call(self, server: str, tool: str, arguments: dict[str, Any], timeout: float) -> tuple[str, bool]:
        session = self._sessions.get(server)
        if session is None:
            return f"The MCP server {server!r} is not running.", True
        try:
            result = await asyncio.wait_for(session.call_tool(tool, arguments, read_timeout_seconds=timeout),
                                            timeout + 1)
        except (asyncio.TimeoutError, TimeoutError):
            return f"{server}{SEPARATOR}{tool} did not answer within {timeout:g} s.", True
        except Exception as exc:  # noqa: BLE001 - a dead server or a protocol error: one line for the model
            from mcp.types import CONNECTION_CLOSED, REQUEST_TIMEOUT

            leaf = _leaf(exc)
            code = getattr(leaf, "code", None)
            if code == REQUEST_TIMEOUT:
                return f"{server}{SEPARATOR}{tool} did not answer within {timeout:g} s.", True
            if code == CONNECTION_CLOSED or isinstance(leaf, (OSError, EOFError)):
                reason = self._failure(server, leaf)
                self._set(server, "failed", f"the server stopped: {reason}")
                self._sessions.pop(server, None)
                return f"{server}{SEPARATOR}{tool} failed: the MCP server {server!r} stopped ({reason}).", True
            return f"{server}{SEPARATOR}{tool} failed: {_one_line(str(leaf) or type(leaf).__name__)}", True
        return result_text(result), bool(getattr(result, "is_error", False))

    # -- one server ----------------------------------------------------------------------------------

    async def _serve(self, name: str) -> None:
        table = self.config[name]
        timeout = float(table.get("timeout", 30))
        try:
            async with contextlib.AsyncExitStack() as stack:
                read, write = await stack.enter_async_context(self._transport(name, table))
                from mcp.client.session import ClientSession

                session = await stack.enter_async_context(ClientSession(read, write))
                tools = await asyncio.wait_for(self._handshake(name, session), timeout)
                self._sessions[name] = session
                self._set(name, "ready", "", tools)
                self._settled[name].set()
                await self._stop.wait()
                self._sessions.pop(name, None)
        except BaseException as exc:  # noqa: BLE001 - any failure is one line; the session goes on
            self._sessions.pop(name, None)
            leaf = _leaf(exc)
            if isinstance(exc, asyncio.CancelledError) or self.closed:
                self._set(name, "stopped", "")
            elif isinstance(leaf, (asyncio.TimeoutError, TimeoutError)):
                said = _last_line(self._stderr.get(name))
                self._set(name, "failed", f"did not start within {timeout:g} s" + (f" ({said})" if said else ""))
            else:
                self._set(name, "failed", self._failure(name, leaf))
            if not isinstance(exc, Exception) and not isinstance(exc, BaseExceptionGroup):
                raise
        finally:
            self._settled[name].set()

    def _transport(self, name: str, table: Mapping[str, Any]):
        if "command" in table:
            from mcp.client.stdio import StdioServerParameters, stdio_client

            argv = list(table["command"])
            cwd = table.get("cwd")
            params = StdioServerParameters(command=argv[0], args=argv[1:], env=dict(table.get("env") or {}) or None,
                                           cwd=os.path.expanduser(cwd) if cwd else None)
            log = tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace")
            self._stderr[name] = log
            return stdio_client(params, errlog=log)
        return _http_transport(table["url"], dict(table.get("headers") or {}))

    async def _handshake(self, name: str, session) -> list[McpTool]:
        await session.initialize()
        tools, cursor = [], None
        while True:
            from mcp.types import PaginatedRequestParams

            page = await session.list_tools(params=PaginatedRequestParams(cursor=cursor) if cursor else None)
            for tool in page.tools:
                hint = getattr(getattr(tool, "annotations", None), "read_only_hint", None)
                tools.append(McpTool(name, tool.name, tool.description or tool.title or "",
                                     dict(tool.input_schema or {}), hint is True))
            cursor = getattr(page, "next_cursor", None)
            if not cursor:
                return tools

    def _set(self, name: str, state: str, reason: str, tools: list[McpTool] | None = None) -> None:
        with self._lock:
            status = self._status[name]
            status.state, status.reason = state, _one_line(reason)
            if tools is not None:
                status.tools = tools
            elif state != "ready":
                status.tools = []

    def _failure(self, name: str, exc: BaseException | None) -> str:
        """Why a server failed, in one line: its last stderr line, else the error."""
        said = _last_line(self._stderr.get(name))
        if isinstance(exc, FileNotFoundError):
            argv0 = (self.config[name].get("command") or ["?"])[0]
            return f"cannot start {argv0!r}: no such program"
        if isinstance(exc, PermissionError):
            return f"cannot start it: {exc.strerror or exc}"
        text = f"{exc}" if exc is not None and str(exc) else (type(exc).__name__ if exc is not None else "")
        if said:
            return f"{said}" + (f" ({text})" if text and text not in said else "")
        return text or "it stopped"


def _last_line(log) -> str:
    if log is None:
        return ""
    try:
        log.flush()
        log.seek(0)
        lines = [line.strip() for line in log.read()[-20_000:].splitlines() if line.strip()]
        log.seek(0, os.SEEK_END)
    except (OSError, ValueError):
        return ""
    return _one_line(lines[-1]) if lines else ""


def _where(table: Mapping[str, Any]) -> str:
    if "command" in table:
        import shlex

        return shlex.join(table["command"])
    return str(table.get("url", ""))


@contextlib.asynccontextmanager
async def _http_transport(url: str, headers: dict[str, str]):
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared._httpx_utils import create_mcp_http_client

    async with create_mcp_http_client(headers=headers or None) as client:
        async with streamable_http_client(url, http_client=client) as streams:
            yield streams[0], streams[1]


def result_text(result: Any) -> str:
    """A tools/call result as text for the model: its text parts, others named, structured
    content as JSON when there is no text."""
    parts = []
    for item in getattr(result, "content", None) or []:
        kind = getattr(item, "type", "")
        if kind == "text":
            parts.append(item.text)
        elif kind == "resource":
            resource = getattr(item, "resource", None)
            parts.append(getattr(resource, "text", None) or f"[resource {getattr(resource, 'uri', '')}]")
        else:
            parts.append(f"[{kind or 'content'} not shown]")
    structured = getattr(result, "structured_content", None)
    if not parts and structured is not None:
        parts.append(json.dumps(structured, ensure_ascii=False))
    return "\n".join(parts) if parts else "(no output)"
