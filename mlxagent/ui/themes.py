"""Themes from TOML files: the bundled ones in the repo's `themes/` and the user's own.

A theme file holds the fields of `textual.theme.Theme` (name, primary, ..., dark,
variables = {...}) plus `pygments_style`, the pygments style that highlights code in
diffs under that theme. User themes live in `paths.user_themes_dir()`; one with the name
of a bundled theme replaces it. A broken file is skipped with a one-line warning, so a
typo in a user theme never keeps the app from starting.
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pygments.styles import get_all_styles
from textual.color import Color, ColorParseError
from textual.css.constants import VALID_STYLE_FLAGS
from textual.theme import BUILTIN_THEMES, Theme

from .. import paths
from ..errors import MlxAgentError

DARK_PYGMENTS_STYLE = "monokai"
LIGHT_PYGMENTS_STYLE = "default"

THEME_FIELDS = {f.name: f for f in dataclasses.fields(Theme)}
COLOR_FIELDS = ("primary", "secondary", "warning", "error", "success", "accent",
                "foreground", "background", "surface", "panel", "boost")
BOOL_FIELDS = ("dark", "ansi")
FRACTION_FIELDS = ("luminosity_spread", "text_alpha")
# Words a theme variable may hold besides colours: Textual's own defaults use "auto 87%",
# "initial", and text styles such as "b reverse".
VARIABLE_WORDS = {"auto", "initial", *VALID_STYLE_FLAGS}
PERCENT = re.compile(r"\d+(\.\d+)?%")

# pygments style per theme name, learnt from every theme file loaded (see pygments_style_for).
_pygments_styles: dict[str, str] = {}


class ThemeFileError(MlxAgentError):
    """A theme file cannot be read or does not describe a usable theme."""


@dataclass(frozen=True)
class LoadedTheme:
    theme: Theme
    pygments_style: str
    source: Path


def bundled_themes_dir() -> Path:
    # The package is installed editable, so the repo's top-level themes/ sits two levels up.
    return Path(__file__).resolve().parents[2] / "themes"


def load_theme_file(path: str | Path) -> tuple[Theme, str]:
    """(Theme, pygments style) from one file; raises ThemeFileError naming the file."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as e:
        raise ThemeFileError(f"{path}: cannot read ({getattr(e, 'strerror', None) or e})") from None
    except tomllib.TOMLDecodeError as e:
        raise ThemeFileError(f"{path}: invalid TOML ({e})") from None
    try:
        return _theme_from_mapping(data, default_name=path.stem)
    except ThemeFileError as e:
        raise ThemeFileError(f"{path}: {e}") from None


def _theme_from_mapping(data: dict[str, Any], default_name: str) -> tuple[Theme, str]:
    data = dict(data)
    style = data.pop("pygments_style", None)
    unknown = sorted(set(data) - set(THEME_FIELDS))
    if unknown:
        known = ", ".join(["pygments_style", *THEME_FIELDS])
        raise ThemeFileError(f"unknown key {unknown[0]!r} (known: {known})")
    data.setdefault("name", default_name)
    if not isinstance(data["name"], str) or not data["name"].strip():
        raise ThemeFileError(f"name must be a non-empty string, not {data['name']!r}")
    if "primary" not in data:
        raise ThemeFileError("primary is required (the main colour, e.g. primary = \"#5AA9FF\")")
    for key in COLOR_FIELDS:
        if key in data:
            _check_color(key, data[key])
    for key in BOOL_FIELDS:
        if key in data and not isinstance(data[key], bool):
            raise ThemeFileError(f"{key} must be true or false, not {data[key]!r}")
    for key in FRACTION_FIELDS:
        value = data.get(key, 0.0)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
            raise ThemeFileError(f"{key} must be a number from 0 to 1, not {value!r}")
    _check_variables(data.get("variables", {}))
    theme = Theme(**data)
    if style is None:
        style = DARK_PYGMENTS_STYLE if theme.dark else LIGHT_PYGMENTS_STYLE
    elif style not in set(get_all_styles()):
        raise ThemeFileError(f"pygments_style {style!r} is not a pygments style (try {DARK_PYGMENTS_STYLE!r})")
    try:
        theme.to_color_system().generate()  # what the app does when it switches to the theme
    except (ColorParseError, ValueError, TypeError) as e:
        raise ThemeFileError(f"unusable colours ({e})") from None
    return theme, style


def _check_color(key: str, value: Any) -> None:
    if not isinstance(value, str):
        raise ThemeFileError(f"{key} must be a colour string such as \"#5AA9FF\", not {value!r}")
    try:
        Color.parse(value)
    except ColorParseError:
        raise ThemeFileError(f"{key}: {value!r} is not a colour") from None


def _check_variables(variables: Any) -> None:
    """A syntax check of the [variables] table, so a typo is reported at load, not when the CSS breaks."""
    if not isinstance(variables, dict):
        raise ThemeFileError(f"variables must be a table of names to values, not {variables!r}")
    for name, value in variables.items():
        if not isinstance(value, str) or not value.strip():
            raise ThemeFileError(f"variables.{name} must be a non-empty string, not {value!r}")
        for word in value.split():
            if word in VARIABLE_WORDS or PERCENT.fullmatch(word):
                continue
            try:
                Color.parse(word)
            except ColorParseError:
                raise ThemeFileError(f"variables.{name}: {word!r} is not a colour, percentage or text style") from None


def load_all_themes(user_dir: str | Path | None = None) -> tuple[list[LoadedTheme], list[str]]:
    """Bundled themes, then the user's (which replace bundled ones of the same name).

    Broken files are skipped with a warning each. `user_dir` defaults to
    `paths.user_themes_dir()`.
    """
    user_dir = Path(user_dir) if user_dir is not None else paths.user_themes_dir()
    warnings: list[str] = []
    by_name: dict[str, LoadedTheme] = {}
    for folder, is_user in ((bundled_themes_dir(), False), (user_dir, True)):
        for file in _theme_files(folder, must_exist=not is_user, warnings=warnings):
            try:
                theme, style = load_theme_file(file)
            except ThemeFileError as e:
                warnings.append(f"{e}; theme skipped")
                continue
            earlier = by_name.get(theme.name)
            # A user theme named like a bundled one is a deliberate override; any other clash is a mistake.
            if earlier is not None and (earlier.source.parent == file.parent):
                warnings.append(f"{file}: theme {theme.name!r} is also defined in {earlier.source}; using {file.name}")
            by_name[theme.name] = LoadedTheme(theme, style, file)
    _pygments_styles.update({name: loaded.pygments_style for name, loaded in by_name.items()})
    return list(by_name.values()), warnings


def _theme_files(folder: Path, *, must_exist: bool, warnings: list[str]) -> list[Path]:
    if not folder.is_dir():
        if must_exist:
            warnings.append(f"{folder}: bundled themes folder is missing")
        return []
    try:
        return sorted(p for p in folder.glob("*.toml") if p.is_file())
    except OSError as e:
        warnings.append(f"{folder}: cannot list themes ({e.strerror or e})")
        return []


def register_themes(app: Any) -> list[str]:
    """Register every theme with a Textual app; returns the warnings of broken files."""
    loaded, warnings = load_all_themes()
    for item in loaded:
        app.register_theme(item.theme)  # per-app registry; textual's BUILTIN_THEMES stay untouched
    return warnings


def pygments_style_for(theme_name: str) -> str:
    """The pygments style for diffs under a theme; Textual's own themes get a dark or light default."""
    if not _pygments_styles:  # nothing loaded yet in this process
        load_all_themes()
    if theme_name in _pygments_styles:
        return _pygments_styles[theme_name]
    builtin = BUILTIN_THEMES.get(theme_name)
    return LIGHT_PYGMENTS_STYLE if builtin is not None and not builtin.dark else DARK_PYGMENTS_STYLE
