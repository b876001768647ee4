"""Tool schemas: their one normal form, the JSON schema of a call, and the narrowed
schemas for a forced edit.

Tools arrive OpenAI-style (`{"type": "function", "function": {...}}`) or bare
(`{"name", "description", "parameters"}`); everything here works on the function part.
"""

from __future__ import annotations

import copy
from typing import Any, Mapping, Sequence

EDIT_TOOL = "edit_file"
WRITE_TOOL = "write_file"
# A forced edit gets one schema branch per line, whose `replace` must differ from that line:
# small models otherwise copy `search` into `replace`, a no-op edit. The branches cost grammar
# size (lines x line length), so files get them in rank order while this many lines last; the
# rest keep one branch with an enum of their lines.
NO_OP_GUARD_MAX_LINES = 120
MAX_SEARCH_LINES = 200  # an enum of thousands of lines makes a slow grammar and helps no model
# A forced edit's free text is capped so a rambling small model cannot run past max_tokens
# inside a JSON string (the call would then never close and never parse).
FORCED_REPLACE_MAX_CHARS = 400
FORCED_CONTENT_MAX_CHARS = 1200
MAX_PATH_ENUM = 300  # beyond this, paths stay free text (the tools report unknown paths)


def tool_function(tool: Mapping[str, Any]) -> dict[str, Any]:
    """The function part of a tool schema, in either accepted shape."""
    fn = tool.get("function") if isinstance(tool.get("function"), Mapping) else tool
    if not isinstance(fn.get("name"), str) or not fn["name"]:
        raise ValueError(f"a tool schema has no name: {dict(tool)!r:.200}")
    return dict(fn)


def normalize_tools(tools: Sequence[Mapping[str, Any]] | None) -> list[dict[str, Any]]:
    """Tools as chat templates expect them: `{"type": "function", "function": {...}}`."""
    return [{"type": "function", "function": tool_function(t)} for t in tools or ()]


def tool_names(tools: Sequence[Mapping[str, Any]] | None) -> list[str]:
    return [tool_function(t)["name"] for t in tools or ()]


def arguments_schema(fn: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON schema of a function's arguments, closed to unknown keys unless it says otherwise.

    Closing it keeps a constrained small model from inventing arguments.
    """
    schema = copy.deepcopy(dict(fn.get("parameters") or {"type": "object", "properties": {}}))
    if "properties" in schema and "additionalProperties" not in schema:
        schema["additionalProperties"] = False
    return schema


def call_schema(tools: Sequence[Mapping[str, Any]], args_key: str = "arguments") -> dict[str, Any]:
    """The JSON schema of one call `{"name": ..., args_key: {...}}` to any of `tools`."""
    variants = []
    for tool in tools:
        fn = tool_function(tool)
        variants.append({
            "type": "object",
            "properties": {"name": {"const": fn["name"]}, args_key: arguments_schema(fn)},
            "required": ["name", args_key],
            "additionalProperties": False,
        })
    if not variants:
        raise ValueError("no tools to call")
    return variants[0] if len(variants) == 1 else {"anyOf": variants}


def edit_lines(lines: Sequence[str], limit: int = MAX_SEARCH_LINES) -> list[str]:
    """Texts an edit's `search` may take: the file's distinct non-blank lines without their line ending."""
    out: list[str] = []
    seen: set[str] = set()
    for line in lines:
        text = line.rstrip("\r\n")
        if text.strip() and text not in seen:
            seen.add(text)
            out.append(text)
            if len(out) >= limit:
                break
    return out


DIFFERS_CHUNK = 50  # characters per nesting level group: llguidance's regex parser limits nesting depth


def differs_from(text: str) -> str:
    """An anchored regex for every string except `text`, linear in len(text)."""
    return f"^{_differs(text)}$"


def _char(c: str, negate: bool = False) -> str:
    """A one-character class: the characters special inside a class are escaped."""
    escaped = "\\" + c if c in "\\]^-[" else c
    return "[" + ("^" if negate else "") + escaped + "]"


def _diverges(text: str, tail: str | None) -> str:
    """At each character: stop (a proper prefix of `text`), or take another character and
    anything after it, or take this one and go on; after all of `text`, `tail` (None: nothing)."""
    regex = tail
    for c in reversed(text):
        same = f"|{_char(c)}{regex}" if regex is not None else ""
        regex = f"(?:{_char(c, negate=True)}[\\s\\S]*{same})?"
    return regex or ""


def _differs(text: str) -> str:
    if len(text) <= DIFFERS_CHUNK:
        return _diverges(text, "[\\s\\S]+")
    # Chunked, so that nesting stays shallow: differ within the first chunk, or match it
    # exactly and differ in the rest.
    head, rest = text[:DIFFERS_CHUNK], text[DIFFERS_CHUNK:]
    return f"(?:{_diverges(head, None)}|{''.join(_char(c) for c in head)}{_differs(rest)})"


def without_patterns(value: Any) -> Any:
    """A copy of tool schemas with every string `pattern` removed."""
    if isinstance(value, Mapping):
        return {k: without_patterns(v) for k, v in value.items() if not (k == "pattern" and isinstance(v, str))}
    if isinstance(value, list):
        return [without_patterns(v) for v in value]
    return value


def forced_edit_tools(
    tools: Sequence[Mapping[str, Any]],
    paths: Sequence[str],
    file_lines: Mapping[str, Sequence[str]],
) -> list[dict[str, Any]]:
    """The tools a forced edit may call: edit_file and write_file only, narrowed to real targets.

    `path` becomes an enum of `paths`; edit_file's `search` becomes an enum of lines that
    really occur in that file (see `edit_lines`), so a forced edit always finds its text.
    Files with different lines get one `anyOf` branch each (path const + its own lines).
    Paths without known lines can only be written, not edited.
    """
    out = []
    for tool in normalize_tools(tools):
        fn = tool["function"]
        if fn["name"] == WRITE_TOOL:
            params = arguments_schema(fn)
            props = params.setdefault("properties", {})
            if paths:
                props["path"] = {"type": "string", "enum": list(paths)}
            if "content" in props:
                props["content"] = {**props["content"], "maxLength": FORCED_CONTENT_MAX_CHARS}
            out.append({"type": "function", "function": {**fn, "parameters": params}})
        elif fn["name"] == EDIT_TOOL:
            params = _narrowed_edit_parameters(arguments_schema(fn), paths, file_lines)
            if params is not None:
                out.append({"type": "function", "function": {**fn, "parameters": params}})
    return out


EDIT_KEYS = ("path", "search", "replace")
# The argument names of the edit tools agents commonly offer: (file, text to find, its replacement).
EDIT_SHAPES = (EDIT_KEYS, ("path", "old_str", "new_str"), ("file_path", "old_string", "new_string"),
               ("path", "old_string", "new_string"), ("file_path", "old_str", "new_str"),
               ("filePath", "oldString", "newString"))  # the last: opencode's


def edit_shape(params: Mapping[str, Any]) -> tuple[str, str, str] | None:
    """Which of EDIT_SHAPES an edit tool's parameters have, if any."""
    props = params.get("properties") or {}
    return next((shape for shape in EDIT_SHAPES if all(k in props for k in shape)), None)


def _narrowed_edit_parameters(
    params: dict[str, Any], paths: Sequence[str], file_lines: Mapping[str, Sequence[str]],
    keys: tuple[str, str, str] = EDIT_KEYS,
) -> dict[str, Any] | None:
    groups: dict[tuple[str, ...], list[str]] = {}  # same lines -> paths, so equal files share a branch
    for path in paths:
        lines = tuple(edit_lines(file_lines.get(path) or ()))
        if lines:
            groups.setdefault(lines, []).append(path)
    if not groups:
        return None
    branches = []
    budget = NO_OP_GUARD_MAX_LINES if keys[2] in (params.get("properties") or {}) else 0
    for lines, group in groups.items():  # paths come ranked, most relevant first
        if len(lines) <= budget:
            budget -= len(lines)
            branches += [_edit_branch(params, group, {"type": "string", "const": line}, differs_from(line), keys)
                         for line in lines]
        else:
            branches.append(_edit_branch(params, group, {"type": "string", "enum": list(lines)}, keys=keys))
    return branches[0] if len(branches) == 1 else {"anyOf": branches}


def _edit_branch(params: dict[str, Any], group: list[str], search: dict[str, Any],
                 replace_pattern: str | None = None, keys: tuple[str, str, str] = EDIT_KEYS) -> dict[str, Any]:
    path_key, search_key, replace_key = keys
    branch = copy.deepcopy(params)
    props = branch.setdefault("properties", {})
    props[path_key] = {"type": "string", "const": group[0]} if len(group) == 1 else {"type": "string", "enum": group}
    props[search_key] = search
    if replace_key in props:
        cap = min(FORCED_REPLACE_MAX_CHARS, props[replace_key].get("maxLength") or FORCED_REPLACE_MAX_CHARS)
        props[replace_key] = {**props[replace_key], "maxLength": cap}  # a tighter cap of the tool's own stays
        if replace_pattern is not None:
            props[replace_key]["pattern"] = replace_pattern
    return branch


def grounded_edit_tools(tools: Sequence[Mapping[str, Any]], paths: Sequence[str],
                        file_lines: Mapping[str, Sequence[str]]) -> list[dict[str, Any]]:
    """Edit tools of any common shape (EDIT_SHAPES) narrowed to `paths` and their lines, as
    `forced_edit_tools` narrows mlxagent's own; a tool of another shape, or with nothing
    known to edit, is left as it is."""
    out = []
    for tool in normalize_tools(tools):
        fn = tool["function"]
        params = arguments_schema(fn)
        keys = edit_shape(params)
        narrowed = _narrowed_edit_parameters(params, paths, file_lines, keys) if keys else None
        out.append({"type": "function", "function": {**fn, "parameters": narrowed or params}})
    return out


def with_path_enums(
    tools: Sequence[Mapping[str, Any]], files: Sequence[str], folders: Sequence[str]
) -> list[dict[str, Any]]:
    """Tools whose `path` arguments may only name what exists in the workspace.

    Small models invent paths; constraining `path` to real files (read_file, edit_file)
    or real folders (list_files), or either (search), makes every such call land.
    write_file keeps a free path: creating files is its job. Repositories with more than
    MAX_PATH_ENUM files keep free paths.
    """
    if not files or len(files) > MAX_PATH_ENUM:
        return normalize_tools(tools)
    choices = {"read_file": list(files), "edit_file": list(files), "list_files": list(folders),
               "search": list(folders) + list(files)}
    out = []
    for tool in normalize_tools(tools):
        fn = tool["function"]
        params = arguments_schema(fn)
        props = params.get("properties", {})
        allowed = choices.get(fn["name"])
        if allowed and "path" in props:
            props["path"] = {**props["path"], "enum": allowed}
        out.append({"type": "function", "function": {**fn, "parameters": params}})
    return out
