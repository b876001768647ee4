"""The settings file: `config.toml` in the platform config dir (see `paths.config_file()`).

Reading never fails: a missing file means defaults, and a broken one (bad TOML, a value of
the wrong type, an unknown key) gives defaults for the broken parts plus one warning line
each, so a typo costs the user a warning, not a crash. Writing is atomic (temp file +
`os.replace`), so an interrupted save never leaves a half-written file behind; a temp file
that a killed save left beside it (`.config.toml.XXXXXXXX.tmp`) is removed by the next load
or save, unless the process writing it is still alive (it holds a lock on it).

`update_setting` edits the file's own tables rather than re-serialising `Settings`, so the
user's other values survive as they are (even ones this version does not understand);
only comments and layout are lost, because TOML is re-written by `tomli_w`. It refuses to
touch a file that is not valid TOML rather than overwrite what the user wrote.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import os
import re
import tempfile
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import tomli_w

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; stray temp files are left alone
    fcntl = None  # type: ignore[assignment]

from . import paths
from .core.guard import GuardConfig, GuardConfigError, thresholds_for_model
from .config_tables import MODES, hooks_table, mcp_table
from .core.tomlfile import TomlReadError, TomlSyntaxError, read_toml
from .errors import MlxAgentError

DEFAULT_GUARD: dict[str, Any] = {
    "enabled": True,
    "allowance": 6,
    "nudge_at": 8,
    "force_at": 11,
    "max_forced_failures": 2,
    "models": {},
}
DEFAULT_SERVER: dict[str, Any] = {
    "host": "127.0.0.1",
    "port": 8000,
    "loop_guard": True,
    # mlxagent's, aider-style and Anthropic's editors, Claude Code's `Edit`, opencode's `edit`
    "edit_tools": ["edit_file", "write_file", "apply_patch", "str_replace_editor", "Edit", "edit"],
    "max_request_bytes": 8 * 1024 * 1024,  # larger request bodies get a 413
    "max_queue": 32,  # requests waiting for the model beyond this get a 503
    "cache_sessions": 4,  # conversations whose prompt cache is kept (LRU)
    "cache_mb": 1024,  # memory the kept prompt caches may take together
    # Models held to a tool call on the user's turn when offered tools: a key applies when it
    # occurs in the model's names (the longest wins); left out, those whose template ignores tools.
    "weak_tools": {},
}

# Built-in per-model guard thresholds; the user's [guard.models.NAME] tables win over them.
# SmolLM2-135M reads aimlessly from its first call and needs two forced attempts inside a
# 12-call budget (bench/guard.py), so it is nudged and forced early.
BUILTIN_GUARD_MODELS: dict[str, dict[str, int]] = {
    "smollm2": {"allowance": 3, "nudge_at": 5, "force_at": 7, "max_forced_failures": 3},
}


@dataclass
class Settings:
    default_model: str = "smollm2-135m"
    theme: str = "mlxagent-dark"
    auto_approve: bool = False
    auto_commit: bool = False
    max_steps: int = 20
    max_tokens: int = 1024
    temperature: float = 0.0
    guard: dict[str, Any] = field(default_factory=lambda: copy.deepcopy(DEFAULT_GUARD))
    server: dict[str, Any] = field(default_factory=lambda: copy.deepcopy(DEFAULT_SERVER))
    aliases: dict[str, str] = field(default_factory=dict)  # model alias -> model spec
    # OpenAI-compatible backends, [providers.NAME] (model/remote.py); models named NAME/MODEL
    providers: dict[str, dict[str, Any]] = field(default_factory=dict)
    test_command: str = ""  # the tests' command line when .mlxagent.toml names none; "" = detect
    auto_test: bool = True  # run the tests before a turn and after every applied edit
    command_timeout: int = 120  # seconds a command may run before its process group is killed
    max_attempts: int = 4  # with auto-approve: edits tried (each undone when tests still fail)
    speculative: bool = True  # several tokens per forward pass (prompt lookup, grammar jump-forward)
    # Other apps' model stores to list GGUFs from ("" / []: $OLLAMA_MODELS or ~/.ollama/models;
    # ~/.lmstudio/models and ~/.cache/lm-studio/models).
    ollama_models: str = ""
    lmstudio_models: list[str] = field(default_factory=list)
    save_sessions: bool = True  # every conversation saved in the data dir (core/saved_sessions.py)
    show_refused_edits: bool = False  # a refused edit is still shown for review (never applied unasked)
    # When the prompt nears the context: "shorten" old tool results, or "compact" (the model
    # summarises the conversation into one message)
    context_strategy: str = "shorten"
    instructions_max_chars: int = 6000  # AGENTS.md and the like: the share read into the system prompt
    # the permission mode a session starts in: plan, ask, accept-edits or auto (core/modes.py)
    default_mode: str = "ask"
    # [hooks]: commands after an applied edit, before a command, at a turn's end (config_tables.py)
    hooks: dict[str, list[list[str]]] = field(default_factory=dict)
    # [mcp.servers.NAME]: Model Context Protocol servers whose tools the agent may call
    mcp_servers: dict[str, dict[str, Any]] = field(default_factory=dict)


class SettingsError(MlxAgentError):
    """A setting could not be changed (unknown key, bad value, unreadable file)."""


# ---------------------------------------------------------------- value checks
# Each check is (predicate, what a valid value is, in words for the warning).
Check = tuple[Callable[[Any], bool], str]


def _is_text(v: Any) -> bool:
    return isinstance(v, str) and v.strip() != ""


def _is_bool(v: Any) -> bool:
    return isinstance(v, bool)


def _is_count(v: Any) -> bool:
    # bool is an int in Python; `max_steps = true` is a typo, not a number.
    return isinstance(v, int) and not isinstance(v, bool) and v >= 1


def _is_port(v: Any) -> bool:
    return _is_count(v) and v <= 65535


def _is_temperature(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v >= 0


def _is_text_list(v: Any) -> bool:
    return isinstance(v, list) and all(_is_text(x) for x in v)


def _is_bool_table(v: Any) -> bool:
    return isinstance(v, dict) and all(_is_text(k) and isinstance(x, bool) for k, x in v.items())


TEXT: Check = (_is_text, "a non-empty string")
BOOL: Check = (_is_bool, "true or false")
COUNT: Check = (_is_count, "a whole number of at least 1")
PORT: Check = (_is_port, "a port number from 1 to 65535")
TEMPERATURE: Check = (_is_temperature, "a number of at least 0")
TEXT_LIST: Check = (_is_text_list, "a list of non-empty strings")
BOOL_TABLE: Check = (_is_bool_table, 'a table of model names to true or false, e.g. { "smollm2" = true }')

TOP_LEVEL_CHECKS: dict[str, Check] = {
    "default_model": TEXT,
    "theme": TEXT,
    "auto_approve": BOOL,
    "auto_commit": BOOL,
    "max_steps": COUNT,
    "max_tokens": COUNT,
    "temperature": TEMPERATURE,
    "test_command": (lambda v: isinstance(v, str), "a string (empty: detect the test command)"),
    "auto_test": BOOL,
    "command_timeout": COUNT,
    "max_attempts": COUNT,
    "speculative": BOOL,
    "ollama_models": (lambda v: isinstance(v, str), "a folder path (empty: $OLLAMA_MODELS or ~/.ollama/models)"),
    "lmstudio_models": TEXT_LIST,
    "save_sessions": BOOL,
    "show_refused_edits": BOOL,
    "context_strategy": (lambda v: v in ("shorten", "compact"), '"shorten" or "compact"'),
    "instructions_max_chars": COUNT,
    "default_mode": (lambda v: v in MODES, " or ".join(f'"{m}"' for m in MODES)),
}
SERVER_CHECKS: dict[str, Check] = {"host": TEXT, "port": PORT, "loop_guard": BOOL, "edit_tools": TEXT_LIST,
                                   "max_request_bytes": COUNT, "max_queue": COUNT, "cache_sessions": COUNT,
                                   "cache_mb": COUNT, "weak_tools": BOOL_TABLE}
TABLES = ("guard", "server", "aliases", "providers")
GUARD_KEYS = tuple(f.name for f in dataclasses.fields(GuardConfig))


# ---------------------------------------------------------------- reading
def load_settings(path: str | os.PathLike[str] | None = None) -> tuple[Settings, list[str]]:
    """The settings and one warning line per broken part; never raises for a bad file."""
    file = Path(path) if path is not None else paths.config_file()
    remove_stray_temp_files(file)
    try:
        raw = read_toml(file)
    except TomlReadError as e:
        return Settings(), [f"{file}: cannot read ({e}); using defaults"]
    except TomlSyntaxError as e:
        return Settings(), [f"{file}: {e}; using defaults"]
    if raw is None:
        return Settings(), []
    return settings_from_mapping(raw, str(file))


def settings_from_mapping(raw: dict[str, Any], source: str = "config") -> tuple[Settings, list[str]]:
    """Validate a parsed config table; `source` names it in the warnings."""
    warnings: list[str] = []
    settings = Settings()
    for key, value in raw.items():
        if key in TOP_LEVEL_CHECKS:
            if _valid(TOP_LEVEL_CHECKS[key], key, value, getattr(settings, key), source, warnings):
                setattr(settings, key, float(value) if key == "temperature" else value)
        elif key == "guard":
            settings.guard = _guard_table(value, source, warnings)
        elif key == "server":
            settings.server = _server_table(value, source, warnings)
        elif key == "aliases":
            settings.aliases = _aliases_table(value, source, warnings)
        elif key == "providers":
            settings.providers = _providers_table(value, source, warnings)
        elif key == "hooks":
            settings.hooks = hooks_table(value, source, warnings)
        elif key == "mcp":
            settings.mcp_servers = mcp_table(value, source, warnings)
        else:
            warnings.append(f"{_at(source)}unknown setting {key!r} ignored")
    return settings, warnings


def _valid(check: Check, key: str, value: Any, default: Any, source: str, warnings: list[str]) -> bool:
    predicate, description = check
    if predicate(value):
        return True
    warnings.append(f"{_at(source)}{key} must be {description}, not {value!r}; using the default ({default!r})")
    return False


def _is_table(value: Any, name: str, source: str, warnings: list[str]) -> bool:
    if isinstance(value, dict):
        return True
    warnings.append(f"{_at(source)}[{name}] must be a table, not {value!r}; using the defaults")
    return False


def _server_table(value: Any, source: str, warnings: list[str]) -> dict[str, Any]:
    server = copy.deepcopy(DEFAULT_SERVER)
    if not _is_table(value, "server", source, warnings):
        return server
    for key, item in value.items():
        if key not in SERVER_CHECKS:
            warnings.append(f"{_at(source)}unknown setting 'server.{key}' ignored")
        elif _valid(SERVER_CHECKS[key], f"server.{key}", item, server[key], source, warnings):
            server[key] = item
    return server


def _aliases_table(value: Any, source: str, warnings: list[str]) -> dict[str, str]:
    if not _is_table(value, "aliases", source, warnings):
        return {}
    aliases = {}
    for name, spec in value.items():
        if _is_text(spec):
            aliases[name] = spec
        else:
            warnings.append(f"{_at(source)}aliases.{name} must be a model spec (a non-empty string), not {spec!r}; ignored")
    return aliases


_PROVIDER_KEYS = ("base_url", "api_key_env", "headers", "models")


def _providers_table(value: Any, source: str, warnings: list[str]) -> dict[str, dict[str, Any]]:
    """[providers.NAME] tables: base_url (required, http:// or https://), api_key_env (the
    name of the variable holding the key), headers (text to text), models (NAME ->
    {context_length, tools}). A broken provider is left out with a warning."""
    if not _is_table(value, "providers", source, warnings):
        return {}
    out: dict[str, dict[str, Any]] = {}
    for name, table in value.items():
        where = f"{_at(source)}providers.{name}"
        if "/" in name or not name.strip():
            warnings.append(f"{where}: a provider name cannot contain '/'; ignored")
            continue
        if not isinstance(table, dict):
            warnings.append(f"{where} must be a table; ignored")
            continue
        url = table.get("base_url")
        if not (isinstance(url, str) and re.match(r"^https?://[^\s/]+", url)):
            warnings.append(f"{where}.base_url must be an http:// or https:// URL, not {url!r}; provider ignored")
            continue
        entry: dict[str, Any] = {"base_url": url}
        for key, item in table.items():
            if key not in _PROVIDER_KEYS:
                warnings.append(f"{where}: unknown setting {key!r} ignored")
            elif key == "api_key_env":
                if isinstance(item, str) and re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", item):
                    entry[key] = item
                else:
                    warnings.append(f"{where}.api_key_env must name an environment variable (the key itself "
                                    f"never goes in this file), not {item!r}; ignored")
            elif key == "headers":
                if isinstance(item, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in item.items()):
                    entry[key] = dict(item)
                else:
                    warnings.append(f"{where}.headers must be a table of strings; ignored")
            elif key == "models":
                entry[key] = _provider_models(item, where, warnings)
        out[name] = entry
    return out


def _provider_models(value: Any, where: str, warnings: list[str]) -> dict[str, dict[str, Any]]:
    if not isinstance(value, dict):
        warnings.append(f"{where}.models must be a table; ignored")
        return {}
    models: dict[str, dict[str, Any]] = {}
    for model, options in value.items():
        options = options if isinstance(options, dict) else {}
        kept: dict[str, Any] = {}
        if "context_length" in options:
            if _is_count(options["context_length"]):
                kept["context_length"] = options["context_length"]
            else:
                warnings.append(f"{where}.models.{model}.context_length must be a whole number; ignored")
        if "tools" in options:
            if options["tools"] in ("native", "prompted"):
                kept["tools"] = options["tools"]
            else:
                warnings.append(f"{where}.models.{model}.tools must be \"native\" or \"prompted\"; ignored")
        if "weak_tools" in options:
            if isinstance(options["weak_tools"], bool):
                kept["weak_tools"] = options["weak_tools"]
            else:
                warnings.append(f"{where}.models.{model}.weak_tools must be true or false; ignored")
        for key in options:
            if key not in ("context_length", "tools", "weak_tools"):
                warnings.append(f"{where}.models.{model}: unknown setting {key!r} ignored")
        models[model] = kept
    return models


def _guard_table(value: Any, source: str, warnings: list[str]) -> dict[str, Any]:
    """The [guard] table, validated by the guard's own rules (core.guard owns them)."""
    defaults = {k: v for k, v in DEFAULT_GUARD.items() if k != "models"}
    if not _is_table(value, "guard", source, warnings):
        return copy.deepcopy(DEFAULT_GUARD)
    base = dict(defaults)
    for key, item in value.items():
        if key in GUARD_KEYS:
            base[key] = item
        elif key != "models":
            warnings.append(f"{_at(source)}unknown setting 'guard.{key}' ignored")
    try:
        GuardConfig.from_mapping(base)
    except GuardConfigError as e:
        warnings.append(f"{_at(source)}{e}; using the default guard thresholds")
        base = dict(defaults)
    return {**base, "models": _guard_overrides(value.get("models", {}), base, source, warnings)}


def _guard_overrides(value: Any, base: dict[str, Any], source: str, warnings: list[str]) -> dict[str, Any]:
    """Per-model overrides; each is checked on its own over the base thresholds, a bad one dropped."""
    if not isinstance(value, dict):
        warnings.append(f"{_at(source)}guard.models must be a table of per-model tables, not {value!r}; ignored")
        return {}
    models: dict[str, Any] = {}
    for model, table in value.items():
        if not isinstance(table, dict):
            warnings.append(f"{_at(source)}guard.models.{model} must be a table, not {table!r}; ignored")
            continue
        for key in [k for k in table if k not in GUARD_KEYS]:
            warnings.append(f"{_at(source)}unknown setting 'guard.models.{model}.{key}' ignored")
        override = {k: v for k, v in table.items() if k in GUARD_KEYS}
        try:
            thresholds_for_model({**base, "models": {model: override}}, model)
        except GuardConfigError as e:
            warnings.append(f"{_at(source)}{e}; override ignored")
            continue
        models[model] = override
    return models


def _at(source: str) -> str:
    return f"{source}: " if source else ""


# ---------------------------------------------------------------- writing
def save_settings(settings: Settings, path: str | os.PathLike[str] | None = None) -> None:
    """Write all settings (atomically; creates the folder)."""
    file = Path(path) if path is not None else paths.config_file()
    _write_toml(file, settings_table(settings))


def settings_table(settings: Settings) -> dict[str, Any]:
    """The settings as the file holds them: every field, the MCP servers as [mcp.servers.NAME]."""
    data = dataclasses.asdict(settings)
    data["mcp"] = {"servers": data.pop("mcp_servers")}
    return data


def update_setting(key: str, value: Any, path: str | os.PathLike[str] | None = None) -> Settings:
    """Change one setting in the file and return the settings it now holds.

    `key` may be dotted: "guard.force_at", "server.port", "aliases.my-coder",
    "guard.models.qwen2.5-coder.force_at" (alias and model names may hold dots). A string
    `value` for a non-string setting is read as a TOML value ("30", "true", "0.2"), so a
    command line can pass what it got. `None` removes the key (back to its default).
    """
    file = Path(path) if path is not None else paths.config_file()
    raw = _read_raw_for_update(file)
    where = _locate(key)
    if value is not None:
        value = _coerce(value, _default_at(where))
    _assign(raw, where, value)
    # Only the changed part is checked: problems elsewhere in the file are reported by
    # load_settings as usual and must not block an unrelated change.
    _, problems = settings_from_mapping(_changed_part(raw, where), "")
    if problems:
        raise SettingsError(f"cannot set {key}: {problems[0].rsplit('; ', 1)[0]}")
    settings, _ = settings_from_mapping(raw, "")
    _write_toml(file, raw)
    return settings


def _read_raw_for_update(file: Path) -> dict[str, Any]:
    try:
        raw = read_toml(file)
    except TomlReadError as e:
        raise SettingsError(f"{file}: cannot read ({e})") from None
    except TomlSyntaxError as e:
        # Overwriting would throw away what the user wrote; make them fix it first.
        raise SettingsError(f"{file}: {e}; fix or remove it before changing settings") from None
    return {} if raw is None else raw


def _locate(key: str) -> tuple[str, ...]:
    """Split a dotted key into its table path, keeping dots that belong to names."""
    parts = key.split(".")
    head = parts[0]
    if head in TOP_LEVEL_CHECKS and len(parts) == 1:
        return (head,)
    if head == "aliases" and len(parts) >= 2:
        return ("aliases", ".".join(parts[1:]))
    if head == "guard" and len(parts) >= 2 and parts[1] == "models":
        if len(parts) == 2:
            return ("guard", "models")
        if len(parts) >= 4 and parts[-1] in GUARD_KEYS:
            return ("guard", "models", ".".join(parts[2:-1]), parts[-1])
        return ("guard", "models", ".".join(parts[2:]))
    if head == "guard" and len(parts) == 2 and parts[1] in GUARD_KEYS:
        return tuple(parts)
    if head == "server" and len(parts) == 2 and parts[1] in SERVER_CHECKS:
        return tuple(parts)
    if head in TABLES and len(parts) == 1:
        return (head,)
    known = ", ".join([*TOP_LEVEL_CHECKS, *(f"guard.{k}" for k in GUARD_KEYS), *(f"server.{k}" for k in SERVER_CHECKS),
                       "aliases.NAME", "guard.models.MODEL.KEY"])
    raise SettingsError(f"unknown setting {key!r} (known: {known})")


def _default_at(where: tuple[str, ...]) -> Any:
    """The default value at a key path, or None where there is none (a name the user chose)."""
    if where[:2] == ("guard", "models") and len(where) == 4:
        return DEFAULT_GUARD[where[3]]
    node: Any = dataclasses.asdict(Settings())
    for part in where:
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _coerce(value: Any, default: Any) -> Any:
    if not isinstance(value, str) or isinstance(default, str) or default is None:
        return value
    try:
        return tomllib.loads(f"v = {value}")["v"]
    except tomllib.TOMLDecodeError:
        return value  # validation then says what was expected


def _assign(raw: dict[str, Any], where: tuple[str, ...], value: Any) -> None:
    node = raw
    for part in where[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            if value is None:
                return  # nothing to remove
            child = node[part] = {}
        node = child
    if value is None:
        node.pop(where[-1], None)
    else:
        node[where[-1]] = value


def _changed_part(raw: dict[str, Any], where: tuple[str, ...]) -> dict[str, Any]:
    """The smallest table that validates the value at `where` the way load_settings would."""
    head = where[0]
    if head not in raw:
        return {}
    table = raw[head]
    if head == "guard" and isinstance(table, dict):
        # Guard thresholds are checked together, so the base table comes along; of the
        # per-model overrides only the one being changed does.
        narrowed = {k: v for k, v in table.items() if k != "models"}
        models = table.get("models")
        if len(where) >= 3 and isinstance(models, dict):
            narrowed["models"] = {where[2]: models[where[2]]} if where[2] in models else {}
        elif "models" in table:
            narrowed["models"] = models
        return {"guard": narrowed}
    if head in ("server", "aliases") and len(where) == 2 and isinstance(table, dict):
        return {head: {where[1]: table[where[1]]} if where[1] in table else {}}
    return {head: table}


def _write_toml(file: Path, data: dict[str, Any]) -> None:
    file.parent.mkdir(parents=True, exist_ok=True)
    payload = tomli_w.dumps(data).encode("utf-8")
    remove_stray_temp_files(file)
    fd, tmp = tempfile.mkstemp(prefix=f".{file.name}.", suffix=".tmp", dir=file.parent)
    try:
        if fcntl is not None:  # held until the rename is done: tells the cleanup it is in use
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                pass
        view = memoryview(payload)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
        os.replace(tmp, file)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    finally:
        os.close(fd)


def _temp_name_re(file: Path) -> re.Pattern[str]:
    # tempfile.mkstemp's names: the prefix, 8 characters from [a-z0-9_], the suffix.
    return re.compile(rf"^\.{re.escape(file.name)}\.[a-z0-9_]{{8}}\.tmp$")


def remove_stray_temp_files(file: Path) -> list[str]:
    """Delete the temp files killed saves of `file` left beside it; returns their names.

    One whose lock is held belongs to a save still running and stays."""
    if fcntl is None:
        return []
    pattern = _temp_name_re(file)
    try:
        names = [n for n in os.listdir(file.parent) if pattern.match(n)]
    except OSError:
        return []
    removed = []
    for name in names:
        path = file.parent / name
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            path.unlink()
            removed.append(name)
        except OSError:  # BlockingIOError: a save in progress
            pass
        finally:
            os.close(fd)
    return removed


def guard_config_for(settings: Settings, model_name: str) -> GuardConfig:
    """The guard thresholds for one model: user settings over built-in per-model defaults."""
    models = {**BUILTIN_GUARD_MODELS, **settings.guard.get("models", {})}
    return thresholds_for_model({**settings.guard, "models": models}, model_name)
