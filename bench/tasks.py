"""Task suite benchmark: does the user's test suite pass afterwards, and was nothing of theirs lost?

    .venv/bin/python bench/tasks.py [--configs a,b,c,oracle] [--seed 0] [--count 40] [--limit N]
                                    [--offset K] [--heldout] [--max-steps 12] [--json PATH]

Each task (bench/tasksuite: the fixtures plus generated bug-fix tasks) becomes a fresh git repo in
a temp dir. One agent turn runs on it with `--yes` semantics (every proposal accepted), and then the
task's check runs: the module's tests pass and no test file changed. Configurations:

  a       the real default model, read-loop guard off, no tests
  b       the real default model, guard on, no tests (today's product before this suite)
  c       the real default model, guard on, tests: auto-test before and after each edit,
          verified retries (a failing edit is undone) and the candidate search ranked by the model
  oracle  a scripted model that writes the known fix (a sanity row: must be 100%)

Reported per configuration: success rate, test files modified by a "successful" run (must be 0),
median tool calls, tokens (generated + prefilled) and wall seconds per task.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, write_results  # noqa: E402

from mlxagent.blas import reexec_openblas  # noqa: E402

CONFIGS = ("a", "b", "c", "oracle")


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
        from mlxagent.core.events import GenerationStats
        from mlxagent.core.llm import Chunk

        if self.pending:
            text = "".join("<tool_call>\n" + json.dumps({"name": "write_file", "arguments": {"path": p, "content": c}})
                           + "\n</tool_call>\n" for p, c in self.pending)
            self.pending = []
        else:
            text = "Done."
        yield Chunk(text)
        yield Chunk("", "stop", GenerationStats(generated_tokens=len(text) // 4))


def build_agent(repo: Path, config: str, model, max_steps: int, max_tokens: int):
    from mlxagent.config import Settings, guard_config_for
    from mlxagent.core.agent import Agent, AgentConfig
    from mlxagent.core.command_gate import CommandGate
    from mlxagent.core.permissions import CommandPermissions
    from mlxagent.core.proposals import ProposalManager
    from mlxagent.core.testcmd import resolve_test_command
    from mlxagent.core.tools import Toolbox
    from mlxagent.core.workspace import Workspace

    ws = Workspace.open(repo)
    guard = guard_config_for(Settings(), model.name)
    tests = config in ("c", "oracle")
    agent_config = AgentConfig(max_steps=max_steps, max_tokens=max_tokens, auto_approve=True,
                               guard=replace(guard, enabled=config != "a"), auto_test=tests, repair=tests)
    agent = Agent(Toolbox(ws, ProposalManager(ws)), model, agent_config,
                  gate=CommandGate(ws.root, CommandPermissions(None, ws.root), allow=True))
    if tests:
        agent.toolbox.context.test_command = resolve_test_command(ws.root)
    return agent


def run_task(task, config: str, loaded, max_steps: int, max_tokens: int) -> dict:
    import tasksuite

    from mlxagent.core import events as ev

    with tempfile.TemporaryDirectory(prefix="mlxagent-task-") as tmp:
        repo = tasksuite.materialize(task, Path(tmp) / "repo")
        if config == "oracle":
            model = OracleModel(task.fixed)
        else:
            from mlxagent.model.chat_model import MlxChatModel

            model = MlxChatModel(loaded)
        agent = build_agent(repo, config, model, max_steps, max_tokens)
        calls = generated = prefilled = proposals = 0
        reason = "?"
        started = time.perf_counter()
        for event in agent.run_turn(task.text):
            if isinstance(event, ev.ToolCallStarted):
                calls += 1
            elif isinstance(event, ev.ProposalReady):
                proposals += 1
            elif isinstance(event, ev.TurnFinished):
                reason = event.reason
                generated, prefilled = event.generated_tokens, event.prefilled_tokens
        seconds = time.perf_counter() - started
        result = tasksuite.check(task, repo)
    return {"task": task.id, "kind": task.mutation, "source": task.source, "config": config,
            "passed": result.passed, "tests_passed": result.tests_passed,
            "test_files_changed": list(result.test_files_changed), "detail": result.detail,
            "reason": reason, "tool_calls": calls, "proposals": proposals,
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


def main() -> int:
    reexec_openblas(__file__)
    # The task repos need no pytest plugins; this venv's (textual snapshots, asyncio) add ~2 s to
    # every test run the agent makes. A user's own environment decides this for their project.
    os.environ.setdefault("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--configs", default="c,oracle")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--count", type=int, default=40)
    parser.add_argument("--limit", type=int, default=0, help="run only this many tasks (0: all)")
    parser.add_argument("--offset", type=int, default=0, help="skip this many tasks first")
    parser.add_argument("--heldout", action="store_true", help="generated tasks from the held-out modules only")
    parser.add_argument("--max-steps", type=int, default=12)
    parser.add_argument("--max-tokens", type=int, default=256)
    parser.add_argument("--json", default=str(ROOT / "bench" / "results" / "tasks.json"))
    args = parser.parse_args()
    configs = [c.strip() for c in args.configs.split(",") if c.strip()]
    unknown = [c for c in configs if c not in CONFIGS]
    if unknown:
        parser.error(f"unknown configuration {unknown[0]!r}; choose from {', '.join(CONFIGS)}")

    import tasksuite

    tasks = (tasksuite.generate(args.seed, args.count, heldout=True) if args.heldout
             else tasksuite.suite(args.seed, args.count))
    tasks = tasks[args.offset:]
    if args.limit:
        tasks = tasks[:args.limit]
    loaded = None
    if any(c != "oracle" for c in configs):
        from mlxagent.model import default_model
        from mlxagent.model.runtime import load_model_dir

        loaded = load_model_dir(default_model.ensure(), "smollm2-135m")
    rows: list[dict] = []
    partial = Path(args.json).with_suffix(".rows.jsonl")  # one line per finished task, for split runs
    partial.parent.mkdir(parents=True, exist_ok=True)
    partial.write_text("")
    for config in configs:
        for task in tasks:
            row = run_task(task, config, loaded, args.max_steps, args.max_tokens)
            rows.append(row)
            with partial.open("a") as f:
                f.write(json.dumps(row) + "\n")
            mark = "PASS" if row["passed"] else "fail"
            print(f"{config:6} {mark} {row['task']:40} {row['reason']:14} calls={row['tool_calls']:2} "
                  f"tokens={row['tokens']:6} {row['seconds']:6.1f}s  {row['detail'][:60]}", flush=True)
    summary = {c: summarise([r for r in rows if r["config"] == c]) for c in configs}
    print(f"\n{'config':8} {'tasks':>5} {'passed':>6} {'rate':>6} {'tests modified':>14} {'calls':>6} "
          f"{'tokens':>7} {'seconds':>8}")
    for config, s in summary.items():
        if s:
            print(f"{config:8} {s['tasks']:5} {s['passed']:6} {s['success_rate']:6.0%} "
                  f"{s['test_files_modified_in_successes']:14} {s['median_tool_calls']:6} "
                  f"{s['median_tokens']:7} {s['median_seconds']:8.1f}")
    write_results({"args": vars(args), "summary": summary, "rows": rows}, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
