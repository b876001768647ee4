"""Tests as the agent's oracle: running commands (runner), finding the test command (detect),
reading test output (report), consent to run commands (consent, gate)."""
