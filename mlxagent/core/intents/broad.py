"""Hypotheses from a request's literals alone, with no wording rules.

The phrase rules (extract.py) read "set X to Y", "rename A to B", "bump the version". Users also
write "we now listen on 8443", "drawPixel should be called paintPixel everywhere", "README says
'teh' twice" or "switch the cache off". Those still name literals, and the repository tells which
literal is old and which is new: a token the files hold is there to go, a token they lack is there to
appear. So, from tokens and files only:

- pair: an old token the files hold and a new one of the same kind they lack -> a rename (names in
  code), a replacement (anything), a changed value or version;
- set: a new value (number, version, URL, short code like py311 or 512Mi) and every slot of the
  same kind in the structured files (INI/TOML/YAML/JSON keys, NAME = value assignments); the
  request's other words name the slot, and a value of the same size as the old one is likelier;
- switch: a boolean key named by a request word, turned off by an off word (off, disable, non-,
  no, not, stop) or on by an on word, else flipped;
- typo: a word of the request the files hold that is a misspelling (a known one, or one edit from a
  common English word it is not).

Each hypothesis is an Intent for the ordinary rules; `confirms` checks their edits against the
hypothesis and the model ranks what is left (core/repair/requested.py). Requests to add, write or
refactor something are not literal edits: no hypotheses for them.
"""

from __future__ import annotations

import math
import re
from dataclasses import replace

from .base import STOP, Edit, Intent, file_matches, request_words, tokens_of, word_hit
from .extract import _files, _Lits
from .phrases import _TOKEN, shape
from .products import adds, hypotheses as product_hypotheses
from .structured import SCANNERS, _bool_of, fmt_of, render

_CREATE = re.compile(r"^\W*(?:please\s+|pls\s+|can you\s+|could you\s+)?(?:add|create|write|implement|refactor|"
                     r"explain|document|translate|split|extract|generate|introduce|make\s+\w+\s+(?:check|retry|"
                     r"support|handle|log|cache|validate)|cache\s+(?:the|a|an|all|every|each|its|their|results?|responses?|calls?|requests?)|support|handle|describe|why|how|what)\b", re.I)
_OFF = {"off", "false", "disable", "disabled", "no", "not", "non", "stop", "without", "never", "quiet", "silence",
        "dont", "don't", "deactivate", "unset", "drop"}
_ON = {"on", "true", "enable", "enabled", "yes", "activate", "always", "start"}
_IDLIKE = re.compile(r"[A-Za-z_$][\w$]*")
_SKIP = re.compile(r"(?:^|/)(?:package-lock\.json|yarn\.lock|poetry\.lock|pnpm-lock\.yaml|cargo\.lock|uv\.lock|"
                   r"node_modules/|\.git/)", re.I)
_HOSTISH = re.compile(r"(?:https?://)?[a-z0-9][\w\-]*(?:\.[a-z0-9][\w\-]*)+(?::\d+)?(?:/[\w.\-/]*)?$", re.I)
MAX_SLOTS = 40  # set hypotheses kept per request, best first


class Token:
    __slots__ = ("value", "quoted", "kind")

    def __init__(self, value: str, quoted: bool):
        self.value, self.quoted = value, quoted
        self.kind = _kind(value, quoted)

    def __repr__(self) -> str:
        return f"Token({self.value!r}, {self.kind})"


def _kind(value: str, quoted: bool) -> str:
    if re.fullmatch(r"\d{1,3}(?:\.\d{1,3}){3}", value):
        return "ip"
    if re.fullmatch(r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+", value):
        return "email"
    if re.fullmatch(r"[A-Za-z][\w\-]*(?:\.[A-Za-z][\w\-]*){2,}", value) and not quoted:
        return "host"
    k = shape(value)
    if k == "word":
        if _IDLIKE.fullmatch(value) and ("_" in value or re.search(r"[a-z][A-Z]", value)
                                         or (value.isupper() and len(value) >= 2)):
            return "ident"
        if re.search(r"\d", value):
            return "code"  # py311, 512Mi, utf8mb4
        return "quoted" if quoted else "word"
    if k == "other" and re.fullmatch(r"[\w.\-/:@+]+", value) and len(value) <= 60:
        return "code"
    return "quoted" if quoted and k == "other" else k


def _sig(value: str) -> str:
    return re.sub(r"[A-Za-z]+", "a", re.sub(r"\d+", "9", value))


def _compatible(new: Token, old: str) -> bool:
    """Can a slot (or a token) holding `old` take `new`?"""
    ok = _kind(old, False)
    if new.kind in ("number", "version", "url", "date", "ip", "email", "host"):
        return ok == new.kind
    if new.kind == "code":
        return ok == "code" and _sig(old) == _sig(new.value)
    if new.kind == "ident":  # a name with digits is a name too (sha256 -> file_digest)
        return ok in ("ident", "word", "code") and _IDLIKE.fullmatch(old) is not None
    if new.kind == "quoted":
        return _bool_of(old) is None and ok not in ("number", "version")
    return False


def tokens(request: str) -> tuple[list[Token], tuple[str, ...], str]:
    """The request's literal tokens, the files it names, and its text without them."""
    lits = _Lits(request)
    text, named = _files(lits.text)
    out: list[Token] = []
    seen = set()
    for m in _TOKEN.finditer(text):
        raw = m.group()
        if raw.startswith("\x00"):
            value, quoted = lits.value(raw)
        else:
            value, quoted = raw.rstrip(".,;:!?)"), False
        value = value if quoted else value.strip()
        if value.strip() and value not in seen:
            seen.add(value)
            out.append(Token(value, quoted))
    plain = re.sub(r"\x00\d+\x00", " ", text)
    return out, named, plain


def _present(texts: list[str], value: str) -> int:
    if re.match(r"[\w$]", value[:1]) and re.match(r"[\w$]", value[-1:]):
        pat = re.compile(r"(?<![\w$.])" + re.escape(value) + r"(?![\w$]|\.\d)")
        return sum(len(pat.findall(t)) for t in texts)
    return sum(t.count(value) for t in texts)


def _closeness(old: str, new: str) -> float:
    """1 for values of the same size, less the further apart (numbers); for other values the share
    of the new value's parts the old one has (a URL on the same host, an image of the same name)."""
    try:
        a, b = float(old.replace("_", "")), float(new.replace("_", ""))
    except ValueError:
        parts = {t for t in tokens_of(new) if not t.isdigit()} - {"http", "https", "www", "com", "org", "io"}
        return 0.5 if not parts else 0.2 + 0.8 * len(parts & tokens_of(old)) / len(parts)
    if a <= 0 or b <= 0:
        return 0.5 if a == b == 0 else 0.3
    return max(0.0, 1.0 - abs(math.log10(a / b)) / 2)


def _code_name(texts: dict[str, str], name: str) -> bool:
    """Whether code uses `name` as a name (then changing it is a rename through every reference)."""
    from .rename import CODE_EXTS, code_spans, ext_of

    return any(ext_of(p) in CODE_EXTS and code_spans(p, t, name) for p, t in texts.items())


_LITERAL = {"url": re.compile(r"[A-Za-z][\w+.\-]*://[^\s'\"`<>()\[\]{}]+"),
            "host": re.compile(r"(?<![\w.@\-])[A-Za-z][\w\-]*(?:\.[A-Za-z][\w\-]*){2,}(?![\w\-]|\.\w)"),
            "email": re.compile(r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+")}


def _similar(texts: dict[str, str], scope: list[str], n: Token) -> list[tuple[str, float]]:
    """Literals of the new one's kind (URLs, addresses) in the files, with how much they share with it."""
    pat = _LITERAL.get(n.kind)
    if pat is None:
        return []
    found: dict[str, float] = {}
    for p in scope:
        for m in pat.finditer(texts[p]):
            v = m.group().rstrip(".,;:")
            if v != n.value and v not in found:
                found[v] = _closeness(v, n.value)
    return sorted(((v, c) for v, c in found.items() if c > 0.3), key=lambda x: -x[1])[:4]


def _hit(word: str, toks: set[str]) -> bool:
    """A request word names a key token: word_hit, or the same stem ("succeeds" / "success")."""
    if len(word) < 4:
        return word in toks
    if word_hit(word, toks):
        return True
    if word.endswith("y") and len(word) >= 5 and any(t.startswith(word[:-1] + "ie") for t in toks):
        return True  # "retry" names MAX_RETRIES, "library" names libraries
    if len(word) < 5 or not word.isalpha():
        return False
    if any(t.endswith(word) and t[:-len(word)].isalpha() and len(t) - len(word) >= 2 for t in toks):
        return True  # keys are read case-folded: "maxplayers" ends with "players"
    for t in toks:
        if len(t) >= 5 and t.isalpha():
            k = 0
            while k < min(len(t), len(word)) and t[k] == word[k]:
                k += 1
            if k >= 5 and k >= min(len(t), len(word)) - 3:
                return True
    return False


def _closeness_version(old: str, new: str) -> float:
    """1 when the new version is the next step of the old one (same major, or the next major)."""
    a = [int(x) for x in re.findall(r"\d+", old)[:3]]
    b = [int(x) for x in re.findall(r"\d+", new)[:3]]
    if not a or not b:
        return 0.0
    if a[0] == b[0]:
        return 1.0
    return 0.6 if b[0] == a[0] + 1 else 0.0


def _nearest_below(bodies: list[str], new: str) -> str | None:
    """The version the files write that is the closest below `new` with its shape and major number
    (1.74 for 1.76), or None."""
    want = [int(x) for x in new.lstrip("v").split(".") if x.isdigit()]
    if len(want) < 2 or len(want) != new.lstrip("v").count(".") + 1:
        return None
    pat = re.compile(r"(?<![\w.])v?(\d+" + r"\.\d+" * (len(want) - 1) + r")(?![\w]|\.\d)")
    best = None
    for text in bodies:
        for m in pat.finditer(text):
            got = [int(x) for x in m.group(1).split(".")]
            if got[0] == want[0] and got < want and (best is None or got > best[0]):
                best = (got, m.group(1))
    return best[1] if best else None


def hypotheses(files: dict[str, str], request: str) -> list[tuple[Intent, float]]:
    """(intent, prior) for what the request's literals could mean in these files, best first."""
    if not isinstance(request, str) or not request.strip():
        return []
    from .append import asks_append

    from .insert import asks_insert

    early = []
    if (added := asks_append(request)) is not None:  # "add py313 to the tox envlist": that, and nothing else
        item, where, in_files = added
        early.append((Intent("append", None, item, key=" ".join(where), files=in_files, basis="append"), 0.75))
    if (entry := asks_insert(request)) is not None:  # "under [ssh_connection], add ssh_args = …"
        early.append((replace(entry, files=_files(_Lits(request).text)[1]), 0.75))
    if early:
        return early
    if _CREATE.match(request):
        return []
    toks, named, plain = tokens(request.strip())
    texts = {p: t for p, t in files.items() if isinstance(t, str) and not _SKIP.search(p)}
    # a file name the repository does not have is a literal ("call the file species.json instead of
    # classes.json": two strings in the code), not a file to look in
    absent = [n for n in named if not any(file_matches(p, n) for p in files)]
    if absent:
        named = tuple(n for n in named if n not in absent)
        toks += [Token(n, False) for n in absent if all(t.value != n for t in toks)]
    scope = [p for p in sorted(texts) if any(file_matches(p, n) for n in named)] or sorted(texts)
    bodies = [texts[p] for p in scope]
    present = {t.value: _present(bodies, t.value) for t in toks}
    new_values = {t.value.lower() for t in toks if t.kind != "word" and not present[t.value]}
    words = []
    for w in request_words(plain) + [t.value.lower() for t in toks if t.kind == "ident" and present[t.value]]:
        for part in [w] + (w.split("-") if "-" in w else []):
            if part and part not in new_values and part not in _OFF | _ON and part not in STOP and part not in words:
                words.append(part)
    out: list[tuple[Intent, float]] = []

    def add(intent: Intent, prior: float, basis: str) -> None:
        if all(intent != i for i, _ in out):
            out.append((replace(intent, basis=basis), round(prior, 3)))

    olds = [t for t in toks if present[t.value] and t.kind != "word"]
    news = [t for t in toks if not present[t.value] and t.kind != "word"]
    scanned: list[tuple[str, str, list]] = []

    def slots_of() -> list[tuple[str, str, list]]:
        """(path, format, entries) of the structured files in scope, scanned once per request."""
        if not scanned:
            for path in scope:
                fmt = fmt_of(path)
                if fmt is None:
                    continue
                try:
                    scanned.append((path, fmt, SCANNERS[fmt](texts[path])))
                except Exception:  # noqa: BLE001 - a file the scanner cannot read offers no slots
                    continue
        return scanned

    # pair: old token held by the files, new token they lack
    for o in olds:
        for n in news:
            if _HOSTISH.match(o.value) and _HOSTISH.match(n.value) and "/" in o.value + n.value:
                # "the manual moved from site.dev/manual/ to docs.site.dev": an address's start moves
                tail = "/" if o.value.endswith("/") and not n.value.endswith("/") else ""
                add(Intent("replace", o.value, n.value + tail, files=named), 0.74, "pair")
                continue
            if o.value == n.value or not _compatible(n, o.value):
                continue
            if o.kind == "ident" and not _IDLIKE.fullmatch(n.value):
                continue  # a name becomes a name, not a phrase
            if (n.kind == "ident" or (o.kind == "ident" and n.kind in ("quoted", "code")
                                      and _IDLIKE.fullmatch(n.value))) and _code_name(texts, o.value):
                add(Intent("rename", o.value, n.value, files=named), 0.75, "pair")
            if n.kind == "version":
                add(Intent("version", o.value, n.value, files=named), 0.72, "pair")
            if re.fullmatch(r"[\w\-]+\.[A-Za-z][\w]{0,4}", o.value) and re.fullmatch(r"[\w\-]+\.[A-Za-z][\w]{0,4}", n.value):
                add(Intent("replace", o.value, n.value, files=named), 0.72, "pair")  # a file's name, wherever written
            kind = "change" if n.kind in ("number", "version", "date", "code") else "replace"
            # two quoted texts, one held and one new: the user spelled out both sides
            add(Intent(kind, o.value, n.value, files=named), 0.8 if o.quoted and n.quoted else 0.7, "pair")
    # bump: "bump hearth's minor version", "increment the patch version of the assets package"
    bump = re.search(r"\b(?:bump|increment|increase|raise)\b.*?\b(major|minor|patch|micro)?\b\s*(?:version|release)\b",
                     request, re.I)
    if bump and not any(t.kind == "version" for t in toks):
        part = (bump.group(1) or "patch").lower().replace("micro", "patch")
        owned = [p for p in scope if any(_hit(w, tokens_of(p.replace("/", " ").replace(".", " "))) for w in words
                                         if w not in ("version", "release", part))]
        add(Intent("version", None, "", key=part, files=named or tuple(owned)), 0.66 if owned else 0.62, "bump")
    # set: a new value into a slot of the same kind
    slots = []
    for n in toks:
        enum = n.kind == "ident" and n.value.isupper() and n.value.isalpha()  # INFO, WARNING, PROD
        if n.kind not in ("number", "version", "url", "date", "code", "quoted", "ip", "email") and not enum:
            continue
        if present[n.value] and n.kind not in ("number", "quoted") and not enum:
            continue  # a distinctive value the files already hold is the old one, not the new
        if n.kind == "version":
            from .versions import current

            now = current(texts, named)
            if now and _closeness_version(now, n.value):
                add(Intent("version", None, n.value, files=named), 0.5 + 0.12 * _closeness_version(now, n.value),
                    "version")
            below = None if adds(request) else _nearest_below(bodies, n.value)
            if below:  # "raise the MSRV to 1.76" where the files write 1.74 (and 0.7.3 is the package's own)
                add(Intent("replace", below, n.value, files=named), 0.6, "version-near")
        if n.kind in ("number", "version", "url", "date") and words:
            add(Intent("change", None, n.value, " ".join(words), named), 0.5, "words")
        for path, fmt, entries in slots_of():
            ptoks = tokens_of(path.replace("/", " "))
            for e in entries:
                bare = e.raw[1:-1] if e.raw[:1] in "\"'" and len(e.raw) >= 2 else e.raw
                if bare == n.value or not (bare.isupper() and bare.isalpha() if enum else _compatible(n, bare)):
                    continue
                ktoks = tokens_of(" ".join(e.path))
                hits = sum(1 for w in words if _hit(w, ktoks))
                vtoks = tokens_of(bare) if n.kind in ("url", "quoted", "code") else set()
                fhits = sum(1 for w in words if not word_hit(w, ktoks) and (word_hit(w, ptoks) or word_hit(w, vtoks)))
                if (n.kind == "quoted" or enum) and not hits:
                    continue  # free text goes only where a word names the key
                prior = 0.45 + 0.08 * min(hits, 3) + 0.03 * min(fhits, 2) + 0.06 * _closeness(bare, n.value)
                prior += 0.1 if named else 0.0
                prior -= 0.05 if fmt == "assign" else 0.0
                prior -= 0.05 if present[n.value] else 0.0
                prior -= 0.01 * min(3, len(re.findall(r"[A-Za-z0-9]+", e.path[-1])) - 1)  # port before backup_port
                slots.append((Intent("set", bare, n.value, ".".join(e.path), (path,)), prior, hits + fhits))
    if slots:
        best_hits = max(h for _, _, h in slots)
        kept = [s for s in slots if s[2] or best_hits == 0 and (named or len(slots) <= 3)]
        for intent, prior, _ in sorted(kept, key=lambda s: -s[1])[:MAX_SLOTS]:
            add(intent, prior, "slot")
            old = intent.old or ""
            if len(old) >= 6 and not re.fullmatch(r"[\d.]+", old) and _bool_of(old) is None \
                    and sum(t.count(old) for t in bodies) > 1:
                # a distinctive value written in more places than the key: all of them change
                add(Intent("replace", old, intent.new, files=named), prior + 0.04, "slot-value")
    for intent, prior in _unit_slots(request, words, slots_of(), named):
        add(intent, prior, "unit")

    for intent, prior in product_hypotheses(texts, request, named):  # "we've moved to Postgres 16"
        add(intent, prior, "product")
    for n in news:
        for old, close in _similar(texts, scope, n):
            add(Intent("replace", old, n.value, files=named), 0.5 + 0.2 * close, "similar")
    # switch: a boolean key a request word names
    said = _Lits(request).text.replace("\x00", " ")  # the words of a quoted text say nothing of switching
    low = set(re.findall(r"[a-z']+", said.lower()))
    # "on"/"off" are switch words at a clause's end or after turn/switch ("put it on INFO" is not)
    edge = {m.group(1).lower() for m in re.finditer(
        r"\b(on|off)\b(?=\s*(?:[.,;:!?)]|$|(?:and|please|pls|too|again|now|for|in)\b))", said, re.I)}
    edge |= {m.group(1).lower() for m in re.finditer(r"\b(?:turn|switch|flip|set)\s+(on|off)\b", said, re.I)}
    off = bool(low & (_OFF - {"off"})) or "off" in edge or bool(re.search(r"\bnon-?\w|\bno\s+longer\b", said, re.I))
    on = (bool(low & (_ON - {"on"})) or "on" in edge) and not off
    flip = bool(low & {"flip", "toggle", "switch", "turn", "enable", "disable"})
    off = off or (bool(re.search(r"\btoo\s+\w+", said, re.I)) and (on or flip))
    for path, fmt, entries in (slots_of() if off or on or flip else []):  # no word of switching: no switch
        for e in entries:
            now = _bool_of(e.raw.strip("\"'"))
            if now is None or e.raw.strip("\"'").isdigit():
                continue
            hits = sum(1 for w in words if _hit(w, tokens_of(" ".join(e.path))))
            if not hits:
                continue
            agrees = (off and now) or (on and not now)  # the only change a switch has is the flip
            bare = e.raw.strip("\"'")
            add(Intent("set", bare, render(fmt, bare, "false" if now else "true"), ".".join(e.path), (path,)),
                0.5 + 0.08 * min(hits, 3) + (0.1 if agrees else 0.0) + (0.1 if named else 0.0), "switch")
    # remove: an entry the files hold, with a word that says it goes
    from .remove import asks_removal

    if asks_removal(request):
        from .remove import object_of

        said_first = object_of(request)  # "drop the ferry tag from that station": the ferry tag goes
        # "from the apiary config": a word that names the file the request points at is not what goes
        stems = {re.split(r"[./]", p.rsplit("/", 1)[-1])[0].lower() for p in named}
        for t in toks:
            if t.value.lower() in stems and t.value != said_first:
                continue
            held = present[t.value] or (t.kind == "word" and any(  # "the roadmap": its heading is "## Roadmap"
                re.search(r"^#{1,6}\s+" + re.escape(t.value) + r"\s*$", b, re.I | re.M) for b in bodies))
            if held and t.value.lower() not in STOP and len(t.value) >= 3 and t.value.lower() not in _OFF:
                prior = (0.72 if t.kind != "word" else 0.66) + (0.04 if t.value == said_first else 0.0)
                add(Intent("remove", t.value, "", key=" ".join(words), files=named), prior, "remove")
    # "we call it away mode now, not holiday mode", "say sign in instead of log in"
    for old, new in _instead(request):
        if _present(bodies, old) or re.search(r"(?<!\w)" + re.escape(old) + r"(?!\w)", "\n".join(bodies), re.I):
            add(Intent("replace", old, new, key="case", files=named), 0.78, "instead")
    # typo: a misspelled word of the request that the files hold, or the right spelling of one
    for intent in _typos(toks, texts, bodies, named, request):
        add(intent, 0.7, "typo")
    out.sort(key=lambda x: -x[1])
    return out


_DURATION = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)\s*(ms|msecs?|millis(?:econds?)?|s|secs?|seconds?|mins?|minutes?|"
                       r"h|hrs?|hours?|days?)\b", re.I)
_SECONDS = {"ms": 0.001, "msec": 0.001, "millis": 0.001, "millisecond": 0.001, "s": 1, "sec": 1, "second": 1,
            "min": 60, "minute": 60, "h": 3600, "hr": 3600, "hour": 3600, "day": 86400}


_WAS = re.compile(r"\b(?:instead\s+of|rather\s+than|not|from|than|was|were|currently|of)\s*$", re.I)


def _unit(word: str) -> float | None:
    w = word.lower()
    for name in (w, w[:-1] if w.endswith("s") else w):
        if name in _SECONDS:
            return _SECONDS[name]
    return 0.001 if w.startswith("millis") else None


# the last word of a duration key's name, and the unit it holds: singular words name a time of day
# or a part of a date (reminder_hour, start_day, per_second), and "min" a minimum (min_temperature_c)
_KEY_UNITS = {w: _unit(w) for w in ("ms", "msec", "msecs", "millis", "milliseconds", "s", "sec", "secs", "seconds",
                                    "mins", "minutes", "h", "hrs", "hours", "days")}


def _slot_unit(name: str) -> float | None:
    """The unit a duration key holds, from the last word of its name: timeout_ms, TOAST_MS,
    retrySeconds, ttl_minutes, interval_days; one word with a unit at its end: timeoutms."""
    words = [w for w in re.split(r"[_\-.\s]+", re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name or "")) if w]
    if len(words) > 1:
        return _KEY_UNITS.get(words[-1].lower())
    last = words[0].lower() if words else ""
    for suffix, u in (("millis", 0.001), ("ms", 0.001), ("seconds", 1), ("secs", 1), ("minutes", 60), ("mins", 60),
                      ("hours", 3600)):
        if last.endswith(suffix) and len(last) > len(suffix) + 2:
            return u
    return None


def _unit_slots(request: str, words: list[str], entries, named: tuple[str, ...]) -> list[tuple[Intent, float]]:
    """"make it 20 seconds" where the key holds milliseconds (REQUEST_TIMEOUT_MS = 8000): the value in
    the key's own unit, for number slots that a request word names."""
    said = [(float(m.group(1)) * _unit(m.group(2)), bool(_WAS.search(request[:m.start()])))
            for m in _DURATION.finditer(request) if _unit(m.group(2)) is not None]
    if not said:
        return []
    # "8s is too short, make it 20 seconds": the last one is the new value, unless the words before
    # it say it is the old one ("after 15 minutes instead of 10 minutes", "from 30s to 1 minute")
    fresh = [s for s, was in said if not was] or [s for s, _ in said]
    seconds = fresh[-1]
    olds = {s for s, was in said if was or s != seconds}
    out = []
    for path, fmt, found in entries:
        for e in found:
            bare = e.raw.strip("\"'")
            if not re.fullmatch(r"\d+(?:\.\d+)?", bare):
                continue
            ktoks = tokens_of(" ".join(e.path))
            unit = _slot_unit(e.path[-1])
            hits = sum(1 for w in words if _hit(w, ktoks))
            was = any(abs(float(bare) * unit - o) < 1e-6 for o in olds) if unit is not None else False
            if unit is None or not (hits or was):
                continue
            value = seconds / unit
            if abs(value - round(value)) > 1e-9 and "." not in bare:
                continue
            new = str(int(round(value))) if abs(value - round(value)) < 1e-9 else f"{value:g}"
            if new == bare:
                continue
            prior = 0.72 + 0.08 * min(hits, 3) + 0.06 * _closeness(bare, new) + (0.1 if named else 0.0)
            prior += 0.1 if was else 0.0  # the value the request says is the old one
            out.append((Intent("set", bare, new, ".".join(e.path), (path,)), prior))
    return out


_PHRASE = r"[\w][\w\-]*(?:\s+[\w][\w\-]*){0,2}?"
_END = r"(?=\s*(?:[.,;:!?\u2013\u2014]|\s-\s|$|\b(?:now|anymore|any\s+more|everywhere|in\s+the|in\s+\S+\.\w+)\b))"
_INSTEAD = (
    re.compile(r"\b(?:call(?:ed)?\s+it|name\s+it|it'?s(?:\s+called)?|it\s+is(?:\s+called)?|we\s+(?:say|use|write))\s+"
               rf"(?P<new>{_PHRASE})\s*(?:now)?\s*,?\s*(?:and\s+)?not\s+(?P<old>{_PHRASE}){_END}", re.I),
    re.compile(rf"\b(?:use|say|write|call\s+it)\s+(?P<new>{_PHRASE})\s*,?\s+(?:instead\s+of|rather\s+than)\s+"
               rf"(?P<old>{_PHRASE}){_END}", re.I),
    re.compile(rf"\b(?P<old>{_PHRASE})\s+(?:is|has\s+been|was)\s+(?:now\s+)?(?:called|named|renamed(?:\s+to)?)\s+"
               rf"(?P<new>{_PHRASE}){_END}", re.I),
)


def _instead(request: str) -> list[tuple[str, str]]:
    """(old, new) phrases of "X now, not Y", "use X instead of Y", "Y is now called X"."""
    out = []
    text = re.sub(r"[\"'`]", "", request or "")
    for pat in _INSTEAD:
        for m in pat.finditer(text):
            old, new = m.group("old").strip(), m.group("new").strip()
            if old.lower() != new.lower() and old.lower() not in STOP and (old, new) not in out:
                out.append((old, new))
    return out


def _typos(toks: list[Token], texts: dict[str, str], bodies: list[str], named: tuple[str, ...],
           request: str = "") -> list[Intent]:
    from .typos import COMMON, MISSPELLINGS, speller, vocabulary

    spell = speller()
    if spell is None:
        return []
    blob = "\n".join(bodies)
    vocab = vocabulary({str(i): t for i, t in enumerate(bodies)})
    # the user says it is a typo: the dictionary's nearest word will do, common or not
    told = bool(re.search(r"\b(?:typos?|misspel\w*|spelling|spelt|spelled)\b", request, re.I))
    out = []
    for t in toks:
        w = t.value
        if not re.fullmatch(r"[A-Za-z]{3,}", w) or w.lower() in STOP:
            continue
        held = len(re.findall(r"(?<![A-Za-z])" + re.escape(w) + r"(?![A-Za-z])", blob, re.I))
        low = w.lower()
        if held and low not in spell and low not in COMMON and held <= 3:
            fix = MISSPELLINGS.get(low) or spell.correction(low)
            if fix and fix != low and "_" not in fix and (low in MISSPELLINGS or fix in COMMON or vocab.get(fix)
                                                          or (told and fix in spell)):
                out.append(Intent("typo", w, fix, files=named))
        elif not held and t.quoted and len(low) >= 5 and low in spell:
            out.append(Intent("typo", None, w, files=named))  # the right spelling: find the wrong one
    return out


def broad_candidates(files: dict[str, str], request: str, limit: int = 60) -> list[tuple[Edit, Intent]]:
    """The ordinary rules' edits for each hypothesis, with the hypothesis that made each, best first
    (the hypothesis's prior, then the rule's own)."""
    from .propose import _for

    texts = {p: t for p, t in files.items() if isinstance(p, str) and isinstance(t, str) and "\x00" not in t}
    out: list[tuple[Edit, Intent]] = []
    seen: set = set()
    try:
        hyps = hypotheses(texts, request)
    except Exception:  # noqa: BLE001 - odd input offers nothing
        return []
    for intent, prior in hyps:
        try:
            got = _for(texts, intent)
        except Exception:  # noqa: BLE001 - one rule failing never sinks the others
            continue
        for e in got:
            if intent.kind == "version" and not e.rule.startswith("version"):
                continue  # the project's version, not a key that happens to end in "version"
            if e.files in seen:
                continue
            seen.add(e.files)
            out.append((replace(e, prior=round(prior + 0.1 * e.prior, 3), intent=intent), intent))
    out.sort(key=lambda x: -x[0].prior)
    return out[:limit]
