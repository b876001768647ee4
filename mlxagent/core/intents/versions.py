"""Version bumps: find the project's version wherever it is declared and change every declaration
of the old version together."""

from __future__ import annotations

import re

from .base import Edit, Intent, file_matches, first_changed_line, line_text, short, splice, split_lines
from .structured import scan_json, scan_toml, scan_ini

_V = r"v?\d+(?:\.\d+){1,3}(?:[-+][0-9A-Za-z.\-+]+|(?:a|b|rc|dev|post)\d*)?"
_VERSION = re.compile(_V)
_SKIP = re.compile(r"(?:^|/)(?:changelog|changes|history|news|release[-_]?notes)[^/]*$|(?:^|/)(?:package-lock\.json|"
                   r"yarn\.lock|poetry\.lock|pnpm-lock\.yaml|cargo\.lock|uv\.lock|pipfile\.lock)$", re.I)


def _bound(v: str) -> re.Pattern:
    return re.compile(r"(?<![\w.])" + re.escape(v) + r"(?![\w]|\.\d)")


def declared(files: dict[str, str]) -> list[tuple[str, int, int, str, int]]:
    """(path, start, end, version, weight) for each declaration of the project version."""
    out = []
    for path in sorted(files):
        text = files[path]
        if not isinstance(text, str) or _SKIP.search(path):
            continue
        name = path.rsplit("/", 1)[-1].lower()
        try:
            if name in ("pyproject.toml", "cargo.toml") or name.endswith(".toml") and name != "poetry.toml":
                for e in scan_toml(text):
                    if e.path in (["project", "version"], ["tool", "poetry", "version"], ["package", "version"],
                                  ["workspace", "package", "version"]) or e.path == ["version"]:
                        out.append((path, e.start + 1, e.end - 1, e.raw.strip("\"'"), 3))
            elif name == "setup.cfg":
                for e in scan_ini(text):
                    if e.path == ["metadata", "version"] and _VERSION.fullmatch(e.raw):
                        out.append((path, e.start, e.end, e.raw, 3))
            elif name in ("package.json", "composer.json", "manifest.json", "app.json", "bower.json"):
                for e in scan_json(text):
                    if e.path == ["version"] and e.raw.startswith('"'):
                        out.append((path, e.start + 1, e.end - 1, e.raw[1:-1], 3 if name == "package.json" else 2))
            elif name in ("version", "version.txt", "release"):
                m = re.match(r"\s*(" + _V + r")\s*$", text)
                if m:
                    out.append((path, m.start(1), m.end(1), m.group(1), 3))
            elif name.endswith(".py"):
                for m in re.finditer(r"^(?:__version__|VERSION|version)\s*(?::\s*str\s*)?=\s*([\"'])(" + _V + r")\1",
                                     text, re.M):
                    out.append((path, m.start(2), m.end(2), m.group(2), 3 if "__version__" in m.group(0) else 2))
                if name == "setup.py":
                    for m in re.finditer(r"\bversion\s*=\s*([\"'])(" + _V + r")\1", text):
                        out.append((path, m.start(2), m.end(2), m.group(2), 3))
            elif name.endswith((".js", ".ts", ".rb", ".go", ".rs", ".gradle", ".kts")):
                for m in re.finditer(r"(?i)\b(?:__version__|version|VERSION)\b\s*[:=]+\s*([\"'])(" + _V + r")\1", text):
                    out.append((path, m.start(2), m.end(2), m.group(2), 1))
        except Exception:  # noqa: BLE001
            continue
    return out


def bump(version: str, part: str) -> str:
    m = re.match(r"^(v?)(\d+)(?:\.(\d+))?(?:\.(\d+))?(.*)$", version)
    if not m:
        return version
    pre, nums, rest = m.group(1), [int(g) if g else None for g in m.groups()[1:4]], m.group(5)
    count = sum(1 for n in nums if n is not None)
    major, minor, patch = (n or 0 for n in nums)
    if part == "major":
        major, minor, patch = major + 1, 0, 0
    elif part == "minor":
        minor, patch = minor + 1, 0
    else:
        patch = (patch + 1) if not rest or count >= 3 else patch
        if count < 3 and part == "patch":
            count = 3
    return pre + ".".join(str(x) for x in (major, minor, patch)[:max(count, 2)])


def current(files: dict[str, str], named: tuple[str, ...] = ()) -> str | None:
    decl = declared(files)
    if named:
        scoped = [d for d in decl if any(file_matches(d[0], n) for n in named)]
        decl = scoped or decl
    if not decl:
        return None
    score: dict[str, int] = {}
    for d in decl:
        score[d[3]] = score.get(d[3], 0) + d[4]
    return max(score, key=lambda v: score[v])


def target(files: dict[str, str], intent: Intent) -> tuple[str | None, str]:
    old = intent.old or current(files, intent.files)
    if old and intent.old is None and intent.new and old.startswith("v") != intent.new.startswith("v"):
        new = intent.new if old.startswith("v") == intent.new.startswith("v") else \
            ("v" + intent.new if old.startswith("v") else intent.new.lstrip("v"))
        return old, new
    new = intent.new or (bump(old, intent.key or "patch") if old else "")
    return old, new


def version_candidates(files: dict[str, str], intent: Intent) -> list[Edit]:
    old, new = target(files, intent)
    if not old or not new or old == new:
        return []
    decl = [d for d in declared(files) if d[3] == old]
    spans: dict[str, set[tuple[int, int]]] = {}
    for path, s, e, _, _ in decl:
        spans.setdefault(path, set()).add((s, e))
    pat = _bound(old)
    wide: dict[str, set[tuple[int, int]]] = {p: set(v) for p, v in spans.items()}
    for path, text in files.items():
        if not isinstance(text, str) or _SKIP.search(path) or old not in text:
            continue
        for start, line, _ in split_lines(text):
            if re.search(r"(?i)version|release|__version__", line) and not re.search(r"[<>=~^!]=?\s*" + re.escape(old)
                                                                                     + r"|@" + re.escape(old), line):
                for m in pat.finditer(line):
                    wide.setdefault(path, set()).add((start + m.start(), start + m.end()))
    named = [p for p in files if any(file_matches(p, n) for n in intent.files)]
    out: list[Edit] = []

    def make(groups: dict[str, set[tuple[int, int]]], prior: float, what: str) -> None:
        if not groups:
            return
        changed = [(path, splice(files[path], [(s, e, new) for s, e in groups[path]])) for path in sorted(groups)]
        main = next((p for p, _ in changed if p in named), None) or max(
            changed, key=lambda pc: (max((d[4] for d in decl if d[0] == pc[0]), default=0), -len(pc[0])))[0]
        before = files[main]
        after = dict(changed)[main]
        ln = first_changed_line(before, after)
        names = ", ".join(p for p, _ in changed)
        out.append(Edit(tuple(changed), main, ln, "version", f"{what} {old} → {new} in {short(names, 80)}", prior))

    make(wide, 0.95 if wide != spans else 0.9, "version")
    if wide != spans:
        make(spans, 0.8, "version (declarations)")
    everywhere: dict[str, set[tuple[int, int]]] = {}
    for path, text in files.items():
        if isinstance(text, str) and not _SKIP.search(path) and old in text:
            for m in pat.finditer(text):
                if not re.search(r"[<>=~^!]=\s*$|@$", text[max(0, m.start() - 3):m.start()]):
                    everywhere.setdefault(path, set()).add((m.start(), m.end()))
    if everywhere and everywhere != wide:
        make(everywhere, 0.5, "every occurrence of")
    if len(wide) > 1:
        for path in sorted(wide):
            make({path: wide[path]}, 0.55 if path in named else 0.3, "version")
    return out


def version_line(text: str, offset: int) -> str:
    return line_text(text, offset)
