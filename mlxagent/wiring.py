"""The parts of an agent that come from the settings and the repository: which command runs
the tests, and who may allow commands. Shared by the CLI, the TUI and the benchmarks."""

from __future__ import annotations

from .config import Settings
from .core.agent import Agent
from .core.testing.gate import CommandGate
from .core.testing.runner import CommandError
from .core.testing.consent import CommandPermissions
from .core.testing.detect import TestCommand, resolve_test_command
from .errors import MlxAgentError
from .paths import config_dir

PERMISSIONS_FILE = "allowed_commands.json"


def permissions_for(root) -> CommandPermissions:
    return CommandPermissions(config_dir() / PERMISSIONS_FILE, root)


def test_command_for(root, settings: Settings, override: str | None = None) -> TestCommand | None:
    """--test-cmd, then .mlxagent.toml, then the settings, then detection; one clear line on a bad one."""
    try:
        return resolve_test_command(root, override=override, settings_command=settings.test_command or None)
    except CommandError as exc:
        raise MlxAgentError(str(exc)) from None


def wire_tests(agent: Agent, settings: Settings, *, override: str | None = None, allow: bool | None = None,
               auto_test: bool | None = None) -> TestCommand | None:
    """Give `agent` its test command and its command gate (consent: `allow` True runs without
    asking, False refuses, None asks through CommandApproval events)."""
    root = agent.toolbox.workspace.root
    command = test_command_for(root, settings, override)
    agent.toolbox.context.test_command = command
    agent.gate = CommandGate(root, permissions_for(root), allow=allow, timeout=float(settings.command_timeout))
    agent.config.max_attempts = settings.max_attempts
    agent.config.auto_test = settings.auto_test if auto_test is None else auto_test
    return command
