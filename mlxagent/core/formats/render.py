"""The prompt text: a conversation in a model family's messages (families.py, prompting.py)
through the tokenizer's chat template. Apart from prompting.py so that the message
transforms there need nothing from families.py (which uses them)."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from ...errors import ModelError
from .families import ToolFormat, format_for
from .schemas import normalize_tools


def render_prompt(tokenizer: Any, fmt: ToolFormat | str, messages: Sequence[Mapping[str, Any]],
                  tools: Sequence[Mapping[str, Any]]) -> str:
    """The prompt text: the family's messages through the tokenizer's chat template,
    ending with the assistant's generation prompt."""
    from jinja2 import TemplateError

    fmt = format_for(fmt) if isinstance(fmt, str) else fmt
    if not getattr(tokenizer, "chat_template", None):
        raise ModelError("This model has no chat template (a base model?), so it cannot hold a conversation; "
                         "choose an instruct or chat model")

    rendered = fmt.render_messages(list(messages), list(tools or ()))
    kwargs: dict[str, Any] = {}
    if fmt.template_has_tools and tools:
        kwargs["tools"] = normalize_tools(tools)
    try:
        prompt = tokenizer.apply_chat_template(rendered, add_generation_prompt=True, tokenize=False, **kwargs)
    except (TemplateError, ValueError, TypeError, KeyError) as exc:
        first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ModelError(f"The model's chat template cannot render this conversation: {first_line}") from None
    if not isinstance(prompt, str):
        raise ModelError("The model's chat template did not produce text")
    return prompt
