"""What every tool shares: its result, its error, what it may use, and its spec."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from ...errors import MlxAgentError
from ..proposals import Proposal, ProposalManager
from ..workspace import Workspace


@dataclass(frozen=True)
class ToolResult:
    text: str  # what the model reads
    is_error: bool = False
    proposal: Proposal | None = None  # set by edit tools; the caller gets it reviewed
    command: "CommandRequest | None" = None  # set by command tools; the caller asks, runs and reports


@dataclass(frozen=True)
class CommandRequest:
    """A command a tool wants run: the agent asks the user's consent, runs it and reports."""

    argv: tuple[str, ...]
    cwd: str = "."  # repo-relative
    purpose: str = "command"  # "tests" | "command"


class ToolError(MlxAgentError):
    """A tool call that cannot be carried out; the message tells the model what to do instead."""


@dataclass(frozen=True)
class ToolLimits:
    """Caps that keep tool output within a small model's context."""

    list_max_entries: int = 200
    read_max_lines: int = 250
    read_max_chars: int = 12_000
    line_max_chars: int = 400
    search_max_results: int = 60
    search_max_file_bytes: int = 1_000_000
    diff_max_chars: int = 12_000
    edit_max_bytes: int = 2_000_000


@dataclass
class ToolContext:
    workspace: Workspace
    proposals: ProposalManager
    limits: ToolLimits = field(default_factory=ToolLimits)
    test_command: Any = None  # core.testing.detect.TestCommand | None: what run_tests runs


@dataclass(frozen=True)
class ToolSpec:
    """One tool: its OpenAI-style JSON schema beside the function that runs it.

    `run(ctx, **arguments)` returns the text for the model or a ToolResult, and raises
    ToolError (or any MlxAgentError) for a call it cannot carry out.
    """

    name: str
    description: str
    parameters: dict[str, Any]
    run: Callable[..., "str | ToolResult"]

    def schema(self) -> dict[str, Any]:
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": self.parameters},
        }


def params(required: list[str], **properties: dict[str, Any]) -> dict[str, Any]:
    """A JSON-schema object for a tool's arguments."""
    return {"type": "object", "properties": properties, "required": required, "additionalProperties": False}


def clip_line(text: str, max_chars: int) -> str:
    if len(text) <= max_chars:
        return text
    return text[:max_chars] + f" …[{len(text) - max_chars} more characters]"
