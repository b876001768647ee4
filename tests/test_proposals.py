"""Proposals: hunks, per-hunk apply, refusing stale applies, undo, and auto-commit."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fixture_repos import fixture_repo, init_repo
from mlxagent.core.events import ProposalResolved, Review
from mlxagent.core.proposals import Proposal, ProposalManager, outcome_text, split_lines
from mlxagent.core.workspace import Workspace

TEN_LINES = b"".join(b"line %d\n" % i for i in range(1, 21))


@pytest.fixture
def root(tmp_path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "long.txt").write_bytes(TEN_LINES)
    (root / "other.txt").write_bytes(b"other\n")
    init_repo(root)
    return root


@pytest.fixture
def manager(root) -> ProposalManager:
    return ProposalManager(Workspace.open(root))


def two_hunk_proposal(root: Path) -> Proposal:
    """Line 2 and line 18 changed: far enough apart for two hunks."""
    old = (root / "long.txt").read_bytes()
    new = old.replace(b"line 2\n", b"line two\n").replace(b"line 18\n", b"line eighteen\nline 18b\n")
    return Proposal("long.txt", old, new)


def git_state(ws: Workspace) -> tuple[str, str, str]:
    """HEAD, the index, and the status: what apply and undo must never touch (but the working tree)."""
    return ws.repo.head.commit.hexsha, ws.repo.git.diff("--cached", "HEAD"), ws.repo.git.ls_files("-s")


# --- hunks ------------------------------------------------------------------------------


def test_proposal_hunks_and_diff(root):
    p = two_hunk_proposal(root)
    assert len(p.hunks) == 2
    assert p.summary == "edit long.txt: 2 hunks, +3 -2"
    assert p.diff.startswith("--- a/long.txt\n+++ b/long.txt\n@@ -1,5 +1,5 @@\n line 1\n-line 2\n+line two\n line 3\n")
    first, second = p.hunks
    assert first.index == 0 and first.header == "@@ -1,5 +1,5 @@"
    assert [(line.kind, line.text) for line in first.lines if line.kind != " "] == [("-", "line 2"), ("+", "line two")]
    assert second.header == "@@ -15,6 +15,7 @@"
    removed = next(line for line in second.lines if line.kind == "-")
    assert (removed.text, removed.old_no, removed.new_no) == ("line 18", 18, None)
    assert (second.added, second.removed) == (2, 1)


def test_close_changes_share_a_hunk(root):
    old = (root / "long.txt").read_bytes()
    # As `diff -U3`: six unchanged lines between two changes are both hunks' context, seven split them.
    assert len(Proposal("long.txt", old, old.replace(b"line 5\n", b"5\n").replace(b"line 12\n", b"12\n")).hunks) == 1
    assert len(Proposal("long.txt", old, old.replace(b"line 5\n", b"5\n").replace(b"line 13\n", b"13\n")).hunks) == 2


def test_new_file_proposal(root):
    p = Proposal("pkg/new.py", None, b"a\nb")
    assert p.is_new_file and p.summary == "create pkg/new.py: 1 hunk, +2 -0"
    assert p.diff == "--- /dev/null\n+++ b/pkg/new.py\n@@ -0,0 +1,2 @@\n+a\n+b\n\\ No newline at end of file\n"
    assert [line.kind for line in p.hunks[0].lines] == ["+", "+", "\\"]


def test_proposal_to_dict_is_json_ready(root):
    import json

    d = two_hunk_proposal(root).to_dict()
    assert json.loads(json.dumps(d))["hunks"] == 2 and "old" not in d


_line = st.sampled_from([b"a\n", b"b\n", b"c\r\n", b"d", b"\n", b"e\n", b"\xff\n", b"tab\t\n"])


@settings(max_examples=200, deadline=None)
@given(
    old=st.lists(_line, max_size=30),
    new=st.lists(_line, max_size=30),
    mask=st.lists(st.booleans(), min_size=30, max_size=30),
)
def test_any_subset_of_hunks_splices_exact_bytes(old, new, mask):
    # Only the last line may lack a newline, as in a real file.
    old_bytes = b"".join(l if l.endswith(b"\n") else l + b"\n" for l in old[:-1]) + (old[-1] if old else b"")
    new_bytes = b"".join(l if l.endswith(b"\n") else l + b"\n" for l in new[:-1]) + (new[-1] if new else b"")
    p = Proposal("f.txt", old_bytes, new_bytes)
    n = len(p.hunks)
    assert p.content_with([True] * n) == new_bytes
    assert p.content_with([False] * n) == old_bytes
    partial = p.content_with(mask[:n])
    # Each hunk independently: accepting one hunk then the rest equals accepting all.
    assert Proposal("f.txt", partial, new_bytes).content_with([True] * len(Proposal("f.txt", partial, new_bytes).hunks)) == new_bytes
    assert b"".join(split_lines(partial)) == partial


# --- apply ------------------------------------------------------------------------------


def test_apply_all(manager, root):
    p = two_hunk_proposal(root)
    manager.add(p)
    resolved = manager.apply(p, Review.accept_all(2))
    assert resolved == ProposalResolved(p.id, "long.txt", "applied", (0, 1), (), "", "")
    assert (root / "long.txt").read_bytes() == p.new
    assert manager.pending() == []
    assert outcome_text(resolved) == "Edit applied: the user accepted it and long.txt is saved."


def test_partial_apply_writes_only_the_accepted_hunk(manager, root):
    p = two_hunk_proposal(root)
    resolved = manager.apply(p, Review((False, True), reason="keep line 2"))
    assert resolved.outcome == "partly applied"
    assert (resolved.applied_hunks, resolved.rejected_hunks) == ((1,), (0,))
    data = (root / "long.txt").read_bytes()
    assert b"line 2\n" in data and b"line two" not in data
    assert b"line eighteen\nline 18b\n" in data
    text = outcome_text(resolved)
    assert text.startswith("Edit partly applied: the user accepted hunk(s) 2 and rejected hunk(s) 1;") and "Reason: keep line 2" in text
    assert "Read long.txt again" in text


def test_reject_all_writes_nothing(manager, root):
    p = two_hunk_proposal(root)
    manager.add(p)
    resolved = manager.apply(p, Review.reject_all(2, "wrong approach"))
    assert resolved.outcome == "rejected" and resolved.rejected_hunks == (0, 1)
    assert (root / "long.txt").read_bytes() == TEN_LINES
    assert outcome_text(resolved) == "Edit rejected: the user rejected it; long.txt is unchanged. Reason: wrong approach"
    assert manager.pending() == [] and not manager.can_undo()


def test_file_changed_on_disk_since_the_proposal_is_not_overwritten(manager, root):
    p = two_hunk_proposal(root)
    (root / "long.txt").write_bytes(b"the user's own edit\n")
    resolved = manager.apply(p, Review.accept_all(2))
    assert resolved.outcome == "failed"
    assert "changed on disk" in resolved.message and "kept" in resolved.message
    assert (root / "long.txt").read_bytes() == b"the user's own edit\n"
    assert outcome_text(resolved).startswith("Edit not applied: long.txt changed on disk")
    assert not manager.can_undo()


def test_new_file_created_meanwhile_is_not_overwritten(manager, root):
    p = Proposal("made.txt", None, b"agent\n")
    (root / "made.txt").write_bytes(b"user\n")
    assert manager.apply(p, Review.accept_all(1)).outcome == "failed"
    assert (root / "made.txt").read_bytes() == b"user\n"


def test_a_review_of_the_wrong_size_fails_cleanly(manager, root):
    resolved = manager.apply(two_hunk_proposal(root), Review((True,)))
    assert resolved.outcome == "failed" and "1 decisions for 2 hunks" in resolved.message
    assert (root / "long.txt").read_bytes() == TEN_LINES


def test_apply_keeps_the_file_mode_and_git_state(manager, root):
    (root / "long.txt").chmod(0o755)
    ws = manager.workspace
    ws.repo.git.add("other.txt")  # nothing staged yet: index equals HEAD
    before = git_state(ws)
    manager.apply(two_hunk_proposal(root), Review.accept_all(2))
    assert stat.S_IMODE((root / "long.txt").stat().st_mode) == 0o755
    assert git_state(ws) == before


def test_apply_creates_folders_for_a_new_file(manager, root):
    p = Proposal("a/b/c.txt", None, b"x\n")
    assert manager.apply(p, Review.accept_all(1)).outcome == "applied"
    assert (root / "a" / "b" / "c.txt").read_bytes() == b"x\n"


# --- undo -------------------------------------------------------------------------------


def test_undo_an_edit_restores_exact_bytes(manager, root):
    (root / "long.txt").write_bytes(b"uncommitted\r\nno final newline")
    old = (root / "long.txt").read_bytes()
    manager.apply(Proposal("long.txt", old, b"agent\n"), Review.accept_all(1))
    before = git_state(manager.workspace)
    message = manager.undo()
    assert message == "Undid edit long.txt: 1 hunk, +1 -2 (restored long.txt)."
    assert (root / "long.txt").read_bytes() == old
    assert git_state(manager.workspace) == before
    assert manager.undo() == "Nothing to undo."


def test_undo_a_created_file_removes_it_and_its_new_folders(manager, root):
    (root / "keep").mkdir()
    manager.apply(Proposal("keep/new/deeper/f.py", None, b"x\n"), Review.accept_all(1))
    assert manager.undo() == "Undid create keep/new/deeper/f.py: 1 hunk, +1 -0 (removed keep/new/deeper/f.py)."
    assert not (root / "keep" / "new").exists()
    assert (root / "keep").is_dir()


def test_undo_twice_walks_further_back(manager, root):
    first = Proposal("long.txt", TEN_LINES, TEN_LINES.replace(b"line 1\n", b"one\n"))
    manager.apply(first, Review.accept_all(1))
    second = Proposal("long.txt", first.new, first.new.replace(b"line 20\n", b"twenty\n"))
    manager.apply(second, Review.accept_all(1))
    created = Proposal("made.txt", None, b"m\n")
    manager.apply(created, Review.accept_all(1))
    manager.undo()
    assert not (root / "made.txt").exists()
    manager.undo()
    assert (root / "long.txt").read_bytes() == first.new
    manager.undo()
    assert (root / "long.txt").read_bytes() == TEN_LINES
    assert manager.undo() == "Nothing to undo."


def test_undo_of_a_partial_apply(manager, root):
    manager.apply(two_hunk_proposal(root), Review((True, False)))
    manager.undo()
    assert (root / "long.txt").read_bytes() == TEN_LINES


def test_undo_keeps_a_file_the_user_changed_since(manager, root):
    manager.apply(two_hunk_proposal(root), Review.accept_all(2))
    (root / "long.txt").write_bytes(b"user edit after the agent\n")
    message = manager.undo()
    assert "changed since the edit was applied" in message and "kept" in message
    assert (root / "long.txt").read_bytes() == b"user edit after the agent\n"
    assert manager.can_undo()


def test_undo_leaves_unrelated_changes_alone(manager, root):
    manager.apply(two_hunk_proposal(root), Review.accept_all(2))
    (root / "other.txt").write_bytes(b"user's unrelated change\n")
    manager.undo()
    assert (root / "other.txt").read_bytes() == b"user's unrelated change\n"


# --- auto-commit ------------------------------------------------------------------------


def test_no_commit_by_default(manager, root):
    head = manager.workspace.repo.head.commit.hexsha
    manager.apply(two_hunk_proposal(root), Review.accept_all(2))
    assert manager.workspace.repo.head.commit.hexsha == head


def test_auto_commit_commits_only_that_file(root):
    ws = Workspace.open(root)
    manager = ProposalManager(ws, auto_commit=True)
    (root / "other.txt").write_bytes(b"staged by the user\n")
    ws.repo.git.add("other.txt")
    (root / "untracked.txt").write_bytes(b"u\n")
    parent = ws.repo.head.commit
    resolved = manager.apply(two_hunk_proposal(root), Review.accept_all(2), commit_message="Rename lines")
    assert resolved.outcome == "applied"
    head = ws.repo.head.commit
    assert resolved.message == f"committed as {head.hexsha[:8]}"
    assert head.parents == (parent,) and head.message.strip() == "Rename lines"
    assert set(head.stats.files) == {"long.txt"}
    assert (head.tree / "long.txt").data_stream.read() == (root / "long.txt").read_bytes()
    # The user's staged change is still staged, and still not committed.
    assert ws.repo.git.diff("--cached", "--name-only") == "other.txt"
    assert (head.tree / "other.txt").data_stream.read() == b"other\n"
    assert "untracked.txt" in ws.untracked_files()
    assert "(committed as" in outcome_text(resolved)


def test_auto_commit_of_a_new_file(root):
    ws = Workspace.open(root)
    manager = ProposalManager(ws, auto_commit=True)
    resolved = manager.apply(Proposal("src/new.py", None, b"x = 1\n"), Review.accept_all(1))
    assert resolved.message.startswith("committed as")
    assert set(ws.repo.head.commit.stats.files) == {"src/new.py"}
    assert ws.repo.head.commit.message.strip() == "mlxagent: create src/new.py: 1 hunk, +1 -0"
    assert ws.repo.git.status("--porcelain") == ""


def test_auto_commit_skips_a_file_with_the_users_uncommitted_changes(root):
    ws = Workspace.open(root)
    manager = ProposalManager(ws, auto_commit=True)
    (root / "long.txt").write_bytes(TEN_LINES + b"user line\n")
    head = ws.repo.head.commit.hexsha
    p = Proposal("long.txt", TEN_LINES + b"user line\n", TEN_LINES.replace(b"line 1\n", b"one\n") + b"user line\n")
    resolved = manager.apply(p, Review.accept_all(1))
    assert resolved.outcome == "applied"
    assert resolved.message == "not committed: long.txt had uncommitted changes of yours"
    assert ws.repo.head.commit.hexsha == head


def test_auto_commit_skips_a_file_the_user_staged(root):
    ws = Workspace.open(root)
    manager = ProposalManager(ws, auto_commit=True)
    (root / "long.txt").write_bytes(b"staged\n")
    ws.repo.git.add("long.txt")
    (root / "long.txt").write_bytes(TEN_LINES)  # working tree back to HEAD, index differs
    resolved = manager.apply(two_hunk_proposal(root), Review.accept_all(2))
    assert resolved.message.startswith("not committed")
    assert ws.repo.git.show(":long.txt") == "staged"


def test_auto_commit_in_a_repo_with_no_commits(tmp_path):
    root = tmp_path / "fresh"
    root.mkdir()
    (root / "user.txt").write_bytes(b"staged\n")
    repo = init_repo(root, commit=False)
    repo.git.add("user.txt")
    manager = ProposalManager(Workspace.open(root), auto_commit=True)
    resolved = manager.apply(Proposal("agent.txt", None, b"a\n"), Review.accept_all(1))
    assert resolved.message.startswith("committed as")
    assert set(repo.head.commit.stats.files) == {"agent.txt"}
    assert repo.git.diff("--cached", "--name-only") == "user.txt"


def test_a_failed_auto_commit_still_applies_and_says_why(root):
    ws = Workspace.open(root)
    hook = Path(ws.repo.git_dir) / "hooks" / "pre-commit"
    hook.parent.mkdir(exist_ok=True)
    hook.write_text("#!/bin/sh\necho 'noise' >&2\necho 'error: the hook says no' >&2\nexit 1\n")
    hook.chmod(0o755)
    before = git_state(ws)
    manager = ProposalManager(ws, auto_commit=True)
    for p in (two_hunk_proposal(root), Proposal("brand_new.txt", None, b"n\n")):
        resolved = manager.apply(p, Review.accept_all(len(p.hunks)))
        assert resolved.outcome == "applied"
        assert resolved.message == "not committed: git commit failed: error: the hook says no"
        assert (root / p.path).read_bytes() == p.new
        assert git_state(ws) == before  # neither HEAD nor the index moved


def test_undo_after_auto_commit_touches_only_the_working_tree(root):
    ws = Workspace.open(root)
    manager = ProposalManager(ws, auto_commit=True)
    manager.apply(two_hunk_proposal(root), Review.accept_all(2))
    before = git_state(ws)
    manager.undo()
    assert git_state(ws) == before
    assert (root / "long.txt").read_bytes() == TEN_LINES


# --- the fixture tasks end to end through the tools -------------------------------------


def test_write_file_then_partial_apply_keeps_crlf(tmp_path):
    from mlxagent.core.tools import Toolbox

    root = fixture_repo("crlf_file", tmp_path)
    crlf = b"".join(b"row %d\r\n" % i for i in range(1, 21))
    (root / "rows.txt").write_bytes(crlf)
    tools = Toolbox(Workspace.open(root))
    content = crlf.decode().replace("\r\n", "\n").replace("row 2\n", "ROW 2\n").replace("row 19\n", "ROW 19\n")
    p = tools.execute("write_file", {"path": "rows.txt", "content": content}).proposal
    assert len(p.hunks) == 2
    resolved = tools.proposals.apply(p, Review((False, True)))
    assert resolved.outcome == "partly applied"
    assert (root / "rows.txt").read_bytes() == crlf.replace(b"row 19\r\n", b"ROW 19\r\n")
