"""Generated traces (`mlxagent tune --synthetic N`): the real agent, with the tests on, on tasks
from the bug-fix task generator (mlxagent/tasksuite), driven by a scripted model that reads the
named file and then writes the correct edit_file call (`small_change`: the changed line as a
traceback shows it, without its indentation). Every second trace first writes a wrong
edit (another line, mutated as the generator mutates lines), which the tests reject and the agent
undoes, before the right one: the rejected edit is context, never a target, and the model learns
what to do after an undone edit.

Everything the model would see comes from the agent itself (the test output appended to the
request, the step numbers and guard notes in tool results), so a trace's prompts are the ones
the tuned model meets at work. Traces come from the generator's main modules only; the held-out
modules are kept for `mlxagent tune --eval`.
"""

from __future__ import annotations

import json
import os
import random
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

from .dataset import Trace

TRAIN_SEED = 1  # the evaluation uses other seeds (evaluate.EVAL_SEED) and other modules
RETRY_EVERY = 2  # every second trace makes a wrong edit first, undone by the tests, then the fix


class ScriptedModel:
    """Says each of `replies` in turn (then "Done."), under the name and format of the model it
    stands in for, so that the agent treats it as it treats that model."""

    def __init__(self, name: str, tool_format: str, replies: list[str], weak_tool_use: bool = True,
                 context_length: int = 8192):
        self.name = name
        self.tool_format = tool_format
        self.weak_tool_use = weak_tool_use
        self.context_length = context_length
        self.replies = list(replies)

    def count_tokens(self, messages, tools) -> int:
        return len(json.dumps(messages)) // 4

    def stream(self, messages, tools, **_):
        from ..core.events import GenerationStats
        from ..core.llm import Chunk

        text = self.replies.pop(0) if self.replies else "Done."
        yield Chunk(text)
        yield Chunk("", "stop", GenerationStats(generated_tokens=len(text) // 4))


@contextmanager
def quiet_pytest() -> Iterator[None]:
    """Task repos need no pytest plugins; loading this environment's adds seconds to each run."""
    saved = os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD")
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("PYTEST_DISABLE_PLUGIN_AUTOLOAD", None)
        else:
            os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = saved


def small_change(old: str, new: str) -> tuple[str, str]:
    """The (search, replace) of an edit_file call that turns `old` into `new`: for a change inside
    one line, that line without its indentation and line end (as a failing test's traceback shows
    it: `count, number = divmod(value, number)`), when it is unique in `old`; otherwise whole lines
    (`core.repair.first_change`)."""
    from ..core.repair import first_change

    if old == new:
        return "", ""
    p = 0
    while p < min(len(old), len(new)) and old[p] == new[p]:
        p += 1
    q = 0
    while q < min(len(old), len(new)) - p and old[-1 - q] == new[-1 - q]:
        q += 1
    if "\n" in old[p:len(old) - q] or "\n" in new[p:len(new) - q]:
        return first_change(old, new)
    start = old.rfind("\n", 0, p) + 1
    end_old = old.find("\n", p)
    end_new = new.find("\n", p)
    line_old = old[start:len(old) if end_old == -1 else end_old]
    line_new = new[start:len(new) if end_new == -1 else end_new]
    indent = len(line_old) - len(line_old.lstrip())
    search, replace = line_old[indent:].rstrip("\r"), line_new[indent:].rstrip("\r")
    if (p - start < indent or not search.strip() or old.count(search) != 1
            or line_new[:indent] != line_old[:indent]):
        return first_change(old, new)
    return search, replace


def wrong_edit(task: Any, rng: random.Random) -> tuple[str, str] | None:
    """A plausible wrong fix: one of the generator's mutations of another line of the module,
    as (search, replace) on the buggy file. The agent's tests undo it; the trace then shows the
    model going on to the right fix (what a retry after an undone edit should look like)."""
    from ..tasksuite._mutate import mutants

    (path, fixed), = task.fixed.items()
    buggy = task.files[path]
    bug = set(range(task.line - 1, task.line + 2))  # stay clear of the bug's line and its neighbours
    choices = []
    found = mutants(fixed)
    for kind in sorted(found):
        for m in found[kind]:
            if m.line in bug or m.kind == "drop_guard":
                continue
            search, replace = small_change(fixed, m.source)
            if search and buggy.count(search) == 1 and search != replace:
                choices.append((search, replace))
    return rng.choice(choices) if choices else None


def fix_calls(task: Any, tool_format: str, retry: bool = False) -> list[str]:
    """The scripted replies for a generated task: read the buggy module, then (with `retry`, after
    a wrong edit the tests undo) the exact fix."""
    from ..core.formats import format_for

    fmt = format_for(tool_format)
    (path, fixed), = task.fixed.items()
    search, replace = small_change(task.files[path], fixed)
    replies = [fmt.call_text("read_file", {"path": path})]
    if retry and (wrong := wrong_edit(task, random.Random(task.id))) is not None:
        replies.append(fmt.call_text("edit_file", {"path": path, "search": wrong[0], "replace": wrong[1]}))
    replies.append(fmt.call_text("edit_file", {"path": path, "search": search, "replace": replace}))
    return replies


def record_turn(agent: Any, text: str, trace_id: str, cancel: threading.Event | None = None) -> Trace:
    """Run one turn and keep it as a session would: messages, and every event with its sequence
    number and how many messages there were when it came."""
    events: list[dict[str, Any]] = []
    for n, event in enumerate(agent.run_turn(text, cancel=cancel)):
        d = event.to_dict()
        d.update(seq=n, n_messages=len(agent.messages) - 1)
        events.append(d)
    return Trace(trace_id, [dict(m) for m in agent.messages[1:]], events, model=agent.model.name,
                 settings={"system_prompt": agent.messages[0]["content"]})


def task_trace(task: Any, model_name: str, tool_format: str, replies: list[str] | None = None,
               cancel: threading.Event | None = None, retry: bool = False) -> Trace:
    """The trace of the scripted model fixing `task`, with the bench harness's agent (tests on,
    candidate search off, every proposal accepted); `retry`: a wrong edit first (`fix_calls`)."""
    from ..tasksuite import materialize
    from ..tasksuite.harness import build_agent

    with tempfile.TemporaryDirectory(prefix="mlxagent-trace-") as tmp, quiet_pytest():
        repo = materialize(task, Path(tmp) / "repo")
        model = ScriptedModel(model_name, tool_format,
                              replies if replies is not None else fix_calls(task, tool_format, retry))
        agent = build_agent(repo, "d", model, max_steps=6, max_tokens=256)
        return record_turn(agent, task.text, f"synthetic-{task.id}", cancel)


def solved(trace: Trace) -> bool:
    """Whether the scripted fix went in and the tests passed after it."""
    return any(e.get("event") == "TestResult" and e.get("after_edit") and e.get("ok") for e in trace.events)


def synthetic_traces(count: int, model_name: str, tool_format: str, seed: int = TRAIN_SEED,
                     progress: Callable[[int, int], None] | None = None,
                     cancel: threading.Event | None = None, retry_every: int = RETRY_EVERY) -> list[Trace]:
    """`count` traces of generated tasks from the main modules (those whose fix did not pass, if
    any, are left out); every `retry_every`-th one (0: none) tries a wrong edit first."""
    from ..tasksuite import generate

    if count <= 0:
        return []
    tasks = generate(seed, count)
    out = []
    for n, task in enumerate(tasks):
        if cancel is not None and cancel.is_set():
            break
        retry = bool(retry_every) and n % retry_every == retry_every - 1
        trace = task_trace(task, model_name, tool_format, cancel=cancel, retry=retry)
        if solved(trace):
            out.append(trace)
        if progress:
            progress(n + 1, len(tasks))
    return out
