"""The one builder (mlxagent/builder.py): what the settings become in an agent, and that no other
module of the package assembles one."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import mlxagent
from mlxagent.builder import auto_approving, build_agent, set_auto_approve, set_guard_enabled
from mlxagent.config import Settings
from mlxagent.core.testing.loop import RetryPolicy
from mlxagent.core.workspace import Workspace
from mlxagent.errors import MlxAgentError

from fixture_repos import fixture_repo
from scripted_model import ScriptedModel


def test_auto_approve_is_two_policies_and_both_follow_the_toggle(tmp_path):
    repo = fixture_repo("off_by_one", tmp_path)
    settings = Settings(max_attempts=3)
    agent = build_agent(Workspace.open(repo), settings, ScriptedModel(["Done."]), auto_approve=True)
    assert agent.config.review == "apply" and auto_approving(agent)
    assert agent.config.retry == RetryPolicy(undo_failing=True, stop_when_stuck=True, max_attempts=3)
    set_auto_approve(agent, False, settings)
    assert agent.config.review == "ask" and not agent.config.retry.undo_failing
    assert not agent.config.retry.stop_when_stuck and agent.config.retry.max_attempts == 3
    asked = build_agent(Workspace.open(repo), Settings(), ScriptedModel(["Done."]))
    assert asked.config.review == "ask" and asked.config.retry == RetryPolicy()


def test_the_settings_reach_the_agent(tmp_path):
    repo = fixture_repo("off_by_one", tmp_path)
    (repo / "AGENTS.md").write_text("Answer briefly.\n")
    settings = Settings(max_steps=5, max_tokens=77, auto_test=False, command_timeout=9, context_strategy="compact")
    agent = build_agent(Workspace.open(repo), settings, ScriptedModel(["Done."]), guard_enabled=False,
                        allow_commands=True)
    c = agent.config
    assert (c.max_steps, c.max_tokens, c.auto_test, c.context_strategy) == (5, 77, False, "compact")
    assert not c.guard.enabled and not agent.guard.config.enabled
    assert agent.gate.allow is True and agent.gate.timeout == 9.0
    assert "pytest" in agent.toolbox.context.test_command.display()  # detected
    assert "Answer briefly." in agent.messages[0]["content"]
    set_guard_enabled(agent, True)
    assert agent.config.guard.enabled and agent.guard.config.enabled


def test_a_broken_project_file_is_an_error_except_where_the_ui_says_why_later(tmp_path):
    repo = fixture_repo("off_by_one", tmp_path)
    (repo / ".mlxagent.toml").write_text("[project\n")
    with pytest.raises(MlxAgentError, match="not valid TOML"):
        build_agent(Workspace.open(repo), Settings(), ScriptedModel(["Done."]))
    agent = build_agent(Workspace.open(repo), Settings(), None, lenient=True)
    assert agent.toolbox.context.test_command is None and agent.model is None
    assert build_agent(Workspace.open(repo), Settings(), None, tests=False).toolbox.context.test_command is None


def _constructs(node: ast.AST, name: str) -> bool:
    return isinstance(node, ast.Call) and (
        (isinstance(node.func, ast.Name) and node.func.id == name)
        or (isinstance(node.func, ast.Attribute) and node.func.attr == name))


def test_the_agent_is_built_in_one_module_besides_its_own():
    package = Path(mlxagent.__file__).parent
    building = sorted(str(path.relative_to(package)) for path in package.rglob("*.py")
                      if any(_constructs(node, "Agent") for node in ast.walk(ast.parse(path.read_text()))))
    assert building == ["builder.py"]
