"""The model routes: `GET /v1/models` (and one model), and install jobs
(`POST /v1/models/install`, `GET` / `DELETE /v1/models/install/{job}`)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .bodies import json_body
from .schemas import ApiError, parse_install_request
from .tool_policy import weak_tool_user

MAX_WAIT_SECONDS = 120.0


def _state(request: Request) -> Any:
    return request.app.state.mlxagent


async def _rows(request: Request) -> list[dict[str, Any]]:
    """The store's rows; each model's `mlxagent` card (context_length, tool_format,
    weak_tool_use) says what this server does with it (`[server] weak_tools` applied)."""
    state = _state(request)
    rows = await run_in_threadpool(state.store.list_models)
    for row in rows:
        card = row.get("mlxagent")
        if isinstance(card, dict):
            names = f"{row['id']} {row.get('alias_of', '')}"
            card["weak_tool_use"] = weak_tool_user(state.worker.weak_tools, names, bool(card.get("weak_tool_use")))
    return rows


async def list_models(request: Request) -> Response:
    return JSONResponse({"object": "list", "data": await _rows(request)})


async def get_model(request: Request) -> Response:
    model_id = request.path_params["model_id"]
    rows = await _rows(request)
    for row in rows:
        if row["id"] == model_id:
            return JSONResponse(row)
    raise ApiError(404, f"The model '{model_id}' does not exist or is not installed.", param="model",
                   code="model_not_found")


# ---------------------------------------------------------------- installs
async def install(request: Request) -> Response:
    state = _state(request)
    req = parse_install_request(await json_body(request))
    plan = await run_in_threadpool(state.store.classify, req.model_id, req.name)
    job = state.jobs.submit(req.model_id, req.name, plan)
    return JSONResponse(job.to_dict(), status_code=202, headers={"Location": f"/v1/models/install/{job.id}"})


async def list_jobs(request: Request) -> Response:
    return JSONResponse({"object": "list", "data": [j.to_dict() for j in _state(request).jobs.all()]})


def _job(request: Request):
    job = _state(request).jobs.get(request.path_params["job_id"])
    if job is None:
        raise ApiError(404, f"No install job {request.path_params['job_id']!r}.", param="job_id", code="not_found")
    return job


async def get_job(request: Request) -> Response:
    job = _job(request)
    wait = request.query_params.get("wait")
    if wait is not None:
        try:
            seconds = float(wait)
            if not 0 <= seconds <= MAX_WAIT_SECONDS:
                raise ValueError
        except ValueError:
            raise ApiError(400, f"'wait' must be a number of seconds from 0 to {MAX_WAIT_SECONDS:g}.", param="wait",
                           code="invalid_value") from None
        loop = asyncio.get_running_loop()
        finished = asyncio.Event()
        job.add_done_callback(lambda: loop.call_soon_threadsafe(finished.set))
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(finished.wait(), seconds)
    return JSONResponse(job.to_dict())


async def cancel_job(request: Request) -> Response:
    job = _job(request)
    job.cancel.set()
    return JSONResponse(job.to_dict())
