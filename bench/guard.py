"""Read-loop guard benchmark: guard off versus on, on the fixture tasks, in one run.

    .venv/bin/python bench/guard.py [--real-runs N] [--json bench/results/guard.json]

1. a scripted worst-case model that always wants to read (but writes a sensible edit when
   constrained to one): share of runs reaching a proposal within 12 tool calls;
2. the real default model (SmolLM2-135M): share of runs reaching a valid proposal within 12
   tool calls, median tool calls to the first proposal, tokens generated;
3. false positives: a scripted model that makes 5 legitimate reads and then edits.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import write_results  # noqa: E402

from mlxagent.blas import reexec_openblas  # noqa: E402

MAX_CALLS = 12


def run_once(repo: Path, model, guard_on: bool, task: str) -> dict:
    """One turn until the first proposal or MAX_CALLS tool calls; the proposal is rejected (repo untouched).

    With the guard on, the thresholds are the product's for this model (config.guard_config_for)."""
    from mlxagent.builder import build_agent
    from mlxagent.config import Settings
    from mlxagent.core import events as ev
    from mlxagent.core.workspace import Workspace

    agent = build_agent(Workspace.open(repo), Settings(), model, guard_enabled=guard_on, max_steps=MAX_CALLS,
                        max_tokens=256, tests=False, remember_consent=False)
    calls, tokens, first_proposal, levels = 0, 0, None, set()
    started = time.perf_counter()
    turn = agent.run_turn(task)
    for event in turn:
        if isinstance(event, ev.ToolCallStarted):
            calls += 1
        elif isinstance(event, ev.GenerationStats):
            tokens += event.generated_tokens
        elif isinstance(event, ev.GuardState):
            levels.add(event.level)
        elif isinstance(event, ev.ProposalReady):
            first_proposal = calls
            event.reply.set_result(ev.Review.reject_all(len(event.proposal.hunks), "benchmark"))
            break
        if calls >= MAX_CALLS and first_proposal is None and isinstance(event, ev.ToolCallFinished):
            break
    turn.close()
    return {"proposal_at": first_proposal, "calls": calls, "tokens": tokens, "levels": sorted(levels),
            "seconds": time.perf_counter() - started}


def summarise(runs: list[dict]) -> dict:
    reached = [r["proposal_at"] for r in runs if r["proposal_at"] is not None]
    return {
        "runs": len(runs),
        "reached_share": len(reached) / len(runs) if runs else 0.0,
        "median_calls_to_proposal": statistics.median(reached) if reached else None,
        "tokens_generated": sum(r["tokens"] for r in runs),
        "nudged_or_forced": sum(1 for r in runs if {"nudge", "force"} & set(r["levels"])),
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--json", default="bench/results/guard.json")
    parser.add_argument("--real-runs", type=int, default=1, help="runs per fixture with the real model")
    args = parser.parse_args()

    from fixture_repos import fixture_names, fixture_repo
    from scripted_model import AlwaysReads, ScriptedModel, hermes_call

    from mlxagent.model import default_model
    from mlxagent.model.chat_model import MlxChatModel
    from mlxagent.model.runtime import load_model_dir
    from mlxagent.model.kv_cache import SamplingSettings

    names = fixture_names()
    tmp = Path(tempfile.mkdtemp(prefix="mlxagent-guard-bench-"))
    results: dict = {"max_calls": MAX_CALLS, "fixtures": names}

    def fresh(name: str, tag: str) -> tuple[Path, str]:
        """The fixture as a repo, without its TASK.txt (the task is the prompt, not a file to edit)."""
        import git

        repo = fixture_repo(name, tmp / tag)
        task = (repo / "TASK.txt").read_text().strip()
        git.Repo(repo).git.rm("-q", "TASK.txt")
        git.Repo(repo).git.commit("-q", "-m", "task")
        return repo, task

    def code_files(repo: Path) -> list[str]:
        return sorted(p.relative_to(repo).as_posix() for p in repo.rglob("*")
                      if p.is_file() and ".git" not in p.parts)

    for label, on in (("scripted_worst_case_off", False), ("scripted_worst_case_on", True)):
        runs = []
        for name in names:
            repo, task = fresh(name, f"{label}-{name}")
            runs.append(run_once(repo, ScriptedModel([AlwaysReads(code_files(repo))], repeat_last=True), on, task))
        results[label] = summarise(runs)

    runs = []
    for name in names:
        repo, task = fresh(name, f"fp-{name}")
        files = code_files(repo)
        target = files[0]
        line = next(text for text in (repo / target).read_text().splitlines() if text.strip())
        script = [hermes_call("list_files")] + [hermes_call("read_file", path=f) for f in (files * 4)[:4]]
        script.append(hermes_call("edit_file", path=target, search=line, replace=line + " (checked)"))
        runs.append(run_once(repo, ScriptedModel(script), True, task))
    results["false_positives"] = summarise(runs)

    loaded = load_model_dir(default_model.ensure(), default_model.NAME)
    for label, on in (("real_model_off", False), ("real_model_on", True)):
        runs = []
        for name in names:
            for seed in range(args.real_runs):
                repo, task = fresh(name, f"{label}-{name}-{seed}")
                sampling = SamplingSettings() if seed == 0 else SamplingSettings(temperature=0.7, seed=seed)
                runs.append(run_once(repo, MlxChatModel(loaded, sampling=sampling), on, task))
        results[label] = summarise(runs) | {"per_run": runs}

    print(f"{'':30}{'reached proposal':>18}{'median calls':>14}{'tokens':>9}{'nudged/forced':>15}")
    for key in ("scripted_worst_case_off", "scripted_worst_case_on", "false_positives", "real_model_off",
                "real_model_on"):
        r = results[key]
        median = "-" if r["median_calls_to_proposal"] is None else f"{r['median_calls_to_proposal']:g}"
        print(f"{key:30}{r['reached_share'] * 100:16.0f}% {median:>13}{r['tokens_generated']:9d}"
              f"{r['nudged_or_forced']:>10}/{r['runs']}")
    write_results(results, args.json)
    return 0


if __name__ == "__main__":
    reexec_openblas(__file__)
    raise SystemExit(main())
