"""Model Context Protocol servers' tools for the agent (the `mcp` SDK): the servers of a session
(`manager.py`), their tools as the agent's (`tools.py`, with the budget a small context allows),
and what `mlxagent mcp list` and `/mcp` show (`report.py`). Servers come from the user's
settings only (`[mcp.servers.NAME]`, config_tables.py), never from a repository."""

from .manager import McpManager, McpTool, ServerStatus
from .report import listing_json, listing_lines
from .tools import FittedTools, add_tools, fit

__all__ = ["FittedTools", "McpManager", "McpTool", "ServerStatus", "add_tools", "fit", "listing_json",
           "listing_lines"]
