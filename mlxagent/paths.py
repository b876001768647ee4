"""Where mlxagent keeps its config, caches and models.

`MLXAGENT_HOME` puts everything under one folder (tests and CI use it so that
nothing touches the user's real directories); otherwise platformdirs decides.
"""

from __future__ import annotations

import os
from pathlib import Path

APP_NAME = "mlxagent"


def _home() -> Path | None:
    home = os.environ.get("MLXAGENT_HOME")
    return Path(home).expanduser() if home else None


def config_dir() -> Path:
    if (home := _home()) is not None:
        return home / "config"
    import platformdirs

    return Path(platformdirs.user_config_dir(APP_NAME))


def cache_dir() -> Path:
    if (home := _home()) is not None:
        return home / "cache"
    import platformdirs

    return Path(platformdirs.user_cache_dir(APP_NAME))


def models_dir() -> Path:
    """Imported and provisioned MLX model directories live here."""
    return cache_dir() / "models"


def config_file() -> Path:
    return config_dir() / "config.toml"


def user_themes_dir() -> Path:
    return config_dir() / "themes"


def data_dir() -> Path:
    """What mlxagent writes as it works and keeps: the session database, tuned adapters' datasets."""
    if (home := _home()) is not None:
        return home / "data"
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME))
