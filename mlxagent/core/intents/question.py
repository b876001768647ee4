"""Whether a request only asks something ("what is the capital of France?", "what does add in
calc.py do?", "explain the retry policy"): such a turn is answered, not turned into an edit.

A request is a question when it is shaped like one (a question mark, or it opens with a question
word or "explain"/"describe"/"tell me"/"summarise") and names no change: no verb of changing
said as one ("can you fix …?", "how do I rename …?" ask for the change; "what does add do?" does
not) and nothing the phrase rules read as one (extract.py). Anything else is a task, as before.

`named_files` lists the repository's files such a question names, to be attached to it as with
`@path`: a small model answers from a file in front of it far better than it finds one.
"""

from __future__ import annotations

import re

_OPENERS = re.compile(
    r"^\s*(?:what|what's|whats|why|how|where|which|who|whom|whose|when|is|are|was|were|does|do|did|"
    r"can|could|would|should|will|has|have|explain|describe|tell\s+me|summari[sz]e|list|show\s+me)\b"
    r"(?![(.\w])",  # not a call or a name: "summarize(rows) gives …"
    re.I)
# a defect reported, not asked about: a failing test or an exception named, "instead of", "fails"
# ("When transfer is given an unknown id, it raises KeyError but the money has left"): a task,
# unless it ends with a question mark ("why does test_login fail?" asks)
_REPORTED = re.compile(r"\btest_\w+|\b\w+(?:Error|Exception)\b|\binstead\s+of\b|\bfail(?:s|ed|ing)?\b|"
                       r"\bcrash\w*|\bbroken\b|\bwrong\b|\bbug(?:gy)?\b")
# a verb of changing counts where it is said as one: opening the request or a clause, or after
# "you", "I", "we", "to", "please", "and", "then" ("can you fix …", "how do I rename …"), not where
# it names a thing ("what does add in calc.py do?", "is the port set in settings.ini?")
_LEAD = r"(?:^|[.,;:!?\-\u2013\u2014]\s*|\b(?:you|i|we|me|us|to|please|and|then|just|also|should|must|let's|lets)\s+)"
_CHANGING = re.compile(
    _LEAD + r"(?:fix\w*|chang\w*|set|sets|setting|renam\w*|bump\w*|add|adds|adding|remov\w*|delet\w*|updat\w*|"
    r"make|makes|making|implement\w*|creat\w*|write|writes|writing|refactor\w*|replac\w*|edit\w*|modif\w*|"
    r"correct\w*|move|moving|convert\w*|upgrad\w*|increas\w*|decreas\w*|insert\w*|append\w*|drop\w*|"
    r"clean\w*|format\w*|improv\w*|optimi[sz]\w*|translat\w*|patch\w*|repair\w*|resolv\w*|mend\w*|"
    r"bump|revert\w*|undo|install\w*|run|running|test\s+it|commit\w*|generat\w*|port\s+it|"
    r"extract\w*|split\w*|merg\w*|swap\w*|turn\s+on|turn\s+off|enabl\w*|disabl\w*)\b", re.I | re.M)


# an answer to be written into the repository ("explain X in a comment at the top of the file")
_WRITTEN = re.compile(r"\b(?:in|into|as)\s+(?:a|an|the|its|each)?\s*(?:\w+\s+)?(?:comments?|docstrings?|header)\b|"
                      r"\b(?:to|into)\s+the\s+(?:readme|changelog|docs|documentation)\b|\bat\s+the\s+top\s+of\b",
                      re.I)


def answer_only(request: str) -> bool:
    """The request asks a question and names no change (see the module's note)."""
    from .extract import extract

    text = (request or "").strip()
    if not text or "\n" in text.strip():
        return False  # a pasted block (a traceback, a diff) comes with a task more often than not
    shaped = text.endswith("?") or bool(_OPENERS.search(text))
    if not shaped or _CHANGING.search(text) or _WRITTEN.search(text):
        return False
    if not text.endswith("?") and _REPORTED.search(text):
        return False
    try:
        return not extract(text)
    except Exception:  # noqa: BLE001 - a rule that cannot read it: treat it as a task
        return False


_PATHLIKE = re.compile(r"[\w./\-]+\.[A-Za-z0-9]+|[\w\-]+/[\w./\-]+")


def named_files(request: str, files: list[str], limit: int = 3) -> list[str]:
    """Files of `files` that `request` names, by their path or by a file name only one of them
    has; at most `limit`, in the order named."""
    listed = set(files)
    by_name: dict[str, list[str]] = {}
    for path in files:
        by_name.setdefault(path.rsplit("/", 1)[-1], []).append(path)
    out: list[str] = []
    for token in _PATHLIKE.findall(request or ""):
        token = token.strip("./") if not token.startswith("./") else token[2:]
        token = token.rstrip(".")
        hit = token if token in listed else (by_name.get(token, [None])[0] if len(by_name.get(token, [])) == 1 else None)
        if hit and hit not in out:
            out.append(hit)
        if len(out) >= limit:
            break
    return out
