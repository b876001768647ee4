"""The real MLX model behind the agent's `ChatModel` protocol.

Messages are rendered with the model's chat template for its tool-call format,
tokenised, and generated through one `ChatSession`, so every step of a
conversation reuses the KV cache of the previous one. A `Constraint` becomes an
llguidance logits processor (a call that begins always parses).
"""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import Any, Callable, Iterator

from ..core.formats import ConstraintError, ToolCallConstraint, detect_format, format_for, render_prompt, without_patterns
from ..core.llm import Chunk, Constraint
from .runtime import LoadedModel
from .kv_cache import ChatSession, SamplingSettings


class MlxChatModel:
    def __init__(self, loaded: LoadedModel, tool_format: str | None = None,
                 sampling: SamplingSettings | None = None, reuse: bool = True):
        self.loaded = loaded
        self.name = loaded.name
        self.context_length = loaded.context_length
        template = getattr(loaded.tokenizer, "chat_template", None)
        self.tool_format = tool_format or detect_format(f"{loaded.name} {loaded.path}", template)
        # A template without tool support means the model was never taught to call tools:
        # the agent then holds each generation to a tool call until an edit (AgentConfig).
        self.weak_tool_use = not format_for(self.tool_format).template_has_tools
        self.sampling = sampling or SamplingSettings()
        self.session = ChatSession(loaded, reuse=reuse)

    def prompt_tokens(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> list[int]:
        text = render_prompt(self.loaded.tokenizer, format_for(self.tool_format), messages, tools)
        return self.session.encode(text)

    def count_tokens(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> int:
        return len(self.prompt_tokens(messages, tools))

    def warm(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]], cancel=None) -> None:
        """Fill the KV cache with `messages` (a resumed or compacted conversation), so the next
        generation only prefills what is new. One token is decoded; the next prompt drops it."""
        for _ in self.session.generate(self.prompt_tokens(messages, tools), max_tokens=1, cancel=cancel):
            pass

    def score_texts(self, messages: list[dict[str, Any]], base: str, variants: list[str],
                    cancel=None) -> list[float]:
        """For each variant of the assistant reply `base`: log p(variant) − log p(base) after
        `messages` (model/scoring.py). The judge of candidate fixes (core/repair)."""
        from .scoring import score_variants

        prompt = self.prompt_tokens(messages, [])
        encode = self.session.encode
        return score_variants(self.loaded, prompt, encode(base), [encode(v) for v in variants], cancel=cancel)

    def sample_batch(self, messages: list[dict[str, Any]], n: int, *, temperature: float = 0.8,
                     top_p: float = 0.95, max_tokens: int = 64, stop: tuple[str, ...] = ("\n", "```"),
                     prefix: str = "", cancel=None) -> list[str]:
        """N sampled replies to `messages` decoded together (model/batch_sample.py); `prefix`: text
        the reply starts with (not returned). The candidate search's sampled rewrites (core/repair)."""
        from .batch_sample import sample_batch

        prompt = self.session.encode(render_prompt(self.loaded.tokenizer, format_for(self.tool_format),
                                                   messages, []) + prefix)
        with self.session._lock:  # the model's weights are shared with the chat session
            return sample_batch(self.loaded, prompt, n, temperature=temperature, top_p=top_p,
                                max_tokens=max_tokens, stop=stop, cancel=cancel)

    def stream(
        self,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]],
        *,
        constraint: Constraint | None = None,
        max_tokens: int = 1024,
        cancel: threading.Event | None = None,
        stop: tuple[str, ...] = (),
        sampling: SamplingSettings | None = None,
        temperature: float | None = None,
        session: ChatSession | None = None,
        prompt: list[int] | None = None,
        ready: Callable[[int], None] | None = None,
    ) -> Iterator[Chunk]:
        """`session`: generate in that session (and its KV cache) instead of this model's own;
        `prompt`: the tokens of `messages` and `tools` when the caller has them already;
        `ready(prompt_tokens)`: called once the request is known to be good (the prompt renders,
        the constraint builds), before the prefill, which may take minutes on a long prompt."""
        sampling = sampling or self.sampling
        if temperature is not None:
            sampling = replace(sampling, temperature=temperature)
        processors = None
        if constraint is not None and constraint.response_schema is not None:
            from ..core.formats.constraint import json_reply_constraint

            processors = [json_reply_constraint(self.loaded.tokenizer, constraint.response_schema)]
        elif constraint is not None and constraint.tools:
            fmt = format_for(self.tool_format)
            try:
                processor = ToolCallConstraint(self.loaded.tokenizer, fmt, constraint.tools, constraint.forced)
            except ConstraintError:
                # The no-op patterns are an extra; a grammar that cannot take them goes without.
                stripped = without_patterns(constraint.tools)
                if stripped == constraint.tools:
                    raise
                processor = ToolCallConstraint(self.loaded.tokenizer, fmt, stripped, constraint.forced)
            processors = [processor]
        tokens = prompt if prompt is not None else self.prompt_tokens(messages, tools)
        if ready is not None:
            ready(len(tokens))
        yield from (session or self.session).generate(
            tokens, max_tokens=max_tokens, sampling=sampling,
            stop=stop, logits_processors=processors, cancel=cancel,
        )
