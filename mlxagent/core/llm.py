"""What the agent needs from a model, as a protocol: the real MLX model and the
scripted test double both implement it.

A model streams `Chunk`s for a list of OpenAI-style chat messages. A `Constraint`
asks it to constrain tool calls with a grammar (llguidance on the real model):
`forced=True` means the whole generation must be one call to one of `tools`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Iterator, Protocol

from .events import GenerationStats


@dataclass(frozen=True)
class Chunk:
    text: str = ""
    finish_reason: str | None = None  # "stop" | "length" | "cancelled" | "stop_string" on the last chunk
    stats: GenerationStats | None = None  # on the last chunk


@dataclass(frozen=True)
class Constraint:
    tools: list[dict[str, Any]] = field(default_factory=list)  # OpenAI tool schemas allowed in calls
    forced: bool = False  # the generation must be exactly one tool call
    response_schema: dict[str, Any] | None = None  # instead: the whole reply is JSON of this schema


class ChatModel(Protocol):
    name: str
    context_length: int
    tool_format: str  # a key of core.formats (e.g. "hermes", "llama3_json", "mistral", "qwen3_coder")

    def stream(
        self,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]],
        *,
        constraint: Constraint | None = None,
        max_tokens: int = 1024,
        cancel: threading.Event | None = None,
        temperature: float | None = None,  # None: the model's own sampling settings
    ) -> Iterator[Chunk]: ...

    def count_tokens(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> int: ...
