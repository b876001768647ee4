"""Installed models are remembered (local folders by path, under a name), listed with size
and quantisation, shown missing when their folder is gone, and taken off the list without
deleting anything; GGUFs in Ollama's and LM Studio's stores are listed and imported once;
swapping between two real models from the keyboard releases the old one's memory."""

from __future__ import annotations

import gc
import json
import os
import shutil
from pathlib import Path

import mlx.core as mx
import pytest

from fixture_repos import fixture_repo
from scripted_model import ScriptedModel
from ui_support import ScriptedFactory, make_app, press_text, send, wait_for, wait_idle, wait_model

from mlxagent.cli import main
from mlxagent.config import Settings
from mlxagent.errors import ModelError
from mlxagent.model import catalog, registry, stores
from mlxagent.model.catalog import InstalledModel
from mlxagent.ui.app import MlxAgentApp
from mlxagent.ui.model_factory import RuntimeModelFactory
from mlxagent.ui.screens.models import ModelSwitcher

GB = 10**9


@pytest.fixture(scope="module")
def eight_bit_copy(real_model_dir, tmp_path_factory) -> Path:
    """An 8-bit copy of the default model, made as a user would: `mlx_lm convert` (dequantise
    the 4-bit import, then quantise to 8 bits)."""
    import subprocess
    import sys

    root = tmp_path_factory.mktemp("converted")
    dense, q8 = root / "dense", root / "smol-q8"
    for args in (["--hf-path", str(real_model_dir), "--mlx-path", str(dense), "-d"],
                 ["--hf-path", str(dense), "--mlx-path", str(q8), "-q", "--q-bits", "8"]):
        done = subprocess.run([sys.executable, "-m", "mlx_lm", "convert", *args], capture_output=True, text=True,
                              timeout=300)
        assert done.returncode == 0, done.stderr[-500:]
    shutil.rmtree(dense)
    return q8


def listed(name: str) -> InstalledModel | None:
    return next((m for m in catalog.installed_models() if m.name == name), None)


# ---- remembered folders --------------------------------------------------------------------

def test_installed_folder_is_remembered_listed_and_loadable_by_name(eight_bit_copy, capsys):
    assert main(["models", "install", str(eight_bit_copy), "--name", "smol-8bit"]) == 0
    assert "smol-8bit: installed" in capsys.readouterr().out
    model = listed("smol-8bit")
    assert model is not None and model.source == "folder" and model.path == eight_bit_copy.resolve()
    assert model.quantisation == "8-bit" and 0.1 * GB < model.size_bytes < 0.3 * GB
    assert main(["models", "list"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if "smol-8bit" in x)
    assert "8-bit" in line and "folder" in line and "GB" in line
    # the name loads it; installing again changes nothing
    assert catalog.resolve("smol-8bit") == (eight_bit_copy.resolve(), "smol-8bit")
    assert main(["models", "install", str(eight_bit_copy)]) == 0
    assert [m.name for m in catalog.installed_models()].count("smol-8bit") == 1


def test_loading_a_folder_by_path_remembers_it_and_names_stay_unique(tmp_path, real_model_dir):
    a, b = tmp_path / "one" / "model", tmp_path / "two" / "model"
    for d in (a, b):
        d.mkdir(parents=True)
        shutil.copy(real_model_dir / "config.json", d / "config.json")
    assert catalog.resolve(str(a)) == (a, "model")  # `/model DIR`
    assert catalog.resolve(str(b))[1] == "model-2"
    assert {m.name: m.path for m in catalog.installed_models() if m.source == "folder"} == \
        {"model": a.resolve(), "model-2": b.resolve()}
    with pytest.raises(ModelError, match="cannot name a model"):
        catalog.remember_folder(a, "bad/name")


def test_missing_folder_is_shown_and_removing_it_deletes_nothing(tmp_path, real_model_dir, capsys):
    d = tmp_path / "gone"
    d.mkdir()
    shutil.copy(real_model_dir / "config.json", d / "config.json")
    catalog.remember_folder(d, "gone")
    shutil.move(d, tmp_path / "elsewhere")
    model = listed("gone")
    assert model is not None and model.missing
    with pytest.raises(ModelError, match="gone: its folder .* is gone"):
        catalog.resolve("gone")
    main(["models", "list"])
    assert "missing" in next(x for x in capsys.readouterr().out.splitlines() if "gone" in x)
    assert main(["models", "remove", "gone"]) == 0
    assert "nothing on disk was deleted" in capsys.readouterr().out
    assert listed("gone") is None and (tmp_path / "elsewhere" / "config.json").exists()
    assert main(["models", "remove", "gone"]) == 1  # not listed any more: one line, no traceback
    assert "No model named 'gone'" in capsys.readouterr().err


def test_removing_an_import_hides_it_and_installing_it_again_brings_it_back(real_gguf, capsys):
    dest, _ = catalog.resolve(str(real_gguf))
    name = "smollm2-135m"  # the default model's file: listed under its own name
    assert listed(name) is not None
    assert main(["models", "remove", name]) == 0
    assert listed(name) is None and (dest / "model.safetensors").exists()
    catalog.resolve(str(real_gguf))
    assert listed(name) is not None


def test_an_unreadable_list_counts_as_empty_and_is_rewritten(tmp_path, real_model_dir):
    registry.registry_file().parent.mkdir(parents=True, exist_ok=True)
    registry.registry_file().write_text("{not json")
    assert [m for m in catalog.installed_models() if m.source == "folder"] == []
    d = tmp_path / "m"
    d.mkdir()
    shutil.copy(real_model_dir / "config.json", d / "config.json")
    catalog.remember_folder(d, "fresh")
    assert json.loads(registry.registry_file().read_text())["models"] == [{"name": "fresh", "path": str(d.resolve())}]


# ---- other apps' stores --------------------------------------------------------------------

def fake_ollama(root: Path, gguf: Path, digest: str, name: str = "smollm2", tag: str = "135m",
                namespace: str = "library") -> Path:
    blobs = root / "blobs"
    blobs.mkdir(parents=True, exist_ok=True)
    blob = blobs / f"sha256-{digest}"
    if not blob.exists():
        blob.symlink_to(gguf)
    manifest = root / "manifests" / "registry.ollama.ai" / namespace / name / tag
    manifest.parent.mkdir(parents=True, exist_ok=True)
    manifest.write_text(json.dumps({"schemaVersion": 2, "layers": [
        {"mediaType": "application/vnd.ollama.image.template", "digest": "sha256:" + "0" * 64, "size": 10},
        {"mediaType": "application/vnd.ollama.image.model", "digest": f"sha256:{digest}",
         "size": gguf.stat().st_size},
    ]}))
    return blob


def test_ollama_models_are_listed_as_name_tag_and_imported_once_by_digest(tmp_path, real_gguf, monkeypatch):
    from mlxagent.model import default_model, gguf_import

    root = tmp_path / "ollama"
    fake_ollama(root, real_gguf, default_model.GGUF_SHA256)
    fake_ollama(root, real_gguf, default_model.GGUF_SHA256, name="coder", tag="latest", namespace="someone")
    (root / "manifests" / "registry.ollama.ai" / "library" / "broken" / "x").parent.mkdir(parents=True)
    (root / "manifests" / "registry.ollama.ai" / "library" / "broken" / "x").write_text("{")
    monkeypatch.setenv("OLLAMA_MODELS", str(root))
    model = listed("smollm2:135m")
    assert model is not None and model.source == "ollama" and model.needs_import
    assert model.quantisation == "Q4_1" and model.size_bytes == real_gguf.stat().st_size
    assert listed("someone/coder:latest") is not None

    def no_hashing(*a, **k):
        raise AssertionError("the blob's name is its digest: no need to read it twice")

    monkeypatch.setattr(gguf_import, "file_sha256", no_hashing)
    path, name = catalog.resolve("smollm2:135m")
    assert name == "smollm2:135m" and (path / "mlxagent.json").exists()
    after = listed("smollm2:135m")
    assert after is not None and not after.needs_import and after.path == path
    # one entry for the imported model, not a second one for the cache's copy
    assert [m.path for m in catalog.installed_models()].count(path) == 2  # smollm2:135m and someone/coder:latest
    assert not [m for m in catalog.installed_models() if m.source == "mlxagent" and m.path == path]


def test_store_paths_come_from_the_config_file(tmp_path, real_gguf):
    from mlxagent import paths
    from mlxagent.model import default_model

    ollama, lms = tmp_path / "my-ollama", tmp_path / "my-lmstudio"
    fake_ollama(ollama, real_gguf, default_model.GGUF_SHA256)
    pub = lms / "publisher" / "SmolLM2-GGUF"
    pub.mkdir(parents=True)
    (pub / "smol-q4_1.gguf").symlink_to(real_gguf)
    (pub / "mmproj-smol-f16.gguf").symlink_to(real_gguf)  # a vision projector, not a model
    (pub / "big-00002-of-00002.gguf").symlink_to(real_gguf)  # a later part of a split file
    paths.config_file().parent.mkdir(parents=True, exist_ok=True)
    paths.config_file().write_text(f'ollama_models = "{ollama}"\nlmstudio_models = ["{lms}"]\n')
    names = {m.name: m for m in catalog.installed_models()}
    assert "smollm2:135m" in names
    assert "publisher/SmolLM2-GGUF/smol-q4_1" in names and names["publisher/SmolLM2-GGUF/smol-q4_1"].source == "lmstudio"
    assert not [n for n in names if "mmproj" in n or "00002-of" in n]
    # choosing the LM Studio one imports it; the list then points at the import
    path, _ = catalog.resolve("publisher/SmolLM2-GGUF/smol-q4_1")
    assert listed("publisher/SmolLM2-GGUF/smol-q4_1").path == path


def test_default_store_places(monkeypatch, tmp_path):
    monkeypatch.setenv("OLLAMA_MODELS", str(tmp_path / "x"))
    assert stores.default_ollama_root() == tmp_path / "x"
    monkeypatch.delenv("OLLAMA_MODELS")
    assert stores.default_ollama_root() == Path("~/.ollama/models").expanduser()


# ---- the switcher ---------------------------------------------------------------------------

class ListingFactory(ScriptedFactory):
    def __init__(self, extra: list[InstalledModel], **kw):
        super().__init__({"model-a": lambda: ScriptedModel(["A."]), "model-b": lambda: ScriptedModel(["B."])}, **kw)
        self.extra = extra

    def installed(self):
        return super().installed() + [m for m in self.extra if m.name in self.models or m.missing or m.needs_import]

    def remove(self, name):
        self.extra = [m for m in self.extra if m.name != name]
        return super().remove(name) if name in self.models else f"Removed {name} from the list; nothing on disk was deleted."


def rows(switcher) -> dict[str, list[str]]:
    table = switcher.query_one("#models-installed")
    return {str(table.get_row_at(i)[0]): [str(c) for c in table.get_row_at(i)] for i in range(table.row_count)}


async def test_switcher_marks_current_missing_and_import_rows_and_x_removes_one(tmp_path):
    repo = fixture_repo("readme_typo", tmp_path)
    extra = [InstalledModel("old-folder", Path("/gone"), "folder", 0, "?", missing=True),
             InstalledModel("llama3.2:3b", Path("/blobs/sha256-x"), "ollama", int(2 * GB), "Q4_K_M", needs_import=True)]
    factory = ListingFactory(extra)
    app = make_app(repo, factory, model="model-a")
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_model(pilot, "model-a")
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: isinstance(app.screen, ModelSwitcher) and bool(app.screen.installed),
                       what="the switcher")
        switcher = app.screen
        table = rows(switcher)
        assert table["model-a"][-1] == "◆ current"
        assert table["old-folder"][-1] == "missing" and table["old-folder"][1] == "—"
        assert table["llama3.2:3b"][-1] == "import" and table["llama3.2:3b"][2] == "Q4_K_M"
        await pilot.press("down", "down")  # old-folder
        await pilot.press("x")
        await wait_for(pilot, lambda: "old-folder" not in rows(switcher), what="the row to go")
        assert "nothing on disk was deleted" in str(switcher.query_one("#models-job").render())
        assert set(rows(switcher)) == {"model-a", "model-b", "llama3.2:3b"}


# ---- swapping two real models ------------------------------------------------------------------

async def test_swapping_two_real_models_releases_memory_keeps_the_conversation(tmp_path, real_model_dir,
                                                                              eight_bit_copy):
    """The default 4-bit model and its 8-bit copy, both remembered folders, swapped with
    `/model NAME` and with the switcher; the active-memory figure before and after."""
    catalog.remember_folder(real_model_dir, "smol-4bit")
    catalog.remember_folder(eight_bit_copy, "smol-8bit")
    repo = fixture_repo("readme_typo", tmp_path)
    gc.collect()
    mx.clear_cache()
    baseline = mx.get_active_memory()
    settings = Settings(default_model="smol-4bit", max_steps=1, max_tokens=8, auto_test=False)
    app = MlxAgentApp(repo, model_factory=RuntimeModelFactory(), settings=settings,
                      total_memory=16 * GB, cursor_blink=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_model(pilot, "smol-4bit", timeout=120)
        await send(pilot, "Say hello.")
        await wait_idle(pilot, timeout=180)
        assert app.agent.model.session.cached_tokens  # the turn filled model A's KV cache
        first_id = id(app.agent.model)  # no reference kept: the test must not hold model A alive
        with_a = mx.get_active_memory() - baseline
        history = [dict(m) for m in app.agent.messages]

        await send(pilot, "/model smol-8bit")
        await wait_model(pilot, "smol-8bit", timeout=120)
        with_b = mx.get_active_memory() - baseline
        print(f"\nactive memory over baseline: smol-4bit {with_a / 1e6:.0f} MB, "
              f"after the swap to smol-8bit {with_b / 1e6:.0f} MB")
        assert with_a > 50e6 and with_b > 50e6
        # the old model's weights are gone: holding both would be about their sum
        assert with_b < with_a * 1.5
        second = app.agent.model
        assert id(second) != first_id and second.session.cached_tokens == []  # rebuilt on the next turn
        assert [m for m in app.agent.messages if m["role"] == "user"] == \
            [m for m in history if m["role"] == "user"]

        await send(pilot, "And again.")
        await wait_idle(pilot, timeout=180)
        rebuilt = second.loaded.tokenizer.decode(second.session.cached_tokens)
        assert "Say hello." in rebuilt and "And again." in rebuilt  # the whole conversation, prefilled anew
        del second

        # and back with the keyboard, through the switcher
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: isinstance(app.screen, ModelSwitcher) and bool(app.screen.installed),
                       what="the switcher")
        names = list(rows(app.screen))
        assert rows(app.screen)["smol-8bit"][-1] == "◆ current"
        for _ in range(names.index("smol-4bit")):
            await pilot.press("down")
        await pilot.press("enter")
        await wait_model(pilot, "smol-4bit", timeout=120)
        back = mx.get_active_memory() - baseline
        print(f"back on smol-4bit: {back / 1e6:.0f} MB")
        assert back < with_a * 1.5


async def test_the_palette_offers_each_installed_model_and_loads_it(tmp_path):
    repo = fixture_repo("readme_typo", tmp_path)
    factory = ListingFactory([])
    app = make_app(repo, factory, model="model-a")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_model(pilot, "model-a")
        await wait_for(pilot, lambda: bool(app.known_models), what="the installed names")
        titles = [c.title for c in app.palette_commands()]
        assert "Model: model-b" in titles and "Model: model-a" not in titles  # not the current one
        await pilot.press("ctrl+p")
        await pilot.pause()
        await press_text(pilot, "Model: model-b")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_model(pilot, "model-b")
        assert factory.loads == ["model-a", "model-b"]
