"""A held-out set of small, realistic bug-fix tasks, written without reading the fixer's rules.

Twenty-four small projects, 16 Python (pytest) and 8 JavaScript (`node --test`), each with one bug
of the kind people really write (an off-by-one bound, a wrong comparison, a forgotten `return`, a
stale loop variable, the wrong variable of several in scope, a missing condition, `[]` for `[[]]`,
a bitwise slip, a missing import, a misspelled dict key, `return None` for a raise, an f-string /
template literal that is not one, a mutable default, `//` for `/`, a wrong default, swapped
arguments, ...). The request text describes the symptom the user sees, never the fix.

    tasks = blind_bug_tasks()     # the same 24 tasks, in the same order, every call

Each project is stored correct; the bug is planted by one exact text replacement in one file, so
`fixed` is the correct file and `line` is the first line of the buggy file that the fix changes
(for a fix that only adds lines: the line just above where they go).
"""

from __future__ import annotations

import difflib
from pathlib import PurePosixPath

from . import Task

__all__ = ["blind_bug_tasks"]


# === Python projects ====================================================================

# --- intervals: wrong comparison ---------------------------------------------------------

_INTERVALS_PY = r'''"""Merging closed intervals for the room-booking report."""


def merge_intervals(intervals):
    """Merge overlapping or touching closed intervals; returns a sorted list of tuples."""
    merged = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            first, last = merged[-1]
            merged[-1] = (first, max(last, end))
        else:
            merged.append((start, end))
    return merged


def total_length(intervals):
    """Total length covered by the intervals, shared stretches counted once."""
    return sum(end - start for start, end in merge_intervals(intervals))
'''

_TEST_INTERVALS_PY = r'''from intervals import merge_intervals, total_length


def test_overlapping_intervals_merge():
    assert merge_intervals([(1, 3), (2, 6), (8, 10)]) == [(1, 6), (8, 10)]


def test_touching_intervals_merge():
    assert merge_intervals([(1, 3), (3, 5)]) == [(1, 5)]


def test_unsorted_input():
    assert merge_intervals([(5, 7), (1, 2), (2, 4)]) == [(1, 4), (5, 7)]


def test_contained_interval():
    assert merge_intervals([(1, 10), (2, 3)]) == [(1, 10)]


def test_empty():
    assert merge_intervals([]) == []


def test_total_length():
    assert total_length([(0, 2), (1, 5), (7, 8)]) == 6
'''

# --- dates: off-by-one in a range bound ---------------------------------------------------

_DATES_PY = r'''"""Date range helpers for the booking calendar."""

from datetime import timedelta


def days_in_range(start, end):
    """Every date from start to end, both ends included."""
    if end < start:
        raise ValueError("end is before start")
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def weekdays_in_range(start, end):
    """The dates of the range that fall on Monday to Friday."""
    return [day for day in days_in_range(start, end) if day.weekday() < 5]


def nights(check_in, check_out):
    """Nights of a stay: from the 1st to the 3rd is 2 nights."""
    return len(days_in_range(check_in, check_out)) - 1
'''

_TEST_DATES_PY = r'''from datetime import date

import pytest

from dates import days_in_range, nights, weekdays_in_range


def test_range_includes_both_ends():
    assert days_in_range(date(2024, 3, 1), date(2024, 3, 3)) == [
        date(2024, 3, 1), date(2024, 3, 2), date(2024, 3, 3)]


def test_single_day():
    assert days_in_range(date(2024, 5, 6), date(2024, 5, 6)) == [date(2024, 5, 6)]


def test_weekdays_skip_the_weekend():
    # 2024-03-01 is a Friday
    assert weekdays_in_range(date(2024, 3, 1), date(2024, 3, 4)) == [date(2024, 3, 1), date(2024, 3, 4)]


def test_nights():
    assert nights(date(2024, 3, 1), date(2024, 3, 3)) == 2


def test_reversed_range_is_rejected():
    with pytest.raises(ValueError):
        days_in_range(date(2024, 3, 3), date(2024, 3, 1))
'''

# --- contacts: missing return (two source files) -------------------------------------------

_PHONE_PY = r'''"""Phone number normalisation (US numbers)."""

import re


def normalize(number):
    """'(555) 123-4567', '555.123.4567', '+1 555 123 4567' -> '555-123-4567'."""
    digits = re.sub(r"\D", "", number)
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    if len(digits) != 10:
        raise ValueError(f"not a US phone number: {number!r}")
    return f"{digits[:3]}-{digits[3:6]}-{digits[6:]}"
'''

_CONTACTS_PY = r'''"""Merging the contact lists of several devices."""

from phone import normalize


def dedupe(numbers):
    """The distinct numbers, normalised, in first-seen order."""
    seen = set()
    unique = []
    for number in numbers:
        key = normalize(number)
        if key not in seen:
            seen.add(key)
            unique.append(key)
    return unique


def merge(*lists):
    """One list of distinct numbers from several contact lists."""
    combined = []
    for numbers in lists:
        combined.extend(numbers)
    return dedupe(combined)
'''

_TEST_CONTACTS_PY = r'''import pytest

from contacts import dedupe, merge
from phone import normalize


def test_normalize_formats():
    assert normalize("(555) 123-4567") == "555-123-4567"
    assert normalize("+1 555 123 4567") == "555-123-4567"


def test_normalize_rejects_short_numbers():
    with pytest.raises(ValueError):
        normalize("123-4567")


def test_dedupe_keeps_first_seen_order():
    assert dedupe(["555 123 4567", "(555) 123-4567", "555.987.6543"]) == ["555-123-4567", "555-987-6543"]


def test_merge_lists():
    phone = ["555-111-2222"]
    laptop = ["+1 (555) 111-2222", "555 333 4444"]
    assert merge(phone, laptop) == ["555-111-2222", "555-333-4444"]
'''

# --- habits: loop variable never updated -------------------------------------------------

_HABITS_PY = r'''"""Habit tracker statistics. Days are day numbers (date.toordinal())."""


def longest_streak(days):
    """Length of the longest run of consecutive days (a day logged twice counts once)."""
    best = current = 0
    previous = None
    for day in sorted(set(days)):
        if previous is not None and day == previous + 1:
            current += 1
        else:
            current = 1
        best = max(best, current)
        previous = day
    return best


def completion_rate(days, period):
    """Share of the `period` days on which the habit was done."""
    if period <= 0:
        raise ValueError("period must be positive")
    return len(set(days)) / period
'''

_TEST_HABITS_PY = r'''from habits import completion_rate, longest_streak


def test_streak_of_three():
    assert longest_streak([1, 2, 3, 5]) == 3


def test_duplicates_and_unsorted_days():
    assert longest_streak([21, 10, 11, 11, 12, 20]) == 3


def test_no_days():
    assert longest_streak([]) == 0


def test_single_day():
    assert longest_streak([7]) == 1


def test_completion_rate():
    assert completion_rate([1, 2, 2, 4], 8) == 0.375
'''

# --- ledger: wrong variable (a package) ---------------------------------------------------

_LEDGER_INIT_PY = r'''"""A tiny double-entry-ish ledger for the club's shared kitty."""

from .core import InsufficientFunds, Ledger

__all__ = ["InsufficientFunds", "Ledger"]
'''

_LEDGER_CORE_PY = r'''class InsufficientFunds(Exception):
    pass


class Ledger:
    def __init__(self):
        self.balances = {}
        self.history = []

    def deposit(self, account, amount):
        if amount <= 0:
            raise ValueError("amount must be positive")
        self.balances[account] = self.balances.get(account, 0) + amount
        self.history.append(("deposit", account, amount))

    def withdraw(self, account, amount):
        if amount <= 0:
            raise ValueError("amount must be positive")
        if self.balances.get(account, 0) < amount:
            raise InsufficientFunds(account)
        self.balances[account] -= amount
        self.history.append(("withdraw", account, amount))

    def transfer(self, source, target, amount):
        self.withdraw(source, amount)
        self.deposit(target, amount)

    def balance(self, account):
        return self.balances.get(account, 0)

    def statement(self, account):
        return [(kind, amount) for kind, who, amount in self.history if who == account]
'''

_TEST_LEDGER_PY = r'''import pytest

from ledger import InsufficientFunds, Ledger


def test_deposit_and_withdraw():
    book = Ledger()
    book.deposit("alice", 100)
    book.withdraw("alice", 40)
    assert book.balance("alice") == 60


def test_overdraw_is_refused():
    book = Ledger()
    book.deposit("alice", 10)
    with pytest.raises(InsufficientFunds):
        book.withdraw("alice", 11)
    assert book.balance("alice") == 10


def test_transfer_moves_money():
    book = Ledger()
    book.deposit("alice", 100)
    book.transfer("alice", "bob", 30)
    assert book.balance("alice") == 70
    assert book.balance("bob") == 30
    assert book.statement("bob") == [("deposit", 30)]


def test_failed_transfer_changes_nothing():
    book = Ledger()
    book.deposit("alice", 5)
    with pytest.raises(InsufficientFunds):
        book.transfer("alice", "bob", 50)
    assert (book.balance("alice"), book.balance("bob")) == (5, 0)
'''

# --- csvlite: missing condition inside a loop --------------------------------------------

_CSVLITE_PY = r'''"""A small CSV reader for the export files (double quotes protect commas)."""


def split_row(line):
    fields, current, in_quotes = [], "", False
    for ch in line:
        if ch == '"':
            in_quotes = not in_quotes
        elif ch == "," and not in_quotes:
            fields.append(current)
            current = ""
        else:
            current += ch
    fields.append(current)
    return fields


def read_records(text):
    """Rows as dicts keyed by the header row; blank lines are skipped."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        return []
    header = split_row(lines[0])
    return [dict(zip(header, split_row(line))) for line in lines[1:]]
'''

_TEST_CSVLITE_PY = r'''from csvlite import read_records, split_row


def test_plain_row():
    assert split_row("a,b,c") == ["a", "b", "c"]


def test_empty_fields():
    assert split_row("a,,c,") == ["a", "", "c", ""]


def test_quoted_comma_stays_in_field():
    assert split_row('1,"Smith, John",42') == ["1", "Smith, John", "42"]


def test_read_records():
    text = 'id,name,city\n1,"Doe, Jane",Oslo\n\n2,Bob,"Bergen, NO"\n'
    assert read_records(text) == [
        {"id": "1", "name": "Doe, Jane", "city": "Oslo"},
        {"id": "2", "name": "Bob", "city": "Bergen, NO"},
    ]


def test_no_lines():
    assert read_records("") == []
'''

# --- textblocks: [] where [[]] was meant ---------------------------------------------------

_TEXTBLOCKS_PY = r'''"""Splitting plain-text notes into paragraphs."""


def paragraphs(lines):
    """Group lines into paragraphs (lists of stripped lines) separated by blank lines."""
    groups = [[]]
    for line in lines:
        if line.strip():
            groups[-1].append(line.strip())
        elif groups[-1]:
            groups.append([])
    return [group for group in groups if group]


def headlines(text):
    """The first line of every paragraph of `text`."""
    return [group[0] for group in paragraphs(text.splitlines())]
'''

_TEST_TEXTBLOCKS_PY = r'''from textblocks import headlines, paragraphs


def test_two_paragraphs():
    lines = ["first line", "  second line", "", "", "next para"]
    assert paragraphs(lines) == [["first line", "second line"], ["next para"]]


def test_leading_and_trailing_blanks():
    assert paragraphs(["", "only", ""]) == [["only"]]


def test_empty_input():
    assert paragraphs([]) == []


def test_headlines():
    assert headlines("Title\nbody\n\nSecond\nmore\n") == ["Title", "Second"]
'''

# --- perms: bitwise slip ------------------------------------------------------------------

_PERMS_PY = r'''"""Unix-style permission flags for the file-sharing service."""

READ = 1
WRITE = 2
EXECUTE = 4


class Permissions:
    def __init__(self, mask=0):
        self.mask = mask

    def grant(self, flag):
        self.mask |= flag
        return self

    def revoke(self, flag):
        self.mask &= ~flag
        return self

    def has(self, flag):
        return self.mask & flag == flag

    def __str__(self):
        return "".join(ch if self.mask & bit else "-"
                       for ch, bit in (("r", READ), ("w", WRITE), ("x", EXECUTE)))
'''

_TEST_PERMS_PY = r'''from perms import EXECUTE, READ, WRITE, Permissions


def test_grant():
    assert str(Permissions().grant(READ).grant(EXECUTE)) == "r-x"


def test_revoke_keeps_other_flags():
    p = Permissions(READ | WRITE).revoke(WRITE)
    assert str(p) == "r--"
    assert p.has(READ) and not p.has(WRITE)


def test_revoke_flag_not_held():
    assert str(Permissions(READ).revoke(EXECUTE)) == "r--"


def test_has_needs_every_bit():
    assert not Permissions(READ).has(READ | WRITE)
'''

# --- wordfreq: missing import (two source files) ------------------------------------------

_TEXTUTIL_PY = r'''"""Splitting text into words."""

import re

STOPWORDS = frozenset({"a", "an", "and", "the", "of", "to", "in", "is", "it"})


def words(text):
    """Lower-case words of `text`, stopwords left out."""
    return [w for w in re.findall(r"[a-z']+", text.lower()) if w not in STOPWORDS]
'''

_WORDFREQ_PY = r'''"""Word frequencies for the blog's tag cloud."""

from collections import Counter, defaultdict

from textutil import words


def top_words(text, n=3):
    """The n most frequent words, most frequent first, ties in alphabetical order."""
    counts = Counter(words(text))
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [word for word, _ in ranked[:n]]


def by_initial(text):
    """Distinct words grouped by their first letter."""
    groups = defaultdict(set)
    for word in words(text):
        groups[word[0]].add(word)
    return {letter: sorted(found) for letter, found in sorted(groups.items())}
'''

_TEST_WORDFREQ_PY = r'''from wordfreq import by_initial, top_words


def test_top_words():
    text = "The cat and the hat. A cat, a bat, a cat! The hat."
    assert top_words(text, 2) == ["cat", "hat"]


def test_ties_alphabetical():
    assert top_words("zebra apple mango", 3) == ["apple", "mango", "zebra"]


def test_by_initial():
    assert by_initial("bob and bill ate apples") == {"a": ["apples", "ate"], "b": ["bill", "bob"]}
'''

# --- settings: wrong dict key ---------------------------------------------------------------

_SETTINGS_PY = r'''"""Reads the service's settings file: `key = value` lines, # starts a comment."""

DEFAULTS = {"host": "127.0.0.1", "port": 8080, "timeout": 30.0, "debug": False}


def parse(text):
    values = {}
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise ValueError(f"expected key = value: {raw!r}")
        values[key.strip()] = value.strip()
    return values


def load_settings(text):
    values = parse(text)
    return {
        "host": values.get("host", DEFAULTS["host"]),
        "port": int(values.get("port", DEFAULTS["port"])),
        "timeout": float(values.get("timeout", DEFAULTS["timeout"])),
        "debug": values.get("debug", str(DEFAULTS["debug"])).lower() in ("1", "true", "yes"),
    }
'''

_TEST_SETTINGS_PY = r'''import pytest

from settings import load_settings, parse


def test_defaults():
    assert load_settings("") == {"host": "127.0.0.1", "port": 8080, "timeout": 30.0, "debug": False}


def test_values_from_file():
    text = "# service\nhost = example.org\nport = 9000  # staging\ntimeout = 5\ndebug = yes\n"
    assert load_settings(text) == {"host": "example.org", "port": 9000, "timeout": 5.0, "debug": True}


def test_bad_line():
    with pytest.raises(ValueError):
        parse("port 9000")
'''

# --- sizes: return None where an error was due ------------------------------------------

_SIZES_PY = r'''"""Human-readable byte sizes for the upload limits ("10MB", "1.5 GB")."""

import re

UNITS = {"b": 1, "kb": 1024, "mb": 1024 ** 2, "gb": 1024 ** 3}
_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([kmg]?b)\s*")


def parse_size(text):
    match = _SIZE.fullmatch(text.lower())
    if match is None:
        raise ValueError(f"unrecognised size: {text!r}")
    number, unit = match.groups()
    return int(float(number) * UNITS[unit])


def format_size(count):
    for unit in ("GB", "MB", "KB"):
        scale = UNITS[unit.lower()]
        if count >= scale:
            return f"{count / scale:.1f} {unit}"
    return f"{count} B"
'''

_TEST_SIZES_PY = r'''import pytest

from sizes import format_size, parse_size


def test_parse_units():
    assert parse_size("10MB") == 10 * 1024 * 1024
    assert parse_size(" 1.5 gb ") == 1610612736
    assert parse_size("512b") == 512


def test_garbage_is_rejected():
    with pytest.raises(ValueError):
        parse_size("12 parsecs")


def test_empty_is_rejected():
    with pytest.raises(ValueError):
        parse_size("")


def test_format_size():
    assert format_size(1536) == "1.5 KB"
    assert format_size(12) == "12 B"
'''

# --- stock: f-string that is not one --------------------------------------------------------

_STOCK_PY = r'''"""Stock levels for the warehouse front desk."""


class OutOfStock(ValueError):
    pass


class Stock:
    def __init__(self):
        self.levels = {}

    def add(self, sku, quantity):
        if quantity <= 0:
            raise ValueError("quantity must be positive")
        self.levels[sku] = self.levels.get(sku, 0) + quantity

    def remove(self, sku, quantity):
        if sku not in self.levels:
            raise KeyError(f"unknown SKU {sku}")
        available = self.levels[sku]
        if quantity > available:
            raise OutOfStock(f"only {available} of {sku} left, cannot remove {quantity}")
        self.levels[sku] = available - quantity
        if self.levels[sku] == 0:
            del self.levels[sku]

    def count(self, sku):
        return self.levels.get(sku, 0)
'''

_TEST_STOCK_PY = r'''import pytest

from stock import OutOfStock, Stock


def test_add_and_remove():
    s = Stock()
    s.add("A-1", 5)
    s.remove("A-1", 2)
    assert s.count("A-1") == 3


def test_removing_everything_forgets_the_sku():
    s = Stock()
    s.add("B-7", 1)
    s.remove("B-7", 1)
    assert s.levels == {}


def test_out_of_stock_message():
    s = Stock()
    s.add("A-1", 2)
    with pytest.raises(OutOfStock) as info:
        s.remove("A-1", 5)
    assert str(info.value) == "only 2 of A-1 left, cannot remove 5"
    assert s.count("A-1") == 2


def test_unknown_sku():
    with pytest.raises(KeyError):
        Stock().remove("Z-9", 1)
'''

# --- notes: mutable default argument ------------------------------------------------------

_NOTES_PY = r'''"""Notes with tags, for the note-taking app."""


class Note:
    def __init__(self, title, tags=None):
        self.title = title
        self.tags = list(tags) if tags else []

    def tag(self, label):
        if label not in self.tags:
            self.tags.append(label)
        return self


class Notebook:
    def __init__(self):
        self.notes = []

    def add(self, title, tags=None):
        note = Note(title, tags)
        self.notes.append(note)
        return note

    def tagged(self, label):
        return [note.title for note in self.notes if label in note.tags]
'''

_TEST_NOTES_PY = r'''from notes import Note, Notebook


def test_tags_are_per_note():
    first = Note("groceries")
    second = Note("ideas")
    first.tag("todo")
    assert second.tags == []


def test_given_tags_are_copied():
    tags = ["work"]
    note = Note("standup", tags)
    note.tag("daily")
    assert tags == ["work"]
    assert note.tags == ["work", "daily"]


def test_notebook_tagged():
    book = Notebook()
    book.add("a").tag("x")
    book.add("b")
    book.add("c", ["x"])
    assert book.tagged("x") == ["a", "c"]
'''

# --- grades: floor division -------------------------------------------------------------------

_GRADES_PY = r'''"""Report cards for the course."""

CUTOFFS = ((90, "A"), (80, "B"), (70, "C"), (60, "D"))


def average(scores):
    if not scores:
        raise ValueError("no scores")
    return sum(scores) / len(scores)


def letter(score):
    for cutoff, grade in CUTOFFS:
        if score >= cutoff:
            return grade
    return "F"


def report(students):
    """{name: (average rounded to 1 decimal, letter grade)}"""
    result = {}
    for name, scores in students.items():
        mean = average(scores)
        result[name] = (round(mean, 1), letter(mean))
    return result
'''

_TEST_GRADES_PY = r'''import pytest

from grades import average, letter, report


def test_average_keeps_fraction():
    assert average([90, 85]) == 87.5


def test_letter():
    assert [letter(s) for s in (95, 80, 79.9, 10)] == ["A", "B", "C", "F"]


def test_report():
    assert report({"ann": [90, 85], "bo": [60, 61, 59]}) == {"ann": (87.5, "B"), "bo": (60.0, "D")}


def test_borderline_average_is_not_rounded_up():
    assert report({"cy": [89, 90]}) == {"cy": (89.5, "B")}


def test_no_scores():
    with pytest.raises(ValueError):
        average([])
'''

# --- retry: wrong default argument value ------------------------------------------------------

_RETRY_PY = r'''"""Retrying flaky calls (the payment gateway times out now and then)."""

import time


def retry(func, attempts=3, delay=0.5, backoff=2.0, exceptions=(Exception,), sleep=time.sleep):
    """Call func() until it succeeds, at most `attempts` times (3 by default), waiting `delay`
    seconds after the first failure and `backoff` times longer after each further one.
    The last failure is re-raised."""
    if attempts < 1:
        raise ValueError("attempts must be at least 1")
    wait = delay
    for attempt in range(1, attempts + 1):
        try:
            return func()
        except exceptions:
            if attempt == attempts:
                raise
            sleep(wait)
            wait *= backoff
'''

_TEST_RETRY_PY = r'''import pytest

from retry import retry


def flaky(failures):
    calls = []

    def call():
        calls.append(1)
        if len(calls) <= failures:
            raise TimeoutError("gateway timeout")
        return "ok"
    return call, calls


def test_succeeds_after_two_failures():
    call, calls = flaky(2)
    waits = []
    assert retry(call, sleep=waits.append) == "ok"
    assert len(calls) == 3
    assert waits == [0.5, 1.0]


def test_gives_up_after_three_attempts():
    call, calls = flaky(10)
    with pytest.raises(TimeoutError):
        retry(call, sleep=lambda s: None)
    assert len(calls) == 3


def test_only_listed_exceptions_are_retried():
    call, calls = flaky(1)
    with pytest.raises(TimeoutError):
        retry(call, exceptions=(KeyError,), sleep=lambda s: None)
    assert len(calls) == 1


def test_explicit_attempts():
    call, calls = flaky(4)
    assert retry(call, attempts=5, delay=1, sleep=lambda s: None) == "ok"
'''

# --- progress: swapped arguments in a call ---------------------------------------------------

_PROGRESS_PY = r'''"""A text progress bar for the command-line downloader."""


def bar(fraction, width=20):
    filled = round(max(0.0, min(1.0, fraction)) * width)
    return "[" + "#" * filled + "-" * (width - filled) + "]"


def percent(done, total):
    if total <= 0:
        return 100
    return round(100 * done / total)


def render(done, total, width=20):
    fraction = done / total if total > 0 else 1.0
    return f"{bar(fraction, width)} {percent(done, total)}% ({done}/{total})"
'''

_TEST_PROGRESS_PY = r'''from progress import bar, percent, render


def test_bar():
    assert bar(0.25, 8) == "[##------]"


def test_percent():
    assert percent(1, 3) == 33


def test_render_half():
    assert render(5, 10) == "[##########----------] 50% (5/10)"


def test_render_nothing_to_do():
    assert render(0, 0, 4) == "[####] 100% (0/0)"
'''

# === JavaScript projects ================================================================

def _package(name: str, kind: str | None) -> str:
    type_line = f'  "type": "{kind}",\n' if kind else ""
    return ('{\n'
            f'  "name": "{name}",\n'
            '  "version": "1.0.0",\n'
            '  "private": true,\n'
            f'{type_line}'
            '  "scripts": {\n'
            '    "test": "node --test"\n'
            '  }\n'
            '}\n')


# --- slugify (ESM): regex without the g flag --------------------------------------------------

_SLUGIFY_JS = r'''const COMBINING_MARKS = /[\u0300-\u036f]/g;

export function slugify(title, separator = "-") {
  return title
    .normalize("NFKD")
    .replace(COMBINING_MARKS, "")
    .toLowerCase()
    .trim()
    .replace(/[^a-z0-9]+/g, separator)
    .replace(new RegExp(`^${separator}+|${separator}+$`, "g"), "");
}

export function uniqueSlug(title, taken) {
  const base = slugify(title);
  let slug = base;
  let n = 2;
  while (taken.has(slug)) {
    slug = `${base}-${n}`;
    n += 1;
  }
  return slug;
}
'''

_TEST_SLUGIFY_JS = r'''import { test } from "node:test";
import assert from "node:assert/strict";
import { slugify, uniqueSlug } from "../src/slugify.js";

test("spaces become dashes", () => {
  assert.equal(slugify("Hello World Again"), "hello-world-again");
});

test("accents and punctuation", () => {
  assert.equal(slugify("  Crème Brûlée, Part 2!  "), "creme-brulee-part-2");
});

test("custom separator", () => {
  assert.equal(slugify("a b", "_"), "a_b");
});

test("unique slug gets a counter", () => {
  assert.equal(uniqueSlug("My Post", new Set(["my-post", "my-post-2"])), "my-post-3");
});
'''

# --- eventqueue (CommonJS): indexOf result tested for truthiness -------------------------------

_EVENTS_JS = r'''"use strict";

class EventQueue {
  constructor() {
    this.handlers = new Map();
    this.queue = [];
  }

  on(name, handler) {
    if (!this.handlers.has(name)) this.handlers.set(name, []);
    this.handlers.get(name).push(handler);
    return () => this.off(name, handler);
  }

  off(name, handler) {
    const list = this.handlers.get(name) || [];
    const index = list.indexOf(handler);
    if (index !== -1) list.splice(index, 1);
  }

  push(name, payload) {
    this.queue.push({ name, payload });
  }

  drain() {
    let delivered = 0;
    while (this.queue.length > 0) {
      const { name, payload } = this.queue.shift();
      for (const handler of [...(this.handlers.get(name) || [])]) {
        handler(payload);
        delivered += 1;
      }
    }
    return delivered;
  }
}

module.exports = { EventQueue };
'''

_TEST_EVENTS_JS = r'''"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const { EventQueue } = require("../lib/events.js");

test("drain delivers queued events in order", () => {
  const q = new EventQueue();
  const seen = [];
  q.on("msg", (p) => seen.push(p));
  q.push("msg", 1);
  q.push("msg", 2);
  assert.equal(q.drain(), 2);
  assert.deepEqual(seen, [1, 2]);
});

test("unsubscribing the first handler", () => {
  const q = new EventQueue();
  const seen = [];
  const stop = q.on("msg", () => seen.push("first"));
  q.on("msg", () => seen.push("second"));
  stop();
  q.push("msg");
  q.drain();
  assert.deepEqual(seen, ["second"]);
});

test("removing a handler that was never added leaves the others", () => {
  const q = new EventQueue();
  const seen = [];
  q.on("msg", () => seen.push("a"));
  q.on("msg", () => seen.push("b"));
  q.off("msg", () => {});
  q.push("msg");
  q.drain();
  assert.deepEqual(seen, ["a", "b"]);
});
'''

# --- money (.mjs): cents not zero-padded ----------------------------------------------------

_MONEY_MJS = r'''export function formatMoney(cents, symbol = "$") {
  const sign = cents < 0 ? "-" : "";
  const abs = Math.abs(Math.round(cents));
  const whole = Math.floor(abs / 100).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  const fraction = String(abs % 100).padStart(2, "0");
  return `${sign}${symbol}${whole}.${fraction}`;
}

export function parseMoney(text) {
  const match = /^(-)?\$?([\d,]+)(?:\.(\d{1,2}))?$/.exec(text.trim());
  if (!match) throw new Error(`not an amount: ${text}`);
  const [, minus, whole, fraction = "0"] = match;
  const cents = Number(whole.replace(/,/g, "")) * 100 + Number(fraction.padEnd(2, "0"));
  return minus ? -cents : cents;
}
'''

_TEST_MONEY_MJS = r'''import { test } from "node:test";
import assert from "node:assert/strict";
import { formatMoney, parseMoney } from "../money.mjs";

test("formats small amounts", () => {
  assert.equal(formatMoney(105), "$1.05");
  assert.equal(formatMoney(100), "$1.00");
  assert.equal(formatMoney(99), "$0.99");
});

test("thousands separators and sign", () => {
  assert.equal(formatMoney(123456789), "$1,234,567.89");
  assert.equal(formatMoney(-250), "-$2.50");
});

test("round trip", () => {
  for (const cents of [0, 7, 1050, 100000]) {
    assert.equal(parseMoney(formatMoney(cents)), cents);
  }
});

test("parse rejects junk", () => {
  assert.throws(() => parseMoney("ten dollars"));
});
'''

# --- pagination (CommonJS): slice end one short ---------------------------------------------

_PAGINATE_JS = r'''"use strict";

function pageCount(total, perPage) {
  if (!(perPage > 0)) throw new RangeError("perPage must be positive");
  return Math.max(1, Math.ceil(total / perPage));
}

function paginate(items, page, perPage = 10) {
  const pages = pageCount(items.length, perPage);
  if (page < 1 || page > pages) {
    throw new RangeError(`page ${page} is out of range 1-${pages}`);
  }
  const start = (page - 1) * perPage;
  return {
    items: items.slice(start, start + perPage),
    page,
    pages,
    hasPrev: page > 1,
    hasNext: page < pages,
  };
}

module.exports = { pageCount, paginate };
'''

_TEST_PAGINATE_JS = r'''"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const { pageCount, paginate } = require("../src/paginate.js");

const items = Array.from({ length: 25 }, (_, i) => i + 1);

test("page count", () => {
  assert.equal(pageCount(25, 10), 3);
  assert.equal(pageCount(0, 10), 1);
});

test("first page is full", () => {
  const first = paginate(items, 1);
  assert.deepEqual(first.items, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  assert.equal(first.hasPrev, false);
  assert.equal(first.hasNext, true);
});

test("every item is on some page", () => {
  const seen = [1, 2, 3].flatMap((p) => paginate(items, p).items);
  assert.deepEqual(seen, items);
});

test("out of range page", () => {
  assert.throws(() => paginate(items, 4), /out of range 1-3/);
});
'''

# --- lrucache (CommonJS, two files): eviction threshold ------------------------------------

_LRU_JS = r'''"use strict";

class LRUCache {
  constructor(capacity) {
    if (!(capacity > 0)) throw new RangeError("capacity must be positive");
    this.capacity = capacity;
    this.map = new Map();
  }

  get(key) {
    if (!this.map.has(key)) return undefined;
    const value = this.map.get(key);
    this.map.delete(key);
    this.map.set(key, value);
    return value;
  }

  set(key, value) {
    if (this.map.has(key)) this.map.delete(key);
    this.map.set(key, value);
    if (this.map.size > this.capacity) {
      this.map.delete(this.map.keys().next().value);
    }
    return this;
  }

  get size() {
    return this.map.size;
  }
}

module.exports = { LRUCache };
'''

_MEMOIZE_JS = r'''"use strict";

const { LRUCache } = require("./lru.js");

function memoize(fn, capacity = 100) {
  const cache = new LRUCache(capacity);
  return function memoized(arg) {
    const hit = cache.get(arg);
    if (hit !== undefined) return hit;
    const value = fn(arg);
    cache.set(arg, value);
    return value;
  };
}

module.exports = { memoize };
'''

_TEST_LRU_JS = r'''"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const { LRUCache } = require("../lib/lru.js");
const { memoize } = require("../lib/memoize.js");

test("holds up to capacity entries", () => {
  const cache = new LRUCache(2);
  cache.set("a", 1).set("b", 2);
  assert.equal(cache.size, 2);
  assert.equal(cache.get("a"), 1);
  assert.equal(cache.get("b"), 2);
});

test("evicts the least recently used", () => {
  const cache = new LRUCache(2);
  cache.set("a", 1).set("b", 2);
  cache.get("a");
  cache.set("c", 3);
  assert.equal(cache.get("b"), undefined);
  assert.equal(cache.get("a"), 1);
  assert.equal(cache.get("c"), 3);
});

test("memoize reuses results", () => {
  let calls = 0;
  const square = memoize((n) => { calls += 1; return n * n; }, 2);
  square(3); square(4); square(3); square(4);
  assert.equal(calls, 2);
});
'''

# --- binsearch (ESM): fractional midpoint ---------------------------------------------------

_SEARCH_JS = r'''export function binarySearch(sorted, target) {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (sorted[mid] === target) return mid;
    if (sorted[mid] < target) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

export function insertionPoint(sorted, value) {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
'''

_TEST_SEARCH_JS = r'''import { test } from "node:test";
import assert from "node:assert/strict";
import { binarySearch, insertionPoint } from "../src/search.js";

test("finds every element of an odd-length array", () => {
  const data = [1, 3, 5, 7, 9];
  data.forEach((v, i) => assert.equal(binarySearch(data, v), i));
});

test("finds every element of an even-length array", () => {
  const data = [1, 3, 5, 7];
  data.forEach((v, i) => assert.equal(binarySearch(data, v), i));
});

test("missing values", () => {
  assert.equal(binarySearch([1, 3, 5, 7], 4), -1);
  assert.equal(binarySearch([], 1), -1);
});

test("insertion point", () => {
  assert.equal(insertionPoint([1, 3, 5, 7], 4), 2);
  assert.equal(insertionPoint([1, 3, 5, 7], 8), 4);
});
'''

# --- matrix (CommonJS): every row is the same array -----------------------------------------

_MATRIX_JS = r'''"use strict";

function zeros(rows, cols) {
  return Array.from({ length: rows }, () => new Array(cols).fill(0));
}

function identity(n) {
  const m = zeros(n, n);
  for (let i = 0; i < n; i++) m[i][i] = 1;
  return m;
}

function transpose(m) {
  return m[0].map((_, j) => m.map((row) => row[j]));
}

function multiply(a, b) {
  if (a[0].length !== b.length) throw new Error("shapes do not match");
  const out = zeros(a.length, b[0].length);
  for (let i = 0; i < a.length; i++) {
    for (let j = 0; j < b[0].length; j++) {
      for (let k = 0; k < b.length; k++) out[i][j] += a[i][k] * b[k][j];
    }
  }
  return out;
}

module.exports = { zeros, identity, transpose, multiply };
'''

_TEST_MATRIX_JS = r'''"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const { identity, multiply, transpose, zeros } = require("../matrix.js");

test("zeros", () => {
  assert.deepEqual(zeros(2, 3), [[0, 0, 0], [0, 0, 0]]);
});

test("identity", () => {
  assert.deepEqual(identity(3), [[1, 0, 0], [0, 1, 0], [0, 0, 1]]);
});

test("multiply", () => {
  assert.deepEqual(multiply([[1, 2], [3, 4]], [[5, 6], [7, 8]]), [[19, 22], [43, 50]]);
});

test("transpose", () => {
  assert.deepEqual(transpose([[1, 2, 3], [4, 5, 6]]), [[1, 4], [2, 5], [3, 6]]);
});
'''

# --- receipt (ESM, two files): a template literal in plain quotes -----------------------------

_FORMAT_JS = r'''export function money(cents) {
  return `$${(cents / 100).toFixed(2)}`;
}

export function itemLine(name, quantity, cents) {
  const label = quantity > 1 ? `${name} x${quantity}` : name;
  return label.padEnd(20) + money(quantity * cents).padStart(10);
}
'''

_CART_JS = r'''import { itemLine, money } from "./format.js";

export class Cart {
  constructor(taxRate = 0) {
    this.items = new Map();
    this.taxRate = taxRate;
  }

  add(name, cents, quantity = 1) {
    const current = this.items.get(name);
    this.items.set(name, { cents, quantity: (current ? current.quantity : 0) + quantity });
    return this;
  }

  subtotal() {
    let total = 0;
    for (const { cents, quantity } of this.items.values()) total += cents * quantity;
    return total;
  }

  tax() {
    return Math.round(this.subtotal() * this.taxRate);
  }

  receipt() {
    const lines = [...this.items].map(([name, { cents, quantity }]) => itemLine(name, quantity, cents));
    lines.push(`Subtotal: ${money(this.subtotal())}`);
    lines.push(`Tax: ${money(this.tax())}`);
    lines.push(`Total: ${money(this.subtotal() + this.tax())}`);
    return lines.join("\n");
  }
}
'''

_TEST_CART_JS = r'''import { test } from "node:test";
import assert from "node:assert/strict";
import { Cart } from "../src/cart.js";

test("subtotal and tax", () => {
  const cart = new Cart(0.1).add("Coffee", 350, 2).add("Bagel", 300);
  assert.equal(cart.subtotal(), 1000);
  assert.equal(cart.tax(), 100);
});

test("receipt lines", () => {
  const cart = new Cart(0.1).add("Coffee", 350).add("Bagel", 300).add("Coffee", 350);
  const lines = cart.receipt().split("\n");
  assert.equal(lines[0], "Coffee x2" + " ".repeat(11) + "     $7.00");
  assert.equal(lines[2], "Subtotal: $10.00");
  assert.equal(lines[3], "Tax: $1.00");
  assert.equal(lines[4], "Total: $11.00");
});
'''

# === the tasks ============================================================================

# (module, bug kind, request text, {path: correct text}, file with the bug, correct snippet,
#  buggy snippet). The snippet must occur exactly once in that file.
_SPECS = (
    # --- Python
    ("intervals", "wrong_comparison",
     "merge_intervals([(1, 3), (3, 5)]) gives back [(1, 3), (3, 5)]; intervals that just touch "
     "should come out as one (1, 5)",
     {"intervals.py": _INTERVALS_PY, "test_intervals.py": _TEST_INTERVALS_PY},
     "intervals.py", "if merged and start <= merged[-1][1]:", "if merged and start < merged[-1][1]:"),
    ("dates", "off_by_one_bound",
     "days_in_range(date(2024, 3, 1), date(2024, 3, 3)) leaves out March 3rd, and nights() says a "
     "two-night stay is one night",
     {"dates.py": _DATES_PY, "test_dates.py": _TEST_DATES_PY},
     "dates.py", "range((end - start).days + 1)", "range((end - start).days)"),
    ("contacts", "missing_return",
     "dedupe(['555 123 4567', '(555) 123-4567']) gives me None instead of the list of unique "
     "numbers, and merge() returns None too",
     {"phone.py": _PHONE_PY, "contacts.py": _CONTACTS_PY, "test_contacts.py": _TEST_CONTACTS_PY},
     "contacts.py", "            unique.append(key)\n    return unique\n",
     "            unique.append(key)\n"),
    ("habits", "missing_loop_update",
     "longest_streak([1, 2, 3, 5]) returns 1, but days 1, 2 and 3 in a row are a streak of 3",
     {"habits.py": _HABITS_PY, "test_habits.py": _TEST_HABITS_PY},
     "habits.py", "        best = max(best, current)\n        previous = day\n",
     "        best = max(best, current)\n"),
    ("ledger", "wrong_variable",
     "after book.transfer('alice', 'bob', 30) Bob still has 0 and Alice's balance hasn't gone down",
     {"ledger/__init__.py": _LEDGER_INIT_PY, "ledger/core.py": _LEDGER_CORE_PY,
      "test_ledger.py": _TEST_LEDGER_PY},
     "ledger/core.py", "        self.deposit(target, amount)", "        self.deposit(source, amount)"),
    ("csvlite", "missing_condition",
     "split_row('1,\"Smith, John\",42') gives four fields - the quoted name gets cut in two at its comma",
     {"csvlite.py": _CSVLITE_PY, "test_csvlite.py": _TEST_CSVLITE_PY},
     "csvlite.py", 'elif ch == "," and not in_quotes:', 'elif ch == ",":'),
    ("textblocks", "empty_container_init",
     "paragraphs() crashes with IndexError: list index out of range as soon as the input has a line "
     "in it; headlines() too",
     {"textblocks.py": _TEXTBLOCKS_PY, "test_textblocks.py": _TEST_TEXTBLOCKS_PY},
     "textblocks.py", "    groups = [[]]\n", "    groups = []\n"),
    ("perms", "bitwise_slip",
     "revoking WRITE from a read+write user leaves '-w-' instead of 'r--', and revoking a flag "
     "someone doesn't have wipes all their permissions",
     {"perms.py": _PERMS_PY, "test_perms.py": _TEST_PERMS_PY},
     "perms.py", "self.mask &= ~flag", "self.mask &= flag"),
    ("wordfreq", "missing_import",
     "top_words() dies with NameError: name 'Counter' is not defined",
     {"textutil.py": _TEXTUTIL_PY, "wordfreq.py": _WORDFREQ_PY, "test_wordfreq.py": _TEST_WORDFREQ_PY},
     "wordfreq.py", "from collections import Counter, defaultdict", "from collections import defaultdict"),
    ("settings", "wrong_dict_key",
     "`timeout = 5` in the settings file is ignored: load_settings still reports a timeout of 30.0 "
     "(host, port and debug from the file work)",
     {"settings.py": _SETTINGS_PY, "test_settings.py": _TEST_SETTINGS_PY},
     "settings.py", 'values.get("timeout", DEFAULTS["timeout"])', 'values.get("timout", DEFAULTS["timeout"])'),
    ("sizes", "none_instead_of_raise",
     "parse_size('12 parsecs') quietly returns None, so bad limits end up in the config as None "
     "instead of being refused",
     {"sizes.py": _SIZES_PY, "test_sizes.py": _TEST_SIZES_PY},
     "sizes.py", '        raise ValueError(f"unrecognised size: {text!r}")\n', "        return None\n"),
    ("stock", "fstring_not_formatted",
     "removing more than we have raises an error that literally reads 'only {available} of {sku} "
     "left, cannot remove {quantity}' - the real numbers never show up",
     {"stock.py": _STOCK_PY, "test_stock.py": _TEST_STOCK_PY},
     "stock.py", 'OutOfStock(f"only {available}', 'OutOfStock("only {available}'),
    ("notes", "mutable_default",
     "if I tag one note, every other note that was created without tags shows the same tag",
     {"notes.py": _NOTES_PY, "test_notes.py": _TEST_NOTES_PY},
     "notes.py",
     "    def __init__(self, title, tags=None):\n        self.title = title\n"
     "        self.tags = list(tags) if tags else []\n",
     "    def __init__(self, title, tags=[]):\n        self.title = title\n        self.tags = tags\n"),
    ("grades", "floor_division",
     "average([90, 85]) comes out as 87 instead of 87.5, so report cards only ever show whole numbers",
     {"grades.py": _GRADES_PY, "test_grades.py": _TEST_GRADES_PY},
     "grades.py", "return sum(scores) / len(scores)", "return sum(scores) // len(scores)"),
    ("retry", "wrong_default",
     "retry(call) re-raises right after the first failure; it's supposed to try 3 times, waiting "
     "0.5s then 1s",
     {"retry.py": _RETRY_PY, "test_retry.py": _TEST_RETRY_PY},
     "retry.py", "def retry(func, attempts=3,", "def retry(func, attempts=1,"),
    ("progress", "swapped_arguments",
     "render(5, 10) shows 200% instead of 50% (the bar itself is drawn half full, which is right)",
     {"progress.py": _PROGRESS_PY, "test_progress.py": _TEST_PROGRESS_PY},
     "progress.py", "{percent(done, total)}%", "{percent(total, done)}%"),
    # --- JavaScript
    ("slugify", "regex_missing_global",
     "slugify('Hello World Again') gives 'hello-world again' - only the first gap turns into a dash",
     {"package.json": _package("slugify", "module"), "src/slugify.js": _SLUGIFY_JS,
      "test/slugify.test.js": _TEST_SLUGIFY_JS},
     "src/slugify.js", ".replace(/[^a-z0-9]+/g, separator)", ".replace(/[^a-z0-9]+/, separator)"),
    ("eventqueue", "truthy_index_check",
     "unsubscribing the first handler of an event does nothing - it still fires on drain() - and "
     "off() with a handler that was never added removes a different one",
     {"package.json": _package("eventqueue", "commonjs"), "lib/events.js": _EVENTS_JS,
      "test/events.test.js": _TEST_EVENTS_JS},
     "lib/events.js", "if (index !== -1) list.splice", "if (index) list.splice"),
    ("money", "missing_zero_pad",
     "formatMoney(105) prints $1.5 instead of $1.05, and formatMoney(100) prints $1.0",
     {"package.json": _package("money", None), "money.mjs": _MONEY_MJS,
      "test/money.test.mjs": _TEST_MONEY_MJS},
     "money.mjs", 'String(abs % 100).padStart(2, "0")', "String(abs % 100)"),
    ("pagination", "off_by_one_slice",
     "paginate(items, 1) with 10 per page only returns 9 items; the 10th, 20th... never appear on any page",
     {"package.json": _package("pagination", "commonjs"), "src/paginate.js": _PAGINATE_JS,
      "test/paginate.test.js": _TEST_PAGINATE_JS},
     "src/paginate.js", "items.slice(start, start + perPage)", "items.slice(start, start + perPage - 1)"),
    ("lrucache", "wrong_comparison",
     "new LRUCache(2) only ever keeps one entry: setting a second key throws the first one out, "
     "so memoize() recomputes everything",
     {"package.json": _package("lrucache", "commonjs"), "lib/lru.js": _LRU_JS,
      "lib/memoize.js": _MEMOIZE_JS, "test/lru.test.js": _TEST_LRU_JS},
     "lib/lru.js", "if (this.map.size > this.capacity)", "if (this.map.size >= this.capacity)"),
    ("binsearch", "fractional_index",
     "binarySearch([1, 3, 5, 7], 7) returns -1 although 7 is right there (in [1, 3, 5, 7, 9] it "
     "does find 5)",
     {"package.json": _package("binsearch", "module"), "src/search.js": _SEARCH_JS,
      "test/search.test.js": _TEST_SEARCH_JS},
     "src/search.js", "const mid = Math.floor((lo + hi) / 2);", "const mid = (lo + hi) / 2;"),
    ("matrix", "shared_row_array",
     "identity(3) comes back as three rows of [1, 1, 1], and multiply() gives wrong numbers too",
     {"package.json": _package("matrix", "commonjs"), "matrix.js": _MATRIX_JS,
      "test/matrix.test.js": _TEST_MATRIX_JS},
     "matrix.js", "Array.from({ length: rows }, () => new Array(cols).fill(0))",
     "new Array(rows).fill(new Array(cols).fill(0))"),
    ("receipt", "template_literal_quotes",
     "the last line of the receipt literally reads 'Total: ${money(this.subtotal() + this.tax())}' "
     "instead of the amount; Subtotal and Tax lines are fine",
     {"package.json": _package("receipt", "module"), "src/format.js": _FORMAT_JS, "src/cart.js": _CART_JS,
      "test/cart.test.js": _TEST_CART_JS},
     "src/cart.js", "lines.push(`Total: ${money(this.subtotal() + this.tax())}`);",
     'lines.push("Total: ${money(this.subtotal() + this.tax())}");'),
)


def _is_test(path: str) -> bool:
    name = PurePosixPath(path).name
    return (name.startswith("test_") and name.endswith(".py")) or ".test." in name


def _first_changed_line(buggy: str, fixed: str) -> int:
    """1-based line of `buggy` that the fix first changes; for a fix that only inserts lines,
    the buggy line just above the insertion (1 at the top of the file)."""
    matcher = difflib.SequenceMatcher(None, buggy.splitlines(), fixed.splitlines(), autojunk=False)
    for tag, i1, _i2, _j1, _j2 in matcher.get_opcodes():
        if tag in ("replace", "delete"):
            return i1 + 1
        if tag == "insert":
            return max(i1, 1)
    return 0


def _build(module, kind, text, files, bug_file, correct, buggy) -> Task:
    source = files[bug_file]
    if source.count(correct) != 1:
        raise AssertionError(f"{module}: the fix snippet occurs {source.count(correct)} times")
    broken = source.replace(correct, buggy)
    return Task(
        id=f"blind-{module}-{kind}",
        text=text,
        files={**files, bug_file: broken},
        fixed={bug_file: source},
        test_files=tuple(sorted(p for p in files if _is_test(p))),
        mutation=kind,
        module=module,
        source="blind",
        line=_first_changed_line(broken, source),
    )


def blind_bug_tasks() -> list[Task]:
    """The 24 held-out bug tasks (16 Python, then 8 JavaScript), in a fixed order."""
    return [_build(*spec) for spec in _SPECS]
