"""Snapshots of the main screen, the review screen and the model switcher in every bundled
theme (scripted model, fixed memory, a fixture repository, so nothing depends on the machine).

Update after an intended change with `pytest tests/test_ui_snapshots.py --snapshot-update`
and look at the report before committing the new SVGs.
"""

from __future__ import annotations

import pytest
from fixture_repos import init_repo
from scripted_model import ScriptedModel, hermes_call
from ui_support import ScriptedFactory, make_app, type_text, wait_for, wait_model

from mlxagent.ui.screens.models import ModelSwitcher
from mlxagent.ui.screens.review import ReviewScreen

THEMES = ["mlxagent-dark", "mlxagent-light", "mlxagent-high-contrast"]
SIZE = (110, 32)

OLD = "".join(f"def f{i}(x):\n    return x + {i}\n\n" for i in range(12))
NEW = OLD.replace("return x + 1\n", "return x + 100\n").replace("return x + 10\n", "return (x + 10) * 2\n")


def snapshot_repo(tmp_path):
    repo = tmp_path / "snap"
    repo.mkdir()
    (repo / "funcs.py").write_text(OLD)
    init_repo(repo)
    return repo


def app_for(tmp_path, theme: str, script: list[str]):
    factory = ScriptedFactory({"smollm2-135m": lambda: ScriptedModel(script),
                               "hermes-3-8b": lambda: ScriptedModel(script)})
    return make_app(snapshot_repo(tmp_path), factory, model="smollm2-135m", theme=theme)


@pytest.mark.parametrize("theme", THEMES)
def test_main_screen(snap_compare, tmp_path, theme):
    async def ready(pilot):
        await wait_model(pilot)
        await type_text(pilot, "Make f1 return x + 100")

    assert snap_compare(app_for(tmp_path, theme, []), run_before=ready, terminal_size=SIZE)


@pytest.mark.parametrize("theme", THEMES)
def test_review_screen(snap_compare, tmp_path, theme):
    script = [hermes_call("write_file", path="funcs.py", content=NEW)]

    async def reviewing(pilot):
        await wait_model(pilot)
        await type_text(pilot, "change f1 and f10")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ReviewScreen), what="the review")
        await pilot.pause()
        await pilot.press("j", "r")  # the second hunk rejected, the cursor stays on it
        await pilot.pause()

    assert snap_compare(app_for(tmp_path, theme, script), run_before=reviewing, terminal_size=SIZE)


@pytest.mark.parametrize("theme", THEMES)
def test_model_switcher(snap_compare, tmp_path, theme):
    async def switcher(pilot):
        await wait_model(pilot)
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ModelSwitcher), what="the switcher")
        await wait_for(pilot, lambda: bool(pilot.app.screen.installed), what="the installed list")
        await pilot.pause()

    assert snap_compare(app_for(tmp_path, theme, []), run_before=switcher, terminal_size=(110, 36))
