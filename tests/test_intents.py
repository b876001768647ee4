"""Request-grounded candidate edits: mlxagent.core.intents."""

from __future__ import annotations

import pytest

from mlxagent.core.intents import Edit, Intent, candidates, confirms, extract


def best(files, request):
    got = candidates(files, request)
    assert got, request
    assert confirms(got[0], extract(request), files), got[0]
    return got[0], dict(got[0].files)


def test_ini_crlf_kept():
    files = {"settings.ini": "[server]\r\nhost = localhost\r\nport = 8080 ; the port\r\n",
             "other.ini": "port = 1\n"}
    edit, out = best(files, "set the port in settings.ini to 9090")
    assert out == {"settings.ini": "[server]\r\nhost = localhost\r\nport = 9090 ; the port\r\n"}
    assert edit.rule == "set-ini" and edit.line == 3 and "port = 8080" in edit.description


def test_json_bool_no_final_newline():
    files = {"config.json": '{\n  "name": "x",\n  "debug": true,\n  "port": 80\n}'}
    _, out = best(files, "set debug to false in config.json")
    assert out["config.json"] == '{\n  "name": "x",\n  "debug": false,\n  "port": 80\n}'
    _, out = best(files, "set name in config.json to demo")
    assert out["config.json"] == '{\n  "name": "demo",\n  "debug": true,\n  "port": 80\n}'


def test_yaml_nested_key():
    files = {"config.yaml": "server:\n  timeout: 10  # seconds\nclient:\n  timeout: 5\n"}
    _, out = best(files, "change the timeout in config.yaml to 30")
    assert out["config.yaml"] in ("server:\n  timeout: 30  # seconds\nclient:\n  timeout: 5\n",
                                  "server:\n  timeout: 10  # seconds\nclient:\n  timeout: 30\n")
    _, out = best(files, "set client.timeout in config.yaml to 30")
    assert out["config.yaml"] == "server:\n  timeout: 10  # seconds\nclient:\n  timeout: 30\n"


def test_toml_table_key():
    files = {"pyproject.toml": "[project]\nname = 'old'  # n\n\n[tool.x]\nname = \"keep\"\n"}
    _, out = best(files, "set name in pyproject.toml to 'demo'")
    assert out["pyproject.toml"] == "[project]\nname = 'demo'  # n\n\n[tool.x]\nname = \"keep\"\n"
    _, out = best(files, "set tool.x.name to other")
    assert out["pyproject.toml"] == "[project]\nname = 'old'  # n\n\n[tool.x]\nname = \"other\"\n"


def test_key_spelling_tolerant():
    files = {"app.cfg": "[limits]\nmax_users = 10\n"}
    _, out = best(files, "change the max users to 50")
    assert out["app.cfg"] == "[limits]\nmax_users = 50\n"


def test_version_bump_everywhere():
    files = {"pyproject.toml": '[project]\nname = "demo"\nversion = "1.0.0"\ndependencies = ["x==1.0.0"]\n',
             "demo/__init__.py": '__version__ = "1.0.0"\n',
             "CHANGELOG.md": "## 1.0.0\n"}
    edit, out = best(files, "bump the version to 1.1.0")
    assert out == {"pyproject.toml": '[project]\nname = "demo"\nversion = "1.1.0"\ndependencies = ["x==1.0.0"]\n',
                   "demo/__init__.py": '__version__ = "1.1.0"\n'}
    assert edit.rule == "version"
    _, out = best(files, "bump the minor version")
    assert out["demo/__init__.py"] == '__version__ = "1.1.0"\n'
    _, out = best(files, "bump the patch version")
    assert out["demo/__init__.py"] == '__version__ = "1.0.1"\n'
    _, out = best({"package.json": '{"name": "a", "version": "2.3.4"}', "VERSION": "2.3.4\n"}, "bump major")
    assert out == {"package.json": '{"name": "a", "version": "3.0.0"}', "VERSION": "3.0.0\n"}


def test_typo_keeps_case():
    files = {"README.md": "# Demo\n\nRecieve data; we recieve it. recieved stays.\n", "a.py": "def receive(): ...\n"}
    edit, out = best(files, "fix the typo recieve in README.md")
    assert out == {"README.md": "# Demo\n\nReceive data; we receive it. recieved stays.\n"}
    assert edit.rule == "typo" and edit.line == 3


def test_rename_python_and_js():
    geo = ('def calc_area(r):\n    # calc_area helper\n    return r * r\n\n\ndef calc_area_total(xs):\n'
           '    label = "calc_area"\n    return sum(calc_area(x) for x in xs)\n')
    files = {"geo.py": geo, "main.py": "from geo import calc_area\nprint(calc_area(2))\n",
             "web/app.js": 'const calc_area = (r) => r * r; // calc_area\nconsole.log("calc_area", calc_area(1));\n'}
    edit, out = best(files, "rename calc_area to area everywhere")
    assert out["geo.py"] == geo.replace("def calc_area(", "def area(").replace("sum(calc_area(", "sum(area(")
    assert out["main.py"] == "from geo import area\nprint(area(2))\n"
    assert out["web/app.js"] == 'const area = (r) => r * r; // calc_area\nconsole.log("calc_area", area(1));\n'
    assert edit.path == "geo.py" and edit.line == 1


def test_rename_constant():
    files = {"cfg.py": "MAX_USERS = 5\nMAX_USERS_X = 1\n", "use.py": "from cfg import MAX_USERS\nn = MAX_USERS\n"}
    edit, out = best(files, "rename the constant MAX_USERS to USER_LIMIT")
    assert out == {"cfg.py": "USER_LIMIT = 5\nMAX_USERS_X = 1\n",
                   "use.py": "from cfg import USER_LIMIT\nn = USER_LIMIT\n"}
    assert edit.rule == "rename-python"


def test_replace_literals():
    files = {"x.md": "foo and food\r\n", "y.md": "foo\n"}
    _, out = best(files, "replace 'foo' with 'bar' in x.md")
    assert out == {"x.md": "bar and food\r\n"}
    files = {"a.md": "see http://old/x\n", "b.py": "URL = 'http://old/y'\n"}
    _, out = best(files, "change http://old to https://new")
    assert out == {"a.md": "see https://new/x\n", "b.py": "URL = 'https://new/y'\n"}


def test_confirms_rejects_wrong_edits():
    files = {"settings.ini": "port = 8080\nhost = a\n"}
    intents = extract("set the port in settings.ini to 9090")
    good = candidates(files, "set the port in settings.ini to 9090")[0]
    assert confirms(good, intents, files)
    lacks = Edit((("settings.ini", "port = 9091\nhost = a\n"),), "settings.ini", 1, "set-ini", "x")
    assert not confirms(lacks, intents, files)
    extra = Edit((("settings.ini", "port = 9090\nhost = b\n"),), "settings.ini", 1, "set-ini", "x")
    assert not confirms(extra, intents, files)
    files = {"a.py": "def calc_area():\n    pass\ncalc_area()\n"}
    intents = extract("rename calc_area to area")
    half = Edit((("a.py", "def area():\n    pass\ncalc_area()\n"),), "a.py", 1, "rename-python", "x")
    assert not confirms(half, intents, files)
    full = Edit((("a.py", "def area():\n    pass\narea()\n"),), "a.py", 1, "rename-python", "x")
    assert confirms(full, intents, files)
    assert not confirms(Edit((), "a.py", 1, "rename", "x"), intents, files)


@pytest.mark.parametrize("request_, expected", [
    ("set the port in settings.ini to 9090", Intent("set", None, "9090", "port", ("settings.ini",))),
    ("set debug to false in config.json", Intent("set", None, "false", "debug", ("config.json",))),
    ("change the timeout in config.yaml to 30", Intent("set", None, "30", "timeout", ("config.yaml",))),
    ("set name in pyproject.toml to 'demo'", Intent("set", None, "demo", "name", ("pyproject.toml",))),
    ("change the port from 8080 to 9090 in settings.ini", Intent("set", "8080", "9090", "port", ("settings.ini",))),
    ("set server.port to 8080", Intent("set", None, "8080", "server.port")),
    ("set `debug` to true", Intent("set", None, "true", "debug")),
    ("bump the version to 1.1.0", Intent("version", None, "1.1.0")),
    ("bump version from 1.0.0 to 1.0.1", Intent("version", "1.0.0", "1.0.1")),
    ("bump the minor version", Intent("version", None, "", "minor")),
    ("Please bump the patch version.", Intent("version", None, "", "patch")),
    ("set the version in package.json to 2.0.0", Intent("version", None, "2.0.0", None, ("package.json",))),
    ("fix the typo recieve in README.md", Intent("typo", "recieve", "", None, ("README.md",))),
    ("fix typo 'recieve' -> 'receive'", Intent("typo", "recieve", "receive")),
    ("rename calc_area to area everywhere", Intent("rename", "calc_area", "area")),
    ("rename the constant MAX_USERS to USER_LIMIT", Intent("rename", "MAX_USERS", "USER_LIMIT")),
    ("Rename function calc_area() to area()", Intent("rename", "calc_area", "area")),
    ("rename foo to bar including comments", Intent("rename", "foo", "bar", "all")),
    ("replace 'foo' with 'bar' in x.md", Intent("replace", "foo", "bar", None, ("x.md",))),
    ("change http://old to https://new", Intent("replace", "http://old", "https://new")),
    ('replace "a b" with "c d"', Intent("replace", "a b", "c d")),
    ("http://a.com/x -> http://b.com/y", Intent("replace", "http://a.com/x", "http://b.com/y")),
])
def test_extract(request_, expected):
    assert expected in extract(request_)


@pytest.mark.parametrize("odd", ["add a function median", "", "   ", "hello", "set", "rename x", "fix the typo",
                                 "\x00\x01", "replace with", "bump the version to banana"])
def test_unhandled_requests(odd):
    files = {"a.py": "def mean(xs):\n    return sum(xs) / len(xs)\n", "c.ini": "port = 1\n"}
    assert candidates(files, odd) == []


def test_odd_inputs_never_raise():
    assert candidates(None, "set port to 1") == []  # type: ignore[arg-type]
    assert candidates({"a.json": "{not json"}, "set port to 1") == []
    assert extract(None) == []  # type: ignore[arg-type]
    assert confirms(None, [], {}) is False  # type: ignore[arg-type]
    assert candidates({"b.py": "def f(:\n  x = 'unterminated\n"}, "rename x to y")


# --- requests without "set … to" wording ---------------------------------------------------------

def top(files, request):
    """The highest-prior candidate that the request's literals confirm."""
    intents = extract(request)
    got = [e for e in candidates(files, request) if confirms(e, intents, files)]
    assert got, (request, intents)
    return got[0], dict(got[0].files)


REPO = {
    "app/settings.yaml": "server:\n  port: 8000\n  timeout: 30\nretries:\n  count: 2\nimage: redis:6.2\n",
    "svc.ini": "[db]\r\nhost = localhost\r\npool_size = 5\r\ntimeout = 10\r\n[http]\r\ntimeout = 10\r\n",
    "src/client.ts": "// talks to the billing service\nexport const ENDPOINT = \"http://billing.local/v1\";\n",
    "NEWS.md": "# News\n\n## 2.0.0 - 2023-05-01\n- big\n\n## 1.9.0 - 2023-01-01\n",
    "lib/fmt.py": "def join_parts(parts, glue=\", \"):\n    return glue.join(parts)\n",
    "guide.md": "Configure the databse before the first run. The databse is local.\n",
    "package.json": '{\n  "name": "shop",\n  "version": "1.0.0"\n}\n',
    ".prettierrc.json": '{\n  "rules": {\n    "trailing": ["off"],\n    "width": ["warn", 80]\n  }\n}\n',
    "tool.cfg": "[linter]\nmax-complexity = 10\n",
}


@pytest.mark.parametrize("request_, path, old, new", [
    ("The http timeout should be 20 instead of 10", "svc.ini", "[http]\r\ntimeout = 10", "[http]\r\ntimeout = 20"),
    ("requests should time out after 45 seconds, not 30 (app/settings.yaml)", "app/settings.yaml",
     "timeout: 30", "timeout: 45"),
    ("in svc.ini change the db timeout from 10 to 15", "svc.ini", "pool_size = 5\r\ntimeout = 10",
     "pool_size = 5\r\ntimeout = 15"),
    ("use redis 7.0", "app/settings.yaml", "redis:6.2", "redis:7.0"),
    ("point the billing client at https://billing.example.org/v2", "src/client.ts",
     '"http://billing.local/v1"', '"https://billing.example.org/v2"'),
    ("the 2.0.0 release date in NEWS.md should be 2023-05-02", "NEWS.md", "2.0.0 - 2023-05-01", "2.0.0 - 2023-05-02"),
    ('make join_parts use "; " as its default glue', "lib/fmt.py", 'glue=", "', 'glue="; "'),
    ("in .prettierrc.json make the width rule an error instead of a warning", ".prettierrc.json",
     '["warn", 80]', '["error", 80]'),
    ("set the db pool size to 8 in svc.ini", "svc.ini", "pool_size = 5", "pool_size = 8"),
    ("set the server port of the app settings to 9000", "app/settings.yaml", "port: 8000", "port: 9000"),
    ("raise the linter's max-complexity to 12", "tool.cfg", "= 10", "= 12"),
    ("rename the package to @me/shop", "package.json", '"shop"', '"@me/shop"'),
    ("release 1.1.0", "package.json", '"1.0.0"', '"1.1.0"'),
    ("guide.md misspells 'database', please fix it", "guide.md", "databse", "database"),
])
def test_loose_wording(request_, path, old, new):
    _, out = top(REPO, request_)
    assert list(out) == [path]
    assert out[path] == REPO[path].replace(old, new)


def test_typo_derived_from_known_misspelling():
    files = {"a.py": '"""Split on the seperator."""\nSEP = ","\n', "b.py": "x = 1\n"}
    _, out = top(files, "fix the typo 'seperator' in a.py")
    assert out == {"a.py": '"""Split on the separator."""\nSEP = ","\n'}


def test_js_template_literal_is_code_for_renames():
    files = {"a.js": "function fmt(x) { return x; }\nconst s = `total ${fmt(1)} fmt`;\nmodule.exports = { fmt };\n"}
    _, out = top(files, "rename fmt to show")
    assert out["a.js"] == "function show(x) { return x; }\nconst s = `total ${show(1)} fmt`;\nmodule.exports = { show };\n"


@pytest.mark.parametrize("request_", [
    "why does the server listen on port 8000?", "add a test for port 8000", "explain the 2.0.0 release",
    "instead of", "not 3", "from to", "use", "should be", "set the x of the y to",
])
def test_loose_wording_needs_a_change(request_):
    assert not [e for e in candidates(REPO, request_) if confirms(e, extract(request_), REPO)]


def test_change_confirms_is_strict():
    files = {"c.toml": "[a]\nn = 3\n[b]\nn = 3\n"}
    intents = extract("the a n should be 5, not 3")
    assert intents and intents[0].kind == "change"
    good = Edit((("c.toml", "[a]\nn = 5\n[b]\nn = 3\n"),), "c.toml", 2, "change", "")
    extra = Edit((("c.toml", "[a]\nn = 5\n[b]\nn = 4\n"),), "c.toml", 2, "change", "")
    kept = Edit((("c.toml", "[a]\nn = 5 # was 3\n[b]\nn = 3\n"),), "c.toml", 2, "change", "")
    assert confirms(good, intents, files)
    assert not confirms(extra, intents, files) and not confirms(kept, intents, files)
    _, out = top(files, "the a n should be 5, not 3")
    assert out == {"c.toml": "[a]\nn = 5\n[b]\nn = 3\n"}
