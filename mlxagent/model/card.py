"""What an installed model's folder says of it without loading the weights: its context
length and whether it was taught to call tools (its chat template renders `tools`).

`mlxagent serve` shows this in `GET /v1/models`, so that a client (mlxagent's remote models
among them) can fit its prompts and hold a weak tool user to tool calls as the local agent does.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..core.formats import detect_format, format_for
from .runtime import context_length_of


def _json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def model_card(folder: Path, names: str = "") -> dict[str, Any]:
    """{"context_length", "tool_format", "weak_tool_use"} of the MLX model in `folder`
    (`names`: the names it goes by, which tell a model family apart as the loader does)."""
    folder = Path(folder)
    config = _json(folder / "config.json")
    tokenizer = _json(folder / "tokenizer_config.json")
    template = tokenizer.get("chat_template")
    if not isinstance(template, str):
        try:
            template = (folder / "chat_template.jinja").read_text(encoding="utf-8")
        except OSError:
            template = None
    tool_format = detect_format(f"{names} {folder}", template)
    return {"context_length": context_length_of(config, tokenizer.get("model_max_length")),
            "tool_format": tool_format,
            "weak_tool_use": not format_for(tool_format).template_has_tools}
