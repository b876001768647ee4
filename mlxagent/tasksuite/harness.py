"""One agent turn on one task, checked by the task's tests: the harness of bench/tasks.py and of
`mlxagent tune --eval`.

Configurations (what the agent runs with; every proposal is accepted, as with `--yes`):

  a       read-loop guard off, no tests
  b       guard on, no tests
  c       guard on, tests: auto-test before and after each edit, verified retries (a failing edit
          is undone) and the candidate search (core/repair) ranked by the model
  d       as c without the candidate search: only the model's own edits (AgentConfig(repair=False))
  oracle  a scripted model that writes the known fix (a sanity row: must be 100%)

Instruction tasks (instruction_runner.InstructionTask: a request with expected bytes, no test) run
the same turn with the same configurations and are checked by instruction_runner.check_instruction.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from . import Task, check, materialize

CONFIGS = ("a", "b", "c", "d", "oracle")
TESTS_ON = ("c", "d", "oracle")


class OracleModel:
    """Knows the fix: writes every fixed file whole with write_file in one message, then says it is done."""

    name = "oracle"
    context_length = 32768
    tool_format = "prompted_hermes"
    weak_tool_use = False

    def __init__(self, fixed: dict[str, str]):
        self.pending = sorted(fixed.items())

    def count_tokens(self, messages, tools) -> int:
        return len(json.dumps(messages)) // 4

    def stream(self, messages, tools, **_):
        from ..core.events import GenerationStats
        from ..core.llm import Chunk

        if self.pending:
            text = "".join("<tool_call>\n" + json.dumps({"name": "write_file", "arguments": {"path": p, "content": c}})
                           + "\n</tool_call>\n" for p, c in self.pending)
            self.pending = []
        else:
            text = "Done."
        yield Chunk(text)
        yield Chunk("", "stop", GenerationStats(generated_tokens=len(text) // 4))


SAMPLED = True  # the candidate search's sampled rewrites (bench/tasks.py --no-sampled turns them off)


def build_agent(repo: Path, config: str, model, max_steps: int, max_tokens: int):
    """The agent of configuration `config` for the task repository `repo` (builder.build_agent)."""
    from ..builder import build_agent as build
    from ..config import Settings
    from ..core.workspace import Workspace

    if config not in CONFIGS:
        raise ValueError(f"unknown configuration {config!r}; choose from {', '.join(CONFIGS)}")
    tests = config in TESTS_ON
    agent = build(Workspace.open(repo), Settings(), model, guard_enabled=config != "a", auto_approve=True,
                  max_steps=max_steps, max_tokens=max_tokens, tests=tests, auto_test=tests,
                  allow_commands=True, remember_consent=False, repair=config in ("c", "oracle"))
    agent.config.sampled = SAMPLED
    return agent


def run_task(task: Task, config: str, loaded: Any, max_steps: int = 12, max_tokens: int = 256) -> dict:
    """One turn of the agent on `task` in a fresh repo (a temp dir), then the task's check.
    `loaded`: the model (a model.runtime.LoadedModel); unused for the oracle. An instruction task
    (instruction_runner.InstructionTask) runs the same turn and is checked by its expected bytes."""
    from .instruction_runner import InstructionTask

    if isinstance(task, InstructionTask):
        return run_instruction_task(task, config, loaded, max_steps, max_tokens)
    with tempfile.TemporaryDirectory(prefix="mlxagent-task-") as tmp:
        repo = materialize(task, Path(tmp) / "repo")
        stats = _turn(repo, config, loaded, task.fixed, task.text, max_steps, max_tokens)
        result = check(task, repo)
    return {"task": task.id, "kind": task.mutation, "source": task.source, "config": config,
            "passed": result.passed, "tests_passed": result.tests_passed,
            "test_files_changed": list(result.test_files_changed), "detail": result.detail, **stats}


def run_instruction_task(task, config: str, loaded: Any, max_steps: int = 12, max_tokens: int = 256) -> dict:
    """run_task for an instruction task (instruction_runner.InstructionTask): the same turn in a fresh
    git repo of its files (no test command there), checked by check_instruction (exact bytes)."""
    from .instruction_runner import CANNOT, check_instruction

    with tempfile.TemporaryDirectory(prefix="mlxagent-instr-") as tmp:
        repo = materialize(task, Path(tmp) / "repo")
        stats = _turn(repo, config, loaded, task.expected, task.text, max_steps, max_tokens)
        ok, detail, unparseable = check_instruction(task, repo)
    return {"task": task.id, "kind": task.kind, "source": "instruction", "config": config,
            "passed": ok, "exact": ok and task.kind != CANNOT, "unparseable": unparseable,
            "detail": detail, "test_files_changed": [], **stats}


def _turn(repo: Path, config: str, loaded: Any, fixed: dict[str, str], text: str, max_steps: int,
          max_tokens: int) -> dict:
    """One turn of configuration `config` on `repo`: the real model, or for the oracle a scripted
    one that writes `fixed` (path -> text)."""
    if config == "oracle":
        model = OracleModel(fixed)
    else:
        from ..model.chat_model import MlxChatModel

        model = MlxChatModel(loaded)
    return play_turn(build_agent(repo, config, model, max_steps, max_tokens), text)


def play_turn(agent, text: str) -> dict:
    """One agent turn on `text`: why it ended, tool calls, proposals, tokens and wall seconds."""
    from ..core import events as ev

    calls = generated = prefilled = proposals = 0
    reason = "?"
    started = time.perf_counter()
    for event in agent.run_turn(text):
        if isinstance(event, ev.ToolCallStarted):
            calls += 1
        elif isinstance(event, ev.ProposalReady):
            proposals += 1
        elif isinstance(event, ev.TurnFinished):
            reason = event.reason
            generated, prefilled = event.generated_tokens, event.prefilled_tokens
    seconds = time.perf_counter() - started
    return {"reason": reason, "tool_calls": calls, "proposals": proposals,
            "tokens": generated + prefilled, "generated": generated, "seconds": round(seconds, 2)}


def summarise(rows: list[dict]) -> dict:
    if not rows:
        return {}
    passed = [r for r in rows if r["passed"]]
    return {
        "tasks": len(rows),
        "passed": len(passed),
        "success_rate": len(passed) / len(rows),
        "test_files_modified_in_successes": sum(bool(r["test_files_changed"]) for r in passed),
        "test_files_modified_any": sum(bool(r["test_files_changed"]) for r in rows),
        "median_tool_calls": statistics.median(r["tool_calls"] for r in rows),
        "median_tokens": statistics.median(r["tokens"] for r in rows),
        "median_seconds": statistics.median(r["seconds"] for r in rows),
    }
