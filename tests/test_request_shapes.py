"""More shapes of plain requests (core/intents): units, list additions, sections and scoped entries
removed, enum values in the section the request names, "X now, not Y", typos the user points at, and
where an edit ranks (a named identifier's line first, documents after settings)."""

from __future__ import annotations

from mlxagent.core.intents.append import asks_append
from mlxagent.core.repair.requested import validated


def _best(request: str, files: dict[str, str]):
    edits = validated(dict(files), request)
    assert edits, f"no candidate for {request!r}"
    return sorted(edits, key=lambda e: -e.prior)[0]


def _after(edit, files):
    out = dict(files)
    out.update(dict(edit.files))
    return out


APP = {
    "src/config.js": "export const API_BASE = 'https://api.example.org';\nexport const REQUEST_TIMEOUT_MS = 8000;\n"
                     "export const TOAST_MS = 2000;\nexport const RETRIES = 3;\n",
    "settings.toml": "[cache]\nttl_seconds = 300\nsize = 64\n",
    "README.md": "# app\n\nRequests time out after 8 seconds.\n",
}


def test_seconds_become_milliseconds_where_the_key_holds_milliseconds():
    edit = _best("8s is too short for the api, make the request timeout 20 seconds", APP)
    assert _after(edit, APP)["src/config.js"] == APP["src/config.js"].replace("= 8000;", "= 20000;")
    edit = _best("keep the toast up for 3.5 seconds", APP)
    assert _after(edit, APP)["src/config.js"] == APP["src/config.js"].replace("TOAST_MS = 2000", "TOAST_MS = 3500")


def test_minutes_become_seconds_where_the_key_holds_seconds():
    edit = _best("cache entries should live for 10 minutes", APP)
    assert _after(edit, APP)["settings.toml"] == APP["settings.toml"].replace("= 300", "= 600")


LISTS = {
    "tox.ini": "[tox]\nenvlist = py310, py311, py312, lint\n\n[testenv]\ndeps = pytest\n",
    "config.yaml": "i18n:\n  languages:\n    - en\n    - fr\n  fallback: en\nthemes:\n  - dark\n",
    "package.json": '{\n  "name": "x",\n  "keywords": [\n    "maps",\n    "tiles"\n  ],\n  "files": ["dist", "lib"]\n}\n',
    "pyproject.toml": '[project]\nname = "x"\nclassifiers = ["A", "B"]\n',
}


def test_an_element_joins_the_named_list_like_its_neighbours():
    edit = _best("add py313 to the tox envlist", LISTS)
    assert _after(edit, LISTS)["tox.ini"] == LISTS["tox.ini"].replace("py312, lint", "py312, py313, lint")
    edit = _best("add 'de' to the supported languages", LISTS)
    assert _after(edit, LISTS)["config.yaml"] == LISTS["config.yaml"].replace("    - fr\n", "    - fr\n    - de\n")
    edit = _best('add "offline" to the package keywords', LISTS)
    assert _after(edit, LISTS)["package.json"] == LISTS["package.json"].replace(
        '    "tiles"\n', '    "tiles",\n    "offline"\n')
    edit = _best("add docs to the files in package.json", LISTS)
    assert _after(edit, LISTS)["package.json"] == LISTS["package.json"].replace('"lib"]', '"lib", "docs"]')
    assert {p for p, _ in edit.files} == {"package.json"}


def test_a_feature_request_is_not_a_list_addition():
    assert asks_append("add a function median to stats.py") is None
    assert not validated(dict(LISTS), "add dark mode to the settings screen")
    assert not validated(dict(LISTS), "add py313 to the supported matrix")  # no list of that name


SECTIONS = {
    "tox.ini": "[tox]\nenvlist = py311\n\n[testenv]\ndeps = pytest\n\n[flake8]\nmax-line-length = 100\n"
               "exclude = .tox\n\n[coverage:run]\nbranch = true\n",
    "package.json": '{\n  "scripts": {\n    "build": "vite build",\n    "watch": "vite build --watch"\n  },\n'
                    '  "description": "run watch to rebuild"\n}\n',
    "commands.yaml": "commands:\n  addbook:\n    roles:\n      - moderator\n      - organizer\n"
                     "  listbooks:\n    roles:\n      - member\n      - organizer\n",
}


def test_a_named_section_goes_from_its_header_to_the_next():
    edit = _best("drop the [flake8] section from tox.ini", SECTIONS)
    assert _after(edit, SECTIONS)["tox.ini"] == SECTIONS["tox.ini"].replace(
        "\n[flake8]\nmax-line-length = 100\nexclude = .tox\n", "")


def test_the_entry_whose_key_it_is_goes_with_the_comma_before_it():
    edit = _best("Remove the watch entry from the scripts in package.json.", SECTIONS)
    assert _after(edit, SECTIONS)["package.json"] == SECTIONS["package.json"].replace(
        '"vite build",\n    "watch": "vite build --watch"\n', '"vite build"\n')


def test_a_list_item_goes_only_under_the_key_the_request_names():
    edit = _best("take organizer off the addbook roles", SECTIONS)
    assert _after(edit, SECTIONS)["commands.yaml"] == SECTIONS["commands.yaml"].replace(
        "      - moderator\n      - organizer\n", "      - moderator\n")


LOGGING = {"logging.ini": "[logger_root]\nlevel = WARNING\n\n[logger_app]\nlevel = INFO\n\n[logger_db]\nlevel = DEBUG\n\n"
                          "[handler_console]\nlevel = DEBUG\n"}


def test_an_enum_value_goes_to_the_section_the_request_names():
    edit = _best("the db logger is way too noisy, put it on INFO", LOGGING)
    assert _after(edit, LOGGING)["logging.ini"] == LOGGING["logging.ini"].replace(
        "[logger_db]\nlevel = DEBUG", "[logger_db]\nlevel = INFO")
    edit = _best("set the db logger to WARNING, DEBUG is too chatty", LOGGING)
    assert _after(edit, LOGGING)["logging.ini"] == LOGGING["logging.ini"].replace(
        "[logger_db]\nlevel = DEBUG", "[logger_db]\nlevel = WARNING")


def test_x_now_not_y_replaces_the_phrase_in_each_case():
    files = {"README.md": "# hub\n\nRules: dimming, holiday mode.\n\n## Holiday mode\n\nWhen holiday mode is on...\n",
             "hub.yaml": "rules:\n  night:\n    enabled: true\n"}
    edit = _best("we call it away mode now, not holiday mode. fix the readme", files)
    assert _after(edit, files)["README.md"] == ("# hub\n\nRules: dimming, away mode.\n\n## Away mode\n\n"
                                                "When away mode is on...\n")


def test_words_inside_quotes_do_not_switch_anything():
    files = {"bot.py": 'def reply(items):\n    if not items:\n        return "You have no reminders."\n',
             "bot.toml": "[reminders]\nallow_dm = true\n"}
    edit = _best('when a user has no reminders the bot replies "You have no reminders." - change that reply '
                 'to "Nothing scheduled yet."', files)
    assert _after(edit, files)["bot.py"] == files["bot.py"].replace("You have no reminders.", "Nothing scheduled yet.")


def test_a_typo_the_user_points_at_takes_the_dictionary_word():
    files = {"locales/en.json": '{\n  "idle": "Suspend tabs after minutes of inactivty"\n}\n'}
    edit = _best("theres a typo in the english locale messages: inactivty", files)
    assert "of inactivity" in _after(edit, files)["locales/en.json"]


def test_the_line_holding_a_named_identifier_ranks_first():
    files = {"server/lobby.js": "class Lobby {\n  startCountdown(seconds = 10) {\n    this.t = seconds;\n  }\n}\n",
             "config/game.json": '{\n  "lobby": {\n    "countdownSeconds": 10\n  }\n}\n'}
    edit = _best("startCountdown should default to 5 seconds", files)
    assert {p for p, _ in edit.files} == {"server/lobby.js"}
    assert "startCountdown(seconds = 5)" in _after(edit, files)["server/lobby.js"]


def test_a_value_placed_by_words_prefers_settings_to_prose():
    files = {"config/game.json": '{\n  "lobby": {\n    "minPlayers": 2,\n    "maxPlayers": 8\n  }\n}\n',
             "README.md": "# game\n\n- Harbor - up to 8 players\n"}
    edit = _best("Lobbies should hold up to 12 players", files)
    assert _after(edit, files)["config/game.json"] == files["config/game.json"].replace('"maxPlayers": 8', '"maxPlayers": 12')
