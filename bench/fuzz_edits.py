"""Fuzzing proposals over a real git working tree: a hypothesis state machine.

    .venv/bin/python bench/fuzz_edits.py [--examples 10000] [--steps 30] [--seed 0]
                                         [--json bench/results/fuzz_edits.json]

Each example is a fresh git repository (a copy of one committed template) with random
files in it (LF, CRLF, mixed endings, no final newline, empty, unicode, invalid UTF-8,
long lines, many lines), a symlink to a file inside and one to a folder outside. Random
steps then run against the real `Workspace` and `ProposalManager`:

- proposals made directly (`Proposal(path, old, new)`, new files in new folders, paths
  that try to leave the root or enter .git) or through the Toolbox's edit_file/write_file;
- applies with a random per-hunk review (sometimes of the wrong size);
- the user's own edits (rewrite, delete, create, touch) between proposing and applying;
- undo at any moment, and restarts (a new Workspace and ProposalManager on the same journal).

After every step the tree must equal the model exactly (bytes, folders, links, no temp
file), `.git` must be byte-for-byte unchanged, nothing outside the root touched, and the
on-disk undo journal must list what the model's undo stack holds. Every applied write is
checked against the diff the user was shown: the accepted hunks' ranges from the hunk
headers, spliced independently of `Proposal.content_with`. At the end of each example,
undo-all (giving the user's own later edits back where they block it) must return every
file to the bytes it had before the agent touched it and remove every file and folder the
agent created. The test suite runs the same machine for a few hundred examples
(tests/test_edit_fuzz.py).
"""

from __future__ import annotations

import argparse
import os
import posixpath
import re
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for extra in (str(ROOT), str(ROOT / "tests")):
    if extra not in sys.path:
        sys.path.insert(0, extra)

from hypothesis import HealthCheck, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.stateful import (  # noqa: E402
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from mlxagent.core.events import Review  # noqa: E402
from mlxagent.core.proposals import Proposal, ProposalManager  # noqa: E402
from mlxagent.core.tools import Toolbox  # noqa: E402
from mlxagent.core.workspace import Workspace  # noqa: E402

# --- content ------------------------------------------------------------------------------

LINE_TEXTS = [
    b"alpha", b"beta", b"x = 1", b"def f():", b"    return 2", b"", b"    ", b"h\xc3\xa9llo w\xc3\xb6rld",
    "日本語のテキスト".encode(), "emoji 🎉✓".encode(), b"tab\tsep", b"trailing space ", b"lone\rcr",
    b"latin-1 caf\xe9", b"\xff\xfe not utf-8", b"}", b"{", b"# comment", b"x" * 3000,
]
line_bytes = st.one_of(
    st.sampled_from(LINE_TEXTS),
    st.binary(max_size=12).map(lambda b: b.replace(b"\n", b"")),
    st.text(max_size=12).map(lambda t: t.replace("\n", "").encode("utf-8", "surrogatepass")),
)
ending = st.sampled_from([b"\n", b"\r\n"])


@st.composite
def file_bytes(draw, max_lines: int = 80, min_lines: int = 0) -> bytes:
    size = draw(st.sampled_from([n for n in (0, 1, 3, 8, 20, 40, max_lines) if n >= min_lines]))
    lines = draw(st.lists(line_bytes, min_size=size, max_size=size))
    style = draw(st.sampled_from(["lf", "crlf", "mixed"]))
    out = []
    for line in lines:
        end = {"lf": b"\n", "crlf": b"\r\n"}.get(style) or draw(ending)
        out.append(line + end)
    data = b"".join(out)
    if data and draw(st.booleans()):  # no final newline
        data = data.rstrip(b"\n").rstrip(b"\r") if data.endswith(b"\n") else data
    return data


def split_lines(data: bytes) -> list[bytes]:
    """Lines keeping their endings (only \\n ends a line): this module's own, not the product's."""
    return re.findall(rb"[^\n]*\n|[^\n]+\Z", data)


@st.composite
def mutated(draw, old: bytes | None) -> bytes:
    if old is None or draw(st.integers(0, 9)) == 0:
        return draw(file_bytes())
    lines = split_lines(old)
    end = b"\r\n" if old.count(b"\r\n") * 2 > old.count(b"\n") else b"\n"
    if len(lines) >= 8 and draw(st.integers(0, 3)):
        # Many hunks: edits spread over the whole file.
        rnd = draw(st.randoms(use_true_random=False))
        for at in sorted(rnd.sample(range(len(lines)), min(len(lines), rnd.randint(2, 12))), reverse=True):
            keep = lines[at][len(lines[at].rstrip(b"\r\n")):]
            choice = rnd.randrange(4)
            if choice == 0:
                del lines[at]
            elif choice == 1:
                lines.insert(at, draw(line_bytes) + end)
            else:
                lines[at] = draw(line_bytes) + keep
    for _ in range(draw(st.integers(0, 8))):
        kind = draw(st.sampled_from(["replace", "insert", "delete", "final", "ending"]))
        at = draw(st.integers(0, len(lines)))
        if kind == "insert" or (not lines and kind != "final"):
            new = [draw(line_bytes) + end for _ in range(draw(st.integers(1, 4)))]
            if at == len(lines) and lines and not lines[-1].endswith(b"\n"):
                lines[-1] += end
            lines[at:at] = new
        elif kind == "replace" and at < len(lines):
            keep = lines[at][len(lines[at].rstrip(b"\r\n")):]
            lines[at] = draw(line_bytes) + keep
        elif kind == "delete" and at < len(lines):
            del lines[at : at + draw(st.integers(1, 3))]
        elif kind == "final" and lines:
            last = lines[-1]
            lines[-1] = last.rstrip(b"\r\n") if last.endswith(b"\n") else last + end
        elif kind == "ending" and at < len(lines) and lines[at].endswith(b"\n"):
            body = lines[at].rstrip(b"\r\n")
            lines[at] = body + (b"\n" if lines[at].endswith(b"\r\n") else b"\r\n")
    return b"".join(lines)


def shown_diff_applied(p: Proposal, accepted: tuple[bool, ...]) -> bytes:
    """The bytes the review promised: each accepted hunk's new range replaces its old range,
    as the hunk headers the user saw state them."""
    old, new = split_lines(p.old or b""), split_lines(p.new)
    out: list[bytes] = []
    pos = 0
    for hunk, ok in zip(p.hunks, accepted):
        m = re.fullmatch(r"@@ -(\d+),(\d+) \+(\d+),(\d+) @@", hunk.header)
        assert m, hunk.header
        a, b, c, d = map(int, m.groups())
        o_start = a if b == 0 else a - 1
        n_start = c if d == 0 else c - 1
        assert o_start >= pos
        out += old[pos:o_start]
        out += new[n_start : n_start + d] if ok else old[o_start : o_start + b]
        pos = o_start + b
    out += old[pos:]
    return b"".join(out)


# --- the repository template --------------------------------------------------------------

COMMITTED = {
    "README.md": b"# Fixture\n\nSome text.\n",
    "src/app.py": b"def main():\n    return 1\n",
    "data/crlf.txt": b"one\r\ntwo\r\nthree\r\n",
}
FILE_PATHS = ["a.txt", "b.py", "crlf.txt", "dir/c.md", "dir/sub/d.txt", "ünï/файл.txt", "sp ace.txt",
              "target.txt", "README.md", "src/app.py", "data/crlf.txt", "empty.txt"]
NEW_PATHS = ["new.txt", "n1/n2/deep.txt", "n1/other.txt", "dir/new.py", "ünï/nëw/ü.txt", "dir/sub/n3/x.txt",
             "a.txt/under_a_file.txt", "dir", "ln.txt", "ln.txt/x"]
ODD_PATHS = ["./a.txt", "dir/../b.py", "dir//c.md", "../outside/evil.txt", "out/evil.txt", ".git/config",
             ".GIT/hooks/x", "/tmp/abs.txt", "~/x.txt", "dir/../../outside/sentinel.txt"]
LINKS = {"ln.txt": "target.txt"}  # a file link inside; "out" -> ../outside is the one leading out

_template: Path | None = None


def _template_repo() -> Path:
    """One committed repository per process; each example copies it (git init costs more than a copy)."""
    global _template
    if _template is None or not _template.exists():
        import git

        base = Path(tempfile.mkdtemp(prefix="fuzz-template-", dir=_scratch_dir()))
        root = base / "repo"
        root.mkdir()
        for rel, data in COMMITTED.items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_bytes(data)
        empty_templates = base / "git-template"
        empty_templates.mkdir()
        repo = git.Repo.init(root, template=str(empty_templates), allow_unsafe_options=True)
        with repo.config_writer() as config:
            config.set_value("user", "name", "fuzz")
            config.set_value("user", "email", "fuzz@mlxagent.invalid")
            config.set_value("core", "autocrlf", "false")
            config.set_value("commit", "gpgsign", "false")
        repo.git.add("--all")
        repo.git.commit("-q", "-m", "template")
        repo.close()
        _template = root
    return _template


def _scratch_dir() -> str | None:
    """A tmpfs when there is one: fsync is then free, and the fuzz runs several times faster."""
    shm = Path("/dev/shm")
    return str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None


def snapshot(folder: Path) -> dict[str, object]:
    """Every entry under `folder`: files as bytes, links as ("link", target), folders as "dir"."""
    out: dict[str, object] = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            rel = path.relative_to(folder).as_posix()
            if path.is_symlink():
                out[rel] = ("link", os.readlink(path))
            elif path.is_dir():
                out[rel] = "dir"
            else:
                out[rel] = path.read_bytes()
        dirnames[:] = [d for d in dirnames if not (Path(dirpath) / d).is_symlink()]
    return out


@dataclass
class Applied:
    """The model's undo record: the real file (through links), its bytes before and after."""

    key: str
    before: bytes | None
    after: bytes
    created: tuple[str, ...]
    summary: str


COUNTS = {"examples": 0, "steps": 0, "applied": 0, "refused_stale": 0, "undone": 0, "undo_refused": 0,
          "tool_proposals": 0, "restarts": 0}


class EditMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.base = Path(tempfile.mkdtemp(prefix="fuzz-edits-", dir=_scratch_dir()))
        self.root = self.base / "repo"
        shutil.copytree(_template_repo(), self.root, symlinks=True)
        self.outside = self.base / "outside"
        self.outside.mkdir()
        (self.outside / "sentinel.txt").write_bytes(b"outside the root\n")
        self.journal = self.base / "journal"
        self.files: dict[str, bytes] = dict(COMMITTED)  # real files only (links resolved)
        self.dirs: set[str] = set()
        self.links: dict[str, str] = {}
        self.baseline: dict[str, bytes | None] = {}  # what undo-all must give back, per file touched
        self.stack: list[Applied] = []
        self.pending: list[Proposal] = []
        self.user_touched: set[str] = set()
        self.restarts = 0
        self._open()

    def _open(self) -> None:
        self.ws = Workspace.open(self.root)
        self.manager = ProposalManager(self.ws, journal=self.journal)
        self.tools = Toolbox(self.ws, self.manager)

    # --- the model ----------------------------------------------------------------------

    def _expected_tree(self) -> dict[str, object]:
        tree: dict[str, object] = {rel: data for rel, data in self.files.items()}
        for d in self.dirs:
            tree[d] = "dir"
        for link, target in self.links.items():
            tree[link] = ("link", target)
        tree["out"] = ("link", "../outside")
        for rel in list(tree):
            parts = rel.split("/")
            for i in range(1, len(parts)):
                tree.setdefault("/".join(parts[:i]), "dir")
        return tree

    def _key(self, path: str) -> str | None:
        """The real file `path` names, or None where the sandbox must refuse it."""
        if os.path.isabs(path) or path == "~" or path.startswith("~/"):
            return None
        norm = posixpath.normpath(path)
        if norm == ".." or norm.startswith("../") or any(p.casefold() == ".git" for p in norm.split("/")):
            return None
        if norm == "out" or norm.startswith("out/"):
            return None
        return self.links.get(norm, norm)

    def _writable(self, key: str) -> bool:
        """Whether a file can be written at `key`: no folder there, every ancestor a folder or missing."""
        if key in self.dirs or key in self.links or key == ".":
            return False
        parts = key.split("/")
        for i in range(1, len(parts)):
            anc = "/".join(parts[:i])
            if anc in self.files or anc in self.links:
                return False
        return True

    def _missing_dirs(self, key: str) -> tuple[str, ...]:
        return tuple(anc for anc in _ancestors(key) if anc not in self.dirs)

    def _set_file(self, key: str, data: bytes | None, *, user: bool) -> None:
        """Record a change to a file; a user's change to a file no agent edit covers moves its baseline."""
        if user:
            self.user_touched.add(key)
            if not any(a.key == key for a in self.stack):
                self.baseline[key] = data
        if data is None:
            self.files.pop(key, None)
        else:
            for anc in _ancestors(key):
                self.dirs.add(anc)
            self.files[key] = data

    def _remove_dirs(self, created: tuple[str, ...]) -> None:
        for d in reversed(created):
            busy = any(rel.startswith(d + "/") for rel in [*self.files, *self.dirs, *self.links])
            if busy:
                return
            self.dirs.discard(d)

    # --- setup --------------------------------------------------------------------------

    @initialize(files=st.dictionaries(st.sampled_from(FILE_PATHS), file_bytes(), max_size=6),
                big=st.sampled_from([20, 60, 200]).flatmap(lambda n: file_bytes(min_lines=n, max_lines=n)),
                with_link=st.booleans())
    def setup_files(self, files: dict[str, bytes], big: bytes, with_link: bool) -> None:
        files = {"big.txt": big, **files}
        for rel, data in files.items():
            (self.root / rel).parent.mkdir(parents=True, exist_ok=True)
            (self.root / rel).write_bytes(data)
            self.files[rel] = data
        (self.root / "out").symlink_to("../outside")
        if with_link:
            (self.root / "ln.txt").symlink_to("target.txt")
            self.links["ln.txt"] = "target.txt"
        self.dirs = {rel for rel, kind in snapshot(self.root).items() if kind == "dir" and not rel.startswith(".git")}
        self.dirs.discard(".git")
        self.git_before = snapshot(self.root / ".git")
        self.original = dict(self.files)

    # --- proposals ----------------------------------------------------------------------

    @rule(data=st.data())
    def propose_direct(self, data) -> None:
        kind = data.draw(st.sampled_from(["big", "big", "existing", "existing", "new", "odd"]), label="path kind")
        pool = {"big": ["big.txt"], "existing": sorted(self.files) or ["a.txt"], "new": NEW_PATHS, "odd": ODD_PATHS}[kind]
        path = data.draw(st.sampled_from(pool), label="path")
        key = self._key(path)
        current = self.files.get(key) if key is not None else None
        old = current
        if data.draw(st.integers(0, 7), label="stale?") == 0:
            old = data.draw(st.one_of(st.none(), file_bytes(max_lines=5)), label="stale old")
        self.pending.append(Proposal(path, old, data.draw(mutated(old), label="new")))

    @rule(data=st.data())
    def propose_with_tool(self, data) -> None:
        path = data.draw(st.sampled_from(sorted(self.files) + NEW_PATHS[:3] + list(self.links)), label="path")
        key = self._key(path)
        if data.draw(st.booleans(), label="edit_file?") and key in self.files:
            text = self.files[key].decode("utf-8", "replace")
            start = data.draw(st.integers(0, max(len(text) - 1, 0)), label="start")
            search = text[start : start + data.draw(st.integers(1, 40), label="length")]
            replace = data.draw(st.text(max_size=30), label="replace")
            result = self.tools.execute("edit_file", {"path": path, "search": search, "replace": replace})
        else:
            content = data.draw(st.text(max_size=200), label="content")
            result = self.tools.execute("write_file", {"path": path, "content": content})
        if result.proposal is not None:
            p = result.proposal
            assert p.old == (self.files.get(key) if key is not None else None), "the tool read other bytes"
            self.pending.append(p)
            COUNTS["tool_proposals"] += 1

    # --- the user -----------------------------------------------------------------------

    @rule(data=st.data())
    def user_edits(self, data) -> None:
        choices = sorted(self.files) + list(self.links) + ["n1/user.txt", "n1/n2/user.txt", "user.txt"]
        if self.stack and data.draw(st.integers(0, 3), label="an applied edit's file?") == 0:
            path = data.draw(st.sampled_from([a.key for a in self.stack]), label="applied path")
        elif self.pending and data.draw(st.booleans(), label="a pending proposal's file?"):
            target = self._key(data.draw(st.sampled_from([p.path for p in self.pending]), label="pending path"))
            if target is None:
                return
            path = target
        else:
            path = data.draw(st.sampled_from(choices), label="path")
        key = self._key(path)
        if key is None or not self._writable(key):
            return
        action = data.draw(st.sampled_from(["rewrite", "delete", "touch"]), label="action")
        if action == "delete" and key in self.files and path not in self.links:
            (self.root / key).unlink()
            self._set_file(key, None, user=True)
        elif action == "touch" and key in self.files:
            (self.root / path).write_bytes(self.files[key])  # same bytes, new mtime
        elif action in ("rewrite", "touch"):
            new = data.draw(file_bytes(max_lines=5), label="user bytes")
            (self.root / key).parent.mkdir(parents=True, exist_ok=True)
            (self.root / path).write_bytes(new)
            self._set_file(key, new, user=True)

    # --- apply and undo -----------------------------------------------------------------

    @rule(data=st.data())
    def propose_and_apply(self, data) -> None:
        if data.draw(st.booleans(), label="with the tool?"):
            self.propose_with_tool(data)
        else:
            self.propose_direct(data)
        if self.pending:
            self._apply(data, len(self.pending) - 1)

    @precondition(lambda self: self.pending)
    @rule(data=st.data())
    def apply(self, data) -> None:
        self._apply(data, data.draw(st.integers(0, len(self.pending) - 1), label="which"))

    def _apply(self, data, i: int) -> None:
        p = self.pending[i] if data.draw(st.integers(0, 9), label="keep?") == 0 else self.pending.pop(i)
        n = len(p.hunks)
        size = n if data.draw(st.integers(0, 19), label="wrong size?") else data.draw(st.integers(0, n + 2))
        how = data.draw(st.sampled_from(["all", "all", "mask", "mask", "none"]), label="review kind")
        if how == "mask" or size != n:
            accepted = tuple(data.draw(st.lists(st.booleans(), min_size=size, max_size=size), label="review"))
        else:
            accepted = (how == "all",) * n
        git_state = self.ws.repo.head.commit.hexsha
        resolved = self.manager.apply(p, Review(accepted))
        for name in (f"outcome {resolved.outcome}", f"hunks {min(n, 5)}{'+' if n >= 5 else ''}"):
            COUNTS[name] = COUNTS.get(name, 0) + 1
        key = self._key(p.path)
        if len(accepted) != n:
            assert resolved.outcome == "failed" and "decisions for" in resolved.message, resolved
        elif n == 0 or not any(accepted):
            assert resolved.outcome == "rejected", resolved
        elif key is None or not self._writable(key):
            assert resolved.outcome == "failed", resolved
        elif self.files.get(key) != p.old:
            assert resolved.outcome == "failed" and "changed on disk" in resolved.message, resolved
            COUNTS["refused_stale"] += 1
        else:
            expected = shown_diff_applied(p, accepted)
            assert p.content_with(accepted) == expected
            if all(accepted):
                assert expected == p.new
            assert resolved.outcome == ("applied" if all(accepted) else "partly applied"), resolved
            created = self._missing_dirs(key)
            self.baseline.setdefault(key, self.files.get(key))
            self._set_file(key, expected, user=False)
            self.dirs.update(created)
            self.stack.append(Applied(key, p.old, expected, created, p.summary))
            COUNTS["applied"] += 1
        assert self.ws.repo.head.commit.hexsha == git_state

    @rule()
    def undo(self) -> None:
        message = self.manager.undo()
        self._check_undo(message)

    def _check_undo(self, message: str) -> bool:
        if not self.stack:
            assert message == "Nothing to undo.", message
            return False
        top = self.stack[-1]
        if self.files.get(top.key) != top.after:
            assert message.startswith(f"Cannot undo {top.summary}:") and "changed since the edit was applied" in message, message
            COUNTS["undo_refused"] += 1
            return False
        assert message.startswith(f"Undid {top.summary} ("), message
        self.stack.pop()
        self._set_file(top.key, top.before, user=False)
        if top.before is None:
            self._remove_dirs(top.created)
        COUNTS["undone"] += 1
        return True

    @precondition(lambda self: self.restarts < 2)
    @rule()
    def restart(self) -> None:
        """mlxagent quits and starts again in the same repository: only the journal carries over."""
        self.ws.repo.close()
        self._open()
        self.restarts += 1
        COUNTS["restarts"] += 1

    # --- what must always hold ----------------------------------------------------------

    @invariant()
    def tree_is_the_model(self) -> None:
        if not hasattr(self, "git_before"):
            return
        COUNTS["steps"] += 1
        actual = {k: v for k, v in snapshot(self.root).items() if k != ".git" and not k.startswith(".git/")}
        expected = self._expected_tree()
        if actual != expected:
            extra = sorted(set(actual) - set(expected))
            missing = sorted(set(expected) - set(actual))
            differ = sorted(k for k in set(actual) & set(expected) if actual[k] != expected[k])
            raise AssertionError(f"tree differs: extra={extra} missing={missing} differ={differ}")

    @invariant()
    def git_and_outside_untouched(self) -> None:
        if not hasattr(self, "git_before"):
            return
        assert snapshot(self.root / ".git") == self.git_before, ".git changed"
        assert snapshot(self.outside) == {"sentinel.txt": b"outside the root\n"}, "outside the root changed"
        # The journal folder appears with the first apply; nothing else may.
        assert sorted(p.name for p in self.base.iterdir() if p.name != "journal") == ["outside", "repo"]

    @invariant()
    def journal_is_the_stack(self) -> None:
        if not hasattr(self, "git_before"):
            return
        assert self.manager.undo_history() == [a.summary for a in reversed(self.stack)]
        journal = self.manager.journal
        with journal.locked():
            records = journal.load()
        assert all(r.state == "done" for r in records)
        assert [(r.files[0].after) for r in records] == [_sha(a.after) for a in self.stack]

    def teardown(self) -> None:
        try:
            if hasattr(self, "git_before"):
                self._undo_all()
            COUNTS["examples"] += 1
        finally:
            self.ws.repo.close()
            shutil.rmtree(self.base, ignore_errors=True)

    def _undo_all(self) -> None:
        """Undo everything; where the user's later edit blocks it, the user gives the agent's version back."""
        while self.stack:
            top = self.stack[-1]
            if self.files.get(top.key) != top.after:
                real = self.root / top.key
                real.parent.mkdir(parents=True, exist_ok=True)
                if real.is_dir():
                    shutil.rmtree(real)
                real.write_bytes(top.after)
                self._set_file(top.key, top.after, user=False)
                for anc in _ancestors(top.key):
                    self.dirs.add(anc)
            assert self._check_undo(self.manager.undo())
            self.tree_is_the_model()
        assert self.manager.undo() == "Nothing to undo."
        for key, data in self.baseline.items():
            assert self.files.get(key) == data
            if key not in self.user_touched:  # only the agent touched it: back to its original bytes (or gone)
                assert data == self.original.get(key), key
            on_disk = self.root / key
            assert (on_disk.read_bytes() if on_disk.is_file() else None) == data, f"{key} not back to its bytes"
        self.tree_is_the_model()
        self.git_and_outside_untouched()


def _ancestors(rel: str) -> list[str]:
    parts = rel.split("/")
    return ["/".join(parts[:i]) for i in range(1, len(parts))]


def _sha(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def fuzz_settings(examples: int, steps: int, **kwargs) -> settings:
    return settings(
        max_examples=examples,
        stateful_step_count=steps,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
        **kwargs,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=10_000)
    parser.add_argument("--steps", type=int, default=30, help="steps per example (hypothesis stateful_step_count)")
    parser.add_argument("--chunk", type=int, default=1000, help="examples per hypothesis run (each with its own seed)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", default=str(ROOT / "bench" / "results" / "fuzz_edits.json"))
    args = parser.parse_args(argv)

    from hypothesis import seed as with_seed

    from common import write_results

    started = time.perf_counter()
    failures: list[str] = []
    done = 0
    chunk_no = 0
    while done < args.examples:
        n = min(args.chunk, args.examples - done)
        test = with_seed(args.seed + chunk_no)(lambda: run_state_machine_as_test(
            EditMachine, settings=fuzz_settings(n, args.steps, database=None, print_blob=True)))
        before = COUNTS["examples"]
        try:
            test()
        except Exception as exc:  # noqa: BLE001 - a falsifying example: report it, go on with the next seed
            failures.append(f"seed {args.seed + chunk_no}: {type(exc).__name__}: {str(exc)[:2000]}")
            print(failures[-1], file=sys.stderr)
        done += n
        chunk_no += 1
        print(f"{done} examples requested, {COUNTS['examples']} run ({COUNTS['examples'] - before} in this chunk), "
              f"{len(failures)} failures, {time.perf_counter() - started:.0f} s", flush=True)
    seconds = time.perf_counter() - started
    results = {
        "examples_requested": args.examples,
        "examples_run": COUNTS["examples"],
        "steps_per_example_max": args.steps,
        "steps_checked": COUNTS["steps"],
        "failures_found": len(failures),
        "failures": failures,
        "seconds": round(seconds, 1),
        "counts": {k: v for k, v in COUNTS.items() if k not in ("examples", "steps")},
        "seed": args.seed,
        "scratch": _scratch_dir() or tempfile.gettempdir(),
    }
    print(f"\nexamples run: {COUNTS['examples']}   failures found: {len(failures)}   time: {seconds:.0f} s")
    print("   ".join(f"{k}: {v}" for k, v in results["counts"].items()))
    write_results(results, args.json)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
