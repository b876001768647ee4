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

_TYPE_NAMES = {"string": "a string", "integer": "an integer", "boolean": "true or false", "number": "a number",
               "array": "a JSON list", "object": "a JSON object"}


def _type_label(prop: Any) -> str:
    kind = prop.get("type") if isinstance(prop, dict) else None
    if isinstance(kind, list):
        return " or ".join(str(k) for k in kind)
    return kind if isinstance(kind, str) else "any"


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
        f"{name} ({_type_label(prop)}{', required' if name in required else ''})"
        for name, prop in spec.parameters.get("properties", {}).items()
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
    elif kind == "number":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return value
        if isinstance(value, str):
            try:
                number = float(value.strip())
            except ValueError:
                raise ValueError from None
            return int(number) if number.is_integer() and "." not in value else number
    elif kind in ("array", "object"):
        wanted = list if kind == "array" else dict
        if isinstance(value, str):  # the JSON text of the list or object, quoted by mistake
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                raise ValueError from None
        if isinstance(value, wanted):
            return value  # nested schemas are the tool's to check (an MCP server validates its own)
    raise ValueError


def _coerce_any(value: Any, prop: Any) -> Any:
    """`value` as the argument's schema type; an argument with no single plain type (`anyOf`,
    a list of types, no type) is passed on as it is, for the tool to check."""
    kind = prop.get("type") if isinstance(prop, dict) else None
    if isinstance(kind, str) and kind in _TYPE_NAMES:
        return _coerce(value, kind)
    if isinstance(kind, list):
        for one in kind:
            if one in _TYPE_NAMES:
                try:
                    return _coerce(value, one)
                except ValueError:
                    continue
        if "null" not in kind or value is not None:
            raise ValueError
    return value


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
    properties = spec.parameters.get("properties") or {}
    open_ended = spec.parameters.get("additionalProperties") not in (None, False)  # said open: any key goes
    unknown = [k for k in arguments if k not in properties and not open_ended]
    if unknown:
        raise ToolError(f"{spec.name} has no argument {unknown[0]!r}. Call it as {_signature(spec)}.")
    checked: dict[str, Any] = {}
    for name, value in arguments.items():
        if value is None:
            continue  # an optional argument sent as null means "not given"
        prop = properties.get(name, {})
        try:
            checked[name] = _coerce_any(value, prop)
        except ValueError:
            label = _TYPE_NAMES.get(_type_label(prop), _type_label(prop))
            raise ToolError(
                f"Argument {name!r} of {spec.name} must be {label}, not {value!r}. "
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

    def add(self, specs: Iterable[ToolSpec]) -> list[str]:
        """Add tools from outside (core/tools/external.py: an MCP server's), after the built-in
        ones; a name already taken is not replaced. Returns the names added."""
        added = []
        for spec in specs:
            if spec.name not in self._tools:
                self._tools[spec.name] = spec
                added.append(spec.name)
        return added

    def remove(self, names: Iterable[str]) -> None:
        for name in names:
            self._tools.pop(name, None)

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
