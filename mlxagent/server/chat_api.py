"""Chat completions in OpenAI's shapes: the whole response, and SSE chunks for streaming."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

SYSTEM_FINGERPRINT = "mlxagent"


def completion_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex[:24]}"


def _extension(guard: dict[str, Any] | None) -> dict[str, Any]:
    return {"mlxagent": {"guard": guard}} if guard is not None else {}


def completion(cid: str, created: int, model: str, content: str, tool_calls: list[dict[str, Any]],
               finish_reason: str, usage: dict[str, Any], guard: dict[str, Any] | None) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": content if content or not tool_calls else None,
                               "refusal": None}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return {
        "id": cid, "object": "chat.completion", "created": created, "model": model,
        "system_fingerprint": SYSTEM_FINGERPRINT,
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish_reason}],
        "usage": usage, **_extension(guard),
    }


class ChunkWriter:
    """`data: {chat.completion.chunk}` lines for one streamed completion."""

    def __init__(self, model: str) -> None:
        self.id = completion_id()
        self.created = int(time.time())
        self.model = model

    def chunk(self, delta: dict[str, Any], finish_reason: str | None = None, *, usage: dict[str, Any] | None = None,
              choices: bool = True, extra: dict[str, Any] | None = None) -> bytes:
        body: dict[str, Any] = {
            "id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": self.model,
            "system_fingerprint": SYSTEM_FINGERPRINT,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}]
            if choices else [],
        }
        if usage is not None:
            body["usage"] = usage
        if extra:
            body.update(extra)
        return sse(body)

    def role(self) -> bytes:
        return self.chunk({"role": "assistant", "content": ""})

    def content(self, text: str) -> bytes:
        return self.chunk({"content": text})

    def tool_calls(self, calls: list[dict[str, Any]]) -> list[bytes]:
        """One chunk per call: its id, type, name and complete arguments (index says which call)."""
        return [self.chunk({"tool_calls": [{"index": i, "id": c["id"], "type": "function",
                                            "function": {"name": c["function"]["name"],
                                                         "arguments": c["function"]["arguments"]}}]})
                for i, c in enumerate(calls)]

    def finish(self, reason: str, guard: dict[str, Any] | None) -> bytes:
        return self.chunk({}, reason, extra=_extension(guard))

    def usage(self, usage: dict[str, Any]) -> bytes:
        return self.chunk({}, usage=usage, choices=False)


class ChatEvents:
    """A ChunkWriter as a stream of events (start / text / calls / finish / failed) for the
    server's one relay loop (app._relay)."""

    def __init__(self, model: str, include_usage: bool) -> None:
        self.writer = ChunkWriter(model)
        self.include_usage = include_usage

    def start(self) -> list[bytes]:
        return [self.writer.role()]

    def text(self, delta: str) -> list[bytes]:
        return [self.writer.content(delta)]

    def calls(self, calls: list[dict[str, Any]]) -> list[bytes]:
        return self.writer.tool_calls(calls)

    def finish(self, reason: str, usage: dict[str, Any], guard: dict[str, Any] | None) -> list[bytes]:
        out = [self.writer.finish(reason, guard)]
        if self.include_usage:
            out.append(self.writer.usage(usage))
        return out + [DONE]

    def failed(self, error: dict[str, Any]) -> list[bytes]:
        return [sse({"error": error}), DONE]


def sse(body: Any) -> bytes:
    return b"data: " + json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode() + b"\n\n"


def sse_event(kind: str, body: Any) -> bytes:
    """A named server-sent event (`event: KIND` then its data), as the Responses and Messages APIs stream."""
    return f"event: {kind}\n".encode() + sse(body)


DONE = b"data: [DONE]\n\n"
