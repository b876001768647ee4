"""Project instructions: AGENTS.md (and CLAUDE.md, CONVENTIONS.md, .mlxagent/instructions.md) at
the repository root, read into the system prompt; and `/init`, which drafts an AGENTS.md.

Every file present is read, in that order (the same text twice, as when CLAUDE.md links to
AGENTS.md, counts once), up to `max_chars` in all: a small model's context is short, so the
cut is said in the prompt and shown in the status bar.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from .events import ErrorEvent, Event, ProposalReady, TextDelta, wait_for_reply

INSTRUCTION_FILES = ("AGENTS.md", "CLAUDE.md", "CONVENTIONS.md", ".mlxagent/instructions.md")
DEFAULT_MAX_CHARS = 6000
MAX_FILE_BYTES = 1_000_000  # larger is not a note for an agent; read the start only
HEADER = "Project instructions (from {names}); follow them:"


@dataclass(frozen=True)
class ProjectInstructions:
    sources: tuple[str, ...]  # the files read, repo-relative
    text: str  # what goes into the system prompt (cut to the limit)
    total_chars: int  # the files' length before the cut

    @property
    def cut(self) -> bool:
        return self.total_chars > len(self.text)

    def label(self) -> str:
        """The status bar's words: "AGENTS.md 1.2k" or "AGENTS.md +1 4.0k/9.1k (cut)"."""
        name = self.sources[0] + (f" +{len(self.sources) - 1}" if len(self.sources) > 1 else "")
        size = _k(len(self.text)) if not self.cut else f"{_k(len(self.text))}/{_k(self.total_chars)} (cut)"
        return f"{name} {size}"


def _k(chars: int) -> str:
    return f"{chars / 1000:.1f}k" if chars >= 1000 else str(chars)


def load_instructions(root: str | Path, max_chars: int = DEFAULT_MAX_CHARS) -> ProjectInstructions | None:
    """The repository's instructions, or None when it has none (or none readable)."""
    root = Path(root)
    parts: list[tuple[str, str]] = []
    seen: set[str] = set()
    for name in INSTRUCTION_FILES:
        path = root / name
        try:
            if not path.is_file() or not path.resolve().is_relative_to(root.resolve()):
                continue
            with path.open("rb") as f:
                data = f.read(MAX_FILE_BYTES)
        except OSError:
            continue
        if b"\0" in data[:4096]:
            continue  # not text
        text = data.decode("utf-8", errors="replace").strip()
        if not text or text in seen:
            continue
        seen.add(text)
        parts.append((name, text))
    if not parts:
        return None
    total = sum(len(text) for _, text in parts)
    body = "\n\n".join(text if len(parts) == 1 else f"## {name}\n{text}" for name, text in parts)
    if len(body) > max_chars:
        body = body[:max_chars].rstrip() + f"\n[… cut here: {total - max_chars} more characters not shown]"
    return ProjectInstructions(tuple(name for name, _ in parts), body, total)


def system_prompt(base: str, instructions: ProjectInstructions | None) -> str:
    if instructions is None:
        return base
    return f"{base}\n\n{HEADER.format(names=', '.join(instructions.sources))}\n{instructions.text}"


def apply_instructions(agent, max_chars: int = DEFAULT_MAX_CHARS) -> ProjectInstructions | None:
    """Read the repository's instructions into `agent`'s system prompt (again, after they changed)."""
    instructions = load_instructions(agent.toolbox.workspace.root, max_chars)
    agent.instructions = instructions
    agent.set_system_prompt(system_prompt(agent.base_prompt, instructions))
    return instructions


# -- /init ----------------------------------------------------------------------------------

INIT_PROMPT = (
    "Here is a software project. Write two or three plain sentences for a new contributor: what the "
    "project does and where its main code is. No lists, no headings.\n\nFiles:\n{files}\n\n{readme}"
)
LANGUAGES = {".py": "Python", ".js": "JavaScript", ".ts": "TypeScript", ".go": "Go", ".rs": "Rust",
             ".java": "Java", ".rb": "Ruby", ".c": "C", ".cpp": "C++", ".swift": "Swift", ".kt": "Kotlin",
             ".php": "PHP", ".cs": "C#", ".sh": "shell"}


def draft_facts(files: list[str], test_command: str | None) -> dict[str, Any]:
    """What /init can say about a repository without a model: languages, layout, tests."""
    languages = Counter(LANGUAGES[Path(f).suffix] for f in files if Path(f).suffix in LANGUAGES)
    top = sorted({f.split("/", 1)[0] + ("/" if "/" in f else "") for f in files})
    tests = sorted({f.split("/", 1)[0] + "/" for f in files if "/" in f and f.split("/", 1)[0] in ("tests", "test")})
    return {"languages": [name for name, _ in languages.most_common(3)], "top": top[:20],
            "more": max(0, len(top) - 20), "test_command": test_command, "test_dirs": tests}


def render_draft(summary: str, facts: dict[str, Any]) -> str:
    lines = ["# AGENTS.md", "", "Instructions for coding agents working in this repository.", "", "## Project", ""]
    lines.append(summary.strip() or "(Describe the project in a sentence or two.)")
    lines += ["", "## Layout", ""]
    lines += [f"- `{entry}`" for entry in facts["top"]]
    if facts["more"]:
        lines.append(f"- … and {facts['more']} more")
    lines += ["", "## Tests", ""]
    if facts["test_command"]:
        lines.append(f"Run the tests with `{facts['test_command']}`; they must pass after every change.")
    else:
        lines.append("(Say how to run the tests.)")
    lines.append("Fix the code, not the tests, unless the task is about the tests.")
    lines += ["", "## Conventions", ""]
    if facts["languages"]:
        lines.append(f"- Written in {', '.join(facts['languages'])}; keep to the style of the code around a change.")
    lines.append("- Make small, focused changes.")
    return "\n".join(lines) + "\n"


def _readme(root: Path, files: list[str]) -> str:
    name = next((f for f in files if "/" not in f and f.lower().startswith("readme")), None)
    if name is None:
        return ""
    try:
        return f"{name}:\n" + (root / name).read_text(encoding="utf-8", errors="replace")[:1500]
    except OSError:
        return ""


def init_instructions(agent, cancel: threading.Event | None = None, max_tokens: int = 160) -> Iterator[Event]:
    """`/init`: draft an AGENTS.md for this repository (layout and tests from the repo, a summary by
    the model) and offer it as a proposal, reviewed like any edit. An AGENTS.md already there is
    not overwritten."""
    cancel = cancel or threading.Event()
    ws = agent.toolbox.workspace
    root = Path(ws.root)
    if (root / "AGENTS.md").exists():
        yield ErrorEvent("AGENTS.md already exists; edit it, or delete it and run /init again.")
        return
    files = ws.list_files()
    command = agent.toolbox.context.test_command
    facts = draft_facts(files, command.display() if command is not None else None)
    summary = ""
    if agent.model is not None:
        prompt = INIT_PROMPT.format(files="\n".join(files[:60]), readme=_readme(root, files))
        messages = [{"role": "system", "content": "You describe software projects briefly and plainly."},
                    {"role": "user", "content": prompt}]
        for chunk in agent.model.stream(messages, [], max_tokens=max_tokens, cancel=cancel):
            if chunk.text:
                summary += chunk.text
                yield TextDelta(chunk.text)
        if cancel.is_set():
            return
    from .proposals import Proposal

    proposal = Proposal("AGENTS.md", None, render_draft(_first_sentences(summary), facts).encode("utf-8"),
                        note="drafted by /init: the layout and tests from the repository, the summary by the model")
    agent.toolbox.proposals.add(proposal)
    event = ProposalReady(proposal)
    yield event
    review = wait_for_reply(event.reply, cancel)
    if review is None:
        agent.toolbox.proposals.discard(proposal)
        return
    yield agent.toolbox.proposals.apply(proposal, review)


def _first_sentences(text: str, limit: int = 3) -> str:
    """The model's summary, cut to whole sentences (a small model runs on)."""
    text = " ".join(text.replace("#", " ").split())
    out, count = "", 0
    for piece in text.split(". "):
        if not piece:
            continue
        out += piece.rstrip(".") + ". "
        count += 1
        if count >= limit:
            break
    return out.strip()
