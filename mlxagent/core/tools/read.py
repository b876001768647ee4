"""Read-only tools: list_files, read_file, show_diff."""

from __future__ import annotations

import fnmatch
import posixpath

from .base import ToolContext, ToolError, ToolSpec, clip_line, params
from .textfile import BINARY_SNIFF_BYTES, display_line, existing_file, looks_binary, numbered


def select_files(ctx: ToolContext, path: str | None, glob: str | None) -> list[str]:
    """Listed files (tracked + untracked, not ignored) under `path`, matching `glob`."""
    files = ctx.workspace.list_files()
    if path is not None:
        norm = ctx.workspace.normalize(path)
        target = ctx.workspace.resolve(path)
        if not target.exists():
            raise ToolError(f"No file or folder named {path}. Call list_files without path to see the tree.")
        if norm != ".":
            files = [f for f in files if f == norm or f.startswith(norm + "/")]
    if glob:
        files = [f for f in files if fnmatch.fnmatchcase(f, glob) or fnmatch.fnmatchcase(posixpath.basename(f), glob)]
    return files


def _tree(files: list[str], max_entries: int) -> tuple[list[str], int]:
    """Indented tree lines for sorted paths, at most `max_entries`; also how many files were left out."""
    lines: list[str] = []
    open_dirs: list[str] = []
    for shown, f in enumerate(files):
        *dirs, name = f.split("/")
        common = 0
        while common < min(len(dirs), len(open_dirs)) and dirs[common] == open_dirs[common]:
            common += 1
        new_lines = [("  " * depth) + d + "/" for depth, d in enumerate(dirs) if depth >= common]
        if len(lines) + len(new_lines) + 1 > max_entries:
            return lines, len(files) - shown
        lines.extend(new_lines)
        lines.append("  " * len(dirs) + name)
        open_dirs = dirs
    return lines, 0


def list_files(ctx: ToolContext, path: str | None = None, glob: str | None = None) -> str:
    files = select_files(ctx, path, glob)
    where = f" under {path}" if path else ""
    if not files:
        return f"No files{where}" + (f" match {glob!r}." if glob else ".")
    lines, left_out = _tree(files, ctx.limits.list_max_entries)
    head = f"{len(files)} file{'s' if len(files) != 1 else ''}{where}:"
    tail = [f"[{left_out} more files not shown; narrow with path= or glob=.]"] if left_out else []
    return "\n".join([head, *lines, *tail])


def paths_in_listing(text: str) -> list[str]:
    """The file paths a list_files result shows, rebuilt from its indented tree."""
    paths: list[str] = []
    dirs: list[str] = []
    for line in text.splitlines()[1:]:  # the first line is the count
        name = line.lstrip(" ")
        if not name or line.startswith("["):  # the "more files not shown" notice
            continue
        dirs = dirs[: (len(line) - len(name)) // 2]
        if name.endswith("/"):
            dirs.append(name[:-1])
        else:
            paths.append("/".join([*dirs, name]))
    return paths


def read_file(ctx: ToolContext, path: str, start_line: int | None = None, end_line: int | None = None) -> str:
    file = existing_file(ctx, path)
    start = 1 if start_line is None else start_line
    if start < 1:
        raise ToolError("start_line counts from 1.")
    if end_line is not None and end_line < start:
        raise ToolError(f"end_line ({end_line}) is before start_line ({start}).")
    limits = ctx.limits
    shown: list[str] = []
    chars = 0
    total = 0
    cut = False  # stopped early because of the size caps
    # Streamed line by line, so a huge file costs no more memory than the lines shown.
    with open(file, "rb") as f:
        if looks_binary(f.read(BINARY_SNIFF_BYTES)):
            raise ToolError(f"{path} is a binary file ({file.stat().st_size} bytes); it cannot be shown as text.")
        f.seek(0)
        for total, raw in enumerate(f, 1):
            if total < start or (end_line is not None and total > end_line) or cut:
                continue
            line = numbered(total, clip_line(display_line(raw), limits.line_max_chars))
            if len(shown) >= limits.read_max_lines or chars + len(line) > limits.read_max_chars:
                cut = True
                continue
            shown.append(line)
            chars += len(line) + 1
    if total == 0:
        return f"{path} is empty."
    if start > total:
        raise ToolError(f"{path} has only {total} lines; start_line must be at most {total}.")
    last = start + len(shown) - 1
    head = f"{path} (lines {start}-{last} of {total}):" if (start > 1 or last < total) else f"{path} ({total} lines):"
    tail = [f"[Showing lines {start}-{last} of {total}. Call read_file with start_line={last + 1} to read on.]"] if cut else []
    return "\n".join([head, *shown, *tail])


def show_diff(ctx: ToolContext) -> str:
    diff = ctx.workspace.diff_head()
    parts = ["Changes since the last commit:\n" + diff if diff.strip() else "No changes since the last commit."]
    pending = ctx.proposals.pending()
    if pending:
        parts.append("Edits waiting for the user's review:\n" + "".join(p.diff for p in pending))
    text = "\n".join(parts)
    limit = ctx.limits.diff_max_chars
    if len(text) > limit:
        text = text[:limit] + f"\n[Diff cut at {limit} characters; read_file shows any file in full.]"
    return text


LIST_FILES = ToolSpec(
    "list_files",
    "List the repository's files as a tree.",
    params(
        [],
        path={"type": "string", "description": "Folder to list, relative to the repo root."},
        glob={"type": "string", "description": "Only names matching this pattern, e.g. *.py"},
    ),
    list_files,
)

READ_FILE = ToolSpec(
    "read_file",
    "Read a text file, with line numbers.",
    params(
        ["path"],
        path={"type": "string", "description": "File path relative to the repo root."},
        start_line={"type": "integer", "description": "First line to show (from 1)."},
        end_line={"type": "integer", "description": "Last line to show."},
    ),
    read_file,
)

SHOW_DIFF = ToolSpec(
    "show_diff",
    "Show uncommitted changes and edits waiting for review.",
    params([]),
    show_diff,
)
