"""Reading a repository file as text the way every tool needs it: checked to be a
regular, non-binary file, decoded without losing a byte, with its line-ending style."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .base import ToolContext, ToolError

# git's own heuristic: a NUL byte in the first 8000 bytes means binary.
BINARY_SNIFF_BYTES = 8000


def looks_binary(head: bytes) -> bool:
    return b"\x00" in head[:BINARY_SNIFF_BYTES]


def existing_file(ctx: ToolContext, rel: str) -> Path:
    """The resolved path of an existing regular file, or a ToolError that says what to do."""
    path = ctx.workspace.resolve(rel)
    if path.is_dir():
        raise ToolError(f"{rel} is a folder, not a file; use list_files with path={rel!r} to see inside it.")
    if not path.exists():
        raise ToolError(f"No file named {rel}. Use list_files or search to find the right path.")
    if not path.is_file():
        raise ToolError(f"{rel} is not a regular file.")
    return path


def detect_newline(text: str) -> str:
    """The file's dominant line ending ("\\n" when there are none)."""
    crlf = text.count("\r\n")
    return "\r\n" if crlf > text.count("\n") - crlf else "\n"


@dataclass(frozen=True)
class TextFile:
    text: str  # exactly the file's content, line endings as on disk
    encoding: str  # "utf-8", or "latin-1" for anything else (it maps every byte, so it round-trips)
    newline: str  # the dominant line ending, used for text the model writes into this file

    @classmethod
    def decode(cls, data: bytes, rel: str) -> "TextFile":
        if looks_binary(data):
            raise ToolError(f"{rel} is a binary file ({len(data)} bytes); it cannot be read or edited as text.")
        try:
            text, encoding = data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            text, encoding = data.decode("latin-1"), "latin-1"
        return cls(text, encoding, detect_newline(text))

    def with_file_newlines(self, text: str) -> str:
        """`text` from the model (which writes "\\n") with this file's line endings."""
        text = text.replace("\r\n", "\n")
        return text if self.newline == "\n" else text.replace("\n", self.newline)

    def encode(self, text: str, rel: str) -> bytes:
        try:
            return text.encode(self.encoding)
        except UnicodeEncodeError as exc:
            raise ToolError(
                f"{rel} is {self.encoding}-encoded and cannot hold {exc.object[exc.start:exc.end]!r}; "
                f"write it without that character."
            ) from None


def load_text(ctx: ToolContext, rel: str) -> tuple[bytes, TextFile]:
    """An existing text file's exact bytes and decoded form, for editing."""
    path = existing_file(ctx, rel)
    size = path.stat().st_size
    if size > ctx.limits.edit_max_bytes:
        raise ToolError(f"{rel} is too large to edit here ({size} bytes, limit {ctx.limits.edit_max_bytes}).")
    data = path.read_bytes()
    return data, TextFile.decode(data, rel)


def numbered(n: int, text: str) -> str:
    """One line as read_file shows it."""
    return f"{n:>4}| {text}"


# The prefix `numbered` puts on a line, for recognising it when a model copies it back.
NUMBERED_PREFIX = r"^ *\d+\| ?"


def display_line(raw: bytes) -> str:
    """A file line (bytes, ending included) as text to show, without its line ending."""
    text = raw.decode("utf-8", "replace")
    return text.rstrip("\n").rstrip("\r")
