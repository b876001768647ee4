"""Read a plain request ("set the port in settings.ini to 9090") into Intents."""

from __future__ import annotations

import re

from .base import Intent
from .phrases import change_intents

_EXTS = ("ini cfg conf config toml yaml yml json json5 md markdown rst txt py pyi js mjs cjs ts tsx jsx go rs "
         "java kt kts c h cc cpp hpp cs rb php sh bash zsh env properties xml html htm css scss lock gradle "
         "swift scala lua pl r sql vue svelte tf hcl dart ex exs erl hs ml clj cfg.example example").split()
_NAMES = ("VERSION", "Makefile", "makefile", "Dockerfile", "README", "LICENSE", "CHANGELOG", ".env",
          ".gitignore", "Procfile", "Gemfile", "Rakefile", "Justfile", "justfile")
_FILE = re.compile(
    r"(?<![\w/.\-])((?:[\w.\-]+/)*(?:\.?[\w\-][\w.\-]*\.(?:" + "|".join(re.escape(e) for e in _EXTS)
    + r")|(?-i:" + "|".join(re.escape(n) for n in _NAMES) + r")(?:\.\w+)?))(?![\w\-]|\.\w)", re.I)
_QUOTED = re.compile(r"(?<![\w])'([^'\n]+)'(?![\w])|\"([^\"\n]+)\"|`([^`\n]+)`")
_VERSION = re.compile(r"^v?\d+(?:\.\d+){1,3}(?:[-+.]?[0-9A-Za-z.\-+]*)?$")
_IDENT = re.compile(r"^[A-Za-z_$][\w$]*$")
_KEY = re.compile(r"^[A-Za-z_][\w\-]*(?:(?:\.|\s+)[A-Za-z_][\w\-]*){0,5}$")
_ARROW = r"(?:->|→|=>|to|into|as)"
_PH = re.compile(r"\x00(\d+)\x00")


class _Lits:
    """Quoted literals replaced by placeholders so the grammar never looks inside them."""

    def __init__(self, text: str):
        self.values: list[str] = []

        def sub(m: re.Match) -> str:
            self.values.append(next(g for g in m.groups() if g is not None))
            return f"\x00{len(self.values) - 1}\x00"

        self.text = _QUOTED.sub(sub, text)

    def value(self, s: str | None) -> tuple[str, bool]:
        """The literal behind a matched fragment and whether it was quoted."""
        s = (s or "").strip()
        m = _PH.fullmatch(s)
        if m:
            return self.values[int(m.group(1))], True
        return _PH.sub(lambda k: self.values[int(k.group(1))], s).strip().rstrip(".,;!?").strip(), False


def _files(text: str) -> tuple[str, tuple[str, ...]]:
    """Take the named files out of the request ('in x.md', 'of config.json', bare names)."""
    found: list[str] = []

    def keep(m: re.Match) -> str:
        name = m.group(2)
        if re.fullmatch(r"v?\d+(?:\.\d+)+", name) or "://" in m.string[max(0, m.start(2) - 8):m.start(2) + 3]:
            return m.group(0)
        if name not in found:
            found.append(name)
        return " "

    pat = re.compile(r"(\s*\b(?:in|of|inside|within|from|for|across)\s+(?:the\s+)?(?:file\s+)?)?"
                     + _FILE.pattern + r"(\s+file\b)?", re.I)
    text = re.sub(r"(?<![\w/.\-])\w+://\S+|[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+", lambda m: m.group(0).replace(".", "\x01"),
                  text)  # URLs and e-mail addresses are not file names
    text = pat.sub(lambda m: keep(m), text)
    # "in the readme", "out of our changelog": the document by its usual name ("update X and the
    # readme" names it beside other things, which stay in scope)
    text = re.sub(r"\s*\b(?:in|of|inside|within|from)\s+(?:the|our|its)\s+(readme|changelog)\b",
                  lambda m: (found.append(m.group(1).upper()) if m.group(1).upper() not in found else None) or " ",
                  text, flags=re.I)
    text = text.replace("\x01", ".")
    text = re.sub(r"\(\s*\)|\[\s*\]", " ", text)
    found = [f for f in found if "\x01" not in f]
    return re.sub(r"\s+", " ", text).strip(), tuple(found)


def _strip_scope(text: str) -> tuple[str, bool]:
    """Drop 'everywhere' style tails; report whether strings/comments should change too."""
    allflag = bool(re.search(r"\b(?:including|incl\.?|and|also|even)\s+(?:in\s+)?(?:the\s+)?"
                             r"(?:strings?|comments?|docstrings?|docs?)\b", text, re.I))
    text = re.sub(r"\s*\b(?:including|incl\.?|and|also|even)\s+(?:in\s+)?(?:the\s+)?(?:strings?|comments?|"
                  r"docstrings?|docs?)(?:\s+(?:and|or)\s+(?:strings?|comments?|docstrings?|docs?))*\b", " ", text,
                  flags=re.I)
    text = re.sub(r"\s*\b(?:everywhere|throughout(?:\s+the\s+\w+)?|in\s+(?:all|every)\s+(?:the\s+)?"
                  r"(?:files?|code|places?|modules?)|across\s+(?:the\s+)?(?:repo(?:sitory)?|code(?:base)?|"
                  r"project|files)|in\s+the\s+(?:repo(?:sitory)?|code(?:base)?|project)|globally|please)\b",
                  " ", text, flags=re.I)
    return re.sub(r"\s+", " ", text).strip(" .!,;"), allflag


def _version_intents(t: str, lits: _Lits, files: tuple[str, ...]) -> list[Intent]:
    m = re.match(r"^(?:bump|increment|increase|raise|up(?:date|grade)?|set|change|make)\s+(?:up\s+)?(?:the\s+)?"
                 r"(?:(?:package|project|app|library|module|release)(?:'s)?\s+)?(?:(major|minor|patch|micro)\s+)?"
                 r"version(?:\s+(?:number|string))?(?:\s+(?:from|of)\s+(\S+))?(?:\s+(?:to|->|→|=>|=|as)\s+(\S+))?$",
                 t, re.I)
    if not m:
        m = re.match(r"^(?:release|cut|tag|ship|publish|prepare)\s+(?:the\s+)?(?:(?:a|new)\s+)?(?:release\s+|version\s+)?"
                     r"()()(?:v(?=\d))?(\S+)(?:\s+release)?$", t, re.I)
    if not m and files:
        m = re.match(r"^(?:bump|update|set|change|make)\s+(?:it\s+)?()()(?:to|->|→|=)\s+(\S+)$", t, re.I)
    if not m:
        m2 = re.match(r"^(?:bump|increment)\s+(?:the\s+)?(major|minor|patch|micro)$", t, re.I)
        if not m2:
            return []
        return [Intent("version", None, "", key=m2.group(1).lower().replace("micro", "patch"), files=files)]
    part, old, new = m.group(1), m.group(2), m.group(3)
    oldv = lits.value(old)[0] if old else None
    newv = lits.value(new)[0] if new else ""
    if newv and not _VERSION.match(newv) or oldv and not _VERSION.match(oldv):
        return []
    if not newv and not part:
        if not t.lower().startswith(("bump", "increment", "increase", "raise")):
            return []
        part = "patch"
    return [Intent("version", oldv, newv, key=(part or "").lower().replace("micro", "patch") or None, files=files)]


def _typo_intents(t: str, lits: _Lits, files: tuple[str, ...]) -> list[Intent]:
    # "fix the typo in the Retention section": the section narrows where to look, not what to fix
    section = re.search(r"\s+(?:in|under)\s+the\s+([\w\s'\-]{1,40}?)\s+(?:section|chapter|heading|paragraph|part)\b",
                        t, re.I)
    if section:
        t = (t[:section.start()] + t[section.end():]).strip()
    # what the typo rule is to look for: "one" for "the typo" (a single word), and the section
    scope = ("one" if re.search(r"\b(?:the|a|one)\s+(?:typo|misspelling|misspelt\s+word|misspelled\s+word|"
                                r"spelling\s+mistake)\b(?!s)", t, re.I)
             else "") + (":" + section.group(1).strip() if section else "")
    pats = (
        r"^(?:fix|correct|repair)\s+(?:the\s+|a\s+|this\s+)?(?:typo(?:s)?|misspell(?:ing|ed\s+word)s?|"
        r"spelling(?:\s+(?:mistake|error)s?)?|spelling\s+of)\s*(?:of\s+|:\s*|in\s+the\s+word\s+)?"
        r"(?P<old>[^\s:]+)?(?:\s+(?:to|->|→|=>|with|as|into)\s+(?P<new>\S+))?$",
        r"^(?P<old>\S+)\s+is\s+(?:a\s+typo|misspelled|misspelt)(?:[,;]?\s+(?:it\s+)?should\s+be\s+(?P<new>\S+))?$",
        r"^(?:fix|correct)\s+(?:the\s+)?(?:misspelled|misspelt)\s+(?:word\s+)?(?P<old>\S+)"
        r"(?:\s+(?:to|->|→|with)\s+(?P<new>\S+))?$",
        r"^(?:fix|correct)\s+(?P<old>\S+)\s+(?:typo|misspelling)$",
        r"^(?:\S+\s+)?(?:misspells?|misspelled|has\s+a\s+typo\s+in|gets\s+\S+\s+wrong\s*:?)\s+(?:the\s+word\s+)?"
        r"(?P<new>\S+?)(?P<old>)(?:\s*,.*|\s+\S+\s+it)?$",
        r"^(?:the\s+word\s+)?(?P<old>\S+)\s+is\s+(?:misspelled|misspelt|spelled\s+wrong(?:ly)?)(?:\s+(?:in\s+)?.*)?$",
    )
    for p in pats:
        m = re.match(p, t, re.I)
        if m:
            old = lits.value(m.group("old"))[0] if m.group("old") else None
            new = lits.value(m.group("new"))[0] if m.group("new") else ""
            if old is None and new and not files:
                return []
            if old and old.lower() in ("in", "the", "typo", "typos", "spelling", "mistakes"):
                old = None
            if old is None and not files:
                return []
            return [Intent("typo", old, new, key=(scope or None) if old is None else None, files=files)]
    if (files or section) and re.fullmatch(
            r"(?:(?:there'?s|there\s+is|there\s+are|i\s+(?:found|see|spotted)|we\s+have|found)\s+)?"
            r"(?:a|an|one|some|the|two|three|few|a\s+few)?\s*(?:typos?|misspel\w*(?:\s+words?)?|"
            r"spelling\s+(?:mistakes?|errors?))(?:\s+(?:in\s+)?(?:it|there|here))?", t.strip(" .!?"), re.I):
        # "typo in the install section of the README", "there's a misspelled word in docs.md"
        return [Intent("typo", None, "", key=scope or None, files=files)]
    return []


def _default_intents(t: str, lits: _Lits, files: tuple[str, ...]) -> list[Intent]:
    """"make F use V as its default X" / "F should use V as the default X": a parameter default."""
    m = re.match(r"^(?:make\s+)?(?P<f>[A-Za-z_$][\w$.]*)(?:\(\))?\s+(?:should\s+)?use\s+(?P<v>\S+)\s+as\s+"
                 r"(?:its|the|a)\s+(?:default\s+)?(?P<k>[\w\-]+)$", t, re.I)
    if not m:
        m = re.match(r"^(?:make|set)\s+(?:the\s+)?default\s+(?P<k>[\w\-]+)\s+(?:of|for|in)\s+(?P<f>[A-Za-z_$][\w$.]*)"
                     r"(?:\(\))?\s+(?:to\s+|be\s+)?(?P<v>\S+)$", t, re.I)
    if not m:
        return []
    new = lits.value(m.group("v"))[0]
    return [Intent("change", None, new, key=f"{m.group('f')} {m.group('k')}", files=files)] if new else []


def _rename_intents(t: str, lits: _Lits, files: tuple[str, ...], allflag: bool) -> list[Intent]:
    m = re.match(r"^(?:rename|refactor)\s+(?:the\s+)?(?:(?:python|js|global|module[- ]level|private|public)\s+)?"
                 r"(?:(?:constant|const|function|func|fn|class|method|variable|var|field|attribute|attr|property|"
                 r"identifier|symbol|type|struct|enum|interface|parameter|param|argument|module|name|def)\s+)?"
                 r"(?P<old>\S+)\s+" + _ARROW + r"\s+(?:be\s+)?(?P<new>\S+)$", t, re.I)
    if not m:
        m = re.match(r"^(?:change|replace)\s+(?:the\s+)?(?:constant|function|class|method|variable|identifier|"
                     r"attribute|field)\s+(?:name\s+)?(?P<old>\S+)\s+(?:to|with|->|→)\s+(?P<new>\S+)$", t, re.I)
    if not m:
        return _rename_value(t, lits, files)
    old, new = lits.value(m.group("old"))[0], lits.value(m.group("new"))[0]
    old, new = old.rstrip("()"), new.rstrip("()")
    if not (_IDENT.match(old) and _IDENT.match(new)) or old == new:
        return _rename_value(t, lits, files)
    return [Intent("rename", old, new, key="all" if allflag else None, files=files)]


def _rename_value(t: str, lits: _Lits, files: tuple[str, ...]) -> list[Intent]:
    """"rename the npm package to @acme/x", "rename the project to foo": the thing's `name` key."""
    m = re.match(r"^rename\s+(?:the|our|this|my)\s+(?P<thing>[\w\-' ]+?)\s+(?:to|as|into)\s+(?P<new>\S+)$", t, re.I)
    if not m:
        return []
    new = lits.value(m.group("new"))[0]
    thing = re.sub(r"(?<=\w)'s\b", "", m.group("thing")).strip()
    if not new or not thing:
        return []
    return [Intent("set", None, new, key=thing + " name", files=files)]


# what follows an unquoted value and is not part of it: a bracketed aside, or a clause saying why
# or for how long
_AFTERWORD = re.compile(r"\s*\([^()]*\)\s*$|\s+(?:while|because|since|until|unless|so\s+that|so\s+we|for\s+now|"
                        r"as\s+we|as\s+it|for\s+the\s+time\s+being)\b.*$", re.I)


def _set_intents(t: str, lits: _Lits, files: tuple[str, ...]) -> list[Intent]:
    m = re.match(r"^(?P<verb>set|change|update|modify|switch|make|configure|turn|bump|increase|decrease|raise|lower|"
                 r"upgrade|downgrade|pin|reduce)"
                 r"\s+(?P<the>the\s+)?(?:value\s+(?:of|for)\s+(?:the\s+)?)?(?P<key>.+?)"
                 r"(?:\s+(?:setting|option|value|key|field|entry|param(?:eter)?|variable|config))?"
                 r"(?:\s+(?:from|currently)\s+(?P<old>\S+?))?\s*(?:\s(?:to|->|→|=>|as|into)\s+|\s*=\s*|:\s+|\s+(?=\x00))"
                 r"(?P<new>.+)$", t, re.I)
    if not m:
        m = re.match(r"^(?P<verb>turn|switch)\s+(?P<the>the\s+)?(?P<key>.+?)\s+(?P<old>)(?P<new>on|off)$", t, re.I)
    if not m:
        m = re.match(r"^(?P<verb>)(?P<the>)(?P<key>[A-Za-z_][\w.\-]*)\s*(?:=|:)\s*(?P<old>)(?P<new>\S+)$", t)
    if not m:
        return []
    keytext, quoted_key = lits.value(m.group("key"))
    new, quoted = lits.value(m.group("new"))
    if not quoted:  # "to DEBUG while we chase the stall", "to 0.5.0 (pyproject and __init__)"
        new = _AFTERWORD.sub("", new).strip()
    old = lits.value(m.group("old"))[0] if m.group("old") else None
    keytext = re.sub(r"\s+(?:setting|option|value|key|field|entry)$", "", keytext, flags=re.I)
    if not quoted_key:
        keytext = re.sub(r"(?<=\w)'s\b", "", keytext)
        keytext = re.sub(r"\s+(?:of|for|in|on)\s+(?:the\s+|a\s+|an\s+)?|\s+the\s+", " ", keytext, flags=re.I).strip()
    if m.group("verb").lower() in ("turn", "switch") and new.lower() in ("on", "off"):
        new = "true" if new.lower() == "on" else "false"
    if not new or not keytext:
        return []
    key_ok = bool(_KEY.match(keytext)) or quoted_key and "\n" not in keytext
    verb = m.group("verb").lower()
    out: list[Intent] = []
    if key_ok and (verb in ("set", "configure", "turn", "") or m.group("the") or files or not quoted_key):
        path = keytext if "." in keytext and " " not in keytext else keytext
        out.append(Intent("set", old, new, key=path, files=files))
    if verb in ("change", "update", "modify", "switch", "make") and not m.group("the") and not old:
        if quoted_key or not key_ok:
            out.append(Intent("replace", keytext, new, files=files))
        elif not quoted and verb != "make":
            out.append(Intent("replace", keytext, new, files=files))
    return out


def _replace_intents(t: str, lits: _Lits, files: tuple[str, ...]) -> list[Intent]:
    pats = (
        r"^(?:replace|swap|substitute|change|switch|update)\s+(?:all\s+)?(?:(?:the\s+)?(?:occurrences?|instances?|"
        r"mentions?|uses?)\s+of\s+)?(?:the\s+(?:text|string|word|url|link|literal)\s+)?(?P<old>.+?)\s+"
        r"(?:with|by|for|->|→|=>|to|into)\s+(?P<new>.+)$",
        r"^(?P<old>\S+)\s*(?:->|→|=>)\s*(?P<new>\S+)$",
        r"^s/(?P<old>[^/]+)/(?P<new>[^/]*)/g?$",
    )
    for p in pats:
        m = re.match(p, t, re.I)
        if m:
            old, _ = lits.value(m.group("old"))
            new, _ = lits.value(m.group("new"))
            if old and old != new and len(old) <= 400:
                return [Intent("replace", old, new, files=files)]
    return []


def extract(request: str) -> list[Intent]:
    """The intents a plain request states; [] when it states none these rules know."""
    try:
        return _extract(request)
    except Exception:  # noqa: BLE001 - odd input never raises
        return []


_MORE = re.compile(r"(?:,\s*(?:and\s+)?|\s+and\s+)(?=(?:(?:set|change|make|put)\s+)?(?:the\s+|its\s+|his\s+|her\s+)?"
                   r"[\w.\-]+(?:\s+[\w.\-]+){0,3}\s+to\s+\S)", re.I)


def _settings_list(clause: str) -> list[str]:
    """"set the period end to 2023-12-31 and min_coverage to 0.9" as two clauses, each with the
    verb; one clause when it holds one "to" (a value may say "and": "set the title to Tom and Jerry")."""
    m = re.match(r"^(set|change|make|update|put)\s", clause, re.I)
    if not m or len(re.findall(r"\sto\s", clause)) < 2:
        return [clause]
    parts = [p.strip() for p in _MORE.split(clause) if p.strip()]
    verb = m.group(1)
    return [p if re.match(r"^(?:set|change|make|update|put)\s", p, re.I) else f"{verb} {p}" for p in parts]


def _extract(request: str) -> list[Intent]:
    if not isinstance(request, str) or not request.strip():
        return []
    lits = _Lits(request.strip())
    text, files = _files(lits.text)
    text, allflag = _strip_scope(text)
    text = re.sub(r"^(?:(?:please|pls|can you|could you|would you|kindly|now|then|ok|okay),?\s+)+", "", text,
                  flags=re.I).strip(" .!?")
    out: list[Intent] = []
    clauses = [c for part in re.split(r"\s*(?:;|,?\s+and\s+then\s+|,?\s+then\s+|\.\s+)\s*", text)
               for c in _settings_list(part)]
    for clause in clauses:
        clause = clause.strip(" .!?,")
        if not clause:
            continue
        got = (_version_intents(clause, lits, files) or _typo_intents(clause, lits, files)
               or _rename_intents(clause, lits, files, allflag) or _default_intents(clause, lits, files))
        plain = not got
        if not got and re.match(r"^(?:replace|swap|substitute|s/)", clause, re.I):
            got = _replace_intents(clause, lits, files)
        if not got:
            got = _set_intents(clause, lits, files)
            if got and got[0].kind == "set" and (got[0].key or "").lower().rstrip("s") == "version" \
                    and _VERSION.match(got[0].new):
                got = [Intent("version", got[0].old, got[0].new, files=files)]
        if not got:
            got = _replace_intents(clause, lits, files)
        if plain:
            try:
                got = list(got) + [i for i in change_intents(clause, lits, files) if i not in got]
            except Exception:  # noqa: BLE001
                pass
        for it in got:
            if it not in out:
                out.append(it)
    return out
