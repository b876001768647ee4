"""The agent's tools: read-only ones (list_files, read_file, search, show_diff) and edit
ones (edit_file, write_file) that return proposals instead of writing."""

from .base import CommandRequest, ToolContext, ToolError, ToolLimits, ToolResult, ToolSpec
from .registry import ALL_TOOLS, COMMAND_TOOLS, EDIT_TOOLS, READ_ONLY_TOOLS, Toolbox, check_arguments, paths_in_result

__all__ = [
    "ALL_TOOLS",
    "COMMAND_TOOLS",
    "CommandRequest",
    "EDIT_TOOLS",
    "READ_ONLY_TOOLS",
    "ToolContext",
    "ToolError",
    "ToolLimits",
    "ToolResult",
    "ToolSpec",
    "Toolbox",
    "check_arguments",
    "paths_in_result",
]
