"""The context budget: keeping the prompt inside the model's context, and compaction.

`fit_context` runs before each generation of a turn: near the context's end it shortens older
tool results, or (with `context_strategy = "compact"`) compacts the turns before this one first.

Compaction: the conversation so far becomes one summary message.

`/compact` asks the model for a summary and shows it before anything changes (a
`CompactionReady` the user confirms); with `context_strategy = "compact"` the agent does the
same by itself when the prompt passes its high-water mark, keeping the turn in progress whole.
A small model's summary is unreliable, so the summary always begins with what the
conversation shows for certain (the requests, the files read and edited, the last test
result) and the model's own words follow.

The KV cache stays consistent on its own: the model reuses the longest common token prefix
of the new prompt (the system prompt) and computes the rest.
"""

from __future__ import annotations

import threading
from typing import Any, Iterator

from .events import CompactionReady, ContextCompacted, ContextTrimmed, Event, TextDelta, wait_for_reply
from .formats.calls import call_arguments
from .tools import EDIT_TOOLS

SUMMARY_HEADER = "[Summary of the conversation so far; the older messages were compacted into it]"
ACKNOWLEDGE = "Understood; I will continue from this summary."
SUMMARY_PROMPT = (
    "Summarise the conversation below for whoever continues it: what the user asked, what was "
    "found and changed, and what is still to do. Three to five short sentences.\n\n{transcript}"
)
TRANSCRIPT_CHARS = 6000
SHORTENED = "\n[… shortened to save context; call the tool again if you need it]"


def _calls(message: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [((call.get("function") or {}).get("name", ""), call_arguments(call))
            for call in message.get("tool_calls") or ()]


def _first_line(text: str, limit: int = 160) -> str:
    line = next((line.strip() for line in (text or "").splitlines() if line.strip()), "")
    return line[:limit] + ("…" if len(line) > limit else "")


def conversation_facts(messages: list[dict[str, Any]]) -> str:
    """What the messages show for certain, as a few lines."""
    requests, read, edited, last_test = [], [], [], ""
    results = {m.get("tool_call_id"): m.get("content", "") for m in messages if m.get("role") == "tool"}
    for message in messages:
        role, content = message.get("role"), message.get("content") or ""
        if role == "user" and not content.startswith(("[", "Tool call error", "The tests still fail")):
            requests.append(_first_line(content))
        for call, (name, arguments) in zip(message.get("tool_calls") or (), _calls(message)):
            path = str(arguments.get("path", ""))
            result = results.get(call.get("id"), "")
            if name == "read_file" and path:
                read.append(path)
            elif name in EDIT_TOOLS and path and "pplied" in result.split("\n", 1)[0]:
                edited.append(path)
        if role in ("tool", "user"):
            runs = [line.strip() for line in content.splitlines() if line.strip().startswith("Tests: ")]
            if runs:
                last_test = _first_line(runs[-1])
    lines = []
    if requests:
        lines.append("Requests: " + " | ".join(dict.fromkeys(requests)))
    if read:
        lines.append("Files read: " + ", ".join(dict.fromkeys(read)))
    if edited:
        lines.append("Files edited (applied): " + ", ".join(dict.fromkeys(edited)))
    if last_test:
        lines.append("Last test result: " + last_test)
    return "\n".join(lines)


def transcript_text(messages: list[dict[str, Any]], limit: int = TRANSCRIPT_CHARS) -> str:
    """The conversation as plain text for the summariser, newest kept when it is too long."""
    lines = []
    for message in messages:
        role, content = message.get("role"), (message.get("content") or "").strip()
        if role == "user":
            lines.append("User: " + content[:800])
        elif role == "assistant":
            text = content[:600]
            calls = ", ".join(f"{name}({arguments.get('path', '')})" for name, arguments in _calls(message))
            lines.append("Assistant: " + (text + (" " if text and calls else "") + (f"[calls {calls}]" if calls else "")))
        elif role == "tool":
            lines.append(f"Tool {message.get('name', '')}: " + content[:300].replace("\n", " "))
    text = "\n".join(lines)
    return text if len(text) <= limit else "…" + text[-limit:]


def summarise(model, messages: list[dict[str, Any]], cancel: threading.Event, max_tokens: int = 200) -> Iterator[str]:
    """The model's summary of `messages`, streamed."""
    prompt = [{"role": "system", "content": "You summarise conversations between a user and a coding agent."},
              {"role": "user", "content": SUMMARY_PROMPT.format(transcript=transcript_text(messages))}]
    for chunk in model.stream(prompt, [], max_tokens=max_tokens, cancel=cancel):
        if chunk.text:
            yield chunk.text


def summary_text(facts: str, words: str, transcript: str = "") -> str:
    """The facts, then the model's words, unless they only copy the transcript back (small
    models do)."""
    words = " ".join(words.split())
    flat = " ".join(transcript.split())
    if words.startswith(("User:", "Assistant:", "Tool ")) or (len(words) >= 40 and words[:40] in flat):
        words = ""
    return "\n".join(part for part in (SUMMARY_HEADER, facts, words) if part)


def replacement(summary: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": summary}, {"role": "assistant", "content": ACKNOWLEDGE}]


def compact(agent, cancel: threading.Event | None = None, *, confirm: bool = True, keep_from: int | None = None,
            max_tokens: int = 200) -> Iterator[Event]:
    """Replace agent.messages[1:keep_from] with a summary (all of them when `keep_from` is None).
    With `confirm`, a `CompactionReady` waits for the user's yes first. Returns True when the
    messages were replaced."""
    cancel = cancel or threading.Event()
    end = len(agent.messages) if keep_from is None else keep_from
    old = agent.messages[1:end]
    if not old:
        return False
    tools = agent.toolbox.schemas()
    before = agent.model.count_tokens(agent.messages, tools)
    words = ""
    for text in summarise(agent.model, old, cancel, max_tokens):
        words += text
        if confirm:
            yield TextDelta(text)
    if cancel.is_set():
        return False
    summary = summary_text(conversation_facts(old), words, transcript_text(old))
    new = agent.messages[:1] + replacement(summary) + agent.messages[end:]
    after = agent.model.count_tokens(new, tools)
    if confirm:
        ready = CompactionReady(summary, len(agent.messages), before, after)
        yield ready
        if not wait_for_reply(ready.reply, cancel):
            return False
    messages_before = len(agent.messages)
    agent.messages = new
    agent.guard.forget_reads()  # the old results are gone: never answer "see that result"
    what = "automatically, the context being nearly full" if not confirm else "as asked"
    yield ContextCompacted(before, after, messages_before, len(new), not confirm, summary,
                           f"Compacted {what}: {messages_before - 1} messages ({before} tokens) became a summary; "
                           f"the prompt is now {after} tokens.")
    return True


def fit_context(agent) -> Iterator[Event]:
    """Shorten older tool results (or compact earlier turns) when the prompt nears the model's
    context length."""
    config = agent.config
    tools = agent.toolbox.schemas()
    limit = int((agent.model.context_length - config.max_tokens) * config.context_high_water)
    before = agent.model.count_tokens(agent.messages, tools)
    if before <= limit:
        return
    if config.context_strategy == "compact" and agent.turn_start > 1:
        done = yield from compact(agent, None, confirm=False, keep_from=agent.turn_start,
                                  max_tokens=max(64, config.max_tokens // 4))
        if done:
            agent.turn_start = 3  # system, summary, acknowledgement; then this turn
            before = agent.model.count_tokens(agent.messages, tools)
            if before <= limit:
                return
    tool_messages = [m for m in agent.messages if m["role"] == "tool"]
    shortened = 0
    for message in tool_messages[:-1]:  # the newest result stays whole
        if len(message["content"]) > config.keep_tool_chars and not message["content"].endswith(SHORTENED):
            message["content"] = message["content"][: config.keep_tool_chars] + SHORTENED
            shortened += 1
    if not shortened:
        return  # nothing left to shorten; the model's own length limit ends the turn if it must
    agent.guard.forget_reads()
    after = agent.model.count_tokens(agent.messages, tools)
    yield ContextTrimmed(before, after, f"Context nearly full ({before} tokens): older tool results were "
                                       f"shortened to {after} tokens.")
