"""The dropdown of file paths shown above the input while an `@path` mention is typed.

It never takes focus: the input keeps it and drives the list (up/down move the highlight,
Tab or Enter take the highlighted path, Esc closes it); a click on a path takes it too.
It floats over the transcript (an overlay on the screen), just above the input, so opening
and closing it moves nothing else.
"""

from __future__ import annotations

import posixpath
from typing import Protocol

from textual.content import Content
from textual.geometry import Region
from textual.widgets import OptionList

MAX_ROWS = 8
MIN_WIDTH = 24


class CompletionOwner(Protocol):
    """What the list needs of the input that drives it (`PromptInput`, which imports this
    module: the dependency goes one way)."""

    @property
    def region(self) -> Region: ...

    def refresh_bindings(self) -> None: ...

    def accept_completion(self) -> None: ...


class PathCompletion(OptionList, can_focus=False):
    DEFAULT_CSS = """
    PathCompletion {
        display: none;
        overlay: screen;
        position: absolute;
        height: auto;
        border: round $primary;
        padding: 0 1;
        background: $surface;
    }
    PathCompletion.-open {
        display: block;
    }
    PathCompletion > .option-list--option-highlighted {
        color: $block-cursor-foreground;
        background: $block-cursor-background;
        text-style: $block-cursor-text-style;
    }
    """

    def __init__(self, prompt: CompletionOwner, *, id: str | None = "path-completion") -> None:
        super().__init__(id=id)
        self.prompt = prompt
        self.paths: list[str] = []

    @property
    def is_open(self) -> bool:
        return self.has_class("-open")

    @property
    def highlighted_path(self) -> str | None:
        if not self.is_open or self.highlighted is None or not 0 <= self.highlighted < len(self.paths):
            return None
        return self.paths[self.highlighted]

    def show_paths(self, paths: list[str]) -> None:
        """Open (or update) the list with `paths`, the first highlighted; closes it if there are none."""
        if not paths:
            self.close()
            return
        keep = self.highlighted_path
        if paths != self.paths:
            self.paths = list(paths)
            self.set_options([_label(p) for p in self.paths])
        self.highlighted = self.paths.index(keep) if keep in self.paths else 0
        if not self.is_open:
            self.add_class("-open")
            self.prompt.refresh_bindings()
        self.place()
        self.call_after_refresh(self.place)  # the input may have grown a line with this keystroke

    def close(self) -> None:
        if self.is_open:
            self.remove_class("-open")
            self.prompt.refresh_bindings()

    def place(self) -> None:
        """Size the list to its paths and put it on the input's top edge."""
        if not self.is_open or not self.paths:
            return
        area = self.prompt.region
        screen_width = self.screen.size.width if self.is_attached else area.width
        rows = min(len(self.paths), MAX_ROWS)
        height = rows + 2  # the border
        widest = max(len(p) for p in self.paths) + 4  # border and padding
        width = max(MIN_WIDTH, min(widest, max(area.width - 2, MIN_WIDTH), screen_width))
        x = max(0, min(area.x + 1, screen_width - width))
        self.styles.width = width
        self.styles.height = height
        self.styles.offset = (x, max(0, area.y - height))

    def move_highlight(self, step: int) -> None:
        if self.is_open:
            self.action_cursor_down() if step > 0 else self.action_cursor_up()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        """A click on a path."""
        event.stop()
        if 0 <= event.option_index < len(self.paths):
            self.highlighted = event.option_index
            self.prompt.accept_completion()


def _label(path: str) -> Content:
    folder, name = posixpath.split(path)
    if not folder:
        return Content(name)
    return Content.assemble((folder + "/", "dim"), name)
