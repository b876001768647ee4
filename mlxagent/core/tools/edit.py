"""Edit tools: edit_file and write_file. They never write: each returns a Proposal that
the user reviews hunk by hunk (see core.proposals)."""

from __future__ import annotations

from ..proposals import Proposal
from .base import ToolContext, ToolError, ToolResult, ToolSpec, params
from .matching import locate
from .textfile import TextFile, existing_file, load_text


def _proposed(proposal: Proposal) -> ToolResult:
    note = f" Note: {proposal.note}." if proposal.note else ""
    return ToolResult(f"Proposed: {proposal.summary}.{note} Waiting for the user's review.", proposal=proposal)


def edit_file(ctx: ToolContext, path: str, search: str, replace: str) -> ToolResult:
    if search == "":
        raise ToolError("search is empty. Give the exact text to replace, or use write_file for a whole file.")
    old, file = load_text(ctx, path)
    found = locate(file.text, file.newline, search, replace, path)
    new_text = file.text[: found.start] + found.replacement + file.text[found.end :]
    if new_text == file.text:
        raise ToolError("replace is the same as the text it would replace; nothing would change.")
    proposal = Proposal(ctx.workspace.normalize(path), old, file.encode(new_text, path), note=found.note)
    return _proposed(proposal)


def write_file(ctx: ToolContext, path: str, content: str) -> ToolResult:
    target = ctx.workspace.resolve(path)
    rel = ctx.workspace.normalize(path)
    if target.exists() or target.is_symlink():
        existing_file(ctx, path)  # a folder or something odd is refused here
        old, file = load_text(ctx, path)
    else:
        _check_parents(ctx, rel)
        old, file = None, TextFile("", "utf-8", "\n")
    text = file.with_file_newlines(content)
    # Keep the file's final-newline state; a new or empty file gets the usual final newline.
    has_final = file.text.endswith("\n") if file.text else True
    if text and has_final and not text.endswith("\n"):
        text += file.newline
    elif text.endswith("\n") and not has_final:
        text = text.removesuffix(file.newline) if text.endswith(file.newline) else text[:-1]
    new = file.encode(text, path)
    if old is None and new == b"":
        raise ToolError(f"content is empty; give {rel} at least one line (a comment will do).")
    if new == old:
        raise ToolError(f"content is the same as {rel} already has; nothing would change.")
    return _proposed(Proposal(rel, old, new))


def _check_parents(ctx: ToolContext, rel: str) -> None:
    """A new file needs its nearest existing ancestor to be a folder."""
    parent = ctx.workspace.resolve(rel).parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        name = ctx.workspace.relative(parent)
        raise ToolError(f"Cannot create {rel}: {name} is a file, not a folder.")


EDIT_FILE = ToolSpec(
    "edit_file",
    "Replace text in a file. search must match exactly one place; include a few lines around the change.",
    params(
        ["path", "search", "replace"],
        path={"type": "string", "description": "File path relative to the repo root."},
        search={"type": "string", "description": "Exact current text to replace."},
        replace={"type": "string", "description": "New text."},
    ),
    edit_file,
)

WRITE_FILE = ToolSpec(
    "write_file",
    "Create a file, or replace a file's whole content.",
    params(
        ["path", "content"],
        path={"type": "string", "description": "File path relative to the repo root."},
        content={"type": "string", "description": "The complete file content."},
    ),
    write_file,
)
