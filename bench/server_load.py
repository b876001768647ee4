"""`mlxagent serve` under load and faults, on loopback only, bounded in time and count.

    .venv/bin/python bench/server_load.py [--duration 300] [--clients 16] [--json PATH]

Starts `mlxagent serve --host 127.0.0.1 --port 0` in a subprocess with its own MLXAGENT_HOME
(only the default model's GGUF in its download cache, the hub unreachable), an API key, a
small request limit and a prompt-cache budget, installs SmolLM2-135M through the API, then for
`--duration` seconds runs `--clients` client threads that mix:

* plain, streaming, tool (auto) and forced tool_choice (required / named) chat requests, on a
  system prompt all clients share and per-client conversations that grow for a few turns;
* a quarter of the streams disconnecting after their first content chunk;
* malformed JSON, wrong field types, unknown models, oversized bodies and requests without the
  API key, interleaved; and one slow-loris body at a time (a byte a second until the server's
  body timeout answers 408).

Meanwhile a monitor polls `GET /health` (latency while the model is generating) and the
server's RSS. Figures: requests served by kind, statuses, 5xx other than 503 (queue full),
crashes (the server exiting, tracebacks in its log), /health p50/p95, RSS before/after against
the configured cache budget, and the prompt-cache hit rate from `GET /v1/stats`. Every loop
stops by itself at the deadline; requests still in flight then end within their timeouts.
Exit status 0 when every check holds.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, write_results  # noqa: E402

import httpx  # noqa: E402

HOST = "127.0.0.1"
MODEL = "smollm2-135m"
MAX_REQUEST_BYTES = 262_144
BODY_TIMEOUT_S = 30.0  # the server's (mlxagent.server.app.BODY_TIMEOUT_SECONDS)
SHARED_SYSTEM = (
    "You are a concise assistant for a small software team. Answer in one short sentence. "
    "The team works on a Python command line tool that talks to a local language model over an "
    "OpenAI-compatible HTTP API; questions are about geography, cooking, weather or time zones, "
    "and you never use more words than needed. If a tool fits the question, call it."
)
QUESTIONS = [
    "What is the capital of France?", "Name a fruit that is yellow.", "What is two plus two?",
    "Which ocean is the largest?", "What colour is the sky on a clear day?", "Name a city in Japan.",
    "What do bees make?", "How many days are in a week?",
]
WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "Get the current weather for a city",
    "parameters": {"type": "object", "properties": {
        "city": {"type": "string", "maxLength": 30},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
        "required": ["city", "unit"]}}}
TIME = {"type": "function", "function": {
    "name": "get_time", "description": "Get the local time in a timezone",
    "parameters": {"type": "object", "properties": {"timezone": {"type": "string", "maxLength": 30}},
                   "required": ["timezone"]}}}
TOOL_QUESTIONS = ["What is the weather in Paris?", "What time is it in Tokyo?", "Is it raining in Oslo?"]
BAD_TYPES = [
    {"model": MODEL, "messages": [{"role": "user", "content": "hi"}], "max_tokens": "ten"},
    {"model": MODEL, "messages": "hi"},
    {"model": MODEL, "messages": [{"role": "user", "content": "hi"}], "temperature": True},
    {"model": 7, "messages": [{"role": "user", "content": "hi"}]},
    {"model": MODEL, "messages": [{"role": "user", "content": "hi"}], "tools": {"a": 1}},
]
MALFORMED = [b'{"model": "smollm2-135m", "messages": [', b"[1, 2, 3]", b"", b'{"model": NaN}', b"\xff\xfe{"]
# kind -> weight in the mix
MIX = {"plain": 24, "stream": 22, "tool_auto": 10, "tool_forced": 12, "malformed_json": 6, "wrong_type": 6,
       "unknown_model": 6, "oversized": 4, "no_api_key": 5}
EXPECTED = {"malformed_json": {400}, "wrong_type": {400}, "unknown_model": {404}, "oversized": {413},
            "no_api_key": {401}, "slow_loris": {408}}
GENERATING = {"plain", "stream", "tool_auto", "tool_forced"}


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def rss_bytes(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        return None
    return None


class Recorder:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.rows: list[dict] = []
        self.unexpected: list[dict] = []

    def add(self, kind: str, status: int | None, latency: float, *, ok: bool, note: str = "", **extra) -> None:
        row = {"kind": kind, "status": status, "latency": latency, "ok": ok, "note": note, **extra}
        with self.lock:
            self.rows.append(row)
            if not ok and len(self.unexpected) < 50:
                self.unexpected.append(row)


class ServerProcess:
    def __init__(self, home: Path, key: str) -> None:
        env = {**os.environ, "MLXAGENT_HOME": str(home), "MLXAGENT_HF_ENDPOINT": "http://127.0.0.1:9",
               "PIP_NO_INDEX": "1", "HF_HUB_OFFLINE": "1", "MLXAGENT_API_KEY": key}
        self.proc = subprocess.Popen([sys.executable, "-m", "mlxagent", "serve", "--host", HOST, "--port", "0"],
                                     cwd=str(ROOT), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     text=True)
        self.log: collections.deque[str] = collections.deque(maxlen=4000)
        self.counts = collections.Counter()
        self.url: str | None = None
        self._ready = threading.Event()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.log.append(line)
            if "Traceback" in line:
                self.counts["tracebacks"] += 1
            if line.startswith(("ERROR", "CRITICAL")):
                self.counts["error_lines"] += 1
            if m := re.search(r"serving on (http://127\.0\.0\.1:\d+)/v1", line):
                self.url = m.group(1)
                self._ready.set()
        self._ready.set()

    def wait_ready(self, timeout: float) -> str:
        if not self._ready.wait(timeout) or self.url is None:
            raise SystemExit("the server did not start:\n" + "".join(self.log))
        return self.url

    @property
    def port(self) -> int:
        assert self.url is not None
        return int(self.url.rsplit(":", 1)[1])

    def stop(self) -> int | None:
        code = self.proc.poll()
        if code is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        return code  # None: it was still running when asked to stop (no crash)


# ---------------------------------------------------------------- one client
class Client:
    def __init__(self, index: int, url: str, key: str, args, deadline: float, rec: Recorder) -> None:
        self.index = index
        self.rng = random.Random(args.seed * 1000 + index)
        auth = {"Authorization": f"Bearer {key}"} if index % 2 == 0 else {"x-api-key": key}
        timeout = httpx.Timeout(args.request_timeout, connect=10)
        self.http = httpx.Client(base_url=url, headers=auth, timeout=timeout)
        self.anonymous = httpx.Client(base_url=url, timeout=timeout)
        self.args = args
        self.deadline = deadline
        self.rec = rec
        self.conversation: list[dict] = []
        self.streams = 0

    def run(self) -> None:
        kinds, weights = zip(*MIX.items())
        done = 0
        try:
            while time.monotonic() < self.deadline and done < self.args.max_requests_per_client:
                kind = self.rng.choices(kinds, weights)[0]
                started = time.perf_counter()
                try:
                    status, ok, note, extra = getattr(self, kind)()
                except httpx.HTTPError as e:
                    status, ok, note, extra = None, False, f"{type(e).__name__}: {e}"[:200], {}
                self.rec.add(kind, status, time.perf_counter() - started, ok=ok, note=note, **extra)
                done += 1
                if status == 503:
                    time.sleep(self.rng.uniform(0.2, 0.6))  # queue full: back off a little
        finally:
            self.http.close()
            self.anonymous.close()

    # ------------------------------------------------ helpers
    def _messages(self) -> list[dict]:
        if len(self.conversation) >= 7 or not self.conversation:  # a few turns, then a new conversation
            self.conversation = [{"role": "system", "content": SHARED_SYSTEM}]
        return self.conversation + [{"role": "user", "content": self.rng.choice(QUESTIONS)}]

    def _chat_status(self, response: httpx.Response) -> tuple[int, bool, str]:
        if response.status_code == 200:
            return 200, True, ""
        if response.status_code == 503 and _error_code(response) in ("server_busy", "shutting_down"):
            return 503, True, "queue full"
        return response.status_code, False, response.text[:300]

    # ------------------------------------------------ the mix
    def plain(self):
        messages = self._messages()
        r = self.http.post("/v1/chat/completions", json={"model": MODEL, "messages": messages,
                                                         "max_tokens": self.args.max_tokens})
        status, ok, note = self._chat_status(r)
        extra = {}
        if status == 200:
            body = r.json()
            content = body["choices"][0]["message"]["content"] or ""
            usage = body["usage"]
            extra = {"prompt_tokens": usage["prompt_tokens"],
                     "cached_tokens": usage["prompt_tokens_details"]["cached_tokens"]}
            self.conversation = messages + [{"role": "assistant", "content": content}]
        return status, ok, note, extra

    def stream(self):
        self.streams += 1
        disconnect = self.rng.random() < self.args.disconnect_fraction
        messages = self._messages()
        body = {"model": MODEL, "messages": messages, "max_tokens": self.args.max_tokens, "stream": True,
                "stream_options": {"include_usage": True}}
        with self.http.stream("POST", "/v1/chat/completions", json=body) as r:
            if r.status_code != 200:
                r.read()
                status, ok, note = self._chat_status(r)
                return status, ok, note, {}
            text, done, errors = [], False, []
            for line in r.iter_lines():
                if not line.startswith("data: "):
                    continue
                data = line[6:]
                if data == "[DONE]":
                    done = True
                    break
                event = json.loads(data)
                if "error" in event:
                    errors.append(event["error"])
                    continue
                if event.get("choices") and event["choices"][0]["delta"].get("content"):
                    text.append(event["choices"][0]["delta"]["content"])
                    if disconnect:
                        break  # leaving the block closes the connection mid-stream
        if disconnect:
            return 200, not errors, "disconnected mid-stream", {"disconnected": True}
        if errors or not done:
            return 200, False, f"stream ended without [DONE] or with an error: {errors[:1]}", {}
        self.conversation = messages + [{"role": "assistant", "content": "".join(text)}]
        return 200, True, "", {}

    def tool_auto(self):
        body = {"model": MODEL, "max_tokens": self.args.tool_max_tokens, "tools": [WEATHER, TIME],
                "messages": [{"role": "system", "content": SHARED_SYSTEM},
                             {"role": "user", "content": self.rng.choice(TOOL_QUESTIONS)}]}
        r = self.http.post("/v1/chat/completions", json=body)
        status, ok, note = self._chat_status(r)
        extra = {}
        if status == 200:
            choice = r.json()["choices"][0]
            calls = choice["message"].get("tool_calls") or []
            extra = {"tool_calls": len(calls), "valid_calls": sum(_valid_call(c) for c in calls)}
        return status, ok, note, extra

    def tool_forced(self):
        named = self.rng.random() < 0.5
        choice = {"type": "function", "function": {"name": "get_time"}} if named else "required"
        body = {"model": MODEL, "max_tokens": self.args.tool_max_tokens, "tools": [WEATHER, TIME],
                "tool_choice": choice,
                "messages": [{"role": "system", "content": SHARED_SYSTEM},
                             {"role": "user", "content": self.rng.choice(TOOL_QUESTIONS)}]}
        r = self.http.post("/v1/chat/completions", json=body)
        status, ok, note = self._chat_status(r)
        extra = {}
        if status == 200:
            c = r.json()["choices"][0]
            calls = c["message"].get("tool_calls") or []
            valid = sum(_valid_call(x) and (not named or x["function"]["name"] == "get_time") for x in calls)
            extra = {"tool_calls": len(calls), "valid_calls": valid, "finish_reason": c["finish_reason"]}
        return status, ok, note, extra

    def malformed_json(self):
        r = self.http.post("/v1/chat/completions", content=self.rng.choice(MALFORMED),
                           headers={"Content-Type": "application/json"})
        return _expect(r, 400, "invalid_json")

    def wrong_type(self):
        r = self.http.post("/v1/chat/completions", json=self.rng.choice(BAD_TYPES))
        return _expect(r, 400, None)

    def unknown_model(self):
        r = self.http.post("/v1/chat/completions", json={"model": f"no-such-model-{self.rng.randrange(1000)}",
                                                         "messages": [{"role": "user", "content": "hi"}]})
        return _expect(r, 404, "model_not_found")

    def oversized(self):
        big = json.dumps({"model": MODEL, "messages": [{"role": "user", "content": "x" * MAX_REQUEST_BYTES}]})
        r = self.http.post("/v1/chat/completions", content=big, headers={"Content-Type": "application/json"})
        return _expect(r, 413, "request_too_large")

    def no_api_key(self):
        path = self.rng.choice(["/v1/models", "/v1/stats", "/v1/chat/completions"])
        if path.endswith("completions"):
            r = self.anonymous.post(path, json={"model": MODEL, "messages": [{"role": "user", "content": "hi"}]})
        else:
            r = self.anonymous.get(path)
        return _expect(r, 401, "missing_api_key")


def _error_code(response: httpx.Response) -> str | None:
    try:
        return response.json()["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return None


def _expect(response: httpx.Response, status: int, code: str | None):
    ok = response.status_code == status and _error_code(response) is not None
    if code is not None:
        ok = ok and _error_code(response) == code
    return response.status_code, ok, "" if ok else response.text[:300], {}


def _valid_call(call: dict) -> bool:
    try:
        arguments = json.loads(call["function"]["arguments"])
    except (KeyError, TypeError, ValueError):
        return False
    return isinstance(arguments, dict) and call["function"]["name"] in ("get_weather", "get_time")


# ---------------------------------------------------------------- slow-loris, health, memory
def slow_loris(port: int, key: str, deadline: float, rec: Recorder, limit: int) -> None:
    """One slow body at a time: headers, then a byte a second, until the server answers (408)."""
    body = json.dumps({"model": MODEL, "messages": [{"role": "user", "content": "hi"}]}).encode()
    head = (f"POST /v1/chat/completions HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: application/json\r\n"
            f"Authorization: Bearer {key}\r\nContent-Length: {len(body)}\r\n\r\n").encode()
    for _ in range(limit):
        if deadline - time.monotonic() < BODY_TIMEOUT_S + 5:
            return
        started = time.perf_counter()
        status, note = None, ""
        try:
            with socket.create_connection((HOST, port), timeout=BODY_TIMEOUT_S + 30) as sock:
                sock.sendall(head)
                sock.settimeout(1.0)
                data = b""
                for byte in body[: len(body) - 1]:  # never the last byte
                    try:
                        sock.sendall(bytes([byte]))
                        chunk = sock.recv(65536)  # the answer, or a 1 s wait (the trickle's pace)
                    except socket.timeout:
                        continue
                    except OSError:
                        break
                    if not chunk:
                        break
                    data += chunk
                    break
                sock.settimeout(BODY_TIMEOUT_S + 30)
                while chunk := _recv(sock):
                    data += chunk
            first = data.split(b"\r\n", 1)[0].decode(errors="replace")
            status = int(first.split()[1]) if first.startswith("HTTP/") else None
            ok = status == 408 and b'"request_timeout"' in data
            note = "" if ok else data[:300].decode(errors="replace")
        except OSError as e:
            ok, note = False, f"{type(e).__name__}: {e}"
        rec.add("slow_loris", status, time.perf_counter() - started, ok=ok, note=note)


def _recv(sock: socket.socket) -> bytes:
    try:
        return sock.recv(65536)
    except OSError:
        return b""


def monitor(url: str, pid: int, deadline: float, interval: float, health: list, rss: list) -> None:
    with httpx.Client(base_url=url, timeout=10) as http:
        next_rss = 0.0
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                r = http.get("/health")
                latency = time.perf_counter() - started
                body = r.json()
                health.append((latency, bool(body.get("busy")), r.status_code))
            except (httpx.HTTPError, ValueError):
                health.append((time.perf_counter() - started, False, None))
            if time.monotonic() >= next_rss:
                if (value := rss_bytes(pid)) is not None:
                    rss.append(value)
                next_rss = time.monotonic() + 1.0
            time.sleep(interval)


# ---------------------------------------------------------------- setup and the run
def provision_gguf() -> Path:
    from mlxagent.model import default_model

    path = default_model.gguf_path()
    if not path.is_file():
        default_model.ensure()
    if not path.is_file():
        raise SystemExit(f"the default model's GGUF is not at {path}; run `mlxagent models pull` first")
    return path


def make_home(gguf: Path, args) -> Path:
    home = Path(tempfile.mkdtemp(prefix="mlxagent-server-load-"))
    downloads = home / "cache" / "downloads"
    downloads.mkdir(parents=True)
    (downloads / gguf.name).symlink_to(gguf)
    (home / "config").mkdir()
    (home / "config" / "config.toml").write_text(
        f"[server]\nmax_request_bytes = {MAX_REQUEST_BYTES}\nmax_queue = {args.max_queue}\n"
        f"cache_sessions = {args.cache_sessions}\ncache_mb = {args.cache_mb}\n")
    return home


def wait_idle(http: httpx.Client, timeout: float) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            health = http.get("/health").json()
            if not health["busy"] and health["queued"] == 0:
                return
        except (httpx.HTTPError, ValueError, KeyError):
            pass
        time.sleep(0.5)


def run(args) -> dict:
    key = "sk-load-" + secrets.token_hex(16)
    gguf = provision_gguf()
    home = make_home(gguf, args)
    server = ServerProcess(home, key)
    try:
        url = server.wait_ready(180)
        pid = server.proc.pid
        http = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=300)
        job = http.post("/v1/models/install", json={"model_id": MODEL}).json()
        job = http.get(f"/v1/models/install/{job['id']}", params={"wait": 120}).json()
        if job["status"] != "succeeded":
            raise SystemExit(f"installing {MODEL} failed: {job}")
        warm = [{"role": "system", "content": SHARED_SYSTEM}, {"role": "user", "content": QUESTIONS[0]}]
        http.post("/v1/chat/completions", json={"model": MODEL, "messages": warm, "max_tokens": args.max_tokens})
        http.post("/v1/chat/completions", json={"model": MODEL, "messages": warm, "tools": [WEATHER, TIME],
                                                "tool_choice": "required", "max_tokens": args.tool_max_tokens})
        stats_before = http.get("/v1/stats").json()
        rss_before = rss_bytes(pid)

        rec = Recorder()
        health: list = []
        rss: list = []
        started = time.monotonic()
        deadline = started + args.duration
        threads = [threading.Thread(target=Client(i, url, key, args, deadline, rec).run, name=f"client-{i}")
                   for i in range(args.clients)]
        threads.append(threading.Thread(target=monitor, args=(url, pid, deadline, args.health_interval,
                                                              health, rss)))
        threads.append(threading.Thread(target=slow_loris, args=(server.port, key, deadline, rec,
                                                                 int(args.duration // BODY_TIMEOUT_S) + 1)))
        for t in threads:
            t.start()
        for t in threads:
            t.join(args.duration + args.request_timeout + 60)
        hung = [t.name for t in threads if t.is_alive()]
        load_seconds = time.monotonic() - started

        wait_idle(http, 120)
        alive = server.proc.poll() is None
        stats_after = http.get("/v1/stats").json() if alive else {}
        rss_after = rss_bytes(pid)
        check = http.post("/v1/chat/completions", json={"model": MODEL, "max_tokens": 12, "messages": [
            {"role": "user", "content": "What is the capital of France?"}]}) if alive else None
        http.close()
    finally:
        exit_code = server.stop()
        shutil.rmtree(home, ignore_errors=True)

    return summarise(args, rec, health, rss, rss_before, rss_after, stats_before, stats_after, server, exit_code,
                     alive, hung, load_seconds, check)


def summarise(args, rec, health, rss, rss_before, rss_after, stats_before, stats_after, server, exit_code, alive,
              hung, load_seconds, check) -> dict:
    rows = rec.rows
    by_kind: dict[str, dict] = {}
    for kind in [*MIX, "slow_loris"]:
        mine = [r for r in rows if r["kind"] == kind]
        served = [r for r in mine if r["status"] == 200 and r["ok"]]
        by_kind[kind] = {
            "requests": len(mine), "ok": sum(r["ok"] for r in mine), "served_200": len(served),
            "statuses": dict(collections.Counter(str(r["status"]) for r in mine)),
            "latency_p50_s": _round(percentile([r["latency"] for r in served or mine], 0.5)),
            "latency_p95_s": _round(percentile([r["latency"] for r in served or mine], 0.95)),
        }
    streams = [r for r in rows if r["kind"] == "stream"]
    tools = [r for r in rows if r["kind"] in ("tool_auto", "tool_forced") and r["status"] == 200]
    forced = [r for r in tools if r["kind"] == "tool_forced"]
    plain = [r for r in rows if r["kind"] == "plain" and r["status"] == 200]
    statuses = collections.Counter(r["status"] for r in rows)
    bad_5xx = sum(n for s, n in statuses.items() if s is not None and s >= 500 and s != 503)
    busy = [h[0] for h in health if h[1]]
    every = [h[0] for h in health]
    generated = sum(by_kind[k]["served_200"] for k in GENERATING)
    budget = args.cache_mb * 1024 * 1024
    growth = (rss_after - rss_before) if rss_after is not None and rss_before is not None else None
    pool = stats_after.get("prompt_cache", {})
    totals_after, totals_before = stats_after.get("totals", {}), stats_before.get("totals", {})

    def delta(key: str) -> int:
        return totals_after.get(key, 0) - totals_before.get(key, 0)

    results = {
        "config": {"duration_s": args.duration, "clients": args.clients, "max_tokens": args.max_tokens,
                   "tool_max_tokens": args.tool_max_tokens, "max_queue": args.max_queue,
                   "cache_sessions": args.cache_sessions, "cache_mb": args.cache_mb,
                   "disconnect_fraction": args.disconnect_fraction, "seed": args.seed, "model": MODEL,
                   "load_seconds": round(load_seconds, 1)},
        "requests": {"total": len(rows), "ok_as_expected": sum(r["ok"] for r in rows),
                     "unexpected": len([r for r in rows if not r["ok"]]), "generations_served": generated,
                     "served_per_minute": round(generated / load_seconds * 60, 1) if load_seconds else None,
                     "statuses": {str(k): v for k, v in sorted(statuses.items(), key=lambda kv: str(kv[0]))},
                     "5xx_other_than_503": bad_5xx, "503_queue_full": statuses.get(503, 0),
                     "transport_errors": statuses.get(None, 0)},
        "by_kind": by_kind,
        "streams": {"total": len(streams),
                    "disconnected_mid_stream": sum(bool(r.get("disconnected")) for r in streams)},
        "tools": {"responses": len(tools), "with_valid_calls": sum(r.get("valid_calls", 0) > 0 for r in tools),
                  "forced_responses": len(forced),
                  "forced_with_valid_call": sum(r.get("valid_calls", 0) > 0 for r in forced)},
        "server": {"alive_after": alive, "exit_code_before_stop": exit_code, "hung_client_threads": hung,
                   "tracebacks_in_log": server.counts["tracebacks"], "error_lines_in_log": server.counts["error_lines"],
                   "answers_after": bool(check is not None and check.status_code == 200
                                         and "Paris" in check.json()["choices"][0]["message"]["content"])},
        "health": {"samples": len(every), "samples_while_generating": len(busy),
                   "p50_ms_while_generating": _ms(percentile(busy, 0.5)),
                   "p95_ms_while_generating": _ms(percentile(busy, 0.95)),
                   "max_ms_while_generating": _ms(max(busy) if busy else None),
                   "p50_ms_all": _ms(percentile(every, 0.5)), "p95_ms_all": _ms(percentile(every, 0.95)),
                   "non_200": sum(1 for h in health if h[2] != 200)},
        "memory": {"rss_before_mb": _mb(rss_before), "rss_after_mb": _mb(rss_after),
                   "rss_max_during_mb": _mb(max(rss) if rss else None), "growth_mb": _mb(growth),
                   "cache_budget_mb": args.cache_mb,
                   "pool_bytes_after_mb": _mb(pool.get("bytes")), "pool_sessions_after": pool.get("sessions")},
        "prompt_cache": {"hit_rate_sessions": stats_after.get("cache_hit_rate", {}).get("sessions"),
                         "hit_rate_tokens_whole_run": stats_after.get("cache_hit_rate", {}).get("tokens"),
                         "hit_rate_tokens_load_phase": round(delta("cached_tokens") / delta("prompt_tokens"), 4)
                         if delta("prompt_tokens") else None,
                         "pool": {k: pool.get(k) for k in ("reused", "forked", "new", "evicted", "dropped_oversized")},
                         "plain_requests_with_cached_tokens": sum(r.get("cached_tokens", 0) > 0 for r in plain),
                         "server_totals_delta": {k: delta(k) for k in ("requests", "completed", "cancelled", "failed",
                                                                       "prompt_tokens", "cached_tokens",
                                                                       "generated_tokens")}},
        "unexpected_samples": rec.unexpected[:10],
    }
    results["checks"] = {
        "no_crash": alive and exit_code is None and not hung,
        "no_unexpected_responses": results["requests"]["unexpected"] == 0,
        "no_5xx_but_503": bad_5xx == 0,
        "no_tracebacks": server.counts["tracebacks"] == 0,
        "health_p95_under_100ms": (results["health"]["p95_ms_while_generating"] or 0) < 100,
        "rss_growth_within_cache_budget": growth is not None and growth <= budget,
        "answers_after": results["server"]["answers_after"],
    }
    return results


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 3)


def _ms(x: float | None) -> float | None:
    return None if x is None else round(x * 1000, 1)


def _mb(x: int | None) -> float | None:
    return None if x is None else round(x / 1024 / 1024, 1)


def show(results: dict) -> None:
    c, q, h, m, p = (results[k] for k in ("config", "requests", "health", "memory", "prompt_cache"))
    print(f"\nmlxagent serve under load: {c['clients']} clients for {c['duration_s']} s "
          f"({c['load_seconds']} s with the last in-flight requests), {c['model']}, max_tokens {c['max_tokens']} "
          f"(tools {c['tool_max_tokens']}), max_queue {c['max_queue']}, cache {c['cache_sessions']} sessions / "
          f"{c['cache_mb']} MB")
    print(f"requests {q['total']}: {q['ok_as_expected']} as expected, {q['unexpected']} unexpected; "
          f"generations served {q['generations_served']} ({q['served_per_minute']}/min); statuses {q['statuses']}")
    print(f"{'kind':<16}{'requests':>9}{'ok':>6}{'200':>6}{'p50 s':>8}{'p95 s':>8}  statuses")
    for kind, k in results["by_kind"].items():
        print(f"{kind:<16}{k['requests']:>9}{k['ok']:>6}{k['served_200']:>6}{k['latency_p50_s'] or 0:>8.2f}"
              f"{k['latency_p95_s'] or 0:>8.2f}  {k['statuses']}")
    s, t, srv = results["streams"], results["tools"], results["server"]
    print(f"streams {s['total']}, {s['disconnected_mid_stream']} disconnected mid-stream; tool responses "
          f"{t['responses']} ({t['with_valid_calls']} with valid calls; forced {t['forced_with_valid_call']}/"
          f"{t['forced_responses']})")
    print(f"5xx other than 503: {q['5xx_other_than_503']}; 503 queue full: {q['503_queue_full']}; server alive "
          f"after: {srv['alive_after']}; tracebacks in its log: {srv['tracebacks_in_log']}")
    print(f"/health while generating: p50 {h['p50_ms_while_generating']} ms, p95 {h['p95_ms_while_generating']} ms, "
          f"max {h['max_ms_while_generating']} ms ({h['samples_while_generating']} of {h['samples']} samples)")
    print(f"RSS before {m['rss_before_mb']} MB, after {m['rss_after_mb']} MB (growth {m['growth_mb']} MB, max "
          f"{m['rss_max_during_mb']} MB; cache budget {m['cache_budget_mb']} MB, pool {m['pool_bytes_after_mb']} MB "
          f"in {m['pool_sessions_after']} sessions)")
    print(f"prompt cache: {p['hit_rate_sessions']} of generations started from a kept cache; "
          f"{p['hit_rate_tokens_load_phase']} of prompt tokens reused during the load; pool {p['pool']}")
    print("checks: " + ", ".join(f"{k} {'ok' if v else 'FAILED'}" for k, v in results["checks"].items()))
    for row in results["unexpected_samples"][:5]:
        print(f"  unexpected: {row['kind']} {row['status']}: {row['note'][:160]}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--duration", type=float, default=300.0, help="seconds of load (default 300)")
    p.add_argument("--clients", type=int, default=16, help="client threads (default 16)")
    p.add_argument("--max-tokens", type=int, default=8, help="max_tokens of plain and streamed requests")
    p.add_argument("--tool-max-tokens", type=int, default=40, help="max_tokens of tool requests")
    p.add_argument("--max-queue", type=int, default=8, help="server.max_queue (503 beyond it)")
    p.add_argument("--cache-sessions", type=int, default=4, help="server.cache_sessions")
    p.add_argument("--cache-mb", type=int, default=128, help="server.cache_mb: the prompt-cache budget")
    p.add_argument("--disconnect-fraction", type=float, default=0.25, help="streams that disconnect mid-way")
    p.add_argument("--health-interval", type=float, default=0.2, help="seconds between /health polls")
    p.add_argument("--request-timeout", type=float, default=120.0, help="client timeout per request (s)")
    p.add_argument("--max-requests-per-client", type=int, default=100_000, help="a bound besides the duration")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", help="also write the figures here")
    args = p.parse_args()
    if not 1 <= args.clients <= 256 or not 0 < args.duration <= 3600:
        p.error("--clients must be 1..256 and --duration 0..3600 s")
    results = run(args)
    show(results)
    if args.json:
        write_results(results, args.json)
    return 0 if all(results["checks"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
