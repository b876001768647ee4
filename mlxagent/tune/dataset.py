"""Training examples from the user's own accepted work, rendered exactly as the model sees it.

A saved session (core/saved_sessions.py) is a conversation plus the agent's events. An edit call is a
*target* when every proposal it made was applied whole ("applied"; a partly applied or rejected
proposal, a failed one, or a call that proposed nothing is not), and no test run after the edits
of its step failed. The example's prompt is the conversation before the assistant message that
made the call (with the system prompt and the tools the agent lists), its completion that
message cut to the accepted edit calls, in the model's own tool-call format. Edits found by the
candidate search (core/repair) appear as an assistant message too and are targets the same
way; the sentence the search writes beside its call is not learnt (the model never wrote it).

Pure functions over records: anything with `.id`, `.messages` (without the system message) and
`.events` (event dicts with "event"), as `SessionRecord` has them, or the `Trace`s that
tune/synthetic.py makes. Rendering (`render_example`) needs the model's tokenizer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

from ..core.formats.calls import call_arguments
from ..core.prompts import SYSTEM_PROMPT
from ..core.tools import EDIT_TOOLS, READ_ONLY_TOOLS

SEARCH_NOTE = "A candidate fix passes the tests in a scratch copy"  # core/agent.py's _repair message


@dataclass(frozen=True)
class Example:
    source: str                    # "<record id>#<message index>"
    messages: list[dict[str, Any]]  # what the model saw: the system message, then the history
    target: dict[str, Any]          # the assistant message to learn
    tools: list[dict[str, Any]]     # the tool schemas the prompt lists


@dataclass
class Trace:
    """A conversation with its events, shaped like a saved session (for generated traces)."""

    id: str
    messages: list[dict[str, Any]]
    events: list[dict[str, Any]]
    repo: str = ""
    model: str = ""
    settings: dict[str, Any] = field(default_factory=dict)


@dataclass
class Rendered:
    """One example as tokens: the prompt's, then the completion's (loss on these only)."""

    source: str
    tokens: list[int]
    offset: int  # len(prompt tokens)

    @property
    def completion_tokens(self) -> int:
        return len(self.tokens) - self.offset


@dataclass
class Dataset:
    items: list[Rendered]
    dropped_long: int = 0    # longer than max_seq_length (cut from the left would change the prompt)
    dropped_broken: int = 0  # the template could not render the target after its prompt

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, idx: int) -> tuple[list[int], int]:  # what mlx-lm's trainer iterates
        item = self.items[idx]
        return item.tokens, item.offset

    @property
    def tokens(self) -> int:
        return sum(len(i.tokens) for i in self.items)


def agent_tools() -> list[dict[str, Any]]:
    """The schemas the agent lists in every prompt (the toolbox's default tools, in order)."""
    from ..core.tools import ALL_TOOLS

    return [spec.schema() for spec in ALL_TOOLS]


# -- targets ----------------------------------------------------------------------------------

def _call_verdicts(events: Sequence[Mapping[str, Any]]) -> tuple[dict[str, list[str]], dict[str, list[bool]]]:
    """Per call id: the outcomes of its proposals, and the results of the test runs after them."""
    proposal_call: dict[str, str] = {}
    outcomes: dict[str, list[str]] = {}
    tests: dict[str, list[bool]] = {}
    current: str | None = None
    for e in events:
        kind = e.get("event")
        if kind == "ToolCallStarted":
            current = str(e.get("call_id", ""))
            outcomes.setdefault(current, [])
        elif kind == "ToolCallFinished":
            current = None
        elif kind == "ProposalReady" and current is not None:
            pid = str((e.get("proposal") or {}).get("id", ""))
            if pid:
                proposal_call[pid] = current
        elif kind == "ProposalResolved":
            call = proposal_call.get(str(e.get("proposal_id", "")))
            if call is not None:
                outcomes.setdefault(call, []).append(str(e.get("outcome", "")))
        elif kind == "TestResult" and e.get("after_edit"):
            call = proposal_call.get(str(e["after_edit"]))
            if call is not None:
                tests.setdefault(call, []).append(bool(e.get("ok")))
    return outcomes, tests


def accepted_calls(record: Any) -> dict[int, list[str]]:
    """Message index -> ids of the edit calls of that assistant message that are targets."""
    outcomes, tests = _call_verdicts(record.events)
    out: dict[int, list[str]] = {}
    for i, m in enumerate(record.messages):
        if m.get("role") != "assistant" or not m.get("tool_calls"):
            continue
        edits = [c for c in m["tool_calls"] if (c.get("function") or {}).get("name") in EDIT_TOOLS]
        # The tests after a step run once, after its last edit: a failure there counts for all of it.
        step_failed = any(not ok for c in edits for ok in tests.get(str(c.get("id")), []))
        if step_failed:
            continue
        good = [str(c.get("id")) for c in edits
                if (o := outcomes.get(str(c.get("id")))) and all(x == "applied" for x in o)]
        if good:
            out[i] = good
    return out


def _read_targets(record: Any, before: int) -> dict[int, list[str]]:
    """The read-only calls (none of them failed) since the last user message before message `before`."""
    failed = {str(e.get("call_id")) for e in record.events
              if e.get("event") == "ToolCallFinished" and e.get("is_error")}
    start = max((i for i in range(before) if record.messages[i].get("role") == "user"), default=0)
    out: dict[int, list[str]] = {}
    for i in range(start, before):
        m = record.messages[i]
        if m.get("role") != "assistant" or not m.get("tool_calls"):
            continue
        calls = m["tool_calls"]
        if all((c.get("function") or {}).get("name") in READ_ONLY_TOOLS and str(c.get("id")) not in failed for c in calls):
            out[i] = [str(c.get("id")) for c in calls]
    return out


def examples_from_record(record: Any, *, system_prompt: str | None = None,
                         tools: list[dict[str, Any]] | None = None, include_reads: bool = False) -> list[Example]:
    """The training examples of one session: one per assistant message with an accepted edit.

    `include_reads`: the successful read-only calls that led up to an accepted edit in the same
    turn are targets too (for generated traces, whose every step is the right one)."""
    settings = getattr(record, "settings", None) or {}
    system = system_prompt or settings.get("system_prompt") or SYSTEM_PROMPT
    tools = tools if tools is not None else agent_tools()
    targets = accepted_calls(record)
    if include_reads:
        for i in list(targets):
            for j, ids in _read_targets(record, i).items():
                targets.setdefault(j, ids)
    examples = []
    for i in sorted(targets):
        message = record.messages[i]
        keep = set(targets[i])
        calls = [c for c in message["tool_calls"] if str(c.get("id")) in keep]
        content = str(message.get("content") or "")
        if content.startswith(SEARCH_NOTE):
            content = ""
        target = {"role": "assistant", "content": content,
                  "tool_calls": [_ordered_call(c, tools) for c in calls]}
        history = [dict(m) for m in record.messages[:i] if m.get("role") != "system"]
        examples.append(Example(f"{record.id}#{i}", [{"role": "system", "content": system}, *history],
                                target, tools))
    return examples


def _ordered_call(call: Mapping[str, Any], tools: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The call with its arguments in the schema's order (the order a constrained call is written in)."""
    fn = call.get("function") or {}
    name = fn.get("name", "")
    args = call_arguments(call)
    schema = next((t["function"] for t in tools if t.get("function", {}).get("name") == name), None)
    if schema is not None:
        order = list((schema.get("parameters") or {}).get("properties", {}))
        args = {k: args[k] for k in sorted(args, key=lambda k: order.index(k) if k in order else len(order))}
    return {"id": str(call.get("id", "")), "type": "function",
            "function": {"name": name, "arguments": json.dumps(args, ensure_ascii=False)}}


def examples_from_records(records: Iterable[Any], **kwargs: Any) -> list[Example]:
    out: list[Example] = []
    for record in records:
        out.extend(examples_from_record(record, **kwargs))
    return out


# -- rendering ----------------------------------------------------------------------------------

class RenderError(ValueError):
    """The chat template does not put the target right after the prompt."""


def render_texts(tokenizer: Any, tool_format: str, example: Example) -> tuple[str, str]:
    """(prompt, completion) as text: the prompt exactly as the agent renders it before the
    target call (core/formats.render_prompt), the completion what follows it in the whole
    conversation's rendering (the target in the model's call syntax, then the end of turn)."""
    from ..core.formats import format_for, normalize_tools, render_prompt

    fmt = format_for(tool_format)
    prompt = render_prompt(tokenizer, fmt, example.messages, example.tools)
    rendered = fmt.render_messages([*example.messages, example.target], list(example.tools))
    kwargs: dict[str, Any] = {}
    if fmt.template_has_tools and example.tools:
        kwargs["tools"] = normalize_tools(example.tools)
    full = tokenizer.apply_chat_template(rendered, add_generation_prompt=False, tokenize=False, **kwargs)
    if not isinstance(full, str) or not full.startswith(prompt):
        raise RenderError(f"{example.source}: the chat template does not continue the prompt with the target")
    return prompt, full[len(prompt):]


def render_example(tokenizer: Any, tool_format: str, example: Example) -> Rendered:
    """Tokens as generation would see them: the prompt encoded as the chat session encodes it,
    then the completion encoded on its own, up to and including the first end-of-sequence token."""
    prompt, completion = render_texts(tokenizer, tool_format, example)
    p = list(tokenizer.encode(prompt, add_special_tokens=False))
    c = list(tokenizer.encode(completion, add_special_tokens=False))
    eos = set(getattr(tokenizer, "eos_token_ids", None) or ()) or {tokenizer.eos_token_id}
    end = next((n for n, t in enumerate(c) if t in eos), None)
    if end is None:
        c.append(next(iter(eos)))
    else:
        c = c[:end + 1]
    return Rendered(example.source, p + c, len(p))


def build_dataset(tokenizer: Any, tool_format: str, examples: Iterable[Example], max_seq_length: int) -> Dataset:
    """The examples rendered; those longer than `max_seq_length` tokens are dropped (counted)."""
    data = Dataset([])
    for example in examples:
        try:
            item = render_example(tokenizer, tool_format, example)
        except RenderError:
            data.dropped_broken += 1
            continue
        if len(item.tokens) > max_seq_length:
            data.dropped_long += 1
            continue
        data.items.append(item)
    return data
