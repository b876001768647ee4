"""Custom slash commands: prompt templates kept as Markdown files.

    <repository>/.mlxagent/commands/NAME.md     the repository's
    <config dir>/commands/NAME.md                the user's own (they win over a repository's)

A file in a sub-folder gets a namespaced name: `git/commit.md` is `/git:commit`. Names are
lower case letters, digits, `-` and `_`. A name that is one of the front end's own commands
(`reserved`) is skipped with a note, and so is a repository's command that has the name of one
of the user's.

The file's body is the template. `$ARGUMENTS` is the whole argument text, `$1`, `$2`… the
arguments split the way a shell would (quotes keep words together); a missing one is empty.
A template that names no argument gets the argument text appended. Optional front matter
gives the description:

    ---
    description: review the staged changes
    ---
    Review the staged changes. Focus on $ARGUMENTS.

else the description is the body's first non-empty line. The expansion is sent as the user's
request. A repository's command is text for the model, never code: it can only ask.

Nothing here raises on a bad file or bad input: a file that cannot be read or used costs a
one-line note and is left out.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from .. import paths

NAME_RE = re.compile(r"[a-z0-9][a-z0-9_-]*(?::[a-z0-9][a-z0-9_-]*)*")
MAX_FILE_BYTES = 64_000
MAX_DEPTH = 3  # folders below commands/ (git/commit.md is one)
DESCRIPTION_CHARS = 80
_PLACEHOLDER = re.compile(r"\$(ARGUMENTS|[1-9][0-9]*)")


@dataclass(frozen=True)
class CustomCommand:
    name: str
    description: str
    template: str
    path: Path
    origin: str  # "user" | "repository"

    def expand(self, arguments: str = "") -> str:
        return expand(self.template, arguments)


@dataclass
class CommandSet:
    """The custom commands found, by name, and a note for each file left out."""

    commands: dict[str, CustomCommand] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def get(self, name: str) -> CustomCommand | None:
        return self.commands.get(name.lower())

    def listed(self) -> list[CustomCommand]:
        return [self.commands[name] for name in sorted(self.commands)]


def repository_folder(root: Path | str) -> Path:
    return Path(root) / ".mlxagent" / "commands"


def user_folder() -> Path:
    return paths.config_dir() / "commands"


def load_commands(root: Path | str | None, *, reserved: Iterable[str] = (),
                  user: Path | None = None) -> CommandSet:
    """The user's commands (from `user`, default the config dir's commands/) and the repository's
    at `root`; the user's win a clash, and names in `reserved` are skipped."""
    found = CommandSet()
    reserved = {r.lower() for r in reserved}
    folders = [(user if user is not None else user_folder(), "user")]
    if root is not None:
        folders.append((repository_folder(root), "repository"))
    for folder, origin in folders:
        for name, path in _scan(folder, origin, found.notes):
            where = f"{origin} command {_shown(path, folder)}"
            if name in reserved:
                found.notes.append(f"{where}: /{name} is a built-in command; skipped")
                continue
            if name in found.commands:
                found.notes.append(f"{where}: /{name} is already one of your own commands; skipped")
                continue
            command = _read(path, name, origin, where, found.notes)
            if command is not None:
                found.commands[name] = command
    return found


def parse_invocation(text: str) -> tuple[str, str] | None:
    """("name", "argument text") when `text` starts with `/name` (a command's name, not a path
    like "/tmp/x"), else None."""
    text = text.strip()
    if not text.startswith("/"):
        return None
    head, _, rest = text[1:].partition(" ")
    head, newline, more = head.partition("\n")
    if newline:
        rest = more + (" " + rest if rest else "")
    if not NAME_RE.fullmatch(head.lower()):
        return None
    return head.lower(), rest.strip()


def split_arguments(text: str) -> list[str]:
    """Shell-like words (quotes keep words together); unbalanced quotes fall back to plain words."""
    try:
        return shlex.split(text)
    except ValueError:
        return text.split()


def expand(template: str, arguments: str = "") -> str:
    """`template` with $ARGUMENTS and $1, $2… filled in (a missing argument is empty). A template
    that names no argument gets the argument text on a line of its own at the end."""
    arguments = arguments.strip()
    words = split_arguments(arguments)

    def fill(match: re.Match) -> str:
        key = match.group(1)
        if key == "ARGUMENTS":
            return arguments
        index = int(key) - 1
        return words[index] if index < len(words) else ""

    if not _PLACEHOLDER.search(template):
        return template.rstrip() + ("\n\n" + arguments if arguments else "")
    return _PLACEHOLDER.sub(fill, template).rstrip()


# -- reading the files ------------------------------------------------------------------------


def _shown(path: Path, folder: Path) -> str:
    try:
        return str(path.relative_to(folder))
    except ValueError:
        return str(path)


def _scan(folder: Path, origin: str, notes: list[str]) -> list[tuple[str, Path]]:
    """(name, path) of every NAME.md under `folder`, in name order."""
    try:
        if not folder.is_dir():
            return []
        base = folder.resolve()
        files = sorted(p for p in folder.rglob("*.md") if p.is_file())
    except OSError as exc:
        notes.append(f"{origin} commands in {folder}: cannot list them ({exc.strerror or exc}); none loaded")
        return []
    out = []
    for path in files:
        rel = path.relative_to(folder)
        if any(part.startswith(".") for part in rel.parts):
            continue
        if len(rel.parts) > MAX_DEPTH + 1:
            notes.append(f"{origin} command {rel}: nested too deep (at most {MAX_DEPTH} folders); skipped")
            continue
        try:
            inside = path.resolve().is_relative_to(base)
        except OSError:
            inside = False
        if origin == "repository" and not inside:
            notes.append(f"{origin} command {rel}: a link to a file outside {folder}; skipped")
            continue
        name = ":".join(rel.with_suffix("").parts).lower()
        if not NAME_RE.fullmatch(name):
            notes.append(f"{origin} command {rel}: {name!r} is not a command name "
                         "(letters, digits, - and _; folders give name:sub); skipped")
            continue
        out.append((name, path))
    return out


def _read(path: Path, name: str, origin: str, where: str, notes: list[str]) -> CustomCommand | None:
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            notes.append(f"{where}: {size} bytes, more than {MAX_FILE_BYTES}; skipped")
            return None
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        notes.append(f"{where}: not UTF-8 text; skipped")
        return None
    except OSError as exc:
        notes.append(f"{where}: cannot be read ({exc.strerror or exc}); skipped")
        return None
    meta, body = _front_matter(text.replace("\r\n", "\n").lstrip("\ufeff"))
    if not body.strip():
        notes.append(f"{where}: the template is empty; skipped")
        return None
    description = meta.get("description", "").strip() or _first_line(body)
    return CustomCommand(name, _clip(description), body.strip("\n"), path, origin)


def _front_matter(text: str) -> tuple[dict[str, str], str]:
    """`---` lines of `key: value` at the top (YAML-ish), and the body after them."""
    if not text.startswith("---\n"):
        return {}, text
    end = text.find("\n---", 3)
    if end < 0:
        return {}, text  # no closing line: it is all template
    after = text.find("\n", end + 4)
    meta: dict[str, str] = {}
    for line in text[4:end].splitlines():
        key, colon, value = line.partition(":")
        if colon and key.strip():
            meta[key.strip().lower()] = value.strip().strip("\"'")
    return meta, text[after + 1:] if after >= 0 else ""


def _first_line(body: str) -> str:
    for line in body.splitlines():
        if line.strip():
            return line.strip().lstrip("#").strip()
    return ""


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= DESCRIPTION_CHARS else text[:DESCRIPTION_CHARS - 1] + "…"
