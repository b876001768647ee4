"""The workspace: finding the repo, the path sandbox, the file listing, the diff, atomic writes."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fixture_repos import fixture_repo, init_repo
from mlxagent.core.workspace import NotAGitRepoError, PathError, Workspace, atomic_write
from mlxagent.errors import MlxAgentError


@pytest.fixture
def repo_root(tmp_path) -> Path:
    return fixture_repo("rename_function", tmp_path)


# --- opening ----------------------------------------------------------------------------


def test_open_finds_the_repo_from_a_subfolder(repo_root):
    sub = repo_root / "pkg" / "deep"
    sub.mkdir(parents=True)
    ws = Workspace.open(sub)
    assert ws.root == repo_root.resolve()


def test_open_from_a_file_inside_the_repo(repo_root):
    assert Workspace.open(repo_root / "shapes.py").root == repo_root.resolve()


def test_open_outside_a_repo_names_the_folder(tmp_path):
    plain = tmp_path / "not-a-repo"
    plain.mkdir()
    with pytest.raises(NotAGitRepoError, match="not-a-repo.*not inside a git repository"):
        Workspace.open(plain)
    assert issubclass(NotAGitRepoError, MlxAgentError)


def test_open_a_missing_folder(tmp_path):
    with pytest.raises(NotAGitRepoError, match="does not exist"):
        Workspace.open(tmp_path / "nowhere")


# --- the path sandbox -------------------------------------------------------------------


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory) -> Workspace:
    """A repo with a symlink leading out, one leading into .git, and one staying inside."""
    base = tmp_path_factory.mktemp("sandbox")
    outside = base / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret")
    root = base / "repo"
    root.mkdir()
    (root / "src").mkdir()
    (root / "src" / "a.py").write_text("a = 1\n")
    init_repo(root)
    (root / "out").symlink_to(outside)
    (root / "gitlink").symlink_to(root / ".git")
    (root / "inner").symlink_to(root / "src")
    return Workspace.open(root)


@pytest.mark.parametrize(
    "rel",
    ["src/a.py", "./src/a.py", "src//a.py", "src/./a.py", "src/../src/a.py", "new/file.txt", "inner/a.py", "~weird"],
)
def test_paths_inside_the_repo_resolve(sandbox, rel):
    path = sandbox.resolve(rel)
    assert path.is_absolute()
    assert sandbox.root in Path(os.path.realpath(path)).parents


def test_normalize_gives_the_repo_relative_name(sandbox):
    assert sandbox.normalize("./src//a.py") == "src/a.py"
    assert sandbox.normalize(".") == "."
    assert sandbox.resolve(".") == sandbox.root


@pytest.mark.parametrize(
    ("rel", "message"),
    [
        ("", "empty path"),
        ("   ", "empty path"),
        ("/etc/passwd", "absolute"),
        ("..", "outside the repository"),
        ("../outside/secret.txt", "outside the repository"),
        ("src/../../outside", "outside the repository"),
        ("~/notes.txt", "home folder"),
        ("out/secret.txt", "symlink"),
        ("out", "symlink"),
        (".git/config", r"\.git/"),
        (".git", r"\.git/"),
        (".GIT/HEAD", r"\.git/"),
        ("src/../.git/hooks/pre-commit", r"\.git/"),
        ("gitlink/config", r"\.git/"),
        ("src/a\x00.py", "NUL"),
    ],
)
def test_escapes_are_refused_with_a_clear_message(sandbox, rel, message):
    with pytest.raises(PathError, match=message):
        sandbox.resolve(rel)


def test_path_error_is_a_user_error():
    assert issubclass(PathError, MlxAgentError)


_parts = st.sampled_from(["..", ".", "src", "a.py", ".git", "GIT", ".Git", "out", "gitlink", "inner", "", "x"])


@settings(max_examples=300, deadline=None)
@given(parts=st.lists(_parts, min_size=1, max_size=8), absolute=st.booleans())
def test_generated_paths_never_leave_the_sandbox(sandbox, parts, absolute):
    rel = ("/" if absolute else "") + "/".join(parts)
    try:
        path = sandbox.resolve(rel)
    except PathError:
        return
    real = Path(os.path.realpath(path))
    assert real == sandbox.root or sandbox.root in real.parents
    assert ".git" not in [p.casefold() for p in real.relative_to(sandbox.root).parts]
    assert not absolute


@settings(max_examples=200, deadline=None)
@given(depth=st.integers(1, 6), prefix=st.lists(st.sampled_from(["src", "x", "."]), max_size=3), tail=st.text(max_size=10))
def test_generated_dotdot_escapes_are_refused(sandbox, depth, prefix, tail):
    # More `..` than named folders before them always climbs out of the root.
    climbs = len([p for p in prefix if p != "."]) + depth
    rel = "/".join([*prefix, *([".."] * climbs), "escaped" + tail.replace("/", "_")])
    with pytest.raises(PathError):
        sandbox.resolve(rel)


@settings(max_examples=300, deadline=None)
@given(rel=st.text(max_size=40))
def test_any_text_either_resolves_inside_or_is_refused(sandbox, rel):
    try:
        path = sandbox.resolve(rel)
    except PathError:
        return
    real = Path(os.path.realpath(path))
    assert real == sandbox.root or sandbox.root in real.parents
    assert ".git" not in [p.casefold() for p in real.relative_to(sandbox.root).parts]


# --- listing ----------------------------------------------------------------------------


def test_list_files_is_tracked_plus_untracked_not_ignored(repo_root):
    (repo_root / ".gitignore").write_text("build/\n*.log\n")
    (repo_root / "build").mkdir()
    (repo_root / "build" / "out.bin").write_text("x")
    (repo_root / "debug.log").write_text("x")
    (repo_root / "notes.md").write_text("new\n")
    (repo_root / "report.py").unlink()  # tracked but deleted: not listed
    files = Workspace.open(repo_root).list_files()
    assert files == [".gitignore", "TASK.txt", "notes.md", "shapes.py"]


def test_list_files_in_a_repo_with_no_commits(tmp_path):
    root = tmp_path / "fresh"
    root.mkdir()
    (root / "a.txt").write_text("a\n")
    init_repo(root, commit=False)
    assert Workspace.open(root).list_files() == ["a.txt"]


def test_list_files_keeps_unusual_names(repo_root):
    (repo_root / "with space ü.txt").write_text("x\n")
    assert "with space ü.txt" in Workspace.open(repo_root).list_files()


# --- diff -------------------------------------------------------------------------------


def test_diff_head_shows_edits_and_new_files(repo_root):
    (repo_root / "shapes.py").write_text((repo_root / "shapes.py").read_text().replace("calc_area", "area"))
    (repo_root / "new.txt").write_text("hello\n")
    diff = Workspace.open(repo_root).diff_head()
    assert "diff --git a/shapes.py b/shapes.py" in diff
    assert "-def calc_area(width, height):" in diff and "+def area(width, height):" in diff
    assert "+++ b/new.txt" in diff and "+hello" in diff


def test_diff_head_includes_staged_changes(repo_root):
    ws = Workspace.open(repo_root)
    (repo_root / "shapes.py").write_text("staged\n")
    ws.repo.git.add("shapes.py")
    assert "+staged" in ws.diff_head()


def test_diff_head_clean_repo_is_empty(repo_root):
    assert Workspace.open(repo_root).diff_head() == ""


def test_diff_head_with_no_commits_shows_every_file_as_new(tmp_path):
    root = tmp_path / "fresh"
    root.mkdir()
    (root / "a.txt").write_text("alpha\n")
    init_repo(root, commit=False)
    diff = Workspace.open(root).diff_head()
    assert "+++ b/a.txt" in diff and "+alpha" in diff


def test_head_bytes(repo_root):
    ws = Workspace.open(repo_root)
    (repo_root / "shapes.py").write_text("changed\n")
    assert ws.head_bytes("shapes.py").startswith(b"def calc_area")
    assert ws.head_bytes("missing.py") is None


# --- atomic writes ----------------------------------------------------------------------


def test_atomic_write_keeps_the_file_mode(tmp_path):
    target = tmp_path / "run.sh"
    target.write_bytes(b"old")
    target.chmod(0o751)
    atomic_write(target, b"#!/bin/sh\n")
    assert target.read_bytes() == b"#!/bin/sh\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o751
    assert [p.name for p in tmp_path.iterdir()] == ["run.sh"]  # no temp file left behind


def test_atomic_write_new_file_gets_the_umask_mode(tmp_path):
    umask = os.umask(0o022)
    try:
        atomic_write(tmp_path / "new.txt", b"x")
    finally:
        os.umask(umask)
    assert stat.S_IMODE((tmp_path / "new.txt").stat().st_mode) == 0o644


def test_atomic_write_through_a_symlink_keeps_the_link(tmp_path):
    real = tmp_path / "real.txt"
    real.write_bytes(b"old")
    link = tmp_path / "link.txt"
    link.symlink_to(real)
    atomic_write(link, b"new")
    assert link.is_symlink() and real.read_bytes() == b"new"


def test_atomic_write_failure_leaves_the_old_bytes_and_no_temp(tmp_path, monkeypatch):
    target = tmp_path / "f.txt"
    target.write_bytes(b"precious")

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        atomic_write(target, b"new")
    assert target.read_bytes() == b"precious"
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]
