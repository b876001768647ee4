"""User-facing errors.

Anything a user can trigger (a bad path, a broken file, no network) raises a
subclass of `MlxAgentError` whose message is one clear line. The CLI, the TUI and
the server print that line instead of a traceback.
"""


class MlxAgentError(Exception):
    """An error whose message is meant for the user, as is."""


class ModelError(MlxAgentError):
    """A model could not be found, imported, downloaded or loaded."""


class UnsupportedModelError(ModelError):
    """The model's architecture or quantisation type is not supported."""


class OfflineError(ModelError):
    """A hub or package index needed for this step cannot be reached."""


class CancelledError(MlxAgentError):
    """The user cancelled a long operation (download, import, generation)."""
