"""What `mlxagent mcp list` and `/mcp` show: each server, its state, its tools."""

from __future__ import annotations

from typing import Any

from .manager import McpManager


def listing_lines(manager: McpManager | None, left_out: list[str] | None = None) -> list[str]:
    """Plain lines: a server per line (state, one-line reason), then its tools indented with their
    description's first line; read-only tools are marked, tools left out of the prompt too."""
    if manager is None or not manager.config:
        return ["No MCP servers are configured (add [mcp.servers.NAME] to your config.toml)."]
    skipped = set(manager.left_out if left_out is None else left_out)
    lines = []
    for status in manager.statuses():
        lines.append(status.line() + (f"  [{status.where}]" if status.where else ""))
        for tool in status.tools:
            marks = (["read-only"] if tool.read_only else []) + (["left out of the prompt"]
                                                                  if tool.full_name in skipped else [])
            mark = f" ({', '.join(marks)})" if marks else ""
            lines.append(f"  {tool.full_name}{mark}" + (f": {tool.summary}" if tool.summary else ""))
    return lines


def listing_json(manager: McpManager | None, left_out: list[str] | None = None) -> dict[str, Any]:
    servers = [] if manager is None else [s.to_dict() for s in manager.statuses()]
    if left_out is None:
        left_out = manager.left_out if manager is not None else []
    return {"servers": servers, "left_out": list(left_out)}


def list_command(as_json: bool) -> int:
    """`mlxagent mcp list [--json]`: start the configured servers, list them, stop them.
    Exit 1 when a server failed."""
    import json
    import sys

    from ..config import load_settings

    settings, warnings = load_settings()
    for warning in warnings:
        print(f"mlxagent: {warning}", file=sys.stderr)
    manager = McpManager(settings.mcp_servers) if settings.mcp_servers else None
    try:
        if manager is not None:
            manager.start().wait()
        if as_json:
            print(json.dumps(listing_json(manager)))
        else:
            print("\n".join(listing_lines(manager)))
    finally:
        if manager is not None:
            manager.close()
    failed = manager is not None and any(s.state == "failed" for s in manager.statuses())
    return 1 if failed else 0
