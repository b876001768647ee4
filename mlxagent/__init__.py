"""mlxagent: a terminal coding agent that runs a local MLX model."""

__version__ = "0.1.0"
