"""Run the ACP agent on this process's stdin and stdout.

Only JSON-RPC goes to stdout: the protocol writes to a duplicate of file descriptor 1, and fd 1
itself (and Python's `sys.stdout`) then points at stderr, so a stray print or a library's
message cannot break the stream. Logs go to stderr.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys

STREAM_LIMIT = 50 * 1024 * 1024  # one JSON-RPC line may carry a large file


def run_acp(args) -> int:
    """`mlxagent acp [--model M] [--mode MODE] [--max-steps N] [--max-tokens N]`: serve until the client hangs up."""
    from .agent import MlxAcpAgent, Options

    logging.basicConfig(stream=sys.stderr, level=logging.INFO if getattr(args, "verbose", False) else logging.WARNING,
                        format="mlxagent acp: %(message)s")
    protocol_fd = _claim_stdout()
    agent = MlxAcpAgent(Options(model=args.model, max_steps=args.max_steps, max_tokens=args.max_tokens,
                                mode=getattr(args, "mode", None)))
    try:
        asyncio.run(_serve(agent, protocol_fd))
    finally:
        agent.shutdown()
    return 0


def _claim_stdout() -> int:
    """A private copy of stdout for the protocol; fd 1 and sys.stdout go to stderr from now on."""
    sys.stdout.flush()
    protocol_fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return protocol_fd


async def _serve(agent, protocol_fd: int) -> None:
    from acp import run_agent

    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=STREAM_LIMIT)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    out = os.fdopen(protocol_fd, "wb", buffering=0)
    transport, protocol = await loop.connect_write_pipe(asyncio.streams.FlowControlMixin, out)
    writer = asyncio.StreamWriter(transport, protocol, reader, loop)
    await run_agent(agent, writer, reader)
