"""Widgets of the TUI: transcript, tool cards, diffs, the status bar and the input."""
