"""The undo history survives a restart: it is journalled in the cache dir (keyed by the
repository's resolved root), outside the working tree, and settled after a crash."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fixture_repos import init_repo
from mlxagent import paths
from mlxagent.core import undo_store
from mlxagent.core.events import Review
from mlxagent.core.proposals import Proposal, ProposalManager
from mlxagent.core.tools import Toolbox
from mlxagent.core.undo_store import default_folder
from mlxagent.core.workspace import Workspace

OLD = b"first\r\nsecond line\r\n\xff latin\r\nno final newline"


@pytest.fixture
def root(tmp_path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "f.txt").write_bytes(OLD)
    init_repo(root)
    return root


def restarted(root: Path, **kwargs) -> ProposalManager:
    """What a new mlxagent process in the same repository builds (as headless/ui do)."""
    return ProposalManager(Workspace.open(root), **kwargs)


def apply(manager: ProposalManager, path: str, old: bytes | None, new: bytes) -> None:
    p = Proposal(path, old, new)
    assert manager.apply(p, Review.accept_all(len(p.hunks))).outcome == "applied"


def test_undo_after_a_restart_restores_exact_bytes_and_removes_created_files(root):
    manager = ProposalManager(Workspace.open(root))
    apply(manager, "f.txt", OLD, b"agent\n")
    apply(manager, "new/dir/made.py", None, b"x = 1\n")
    del manager

    again = restarted(root)
    assert again.undo_history() == ["create new/dir/made.py: 1 hunk, +1 -0", "edit f.txt: 1 hunk, +1 -4"]
    assert again.undo() == "Undid create new/dir/made.py: 1 hunk, +1 -0 (removed new/dir/made.py)."
    assert not (root / "new").exists()
    third = restarted(root)
    assert third.undo() == "Undid edit f.txt: 1 hunk, +1 -4 (restored f.txt)."
    assert (root / "f.txt").read_bytes() == OLD
    assert restarted(root).undo() == "Nothing to undo."


def test_the_journal_lives_in_the_cache_dir_keyed_by_the_resolved_root(root, isolated_home, tmp_path):
    ws = Workspace.open(root)
    apply(ProposalManager(ws), "f.txt", OLD, b"agent\n")
    folder = default_folder(root)
    assert folder.parent == paths.cache_dir() / "undo" and paths.cache_dir().is_relative_to(isolated_home)
    assert (folder / "journal.json").is_file()
    assert json.loads((folder / "journal.json").read_text())["root"] == str(root.resolve())
    assert ws.repo.git.status("--porcelain").strip() == "M f.txt"  # nothing of the journal in the working tree
    # Opened through another spelling of the same path (a symlink to it), the journal is the same.
    alias = tmp_path / "alias"
    alias.symlink_to(root)
    assert restarted(alias).can_undo()


def test_repositories_have_separate_journals(root, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    (other / "g.txt").write_bytes(b"g\n")
    init_repo(other)
    apply(ProposalManager(Workspace.open(root)), "f.txt", OLD, b"agent\n")
    assert not restarted(other).can_undo()
    assert default_folder(root) != default_folder(other)


def test_after_a_restart_undo_still_refuses_a_file_changed_since(root):
    apply(ProposalManager(Workspace.open(root)), "f.txt", OLD, b"agent\n")
    (root / "f.txt").write_bytes(b"the user's edit\n")
    again = restarted(root)
    message = again.undo()
    assert message == ("Cannot undo edit f.txt: 1 hunk, +1 -4: f.txt changed since the edit was applied; "
                       "your version was kept.")
    assert (root / "f.txt").read_bytes() == b"the user's edit\n"
    assert again.can_undo()


def test_journal_none_keeps_the_history_in_memory_only(root):
    manager = restarted(root, journal=None)
    apply(manager, "f.txt", OLD, b"agent\n")
    assert not default_folder(root).exists()
    assert manager.can_undo() and not restarted(root).can_undo()
    assert not default_folder(root).exists()  # looking leaves nothing in the cache
    assert manager.undo().startswith("Undid") and (root / "f.txt").read_bytes() == OLD


def test_an_explicit_journal_folder(root, tmp_path):
    folder = tmp_path / "my-journal"
    apply(restarted(root, journal=folder), "f.txt", OLD, b"agent\n")
    assert (folder / "journal.json").is_file()
    assert restarted(root, journal=folder).undo().startswith("Undid")


def test_tools_and_the_default_manager_share_the_history(root):
    tools = Toolbox(Workspace.open(root))
    p = tools.execute("write_file", {"path": "made.txt", "content": "hello\n"}).proposal
    tools.proposals.apply(p, Review.accept_all(1))
    assert restarted(root).undo() == "Undid create made.txt: 1 hunk, +1 -0 (removed made.txt)."


def test_a_damaged_journal_means_no_history_and_applies_still_work(root):
    apply(ProposalManager(Workspace.open(root)), "f.txt", OLD, b"agent\n")
    (default_folder(root) / "journal.json").write_text("{ not json")
    again = restarted(root)
    assert again.undo() == "Nothing to undo."
    apply(again, "f.txt", b"agent\n", b"agent 2\n")
    assert again.undo().startswith("Undid") and (root / "f.txt").read_bytes() == b"agent\n"


def test_a_missing_or_damaged_saved_copy_refuses_the_undo_and_touches_nothing(root):
    apply(ProposalManager(Workspace.open(root)), "f.txt", OLD, b"agent\n")
    blob = default_folder(root) / "blobs" / undo_store.sha256(OLD)
    blob.write_bytes(b"damaged")
    message = restarted(root).undo()
    assert message.startswith("Cannot undo edit f.txt") and "damaged" in message
    blob.unlink()
    message = restarted(root).undo()
    assert message.startswith("Cannot undo edit f.txt") and "missing" in message
    assert (root / "f.txt").read_bytes() == b"agent\n"


def test_the_cache_cleared_under_a_running_session(root):
    import shutil

    manager = ProposalManager(Workspace.open(root))
    apply(manager, "f.txt", OLD, b"agent\n")
    shutil.rmtree(paths.cache_dir())  # the history goes with it
    assert manager.undo() == "Nothing to undo."
    apply(manager, "f.txt", b"agent\n", b"agent 2\n")
    assert manager.undo().startswith("Undid") and (root / "f.txt").read_bytes() == b"agent\n"


def test_the_history_is_capped_and_old_copies_go_with_it(root, monkeypatch):
    monkeypatch.setattr(undo_store, "MAX_RECORDS", 3)
    manager = ProposalManager(Workspace.open(root))
    data = OLD
    for i in range(6):
        new = b"version %d\n" % i
        apply(manager, "f.txt", data, new)
        data = new
    assert len(manager.undo_history()) == 3
    blobs = {p.name for p in (default_folder(root) / "blobs").iterdir()}
    assert blobs == {undo_store.sha256(b"version %d\n" % i) for i in (2, 3, 4, 5)}


def test_undo_is_shared_between_two_live_sessions(root):
    first = ProposalManager(Workspace.open(root))
    second = ProposalManager(Workspace.open(root))
    apply(first, "f.txt", OLD, b"from the first\n")
    apply(second, "other.txt", None, b"from the second\n")
    assert first.undo_history() == second.undo_history()
    assert first.undo().startswith("Undid create other.txt")
    assert second.undo().startswith("Undid edit f.txt")
    assert (root / "f.txt").read_bytes() == OLD and not (root / "other.txt").exists()


# --- a record a killed process left half-way is settled by the next start ---------------


def _journal(root: Path) -> dict:
    return json.loads((default_folder(root) / "journal.json").read_text())


def _set_state(root: Path, state: str) -> None:
    data = _journal(root)
    data["records"][-1]["state"] = state
    (default_folder(root) / "journal.json").write_text(json.dumps(data))


@pytest.mark.parametrize(
    "state, file_bytes, kept",
    [
        ("pending", OLD, False),  # killed before the write: the record goes
        ("pending", b"agent\n", True),  # killed after the write: the record is done
        ("undoing", OLD, False),  # killed after the undo's write: the undo is done
        ("undoing", b"agent\n", True),  # killed before it: still undoable
        ("pending", b"the user's\n", True),  # neither: kept, and undo refuses it as usual
    ],
)
def test_settling_an_edit_record(root, state, file_bytes, kept):
    apply(ProposalManager(Workspace.open(root)), "f.txt", OLD, b"agent\n")
    _set_state(root, state)
    (root / "f.txt").write_bytes(file_bytes)
    again = restarted(root)
    assert [r["state"] for r in _journal(root)["records"]] == (["done"] if kept else [])
    assert again.can_undo() == kept
    assert (root / "f.txt").read_bytes() == file_bytes


def test_settling_a_created_file_record_removes_the_folders_made_before_the_kill(root):
    apply(ProposalManager(Workspace.open(root)), "a/b/new.txt", None, b"n\n")
    _set_state(root, "pending")
    (root / "a" / "b" / "new.txt").unlink()  # killed after the mkdirs, before the write
    assert not restarted(root).can_undo()
    assert not (root / "a").exists()
    assert _journal(root)["records"] == []
    assert list((default_folder(root) / "blobs").iterdir()) == []
