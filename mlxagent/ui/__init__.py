"""The Textual TUI: the app, its screens and widgets, and its themes."""
