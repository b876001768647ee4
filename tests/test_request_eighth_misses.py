"""Request shapes read off the eighth blind instruction set's misses after its first run (issue 25),
each a general rule: a duration key's unit is the last word of its name (`reminder_hour` is a time
of day, `min_temperature_c` a minimum), an unquoted value ends before a bracketed aside or a clause
saying why, a number or version never replaces an entry point or path, "it's X, not Y" before a
dash, a misspelling said with its right spelling must be near it, "the [export] section" names
`export`, and a JSON array's element named by its "name" goes brace to brace.

Each case is a small repository of its own and the candidate the rules rank first (no model), as
core/repair/requested.validated gives it to a turn.
"""

from __future__ import annotations

import json

from mlxagent.core.intents.broad import _slot_unit
from mlxagent.core.intents.remove import object_of

from test_request_mentions import applied, first

APIARY = "[inspections]\ninterval_days = 7\nreminder_hour = 9\n\n[weather]\nmin_temperature_c = 14\n"


def test_a_duration_keys_unit_is_the_last_word_of_its_name():
    assert _slot_unit("interval_days") == 86400 and _slot_unit("REQUEST_TIMEOUT_MS") == 0.001
    assert _slot_unit("retrySeconds") == 1 and _slot_unit("timeoutms") == 0.001
    assert _slot_unit("reminder_hour") is None and _slot_unit("min_temperature_c") is None
    files = {"config/apiary.ini": APIARY}
    edit = first(files, "we inspect every nine days now, update apiary.ini")
    assert applied(files, edit)["config/apiary.ini"] == APIARY.replace("interval_days = 7", "interval_days = 9")


def test_an_unquoted_value_ends_before_an_aside_or_a_clause_saying_why():
    kiln = "[serial]\nport = /dev/ttyUSB0\n\n[log]\nlevel = INFO\nfile = kiln.log\n"
    files = {"config/kiln.ini": kiln}
    edit = first(files, "Set the kiln log level to DEBUG while we chase the stall alarm")
    assert applied(files, edit)["config/kiln.ini"] == kiln.replace("level = INFO", "level = DEBUG")


def test_a_version_never_replaces_an_entry_point():
    pyproject = ('[project]\nname = "hivelog"\nversion = "0.4.2"\n\n[project.scripts]\nhivelog = "hivelog.cli:main"\n')
    init = '"""Hive notes."""\n\n__version__ = "0.4.2"\n'
    files = {"pyproject.toml": pyproject, "hivelog/__init__.py": init}
    edit = first(files, "bump hivelog to 0.5.0 (pyproject and __init__)")
    after = applied(files, edit)
    assert after["pyproject.toml"] == pyproject.replace('version = "0.4.2"', 'version = "0.5.0"')
    assert after["hivelog/__init__.py"] == init.replace("0.4.2", "0.5.0")


def test_its_x_not_y_before_a_dash_and_a_said_spelling_only_fixes_a_near_word():
    notes = "# Firing notes\n\n- Peek-hole plugs stay in above 600 °C.\n- Vent the kiln until 700 °C.\n"
    alarms = 'overtemp = 1300\nstall_minutes = 20\n'
    files = {"docs/firing-notes.md": notes, "config/alarms.toml": alarms}
    edit = first(files, 'it\'s "peephole", not "peek-hole" — fix that in the firing notes')
    after = applied(files, edit)
    assert after["docs/firing-notes.md"] == notes.replace("Peek-hole", "Peephole")
    assert after["config/alarms.toml"] == alarms  # "overtemp" is no misspelling of "peephole"


def test_the_bracketed_section_a_removal_names_goes():
    kept = "[apiary]\nname = Hillside\n\n" + APIARY  # "the apiary config": the [apiary] section stays
    files = {"config/apiary.ini": kept + "\n[export]\nformat = csv\ndelimiter = ;\n"}
    edit = first(files, "Remove the [export] section from the apiary config, it's unused")
    assert applied(files, edit)["config/apiary.ini"] == kept
    assert object_of("Remove the [export] section from the apiary config, it's unused") == "export"


def test_an_arrays_element_named_by_its_name_goes_brace_to_brace():
    treatments = ('{\n  "treatments": [\n    {\n      "name": "Oxalic acid",\n      "broodless_only": true\n    },\n'
                  '    {\n      "name": "Apivar",\n      "season": ["spring", "autumn"],\n      "withdrawal_days": 14\n'
                  '    }\n  ]\n}\n')
    files = {"data/treatments.json": treatments}
    edit = first(files, "We stopped using Apivar. Take it out of data/treatments.json")
    after = applied(files, edit)["data/treatments.json"]
    assert json.loads(after) == {"treatments": [{"name": "Oxalic acid", "broodless_only": True}]}
    assert after == ('{\n  "treatments": [\n    {\n      "name": "Oxalic acid",\n      "broodless_only": true\n'
                     '    }\n  ]\n}\n')
