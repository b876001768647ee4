"""`mlxagent tune`: sessions (+ generated traces) -> dataset -> LoRA adapter `MODEL+NAME` -> report."""

from __future__ import annotations

import math
import os
import shutil
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..errors import MlxAgentError
from .defaults import DEFAULT_EPOCHS


class TuneError(MlxAgentError):
    """`mlxagent tune` cannot go on (one line)."""


@dataclass
class Data:
    examples: list[Any]
    from_sessions: int      # examples
    sessions: int           # sessions they came from
    synthetic: int          # examples from generated traces
    traces: int


def _err(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


def progress_line(stream=None):
    """The training progress: one redrawn line on a terminal, one line per update otherwise."""
    stream = stream or sys.stderr
    tty = stream.isatty()
    state = {"tokens_per_step": 0.0}

    def show(p) -> None:
        fraction = p.step / p.steps if p.steps else 1.0
        filled = int(fraction * 24)
        bar = "#" * filled + "." * (24 - filled)
        eta = p.elapsed / p.step * (p.steps - p.step) if p.step else 0.0
        if p.stage == "preparing":
            text = f"preparing [{bar}] {p.step}/{p.steps} sequences  ETA {_duration(eta)}"
        else:
            rate = state["tokens_per_step"] * p.step / p.elapsed if p.elapsed else 0.0
            text = (f"training  [{bar}] step {p.step}/{p.steps}  loss {p.loss:.3f}  {rate:,.0f} tok/s  "
                    f"ETA {_duration(eta)}")
        done = p.step >= p.steps
        if tty:
            print(f"\r{text}\033[K", end="\n" if done else "", file=stream, flush=True)
        else:
            print(text, file=stream, flush=True)

    show.state = state  # type: ignore[attr-defined]
    return show


# -- data ---------------------------------------------------------------------------------------

def session_examples(repo: str | None) -> tuple[list[Any], int]:
    """Examples from the saved sessions (of `repo`, or all), and how many sessions gave any."""
    from ..core.saved_sessions import SessionError, SessionStore, default_path
    from .dataset import examples_from_record

    path = default_path()
    if not path.is_file():
        return [], 0
    try:
        store = SessionStore(path)
        try:
            records = list(store.records(repo))
        finally:
            store.close()
    except SessionError as exc:
        raise TuneError(str(exc)) from None
    examples, used = [], 0
    for record in records:
        found = examples_from_record(record)
        if found:
            used += 1
            examples.extend(found)
    return examples, used


def check_args(args) -> str | None:
    """Everything that can be wrong with the arguments before a model loads; returns the --repo
    folder resolved (None: every repository)."""
    from ..model import adapters

    adapters.check_name(args.name)
    if args.synthetic < 0:
        raise TuneError("--synthetic takes a number of traces, 0 or more")
    if args.steps is not None and args.steps < 1:
        raise TuneError("--steps must be at least 1")
    if args.eval_count < 1 and (args.eval or args.eval_only):
        raise TuneError("--eval-count must be at least 1")
    repo = str(Path(args.repo).expanduser().resolve()) if args.repo else None
    if repo is not None and not Path(repo).is_dir():
        raise TuneError(f"--repo {args.repo}: no such folder")
    return repo


def no_data(args, repo: str | None) -> TuneError:
    if args.no_sessions:
        return TuneError("Nothing to learn from: --no-sessions without --synthetic N")
    where = f" for {repo}" if repo else ""
    return TuneError(f"No saved sessions with accepted edits{where} to learn from yet; "
                     "add generated traces with --synthetic N (e.g. --synthetic 40)")


def gather(args, repo: str | None, sessions: tuple[list[Any], int], model_name: str, tool_format: str) -> Data:
    from .dataset import examples_from_records
    from .synthetic import synthetic_traces

    examples, used = sessions
    from_sessions = len(examples)
    traces = []
    if args.synthetic:
        def shown(done: int, total: int) -> None:
            end = "\n" if done == total else ""
            print(f"\rgenerating traces {done}/{total}\033[K", end=end, file=sys.stderr, flush=True)

        traces = synthetic_traces(args.synthetic, model_name, tool_format,
                                  progress=shown if sys.stderr.isatty() else None)
        examples = examples + examples_from_records(traces, include_reads=True)
    if not examples:
        raise no_data(args, repo)
    return Data(examples, from_sessions, used, len(examples) - from_sessions, len(traces))


# -- the command --------------------------------------------------------------------------------

def tune_command(args) -> int:
    from ..config import load_settings
    from ..core.formats import detect_format
    from ..model.catalog import DEFAULT_MODEL, resolve
    from ..model.runtime import load_model_dir
    from ..model import adapters
    from ..progress import progress_printer
    from .dataset import build_dataset
    from .packing import describe_data, pack
    from .train import TuneSettings

    repo = check_args(args)
    name = args.name
    base = (args.model or load_settings()[0].default_model).strip()
    canonical = DEFAULT_MODEL if base.lower() in (DEFAULT_MODEL, "default") else base
    if adapters.split_spec(base) and adapters.find(base):
        raise TuneError(f"--model {base} is a tuned model; give its base model ({base.rpartition('+')[0]})")
    if args.eval_only:
        spec = adapters.spec_for(canonical, name)
        if adapters.find(spec) is None:
            raise TuneError(f"No tuned model {spec} to compare; train it first (mlxagent tune --name {name})")
        base_dir, base_name = resolve(base, progress=progress_printer(base))
        return _evaluate(base_dir, base_name, spec, args.eval_count)
    sessions = ([], 0) if args.no_sessions else session_examples(repo)
    if not sessions[0] and not args.synthetic:
        raise no_data(args, repo)
    base_dir, base_name = resolve(base, progress=progress_printer(base))
    spec = adapters.spec_for(base_name, name)
    loaded = load_model_dir(base_dir, base_name)
    tool_format = detect_format(f"{loaded.name} {loaded.path}", getattr(loaded.tokenizer, "chat_template", None))
    settings = TuneSettings()
    data = gather(args, repo, sessions, base_name, tool_format)
    dataset = build_dataset(loaded.tokenizer, tool_format, data.examples, settings.max_seq_length)
    figures = describe_data(dataset.items) if dataset.items else {}
    print(f"dataset: {len(data.examples)} examples ({data.from_sessions} from {data.sessions} session(s), "
          f"{data.synthetic} from {data.traces} generated trace(s))")
    if dataset.dropped_long or dataset.dropped_broken:
        print(f"  left out: {dataset.dropped_long} longer than {settings.max_seq_length} tokens, "
              f"{dataset.dropped_broken} the chat template cannot render")
    if not dataset.items:
        raise TuneError("Every example was left out; nothing to train on")
    seqs = len(pack(dataset.items))
    steps = args.steps or max(1, math.ceil(DEFAULT_EPOCHS * seqs / settings.batch_size))
    settings = replace(settings, steps=steps)
    print(f"  {figures['examples']} examples in {figures['sequences']} sequences, {figures['tokens']:,} tokens "
          f"({figures['target_tokens']:,} learnt; median {figures['median']}, longest {figures['longest']}; "
          f"{figures['shared_prefix']} shared by all)")
    print(f"  training: {steps} steps of {settings.batch_size}, LoRA rank {settings.rank} on the last "
          f"{settings.layers} blocks, learning rate {settings.learning_rate:g}; base {base_name} ({base_dir})")
    if args.dry_run:
        return 0
    result, info = train_into_store(loaded, base_name, base_dir, name, dataset, settings, data)
    if result.cancelled and info is None:
        print(f"Stopped at step {result.steps} of {steps}: nothing was saved (no checkpoint yet).")
        return 130
    if result.cancelled:
        print(f"Stopped at step {result.steps} of {steps}: kept the checkpoint of step {result.saved_step} as {spec}.")
    else:
        print(f"{spec}: trained in {_duration(result.seconds)} ({result.steps} steps, loss {result.loss:.3f}); "
              f"saved at {info.path}")
    print(f"Use it with `mlxagent --model {spec}`, `mlxagent run --model {spec} ...` or /model {spec}.")
    if args.eval and not result.cancelled:
        del loaded
        return _evaluate(base_dir, base_name, spec, args.eval_count)
    return 130 if result.cancelled else 0


def train_into_store(loaded, base_name: str, base_dir: Path, name: str, dataset, settings, data: Data | None = None,
                     progress=None, cancel=None):
    """Train on `dataset` and install the adapter as base_name+name. Returns (TrainResult,
    AdapterInfo or None when nothing was saved). `loaded`'s model gets the LoRA layers."""
    from ..model import adapters
    from .adapters import install
    from .packing import describe_data, pack
    from .train import adapter_config, train_lora, write_json

    staging = adapters.root() / f".tune-{name}-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    write_json(staging / adapters.CONFIG, adapter_config(settings, str(base_dir)))
    show = progress or progress_line()
    if hasattr(show, "state"):
        seqs = pack(dataset.items)
        batches = max(1, math.ceil(len(seqs) / min(settings.batch_size, len(seqs))))
        show.state["tokens_per_step"] = sum(len(s.tokens) for s in seqs) / batches
    try:
        result = train_lora(loaded.model, dataset.items, staging, settings, progress=show, cancel=cancel)
        if result.saved_step == 0:
            return result, None
        meta = {"created": time.time(), "date": time.strftime("%Y-%m-%d %H:%M"), "base_path": str(base_dir),
                "steps": result.saved_step, "steps_planned": settings.steps, "cancelled": result.cancelled,
                "loss": result.loss, "seconds": round(result.seconds, 1),
                "prepare_seconds": round(result.prepare_seconds, 1), "settings": adapter_config(settings, "")["mlxagent"],
                "dataset": {**describe_data(dataset.items), "dropped_long": dataset.dropped_long,
                            "from_sessions": data.from_sessions if data else 0,
                            "sessions": data.sessions if data else 0,
                            "synthetic": data.synthetic if data else 0, "traces": data.traces if data else 0}}
        info = install(staging, base_name, name, meta)
        return result, info
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _evaluate(base_dir: Path, base_name: str, spec: str, count: int) -> int:
    from ..model.catalog import resolve
    from ..model.runtime import load_model_dir
    from .evaluate import EVAL_CONFIG, EVAL_SEED, eval_tasks, run_eval

    tasks = eval_tasks(count)
    print(f"Comparing on {len(tasks)} held-out generated tasks (seed {EVAL_SEED}, modules not trained on; "
          f"tests on, candidate search off):")
    tuned_dir, _ = resolve(spec)
    models = {base_name: load_model_dir(base_dir, base_name), spec: load_model_dir(tuned_dir, spec)}

    def row(label: str, r: dict) -> None:
        mark = "PASS" if r["passed"] else "fail"
        print(f"  {label:28} {mark} {r['task']:36} {r['reason']:14} {r['seconds']:6.1f}s", flush=True)

    report = run_eval(models, tasks, EVAL_CONFIG, on_row=row)
    print()
    for line in report.lines():
        print(line)
    return 0
