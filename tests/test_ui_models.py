"""The model switcher and installer under Pilot, with scripted models: switching keeps the
conversation and releases the old model, failures leave the current model in place."""

from __future__ import annotations

from fixture_repos import fixture_repo
from scripted_model import ScriptedModel
from ui_support import ScriptedFactory, make_app, press_text, send, wait_for, wait_idle, wait_model

from mlxagent.ui.screens.models import ModelSwitcher


def two_models(**kw) -> ScriptedFactory:
    return ScriptedFactory({"model-a": lambda: ScriptedModel(["Answer from A."]),
                            "model-b": lambda: ScriptedModel(["Answer from B."])}, **kw)


async def open_switcher(pilot) -> ModelSwitcher:
    await pilot.press("ctrl+o")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, ModelSwitcher), what="the model switcher")
    switcher = pilot.app.screen
    await wait_for(pilot, lambda: bool(switcher.installed), what="the installed list")
    return switcher


async def install_from_switcher(pilot, spec: str) -> ModelSwitcher:
    """Open the switcher, type `spec` into the install box (i) and press Enter."""
    switcher = await open_switcher(pilot)
    await pilot.press("i")
    await press_text(pilot, spec)
    await pilot.press("enter")
    return switcher


def job_text(switcher) -> str:
    return str(switcher.query_one("#models-job").render())


async def test_switching_keeps_the_conversation_and_releases_the_old_model(tmp_path):
    repo = fixture_repo("readme_typo", tmp_path)
    factory = two_models()
    app = make_app(repo, factory, model="model-a")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_model(pilot, "model-a")
        await send(pilot, "hello")
        await wait_idle(pilot)
        released_before = factory.released
        switcher = await open_switcher(pilot)
        table = switcher.query_one("#models-installed")
        assert [str(table.get_row_at(i)[0]) for i in range(table.row_count)] == ["model-a", "model-b"]
        assert "◆ current" in str(table.get_row_at(0)[-1])
        await pilot.press("down", "enter")  # model-b
        await wait_model(pilot, "model-b")
        await wait_for(pilot, lambda: app.screen is app.chat, what="the switcher to close")
        assert factory.loads == ["model-a", "model-b"] and factory.released == released_before + 1
        assert "◆ model-b" in str(app.chat.status.query_one("#status-model").render())
        await send(pilot, "and you?")
        await wait_idle(pilot)
        # the new model got the whole conversation, the old answer included
        assert "Answer from A." in str(app.agent.messages) and "Answer from B." in app.chat.transcript.streamed_text
        assert [m["content"] for m in app.agent.messages if m["role"] == "user"] == ["hello", "and you?"]


async def test_a_model_that_fails_to_load_leaves_the_previous_one_in_place(tmp_path):
    repo = fixture_repo("readme_typo", tmp_path)
    factory = two_models(broken={"model-broken"})
    app = make_app(repo, factory, model="model-a")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_model(pilot, "model-a")
        switcher = await open_switcher(pilot)
        switcher.load("model-broken")
        await wait_for(pilot, lambda: not app.model_state.job and app.model_state.error, what="the failed load")
        assert "unsupported architecture" in app.model_state.error and "Back on model-a" in app.model_state.error
        assert app.model_state.name == "model-a" and app.screen is switcher
        assert "unsupported architecture" in job_text(switcher)
        await pilot.press("escape")
        await send(pilot, "still there?")
        await wait_idle(pilot)
        assert "Answer from A." in app.chat.transcript.streamed_text


async def test_install_from_an_unreachable_hub_says_so_and_changes_nothing(tmp_path):
    repo = fixture_repo("readme_typo", tmp_path)
    factory = two_models(offline={"mlx-community/Some-Model-4bit"})
    app = make_app(repo, factory, model="model-a")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_model(pilot, "model-a")
        switcher = await install_from_switcher(pilot, "mlx-community/Some-Model-4bit")
        await wait_for(pilot, lambda: "Could not reach" in job_text(switcher), what="the install failure")
        assert app.model_state.name == "model-a" and not app.model_state.job
        assert factory.loads == ["model-a"]
        # an empty install box asks for an id instead of starting a job
        switcher.query_one("#models-install-input").value = ""
        await pilot.press("enter")
        assert "Type a Hugging Face id" in job_text(switcher)


async def test_install_then_load_from_the_list(tmp_path):
    repo = fixture_repo("readme_typo", tmp_path)
    factory = two_models()
    app = make_app(repo, factory, model="model-a")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_model(pilot, "model-a")
        switcher = await install_from_switcher(pilot, "model-b")
        await wait_for(pilot, lambda: "Installed model-b" in job_text(switcher), what="the install")
        assert factory.loads == ["model-a"]  # installing loads nothing
        switcher.load("model-b")
        await wait_model(pilot, "model-b")


async def test_slash_model_with_a_name_switches_without_the_screen(tmp_path):
    repo = fixture_repo("readme_typo", tmp_path)
    factory = two_models()
    app = make_app(repo, factory, model="model-a")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_model(pilot, "model-a")
        released_before = factory.released
        await send(pilot, "/model model-b")
        await wait_model(pilot, "model-b")
        assert factory.released == released_before + 1


async def test_cancelling_a_slow_load_goes_back_to_the_previous_model(tmp_path):
    repo = fixture_repo("readme_typo", tmp_path)

    class CancellableFactory(ScriptedFactory):
        def load(self, spec, progress, cancel):
            if spec == "model-b":
                self.loads.append(spec)
                while not cancel():
                    import time

                    time.sleep(0.01)
                from mlxagent.errors import CancelledError

                raise CancelledError("cancelled")
            return super().load(spec, progress, cancel)

    factory = CancellableFactory({"model-a": lambda: ScriptedModel(["A."]), "model-b": lambda: ScriptedModel(["B."])})
    app = make_app(repo, factory, model="model-a")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_model(pilot, "model-a")
        switcher = await open_switcher(pilot)
        switcher.load("model-b")
        await wait_for(pilot, lambda: app.model_state.loading == "model-b", what="the load to start")
        assert "Loading model-b" in job_text(switcher)
        await pilot.pause()  # the Cancel button appears with the job: let it be laid out
        assert await pilot.click("#models-cancel")
        await wait_for(pilot, lambda: not app.model_state.job, what="the cancel")
        assert app.model_state.name == "model-a" and "Cancelled model-b." in app.model_state.error
