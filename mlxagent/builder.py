"""The one place an Agent is assembled from the settings.

Every front end gets its agent here: the TUI (`build_agent`, before its model has loaded, then
`attach_model`), `mlxagent run` (`build_session`: settings, workspace, model and agent), and the
task suite (tasksuite/harness.py), and `mlxagent acp` (acp/agent.py: `load_model` once, then
`build_agent` per session). What the settings hold is turned into the
agent's policies here and nowhere else:

* review: "ask" (each edit waits for the user) or "apply" (`auto_approve`, `--yes`);
* retry: with nobody reviewing, an edit that leaves the tests failing is undone and retried,
  and a weak model with no validated candidate stops and asks instead of guessing;
* the test command (`--test-cmd`, `.mlxagent.toml`, the settings, detection) and the command
  gate with its consent (`allow_commands`: True runs, False refuses, None asks);
* the read-loop guard's thresholds for the model, and the project's instructions;
* the permission mode (core/modes.py: plan, ask, accept-edits, auto), which sets the review
  policy and the command consent above; an explicit mode wins over `auto_approve` / `allow_commands`.
"""

from __future__ import annotations

from dataclasses import replace

from .config import Settings, guard_config_for
from .core.agent import Agent, AgentConfig
from .core.guard import ReadLoopGuard
from .core.instructions import apply_instructions
from .core.llm import ChatModel
from .core.modes import mode_named, resolve as resolve_mode
from .core.proposals import ProposalManager
from .core.testing.consent import CommandPermissions
from .core.testing.detect import TestCommand, resolve_test_command
from .core.testing.gate import CommandGate
from .core.testing.loop import RetryPolicy
from .core.testing.runner import CommandError
from .core.tools import Toolbox
from .core.workspace import Workspace
from .errors import MlxAgentError
from .paths import config_dir

PERMISSIONS_FILE = "allowed_commands.json"


def permissions_for(root) -> CommandPermissions:
    """The commands the user allowed "always" for the repository at `root` (kept in the config dir)."""
    return CommandPermissions(config_dir() / PERMISSIONS_FILE, root)


def test_command_for(root, settings: Settings, override: str | None = None) -> TestCommand | None:
    """--test-cmd, then .mlxagent.toml, then the settings, then detection; one clear line on a bad one."""
    try:
        return resolve_test_command(root, override=override, settings_command=settings.test_command or None)
    except CommandError as exc:
        raise MlxAgentError(str(exc)) from None


def policies(auto_approve: bool, settings: Settings) -> tuple[str, RetryPolicy]:
    """What `auto_approve` means: the review policy and the retry policy."""
    return ("apply" if auto_approve else "ask",
            RetryPolicy.unattended(auto_approve, max_attempts=settings.max_attempts))


def build_agent(workspace: Workspace, settings: Settings, model: ChatModel | None = None, *,
                guard_enabled: bool = True, auto_approve: bool | None = None, max_steps: int | None = None,
                max_tokens: int | None = None, test_cmd: str | None = None, tests: bool = True,
                allow_commands: bool | None = None, auto_test: bool | None = None, repair: bool = True,
                remember_consent: bool = True, lenient: bool = False, mode: str | None = None) -> Agent:
    """An agent for `workspace` with `model` (None: the TUI attaches one once it has loaded).

    `tests`: look for a test command at all; `lenient`: a broken `.mlxagent.toml` leaves the agent
    without a test command (the TUI says why on `/test`) instead of being an error;
    `remember_consent`: commands allowed "always" are saved for the repository; `mode`: the
    permission mode (None: `settings.default_mode`, lifted by `auto_approve` and `allow_commands`;
    given, it wins over both)."""
    yes = settings.auto_approve if auto_approve is None else auto_approve
    chosen = mode_named(resolve_mode(mode, settings.default_mode, yes=yes, allow_commands=allow_commands))
    if mode is not None or allow_commands is None:
        allow_commands = chosen.run_commands
    review, retry = policies(chosen.apply_edits, settings)
    guard = guard_config_for(settings, model.name if model is not None else "")
    if not guard_enabled:
        guard = replace(guard, enabled=False)
    config = AgentConfig(max_steps=max_steps or settings.max_steps, max_tokens=max_tokens or settings.max_tokens,
                         review=review, retry=retry, guard=guard, repair=repair,
                         auto_test=settings.auto_test if auto_test is None else auto_test,
                         context_strategy=settings.context_strategy, show_refused=settings.show_refused_edits)
    root = workspace.root
    permissions = permissions_for(root) if remember_consent else CommandPermissions(None, root)
    gate = CommandGate(root, permissions, allow=allow_commands, timeout=float(settings.command_timeout))
    agent = Agent(Toolbox(workspace, ProposalManager(workspace, auto_commit=settings.auto_commit)),
                  model, config, gate=gate,  # type: ignore[arg-type] - a model arrives later in the TUI
                  hooks=settings.hooks)
    agent.mode = chosen
    apply_instructions(agent, settings.instructions_max_chars)
    if tests:
        try:
            agent.toolbox.context.test_command = test_command_for(root, settings, test_cmd)
        except MlxAgentError:
            if not lenient:
                raise
    return agent


def load_model(spec: str | None, settings: Settings, runtime, progress=None) -> ChatModel:
    """The chat model `spec` names (else the default): a remote provider's, or a local one loaded
    by `runtime` (a model.runtime.ModelRuntime). A local model keeps its alias as its name."""
    from .model.chat_model import MlxChatModel
    from .model.remote import remote_model

    spec = spec or settings.default_model
    model = remote_model(settings.aliases.get(spec, spec), settings.providers, settings.temperature)
    if model is None:
        model = MlxChatModel(runtime.load(spec, progress=progress, aliases=settings.aliases))
    return model


def build_session(repo: str, model_spec: str | None, *, no_guard: bool = False, auto_approve: bool = False,
                  max_steps: int | None = None, max_tokens: int | None = None, progress=None,
                  test_cmd: str | None = None, allow_commands: bool | None = False, auto_test: bool | None = None,
                  speculative: bool | None = None, mode: str | None = None):
    """Settings, workspace, model and agent for `mlxagent run`; returns (agent, runtime, warnings).
    `mode`: the permission mode; given, it wins over `auto_approve` and `allow_commands`."""
    from .config import load_settings
    from .model.runtime import ModelRuntime

    settings, warnings = load_settings()
    workspace = Workspace.open(repo)
    runtime = ModelRuntime(speculative=settings.speculative if speculative is None else speculative)
    model = load_model(model_spec, settings, runtime, progress)
    agent = build_agent(workspace, settings, model, guard_enabled=not no_guard,
                        auto_approve=auto_approve or settings.auto_approve, max_steps=max_steps,
                        max_tokens=max_tokens, test_cmd=test_cmd, allow_commands=allow_commands,
                        auto_test=auto_test, mode=mode)
    warnings = list(warnings) + start_mcp(agent, settings)  # MCP servers: failures and left-out tools, one line each
    return agent, runtime, warnings


# -- changes between turns ------------------------------------------------------------------


def attach_model(agent: Agent, model: ChatModel, settings: Settings) -> None:
    """Give the agent `model`; the guard takes that model's thresholds (config.guard_config_for).

    Call between turns only. The guard is rebuilt only when its thresholds change, so
    switching between models with the same thresholds keeps what it knows was read.
    """
    agent.set_model(model)
    guard = guard_config_for(settings, model.name)
    if not agent.config.guard.enabled:
        guard = replace(guard, enabled=False)  # /guard off outlives a model switch
    if guard != agent.config.guard:
        agent.config.guard = guard
        agent.guard = ReadLoopGuard(guard)


def set_guard_enabled(agent: Agent, enabled: bool) -> None:
    """Turn the read-loop guard on or off for the rest of the session (between turns)."""
    agent.config.guard = replace(agent.config.guard, enabled=enabled)
    agent.guard = ReadLoopGuard(agent.config.guard)


def set_auto_approve(agent: Agent, on: bool, settings: Settings) -> None:
    """Auto-approve on or off for the rest of the session: both policies follow (between turns),
    and the mode with them (on: accept-edits unless it is auto; off: ask)."""
    from .core.modes import with_auto_approve

    set_mode(agent, with_auto_approve(agent.mode, on), settings)


def set_mode(agent: Agent, mode: str, settings: Settings) -> None:
    """Switch the permission mode for the rest of the session (between turns): the review and
    retry policies and the command consent follow it. ModeError for a name that is no mode."""
    chosen = mode_named(mode)
    agent.mode = chosen
    agent.config.review, agent.config.retry = policies(chosen.apply_edits, settings)
    agent.gate.allow = chosen.run_commands


def auto_approving(agent: Agent) -> bool:
    return agent.config.review == "apply"


# -- MCP servers (mlxagent/mcp_client) --------------------------------------------------------


def start_mcp(agent: Agent, settings: Settings, *, wait: bool = True) -> list[str]:
    """Start the MCP servers of the user's settings (never a repository's) for this session:
    `agent.mcp` holds them, and with `wait` their tools are added to the agent's toolbox once
    they have started (else call `add_mcp_tools` later). Returns the one-line notices: servers
    that failed, tools left out of the prompt. `stop_mcp` stops them."""
    from .mcp_client import McpManager

    agent.mcp = None
    if not any(table.get("enabled", True) for table in settings.mcp_servers.values()):
        return []
    agent.mcp = McpManager(settings.mcp_servers).start()
    if not wait:
        return []
    agent.mcp.wait()
    return add_mcp_tools(agent)


def add_mcp_tools(agent: Agent) -> list[str]:
    """Add the started MCP servers' tools that fit the model's context; returns the notices."""
    from .mcp_client import add_tools

    manager = getattr(agent, "mcp", None)
    if manager is None:
        return []
    fitted = add_tools(agent.toolbox, manager, getattr(agent.model, "context_length", None))
    notices = [f"MCP server {s.line()}" for s in manager.statuses() if s.state == "failed"]
    return notices + ([fitted.notice()] if fitted.notice() else [])


def stop_mcp(agent: Agent | None) -> None:
    """Stop the session's MCP servers (their processes end with them)."""
    manager = getattr(agent, "mcp", None)
    if manager is not None:
        manager.close()
