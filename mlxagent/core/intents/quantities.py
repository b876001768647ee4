"""Quantities a request writes in words, written as numbers so the literal rules can read them.

Users write "a quarter of an hour", "a minute and a half", "half a minute", "ten minutes", "six
hours", "5,000 tiles", "retries should be five". The rules read digits ("15 minutes", "90 seconds",
"5000"), so `spoken` rewrites those phrases before anything else reads the request. Quoted text is
left as written (a label "Two players" stays words). A fraction of a unit becomes a whole number of
the next smaller unit (0.25 hour -> 15 minutes, 1.5 minutes -> 90 seconds).
"""

from __future__ import annotations

import re

_ONES = {"zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
         "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
         "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19}
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
         "ninety": 90}
_SCALE = {"hundred": 100, "thousand": 1000, "million": 1_000_000}
# unit words in seconds, singular; the smaller unit a fraction is written in
_UNITS = {"millisecond": 0.001, "second": 1, "minute": 60, "hour": 3600, "day": 86400, "week": 604800}
_SMALLER = {"week": "day", "day": "hour", "hour": "minute", "minute": "second", "second": "millisecond"}
_UNIT = r"(milliseconds?|seconds?|minutes?|hours?|days?|weeks?)"
_NUMBER_WORD = (r"(?:(?:" + "|".join(_TENS) + r")(?:[\s-](?:" + "|".join(k for k in _ONES if _ONES[k] < 10) + r"))?|"
                + "|".join(sorted(_ONES, key=len, reverse=True)) + r")")
_NUMBER_PHRASE = re.compile(r"\b(?:an?|" + _NUMBER_WORD + r")(?:\s+(?:" + "|".join(_SCALE) + r"))?"
                            r"(?:\s+and\s+" + _NUMBER_WORD + r")?\b", re.I)
_QUOTED = re.compile(r"\"[^\"\n]*\"|`[^`\n]*`|(?<![A-Za-z])'[^'\n]*'(?![A-Za-z])")
_FRACTION = {"half": 0.5, "quarter": 0.25, "third": 1 / 3, "three quarters": 0.75}


def _number(phrase: str) -> int | None:
    """"twenty-five" -> 25, "two hundred" -> 200, "a thousand" -> 1000; None for what is not one."""
    words = re.findall(r"[a-z]+", phrase.lower())
    if words and words[0] in ("a", "an"):
        words = ["one"] + words[1:]
        if len(words) == 1 or words[1] not in _SCALE:
            return None  # "a" alone is no number
    total, part = 0, 0
    for w in words:
        if w in _ONES:
            part += _ONES[w]
        elif w in _TENS:
            part += _TENS[w]
        elif w in _SCALE:
            part = max(part, 1) * _SCALE[w]
            if _SCALE[w] >= 1000:
                total, part = total + part, 0
        elif w != "and":
            return None
    return total + part


def _amount(value: float, unit: str) -> str:
    """A whole number of `unit`, or of the next smaller unit when `value` is a fraction."""
    unit = unit.lower().rstrip("s")
    while abs(value - round(value)) > 1e-9 and unit in _SMALLER:
        smaller = _SMALLER[unit]
        value, unit = value * _UNITS[unit] / _UNITS[smaller], smaller
    n = f"{int(round(value))}" if abs(value - round(value)) < 1e-9 else f"{value:g}"
    return f"{n} {unit}{'' if n == '1' else 's'}"


def _durations(text: str) -> str:
    frac = r"(half|quarter|third|three\s+quarters)"
    a = r"(?:an?|one)"
    # "a minute and a half", "an hour and a quarter", "two hours and a half"
    text = re.sub(rf"\b({a}|\d+)\s+{_UNIT}\s+and\s+an?\s+{frac}\b",
                  lambda m: _amount((1 if not m.group(1)[0].isdigit() else int(m.group(1)))
                                    + _FRACTION[" ".join(m.group(3).lower().split())], m.group(2)), text, flags=re.I)
    # "one and a half hours", "2 and a half minutes"
    text = re.sub(rf"\b({a}|\d+)\s+and\s+an?\s+{frac}\s+{_UNIT}\b",
                  lambda m: _amount((1 if not m.group(1)[0].isdigit() else int(m.group(1)))
                                    + _FRACTION[" ".join(m.group(2).lower().split())], m.group(3)), text, flags=re.I)
    # "a quarter of an hour", "three quarters of a minute", "half an hour", "half a minute"
    text = re.sub(rf"\b(?:an?\s+)?{frac}\s+(?:of\s+)?{a}\s+{_UNIT}\b",
                  lambda m: _amount(_FRACTION[" ".join(m.group(1).lower().split())], m.group(2)), text, flags=re.I)
    # "an hour", "a day", "a minute" (a quantity of one, where a number is wanted: "after an hour")
    text = re.sub(rf"(?<!once )(?<!twice )(?<!times )(?<!per )\b(?:an?|one)\s+{_UNIT}\b(?!\s*(?:and|or)\b)", lambda m: _amount(1, m.group(1)), text,
                  flags=re.I)
    return text


def _numbers(text: str) -> str:
    """Number words as digits ("ten minutes", "retries should be five"); "one" only before a unit
    ("one of the tests" stays). Thousands separators go: 5,000 -> 5000."""
    text = re.sub(r"(?<![\d.,])\d{1,3}(?:,\d{3})+(?![\d,]|\.\d)", lambda m: m.group().replace(",", ""), text)

    def sub(m: re.Match) -> str:
        n = _number(m.group())
        if n is None:
            return m.group()
        if n == 1 and not re.match(r"\s*" + _UNIT, text[m.end():], re.I):
            return m.group()
        return str(n)

    return _NUMBER_PHRASE.sub(sub, text)


_GLUED = re.compile(r"(?<![\w.:@/=\-])(\d+(?:\.\d+)?)(px|kg|kb|mb|gb|tb|mib|gib|km|cm|mm|rpm|fps|dpi)\b", re.I)
_HYPHENED = re.compile(r"(?<![\w.:@/=\-])(\d+)-([a-z]{3,})\b")


def _glued(text: str) -> str:
    """A number with its unit written onto it: "448px", "40kg", "120-character" -> "448 px"."""
    return _HYPHENED.sub(r"\1 \2", _GLUED.sub(r"\1 \2", text))


def spoken(request: str) -> str:
    """The request with its quantities in words written as numbers; quoted text unchanged."""
    if not isinstance(request, str) or not request:
        return request
    out, pos = [], 0
    for m in _QUOTED.finditer(request):
        out.append(_glued(_durations(_numbers(_durations(request[pos:m.start()])))))
        out.append(m.group())
        pos = m.end()
    out.append(_glued(_durations(_numbers(_durations(request[pos:])))))
    return "".join(out)
