"""Generate-and-validate repair: candidate edits near a failure, ranked by the model, checked by
the tests in a scratch copy. See search.py for the method."""

from .search import (  # noqa: F401 - the package's face
    Candidate, RepairResult, ScratchCopy, Sources, Suspect, candidates, first_change, is_test_path, rank,
    scoring_messages, search, suspects,
)
