"""Start `mlxagent serve` (or another server) as a subprocess on a free loopback port and
wait until it says where it serves; and the test doubles for an in-process server
(`create_app(provider=ScriptedProvider(model), store=ScriptedStore())`)."""

from __future__ import annotations

import re
import subprocess
import threading
from typing import Any

from mlxagent.server.schemas import ApiError
from mlxagent.server.store import ModelTarget


def launch(cmd: list[str], env: dict[str, str], ready_pattern: str, timeout: float = 180,
           stream: str = "stderr") -> tuple[str, subprocess.Popen, list[str]]:
    """Run `cmd`; return (the URL group 1 of `ready_pattern` matched on its output, the
    process, the output lines so far, still growing)."""
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE if stream == "stdout" else subprocess.DEVNULL,
                            stderr=subprocess.PIPE if stream == "stderr" else subprocess.STDOUT, text=True)
    log: list[str] = []
    found: dict[str, str] = {}
    ready = threading.Event()

    def pump() -> None:
        for line in getattr(proc, stream):
            log.append(line)
            if not found and (m := re.search(ready_pattern, line)):
                found["url"] = m.group(1)
                ready.set()
        ready.set()  # the process ended

    threading.Thread(target=pump, daemon=True).start()
    if not (ready.wait(timeout) and "url" in found):
        stop(proc)
        raise AssertionError("server did not start:\n" + "".join(log))
    return found["url"], proc, log


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


SERVE_READY = r"serving on (http://127\.0\.0\.1:\d+)/v1"


class ScriptedProvider:
    """Every load gives the one model it was made with; `loads` names each model loaded."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.loads: list[str] = []

    def load(self, target: ModelTarget) -> Any:
        self.loads.append(target.name)
        return self.model

    def release(self) -> None:
        pass


class ScriptedStore:
    """A model store that knows (and lists) one model, "scripted"; any other name is a 404.
    An install succeeds at once."""

    def lookup(self, name: str) -> ModelTarget:
        if name != "scripted":
            raise ApiError(404, f"The model '{name}' does not exist or is not installed.", param="model",
                           code="model_not_found")
        return ModelTarget(name, name, name, name)

    def list_models(self) -> list[dict]:
        return [{"id": "scripted", "object": "model", "created": 0, "owned_by": "tests"}]

    def classify(self, model_id: str, name: str | None):
        return model_id

    def install(self, plan, name, progress, cancel, lock) -> dict:
        return {"model": name or plan, "path": f"/models/{plan}", "alias_of": None, "warning": None}
