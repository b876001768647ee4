"""`mlxagent acp`: an Agent Client Protocol agent over stdio, for Zed, Toad and other ACP clients.

`agent.py` serves the protocol (sessions, prompt turns, permissions, cancel) over the engine;
`updates.py` translates a turn's events into ACP updates and permission answers back;
`stdio.py` runs it on stdin/stdout with nothing but JSON-RPC on stdout.
"""
