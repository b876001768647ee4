"""Diffs, hunk by hunk, with the code highlighted in the theme's pygments style.

`CodeHighlighter` lexes with pygments and keeps only the style's foreground, bold and
italic: the backgrounds come from the Textual theme (a tint of its success / error
colours), so added and removed lines read the same in every theme.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

import unidiff
from pygments import lex
from pygments.lexers import TextLexer, get_lexer_for_filename
from pygments.styles import get_style_by_name
from pygments.util import ClassNotFound
from rich.style import Style
from rich.text import Text
from textual.color import Color
from textual.widget import Widget

from ...core.proposals import DiffLine, Hunk

SIGNS = {"+": "+", "-": "-", " ": " ", "\\": "\\"}
# Share of the success / error colour mixed into the background of added / removed lines.
TINT = 0.22


@lru_cache(maxsize=64)
def _lexer_for(path: str):
    try:
        return get_lexer_for_filename(path, stripnl=False, ensurenl=False)
    except ClassNotFound:
        return TextLexer(stripnl=False, ensurenl=False)


class CodeHighlighter:
    def __init__(self, style_name: str) -> None:
        self.style_name = style_name
        try:
            self._style = get_style_by_name(style_name)
        except ClassNotFound:
            self._style = get_style_by_name("default")
        self._styles: dict[object, Style] = {}

    def _rich_style(self, token_type) -> Style:
        if token_type not in self._styles:
            known = token_type
            while not self._style.styles_token(known) and known.parent is not None:
                known = known.parent  # a lexer's own subtype (YAML's Literal.Scalar.Plain): its parent's colour
            try:
                spec = self._style.style_for_token(known)
            except KeyError:
                spec = {}
            self._styles[token_type] = Style(
                color=f"#{spec['color']}" if spec.get("color") else None,
                bold=spec.get("bold") or None,
                italic=spec.get("italic") or None,
            )
        return self._styles[token_type]

    def highlight(self, path: str, lines: Sequence[str]) -> list[Text]:
        """One Text per line. The lines are lexed together, so a construct spanning lines
        (a docstring) stays coloured as one."""
        if not lines:
            return []
        text = Text()
        for token_type, value in lex("\n".join(lines) + "\n", _lexer_for(path)):
            text.append(value, self._rich_style(token_type))
        out = text.split("\n", allow_blank=True)
        return list(out)[: len(lines)] + [Text(line) for line in lines[len(out):]]


@dataclass(frozen=True)
class DiffColors:
    added_bg: str
    removed_bg: str
    added: str
    removed: str
    muted: str
    accent: str

    @classmethod
    def from_variables(cls, variables: dict[str, str]) -> "DiffColors":
        def get(name: str, default: str) -> Color:
            try:
                return Color.parse(variables.get(name, default))
            except Exception:  # noqa: BLE001 - a theme variable we cannot parse: the default
                return Color.parse(default)

        background = get("background", "#000000")
        success, error = get("success", "#00aa00"), get("error", "#aa0000")
        return cls(
            added_bg=background.blend(success, TINT).hex,
            removed_bg=background.blend(error, TINT).hex,
            added=success.hex,
            removed=error.hex,
            muted=get("foreground", "#cccccc").blend(background, 0.45).hex,
            accent=get("accent", "#ffaa00").hex,
        )


def render_lines(lines: Sequence[DiffLine], highlighted: Sequence[Text], colors: DiffColors, width: int) -> list[Text]:
    """Gutter (old and new line numbers), sign and code, each line tinted by its kind and
    padded to `width` so the tint spans the view."""
    out = []
    for line, code in zip(lines, highlighted):
        if line.kind == "\\":
            out.append(Text(f"{'':>9}  \\ {line.text.lstrip(chr(92) + ' ')}", style=colors.muted))
            continue
        bg = {"+": colors.added_bg, "-": colors.removed_bg}.get(line.kind)
        sign_color = {"+": colors.added, "-": colors.removed}.get(line.kind, colors.muted)
        old = "" if line.old_no is None else str(line.old_no)
        new = "" if line.new_no is None else str(line.new_no)
        row = Text.assemble((f"{old:>4} {new:>4} ", colors.muted), (f"{SIGNS.get(line.kind, ' ')} ", f"bold {sign_color}"))
        row.append_text(code)
        if width and row.cell_len < width:
            row.append(" " * (width - row.cell_len))
        if bg:
            row.stylize(Style(bgcolor=bg))
        out.append(row)
    return out


class HunkView(Widget):
    """One hunk: a header with its decision, then its lines."""

    DEFAULT_CSS = """
    HunkView { height: auto; width: 1fr; }
    """

    def __init__(self, path: str, hunk: Hunk, total: int, highlighter: CodeHighlighter, *,
                 accepted: bool | None = None, id: str | None = None) -> None:
        super().__init__(id=id, classes="hunk")
        self.path = path
        self.hunk = hunk
        self.total = total
        self.accepted = accepted
        self._highlighted = highlighter.highlight(path, [line.text for line in hunk.lines])

    def set_decision(self, accepted: bool | None) -> None:
        if accepted != self.accepted:
            self.accepted = accepted
            self.refresh(layout=True)

    def set_highlighter(self, highlighter: CodeHighlighter) -> None:
        self._highlighted = highlighter.highlight(self.path, [line.text for line in self.hunk.lines])
        self.refresh(layout=True)

    def _header(self, colors: DiffColors) -> Text:
        label = f"hunk {self.hunk.index + 1}/{self.total}  {self.hunk.header}  +{self.hunk.added} -{self.hunk.removed}"
        if self.accepted is None:
            return Text(label, style=f"bold {colors.accent}")
        mark, color = ("✓ accept", colors.added) if self.accepted else ("✗ reject", colors.removed)
        return Text.assemble((f"[{mark}] ", f"bold {color}"), (label, f"bold {colors.accent}"))

    def render(self) -> Text:
        colors = DiffColors.from_variables(self.app.theme_variables)
        rows = [self._header(colors)] + render_lines(self.hunk.lines, self._highlighted, colors, self.content_size.width)
        return Text("\n").join(rows)


def hunks_from_diff(diff_text: str) -> list[tuple[str, list[Hunk]]]:
    """(path, hunks) per file of a unified git diff, for showing `git diff` output."""
    try:
        patch = unidiff.PatchSet(diff_text)
    except unidiff.UnidiffParseException:
        return []
    files = []
    for patched in patch:
        path = patched.path
        hunks = []
        for index, h in enumerate(patched):
            lines = tuple(DiffLine(kind=line.line_type, text=line.value.rstrip("\r\n"),
                                   old_no=line.source_line_no, new_no=line.target_line_no) for line in h)
            header = f"@@ -{h.source_start},{h.source_length} +{h.target_start},{h.target_length} @@"
            hunks.append(Hunk(index, header, lines, h.added, h.removed))
        files.append((path, hunks))
    return files
