"""Hypotheses from a request's literals alone (core/intents/broad.py), validated as the turn does
(core/repair/requested.validated): the files say which literal is old and which is new."""

from __future__ import annotations

import pytest

from mlxagent.core.intents.broad import hypotheses
from mlxagent.core.repair.requested import validated

REPO = {
    "deploy/service.yaml": "service:\n  name: tiles\n  port: 7000   # public\n  replicas: 3\n"
                           "storage:\n  bucket: tiles-prod\n  metrics_port: 9100\n",
    "tiles.ini": "[render]\nthreads = 4\nantialias = on\n\n[cache]\nenabled = true\nttl = 300\r\n",
    "pyproject.toml": '[project]\nname = "tilekit"\nversion = "2.3.1"\n\n[tool.mypy]\npython_version = "3.10"\n',
    "tilekit/__init__.py": '__version__ = "2.3.1"\n',
    "tilekit/grid.js": "export function drawTile(ctx, t) {\n  return ctx.fill(t);\n}\n\n"
                       "export function drawTiles(ctx, ts) {\n  ts.forEach((t) => drawTile(ctx, t));\n}\n",
    "tilekit/main.js": "import { drawTile } from './grid.js';\n// drawTile paints one tile\ndrawTile(c, 1);\n",
    "README.md": "# tilekit\n\nTilekit renders teh map tiles. Run it with teh CLI.\n",
}


def _best(request: str, files=REPO):
    edits = validated(dict(files), request)
    return (sorted(edits, key=lambda e: -e.prior)[0], edits) if edits else (None, edits)


def _after(edit, files=REPO):
    out = dict(files)
    out.update(dict(edit.files))
    return out


def test_a_new_number_goes_to_the_slot_of_its_size_and_kind():
    edit, _ = _best("we serve on 7443 from now on, update the service")
    after = _after(edit)
    assert after["deploy/service.yaml"] == REPO["deploy/service.yaml"].replace("port: 7000 ", "port: 7443 ")
    assert {p for p, _ in edit.files} == {"deploy/service.yaml"}


def test_a_name_the_files_hold_becomes_a_name_they_lack_everywhere_in_code():
    edit, _ = _best("drawTile should be called paintTile")
    after = _after(edit)
    assert "drawTile(" not in after["tilekit/grid.js"].replace("drawTiles(", "")
    assert "paintTile(c, 1)" in after["tilekit/main.js"] and "import { paintTile }" in after["tilekit/main.js"]
    assert "function drawTiles(" in after["tilekit/grid.js"]  # a longer name is another name


def test_a_misspelled_word_of_the_request_is_fixed_where_the_files_hold_it():
    edit, _ = _best("the readme says 'teh' twice")
    assert _after(edit)["README.md"] == REPO["README.md"].replace("teh", "the")


def test_a_boolean_key_named_by_a_word_is_switched_and_crlf_kept():
    edit, _ = _best("switch the cache off")
    assert _after(edit)["tiles.ini"] == REPO["tiles.ini"].replace("enabled = true", "enabled = false")


def test_a_stated_version_replaces_the_projects_version_everywhere():
    edit, _ = _best("the package is 2.4.0 now")
    after = _after(edit)
    assert 'version = "2.4.0"' in after["pyproject.toml"] and '"2.4.0"' in after["tilekit/__init__.py"]
    assert 'python_version = "3.10"' in after["pyproject.toml"]


@pytest.mark.parametrize("request_text", [
    "add a function median(xs) that returns 0 for an empty list",
    "write tests for grid.js with 3 cases",
    "refactor drawTiles to use a for loop",
    "why does the cache use a ttl of 300?",
])
def test_requests_to_add_or_explain_make_no_hypotheses(request_text):
    assert hypotheses(dict(REPO), request_text) == []


def test_real_words_and_project_names_are_not_typos():
    hyps = hypotheses(dict(REPO), "change the render threads for tilekit, the map looks slow")
    assert not [i for i, _ in hyps if i.kind == "typo"]


def test_nothing_is_guessed_where_no_literal_fits():
    assert validated(dict(REPO), "make it faster") == []
    # a number no slot of the request's words takes, and no slot of its size: nothing confirmed in a named file
    assert all(p == "tiles.ini" for e in validated(dict(REPO), "tiles.ini: threads should be 8")
               for p, _ in e.files)


DEPS = {
    "package.json": '{\n  "name": "tides",\n  "dependencies": {\n    "chalk": "^5.3.0",\n'
                    '    "node-fetch": "^3.3.2"\n  }\n}\n',
    "pyproject.toml": '[project]\nname = "grain"\ndependencies = [\n    "pyyaml>=6",\n    "python-dateutil>=2.8",\n'
                      '    "requests>=2.31",\n]\n',
    "app.yaml": "cors:\n  origins:\n    - https://app.example.com\n    - http://localhost:3000\n",
    "README.md": "Uses node-fetch and python-dateutil.\n",
}


@pytest.mark.parametrize("request_text, path, gone, kept", [
    ("drop the node-fetch dependency, we use the built-in fetch", "package.json", "node-fetch", '"chalk": "^5.3.0"\n'),
    ("we dont use dateutil anymore, remove it from the deps", "pyproject.toml", "dateutil", '"requests>=2.31",'),
    ("remove http://localhost:3000 from the CORS origins", "app.yaml", "localhost", "- https://app.example.com"),
])
def test_an_entry_the_request_removes_goes_and_the_file_still_parses(request_text, path, gone, kept):
    edit, _ = _best(request_text, DEPS)
    after = _after(edit, DEPS)
    assert gone not in after[path] and kept in after[path]
    assert after["README.md"] == DEPS["README.md"]  # prose mentions are not entries
    assert len(DEPS[path]) - len(after[path]) < 40  # one line, nothing else


def test_a_distinctive_value_changes_everywhere_it_is_written():
    files = {"settings.toml": '[s3]\nregion = "eu-west-1"\nendpoint = "https://s3.eu-west-1.example.com"\n'}
    edit, _ = _best("the bucket moved to eu-central-1", files)
    assert _after(edit, files)["settings.toml"] == files["settings.toml"].replace("eu-west-1", "eu-central-1")


def test_an_address_replaces_the_address_most_like_it():
    files = {"README.md": "Mail dev@lists.old.example or security@old.example.\n"}
    edit, _ = _best("the dev list is dev@lists.new.example now", files)
    assert _after(edit, files)["README.md"] == "Mail dev@lists.new.example or security@old.example.\n"


def test_a_switch_flips_whatever_the_wording():
    files = {"ci.yaml": "notify:\n  on_failure: true\n  on_success: false\n"}
    edit, _ = _best("email us when the run succeeds too, not just when it fails", files)
    assert _after(edit, files)["ci.yaml"] == files["ci.yaml"].replace("on_success: false", "on_success: true")


def test_a_part_bump_names_its_package():
    files = {"pyproject.toml": '[project]\nname = "hearth"\nversion = "0.9.3"\n',
             "hearth/__init__.py": '__version__ = "0.9.3"\n'}
    edit, _ = _best("bump hearth's minor version", files)
    after = _after(edit, files)
    assert 'version = "0.10.0"' in after["pyproject.toml"] and '"0.10.0"' in after["hearth/__init__.py"]


def test_a_host_moves_inside_its_url():
    files = {"server.ini": "[cache]\nREDIS_URL = redis://cache.raven.internal:6379/0\nTTL = 30\n"}
    edit, _ = _best("we moved redis to cache2.raven.internal, update the server config", files)
    assert _after(edit, files)["server.ini"] == files["server.ini"].replace("cache.raven", "cache2.raven")


def test_a_boolean_is_not_switched_without_a_word_of_switching():
    files = {"site.toml": "[comments]\nenabled = true\nmoderation = true\n", "logging.ini": "[logger_comments]\nlevel = DEBUG\n"}
    assert not [e for e in validated(files, "the comments logger is way too noisy, put it on INFO")
                if "site.toml" in dict(e.files)]


def test_a_list_item_in_prose_goes_but_a_sentence_stays():
    files = {"README.md": "Maps:\n\n- Harbor - up to 8 players\n- Quarry - up to 4 players\n\nQuarry was the first.\n"}
    edit, _ = _best("Quarry map is gone, take it out of the map list in the README", files)
    assert _after(edit, files)["README.md"] == "Maps:\n\n- Harbor - up to 8 players\n\nQuarry was the first.\n"


def test_every_misspelling_a_dictionary_knows_is_fixed_in_the_named_doc():
    files = {"docs/moderation.md": "# Moderation\n\nEach occurence of a blocked word is hidden untill a moderator "
                                   "approves it. Run `inkwellctl` to see the queue.\n",
             "inkwell/ctl.py": "def inkwellctl():\n    pass\n"}
    edit, _ = _best("fix the spelling mistakes in docs/moderation.md", files)
    after = _after(edit, files)["docs/moderation.md"]
    assert "occurrence" in after and "until a" in after and "`inkwellctl`" in after
    assert after.replace("occurrence", "occurence").replace("until a", "untill a") == files["docs/moderation.md"]
