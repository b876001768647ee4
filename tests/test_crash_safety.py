"""Crash safety: applying, saving settings and installing a model, killed with SIGKILL
(random moments, and every write of the edit path in turn); then the stray-file cleanups.

The long run is bench/crash_edits.py (200+ random kills); these use the same code.
"""

from __future__ import annotations

import json
import os
import random
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import crash_edits  # noqa: E402
from fixture_repos import init_repo  # noqa: E402
from mlxagent.core.workspace import Workspace, atomic_write  # noqa: E402

fcntl = pytest.importorskip("fcntl")


# --- edits ------------------------------------------------------------------------------


def test_random_kills_while_applying_and_undoing(tmp_path):
    crashes = crash_edits.EditCrashes(tmp_path, files=2, mb=0.3)
    seconds, _ = crashes.calibrate()
    rng = random.Random(1)
    tries = 0
    while crashes.stats["trials"] < 20 and tries < 60:
        tries += 1
        crashes.trial(delay=rng.uniform(0, seconds))
    assert crashes.stats["trials"] >= 20
    assert crashes.problems == []


def test_a_kill_before_and_after_every_write_of_apply_and_undo(tmp_path):
    crashes = crash_edits.EditCrashes(tmp_path, files=1, mb=0.1)
    _, replaces = crashes.calibrate()
    assert replaces >= 12  # blobs, journal pending/done, the files; journal undoing/dropped, the files
    for k in range(replaces):
        for after in (False, True):
            crashes.trial(kill_at=k, kill_after=after)
    assert crashes.stats["trials"] == 2 * replaces
    assert crashes.stats["unsettled_records_seen"] > 0 and crashes.stats["stray_temp_files_seen"] > 0
    assert crashes.problems == []


# --- settings ---------------------------------------------------------------------------


def test_random_kills_while_saving_settings(tmp_path):
    result = crash_edits.run_settings_crashes(tmp_path, trials=10, seed=2, log=lambda *_: None)
    assert result["bad"] == 0, result["problems"]


def test_loading_settings_removes_a_killed_saves_temp_file_but_not_a_live_one(tmp_path):
    from mlxagent.config import load_settings, save_settings

    file = tmp_path / "config.toml"
    save_settings(load_settings(file)[0], file)
    stray = tmp_path / ".config.toml.ab_cd123.tmp"
    stray.write_bytes(b"half")
    live = tmp_path / ".config.toml.zz_zz999.tmp"
    live.write_bytes(b"being written")
    other = tmp_path / ".config.toml.backup"
    other.write_bytes(b"the user's")
    fd = os.open(live, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        settings, warnings = load_settings(file)
        assert warnings == []
        assert not stray.exists() and live.exists() and other.exists()
    finally:
        os.close(fd)


# --- the model store --------------------------------------------------------------------


def test_random_kills_while_installing_the_default_model(tmp_path, real_gguf):
    result = crash_edits.run_model_crashes(tmp_path, trials=3, seed=3, gguf=real_gguf, log=lambda *_: None)
    assert result["bad"] == 0, result["problems"]


def test_a_killed_import_does_not_look_installed_and_is_removed_next_time(tmp_path):
    from mlxagent import paths
    from mlxagent.model import catalog
    from mlxagent.model.gguf_import import MANIFEST, remove_stale_imports

    models = paths.models_dir()
    dead = models / ".import-dead1234"  # killed after writing its manifest, before the rename
    dead.mkdir(parents=True)
    (dead / MANIFEST).write_text(json.dumps({"name": "half"}))
    (models / ".import-dead1234.lock").write_text("")
    running = models / ".import-live5678"
    running.mkdir()
    (running / MANIFEST).write_text(json.dumps({"name": "busy"}))
    lock = models / ".import-live5678.lock"
    lock.write_text("")
    assert [m for m in catalog.installed_models() if m.source == "mlxagent"] == []
    fd = os.open(lock, os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        assert remove_stale_imports(models) == [".import-dead1234"]
    finally:
        os.close(fd)
    assert sorted(p.name for p in models.iterdir()) == [".import-live5678", ".import-live5678.lock"]
    assert remove_stale_imports(models) == [".import-live5678"]  # its process is gone now
    assert list(models.iterdir()) == []


def test_a_left_over_download_temp_file_is_removed_by_the_next_provisioning(tmp_path):
    from mlxagent.model import default_model

    downloads = default_model.gguf_path().parent
    downloads.mkdir(parents=True)
    (downloads / ".gguf-x1y2z3").write_bytes(b"half a gguf")
    (downloads / (default_model.gguf_path().name + ".part")).write_bytes(b"half a copy")
    (downloads / "notes.txt").write_bytes(b"not ours")
    assert default_model.remove_stale_downloads(downloads) == [".gguf-x1y2z3", default_model.gguf_path().name + ".part"]
    assert [p.name for p in downloads.iterdir()] == ["notes.txt"]


# --- stray temp files in the working tree -----------------------------------------------


def test_opening_a_workspace_removes_only_stray_atomic_write_temp_files(tmp_path):
    root = tmp_path / "repo"
    (root / "deep" / "er").mkdir(parents=True)
    (root / ".gitignore").write_text("ignored/\n")
    init_repo(root)
    strays = [root / ".a.txt.0123abcd.mlxagent-tmp", root / "deep" / "er" / ".b.py.deadbeef.mlxagent-tmp"]
    (root / "ignored").mkdir()
    strays.append(root / "ignored" / ".c.0a1b2c3d.mlxagent-tmp")
    keep = [
        root / ".a.txt.0123ABCD.mlxagent-tmp",  # not the pattern (upper-case hex)
        root / ".a.txt.0123abc.mlxagent-tmp",  # seven hex digits
        root / "a.txt.0123abcd.mlxagent-tmp",  # no leading dot
        root / ".a.txt.0123abcd.mlxagent-tmp.bak",
    ]
    for p in strays + keep:
        p.write_bytes(b"x")
    live = root / ".live.txt.00ff00ff.mlxagent-tmp"
    live.write_bytes(b"being written")
    link = root / ".ln.txt.11111111.mlxagent-tmp"
    link.symlink_to("a-target")
    fd = os.open(live, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        Workspace.open(root)
    finally:
        os.close(fd)
    assert [p for p in strays if p.exists()] == []
    assert all(p.exists() for p in keep) and live.exists() and link.is_symlink()
    assert Workspace.open(root).root == root.resolve()  # the live one's writer is gone now
    assert not live.exists()


def test_atomic_write_holds_a_lock_on_its_temp_file_while_writing(tmp_path, monkeypatch):
    seen = []
    real_replace = os.replace

    def replace(src, dst):
        fd = os.open(src, os.O_RDONLY)
        try:
            with pytest.raises(BlockingIOError):
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            seen.append(Path(src).name)
        finally:
            os.close(fd)
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    atomic_write(tmp_path / "f.txt", b"data")
    assert len(seen) == 1 and seen[0].endswith(".mlxagent-tmp")
    assert (tmp_path / "f.txt").read_bytes() == b"data"
