"""One thread owns the model: generation jobs wait in a queue and run one at a time.

A job names its model; when that is not the loaded one the worker drops the old model
(and its prompt caches) and loads the new one first. Each job carries a
`threading.Event`: the HTTP side sets it when the client goes away, and the generation
stops within a token (a job still waiting is skipped). The worker reports to the HTTP
side through `emit`, which hands events to the request's asyncio queue:

    Started -> Delta* -> ToolCalls? -> Finished        or        Failed (at any point)

The worker also decides what to generate: tool choice, the read-loop guard's steering
(`guard_steer`), the constraint for forced calls, and splitting streamed text from
tool-call markup (`ToolTextSplitter`), so the HTTP side only formats.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
import traceback
from dataclasses import dataclass, field
from itertools import chain
from typing import Any, Callable, Mapping, Protocol

from ..core.events import GenerationStats
from ..core.formats import ConstraintError, ToolFormat, format_for
from ..core.guard import GuardConfig
from ..core.llm import Constraint
from ..core.textstream import LoopDetector, StopStringScanner
from ..errors import MlxAgentError, ModelError
from ..model.kv_cache import SamplingSettings
from . import guard_steer, tool_policy
from .schemas import ApiError, ChatRequest
from .store import ModelTarget

log = logging.getLogger("mlxagent.server")

FINISH_REASONS = {"stop": "stop", "stop_string": "stop", "length": "length", "cancelled": "cancelled"}


class Provider(Protocol):
    def load(self, target: ModelTarget) -> Any: ...  # a ChatModel

    def release(self) -> None: ...


# ---------------------------------------------------------------- events for the HTTP side
@dataclass(frozen=True)
class Started:
    model: str


@dataclass(frozen=True)
class Delta:
    text: str


@dataclass(frozen=True)
class ToolCalls:
    calls: list[dict[str, Any]]  # OpenAI `tool_calls` entries


@dataclass(frozen=True)
class Finished:
    finish_reason: str  # "stop" | "length" | "tool_calls" | "cancelled"
    usage: dict[str, Any]
    guard: dict[str, Any] | None = None


@dataclass(frozen=True)
class Failed:
    error: ApiError


class Channel:
    """Events from the worker thread into one request's asyncio queue."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.queue: asyncio.Queue = asyncio.Queue()

    def put(self, item: Any) -> None:
        try:
            self.loop.call_soon_threadsafe(self.queue.put_nowait, item)
        except RuntimeError:  # the loop is closed: nobody is listening any more
            pass

    async def get(self) -> Any:
        return await self.queue.get()


@dataclass
class GenerationJob:
    target: ModelTarget
    chat: ChatRequest | None  # None: only load the model
    emit: Callable[[Any], None]
    guard: bool = True
    edit_tools: frozenset[str] = frozenset()
    weak_tools: bool | None = None  # this request's word on the weak-tool-user policy (tool_policy.py)
    cancel: threading.Event = field(default_factory=threading.Event)


def shutting_down() -> ApiError:
    return ApiError(503, "The server is shutting down.", code="shutting_down")


def _detail(e: BaseException) -> str:
    text = " ".join(str(e).split())[:300]
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


def generation_failed(model: str, e: BaseException) -> ApiError:
    return ApiError(500, f"The model '{model}' failed while generating ({_detail(e)}). The server is still "
                         "serving; retry the request.", code="generation_failed")


def usage_of(stats: GenerationStats | None) -> dict[str, Any]:
    prompt = stats.prompt_tokens if stats else 0
    completion = stats.generated_tokens if stats else 0
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": stats.reused_tokens if stats else 0}}


class Halt:
    """One generation's cancel flag: the client's (it went away), or the worker's own (the
    text fell into a loop, core/textstream.LoopDetector). Reads like a threading.Event."""

    def __init__(self, cancel: threading.Event) -> None:
        self.cancel = cancel
        self.looped = False

    def is_set(self) -> bool:
        return self.looped or self.cancel.is_set()

    __call__ = is_set


class ToolTextSplitter:
    """Streams the text before a tool call and holds back the call's markup for parsing."""

    def __init__(self, fmt: ToolFormat) -> None:
        self.marker = fmt.tool_call_start
        self.prefixes = tuple(fmt.reply_prefixes)
        self.scanner = StopStringScanner([self.marker]) if self.marker else None
        self.text = ""
        self.shown = 0
        self.hiding = False
        self.visible_only = False  # markerless formats: the reply did not open with a call

    def feed(self, text: str) -> str:
        self.text += text
        if self.hiding:
            return ""
        if self.scanner is not None:
            out, hit = self.scanner.feed(text)
            self.hiding = hit
        else:
            out = self._bare()
        self.shown += len(out)
        return out

    def _bare(self) -> str:
        """Formats without a start marker (Llama 3.1): a call is a reply that opens with JSON."""
        if self.visible_only:
            return self.text[self.shown:]
        head = self.text.lstrip()
        if head.startswith(("{", "[")) or any(head.startswith(p) for p in self.prefixes):
            self.hiding = True
            return ""
        if not head or any(p.startswith(head) for p in self.prefixes):
            return ""  # not decided yet
        self.visible_only = True
        return self.text[self.shown:]

    def finish(self) -> tuple[str, str]:
        """(visible text still held back, the hidden text from the call on)."""
        if self.hiding:
            return "", self.text[self.shown:]
        rest = self.scanner.flush() if self.scanner is not None else self.text[self.shown:]
        self.shown += len(rest)
        return rest, ""


class ModelWorker:
    def __init__(self, provider: Provider, guard_config: Callable[[str], GuardConfig], *,
                 default_max_tokens: int = 1024, default_temperature: float = 0.0, max_queue: int = 32,
                 mlx_lock: threading.Lock | None = None, weak_tools: Mapping[str, bool] | None = None) -> None:
        self.provider = provider
        self.guard_config = guard_config
        self.weak_tools = dict(weak_tools or {})  # [server] weak_tools
        self.default_max_tokens = default_max_tokens
        self.default_temperature = default_temperature
        self.max_queue = max_queue
        self.mlx_lock = mlx_lock or threading.Lock()
        self._queue: queue.Queue[GenerationJob | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._current: GenerationJob | None = None
        self._model: Any = None
        self._key: str | None = None
        self.model_name: str | None = None
        self._stopping = False
        self._lock = threading.Lock()
        self.totals = {"requests": 0, "completed": 0, "cancelled": 0, "failed": 0, "prompt_tokens": 0,
                       "cached_tokens": 0, "prefilled_tokens": 0, "generated_tokens": 0, "model_loads": 0}
        self.last: dict[str, Any] | None = None

    # ---------------------------------------------------------------- control
    def start(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._loop, name="mlxagent-model", daemon=True)
            self._thread.start()

    def drain(self) -> None:
        """Shutting down: refuse new jobs, stop the running one, fail the waiting ones (503)."""
        self._stopping = True
        current = self._current
        if current is not None:
            current.cancel.set()
        while True:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                break
            if job is not None:
                job.emit(Failed(shutting_down()))

    def stop(self, timeout: float = 10.0) -> None:
        self.drain()
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        try:
            self.provider.release()
        except Exception:  # noqa: BLE001 - shutting down anyway
            log.exception("releasing the model failed")

    def submit(self, job: GenerationJob) -> int:
        """Queue a job; returns how many jobs are ahead of it. 503 when the queue is full."""
        if self._stopping:
            raise shutting_down()
        waiting = self._queue.qsize()
        if waiting >= self.max_queue:
            raise ApiError(503, f"The server is busy: {waiting} requests are already waiting. Retry later.",
                           code="server_busy", type="server_error")
        ahead = waiting + (1 if self._current is not None else 0)
        self._queue.put(job)
        if self._thread is not None and not self._thread.is_alive():  # it died: queued jobs must still run
            log.error("the model thread had stopped; starting a new one")
            self._current = None
            self.start()
        return ahead

    def health(self) -> dict[str, Any]:
        return {"model": self.model_name, "busy": self._current is not None, "queued": self._queue.qsize()}

    def stats(self) -> dict[str, Any]:
        with self._lock:
            out = {"model": self.model_name, "totals": dict(self.totals), "last": dict(self.last or {}),
                   "queued": self._queue.qsize()}
        stats = getattr(self.provider, "stats", None)
        pool = stats() if callable(stats) else {}
        out["prompt_cache"] = pool
        totals = out["totals"]
        checkouts = sum(int(pool.get(k, 0)) for k in ("reused", "forked", "new"))
        out["cache_hit_rate"] = {
            # generations that started from a kept KV cache (the pool of the model loaded now)
            "sessions": round((pool.get("reused", 0) + pool.get("forked", 0)) / checkouts, 4) if checkouts else None,
            # prompt tokens taken from a cache instead of prefilled (every completed generation)
            "tokens": round(totals["cached_tokens"] / totals["prompt_tokens"], 4) if totals["prompt_tokens"] else None,
        }
        return out

    # ---------------------------------------------------------------- the thread
    def _loop(self) -> None:
        while (job := self._queue.get()) is not None:
            self._current = job
            try:
                self._run(job)
            except BaseException as e:  # noqa: BLE001 - one bad job (even a SystemExit) never stops the worker
                # The traceback is logged as text: a log handler that kept the exception would keep the
                # generation's frames (and MLX streams bound to this thread) alive past the job.
                log.error("generation on %s failed: %s\n%s", job.target.name, _detail(e),
                          "".join(traceback.format_exception(e)).rstrip())
                self._count("failed")
                job.emit(Failed(generation_failed(job.target.name, e)))
            finally:
                self._current = None

    def _run(self, job: GenerationJob) -> None:
        if job.cancel.is_set() or self._stopping:
            self._count("cancelled")
            job.emit(Finished("cancelled", usage_of(None)))
            return
        with self.mlx_lock:
            try:
                model = self._ensure(job.target)
            except Exception as e:  # noqa: BLE001 - a model that cannot load fails this request only
                log.error("loading model %s (%s) failed: %s", job.target.name, job.target.spec, _detail(e))
                self._count("failed")
                reason = str(e) if isinstance(e, MlxAgentError) else _detail(e)
                job.emit(Failed(ApiError(500, f"The model '{job.target.name}' could not be loaded: {reason}",
                                         code="model_load_failed")))
                return
            if job.chat is None:
                job.emit(Started(job.target.name))
                job.emit(Finished("stop", usage_of(None)))
                return
            self._generate(job, model)

    def _ensure(self, target: ModelTarget) -> Any:
        if self._model is not None and self._key == target.key:
            self.model_name = target.name
            return self._model
        self._model, self._key, self.model_name = None, None, None
        log.info("loading model %s (%s)", target.name, target.spec)
        model = self.provider.load(target)  # the provider drops the old model first
        self._model, self._key, self.model_name = model, target.key, target.name
        with self._lock:
            self.totals["model_loads"] += 1
        return model

    def _generate(self, job: GenerationJob, model: Any) -> None:
        chat = job.chat
        assert chat is not None
        with self._lock:
            self.totals["requests"] += 1
        tools = chat.tools if chat.tool_choice != "none" else []
        plan = guard_steer.SteerPlan("none", chat.messages)
        if job.guard and tools:
            config = self.guard_config(f"{job.target.describe} {getattr(model, 'name', '')}")
            plan = guard_steer.plan(chat.messages, chat.tools, chat.tool_choice, config, job.edit_tools)
        guard = plan.info()
        if plan.action == "explain":
            job.emit(Started(job.target.name))
            job.emit(Delta(plan.message))
            self._finish(job, "stop", None, guard)
            return
        weak = self._weak(job, model)
        hold = weak and plan.action in ("none", "nudge") and chat.response_schema is None \
            and tool_policy.holds_to_a_call(plan.messages, tools, chat.tool_choice)
        constraint = Constraint(tool_policy.held_tools(tools), forced=True) if hold \
            else self._constraint(chat, tools, plan)
        sampling = SamplingSettings(
            temperature=self.default_temperature if chat.temperature is None else chat.temperature,
            top_p=1.0 if chat.top_p is None else chat.top_p, seed=chat.seed)
        # No max_tokens: what the context leaves after the prompt (the model clamps to that room).
        max_tokens = chat.max_tokens or getattr(model, "context_length", None) or self.default_max_tokens

        started = False

        def ready(prompt_tokens: int | None = None) -> None:
            """The request is good: the stream's headers go out now, not after the prefill."""
            nonlocal started
            if started:
                return
            started = True
            if prompt_tokens is not None:
                chat.observed["prompt_tokens"] = prompt_tokens
            elif chat.stream and hasattr(model, "count_tokens"):  # a stream's opening event reports it
                chat.observed["prompt_tokens"] = model.count_tokens(plan.messages, tools)
            job.emit(Started(job.target.name))

        halt = Halt(job.cancel)

        def start(constraint):
            chunks = model.stream(plan.messages, tools, constraint=constraint, max_tokens=max_tokens,
                                  cancel=halt, stop=chat.stop, sampling=sampling, ready=ready)
            return chunks, next(chunks)

        try:
            try:
                chunks, first = start(constraint)
            except ConstraintError:
                if constraint is None or (constraint.forced and not hold):
                    raise
                log.warning("tool schemas cannot be constrained; generating without a grammar")
                chunks, first = start(None)
        except ConstraintError as e:
            return self._fail(job, ApiError(400, str(e), param="tools", code="invalid_tool_schema"))
        except ModelError as e:  # the prompt is too long, or the chat template refuses the conversation
            code = "context_length_exceeded" if "context" in str(e) else "invalid_conversation"
            return self._fail(job, ApiError(400, str(e), param="messages", code=code))
        except StopIteration:
            chunks, first = iter(()), None
        ready()  # a model that does not call it: the response starts with the first token
        splitter = ToolTextSplitter(format_for(model.tool_format)) if tools else None
        finish, stats = "stop", None
        # A weak model's loop is stopped; a strong model's long run of one piece may be wanted.
        loop = LoopDetector() if weak else None
        for chunk in chain([first] if first is not None else [], chunks):
            if chunk.text:
                if loop is not None and loop.feed(chunk.text) and not halt.looped:
                    log.info("%s repeats itself; generation stopped", job.target.name)
                    halt.looped = True
                shown = splitter.feed(chunk.text) if splitter else chunk.text
                if shown:
                    job.emit(Delta(shown))
            if chunk.finish_reason:
                finish, stats = chunk.finish_reason, chunk.stats
        calls: list[dict[str, Any]] = []
        if splitter is not None:
            rest, hidden = splitter.finish()
            if hidden:
                parsed = format_for(model.tool_format).parse(hidden, tools)
                calls = [c.to_openai() for c in parsed.calls]
                rest = parsed.content if calls else hidden
            if rest:
                job.emit(Delta(rest))
        if finish == "cancelled" and halt.looped and not job.cancel.is_set():
            finish = "stop"  # the worker's own stop: the reply is complete as far as it goes
        if calls and finish != "cancelled":
            job.emit(ToolCalls(calls))
            finish = "tool_calls"
        self._finish(job, FINISH_REASONS.get(finish, finish), stats, guard)

    def _weak(self, job: GenerationJob, model: Any) -> bool:
        if job.weak_tools is not None:
            return job.weak_tools
        names = f"{job.target.name} {job.target.describe} {getattr(model, 'name', '')}"
        return tool_policy.weak_tool_user(self.weak_tools, names, bool(getattr(model, "weak_tool_use", False)))

    def _constraint(self, chat: ChatRequest, tools: list[dict[str, Any]],
                    plan: guard_steer.SteerPlan) -> Constraint | None:
        if chat.response_schema is not None:
            return Constraint(response_schema=chat.response_schema)
        if plan.action == "force":
            return Constraint(plan.tools, forced=True)
        if chat.tool_choice == "function":
            return Constraint([t for t in tools if t["function"]["name"] == chat.forced_function], forced=True)
        if chat.tool_choice == "required":
            return Constraint(tools, forced=True)
        return Constraint(tools, forced=False) if tools else None

    def _finish(self, job: GenerationJob, reason: str, stats: GenerationStats | None,
                guard: dict[str, Any] | None) -> None:
        usage = usage_of(stats)
        if reason == "cancelled" and self._stopping:
            self._count("cancelled")
            job.emit(Failed(shutting_down()))  # a client still listening is told why its stream ends
            return
        with self._lock:
            t = self.totals
            t["cancelled" if reason == "cancelled" else "completed"] += 1
            t["prompt_tokens"] += usage["prompt_tokens"]
            t["cached_tokens"] += usage["prompt_tokens_details"]["cached_tokens"]
            t["prefilled_tokens"] += stats.prefilled_tokens if stats else 0
            t["generated_tokens"] += usage["completion_tokens"]
            self.last = {"model": job.target.name, "finish_reason": reason, **usage,
                         "prefilled_tokens": stats.prefilled_tokens if stats else 0, "at": time.time(),
                         "guard": guard}
        job.emit(Finished(reason, usage, guard))

    def _fail(self, job: GenerationJob, error: ApiError) -> None:
        self._count("failed")
        job.emit(Failed(error))

    def _count(self, key: str) -> None:
        with self._lock:
            self.totals[key] += 1
