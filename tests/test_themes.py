"""Theme files: the bundled ones load and apply in a real Textual app; user themes are found;
broken ones warn instead of crashing; palettes are readable."""

from __future__ import annotations

import pytest
from pygments.styles import get_all_styles
from textual.app import App
from textual.color import Color
from textual.theme import BUILTIN_THEMES
from textual.widgets import Static

from mlxagent import paths
from mlxagent.errors import MlxAgentError
from mlxagent.ui import themes
from mlxagent.ui.themes import (ThemeFileError, bundled_themes_dir, load_all_themes, load_theme_file,
                                pygments_style_for, register_themes)

REQUIRED = ("mlxagent-dark", "mlxagent-light", "mlxagent-high-contrast")
USER_THEME = """\
name = "my-sunset"
primary = "#FF7A59"
background = "#1B1020"
pygments_style = "dracula"
[variables]
"footer-key-foreground" = "#FF7A59"
"""


def user_theme(filename: str, text: str):
    folder = paths.user_themes_dir()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / filename).write_text(text, encoding="utf-8")
    return folder / filename


class Probe(App):
    def compose(self):
        yield Static("hello", id="probe")


@pytest.mark.parametrize("name", REQUIRED)
def test_bundled_theme_loads(name):
    theme, style = load_theme_file(bundled_themes_dir() / f"{name}.toml")
    assert theme.name == name
    assert style in set(get_all_styles())


def test_every_bundled_file_loads_without_warnings():
    loaded, warnings = load_all_themes()
    assert warnings == []
    names = {item.theme.name for item in loaded}
    assert set(REQUIRED) <= names
    assert len(names) == len(list(bundled_themes_dir().glob("*.toml")))
    assert {item.theme.dark for item in loaded} == {True, False}


async def test_bundled_themes_register_and_apply_in_an_app():
    builtin_before = dict(BUILTIN_THEMES)
    app = Probe()
    async with app.run_test() as pilot:
        assert register_themes(app) == []
        for name in REQUIRED:
            app.theme = name
            await pilot.pause()
            theme = app.get_theme(name)
            assert app.current_theme is theme
            # The theme's CSS variables really reached the screen.
            assert app.screen.styles.background == Color.parse(theme.background)
    assert BUILTIN_THEMES == builtin_before
    assert not set(REQUIRED) & set(BUILTIN_THEMES)


async def test_user_theme_is_picked_up():
    user_theme("sunset.toml", USER_THEME)
    loaded, warnings = load_all_themes()
    assert warnings == []
    mine = [item for item in loaded if item.theme.name == "my-sunset"]
    assert len(mine) == 1 and mine[0].source == paths.user_themes_dir() / "sunset.toml"
    assert pygments_style_for("my-sunset") == "dracula"
    app = Probe()
    async with app.run_test() as pilot:
        register_themes(app)
        app.theme = "my-sunset"
        await pilot.pause()
        assert app.screen.styles.background == Color.parse("#1B1020")


def test_user_theme_replaces_a_bundled_one_of_the_same_name():
    user_theme("dark.toml", 'name = "mlxagent-dark"\nprimary = "#00FF00"\n')
    loaded, warnings = load_all_themes()
    assert warnings == []
    (dark,) = [item for item in loaded if item.theme.name == "mlxagent-dark"]
    assert dark.theme.primary == "#00FF00"
    assert dark.source.parent == paths.user_themes_dir()


def test_name_defaults_to_the_file_name_and_style_to_dark_or_light(tmp_path):
    file = tmp_path / "paper.toml"
    file.write_text('primary = "#004578"\ndark = false\n')
    theme, style = load_theme_file(file)
    assert (theme.name, style) == ("paper", "default")


@pytest.mark.parametrize("text, problem", [
    ('name = "x"\nprimary = "#123"\nbackground = = 1\n', "invalid TOML"),
    ('name = "x"\nprimary = "not-a-colour"\n', "'not-a-colour' is not a colour"),
    ('name = "x"\nbackground = "#000000"\n', "primary is required"),
    ('name = "x"\nprimary = "#fff"\npygments_style = "no-such-style"\n', "is not a pygments style"),
    ('name = "x"\nprimary = "#fff"\nprimray = "#000"\n', "unknown key 'primray'"),
    ('name = "x"\nprimary = "#fff"\ndark = "yes"\n', "dark must be true or false"),
    ('name = "x"\nprimary = "#fff"\ntext_alpha = 2\n', "text_alpha must be a number from 0 to 1"),
    ('name = "x"\nprimary = "#fff"\n[variables]\n"border" = "bleu"\n', "variables.border: 'bleu'"),
    ('name = "x"\nprimary = "#fff"\nvariables = 3\n', "variables must be a table"),
    ('name = 7\nprimary = "#fff"\n', "name must be a non-empty string"),
])
def test_broken_theme_file_raises_one_line_naming_the_file(tmp_path, text, problem):
    file = tmp_path / "broken.toml"
    file.write_text(text)
    with pytest.raises(ThemeFileError) as info:
        load_theme_file(file)
    message = str(info.value)
    assert isinstance(info.value, MlxAgentError)
    assert message.startswith(str(file)) and problem in message and "\n" not in message


async def test_broken_user_theme_warns_and_the_rest_still_load():
    user_theme("a-broken.toml", 'name = "oops"\nprimary = "#zzzzzz"\n')
    user_theme("b-bad-toml.toml", "name = \n")
    user_theme("sunset.toml", USER_THEME)
    loaded, warnings = load_all_themes()
    names = {item.theme.name for item in loaded}
    assert "my-sunset" in names and set(REQUIRED) <= names and "oops" not in names
    assert len(warnings) == 2
    assert any("a-broken.toml" in w for w in warnings) and any("b-bad-toml.toml" in w for w in warnings)
    app = Probe()
    async with app.run_test():
        assert len(register_themes(app)) == 2
        assert app.get_theme("my-sunset") is not None


def test_two_user_files_with_one_name_warn():
    user_theme("one.toml", 'name = "twin"\nprimary = "#111111"\n')
    user_theme("two.toml", 'name = "twin"\nprimary = "#222222"\n')
    loaded, warnings = load_all_themes()
    assert [item.theme.primary for item in loaded if item.theme.name == "twin"] == ["#222222"]
    assert len(warnings) == 1 and "twin" in warnings[0]


def test_missing_user_folder_is_fine(tmp_path):
    loaded, warnings = load_all_themes(tmp_path / "nowhere")
    assert warnings == [] and {item.theme.name for item in loaded} >= set(REQUIRED)


def test_pygments_style_for_known_and_fallback_themes():
    load_all_themes()
    assert pygments_style_for("mlxagent-dark") == "monokai"
    assert pygments_style_for("mlxagent-light") == "default"
    assert pygments_style_for("mlxagent-high-contrast") in set(get_all_styles())
    assert pygments_style_for("textual-light") == "default"
    assert pygments_style_for("textual-dark") == "monokai"
    assert pygments_style_for("no-such-theme") == "monokai"


def test_pygments_style_for_loads_themes_on_first_use(monkeypatch):
    monkeypatch.setattr(themes, "_pygments_styles", {})
    assert pygments_style_for("mlxagent-light") == "default"


# ---------------------------------------------------------------- readability
def contrast(a: str, b: str) -> float:
    """WCAG 2 contrast ratio of two opaque colours."""
    def luminance(hex_colour: str) -> float:
        color = Color.parse(hex_colour)
        channels = [c / 255 for c in (color.r, color.g, color.b)]
        r, g, b = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


@pytest.mark.parametrize("name, minimum", [
    ("mlxagent-dark", 4.5),            # WCAG AA for text
    ("mlxagent-light", 4.5),
    ("mlxagent-high-contrast", 7.0),   # WCAG AAA for text
])
def test_palette_colours_are_readable_on_the_background(name, minimum):
    theme, _ = load_theme_file(bundled_themes_dir() / f"{name}.toml")
    for field in ("foreground", "primary", "secondary", "accent", "success", "warning", "error"):
        ratio = contrast(getattr(theme, field), theme.background)
        assert ratio >= minimum, f"{name}: {field} {ratio:.2f}:1 on the background"
    cursor = contrast(theme.variables["block-cursor-foreground"], theme.variables["block-cursor-background"])
    assert cursor >= minimum, f"{name}: block cursor {cursor:.2f}:1"


def test_high_contrast_is_black_and_white_with_undimmed_text():
    theme, style = load_theme_file(bundled_themes_dir() / "mlxagent-high-contrast.toml")
    assert contrast(theme.foreground, theme.background) == pytest.approx(21.0)
    assert theme.text_alpha == 1.0 and theme.variables["text"] == "auto 100%"
    assert contrast(theme.variables["input-selection-foreground"],
                    theme.variables["input-selection-background"]) >= 7.0
    assert style != pygments_style_for("mlxagent-dark")


@pytest.mark.parametrize("path, lines", [
    ("service.yaml", ["service:", "  port: 7000  # public", "  name: tiles", "  tags: [a, 'b']"]),
    ("Dockerfile", ["FROM python:3.12", "RUN pip install x"]),
    ("x.toml", ['[tool]', 'a = "b"']),
])
def test_every_bundled_pygments_style_colours_every_lexers_tokens(path, lines):
    """A lexer's own token subtypes (YAML's Literal.Scalar.Plain) take their parent's colour: the
    review screen once crashed with KeyError on a YAML diff."""
    from pygments.styles import get_all_styles

    from mlxagent.ui.widgets.diff_view import CodeHighlighter

    for style in sorted(get_all_styles()):
        out = CodeHighlighter(style).highlight(path, lines)
        assert [t.plain for t in out] == lines
