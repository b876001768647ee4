"""What the review screen decides, kept apart from how it looks.

One `FileReview` per proposal: a decision per hunk (True = accept). Every hunk starts
accepted, so Enter on an untouched review accepts the proposal as shown; the user
rejects what they do not want. `ReviewState` adds the cursor (which file, which hunk)
and turns the decisions into one `Review` per proposal.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..core.events import Review


@dataclass
class FileReview:
    proposal: object  # core.proposals.Proposal
    accepted: list[bool] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.accepted:
            self.accepted = [True] * len(self.proposal.hunks)

    @property
    def path(self) -> str:
        return self.proposal.path

    @property
    def n_hunks(self) -> int:
        return len(self.accepted)

    def counts(self) -> tuple[int, int]:
        """(accepted, rejected) hunks."""
        yes = sum(self.accepted)
        return yes, self.n_hunks - yes

    def review(self, reason: str = "") -> Review:
        # A reason only means something to the model when something was turned down.
        return Review(tuple(self.accepted), reason if not all(self.accepted) else "")


class ReviewState:
    def __init__(self, proposals: list[object]) -> None:
        if not proposals:
            raise ValueError("nothing to review")
        self.files = [FileReview(p) for p in proposals]
        self.file_index = 0
        self.hunk_index = 0
        self.reason = ""

    @property
    def file(self) -> FileReview:
        return self.files[self.file_index]

    # -- moving ---------------------------------------------------------------------------

    def next_hunk(self) -> None:
        self.hunk_index = min(self.hunk_index + 1, max(self.file.n_hunks - 1, 0))

    def previous_hunk(self) -> None:
        self.hunk_index = max(self.hunk_index - 1, 0)

    def next_file(self, step: int = 1) -> None:
        self.file_index = (self.file_index + step) % len(self.files)
        self.hunk_index = 0

    def select_file(self, index: int) -> None:
        self.file_index = index % len(self.files)
        self.hunk_index = 0

    # -- deciding -------------------------------------------------------------------------

    def _set(self, value: bool | None) -> None:
        if self.file.n_hunks:
            current = self.file.accepted[self.hunk_index]
            self.file.accepted[self.hunk_index] = (not current) if value is None else value

    def toggle(self) -> None:
        self._set(None)

    def accept(self) -> None:
        """Accept the current hunk and move on to the next."""
        self._set(True)
        self.next_hunk()

    def reject(self) -> None:
        """Reject the current hunk and move on to the next."""
        self._set(False)
        self.next_hunk()

    def accept_all(self) -> None:
        self.file.accepted = [True] * self.file.n_hunks

    def reject_all(self) -> None:
        self.file.accepted = [False] * self.file.n_hunks

    def reviews(self) -> list[Review]:
        """One Review per proposal, in order; the reason goes with each that rejects something."""
        return [f.review(self.reason.strip()) for f in self.files]
