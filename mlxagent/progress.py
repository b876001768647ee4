"""A progress line on stderr, shared by the CLI and headless runs."""

from __future__ import annotations

import sys


def progress_printer(label: str):
    """A progress callback that redraws one line on stderr."""

    def show(stage: str, fraction: float) -> None:
        end = "\n" if fraction >= 1.0 else ""
        print(f"\r{label}: {stage} {fraction * 100:5.1f}%\033[K", end=end, file=sys.stderr, flush=True)

    return show
