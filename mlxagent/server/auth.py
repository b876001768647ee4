"""API keys for `mlxagent serve`, and who may listen beyond this machine.

With a key (`MLXAGENT_API_KEY` or `--api-key`) every request but `GET /health` must carry
it, as `Authorization: Bearer KEY` (OpenAI clients) or `x-api-key: KEY` (Anthropic
clients); anything else gets a 401 in OpenAI's error shape before routing, so an
unauthenticated client learns nothing about the routes. Keys are compared with
`hmac.compare_digest`.

A host that is not loopback needs both a key and `--allow-remote`; `remote_refusal` says
in one line why a host is refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import ipaddress
import json
import os
from typing import Any, Awaitable, Callable, Iterable

ENV_VAR = "MLXAGENT_API_KEY"
OPEN_PATHS = frozenset({"/health"})
DRAIN_LIMIT = 1024 * 1024  # a refused request's body is read up to this (then the connection is closed)
DRAIN_SECONDS = 5.0

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


def resolve_key(flag: str | None, environ: dict[str, str] | None = None) -> str | None:
    """The key from `--api-key`, else from the environment; a blank one counts as not given."""
    env = environ if environ is not None else os.environ
    return (flag or "").strip() or (env.get(ENV_VAR) or "").strip() or None


def is_loopback(host: str) -> bool:
    host = host.strip().strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name other than localhost may resolve anywhere


def remote_refusal(host: str, api_key: str | None, allow_remote: bool) -> str | None:
    """None when `host` may be served; otherwise the one-line reason it may not."""
    if is_loopback(host):
        return None
    missing = []
    if not api_key:
        missing.append(f"an API key ({ENV_VAR} or --api-key)")
    if not allow_remote:
        missing.append("--allow-remote")
    if not missing:
        return None
    return (f"refusing to listen on {host}: it is not a loopback address, and serving beyond this machine needs "
            f"{' and '.join(missing)}.")


def presented_keys(headers: Iterable[tuple[bytes, bytes]]) -> list[bytes]:
    """The credentials a request carries: the Bearer token and the x-api-key header."""
    found = []
    for name, value in headers:
        if name == b"authorization":
            scheme, _, token = value.strip().partition(b" ")
            if scheme.lower() == b"bearer" and token.strip():
                found.append(token.strip())
        elif name == b"x-api-key" and value.strip():
            found.append(value.strip())
    return found


def key_matches(candidates: list[bytes], key: bytes) -> bool:
    ok = False
    for candidate in candidates:  # every candidate is compared: no early exit
        ok |= hmac.compare_digest(candidate, key)
    return ok


def _error(message: str, code: str) -> bytes:
    return json.dumps({"error": {"message": message, "type": "authentication_error", "param": None,
                                 "code": code}}).encode()


class ApiKeyMiddleware:
    """ASGI middleware: a 401 for any HTTP request without the key, but for `open_paths`."""

    def __init__(self, app: Callable, api_key: str, open_paths: frozenset[str] = OPEN_PATHS) -> None:
        self.app = app
        self.key = api_key.encode()
        self.open_paths = open_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (scope["path"] in self.open_paths and scope["method"] in ("GET", "HEAD")):
            await self.app(scope, receive, send)
            return
        candidates = presented_keys(scope.get("headers") or ())
        if key_matches(candidates, self.key):
            await self.app(scope, receive, send)
            return
        if candidates:
            body = _error("The API key is not valid.", "invalid_api_key")
        else:
            body = _error("An API key is required: send 'Authorization: Bearer KEY' or 'x-api-key: KEY'.",
                          "missing_api_key")
        await _drain(receive)
        await send({"type": "http.response.start", "status": 401, "headers": [
            (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
            (b"www-authenticate", b'Bearer realm="mlxagent"'), (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})


async def _drain(receive: Receive) -> None:
    """Read (and drop) a small body, so the client is reading when the 401 arrives."""
    seen = 0
    with contextlib.suppress(Exception):
        async with asyncio.timeout(DRAIN_SECONDS):
            while seen <= DRAIN_LIMIT:
                message = await receive()
                if message["type"] != "http.request":
                    return
                seen += len(message.get("body", b""))
                if not message.get("more_body", False):
                    return
