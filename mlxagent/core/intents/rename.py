"""Identifier renames through every reference: whole identifiers only; Python via `tokenize`
(strings and comments untouched unless asked), other languages via word-boundary matching outside
string literals and comments."""

from __future__ import annotations

import io
import re
import tokenize

from .base import Edit, Intent, file_matches, first_changed_line, short, splice

CODE_EXTS = {"py", "pyi", "js", "mjs", "cjs", "jsx", "ts", "tsx", "go", "rs", "java", "kt", "kts", "c", "h", "cc",
             "cpp", "cxx", "hpp", "hh", "cs", "rb", "php", "swift", "scala", "lua", "sh", "bash", "zsh", "dart",
             "vue", "svelte", "pl", "r", "m", "mm", "ex", "exs", "erl", "hs", "ml", "clj", "groovy", "sql"}
HASH_COMMENT = {"py", "pyi", "rb", "sh", "bash", "zsh", "pl", "r", "ex", "exs"}
DOC_EXTS = {"md", "markdown", "rst", "txt", "adoc"}


def ext_of(path: str) -> str:
    name = path.rsplit("/", 1)[-1]
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""


def _offsets(text: str) -> list[int]:
    starts, pos = [0], 0
    for line in text.split("\n")[:-1]:
        pos += len(line) + 1
        starts.append(pos)
    return starts


def _word(name: str) -> re.Pattern:
    return re.compile(r"(?<![\w$])" + re.escape(name) + r"(?![\w$])")


def python_spans(text: str, name: str, strings: bool = False) -> list[tuple[int, int]] | None:
    """Spans of `name` as a NAME token (and, with strings=True, whole words inside strings and
    comments); names inside f-string replacement fields count as code. None if tokenize fails."""
    starts = _offsets(text)
    spans: list[tuple[int, int]] = []
    pat = _word(name)
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text, newline="").readline):
            (r, c), (r2, c2) = tok.start, tok.end
            if r - 1 >= len(starts):
                continue
            base = starts[r - 1] + c
            if tok.type == tokenize.NAME and tok.string == name:
                spans.append((base, base + len(name)))
            elif tok.type in (tokenize.STRING, tokenize.COMMENT) and name in tok.string:
                prefix = re.match(r"[A-Za-z]*", tok.string).group().lower()
                if strings:
                    spans += [(base + m.start(), base + m.end()) for m in pat.finditer(tok.string)]
                elif tok.type == tokenize.STRING and "f" in prefix:
                    for field in re.finditer(r"(?<!\{)\{([^{}]*)\}", tok.string):
                        for m in pat.finditer(field.group(1)):
                            if field.group(1)[:m.start()].count("'") % 2 == 0 and \
                                    field.group(1)[:m.start()].count('"') % 2 == 0:
                                s = base + field.start(1) + m.start()
                                spans.append((s, s + len(name)))
    except (tokenize.TokenError, IndentationError, SyntaxError, ValueError):
        return None
    return spans


def _mask(text: str, ext: str) -> str:
    """text with string literals and comments blanked (same length), approximately per language."""
    out = list(text)
    i, n = 0, len(text)
    hash_c = ext in HASH_COMMENT or ext in ("php",)
    slash_c = ext not in HASH_COMMENT or ext == "php"
    quotes = "\"'`" if ext in ("js", "mjs", "cjs", "jsx", "ts", "tsx", "go", "vue", "svelte", "sh", "bash", "zsh") \
        else "\"'"
    while i < n:
        c = text[i]
        if slash_c and text.startswith("//", i) or hash_c and c == "#" or ext == "sql" and text.startswith("--", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
        elif slash_c and text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
        elif c in quotes:
            if c == "'" and ext == "rs" and not re.match(r"'(?:\\.|[^\\'])'", text[i:i + 4]):
                i += 1
                continue
            j = i + 1
            keep: list[tuple[int, int]] = []
            while j < n and text[j] != c and (text[j] != "\n" or c == "`"):
                if c == "`" and text.startswith("${", j):
                    k, depth = j + 2, 1
                    while k < n and depth:
                        depth += {"{": 1, "}": -1}.get(text[k], 0)
                        k += 1
                    keep.append((j + 2, k - 1))
                    j = k
                    continue
                j += 2 if text[j] == "\\" else 1
            j = min(n, j + 1)
            for k in range(i, j):
                if out[k] not in "\r\n" and not any(a <= k < b for a, b in keep):
                    out[k] = " "
            i = j
            continue
        else:
            i += 1
            continue
        for k in range(i, j):
            if out[k] not in "\r\n":
                out[k] = " "
        i = j
    return "".join(out)


def code_spans(path: str, text: str, name: str, strings: bool = False,
               before: str | None = None) -> list[tuple[int, int]]:
    """Whole-identifier occurrences of `name` in one file, honouring the file's language. Where the
    file (`before` an edit, if given) defines the name at its top, `obj.name` is not one of them."""
    if name not in text:
        return []
    ext = ext_of(path)
    spans = None
    if ext in ("py", "pyi"):
        spans = python_spans(text, name, strings)
    if spans is None and ext in CODE_EXTS and not strings:
        spans = [(m.start(), m.end()) for m in _word(name).finditer(_mask(text, ext))]
    if spans is None:
        return [(m.start(), m.end()) for m in _word(name).finditer(text)]
    if ext in CODE_EXTS and _module_level(text if before is None else before, name):
        spans = [(s, e) for s, e in spans if not text[:s].rstrip(" \t").endswith(".")]
    return spans


def _module_level(text: str, name: str) -> bool:
    """This file defines `name` at its top (def, class, function, a variable) and nowhere as a
    member (an indented def, `x.name = `, a class attribute): then its `obj.name` is another
    thing's (`hashlib.sha256()` beside a helper `def sha256`), not a reference."""
    n = re.escape(name)
    top = re.compile(r"^(?:export\s+)?(?:async\s+)?(?:def|class|function|const|let|var)\s+" + n + r"\b|^" + n +
                     r"\s*(?::[^=\n]*)?=", re.M)
    member = re.compile(r"^[ \t]+(?:async\s+)?(?:def\s+)?" + n + r"\s*(?:\(|[:=])|\." + n + r"\s*=(?!=)", re.M)
    return bool(top.search(text)) and not member.search(text)


def _apply(files: dict[str, str], paths: list[str], old: str, new: str, strings: bool) -> list[tuple[str, str]]:
    changed = []
    for path in paths:
        text = files[path]
        spans = code_spans(path, text, old, strings)
        if not spans:
            continue
        changed.append((path, splice(text, [(s, e, new) for s, e in set(spans)])))
    return changed


def _definition(changed: list[tuple[str, str]], files: dict[str, str], old: str) -> str:
    pat = re.compile(r"^\s*(?:export\s+)?(?:async\s+)?(?:def|class|function|func|fn|const|let|var|struct|enum|type|"
                     r"interface)\s+" + re.escape(old) + r"\b|^\s*" + re.escape(old) + r"\s*(?::[^=]*)?=", re.M)
    for path, _ in changed:
        if pat.search(files[path]):
            return path
    return changed[0][0]


def rename_candidates(files: dict[str, str], intent: Intent) -> list[Edit]:
    old, new = intent.old or "", intent.new
    if not re.fullmatch(r"[A-Za-z_$][\w$]*", old) or not re.fullmatch(r"[A-Za-z_$][\w$]*", new):
        return []
    texts = {p: t for p, t in files.items() if isinstance(t, str)}
    named = [p for p in sorted(texts) if any(file_matches(p, n) for n in intent.files)]
    code = [p for p in sorted(texts) if ext_of(p) in CODE_EXTS]
    docs = [p for p in sorted(texts) if ext_of(p) in DOC_EXTS]
    asked = intent.key == "all"
    plans = []
    if named:
        plans.append((named, asked, 0.95, "named files"))
        plans.append((sorted(set(named) | set(code)), asked, 0.7, "code"))
    else:
        plans.append((code, asked, 0.9, "code"))
        plans.append((code, not asked, 0.55 if not asked else 0.5,
                      "code + strings/comments" if not asked else "code only"))
        plans.append((sorted(set(code) | set(docs)), asked, 0.6, "code + docs"))
    clash = any(code_spans(p, texts[p], new) for p in code)
    out: list[Edit] = []
    for paths, strings, prior, what in plans:
        changed = _apply(texts, paths, old, new, strings)
        if not changed:
            continue
        if clash:
            prior -= 0.2
        main = _definition(changed, texts, old)
        after = dict(changed)[main]
        py = all(ext_of(p) in ("py", "pyi") for p, _ in changed)
        rule = "rename-python" if py else "rename"
        out.append(Edit(tuple(sorted(changed)), main, first_changed_line(texts[main], after), rule,
                        f"rename {old} → {new} in {short(', '.join(p for p, _ in changed), 60)} ({what})",
                        round(prior, 3)))
    return out
