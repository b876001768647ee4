"""The search tool: a pattern across the working tree, one `path:line: text` per hit."""

from __future__ import annotations

import re

from ...errors import MlxAgentError
from .base import ToolContext, ToolError, ToolSpec, clip_line, params
from .read import select_files
from .textfile import looks_binary

HIT_MAX_CHARS = 200


def search(ctx: ToolContext, pattern: str, regex: bool = False, path: str | None = None, glob: str | None = None) -> str:
    if pattern == "":
        raise ToolError("pattern is empty; give the text to look for.")
    try:
        compiled = re.compile(pattern if regex else re.escape(pattern))
    except re.error as exc:
        raise ToolError(f"Invalid regex: {exc}. Set regex=false to search for the text as written.") from None
    limit = ctx.limits.search_max_results
    hits: list[str] = []
    more = False
    for rel in select_files(ctx, path, glob):
        try:
            # Listed files can be symlinks that lead out of the repo; the sandbox decides.
            file = ctx.workspace.resolve(rel)
            if not file.is_file() or file.stat().st_size > ctx.limits.search_max_file_bytes:
                continue
            data = file.read_bytes()
        except (MlxAgentError, OSError):
            continue
        if looks_binary(data):
            continue
        for n, line in enumerate(data.decode("utf-8", "replace").split("\n"), 1):
            line = line.removesuffix("\r")
            if compiled.search(line):
                if len(hits) == limit:
                    more = True
                    break
                hits.append(f"{rel}:{n}: {clip_line(line.strip(), HIT_MAX_CHARS)}")
        if more:
            break
    if not hits:
        where = f" in {path}" if path else ""
        return f"No matches for {pattern!r}{where} (the search is case-sensitive)."
    if more:
        hits.append(f"[Stopped at {limit} matches; narrow the search with path= or glob=.]")
    return "\n".join(hits)


_HIT = re.compile(r"^(.+?):(\d+): ")


def paths_in_hits(text: str) -> list[str]:
    """The distinct file paths a search result shows, in order."""
    found = (_HIT.match(line) for line in text.splitlines())
    return list(dict.fromkeys(m.group(1) for m in found if m))


SEARCH = ToolSpec(
    "search",
    "Search file contents. Results are path:line: text.",
    params(
        ["pattern"],
        pattern={"type": "string", "description": "Text to find (case-sensitive)."},
        regex={"type": "boolean", "description": "Treat pattern as a Python regex."},
        path={"type": "string", "description": "Only search this file or folder."},
        glob={"type": "string", "description": "Only files matching this pattern, e.g. *.py"},
    ),
    search,
)
