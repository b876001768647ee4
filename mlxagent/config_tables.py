"""The settings' tables for what the user's config may start or run: `[hooks]` and `[mcp.servers.NAME]`.

Both are read from the user's config file only (config.toml), never from a repository's
`.mlxagent.toml`: a repository must not start processes. Like the rest of the settings, a
broken entry costs a warning line and is left out; nothing here raises.
"""

from __future__ import annotations

from typing import Any

# When a hook runs: after an applied edit, before a command (tests included), at a turn's end.
HOOK_EVENTS = ("after_edit", "before_command", "turn_end")
# The keys one [mcp.servers.NAME] table may hold.
MCP_SERVER_KEYS = ("command", "env", "cwd", "url", "headers", "enabled", "timeout")
# The permission modes, least to most trusting (core/modes.py says what each allows).
MODES = ("plan", "ask", "accept-edits", "auto")


def _at(source: str) -> str:
    return f"{source}: " if source else ""


def _argv(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(x, str) and x for x in value)


def hooks_table(value: Any, source: str, warnings: list[str]) -> dict[str, list[list[str]]]:
    """[hooks]: EVENT = one argv list (["ruff", "format"]) or a list of them; each event's
    commands in order. Unknown events and malformed commands are left out with a warning."""
    if not isinstance(value, dict):
        warnings.append(f"{_at(source)}[hooks] must be a table, not {value!r}; no hooks")
        return {}
    hooks: dict[str, list[list[str]]] = {}
    for event, commands in value.items():
        if event not in HOOK_EVENTS:
            warnings.append(f"{_at(source)}unknown hook {event!r} ignored (known: {', '.join(HOOK_EVENTS)})")
            continue
        if _argv(commands):
            hooks[event] = [list(commands)]
        elif isinstance(commands, list) and commands and all(_argv(c) for c in commands):
            hooks[event] = [list(c) for c in commands]
        else:
            warnings.append(f"{_at(source)}hooks.{event} must be a command as a list of strings "
                            f'(["ruff", "format", "."]) or a list of such lists, not {commands!r}; ignored')
    return hooks


def _text_table(value: Any) -> bool:
    return isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())


def mcp_table(value: Any, source: str, warnings: list[str]) -> dict[str, dict[str, Any]]:
    """[mcp.servers.NAME]: `command` (argv list, a stdio server) or `url` (streamable HTTP), with
    `env` / `headers` (text tables), `cwd`, `timeout` (seconds), `enabled`. A broken server is left
    out with a warning; one that is off stays listed with enabled = false."""
    if not isinstance(value, dict):
        warnings.append(f"{_at(source)}[mcp] must be a table, not {value!r}; no MCP servers")
        return {}
    for key in value:
        if key != "servers":
            warnings.append(f"{_at(source)}unknown setting 'mcp.{key}' ignored")
    servers = value.get("servers", {})
    if not isinstance(servers, dict):
        warnings.append(f"{_at(source)}[mcp.servers] must be a table of servers, not {servers!r}; no MCP servers")
        return {}
    out: dict[str, dict[str, Any]] = {}
    for name, table in servers.items():
        where = f"{_at(source)}mcp.servers.{name}"
        problem = _server_problem(name, table)
        if problem:
            warnings.append(f"{where}: {problem}; server left out")
            continue
        for key in table:
            if key not in MCP_SERVER_KEYS:
                warnings.append(f"{where}: unknown key {key!r} ignored")
        server = {k: table[k] for k in MCP_SERVER_KEYS if k in table}
        server.setdefault("enabled", True)
        server.setdefault("timeout", 30)
        out[name] = server
    return out


def _server_problem(name: str, table: Any) -> str:
    if not name or "." in name or any(c.isspace() for c in name):
        return "a server's name must be one word without dots (tools are named NAME.tool)"
    if not isinstance(table, dict):
        return f"must be a table, not {table!r}"
    has_command, has_url = "command" in table, "url" in table
    if has_command == has_url:
        return "needs either command = [\"prog\", \"arg\", ...] (stdio) or url = \"http://...\" (HTTP), not both"
    if has_command and not _argv(table["command"]):
        return f"command must be a list of non-empty strings, not {table['command']!r}"
    if has_url and not (isinstance(table["url"], str) and table["url"].startswith(("http://", "https://"))):
        return f"url must start with http:// or https://, not {table['url']!r}"
    for key in ("env", "headers"):
        if key in table and not _text_table(table[key]):
            return f"{key} must be a table of text to text"
    if "cwd" in table and not (isinstance(table["cwd"], str) and table["cwd"]):
        return "cwd must be a folder path"
    if "enabled" in table and not isinstance(table["enabled"], bool):
        return "enabled must be true or false"
    timeout = table.get("timeout", 30)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
        return "timeout must be a number of seconds above 0"
    return ""
