"""Chat and tool-call formats per model family, and grammar-constrained tool calls.

`families` says how calls look and reads them back, `prompting` turns OpenAI-style
messages into a prompt, `detect` picks a family for a model, `schemas` shapes tool
schemas (including the narrowed ones of a forced edit), `constraint` makes the model
write valid calls with llguidance. Nothing here imports mlx or llguidance until used.
"""

from .calls import ParsedOutput, ToolCall
from .constraint import ConstraintError, ToolCallConstraint, constrain_tool_call, tool_call_schema
from .detect import detect_format
from .families import FORMATS, ToolFormat, ToolFormatError, format_for
from .render import render_prompt
from .schemas import forced_edit_tools, normalize_tools, with_path_enums, without_patterns

__all__ = [
    "FORMATS",
    "ConstraintError",
    "ParsedOutput",
    "ToolCall",
    "ToolCallConstraint",
    "ToolFormat",
    "ToolFormatError",
    "constrain_tool_call",
    "detect_format",
    "forced_edit_tools",
    "without_patterns",
    "format_for",
    "normalize_tools",
    "render_prompt",
    "tool_call_schema",
    "with_path_enums",
]
