"""`@path` mentions: the files a request names go with it, and completing them as they are typed.

A mention is an `@` at the start of the text or after whitespace or an opening bracket,
followed by a path-like token (`@calc.py`, `@src/app/main.py`, `@"notes/with space.txt"`).
An `@` inside a word (`a@b.com`, `user@host`) is not one. Punctuation that ends a sentence
(`.,;:)]}!?`) is dropped from the token unless the name with it is a file
(`fix @calc.py.` attaches calc.py).

What a mention resolves to, in order:

1. a file the repository lists (tracked, or untracked and not ignored): attached;
2. something else on disk: a folder, a file git ignores, a path leading outside the
   repository: not attached, with a note;
3. no such path: when exactly one listed file has that name (or ends in that path, e.g.
   `@app/main.py` for `src/app/main.py`), that file is attached and a note says which;
   several: not attached, the note names some. No match at all: a note, but only when
   the token looks like a path (has a `.` or a `/`), so `@property` or `@alice` in a
   sentence stay plain words.

Each file is shown the way read_file shows it (numbered lines, which the edit tools
recognise and strip if a model copies them back), in a fenced block under an
`[Attached file: PATH ...]` header, after the user's text, which is kept as typed. A file
is cut at `PER_FILE_CHARS` and all of them together at `TOTAL_CHARS`, at a line boundary,
with a line in the block that says where it stopped.
"""

from __future__ import annotations

import heapq
import os
import posixpath
import re
from dataclasses import dataclass
from pathlib import Path

from .tools.base import ToolLimits, clip_line
from .tools.textfile import BINARY_SNIFF_BYTES, display_line, looks_binary, numbered
from .workspace import GitError, PathError, Workspace

PER_FILE_CHARS = 12_000
TOTAL_CHARS = 24_000
# Below this much budget left, a further file is not attached at all rather than as a stub.
MIN_USEFUL_CHARS = 400
LINE_MAX_CHARS = ToolLimits().line_max_chars
# Lines past the cut are still counted (for "lines 1-300 of 5000") up to this many bytes.
COUNT_MAX_BYTES = 4_000_000
_READ_CHUNK = 64 * 1024

# Punctuation a sentence can put after a mention.
TRAILING = ".,;:)]}!?>'\""
_QUOTED = r'"(?P<quoted>[^"\n]+)"'
_BARE = r"(?P<bare>[\w./~\-+][^\s\"'`<>|]*)"
MENTION_RE = re.compile(rf"(?:^|(?<=[\s(\[{{]))@(?:{_QUOTED}|{_BARE})")
# The mention being typed, just before the cursor: `@"partial path` or `@partial`.
_TYPING_QUOTED_RE = re.compile(r'(?:^|(?<=[\s(\[{]))@"(?P<query>[^"\n]*)$')
_TYPING_BARE_RE = re.compile(r"(?:^|(?<=[\s(\[{]))@(?P<query>(?:[\w./~\-+][^\s\"'`<>|@]*)?)$")


@dataclass(frozen=True)
class Attached:
    text: str  # the request as typed, then one block per attached file
    paths: tuple[str, ...] = ()  # repo-relative, in the order mentioned, each once
    notes: tuple[str, ...] = ()  # one line per mention not attached (or attached with a caveat)


@dataclass(frozen=True)
class Mention:
    start: int  # offset of the `@`
    token: str  # as typed, without the `@` (and without quotes)
    candidates: tuple[str, ...]  # the token, then with trailing punctuation stripped, longest first


def find_mentions(text: str) -> list[Mention]:
    mentions = []
    for match in MENTION_RE.finditer(text):
        if match.group("quoted") is not None:
            token = match.group("quoted")
            candidates = (token,)
        else:
            token = match.group("bare")
            candidates = [token]
            while candidates[-1] and candidates[-1][-1] in TRAILING:
                candidates.append(candidates[-1][:-1])
            candidates = tuple(c for c in candidates if c)
        if candidates:
            mentions.append(Mention(match.start(), token, candidates))
    return mentions


def expand_mentions(text: str, workspace: Workspace, *, per_file_chars: int = PER_FILE_CHARS,
                    total_chars: int = TOTAL_CHARS) -> Attached:
    """`text` with the files its `@path` mentions name attached; see the module docstring."""
    mentions = find_mentions(text)
    if not mentions:
        return Attached(text)
    try:
        listed: list[str] | None = workspace.list_files()
    except (GitError, OSError):
        listed = None  # git failed: any regular file inside the repository will do
    resolver = _Resolver(workspace, listed)
    paths: list[str] = []
    notes: list[str] = []
    blocks: list[str] = []
    budget = total_chars
    for mention in mentions:
        rel, note = resolver.resolve(mention)
        if rel is None:
            if note:
                notes.append(note)
            continue
        if rel in paths:
            continue
        label = rel
        if budget < MIN_USEFUL_CHARS:
            notes.append(f"{label}: not attached: the attached files already fill the "
                         f"{total_chars:,}-character limit")
            continue
        try:
            block = _render(workspace.resolve(rel), rel, min(per_file_chars, budget))
        except PathError:
            notes.append(f"{label}: not attached: it leads outside the repository")
            continue
        except OSError as exc:
            notes.append(f"{label}: could not be read ({exc.strerror or exc})")
            continue
        if block is None:
            notes.append(f"{label}: a binary file, not attached")
            continue
        if note:
            notes.append(note)
        if block.cut:
            why = "too large" if block.limit == per_file_chars else "over the total limit"
            notes.append(f"{label}: {why}; attached {block.span()}")
        budget -= block.chars
        paths.append(rel)
        blocks.append(block.text)
    if not blocks:
        return Attached(text, (), tuple(notes))
    return Attached(text + "\n\n" + "\n\n".join(blocks), tuple(paths), tuple(notes))


class _Resolver:
    def __init__(self, workspace: Workspace, listed: list[str] | None) -> None:
        self.workspace = workspace
        self.listed = listed
        self.listed_set = set(listed or ())

    def is_listed(self, rel: str) -> bool:
        if self.listed is None:
            try:
                return self.workspace.resolve(rel).is_file()
            except PathError:
                return False
        return rel in self.listed_set

    def relative(self, token: str) -> str:
        """The repo-relative form of what was typed (an absolute path inside the root is made relative)."""
        if os.path.isabs(token):
            root = str(self.workspace.root)
            real = os.path.normpath(token)
            if real == root or real.startswith(root.rstrip(os.sep) + os.sep):
                token = os.path.relpath(real, root)
        return self.workspace.normalize(token)

    def resolve(self, mention: Mention) -> tuple[str | None, str | None]:
        """(the path to attach, a note) for a mention; (None, note or None) when nothing is attached."""
        for candidate in mention.candidates:
            try:
                rel = self.relative(candidate)
            except PathError:
                continue
            if rel != "." and self.is_listed(rel):
                return rel, None
        token = mention.candidates[-1]
        label = f"@{token}"
        try:
            rel = self.relative(token)
        except PathError:
            return None, f"{label}: outside the repository, not attached"
        if rel == ".":
            return None, f"{label}: the repository itself, not a file"
        same = [f for f in self.listed or () if f.casefold() == rel.casefold()]
        if len(same) == 1:  # typed in another case (which a case-insensitive disk would also open)
            return same[0], None
        try:
            path = self.workspace.resolve(rel)
        except PathError:
            return None, f"{label}: leads outside the repository, not attached"
        if path.is_dir():
            return None, f"{label}: a folder, not a file (name a file inside it), not attached"
        if os.path.lexists(path):
            return None, f"{label}: ignored by git, not attached"
        matches = self.by_name(rel)
        if len(matches) == 1:
            return matches[0], f"{label}: no file at that path; attached {matches[0]}, the only file by that name"
        if matches:
            shown = ", ".join(matches[:3]) + (f" and {len(matches) - 3} more" if len(matches) > 3 else "")
            return None, f"{label}: more than one file by that name ({shown}), none attached"
        if "." in token or "/" in token:
            return None, f"{label}: no such file in the repository"
        return None, None  # `@property`, `@alice`: a word, not a path

    def by_name(self, rel: str) -> list[str]:
        """Listed files whose path ends with `rel` at a folder boundary (same basename at least)."""
        suffix = "/" + rel
        folded = suffix.casefold()
        exact = [f for f in self.listed or () if ("/" + f).endswith(suffix)]
        if exact:
            return exact
        return [f for f in self.listed or () if ("/" + f).casefold().endswith(folded)]


@dataclass(frozen=True)
class _Block:
    text: str
    chars: int  # of file content shown (the budget's unit)
    shown: int  # lines shown
    total: int | None  # lines in the file, None if not counted to the end
    cut: bool
    limit: int

    def span(self) -> str:
        of = f" of {self.total}" if self.total is not None else ""
        return f"lines 1-{self.shown}{of}" if self.shown else f"no lines{of}"


def _render(path: Path, rel: str, limit: int) -> _Block | None:
    """The attachment block for one file, its content cut at `limit` characters; None if binary."""
    if not path.is_file():
        raise OSError(0, "not a regular file")
    with open(path, "rb") as f:
        if looks_binary(f.read(BINARY_SNIFF_BYTES)):
            return None
        f.seek(0)
        shown: list[str] = []
        chars = 0
        total = 0
        cut = False
        while True:
            raw = f.readline(_READ_CHUNK)
            if not raw:
                break
            if not raw.endswith(b"\n"):  # a very long line: the rest of it is not shown
                while (more := f.readline(_READ_CHUNK)) and not more.endswith(b"\n"):
                    pass
            total += 1
            if cut:
                if f.tell() > COUNT_MAX_BYTES:
                    total = None
                    break
                continue
            line = numbered(total, clip_line(display_line(raw), LINE_MAX_CHARS))
            if chars + len(line) + 1 > limit:
                cut = True
                continue
            shown.append(line)
            chars += len(line) + 1
    if total == 0:
        return _Block(f"[Attached file: {rel} (empty)]", 0, 0, 0, False, limit)
    count = f"{total} line{'s' if total != 1 else ''}"
    if cut:
        of = f" of {total}" if total is not None else ""
        header = f"[Attached file: {rel} (lines 1-{len(shown)}{of}, cut to fit)]"
        footer = (f"\n[Only lines 1-{len(shown)}{of} of {rel} are attached; "
                  f"read_file with start_line={len(shown) + 1} reads on.]")
    else:
        header = f"[Attached file: {rel} ({count})]"
        footer = ""
    body = "\n".join(shown)
    return _Block(f"{header}\n```\n{body}\n```{footer}", chars, len(shown), total, cut, limit)


# --- completing a mention as it is typed ------------------------------------------------


def mention_at(text: str, cursor: int) -> tuple[int, str] | None:
    """The `@` mention being typed just before `cursor`: (offset of the `@`, the query typed after
    it, without an opening quote), or None when the cursor is not in one."""
    if not 0 <= cursor <= len(text):
        return None
    before = text[:cursor]
    at = before.rfind("@")
    if at < 0:
        return None
    line_start = before.rfind("\n", 0, at) + 1
    segment = before[line_start:]
    for pattern in (_TYPING_QUOTED_RE, _TYPING_BARE_RE):
        match = pattern.search(segment)
        if match is not None:
            return line_start + match.start(), match.group("query")
    return None


def _subsequence_span(query: str, text: str) -> int | None:
    """How many characters of `text` an in-order match of `query` spans, or None."""
    pos = start = -1
    for ch in query:
        pos = text.find(ch, pos + 1)
        if pos < 0:
            return None
        if start < 0:
            start = pos
    return pos - start + 1


def complete_paths(query: str, files: list[str], limit: int = 8) -> list[str]:
    """Paths for a mention's query, best first, case-insensitively: a prefix of the path, then of
    the file's name, then a substring, then the letters in order (as fzf matches); shorter paths
    first among equals. An empty query gives the shallowest files."""
    if limit <= 0:
        return []
    if not query:
        return heapq.nsmallest(limit, files, key=lambda f: (f.count("/"), f.casefold(), f))
    q = query.casefold()
    scored = []
    for f in files:
        p = f.casefold()
        if p.startswith(q):
            key = (0, 0)
        elif posixpath.basename(p).startswith(q):
            key = (1, 0)
        elif q in p:
            key = (2, 0)
        else:
            span = _subsequence_span(q, p)
            if span is None:
                continue
            key = (3, span)  # a tighter match first
        scored.append((key, len(f), p, f))
    return [f for *_, f in heapq.nsmallest(limit, scored)]
