"""What the review screen decides, kept apart from how it looks.

One `FileReview` per proposal: a decision per hunk (True = accept) and the reason told to
the model. Every hunk starts accepted, so applying an untouched review accepts the proposal
as shown; the user rejects what they do not want. `ReviewState` adds the cursor (which file,
which hunk) and turns the decisions into one `Review` per proposal.

A reason is a rejection: typing one rejects its target, the hunk under the cursor, or the
hunk just rejected with r, or the whole file after A or R (the last decision's scope).
Clearing the reason again gives the target back the decisions it had before. Nothing here
applies anything: `summary()` says what the apply key will do.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..core.events import Review


@dataclass
class FileReview:
    proposal: object  # core.proposals.Proposal
    accepted: list[bool] = field(default_factory=list)
    reason: str = ""

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

    @property
    def sends_reason(self) -> bool:
        """The reason reaches the model: there is one and something was turned down."""
        return bool(self.reason.strip()) and not all(self.accepted)

    def review(self) -> Review:
        # A reason only means something to the model when something was turned down.
        return Review(tuple(self.accepted), self.reason.strip() if self.sends_reason else "")


@dataclass(frozen=True)
class ReasonTarget:
    """What typing a reason rejects: one hunk of a file, or the whole file (hunk None)."""

    file_index: int
    hunk_index: int | None


class ReviewState:
    def __init__(self, proposals: list[object]) -> None:
        if not proposals:
            raise ValueError("nothing to review")
        self.files = [FileReview(p) for p in proposals]
        self.file_index = 0
        self.hunk_index = 0
        # The scope of the last decision, for the reason: the hunk r rejected (the cursor has
        # moved on) or the file A/R decided. None: the hunk under the cursor.
        self._last: ReasonTarget | None = None
        self._target: ReasonTarget | None = None  # while a reason is typed
        self._before: list[bool] = []  # the target file's decisions when the reason began

    @property
    def file(self) -> FileReview:
        return self.files[self.file_index]

    @property
    def reason(self) -> str:
        """The current file's reason."""
        return self.file.reason

    @reason.setter
    def reason(self, text: str) -> None:
        self.set_reason(text)

    # -- moving ---------------------------------------------------------------------------

    def next_hunk(self) -> None:
        self._last = None
        self.hunk_index = min(self.hunk_index + 1, max(self.file.n_hunks - 1, 0))

    def previous_hunk(self) -> None:
        self._last = None
        self.hunk_index = max(self.hunk_index - 1, 0)

    def next_file(self, step: int = 1) -> None:
        self.select_file(self.file_index + step)

    def select_file(self, index: int) -> None:
        self._last = None
        self.file_index = index % len(self.files)
        self.hunk_index = 0

    # -- deciding -------------------------------------------------------------------------

    def _set(self, value: bool | None) -> None:
        if self.file.n_hunks:
            current = self.file.accepted[self.hunk_index]
            self.file.accepted[self.hunk_index] = (not current) if value is None else value

    def toggle(self) -> None:
        self._set(None)
        self._last = None

    def accept(self) -> None:
        """Accept the current hunk and move on to the next."""
        self._set(True)
        self.next_hunk()

    def reject(self) -> None:
        """Reject the current hunk and move on to the next; a reason typed now is about it."""
        rejected = self.hunk_index
        self._set(False)
        self.next_hunk()
        if self.file.n_hunks:
            self._last = ReasonTarget(self.file_index, rejected)

    def accept_all(self) -> None:
        self.file.accepted = [True] * self.file.n_hunks
        self._last = ReasonTarget(self.file_index, None)

    def reject_all(self) -> None:
        self.file.accepted = [False] * self.file.n_hunks
        self._last = ReasonTarget(self.file_index, None)

    # -- the reason -------------------------------------------------------------------------

    def reason_target(self) -> ReasonTarget:
        """What a reason typed now would reject."""
        if self._last is not None and self._last.file_index == self.file_index:
            return self._last
        if not self.file.n_hunks:
            return ReasonTarget(self.file_index, None)
        return ReasonTarget(self.file_index, self.hunk_index)

    def describe(self, target: ReasonTarget) -> str:
        f = self.files[target.file_index]
        if target.hunk_index is None:
            return f"all of {f.path}" if f.n_hunks != 1 else f"{f.path}"
        return f"hunk {target.hunk_index + 1}/{f.n_hunks} of {f.path}"

    @property
    def typing_reason(self) -> bool:
        return self._target is not None

    @property
    def target(self) -> ReasonTarget:
        """What the reason is about: fixed while it is typed, else what it would be now."""
        return self._target or self.reason_target()

    def begin_reason(self) -> ReasonTarget:
        """The reason is about to be typed: fix its target and remember how the target stood."""
        self._target = self.reason_target()
        self._before = list(self.files[self._target.file_index].accepted)
        return self._target

    def end_reason(self) -> None:
        self._target = None
        self._before = []

    def set_reason(self, text: str) -> None:
        """The reason as typed: a non-empty reason rejects its target; an emptied one gives the
        target back the decisions it had when the reason began."""
        target = self.target
        f = self.files[target.file_index]
        f.reason = text
        hunks = range(f.n_hunks) if target.hunk_index is None else [target.hunk_index]
        if text.strip():
            for i in hunks:
                f.accepted[i] = False
        elif self._target is not None and len(self._before) == f.n_hunks:
            for i in hunks:
                f.accepted[i] = self._before[i]

    def reviews(self) -> list[Review]:
        """One Review per proposal, in order; each file's reason goes with it when it rejects something."""
        return [f.review() for f in self.files]

    def summary(self) -> str:
        """What the apply key does now, e.g. "apply 0 of 1 hunks, reject 1, with reason"."""
        total = sum(f.n_hunks for f in self.files)
        yes = sum(f.counts()[0] for f in self.files)
        no = total - yes
        text = f"apply {yes} of {total} hunks"
        if len(self.files) > 1:
            text += f" in {len(self.files)} files"
        if no:
            text += f", reject {no}"
            rejecting = [f for f in self.files if not all(f.accepted)]
            with_reason = sum(f.sends_reason for f in rejecting)
            if with_reason == len(rejecting):
                text += ", with reason"
            elif with_reason:
                text += f", with a reason for {with_reason} of {len(rejecting)} files"
            else:
                text += ", no reason"
        if any(f.reason.strip() and all(f.accepted) for f in self.files):
            text += " (a reason on an accepted file is not sent)"
        if not yes:
            text += " · nothing is written"
        return text
