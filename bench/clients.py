"""Capture what real coding-agent clients (Claude Code, Codex, opencode) send to a server.

    python bench/clients.py capture --out DIR [--port 0] [--read-path PATH]

serves on 127.0.0.1 and answers each API with a minimal valid reply: Anthropic Messages
(`POST /v1/messages`), OpenAI Responses (`POST /v1/responses`) and chat completions
(`POST /v1/chat/completions`), streamed when asked. A request that offers a file-reading (or
shell) tool and carries no tool result yet is answered with one call that reads `--read-path`,
so the client's follow-up request carries the tool result; anything else gets a short text.
Every request (method, path, headers, body) is written to DIR as NNN.json.

    python bench/clients.py scrub DIR OUT_PREFIX --replace OLD=NEW ...

copies the captured bodies to OUT_PREFIX_NNN.json with the machine's paths replaced and
credentials dropped (what tests/client_requests/ holds).
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

SECRET_HEADERS = {"authorization", "x-api-key", "cookie", "openai-organization", "openai-project",
                  "chatgpt-account-id"}


def read_call(tools: list[str], path: str) -> tuple[str, dict] | None:
    """The (tool, arguments) that reads `path` with one of the offered tools, if any."""
    by_name = {t: t for t in tools}
    if "Read" in by_name:
        return "Read", {"file_path": path}
    if "read" in by_name:
        return "read", {"filePath": path}
    if "read_file" in by_name:
        return "read_file", {"path": path}
    if "shell" in by_name:
        return "shell", {"command": ["cat", path]}
    if "shell_command" in by_name:
        return "shell_command", {"command": f"cat {path}"}
    if "exec_command" in by_name:
        return "exec_command", {"cmd": f"cat {path}"}
    return None


def tool_names(body: dict) -> list[str]:
    names = []
    for t in body.get("tools") or []:
        if isinstance(t, dict):
            names.append(t.get("name") or (t.get("function") or {}).get("name") or t.get("type") or "")
    return names


def has_tool_result(body: dict) -> bool:
    text = json.dumps(body.get("messages") or body.get("input") or [])
    return any(k in text for k in ('"tool_result"', '"function_call_output"', '"role": "tool"'))


class Capture:
    def __init__(self, out: Path, read_path: str) -> None:
        self.out = out
        self.read_path = read_path
        self.counter = itertools.count(1)
        self.lock = threading.Lock()
        out.mkdir(parents=True, exist_ok=True)

    def record(self, method: str, path: str, headers: dict, raw: bytes) -> dict | None:
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = {"_raw": raw.decode("utf-8", "replace")[:2000]}
        with self.lock:
            n = next(self.counter)
        entry = {"method": method, "path": path,
                 "headers": {k.lower(): ("<scrubbed>" if k.lower() in SECRET_HEADERS else v) for k, v in headers.items()},
                 "body": body}
        (self.out / f"{n:03d}.json").write_text(json.dumps(entry, indent=1))
        print(f"captured {n:03d} {method} {path} tools={tool_names(body) if isinstance(body, dict) else []}",
              flush=True)
        return body if isinstance(body, dict) else None

    def decide(self, body: dict) -> tuple[str, dict] | None:
        if has_tool_result(body):
            return None
        return read_call(tool_names(body), self.read_path)


def sse(events: list[tuple[str | None, dict | str]]) -> bytes:
    out = []
    for name, data in events:
        payload = data if isinstance(data, str) else json.dumps(data)
        out.append((f"event: {name}\n" if name else "") + f"data: {payload}\n\n")
    return "".join(out).encode()


TEXT = "Done: the file says hello."


def anthropic_reply(body: dict, call: tuple[str, dict] | None) -> tuple[str, bytes]:
    model = body.get("model", "m")
    usage = {"input_tokens": 10, "output_tokens": 5, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}
    if call:
        block = {"type": "tool_use", "id": "toolu_01", "name": call[0], "input": call[1]}
        stop = "tool_use"
    else:
        block = {"type": "text", "text": TEXT}
        stop = "end_turn"
    message = {"id": "msg_01", "type": "message", "role": "assistant", "model": model, "content": [block],
               "stop_reason": stop, "stop_sequence": None, "usage": usage}
    if not body.get("stream"):
        return "application/json", json.dumps(message).encode()
    start = dict(message, content=[], stop_reason=None, usage=dict(usage, output_tokens=1))
    if call:
        first = dict(block, input={})
        delta = {"type": "input_json_delta", "partial_json": json.dumps(call[1])}
    else:
        first = {"type": "text", "text": ""}
        delta = {"type": "text_delta", "text": TEXT}
    return "text/event-stream", sse([
        ("message_start", {"type": "message_start", "message": start}),
        ("content_block_start", {"type": "content_block_start", "index": 0, "content_block": first}),
        ("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": delta}),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        ("message_delta", {"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None},
                           "usage": {"output_tokens": 5}}),
        ("message_stop", {"type": "message_stop"}),
    ])


def responses_reply(body: dict, call: tuple[str, dict] | None) -> tuple[str, bytes]:
    if call:
        item = {"type": "function_call", "id": "fc_01", "call_id": "call_01", "name": call[0],
                "arguments": json.dumps(call[1]), "status": "completed"}
    else:
        item = {"type": "message", "id": "msg_01", "role": "assistant", "status": "completed",
                "content": [{"type": "output_text", "text": TEXT, "annotations": []}]}
    usage = {"input_tokens": 10, "input_tokens_details": {"cached_tokens": 0}, "output_tokens": 5,
             "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 15}
    response = {"id": "resp_01", "object": "response", "created_at": 0, "status": "completed",
                "model": body.get("model", "m"), "output": [item], "usage": usage}
    if not body.get("stream"):
        return "application/json", json.dumps(response).encode()
    pending = dict(response, status="in_progress", output=[], usage=None)
    events = [("response.created", {"type": "response.created", "response": pending}),
              ("response.output_item.added", {"type": "response.output_item.added", "output_index": 0,
                                              "item": dict(item, status="in_progress")})]
    if not call:
        events.append(("response.output_text.delta", {"type": "response.output_text.delta", "item_id": "msg_01",
                                                      "output_index": 0, "content_index": 0, "delta": TEXT}))
    events += [("response.output_item.done", {"type": "response.output_item.done", "output_index": 0, "item": item}),
               ("response.completed", {"type": "response.completed", "response": response})]
    return "text/event-stream", sse(events)


def chat_reply(body: dict, call: tuple[str, dict] | None) -> tuple[str, bytes]:
    model = body.get("model", "m")
    usage = {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
    if call:
        tc = {"id": "call_01", "type": "function", "function": {"name": call[0], "arguments": json.dumps(call[1])}}
        message, finish = {"role": "assistant", "content": None, "tool_calls": [tc]}, "tool_calls"
    else:
        message, finish = {"role": "assistant", "content": TEXT}, "stop"
    if not body.get("stream"):
        return "application/json", json.dumps({
            "id": "chatcmpl-01", "object": "chat.completion", "created": 0, "model": model,
            "choices": [{"index": 0, "message": message, "finish_reason": finish}], "usage": usage}).encode()

    def chunk(delta: dict, finish_reason: str | None = None, **extra) -> dict:
        return {"id": "chatcmpl-01", "object": "chat.completion.chunk", "created": 0, "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}], **extra}

    events: list = [(None, chunk({"role": "assistant", "content": ""}))]
    if call:
        events.append((None, chunk({"tool_calls": [dict(tc, index=0)]})))
    else:
        events.append((None, chunk({"content": TEXT})))
    events.append((None, chunk({}, finish)))
    if (body.get("stream_options") or {}).get("include_usage"):
        events.append((None, {"id": "chatcmpl-01", "object": "chat.completion.chunk", "created": 0, "model": model,
                              "choices": [], "usage": usage}))
    events.append((None, "[DONE]"))
    return "text/event-stream", sse(events)


def handler_for(capture: Capture) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:
            pass

        def _answer(self, status: int, ctype: str, data: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _handle(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.headers.get("Content-Encoding") == "gzip":
                raw = gzip.decompress(raw)
            body = capture.record(self.command, self.path, dict(self.headers), raw)
            route = self.path.split("?")[0].rstrip("/")
            if self.command == "GET" and route.endswith("/models"):
                return self._answer(200, "application/json", json.dumps(
                    {"object": "list", "data": [{"id": "scripted", "object": "model", "created": 0,
                                                 "owned_by": "capture"}]}).encode())
            replies = {"/v1/messages": anthropic_reply, "/v1/responses": responses_reply,
                       "/v1/chat/completions": chat_reply, "/responses": responses_reply,
                       "/chat/completions": chat_reply}
            if self.command == "POST" and route in replies and body is not None:
                return self._answer(200, *replies[route](body, capture.decide(body)))
            if route.endswith("/count_tokens"):
                return self._answer(200, "application/json", b'{"input_tokens": 10}')
            self._answer(404, "application/json", json.dumps({"error": {"message": "not here"}}).encode())

        do_GET = do_POST = do_HEAD = do_PUT = do_DELETE = _handle

    return Handler


def scrub(src: Path, prefix: Path, replace: list[str]) -> None:
    pairs = [tuple(r.split("=", 1)) for r in replace]
    for f in sorted(src.glob("*.json")):
        text = f.read_text()
        for old, new in pairs:
            text = text.replace(old, new).replace(json.dumps(old)[1:-1], new)
        entry = json.loads(text)
        if len(json.dumps(entry)) > 200_000:
            print(f"{f.name}: over 200 KB, check by hand", file=sys.stderr)
        out = prefix.parent / f"{prefix.name}_{f.stem}.json"
        out.write_text(json.dumps(entry, indent=1, ensure_ascii=False) + "\n")
        print(f"wrote {out}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    cap = sub.add_parser("capture")
    cap.add_argument("--out", type=Path, required=True)
    cap.add_argument("--port", type=int, default=0)
    cap.add_argument("--read-path", default="hello.txt")
    sc = sub.add_parser("scrub")
    sc.add_argument("src", type=Path)
    sc.add_argument("prefix", type=Path)
    sc.add_argument("--replace", action="append", default=[])
    args = parser.parse_args(argv)
    if args.cmd == "scrub":
        scrub(args.src, args.prefix, args.replace)
        return 0
    server = ThreadingHTTPServer(("127.0.0.1", args.port), handler_for(Capture(args.out, args.read_path)))
    print(f"capturing on http://127.0.0.1:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
