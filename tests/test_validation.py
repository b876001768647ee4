"""The syntax gate (mlxagent.core.validation): real parsers, no mocks."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from mlxagent.core.validation import SyntaxIssue, kind_of, parse_issues, syntax_problem

PACKAGE = Path(__file__).resolve().parent.parent / "mlxagent" / "core" / "validation"

# kind: (file name, good text, broken text, line of the first issue in the broken text)
CASES = {
    "python": ("app.py", "def f(x):\n    return x + 1\n", "def f(x):\n    return x +\n", 2),
    "json": ("data.json", '{"a": [1, 2],\n "b": null}\n', '{"a": [1, 2],\n "b" null}\n', 2),
    "toml": ("pyproject.toml", '[project]\nname = "x"\n', '[project]\nname = "x"\nversion = \n', 3),
    "yaml": ("ci.yml", "a:\n  b: 1\n  c: [1, 2]\n", "a:\n  b: 1\n c: 2\n", 3),
    "ini": ("setup.cfg", "[metadata]\nname = x\n", "[metadata]\nname = x\nthis is not ini\n", 3),
    "javascript": ("app.js", "function f(x) {\n  return x + 1;\n}\n", "function f(x) {\n  return x + ;\n}\n", 2),
    "typescript": ("app.ts", "const x: number = 1;\n", "const x: number = 1;\nlet y: = 2;\n", 2),
    "tsx": ("view.tsx", "const v = <div>{x}</div>;\n", "const v = <div>{x}</div>;\nconst w = (<span>;\n", 2),
    "go": ("main.go", "package main\n\nfunc main() {\n}\n", "package main\n\nfunc main() {\n\tx := \n}\n", 4),
    "rust": ("lib.rs", "fn f() -> i32 {\n    1\n}\n", "fn f() -> i32 {\n    let = 1;\n}\n", 2),
    "java": ("A.java", "class A {\n  int f() { return 1; }\n}\n", "class A {\n  int f() { return 1 }\n}\n", 2),
    "c": ("m.c", "int main(void) {\n  return 0;\n}\n", "int main(void) {\n  return 0\n}\n", 2),
    "cpp": ("m.cpp", "int main() {\n  return 0;\n}\n", "int main() {\n  return (0;\n}\n", 2),
    "ruby": ("a.rb", "def f(x)\n  x + 1\nend\n", "def f(x)\n  x + 1\nend\nfoo(1, \n", 4),
    "bash": ("run.sh", "for i in 1 2; do\n  echo $i\ndone\n", "for i in 1 2; do\n  echo $i\ndone |\n", 3),
    "csharp": ("A.cs", "class A {\n  void F() { var x = 1; }\n}\n", "class A {\n  void F() { var x = 1 }\n}\n", 2),
    "php": ("a.php", "<?php\nfunction f($a) { return $a; }\n", "<?php\nfunction f($a) { return $a + ; }\n", 2),
    "css": ("a.css", "a {\n  color: red;\n}\n", "a {\n  color: red;\n.b { margin: }\n", 3),
    "html": ("a.html", "<html>\n<body><p>x</p></body>\n</html>\n", "<html>\n<body><p>x</p></body>\n</html>\n</div>\n", 4),
}


@pytest.mark.parametrize("kind", sorted(CASES))
def test_kind_of_names_the_parser(kind):
    assert kind_of(CASES[kind][0]) == kind


@pytest.mark.parametrize("kind", sorted(CASES))
def test_a_good_file_parses(kind):
    name, good, _, _ = CASES[kind]
    assert parse_issues(name, good.encode()) == []


@pytest.mark.parametrize("kind", sorted(CASES))
def test_a_broken_file_has_an_issue_at_the_right_line(kind):
    name, _, broken, line = CASES[kind]
    issues = parse_issues(name, broken.encode())
    assert issues, f"{kind}: no issue found"
    assert all(isinstance(issue, SyntaxIssue) for issue in issues)
    assert issues[0].line == line, issues
    assert issues[0].message and "\n" not in issues[0].message


def test_issue_fields_are_one_based():
    [issue] = parse_issues("a.py", b"x = 1\ny = (\n")
    assert (issue.line, issue.column) == (2, 5)
    [issue] = parse_issues("a.json", b'{"a": 1,\n  "b" 2}')
    assert (issue.line, issue.column) == (2, 7)
    [issue] = parse_issues("a.yaml", b"a: b\n  c: d\n")
    assert issue.line == 2 and issue.column >= 1
    [issue] = parse_issues("a.toml", b"a = 1\nb = \n")
    assert (issue.line, issue.column) == (2, 5)
    assert "(at line" not in issue.message


def test_tree_sitter_columns_count_characters_not_bytes():
    issues = parse_issues("a.js", 'const s = "éé"; foo(;\n'.encode())
    assert issues[0].line == 1
    assert issues[0].column == 21


def test_tree_sitter_missing_token_is_named():
    issues = parse_issues("a.js", b"let x = (1;\n")
    assert any(issue.message == "missing ')'" for issue in issues), issues


def test_header_files_may_be_cpp():
    assert kind_of("include/a.h") == "c"
    assert parse_issues("a.h", b"#pragma once\nclass A { public: int f() const; };\n") == []


def test_json_with_comments_files_are_not_judged():
    assert kind_of("tsconfig.json") is None
    assert kind_of(".vscode/settings.json") is None
    assert kind_of("package.json") == "json"


def test_empty_json_is_an_issue():
    assert parse_issues("a.json", b"") == [SyntaxIssue(1, 1, "empty file")]
    assert parse_issues("a.json", b"  \n") == [SyntaxIssue(1, 1, "empty file")]


def test_yaml_custom_tags_are_not_syntax_errors():
    assert parse_issues("stack.yaml", b"Value: !Ref Bucket\nList: !GetAtt [a, b]\n") == []
    assert parse_issues("a.yaml", b"a: 1\n---\nb: 2\n") == []
    [issue] = parse_issues("a.yaml", b"a: *missing\n")
    assert issue.line == 1


def test_ini_without_a_section_header():
    [issue] = parse_issues("tox.ini", b"a = 1\n")
    assert issue.message == "missing section header"


@pytest.mark.parametrize("name", ["notes.md", "README", "a.txt", "image.png", "Makefile", ""])
def test_files_without_a_parser(name):
    assert kind_of(name) is None
    assert parse_issues(name, b"anything (") is None
    assert syntax_problem(name, b"x", b"anything (") is None


def test_binary_and_undecodable_data_have_no_parser():
    assert parse_issues("a.py", b"\xff\xfe\x00broken(") is None
    assert parse_issues("a.py", b"x = '\xff'\n") is None
    assert parse_issues("a.js", b"foo(\x00") is None
    assert syntax_problem("a.py", b"x = 1\n", b"x = (\xff\n") is None


def test_python_with_crlf_and_bom_parses():
    assert parse_issues("win.py", b"x = 1\r\nif x:\r\n    y = 2\r\n") == []
    assert parse_issues("bom.py", b"\xef\xbb\xbfx = 1\n") == []
    assert parse_issues("bom.json", b'\xef\xbb\xbf{"a": 1}') == []


def test_bad_input_never_raises():
    for name in ["a.py", "a.json", "a.toml", "a.yaml", "a.ini", "a.js", "a.html", None, 3]:
        for data in [b"", b"(" * 100_000, b"[" * 100_000, "ü".encode(), None, "text", 12]:
            result = parse_issues(name, data)  # type: ignore[arg-type]
            assert result is None or isinstance(result, list)
            problem = syntax_problem(name, data, data + b"(" if isinstance(data, bytes) else data)  # type: ignore
            assert problem is None or isinstance(problem, str)


# ---- the gate ----

def test_an_edit_that_keeps_the_file_parseable_passes():
    assert syntax_problem("app.py", b"x = 1\n", b"x = 2\n") is None
    assert syntax_problem("app.js", b"let x = 1;\n", b"let x = 2;\n") is None


def test_an_edit_that_breaks_a_parseable_file_is_refused():
    before = b"def f():\n    return 1\n\n\ndef g():\n    return 2\n"
    after = b"def f():\n    return 1\n\n\ndef g(:\n    return 2\n"
    problem = syntax_problem("pkg/app.py", before, after)
    assert problem is not None
    assert problem.startswith("pkg/app.py:5:")
    assert "parsed before" in problem
    assert "\n" not in problem and len(problem) <= 300


@pytest.mark.parametrize("kind", sorted(CASES))
def test_every_kind_refuses_breaking_a_good_file(kind):
    name, good, broken, line = CASES[kind]
    problem = syntax_problem(name, good.encode(), broken.encode())
    assert problem is not None and problem.startswith(f"{name}:{line}"), problem


def test_a_new_broken_file_is_refused_and_a_new_good_one_passes():
    problem = syntax_problem("new.json", None, b'{"a": }')
    assert problem is not None and problem.startswith("new.json:1:")
    assert syntax_problem("new.json", None, b'{"a": 1}') is None


def test_a_broken_file_staying_broken_the_same_way_passes():
    before = b"x = 1\ny = (\n"
    after = b"x = 2\ny = (\n"
    assert syntax_problem("app.py", before, after) is None


def test_an_old_error_moved_by_inserted_lines_is_not_new():
    before = b"function f() {\n  return 1\n}\nlet x = (1;\n"
    after = b"// a comment\n// another\nfunction f() {\n  return 2\n}\nlet x = (1;\n"
    assert syntax_problem("app.js", before, after) is None


def test_a_new_error_in_a_broken_file_is_refused():
    before = b"x = 1 +\ny = 2\nz = 3\n"
    after = b"x = 1\ny = 2\nz = 3 +\n"  # the old line 1 is fine now, line 3 broke
    problem = syntax_problem("app.py", before, after)
    assert problem is not None and "new syntax error" in problem
    assert problem.startswith("app.py:3:")


def test_more_errors_in_a_broken_file_are_refused():
    before = b"let a = (1;\nlet b = 2;\nlet c = 3;\n"
    after = b"let a = (1;\nlet b = 2;\nlet c = [3;\n"
    problem = syntax_problem("app.js", before, after)
    assert problem is not None and "new syntax error" in problem
    assert problem.startswith("app.js:3:")


def test_ini_still_without_a_header_is_not_new():
    assert syntax_problem("tox.ini", b"a = 1\n", b"# note\na = 2\nb = 3\n") is None


def test_identical_content_passes():
    assert syntax_problem("app.py", b"x = (\n", b"x = (\n") is None


# ---- the domain layer imports nothing outside mlxagent.core ----

def _imports(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                names.append(node.module or "")
            else:  # relative: resolve against mlxagent.core.validation
                base = "mlxagent.core.validation".split(".")[: 4 - node.level]
                names.append(".".join(base + ([node.module] if node.module else [])))
    return names


def test_validation_modules_import_nothing_outside_core():
    modules = sorted(PACKAGE.glob("*.py"))
    assert len(modules) >= 3
    for module in modules:
        for name in _imports(module):
            top = name.split(".")[0]
            assert top not in ("textual", "rich"), f"{module.name} imports {name}"
            if top == "mlxagent":
                assert name.startswith("mlxagent.core"), f"{module.name} imports {name}"


def test_validation_modules_stay_small():
    for module in PACKAGE.glob("*.py"):
        assert len(module.read_text(encoding="utf-8").splitlines()) <= 600, module.name
