"""The outermost layer of the HTTP app: who may call it, and how its errors look.

- Browsers: a request whose `Origin` is not a loopback origin (http://127.0.0.1:*,
  http://localhost:*, http://[::1]:*) gets a 403, key or no key, so a web page cannot
  drive the server. Without an API key the `Host` header must name loopback too
  (127.0.0.1, localhost, [::1], with any port), which stops DNS rebinding.
- A POST whose body is declared as anything but JSON (a browser's `text/plain` form
  post, say) gets a 415.
- Errors on `/v1/messages` are in Anthropic's shape (`{"type": "error", "error": {"type",
  "message"}}`), whatever made them (auth, body size, validation, the model); errors on
  `/v1/responses` name the Responses fields (`input`, not `messages`).
- Every 4xx is logged, one line with its reason (logger "mlxagent.server").
"""

from __future__ import annotations

import ipaddress
import json
import logging
from typing import Any, Awaitable, Callable
from urllib.parse import urlsplit

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

log = logging.getLogger("mlxagent.server")

ANTHROPIC_PATHS = frozenset({"/v1/messages"})
RESPONSES_PATHS = frozenset({"/v1/responses"})
MAX_ERROR_BODY = 256 * 1024  # an error body larger than this is passed on as it is
ANTHROPIC_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
                   404: "not_found_error", 413: "request_too_large", 429: "rate_limit_error",
                   503: "overloaded_error", 529: "overloaded_error"}


def _loopback_name(host: str) -> bool:
    host = host.strip().lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def loopback_host_header(value: str) -> bool:
    """`Host: 127.0.0.1:8000`, `localhost`, `[::1]:8000` and the like."""
    value = value.strip()
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            return False
        host, rest = value[:end + 1], value[end + 1:]
        if rest and not (rest.startswith(":") and rest[1:].isdigit()):
            return False
        return _loopback_name(host)
    host, sep, port = value.partition(":")
    if sep and not port.isdigit():
        return False
    return _loopback_name(host)


def loopback_origin(value: str) -> bool:
    """An `Origin` of a page served from this machine over http(s) on a loopback address."""
    try:
        parts = urlsplit(value.strip())
        _ = parts.port  # a bad port raises
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or parts.path not in ("", "/") or parts.query or parts.username:
        return False
    return parts.hostname is not None and _loopback_name(parts.hostname)


def anthropic_error(status: int, error: dict[str, Any]) -> dict[str, Any]:
    kind = ANTHROPIC_TYPES.get(status) or ("invalid_request_error" if status < 500 else "api_error")
    return {"type": "error", "error": {"type": kind, "message": str(error.get("message", ""))}}


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers") or ():
        if key == name:
            return value.decode("latin-1")
    return None


def _json_content_type(value: str) -> bool:
    kind = value.split(";")[0].strip().lower()
    return kind == "application/json" or (kind.startswith("application/") and kind.endswith("+json"))


class HttpGuard:
    """ASGI middleware (outermost): origin, host and content-type checks; error shapes; 4xx logging."""

    def __init__(self, app: Callable, api_key: bool = False) -> None:
        self.app = app
        self.api_key = api_key

    def refusal(self, scope: Scope) -> tuple[int, str, str] | None:
        origin = _header(scope, b"origin")
        if origin is not None and not loopback_origin(origin):
            return (403, f"Requests from the web origin {origin[:100]!r} are refused: this server only answers "
                         "clients on this machine (not web pages).", "forbidden_origin")
        host = _header(scope, b"host")
        if not self.api_key and host is not None and not loopback_host_header(host):
            return (403, f"The Host header {host[:100]!r} is not a loopback address: without an API key this "
                         "server only answers requests to 127.0.0.1, localhost or [::1].", "forbidden_host")
        kind = _header(scope, b"content-type")
        if scope["method"] == "POST" and kind is not None and not _json_content_type(kind):
            return (415, f"The request body must be JSON (Content-Type: application/json), not {kind[:100]!r}.",
                    "unsupported_media_type")
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        send = self._wrap(scope, send)
        refused = self.refusal(scope)
        if refused is None:
            await self.app(scope, receive, send)
            return
        status, message, code = refused
        body = json.dumps({"error": {"message": message, "type": "invalid_request_error", "param": None,
                                     "code": code}}).encode()
        await send({"type": "http.response.start", "status": status, "headers": [
            (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
            (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})

    def _wrap(self, scope: Scope, send: Send) -> Send:
        """`send`, but an error response's JSON body is logged (4xx) and reshaped for its API."""
        path = scope.get("path", "")
        held: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def guarded(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                kind = dict(message.get("headers") or []).get(b"content-type", b"")
                if message["status"] >= 400 and kind.startswith(b"application/json"):
                    held["start"] = message
                    return
                await send(message)
                return
            if message["type"] != "http.response.body" or "start" not in held:
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False) and sum(map(len, chunks)) <= MAX_ERROR_BODY:
                return
            start, body = held.pop("start"), b"".join(chunks)
            chunks.clear()
            body = self._reshape(scope, path, start["status"], body)
            headers = [(k, v) for k, v in start.get("headers") or [] if k != b"content-length"]
            headers.append((b"content-length", str(len(body)).encode()))
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": body, "more_body": message.get("more_body", False)})

        return guarded

    def _reshape(self, scope: Scope, path: str, status: int, body: bytes) -> bytes:
        try:
            parsed = json.loads(body)
            error = parsed["error"]
            assert isinstance(error, dict)
        except Exception:  # noqa: BLE001 - not our error shape: pass it on unchanged
            return body
        if 400 <= status < 500:
            log.info("%s %s -> %d: %s", scope.get("method"), path, status, str(error.get("message", ""))[:300])
        if path in RESPONSES_PATHS and isinstance(error.get("param"), str) and error["param"].startswith("messages"):
            error["param"] = "input" + error["param"][len("messages"):]
            error["message"] = str(error.get("message", "")).replace("'messages", "'input")
            return json.dumps(parsed).encode()
        if path in ANTHROPIC_PATHS and parsed.get("type") != "error":
            return json.dumps(anthropic_error(status, error)).encode()
        return body
