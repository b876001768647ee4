"""Record real agent traffic: every generation request of one agent turn, as the model got it.

    .venv/bin/python bench/agent_traffic.py [--fixture off_by_one] [--out bench/results/agent_traffic.json]

Runs the real agent (default model, guard on, edits accepted, no commands) on a copy of a fixture
repository and saves, for each generation: the messages, the tool schemas, the constraint (its
tools and whether it was forced) and the text generated. `bench/runtime.py` replays these as its
speculative-decoding workloads (the forced edit after a read, an unforced tool call).
"""

from __future__ import annotations

import argparse
import copy
import json
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_REQUEST = "The tests fail: fix the bug in the code."


def record(fixture: str = "off_by_one", request: str = DEFAULT_REQUEST, max_steps: int = 12) -> list[dict]:
    from mlxagent.core import events as ev
    from mlxagent.builder import build_session

    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp) / fixture
        shutil.copytree(ROOT / "fixtures" / fixture, repo)
        subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
        subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
        subprocess.run(["git", "-c", "user.name=b", "-c", "user.email=b@b", "commit", "-qm", "fixture"],
                       cwd=repo, check=True)
        agent, _runtime, _ = build_session(str(repo), None, auto_approve=True, max_steps=max_steps,
                                           allow_commands=False, auto_test=False)
        model = agent.model
        calls: list[dict] = []
        inner = model.stream

        def recording(messages, tools, *, constraint=None, **kw):
            entry = {"messages": copy.deepcopy(messages), "tools": copy.deepcopy(tools),
                     "constraint": None if constraint is None else
                     {"tools": copy.deepcopy(constraint.tools), "forced": constraint.forced},
                     "max_tokens": kw.get("max_tokens"), "text": ""}
            calls.append(entry)
            for chunk in inner(messages, tools, constraint=constraint, **kw):
                entry["text"] += chunk.text
                yield chunk

        model.stream = recording
        for event in agent.run_turn(request, threading.Event()):
            if isinstance(event, ev.ProposalReady) and not event.reply.done():
                event.reply.set_result(ev.Review.accept_all(len(event.proposal.hunks)))
            if isinstance(event, ev.CommandApproval) and not event.reply.done():
                event.reply.set_result(ev.CommandDecision.refuse("benchmark"))
        return calls


def pick(calls: list[dict]) -> dict[str, dict]:
    """The workloads: the first forced edit generation that follows a file read, and the first
    generation that wrote a read-only call (read_file, search, list_files)."""
    out: dict[str, dict] = {}
    for call in calls:
        c = call["constraint"]
        names = {t["function"]["name"] for t in (c or {}).get("tools", [])}
        read_before = any(m.get("role") == "tool" and m.get("name") == "read_file" for m in call["messages"])
        if c and c["forced"] and names <= {"edit_file", "write_file"} and read_before:
            out.setdefault("forced_edit", call)
        elif c and any(f'"name": "{n}"' in call["text"] for n in ("read_file", "search", "list_files")):
            out.setdefault("read_call", call)
    return out


def main() -> None:
    from mlxagent.blas import reexec_openblas

    reexec_openblas(__file__)
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fixture", default="off_by_one")
    ap.add_argument("--request", default=DEFAULT_REQUEST)
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "agent_traffic.json"))
    args = ap.parse_args()
    calls = record(args.fixture, args.request)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"fixture": args.fixture, "request": args.request, "calls": calls},
                                         indent=1))
    for i, call in enumerate(calls):
        c = call["constraint"]
        kind = "none" if c is None else ("forced " if c["forced"] else "") + ",".join(
            sorted({t["function"]["name"] for t in c["tools"]}))
        print(f"{i:2d} {kind:60s} {call['text'][:60]!r}")
    print(f"{len(calls)} generations -> {args.out}; workloads: {sorted(pick(calls))}")


if __name__ == "__main__":
    main()
