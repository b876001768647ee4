"""Install jobs: downloads and imports run one at a time on their own thread, with progress.

`POST /v1/models/install` checks the request, queues a job and answers at once; `GET` on
the job reports its stage, progress and final state (`succeeded`, `failed` with a
message, or `cancelled`). Finished jobs are kept (the most recent `MAX_KEPT`) so a client
can still read how its install ended.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import uuid
from collections import OrderedDict
from typing import Any, Callable

from ..errors import CancelledError, MlxAgentError, OfflineError

log = logging.getLogger("mlxagent.server")

MAX_KEPT = 100
TERMINAL = ("succeeded", "failed", "cancelled")

Runner = Callable[["InstallJob"], dict[str, Any]]


class InstallJob:
    def __init__(self, model_id: str, name: str | None, plan: Any) -> None:
        self.id = f"install-{uuid.uuid4().hex[:12]}"
        self.model_id = model_id
        self.name = name
        self.plan = plan
        self.status = "queued"
        self.stage = "queued"
        self.progress = 0.0
        self.created = time.time()
        self.finished: float | None = None
        self.result: dict[str, Any] | None = None
        self.error: dict[str, Any] | None = None
        self.cancel = threading.Event()
        self.done = threading.Event()
        self._callbacks: list[Callable[[], None]] = []
        self._callbacks_lock = threading.Lock()

    def add_done_callback(self, fn: Callable[[], None]) -> None:
        """Call `fn` (on the install thread) when the job ends; at once if it has."""
        with self._callbacks_lock:
            if not self.done.is_set():
                self._callbacks.append(fn)
                return
        fn()

    def _set_done(self) -> None:
        with self._callbacks_lock:
            self.done.set()
            callbacks, self._callbacks = self._callbacks, []
        for fn in callbacks:
            try:
                fn()
            except Exception:  # noqa: BLE001 - a waiter that went away must not break the job
                log.exception("install job callback failed")

    def report(self, stage: str, fraction: float) -> None:
        self.stage = stage
        self.progress = max(0.0, min(1.0, float(fraction)))

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "object": "model.install", "model_id": self.model_id, "name": self.name,
            "status": self.status, "stage": self.stage, "progress": round(self.progress, 4),
            "created": int(self.created), "finished": int(self.finished) if self.finished else None,
            "result": self.result, "error": self.error,
        }


class InstallJobs:
    def __init__(self, runner: Runner) -> None:
        self._runner = runner
        self._jobs: OrderedDict[str, InstallJob] = OrderedDict()
        self._queue: queue.Queue[InstallJob | None] = queue.Queue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._loop, name="mlxagent-install", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        with self._lock:
            for job in self._jobs.values():
                job.cancel.set()
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def submit(self, model_id: str, name: str | None, plan: Any) -> InstallJob:
        job = InstallJob(model_id, name, plan)
        with self._lock:
            self._jobs[job.id] = job
            while len(self._jobs) > MAX_KEPT:
                oldest = next((k for k, j in self._jobs.items() if j.status in TERMINAL), None)
                if oldest is None:
                    break
                del self._jobs[oldest]
        self._queue.put(job)
        if self._thread is not None and not self._thread.is_alive():  # it died: the queue must still move
            log.error("the install thread had stopped; starting a new one")
            self.start()
        return job

    def get(self, job_id: str) -> InstallJob | None:
        with self._lock:
            return self._jobs.get(job_id)

    def all(self) -> list[InstallJob]:
        with self._lock:
            return list(self._jobs.values())

    def _loop(self) -> None:
        while (job := self._queue.get()) is not None:
            self._run(job)

    def _run(self, job: InstallJob) -> None:
        if job.cancel.is_set():
            self._finish(job, "cancelled", error=_error("The install was cancelled before it started.", "cancelled"))
            return
        job.status, job.stage = "running", "starting"
        try:
            result = self._runner(job)
        except CancelledError as e:
            self._finish(job, "cancelled", error=_error(str(e) or "The install was cancelled.", "cancelled"))
        except OfflineError as e:
            self._finish(job, "failed", error=_error(str(e), "offline"))
        except MlxAgentError as e:
            self._finish(job, "failed", error=_error(str(e), "install_failed"))
        except Exception as e:  # noqa: BLE001 - the job reports one line; the server keeps serving
            log.exception("install %s (%s) failed", job.id, job.model_id)
            self._finish(job, "failed", error=_error(f"internal error: {type(e).__name__}: {str(e)[:300]}",
                                                     "internal_error"))
        except BaseException as e:  # noqa: BLE001 - SystemExit or the like from a download or import: killed
            log.error("install %s (%s) was killed: %s", job.id, job.model_id, type(e).__name__)
            detail = f": {str(e)[:200]}" if str(e) else ""
            self._finish(job, "failed", error=_error(
                f"The install was killed ({type(e).__name__}{detail}) before it finished; retry it.", "killed"))
        else:
            job.result = result
            job.progress = 1.0
            self._finish(job, "succeeded")

    def _finish(self, job: InstallJob, status: str, error: dict[str, Any] | None = None) -> None:
        job.status = status
        job.stage = status
        job.error = error
        job.finished = time.time()
        job._set_done()


def _error(message: str, code: str) -> dict[str, Any]:
    return {"message": message, "type": "install_error", "code": code}
