"""Reading request bodies: at most `server.max_request_bytes` (413 past that, the rest drained so
the client reads the 413), arriving within `body_timeout` seconds of the headers (408 after
that, so a slow-loris body cannot hold a request open), parsed as one JSON object."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from starlette.requests import ClientDisconnect, Request

from .schemas import ApiError, parse_json_object

MAX_DRAIN_BYTES = 64 * 1024 * 1024  # an oversized body is read (and dropped) up to this, so the 413 arrives
BODY_TIMEOUT_SECONDS = 30.0  # a request body must have arrived this long after its headers


async def read_body(request: Request, limit: int, timeout: float = BODY_TIMEOUT_SECONDS) -> bytes:
    """The body, at most `limit` bytes; 413 past that (the rest is drained so the client reads the 413).
    408 when it has not all arrived `timeout` seconds after the headers (a slow-loris body)."""
    deadline = asyncio.get_running_loop().time() + timeout
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            size = int(declared)
        except ValueError:
            raise ApiError(400, "The Content-Length header is not a number.", code="invalid_header") from None
        if size > limit:
            await _drain(request, deadline)
            raise _too_large(limit, size)
    chunks, total = [], 0
    try:
        async with asyncio.timeout_at(deadline):
            async for chunk in request.stream():
                total += len(chunk)
                if total > limit:
                    break
                chunks.append(chunk)
    except TimeoutError:
        raise ApiError(408, f"The request body did not arrive within {timeout:g} seconds of the headers "
                            f"({total} bytes came); send the whole body at once.", code="request_timeout",
                       headers={"Connection": "close"}) from None
    except ClientDisconnect:
        raise ApiError(400, "The client closed the connection before the request body arrived.",
                       code="client_disconnected") from None
    if total > limit:
        await _drain(request, deadline, total)
        raise _too_large(limit)
    return b"".join(chunks)


def _too_large(limit: int, size: int | None = None) -> ApiError:
    got = f" ({size} bytes)" if size is not None else ""
    return ApiError(413, f"The request body is too large{got}: at most {limit} bytes are accepted "
                         "(server.max_request_bytes).", code="request_too_large", headers={"Connection": "close"})


async def _drain(request: Request, deadline: float, seen: int = 0) -> None:
    with contextlib.suppress(Exception):
        async with asyncio.timeout_at(deadline):
            async for chunk in request.stream():
                seen += len(chunk)
                if seen > MAX_DRAIN_BYTES:
                    return


async def json_body(request: Request) -> dict[str, Any]:
    """The request body as a JSON object (within the server's size and time limits)."""
    state = request.app.state.mlxagent
    return parse_json_object(await read_body(request, state.max_request_bytes, state.body_timeout))
