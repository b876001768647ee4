"""Candidate edits grounded in a user's plain request (no failing test behind it): set a key in a
structured file, bump a version, fix a typo, rename an identifier, replace literal text.

`extract` reads the request, `candidates` proposes edits (most plausible first), `confirms` checks
that an edit carries out the request's literals and nothing else."""

from .base import Edit, Intent
from .extract import extract
from .propose import candidates
from .validate import confirms

__all__ = ["Edit", "Intent", "candidates", "confirms", "extract"]
