"""Command tools: run_tests and run_command. Like edit tools they do nothing themselves:
each returns a `CommandRequest` that the agent shows to the user for consent, runs
(core/testing/runner.py) and reports, parsed for tests (core/testing/report.py)."""

from __future__ import annotations

from ..testing.runner import CommandError, split_command
from .base import CommandRequest, ToolContext, ToolError, ToolResult, ToolSpec, params


def run_tests(ctx: ToolContext, target: str | None = None) -> ToolResult:
    command = ctx.test_command
    if command is None:
        raise ToolError("No test command is known for this repository (set [project] test_command in "
                        ".mlxagent.toml); use run_command to run one.")
    target = (target or "").strip() or None
    try:
        argv = tuple(command.narrowed(target)) if target else tuple(command.argv)
    except CommandError as exc:
        raise ToolError(str(exc)) from None
    return ToolResult(f"Running the tests: {command.display() if not target else ' '.join(argv)}",
                      command=CommandRequest(argv, ".", "tests"))


def run_command(ctx: ToolContext, command: str, cwd: str | None = None) -> ToolResult:
    try:
        argv = split_command(command)
    except CommandError as exc:
        raise ToolError(str(exc)) from None
    folder = ctx.workspace.normalize(cwd or ".")
    target = ctx.workspace.resolve(folder)
    if not target.is_dir():
        raise ToolError(f"cwd {folder!r} is not a folder in the repository.")
    return ToolResult(f"Running: {command}", command=CommandRequest(tuple(argv), folder, "command"))


RUN_TESTS = ToolSpec(
    "run_tests",
    "Run the project's tests and get the failing tests with their error lines.",
    params([], target={"type": "string", "description": "Optional: a test file or test name to run alone."}),
    run_tests,
)

RUN_COMMAND = ToolSpec(
    "run_command",
    "Run a command in the repository (no shell; the user approves it first).",
    params(["command"], command={"type": "string", "description": "The command line, e.g. python -m mypy src"},
           cwd={"type": "string", "description": "Optional folder inside the repo."}),
    run_command,
)
