"""The Toolbox: the agent's tools by name, their schemas, and checked execution.

A call the model gets wrong (unknown tool, missing or mistyped argument) comes back as
an error result that says how to call it right, never as an exception.
"""

from __future__ import annotations

import json
from typing import Any, Iterable

from ...errors import MlxAgentError
from ..proposals import ProposalManager
from ..workspace import Workspace
from .base import ToolContext, ToolError, ToolLimits, ToolResult, ToolSpec
from .commands import RUN_COMMAND, RUN_TESTS
from .edit import EDIT_FILE, WRITE_FILE
from .read import LIST_FILES, READ_FILE, SHOW_DIFF, paths_in_listing
from .search import SEARCH, paths_in_hits

ALL_TOOLS: tuple[ToolSpec, ...] = (LIST_FILES, READ_FILE, SEARCH, SHOW_DIFF, EDIT_FILE, WRITE_FILE,
                                   RUN_TESTS, RUN_COMMAND)
READ_ONLY_TOOLS = frozenset({"list_files", "read_file", "search", "show_diff"})
EDIT_TOOLS = frozenset({"edit_file", "write_file"})
COMMAND_TOOLS = frozenset({"run_tests", "run_command"})

_TYPE_NAMES = {"string": "a string", "integer": "an integer", "boolean": "true or false"}


def paths_in_result(name: str, text: str) -> list[str]:
    """The file paths a list_files or search result showed (e.g. for the guard to offer)."""
    if name == "list_files":
        return paths_in_listing(text)
    if name == "search":
        return paths_in_hits(text)
    return []


def _signature(spec: ToolSpec) -> str:
    required = set(spec.parameters.get("required", []))
    args = [
        f"{name} ({prop['type']}{', required' if name in required else ''})"
        for name, prop in spec.parameters["properties"].items()
    ]
    return f"{spec.name}({', '.join(args)})" if args else f"{spec.name}() takes no arguments"


def _coerce(value: Any, kind: str) -> Any:
    """`value` as JSON type `kind`, accepting the forms small models often write
    ("12" for 12, "true" for true); raises ValueError if it is not that type."""
    if kind == "string":
        if isinstance(value, str):
            return value
    elif kind == "integer":
        if isinstance(value, bool):
            raise ValueError
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str) and value.strip().lstrip("+-").isdigit():
            return int(value.strip())
    elif kind == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
    raise ValueError


def check_arguments(spec: ToolSpec, arguments: Any) -> dict[str, Any]:
    """The call's arguments, checked against the tool's schema; ToolError says what is wrong."""
    if arguments is None:
        arguments = {}
    if isinstance(arguments, str):  # the JSON text itself, not yet decoded
        try:
            arguments = json.loads(arguments) if arguments.strip() else {}
        except json.JSONDecodeError:
            raise ToolError(f"Arguments are not valid JSON. Call it as {_signature(spec)}.") from None
    if not isinstance(arguments, dict):
        raise ToolError(f"Arguments must be a JSON object. Call it as {_signature(spec)}.")
    properties = spec.parameters["properties"]
    unknown = [k for k in arguments if k not in properties]
    if unknown:
        raise ToolError(f"{spec.name} has no argument {unknown[0]!r}. Call it as {_signature(spec)}.")
    checked: dict[str, Any] = {}
    for name, value in arguments.items():
        if value is None:
            continue  # an optional argument sent as null means "not given"
        kind = properties[name]["type"]
        try:
            checked[name] = _coerce(value, kind)
        except ValueError:
            raise ToolError(
                f"Argument {name!r} of {spec.name} must be {_TYPE_NAMES[kind]}, not {value!r}. "
                f"Call it as {_signature(spec)}."
            ) from None
    missing = [name for name in spec.parameters.get("required", []) if name not in checked]
    if missing:
        raise ToolError(f"{spec.name} needs argument {missing[0]!r}. Call it as {_signature(spec)}.")
    return checked


class Toolbox:
    """The tools over one workspace. Edit tools return proposals and add them to
    `proposals` as pending; they never write."""

    def __init__(
        self,
        workspace: Workspace,
        proposals: ProposalManager | None = None,
        limits: ToolLimits | None = None,
        tools: Iterable[ToolSpec] = ALL_TOOLS,
    ) -> None:
        self.context = ToolContext(workspace, proposals or ProposalManager(workspace), limits or ToolLimits())
        self._tools = {spec.name: spec for spec in tools}

    @property
    def workspace(self) -> Workspace:
        return self.context.workspace

    @property
    def proposals(self) -> ProposalManager:
        return self.context.proposals

    def names(self) -> list[str]:
        return list(self._tools)

    def schemas(self, names: Iterable[str] | None = None) -> list[dict[str, Any]]:
        """OpenAI-style tool schemas, for all tools or the named ones (in toolbox order)."""
        wanted = set(self._tools) if names is None else set(names)
        return [spec.schema() for name, spec in self._tools.items() if name in wanted]

    def execute(self, name: str, arguments: Any) -> ToolResult:
        spec = self._tools.get(name)
        if spec is None:
            return ToolResult(f"Unknown tool {name!r}. Available tools: {', '.join(self._tools)}.", is_error=True)
        try:
            result = spec.run(self.context, **check_arguments(spec, arguments))
        except MlxAgentError as exc:  # ToolError, PathError: the message is for the model
            return ToolResult(str(exc), is_error=True)
        except OSError as exc:
            return ToolResult(f"{name} failed: {exc.strerror or exc}", is_error=True)
        if isinstance(result, str):
            return ToolResult(result)
        if result.proposal is not None:
            self.proposals.add(result.proposal)
        return result
