"""Loop prevention: the read-loop guard (readloop.py) and repeated-read suppression (repeats.py).

The agent loop and the server's replay (server/guard_steer.py) both feed tool calls to these;
neither does I/O of its own."""

from .readloop import (  # noqa: F401 - the package's face
    FORCE_REFUSAL, LEVELS, Decision, ForceSpec, GuardConfig, GuardConfigError, ReadLoopGuard,
    thresholds_for_model,
)
from .repeats import RepeatedReads  # noqa: F401
