"""Request shapes of 2026-12-07 (issue 25): quantities in words, JavaScript object settings, a
value's other mentions, versions named with their product, the nearest version below, a name that
an attribute of another object shares, Markdown sections, a typo in a named section, an upper-case
level written in the file's case, a quoted key with a colon.

Each case is a small repository of its own and the candidate the rules rank first (no model), as
core/repair/requested.validated gives it to a turn.
"""

from __future__ import annotations

import pytest

from mlxagent.core.intents.companions import extend
from mlxagent.core.intents.products import hypotheses as product_hypotheses, said
from mlxagent.core.intents.quantities import spoken
from mlxagent.core.intents.structured import scan_assign
from mlxagent.core.repair.requested import validated


def first(files: dict[str, str], request: str):
    edits = sorted(validated(dict(files), request), key=lambda e: -e.prior)
    assert edits, f"no candidate for {request!r}"
    return edits[0]


def applied(files: dict[str, str], edit) -> dict[str, str]:
    out = dict(files)
    out.update(dict(edit.files))
    return out


@pytest.mark.parametrize("request_, expected", [
    ("release holds after a quarter of an hour instead of ten minutes",
     "release holds after 15 minutes instead of 10 minutes"),
    ("let it run for up to a minute and a half", "let it run for up to 90 seconds"),
    ("wait half a minute", "wait 30 seconds"),
    ("three quarters of an hour", "45 minutes"),
    ("allow 5,000 tiles", "allow 5000 tiles"),
    ("retries should be five", "retries should be 5"),
    ("twenty-five workers", "25 workers"),
    ("a thousand rows", "1000 rows"),
    ("one of the tests", "one of the tests"),  # "one" is a number only before a unit
    ("twice a day", "twice a day"),
    ('set the label to "Two players"', 'set the label to "Two players"'),  # quoted text as written
    ("keep it up for 3.5 seconds", "keep it up for 3.5 seconds"),
])
def test_quantities_in_words_are_read_as_numbers(request_, expected):
    assert spoken(request_) == expected


def test_object_literal_settings_are_slots_with_their_parents_keys():
    text = ("export const config = {\n  requestTimeoutMs: 15000,\n  features: {\n    crashReporting: true, // on\n"
            "    'beta-maps': false,\n  },\n  tiers: [1, 2],\n};\nconst TOAST_MS = 2000;\n")
    got = {".".join(e.path): (e.raw, text[e.start:e.end]) for e in scan_assign(text)}
    assert got["config.requesttimeoutms"] == ("15000", "15000")
    assert got["config.features.crashreporting"] == ("true", "true")
    assert got["config.features.beta_maps"] == ("false", "false")
    assert got["toast_ms"] == ("2000", "2000")


JS_APP = {
    "src/config.js": "export default {\n  requestTimeoutMs: 15000,\n  maxCachedTiles: 2500,\n"
                     "  telemetry: {\n    crashReporting: true,\n  },\n};\n",
    "README.md": "# Maps\n\n- Cache maps offline (up to 2,500 tiles per region)\n- Works on 2 platforms\n",
    "CHANGELOG.md": "## 1.0\n\n- Raised the tile cache to 2,500 tiles.\n",
}


def test_a_duration_in_words_goes_into_a_js_key_in_its_own_unit():
    edit = first(JS_APP, "network requests should give up after half a minute")
    assert applied(JS_APP, edit)["src/config.js"] == JS_APP["src/config.js"].replace("15000", "30000")


def test_a_switch_in_a_nested_js_object_is_turned_off():
    edit = first(JS_APP, "turn off crash reporting")
    assert dict(edit.files) == {"src/config.js": JS_APP["src/config.js"].replace("crashReporting: true",
                                                                                 "crashReporting: false")}


def test_a_changed_value_is_changed_where_the_docs_write_it_too_but_not_in_the_changelog():
    edit = first(JS_APP, "allow 5000 cached tiles per region")
    out = applied(JS_APP, edit)
    assert out["src/config.js"] == JS_APP["src/config.js"].replace("2500", "5000")
    assert out["README.md"] == JS_APP["README.md"].replace("2,500", "5,000")
    assert out["CHANGELOG.md"] == JS_APP["CHANGELOG.md"]  # history keeps what was


BOOKING = {
    "app/config.py": "from dataclasses import dataclass\n\n\n@dataclass\nclass Settings:\n"
                     "    hold_timeout_seconds: int = 600\n    max_rooms: int = 40\n",
    "docs/ops.md": "# Operations\n\nUnconfirmed holds expire after\n10 minutes, so nothing blocks a room for long.\n\n"
                   "Backups run every 10 minutes.\n",
}


def test_a_duration_said_in_words_replaces_the_old_one_and_its_mention_in_another_unit():
    edit = first(BOOKING, "Unconfirmed holds should be released after a quarter of an hour instead of ten minutes.")
    out = applied(BOOKING, edit)
    assert out["app/config.py"] == BOOKING["app/config.py"].replace("= 600", "= 900")
    # the paragraph about holds changes; the backups' "10 minutes" is about something else
    assert out["docs/ops.md"] == BOOKING["docs/ops.md"].replace("after\n10 minutes", "after\n15 minutes")


def test_small_numbers_and_other_settings_are_not_mentions():
    files = {"db.ini": "[primary]\nport = 5432\n\n[replica]\nport = 5432\n",
             "game.json": '{\n  "maxPlayers": 8,\n  "teams": 8\n}\n'}
    replica = first(files, "the replica's port is 6432 now")
    assert applied(files, replica)["db.ini"] == "[primary]\nport = 5432\n\n[replica]\nport = 6432\n"
    small = [e for e in validated(dict(files), "lobbies should hold up to 12 players") if "game.json" in dict(e.files)]
    for e in small:  # 8 is written in too many places that are not this one: never extended
        assert extend(files, e, "lobbies should hold up to 12 players") is None


STACK = {
    "docker-compose.yml": "services:\n  db:\n    image: postgres:15-alpine\n  cache:\n    image: redis:7\n",
    "docs/setup.md": "You need:\n\n- PostgreSQL 15\n- Redis 7\n",
    ".github/workflows/ci.yml": "jobs:\n  test:\n    steps:\n      - uses: actions/setup-node@v4\n"
                               "        with:\n          node-version: 18\n",
    "package.json": '{\n  "engines": {\n    "node": ">=18"\n  }\n}\n',
    "setup.cfg": "[metadata]\nclassifiers =\n    Programming Language :: Python :: 3.10\n"
                 "    Programming Language :: Python :: 3.11\n\n[options]\npython_requires = >=3.10\n",
}


def test_a_version_named_with_its_product_changes_every_mention_of_it():
    edit = first(STACK, "we've moved to Postgres 16")
    out = applied(STACK, edit)
    assert out["docker-compose.yml"] == STACK["docker-compose.yml"].replace("postgres:15", "postgres:16")
    assert out["docs/setup.md"] == STACK["docs/setup.md"].replace("PostgreSQL 15", "PostgreSQL 16")
    assert {p for p, _ in edit.files} == {"docker-compose.yml", "docs/setup.md"}


def test_the_number_the_files_hold_is_the_old_one_and_an_action_name_is_not_the_product():
    assert said("Release workflow still builds on Node 18, switch it to 20.") == [("node", "18")]
    assert product_hypotheses(STACK, "Release workflow still builds on Node 18, switch it to 20.", ()) == []
    edit = first(STACK, "Node 22 everywhere please")
    out = applied(STACK, edit)
    assert "node-version: 22" in out[".github/workflows/ci.yml"] and '">=22"' in out["package.json"]
    assert "setup-node@v4" in out[".github/workflows/ci.yml"]


def test_supporting_one_more_version_is_not_a_replacement():
    assert product_hypotheses(STACK, "we support Python 3.12 now", ()) == []
    edit = first(STACK, "we support Python 3.12 now")
    assert "python_requires = >=3.12" not in dict(edit.files).get("setup.cfg", "")


def test_the_nearest_version_below_is_the_one_a_minimum_raises():
    files = {"Cargo.toml": '[package]\nname = "snap"\nversion = "0.7.3"\nrust-version = "1.74"\n\n'
                           '[dependencies]\nserde = "1.0"\n',
             "README.md": "# snap\n\nNeeds Rust 1.74 or newer.\n"}
    edit = first(files, "raise the MSRV to 1.76")
    out = applied(files, edit)
    assert out["Cargo.toml"] == files["Cargo.toml"].replace('"1.74"', '"1.76"')
    assert out["README.md"] == files["README.md"].replace("1.74", "1.76")


def test_a_rename_leaves_another_objects_attribute_of_the_same_name():
    text = ("import hashlib\n\n\ndef sha256(path):\n    digest = hashlib.sha256()\n    return digest.hexdigest()\n\n\n"
            "def main():\n    print(sha256('x'))\n")
    edit = first({"tools/publish.py": text}, "in publish.py, call the sha256 helper file_digest instead")
    after = dict(edit.files)["tools/publish.py"]
    assert after == text.replace("def sha256", "def file_digest").replace("print(sha256", "print(file_digest")


DOCS = {"README.md": "# Trail\n\nOffline maps; a cron job syncs them.\n\n## Retention\n\n"
                     "When a snapshot succeds, old ones go.\n\n## Roadmap\n\n- Watch app\n- Routes\n\n## License\n\nMIT\n",
        "NOTES.md": "# Notes\n\nThe recieve path is slow.\n"}


def test_a_markdown_section_is_removed_from_its_heading_to_the_next():
    edit = first(DOCS, "take the roadmap out of the readme")
    assert dict(edit.files) == {"README.md": DOCS["README.md"].replace("## Roadmap\n\n- Watch app\n- Routes\n\n", "")}


def test_the_typo_in_a_named_section_offers_the_dictionarys_near_words_to_the_model():
    edits = sorted(validated(dict(DOCS), "fix the typo in the Retention section of the readme"), key=lambda e: -e.prior)
    top = [e for e in edits if e.prior == edits[0].prior]
    fixed = {dict(e.files)["README.md"].split("\n")[6] for e in top}
    assert len(top) > 1
    assert "When a snapshot succeeds, old ones go." in fixed  # tied with "success": the model orders the tie
    for e in edits:  # the section holds the typo; "cron" and the other file are left alone
        assert "cron" in dict(e.files)["README.md"] and "NOTES.md" not in dict(e.files)


def test_an_upper_case_level_is_written_in_the_files_case():
    files = {"docker-compose.yml": "services:\n  worker:\n    environment:\n      APP_LOG_LEVEL: INFO\n"}
    edit = first(files, "set the worker's log level to warning")
    assert dict(edit.files)["docker-compose.yml"].endswith("APP_LOG_LEVEL: WARNING\n")


def test_a_quoted_key_with_a_colon_is_removed_whole():
    files = {"package.json": '{\n  "scripts": {\n    "test": "jest",\n    "build:preview": "eas build"\n  }\n}\n',
             "app.json": '{\n  "name": "trail",\n  "owner": "eas"\n}\n'}
    edit = first(files, "get rid of the build:preview npm script, CI calls eas directly")
    assert dict(edit.files) == {"package.json": '{\n  "scripts": {\n    "test": "jest"\n  }\n}\n'}


def test_the_word_before_a_keys_name_is_the_value_and_a_key_never_becomes_its_own_name():
    files = {"eas.json": '{\n  "submit": {\n    "android": { "track": "internal", "status": "draft" }\n  }\n}\n'}
    edit = first(files, "Android store submissions should go to the beta track, not internal")
    assert dict(edit.files)["eas.json"] == files["eas.json"].replace('"internal"', '"beta"')
    for e in validated(dict(files), "Android store submissions should go to the beta track, not internal"):
        assert '"track": "track"' not in dict(e.files)["eas.json"]


def test_an_address_that_moved_changes_where_it_starts_in_every_link():
    files = {"README.md": "See [the manual](https://snap.dev/manual/config.html).\n",
             "Cargo.toml": '[package]\nname = "snap"\ndocumentation = "https://snap.dev/manual/"\n'}
    edit = first(files, "The manual moved from snap.dev/manual/ to docs.snap.dev (the page names are the same).")
    out = applied(files, edit)
    assert out["README.md"] == "See [the manual](https://docs.snap.dev/config.html).\n"
    assert out["Cargo.toml"].endswith('documentation = "https://docs.snap.dev/"\n')


# -- read off the fifth set's misses after it was measured (2026-12-07) ----------------------------

def test_retry_names_max_retries_and_the_old_count_said_is_not_the_new_one():
    files = {"app/client.py": "MAX_RETRIES = 3\nTIMEOUT = 10\n"}
    edit = first(files, "The client gives up too quickly — have it retry five times instead of three.")
    assert dict(edit.files)["app/client.py"] == "MAX_RETRIES = 5\nTIMEOUT = 10\n"


def test_the_minimum_version_we_support_is_a_replacement_not_one_more():
    files = {"package.json": '{\n  "engines": {\n    "node": ">=18"\n  }\n}\n'}
    edit = first(files, "Node 20 is the minimum we support now.")
    assert dict(edit.files)["package.json"] == files["package.json"].replace(">=18", ">=20")


def test_both_names_every_place_and_a_number_with_its_unit_glued_on_is_a_number():
    files = {"setup.cfg": "[flake8]\nmax-line-length = 100\n", "pyproject.toml": "[tool.ruff]\nline-length = 100\n"}
    edit = first(files, "We're going to 120-character lines. Update both flake8 and ruff.")
    assert applied(files, edit) == {"setup.cfg": "[flake8]\nmax-line-length = 120\n",
                                    "pyproject.toml": "[tool.ruff]\nline-length = 120\n"}
    assert spoken("switch to 448px inputs") == "switch to 448 px inputs"
    assert spoken("python:3.10-slim and postgres:15-alpine") == "python:3.10-slim and postgres:15-alpine"


def test_a_file_name_the_repository_lacks_is_a_literal_to_replace():
    files = {"jobs/prepare.py": 'OUT = "data/classes.json"\n', "jobs/train.py": 'IN = "data/classes.json"\n'}
    edit = first(files, "Let's call the class list file species.json instead of classes.json.")
    assert applied(files, edit) == {p: t.replace("classes.json", "species.json") for p, t in files.items()}


def test_a_typo_pointed_at_by_section_alone_is_found_there_and_the_projects_own_words_correct_it():
    files = {"README.md": "# tidewatch\n\ntidewatch predicts tides. Run tidewatch daily.\n\n## Install\n\n"
                          "pip install tidwatch\n\n## Data\n\nFrom the Muséum national d'Histoire naturelle.\n"}
    edit = first(files, "typo in the install section of the README")
    assert dict(edit.files)["README.md"] == files["README.md"].replace("install tidwatch", "install tidewatch")
    # a word beside another the dictionary lacks is a name or another language, not a typo
    for e in validated(dict(files), "there's a misspelled word in the README"):
        assert "naturelle" in dict(e.files)["README.md"]


def test_the_word_a_removal_verb_takes_goes_and_only_from_the_item_the_request_names():
    files = {"stations.yaml": "stations:\n  - id: A\n    name: Oslo\n    tags: [harbour, ferry]\n"
                              "  - id: B\n    name: Dover\n    tags: [harbour, ferry]\n"}
    edit = first(files, "Dover lost its ferry service; drop the ferry tag from that station.")
    assert dict(edit.files)["stations.yaml"] == files["stations.yaml"].replace(
        "Dover\n    tags: [harbour, ferry]", "Dover\n    tags: [harbour]")


def test_history_is_a_changelog_document_not_a_release_workflow():
    from mlxagent.core.intents.base import HISTORY

    assert HISTORY.search("CHANGELOG.md") and HISTORY.search("docs/HISTORY.rst") and HISTORY.search("package-lock.json")
    assert not HISTORY.search(".github/workflows/release.yml") and not HISTORY.search("scripts/release.py")


def test_a_turn_reads_quantities_in_words_too(tmp_path, monkeypatch, capsys):
    """`mlxagent run --yes` end to end (real builder and headless loop; the scripted weak tool user
    never gets to write): the turn's own candidates read "a quarter of an hour" as the bench does."""
    import json
    import subprocess
    import sys as _sys

    from scripted_model import ScriptedModel

    from mlxagent import cli, headless

    repo = tmp_path / "repo"
    (repo / "docs").mkdir(parents=True)
    for path, text in BOOKING.items():
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_bytes(text.encode())
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    subprocess.run(["git", "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "init"], cwd=repo, check=True)
    model = ScriptedModel(["Done."])
    model.weak_tool_use = True
    monkeypatch.setattr("mlxagent.builder.load_model", lambda *a, **k: model)
    monkeypatch.setattr(_sys, "stdin", open("/dev/null"))
    task = "Unconfirmed holds should be released after a quarter of an hour instead of ten minutes."
    args = cli._sub_parser().parse_args(["run", task, "--repo", str(repo), "--model", "scripted", "--json",
                                         "--no-auto-test", "--max-steps", "4", "--yes"])
    assert headless.run_task(args) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert next(e for e in events if e["event"] == "TurnFinished")["reason"] == "done"
    assert (repo / "app/config.py").read_text() == BOOKING["app/config.py"].replace("= 600", "= 900")
    assert "after\n15 minutes" in (repo / "docs/ops.md").read_text()


# -- entries written out in full (read off the sixth set's misses after its runs) ------------------

def test_a_setting_written_out_goes_into_the_named_section_after_the_named_line():
    files = {"ansible.cfg": "[defaults]\ninventory = hosts.ini\n\n[ssh_connection]\npipelining = True\n"
                            "timeout = 30\n"}
    edit = first(files, "In ansible.cfg, under [ssh_connection], add ssh_args = -o ControlMaster=auto after the "
                        "pipelining line.")
    assert dict(edit.files)["ansible.cfg"] == files["ansible.cfg"].replace(
        "pipelining = True\n", "pipelining = True\nssh_args = -o ControlMaster=auto\n")
    toml = {"app.toml": "[server]\nhost = \"0.0.0.0\"\n\n[worker]\nconcurrency = 4\n"}
    edit = first(toml, "add queue = default to the [worker] section")
    assert dict(edit.files)["app.toml"] == toml["app.toml"] + 'queue = "default"\n'  # a TOML string is quoted
    assert not validated(dict(toml), "add concurrency = 8 to the [worker] section")  # there already: a change


def test_a_bullet_written_out_goes_at_the_end_of_the_named_list():
    files = {"LISTING.md": "# Tabs\n\n## Features\n\n* Closes idle tabs\n* Restores them\n\n## Privacy\n\nNone.\n"}
    for ask in ('Add a feature bullet to the listing, at the end of the Features list: "Works in Edge"',
                'add "Works in Edge" to the Features list'):
        edit = first(files, ask)
        assert dict(edit.files)["LISTING.md"] == files["LISTING.md"].replace("* Restores them\n",
                                                                             "* Restores them\n* Works in Edge\n")


def test_an_element_added_to_an_array_whose_elements_all_end_with_a_comma_ends_with_one_too():
    files = {"pyproject.toml": '[project]\ndependencies = [\n    "torch>=2.2",\n    "PyYAML>=6.0",\n]\n'}
    edit = first(files, "Add `onnx>=1.15` to the project dependencies.")
    assert dict(edit.files)["pyproject.toml"] == files["pyproject.toml"].replace(
        '"PyYAML>=6.0",\n', '"PyYAML>=6.0",\n    "onnx>=1.15",\n')


def test_a_value_said_to_be_in_the_code_and_the_readme_changes_in_both():
    files = {"src/pricing.js": "const MAX_WEIGHT_KG = 30;\nconst VAT = 19;\n",
             "README.md": "# Courier\n\nParcels up to 30 kg are accepted.\n"}
    edit = first(files, "Raise the parcel weight limit to forty kilos, in the code and in the README.")
    assert applied(files, edit) == {p: t.replace("30", "40") for p, t in files.items()}


# -- several changes in one request (read off the seventh set's misses after its runs) -------------

def test_two_settings_in_one_request_are_one_edit_and_neither_alone_is_applied_unattended():
    from mlxagent.core.intents import extract
    from mlxagent.core.repair.trust import trusted

    files = {"params.yaml": "period:\n  start: 1960-01-01\n  end: 2020-12-31\nmin_coverage: 0.8\n"}
    ask = "In params.yaml set the period end to 2023-12-31 and min_coverage to 0.9."
    said = extract(ask)
    assert [(i.key, i.new) for i in said if i.kind == "set"] == [("period end", "2023-12-31"), ("min_coverage", "0.9")]
    edits = sorted(validated(dict(files), ask), key=lambda e: -e.prior)
    assert dict(edits[0].files)["params.yaml"] == files["params.yaml"].replace("2020-12-31", "2023-12-31").replace(
        "0.8", "0.9")
    assert all(not trusted(e, ask) for e in edits[1:] if e.rule.endswith("+part"))
    assert any(e.rule.endswith("+part") for e in edits[1:])
    # a value that says "and" is one value, and one clause's two readings are not two clauses
    assert [i.new for i in extract("set the title to Tom and Jerry") if i.kind == "set"] == ["Tom and Jerry"]
    beta = {"eas.json": '{\n  "android": { "track": "internal" }\n}\n'}
    assert all(e.rule != "combined" for e in validated(dict(beta), "go to the beta track, not internal"))


def test_the_review_names_what_a_request_candidate_is_in_words():
    from mlxagent.core.repair.requested import what_it_is

    edit = first(JS_APP, "allow 5000 cached tiles per region")
    assert what_it_is(edit) == "a setting, and its other mentions"
    files = {"params.yaml": "period:\n  end: 2020-12-31\nmin_coverage: 0.8\n"}
    edits = validated(dict(files), "In params.yaml set the period end to 2023-12-31 and min_coverage to 0.9.")
    assert {what_it_is(e) for e in edits} >= {"the request's settings, together",
                                             "a setting; one part of what the request asks"}
