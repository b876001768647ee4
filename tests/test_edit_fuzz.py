"""Proposals fuzzed over a real git working tree (the state machine is bench/fuzz_edits.py),
and one regression test per bug the fuzzing found.

The suite runs a few hundred examples; `MLXAGENT_FUZZ_EXAMPLES=N` runs more, and
`bench/fuzz_edits.py --examples 10000` is the long run.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from hypothesis import settings

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.fuzz_edits import EditMachine, fuzz_settings  # noqa: E402
from fixture_repos import init_repo  # noqa: E402
from mlxagent.core.events import Review  # noqa: E402
from mlxagent.core.proposals import Proposal, ProposalManager  # noqa: E402
from mlxagent.core.workspace import Workspace  # noqa: E402

settings.register_profile(
    "edit-fuzz",
    fuzz_settings(int(os.environ.get("MLXAGENT_FUZZ_EXAMPLES", "300")), steps=20),
)

TestEditMachine = EditMachine.TestCase
TestEditMachine.settings = settings.get_profile("edit-fuzz")


# --- regressions --------------------------------------------------------------------------


def test_undo_of_a_file_created_through_a_dangling_symlink_removes_what_was_created(tmp_path):
    """Found by the fuzz: the write went through the link and created its target, but undo
    unlinked the link itself and left the created target behind."""
    root = tmp_path / "repo"
    root.mkdir()
    (root / "ln.txt").symlink_to("target.txt")  # dangling: target.txt does not exist
    init_repo(root)
    manager = ProposalManager(Workspace.open(root))
    p = Proposal("ln.txt", None, b"created through the link\n")
    assert manager.apply(p, Review.accept_all(1)).outcome == "applied"
    assert (root / "target.txt").read_bytes() == b"created through the link\n"
    assert manager.undo().startswith("Undid create ln.txt")
    assert not (root / "target.txt").exists()
    assert (root / "ln.txt").is_symlink() and os.readlink(root / "ln.txt") == "target.txt"


def test_a_failed_write_removes_the_folders_it_made_and_leaves_no_undo_record(tmp_path, monkeypatch):
    """Before the journal, folders made for a new file stayed behind when the write itself failed."""
    import mlxagent.core.proposals as proposals

    root = tmp_path / "repo"
    init_repo(root)
    manager = ProposalManager(Workspace.open(root))

    def disk_full(path, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(proposals, "atomic_write", disk_full)
    resolved = manager.apply(Proposal("new/deep/f.txt", None, b"x\n"), Review.accept_all(1))
    assert resolved.outcome == "failed" and "No space left" in resolved.message
    assert not (root / "new").exists()
    assert not manager.can_undo() and manager.undo() == "Nothing to undo."
