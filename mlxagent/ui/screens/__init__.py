"""Screens of the TUI, each with its stylesheet beside it."""
