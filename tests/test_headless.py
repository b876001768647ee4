"""`mlxagent run` end to end: the real default model on a fixture repository."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from fixture_repos import fixture_repo

VALID_TOOLS = {"list_files", "read_file", "search", "edit_file", "write_file", "show_diff"}


def run_cli(*args: str, home, timeout: int = 600) -> subprocess.CompletedProcess:
    env = dict(os.environ, MLXAGENT_HOME=str(home))
    return subprocess.run([sys.executable, "-m", "mlxagent", *args], capture_output=True, text=True, env=env,
                          timeout=timeout)


def test_run_on_fixture_with_real_model(tmp_path, isolated_home, real_model_dir):
    repo = fixture_repo("readme_typo", tmp_path)
    task = (repo / "TASK.txt").read_text().strip()
    done = run_cli("run", task, "--repo", str(repo), "--model", str(real_model_dir), "--yes", "--json",
                   "--max-steps", "4", "--max-tokens", "200", home=isolated_home)
    assert done.returncode == 0, done.stderr[-2000:]
    events = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    kinds = [e["event"] for e in events]
    assert kinds[0] == "TurnStarted" and kinds[-2:] == ["TurnFinished", "SessionSaved"]
    calls = [e for e in events if e["event"] == "ToolCallFinished"]
    assert any(c["name"] in VALID_TOOLS and not c["is_error"] for c in calls), done.stdout[-3000:]
    # clean and consistent: only files the agent's applied proposals touched may differ from HEAD
    applied = {e["path"] for e in events if e["event"] == "ProposalResolved" and e["outcome"] != "rejected"}
    status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=repo,
                            capture_output=True, text=True, check=True).stdout.splitlines()
    changed = {line[3:] for line in status}
    assert changed <= applied, (changed, applied)
    assert subprocess.run(["git", "fsck", "--no-progress"], cwd=repo, capture_output=True).returncode == 0
    # the run was saved, and `--continue` goes on with the same conversation
    session = events[-1]["session_id"]
    again = run_cli("run", "--continue", "What did you do?", "--repo", str(repo), "--model", str(real_model_dir),
                    "--json", "--max-steps", "1", "--max-tokens", "16", "--no-auto-test", home=isolated_home)
    assert again.returncode == 0, again.stderr[-2000:]
    later = [json.loads(line) for line in again.stdout.splitlines() if line.strip()]
    assert later[-1] == {"event": "SessionSaved", "session_id": session}
    prompt = next(e for e in later if e["event"] == "GenerationStats")["prompt_tokens"]
    first_prompts = [e["prompt_tokens"] for e in events if e["event"] == "GenerationStats"]
    if first_prompts:
        assert prompt > first_prompts[0]  # the model read the first turn too
    else:  # the request's own candidate did the first turn: the model reads that edit now
        assert any(e["event"] == "ProposalResolved" and e["outcome"] == "applied" for e in events)
    from mlxagent.core.saved_sessions import SessionStore

    saved = SessionStore().load(session)
    assert saved.turns == 2 and saved.messages[0]["content"].startswith(task)


def test_run_outside_a_repository_is_one_clear_line(tmp_path, isolated_home):
    done = run_cli("run", "anything", "--repo", str(tmp_path), "--model", "smollm2-135m", home=isolated_home)
    assert done.returncode == 1
    assert "not inside a git repository" in done.stderr.lower() and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_run_with_unknown_model_is_one_clear_line(tmp_path, isolated_home):
    repo = fixture_repo("readme_typo", tmp_path)
    done = run_cli("run", "x", "--repo", str(repo), "--model", "no-such-model", home=isolated_home)
    assert done.returncode == 1 and done.stderr.startswith("mlxagent: Unknown model 'no-such-model'")


def test_a_local_alias_keeps_its_name_and_a_remote_alias_reaches_its_provider(tmp_path, real_model_dir):
    from mlxagent import paths
    from mlxagent.errors import OfflineError
    from mlxagent.builder import build_session

    paths.config_file().parent.mkdir(parents=True, exist_ok=True)
    paths.config_file().write_text(f'[aliases]\nmine = "{real_model_dir}"\nfar = "box/big"\n'
                                   '[providers.box]\nbase_url = "http://127.0.0.1:9/v1"\n')
    repo = fixture_repo("off_by_one", tmp_path)
    agent, _, _ = build_session(str(repo), "mine", auto_test=False)
    assert agent.model.name == "mine"  # what the guard's per-model thresholds and the status bar go by
    with pytest.raises(OfflineError, match="^box: cannot reach http://127.0.0.1:9/v1"):
        build_session(str(repo), "far", auto_test=False)
