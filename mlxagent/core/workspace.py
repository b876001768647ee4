"""The git working tree the agent works in: a path sandbox, the file listing, the diff
against HEAD, and atomic writes.

Every path the model names is relative to the repository root and goes through
`Workspace.resolve`, which is the one place that decides what the agent may touch:
nothing outside the root (no absolute paths, no `..` escapes, no symlinks leading out)
and nothing inside `.git/`.
"""

from __future__ import annotations

import os
import posixpath
import re
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; stray temp files are then removed unconditionally
    fcntl = None  # type: ignore[assignment]

import git

from ..errors import MlxAgentError

# Plain output for parsing: no colour, and paths as raw bytes rather than quoted escapes.
_GIT_QUIET = ("-c", "core.quotepath=off", "-c", "color.ui=never")
# Untracked files are diffed one git call each; past this many the diff just names them.
MAX_UNTRACKED_DIFFS = 50
# atomic_write's temp files: `.NAME.<8 hex>.mlxagent-tmp` beside the target.
TEMP_SUFFIX = ".mlxagent-tmp"
TEMP_NAME_RE = re.compile(r"^\..+\.[0-9a-f]{8}\.mlxagent-tmp$", re.DOTALL)


class NotAGitRepoError(MlxAgentError):
    """The folder mlxagent was started in is not inside a git working tree."""


class PathError(MlxAgentError):
    """A path named by the model or the user is not one the agent may touch."""


class GitError(MlxAgentError):
    """A git command the workspace ran failed (its stderr is the message)."""


@dataclass
class Workspace:
    root: Path  # the working tree's root, fully resolved
    repo: git.Repo

    @classmethod
    def open(cls, start: Path | str) -> "Workspace":
        start = Path(start).expanduser()
        if not start.exists():
            raise NotAGitRepoError(f"{start} does not exist")
        search_from = start if start.is_dir() else start.parent
        try:
            repo = git.Repo(search_from, search_parent_directories=True)
        except (git.InvalidGitRepositoryError, git.NoSuchPathError):
            raise NotAGitRepoError(
                f"{start.resolve()} is not inside a git repository (run `git init` there first)"
            ) from None
        if repo.bare or repo.working_tree_dir is None:
            raise NotAGitRepoError(f"{repo.git_dir} is a bare git repository; it has no working tree")
        workspace = cls(root=Path(repo.working_tree_dir).resolve(), repo=repo)
        workspace.remove_stray_temp_files()
        return workspace

    # --- the path sandbox -------------------------------------------------------------

    def normalize(self, rel: str) -> str:
        """The repo-relative POSIX form of `rel` ("." for the root), or PathError."""
        if not isinstance(rel, str) or rel.strip() == "":
            raise PathError("empty path: name a file relative to the repository root")
        if "\x00" in rel:
            raise PathError("path contains a NUL byte")
        if os.path.isabs(rel):
            raise PathError(f"{rel!r} is absolute; use a path relative to the repository root")
        if rel == "~" or rel.startswith("~/"):
            raise PathError(f"{rel!r} points to a home folder; use a path relative to the repository root")
        norm = posixpath.normpath(rel)
        if norm == ".." or norm.startswith("../"):
            raise PathError(f"{rel!r} leads outside the repository")
        if any(part.casefold() == ".git" for part in norm.split("/")):
            raise PathError(f"{rel!r} is inside .git/, which the agent may not touch")
        return norm

    def resolve(self, rel: str) -> Path:
        """The absolute path for repo-relative `rel`, after checking it stays in the sandbox.

        The lexical path is returned (a symlink inside the repo stays a symlink), but it is
        checked through its real target, so a link leading out is refused.
        """
        norm = self.normalize(rel)
        path = self.root if norm == "." else self.root / norm
        real = Path(os.path.realpath(path))
        if real != self.root and self.root not in real.parents:
            raise PathError(f"{rel!r} leads outside the repository (through a symlink)")
        inside = real.relative_to(self.root).parts
        if any(part.casefold() == ".git" for part in inside):
            raise PathError(f"{rel!r} leads into .git/, which the agent may not touch")
        return path

    def relative(self, path: Path) -> str:
        """The repo-relative POSIX name of an absolute path inside the root."""
        return path.relative_to(self.root).as_posix()

    def remove_stray_temp_files(self) -> list[str]:
        """Delete the temp files a killed `atomic_write` left in the working tree; returns their names.

        Only untracked files named exactly like atomic_write's temp files are candidates, and
        one another process is still writing (it holds a lock on it) is left alone. Folders
        git does not descend into (nested repositories) are not searched. Best effort: a git
        failure here just means nothing is cleaned.
        """
        try:
            _, out = self._git("ls-files", "-z", "--others", "--", f":(glob)**/*{TEMP_SUFFIX}")
        except (GitError, OSError):
            return []
        names = sorted({os.fsdecode(name) for name in out.split(b"\x00") if name})
        removed = []
        for name in names:
            path = self.root / name
            if ".git" in Path(name).parts or not TEMP_NAME_RE.match(path.name):
                continue
            if remove_if_stray(path):
                removed.append(name)
        return removed

    # --- git views ----------------------------------------------------------------------

    def _git(self, *args: str, ok_status: tuple[int, ...] = (0,)) -> tuple[int, bytes]:
        """Run git in the root; raw stdout, so file bytes and names are not mangled."""
        status, out, err = self.repo.git.execute(
            ["git", *_GIT_QUIET, *args],
            with_extended_output=True,
            with_exceptions=False,
            stdout_as_string=False,
            strip_newline_in_stdout=False,
        )
        if status not in ok_status:
            text = err.decode("utf-8", "replace") if isinstance(err, bytes) else str(err)
            lines = [line.strip() for line in text.splitlines() if line.strip()]
            # One line for the user: git's own fatal/error line if it printed one.
            line = next((l for l in lines if l.startswith(("fatal:", "error:"))), lines[0] if lines else "")
            raise GitError(f"git {args[0]} failed: {line or f'exit status {status}'}")
        return status, out

    def _git_names(self, *args: str) -> list[str]:
        _, out = self._git(*args, "-z")
        return sorted({os.fsdecode(name) for name in out.split(b"\x00") if name})

    def list_files(self) -> list[str]:
        """Tracked plus untracked-but-not-ignored files that exist on disk, sorted."""
        names = self._git_names("ls-files", "--cached", "--others", "--exclude-standard")
        # A tracked file deleted from the working tree is still in the index; skip it,
        # and skip submodules (listed as their folder).
        return [n for n in names if os.path.lexists(self.root / n) and not (self.root / n).is_dir()]

    def untracked_files(self) -> list[str]:
        return self._git_names("ls-files", "--others", "--exclude-standard")

    def has_commits(self) -> bool:
        try:
            self.repo.head.commit
        except ValueError:  # unborn HEAD: `git init` with nothing committed yet
            return False
        return True

    def head_bytes(self, rel: str) -> bytes | None:
        """The bytes of `rel` at HEAD, or None if HEAD does not have it."""
        if not self.has_commits():
            return None
        try:
            blob = self.repo.head.commit.tree / self.normalize(rel)
        except KeyError:
            return None
        return blob.data_stream.read()

    def diff_head(self) -> str:
        """The working tree against HEAD as a git diff, untracked files shown as new files.

        With no commit yet, HEAD is empty, so every listed file shows as new.
        """
        parts: list[bytes] = []
        if self.has_commits():
            parts.append(self._git("diff", "--no-ext-diff", "--no-textconv", "HEAD", "--")[1])
            new_files = self.untracked_files()
        else:
            new_files = self.list_files()
        for name in new_files[:MAX_UNTRACKED_DIFFS]:
            # `--no-index` exits 1 when the files differ, as they always do against /dev/null.
            parts.append(self._git("diff", "--no-index", "--no-ext-diff", "--", os.devnull, name, ok_status=(0, 1))[1])
        text = "".join(p.decode("utf-8", "replace") for p in parts if p)
        if len(new_files) > MAX_UNTRACKED_DIFFS:
            rest = new_files[MAX_UNTRACKED_DIFFS:]
            text += f"[{len(rest)} more new files not shown: {', '.join(rest[:20])}]\n"
        return text

    def has_staged_changes(self, rel: str) -> bool:
        """Whether the index holds a version of `rel` that differs from HEAD."""
        norm = self.normalize(rel)
        if not self.has_commits():
            return bool(self._git_names("ls-files", "--cached", "--", norm))
        status, _ = self._git("diff", "--cached", "--quiet", "HEAD", "--", norm, ok_status=(0, 1))
        return status == 1

    def commit_path(self, rel: str, message: str) -> str:
        """Commit the working-tree content of `rel` alone; returns the short commit id.

        `git commit --only -- path` leaves whatever else the user has staged staged and
        uncommitted. A new file must be in the index before `--only` will take it; if the
        commit fails, that index entry is taken back out so the index is as it was.
        """
        norm = self.normalize(rel)
        tracked = bool(self._git_names("ls-files", "--cached", "--", norm))
        if not tracked:
            self._git("add", "--", norm)
        try:
            self._git("commit", "--only", "--quiet", "-m", message, "--", norm)
        except GitError:
            if not tracked:
                self._git("rm", "--cached", "--quiet", "--", norm)
            raise
        return self.repo.head.commit.hexsha[:8]


def atomic_write(path: Path, data: bytes) -> None:
    """Replace `path` with `data` so that readers see the old bytes or the new, never half.

    The temp file sits beside the target (same filesystem, so `os.replace` is atomic)
    and takes the target's permission bits; a new file gets the usual umask-based mode.
    A symlink is written through, so the link itself stays.
    """
    target = Path(os.path.realpath(path))
    try:
        mode: int | None = stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        mode = None
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}{TEMP_SUFFIX}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # 0o666 & ~umask
    try:
        # Held until the fd closes, after the rename (or until the process dies): it tells
        # remove_if_stray that this temp file is in use.
        _lock(fd)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
        if mode is not None:
            os.fchmod(fd, mode) if hasattr(os, "fchmod") else os.chmod(tmp, mode)
        os.replace(tmp, target)
        _fsync_dir(target.parent)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    finally:
        os.close(fd)


def fsync_path(path: Path) -> None:
    """Make a file's bytes, or a rename in a folder, durable (POSIX); best effort, as some
    filesystems refuse."""
    flags = os.O_RDONLY
    if getattr(os, "O_DIRECTORY", 0) and os.path.isdir(path):
        flags |= os.O_DIRECTORY
    try:
        fd = os.open(path, flags)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


_fsync_dir = fsync_path


def _lock(fd: int) -> None:
    if fcntl is not None:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # a filesystem without flock: the write still works, unlocked
            pass


def remove_if_stray(path: Path) -> bool:
    """Delete `path`, a temp file, unless a live process holds its lock. True if removed.

    A writer that was killed (even with SIGKILL) has released its lock, so its temp file
    goes; a symlink or anything but a regular file is never touched.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return False
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return False
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False  # being written right now
            except OSError:
                pass
        os.unlink(path)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def remove_stray_temp_files_beside(path: Path) -> list[Path]:
    """Delete atomic_write's leftover temp files for `path` (same folder, same name)."""
    target = Path(os.path.realpath(path))
    pattern = re.compile(rf"^\.{re.escape(target.name)}\.[0-9a-f]{{8}}{re.escape(TEMP_SUFFIX)}$", re.DOTALL)
    try:
        entries = list(os.scandir(target.parent))
    except OSError:
        return []
    return [Path(e.path) for e in entries if pattern.match(e.name) and remove_if_stray(Path(e.path))]
