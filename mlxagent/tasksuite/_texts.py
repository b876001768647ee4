"""The one-sentence request a user would type for a generated task."""

from __future__ import annotations

import random
import re

from ._runner import Failure

_GENERIC = (
    "{Subject} {symptom} in {test_fn}; make {test} pass.",
    "The tests in {test} fail because {subject} {symptom} (see {test_fn}); please fix {file}.",
    "{test} is failing for {label}: it {symptom} when checking that {case}; fix the bug in {file} "
    "without touching the tests.",
    "Please fix {subject}, which {symptom} so that {test_fn} fails.",
    "{test_fn} fails because {label} {symptom}; fix {file} so that {test} passes.",
)

_BY_KIND = {
    "flip_compare": (
        "{Subject} gets a boundary case wrong and {symptom} in {test_fn}; fix it so {test} passes.",
        "Something is wrong at the edges in {subject}: {test_fn} fails because it {symptom}; "
        "please fix it.",
    ),
    "flip_arith": (
        "{Subject} calculates something wrong, so {test_fn} fails; please fix {file}.",
        "The numbers from {subject} are off and {test_fn} fails; make {test} pass.",
    ),
    "off_by_one": (
        "{Subject} looks off by one: it {symptom} in {test_fn}; make {test} pass.",
        "{Subject} is off by one somewhere, so {test_fn} fails; please fix it.",
    ),
    "wrong_constant": (
        "{Subject} {symptom} in {test_fn}, probably because of a wrong value somewhere; "
        "fix {file} so {test} passes.",
        "{test} fails: {label} {symptom} when checking that {case}; please fix {file}.",
    ),
    "drop_guard": (
        "{Subject} mishandles an edge case and {symptom} in {test_fn}; make {test} pass.",
        "{Subject} breaks on a special case: {test_fn} fails because it {symptom}; please fix it.",
    ),
    "swap_args": (
        "{Subject} seems to mix two values up and {symptom} in {test_fn}; make {test} pass.",
        "{test} fails since {label} {symptom} when checking that {case}; please fix {file}.",
    ),
    "misspell_string": (
        "{Subject} has a typo somewhere and {symptom} in {test_fn}; fix {file} so {test} passes.",
        "{Subject} {symptom} because some text in it is slightly wrong, so {test_fn} fails; "
        "please fix it.",
    ),
    "rename_call": (
        "{Subject} does the wrong thing and {symptom} in {test_fn}; please fix it so {test} passes.",
        "{test_fn} in {test} fails: {label} {symptom}; fix the bug in {file}.",
    ),
}

_SENTENCE_BREAK = re.compile(r"[.!?](\s|$)")


def is_one_sentence(text: str) -> bool:
    """Ends in a full stop and has no other sentence end (file names like a.py are fine)."""
    return text.endswith(".") and len(_SENTENCE_BREAK.findall(text)) == 1 and "\n" not in text


def label(cls: str | None, func: str | None, is_property: bool, file: str) -> str:
    """How a user names the code: "clamp()", "Stack.pop()", "Temperature.kelvin" or the file."""
    if func is None:
        return cls if cls else file
    if cls is None:
        return f"{func}()"
    if func == "__init__":
        return f"the {cls} constructor"
    return f"{cls}.{func}" if is_property else f"{cls}.{func}()"


def symptom(failure: Failure) -> str:
    if failure.error == "AssertionError":
        return "gives the wrong result"
    if failure.error == "Failed" and "DID NOT RAISE" in failure.message:
        return "no longer raises the error it should"
    if failure.test == "<import>":
        return f"cannot even be imported ({failure.error})"
    return f"raises {failure.error}"


def compose(rng: random.Random, kind: str, name: str, what: str, failure: Failure,
            forbidden: tuple[str, ...]) -> str:
    """A seeded sentence describing the symptom; it never quotes any line in `forbidden`."""
    file, test = f"{name}.py", f"test_{name}.py"
    subject = what if what == file else f"{what} in {file}"
    test_fn = failure.test if failure.test != "<import>" else test
    case = test_fn.removeprefix("test_").replace("_", " ")
    fields = {
        "subject": subject,
        "Subject": subject[0].upper() + subject[1:] if subject.startswith("the ") else subject,
        "label": what,
        "file": file,
        "test": test,
        "test_fn": test_fn,
        "case": case,
        "symptom": symptom(failure),
    }
    templates = list(_BY_KIND.get(kind, ())) + list(_GENERIC)
    rng.shuffle(templates)
    templates.append("{test} fails; fix the bug in {file}.")
    for template in templates:
        text = template.format(**fields)
        if is_one_sentence(text) and not any(f.strip() and f.strip() in text for f in forbidden):
            return text
    raise AssertionError("no template fits")  # pragma: no cover - the last one always does
