"""The defaults of `mlxagent tune` (standard library only: the CLI reads them to build --help)."""

DEFAULT_NAME = "mine"
DEFAULT_SYNTHETIC = 40  # generated traces for `--synthetic` without a number: the measured default
DEFAULT_EVAL_COUNT = 8
DEFAULT_EPOCHS = 3  # passes over the data when --steps is not given
