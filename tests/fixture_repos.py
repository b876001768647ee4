"""Task repositories for tests: a fixture folder copied into tmp_path and made a git repo.

`fixtures/<name>/` holds plain files (not a repo). `fixture_repo(name, tmp_path)` copies
them, runs `git init` with a local identity and byte-exact settings, and commits them.
`two_hunk_repo(tmp_path)` builds a repo whose one file an edit changes in two far-apart hunks.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import git

FIXTURES_DIR = Path(__file__).resolve().parent.parent / "fixtures"


def fixture_names() -> list[str]:
    return sorted(p.name for p in FIXTURES_DIR.iterdir() if p.is_dir())


def init_repo(root: Path, *, commit: bool = True) -> git.Repo:
    """`git init` in `root` (which may hold files already), committing them all if `commit`."""
    root.mkdir(parents=True, exist_ok=True)
    repo = git.Repo.init(root)
    with repo.config_writer() as config:
        config.set_value("user", "name", "mlxagent tests")
        config.set_value("user", "email", "tests@mlxagent.invalid")
        config.set_value("core", "autocrlf", "false")  # keep CRLF fixtures byte-exact
        config.set_value("commit", "gpgsign", "false")
    if commit:
        repo.git.add("--all")
        repo.git.commit("--allow-empty", "-q", "-m", "initial")
    return repo


def fixture_repo(name: str, tmp_path: Path) -> Path:
    """A fresh git repo at tmp_path/name holding fixtures/name, committed; returns its root."""
    source = FIXTURES_DIR / name
    if not source.is_dir():
        raise ValueError(f"no fixture {name!r}; there are {fixture_names()}")
    root = tmp_path / name
    shutil.copytree(source, root)
    init_repo(root)
    return root


def two_hunk_repo(tmp_path: Path) -> tuple[Path, str, str]:
    """A repo holding notes.txt (30 lines), committed; returns (its root, the file's text, the
    text with lines 2 and 26 changed: two hunks)."""
    repo = tmp_path / "two_hunks"
    repo.mkdir()
    lines = [f"line {i}\n" for i in range(1, 31)]
    (repo / "notes.txt").write_text("".join(lines))
    init_repo(repo)
    new = list(lines)
    new[1] = "line 2 changed\n"
    new[25] = "line 26 changed\n"
    return repo, "".join(lines), "".join(new)
