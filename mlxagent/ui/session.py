"""The agent the TUI drives: built from the settings before any model is loaded.

The TUI paints first and loads the model in the background, so the agent starts
without a model; `attach_model` gives it one (and the guard thresholds that model
needs) once it is loaded, and again on every switch, keeping the conversation.
"""

from __future__ import annotations

from dataclasses import replace

from ..config import Settings, guard_config_for
from ..core.agent import Agent, AgentConfig
from ..core.guard import ReadLoopGuard
from ..core.instructions import apply_instructions
from ..core.llm import ChatModel
from ..core.proposals import ProposalManager
from ..core.tools import Toolbox
from ..core.workspace import Workspace
from ..errors import MlxAgentError


def build_agent(workspace: Workspace, settings: Settings) -> Agent:
    config = AgentConfig(
        max_steps=settings.max_steps,
        max_tokens=settings.max_tokens,
        auto_approve=settings.auto_approve,
        guard=guard_config_for(settings, ""),
    )
    toolbox = Toolbox(workspace, ProposalManager(workspace, auto_commit=settings.auto_commit))
    # The model arrives later (attach_model); nothing reads it before a turn runs.
    config.context_strategy = settings.context_strategy
    agent = Agent(toolbox, None, config)  # type: ignore[arg-type]
    apply_instructions(agent, settings.instructions_max_chars)
    from ..wiring import wire_tests

    try:
        wire_tests(agent, settings)  # commands are asked about on screen (CommandApproval)
    except MlxAgentError:
        pass  # a broken .mlxagent.toml: no test command; `/test` says why
    return agent


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
