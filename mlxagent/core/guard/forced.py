"""What a forced edit may target: the edit tools narrowed to real files and real lines.

When the read-loop guard forces an edit, the next generation is constrained to one edit call.
Its schema offers the paths that matter — the failing tests' frames (code before tests), then
the files the guard saw read or listed, else the files the user's request names, else any —
and, for `edit_file`, only search texts that are lines of those files, so that even a tiny
model's forced edit lands on real code (core/formats/schemas.py builds the schemas).
"""

from __future__ import annotations

from typing import Any

from ..formats import forced_edit_tools
from .readloop import ReadLoopGuard

ANY_FILES = 20  # with nothing else to go on, the first files of the repository


def forced_edit_schemas(tools: list[dict[str, Any]], guard: ReadLoopGuard, workspace,
                        failing: list[str]) -> list[dict[str, Any]]:
    """The edit tools of `tools`, narrowed for a forced edit in `workspace`."""
    spec = guard.force_spec()
    candidates = list(spec.candidate_paths) if spec else []
    if failing:  # the failing traceback names the files that matter
        candidates = list(dict.fromkeys(failing + candidates))
    if not candidates:  # nothing read or listed successfully: the files the user named, else any
        files = workspace.list_files()
        candidates = guard.named_in_request(files) or files[:ANY_FILES]
    paths, lines = [], {}
    for path in candidates:
        try:
            data = workspace.resolve(path).read_bytes()
        except Exception:  # noqa: BLE001 - a vanished or refused path is just not a candidate
            continue
        if b"\0" in data[:8192]:
            continue
        paths.append(path)
        lines[path] = data.decode("utf-8", "replace").splitlines()
    edit_schemas = [t for t in tools if t["function"]["name"] in guard.EDIT]
    if not paths:
        return edit_schemas
    narrowed = forced_edit_tools(edit_schemas, paths, lines)
    # A small model forced to write tends to replace a whole file with filler; when a real
    # line can be edited instead, only edit_file is offered, so the edit lands on real code.
    edits = [t for t in narrowed if t["function"]["name"] == "edit_file"]
    return edits or narrowed
