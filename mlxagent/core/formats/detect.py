"""Which tool-call format a model speaks: by family name first, by its chat template
second, and prompted Hermes-style calls (tools described in the system prompt) last."""

from __future__ import annotations

import re
from typing import Any, Mapping

# Checked in order: a name can hold several families ("Hermes-3-Llama-3.1-8B" is Hermes,
# "Qwen3-Coder" is not plain Qwen). Separators are normalised to "-" before matching.
FAMILY_PATTERNS: tuple[tuple[str, str], ...] = (
    (r"hermes-?[23]", "hermes"),
    (r"qwen-?3-?coder", "qwen3_coder"),
    (r"qwen-?2\.5|qwen-?3", "hermes"),
    (r"mi[sx]tral", "mistral"),
    (r"llama-?3\.[123]", "llama3_json"),
    (r"smollm", "prompted_hermes"),
)


def _names(model: str | Mapping[str, Any]) -> str:
    """The text to match: a name or path, or the identifying fields of a config.json."""
    if isinstance(model, Mapping):
        fields = [model.get("_name_or_path"), model.get("name"), model.get("model_type"),
                  *(model.get("architectures") or [])]
        model = " ".join(str(f) for f in fields if f)
    return re.sub(r"[\s_]+", "-", str(model).lower())


def _from_template(template: str) -> str | None:
    if "<function=" in template and "<tool_call>" in template:
        return "qwen3_coder"
    if "[TOOL_CALLS]" in template:
        return "mistral"
    if "<tool_call>" in template and "tools" in template:
        return "hermes"
    if "<|python_tag|>" in template or ('"parameters"' in template and "tools" in template):
        return "llama3_json"
    return None


def detect_format(model_name_or_config: str | Mapping[str, Any], chat_template: str | None) -> str:
    names = _names(model_name_or_config)
    for pattern, fmt in FAMILY_PATTERNS:
        if re.search(pattern, names):
            return fmt
    return (chat_template and _from_template(chat_template)) or "prompted_hermes"
