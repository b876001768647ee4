"""The settings file: defaults, validation with warnings, atomic writes, dotted updates."""

from __future__ import annotations

import dataclasses
import os
import tomllib

import pytest

from mlxagent import config, paths
from mlxagent.config import Settings, SettingsError, load_settings, save_settings, update_setting
from mlxagent.core.guard import thresholds_for_model


def write_config(text: str):
    file = paths.config_file()
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(text, encoding="utf-8")
    return file


def test_missing_file_gives_defaults_without_warnings_or_writing():
    settings, warnings = load_settings()
    assert settings == Settings()
    assert warnings == []
    assert not paths.config_file().exists()


def test_defaults_match_the_documented_values():
    s = Settings()
    assert (s.default_model, s.theme, s.max_steps, s.max_tokens, s.temperature) == (
        "smollm2-135m", "mlxagent-dark", 20, 1024, 0.0)
    assert s.guard == {"enabled": True, "allowance": 6, "nudge_at": 8, "force_at": 11,
                       "max_forced_failures": 2, "models": {}}
    assert s.server["port"] == 8000 and "apply_patch" in s.server["edit_tools"]
    # Mutable defaults are not shared between instances.
    s.guard["force_at"] = 99
    assert Settings().guard["force_at"] == 11


def test_config_file_lives_under_mlxagent_home(isolated_home):
    assert paths.config_file() == isolated_home / "config" / "config.toml"


def test_round_trip_save_then_load():
    original = Settings(default_model="qwen2.5-coder-1.5b", theme="mlxagent-light", auto_approve=True,
                        auto_commit=True, max_steps=7, max_tokens=333, temperature=0.4,
                        aliases={"coder": "Qwen/Qwen2.5-Coder-1.5B-Instruct"})
    original.guard["force_at"] = 12
    original.guard["models"] = {"qwen2.5-coder": {"force_at": 14}}
    original.server["port"] = 9123
    save_settings(original)
    loaded, warnings = load_settings()
    assert warnings == []
    assert loaded == original


def test_save_to_explicit_path_creates_folders(tmp_path):
    target = tmp_path / "a" / "b" / "settings.toml"
    save_settings(Settings(max_steps=3), target)
    assert load_settings(target) == (Settings(max_steps=3), [])


def test_broken_toml_gives_one_line_warning_and_defaults():
    file = write_config('theme = "mlxagent-light"\nmax_steps = 5\nmax_tokens = = 3\n')
    settings, warnings = load_settings()
    assert settings == Settings()
    assert len(warnings) == 1
    (warning,) = warnings
    assert "\n" not in warning
    assert str(file) in warning and "line 3" in warning and "invalid TOML" in warning
    assert warning.endswith("using defaults")


def test_unreadable_file_warns_instead_of_raising(tmp_path):
    folder_not_file = tmp_path / "config.toml"
    folder_not_file.mkdir()
    settings, warnings = load_settings(folder_not_file)
    assert settings == Settings()
    assert len(warnings) == 1 and "cannot read" in warnings[0]


def test_wrong_type_for_one_key_keeps_the_others():
    write_config('theme = "mlxagent-light"\nmax_steps = "many"\nmax_tokens = 2048\n')
    settings, warnings = load_settings()
    assert settings.theme == "mlxagent-light"
    assert settings.max_tokens == 2048
    assert settings.max_steps == 20
    assert len(warnings) == 1
    assert "max_steps" in warnings[0] and "'many'" in warnings[0] and "default (20)" in warnings[0]


@pytest.mark.parametrize("line, key", [
    ("max_steps = true", "max_steps"),  # a bool is not a count
    ("max_tokens = 0", "max_tokens"),
    ("temperature = -1", "temperature"),
    ("temperature = nan", "temperature"),
    ("auto_approve = 1", "auto_approve"),
    ('default_model = ""', "default_model"),
])
def test_invalid_values_fall_back_with_a_warning(line, key):
    write_config(line + "\n")
    settings, warnings = load_settings()
    assert getattr(settings, key) == getattr(Settings(), key)
    assert len(warnings) == 1 and key in warnings[0]


def test_integer_temperature_is_read_as_float():
    write_config("temperature = 1\n")
    settings, warnings = load_settings()
    assert warnings == [] and settings.temperature == 1.0 and isinstance(settings.temperature, float)


def test_unknown_keys_warn_and_are_ignored():
    write_config('colour = "blue"\n[server]\nhots = "0.0.0.0"\n[guard]\nforce = 3\n')
    settings, warnings = load_settings()
    assert settings == Settings()
    assert sorted(warnings) == sorted([
        f"{paths.config_file()}: unknown setting 'colour' ignored",
        f"{paths.config_file()}: unknown setting 'server.hots' ignored",
        f"{paths.config_file()}: unknown setting 'guard.force' ignored",
    ])


def test_bad_guard_thresholds_fall_back_to_default_thresholds():
    write_config("[guard]\nenabled = false\nnudge_at = 20\n")  # nudge_at > force_at
    settings, warnings = load_settings()
    assert settings.guard == Settings().guard
    assert len(warnings) == 1 and "allowance <= nudge_at <= force_at" in warnings[0]


def test_guard_model_overrides_bad_one_dropped_good_one_kept():
    write_config("[guard]\nforce_at = 12\n"
                 "[guard.models.smollm2]\nforce_at = 9\n"
                 "[guard.models.qwen]\nforce_at = 2\n"
                 "[guard.models.llama]\nforce_at = 10\nspeed = 3\n")
    settings, warnings = load_settings()
    assert settings.guard["force_at"] == 12
    assert settings.guard["models"] == {"smollm2": {"force_at": 9}, "llama": {"force_at": 10}}
    assert len(warnings) == 2
    assert any("qwen" in w and "override ignored" in w for w in warnings)
    assert any("guard.models.llama.speed" in w for w in warnings)
    # What the agent builds from it works.
    assert thresholds_for_model(settings.guard, "HuggingFaceTB/SmolLM2-135M-Instruct").force_at == 9


def test_server_and_alias_tables_are_checked_per_entry():
    write_config('[server]\nport = 70000\nhost = "0.0.0.0"\nedit_tools = ["edit_file", 3]\n'
                 '[aliases]\ncoder = "Qwen/Qwen2.5-Coder-1.5B-Instruct"\nbroken = 5\n')
    settings, warnings = load_settings()
    assert settings.server["host"] == "0.0.0.0"
    assert settings.server["port"] == 8000
    assert settings.server["edit_tools"] == Settings().server["edit_tools"]
    assert settings.aliases == {"coder": "Qwen/Qwen2.5-Coder-1.5B-Instruct"}
    assert len(warnings) == 3


def test_a_table_given_as_a_value_warns():
    write_config('guard = 3\naliases = "x"\n')
    settings, warnings = load_settings()
    assert settings == Settings()
    assert len(warnings) == 2 and all("must be a table" in w for w in warnings)


def _read_raw():
    return tomllib.loads(paths.config_file().read_text(encoding="utf-8"))


def test_update_setting_top_level_and_dotted():
    assert update_setting("theme", "mlxagent-light").theme == "mlxagent-light"
    settings = update_setting("guard.force_at", 13)
    assert settings.theme == "mlxagent-light"  # the earlier change survived
    assert settings.guard["force_at"] == 13
    assert _read_raw() == {"theme": "mlxagent-light", "guard": {"force_at": 13}}
    assert load_settings() == (settings, [])


def test_update_setting_names_with_dots_and_string_values():
    update_setting("aliases.qwen2.5-coder", "Qwen/Qwen2.5-Coder-1.5B-Instruct")
    update_setting("guard.models.qwen2.5-coder.force_at", "14")  # a command line passes text
    settings = update_setting("server.port", "9000")
    assert settings.aliases == {"qwen2.5-coder": "Qwen/Qwen2.5-Coder-1.5B-Instruct"}
    assert settings.guard["models"] == {"qwen2.5-coder": {"force_at": 14}}
    assert settings.server["port"] == 9000
    assert update_setting("auto_commit", "true").auto_commit is True
    assert update_setting("temperature", "0.3").temperature == 0.3
    assert update_setting("default_model", "30").default_model == "30"  # a string setting stays a string


def test_update_setting_none_removes_the_key():
    update_setting("aliases.coder", "Qwen/Qwen2.5-Coder-1.5B-Instruct")
    update_setting("max_steps", 5)
    settings = update_setting("aliases.coder", None)
    assert settings.aliases == {}
    assert update_setting("max_steps", None).max_steps == 20
    assert "max_steps" not in _read_raw()


def test_update_setting_keeps_what_it_does_not_understand():
    write_config('future_option = "keep me"\nmax_steps = "oops"\n[aliases]\nold = "some/model"\n')
    settings = update_setting("max_tokens", 512)
    raw = _read_raw()
    assert raw["future_option"] == "keep me"
    assert raw["max_steps"] == "oops"  # the user's (broken) value is theirs to fix, not ours to drop
    assert raw["aliases"] == {"old": "some/model"}
    assert settings.max_tokens == 512 and settings.max_steps == 20


@pytest.mark.parametrize("key, value, message", [
    ("max_steps", 0, "max_steps must be a whole number"),
    ("server.port", "70000", "server.port must be a port number"),
    ("guard.nudge_at", 50, "allowance <= nudge_at <= force_at"),
    ("guard.models.qwen.force_at", 2, "with the overrides for qwen"),
    ("aliases.coder", 3, "aliases.coder must be a model spec"),
    ("auto_approve", "perhaps", "auto_approve must be true or false"),
])
def test_update_setting_refuses_bad_values_and_leaves_the_file(key, value, message):
    file = write_config('theme = "mlxagent-light"\n')
    before = file.read_bytes()
    with pytest.raises(SettingsError) as info:
        update_setting(key, value)
    assert message in str(info.value) and "\n" not in str(info.value)
    assert "using the default" not in str(info.value)
    assert file.read_bytes() == before


def test_update_setting_unknown_key():
    with pytest.raises(SettingsError, match="unknown setting 'colour'"):
        update_setting("colour", "blue")
    with pytest.raises(SettingsError, match="unknown setting 'guard.speed'"):
        update_setting("guard.speed", 3)
    assert not paths.config_file().exists()


def test_update_setting_refuses_to_overwrite_broken_toml():
    file = write_config("max_steps = = 3\n# the user's notes\n")
    before = file.read_bytes()
    with pytest.raises(SettingsError, match="line 1: invalid TOML"):
        update_setting("theme", "mlxagent-light")
    assert file.read_bytes() == before


def test_unrelated_problems_do_not_block_an_update():
    write_config("max_steps = 0\n[aliases]\nbad = 1\n")
    settings = update_setting("aliases.good", "some/model")
    assert settings.aliases == {"good": "some/model"}


def test_saves_leave_no_temporary_files():
    save_settings(Settings(max_steps=4))
    update_setting("theme", "mlxagent-high-contrast")
    update_setting("guard.force_at", 12)
    assert sorted(p.name for p in paths.config_dir().iterdir()) == ["config.toml"]


def test_failed_save_keeps_the_old_file_and_cleans_up(monkeypatch):
    file = write_config('theme = "mlxagent-light"\n')
    before = file.read_bytes()

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(config.os, "replace", broken_replace)
    with pytest.raises(OSError):
        save_settings(Settings(max_steps=2))
    assert file.read_bytes() == before
    assert sorted(p.name for p in file.parent.iterdir()) == ["config.toml"]


def test_saved_file_is_plain_toml_with_every_setting():
    save_settings(Settings())
    raw = _read_raw()
    # every field under its own name, but the MCP servers as the user writes them: [mcp.servers.NAME]
    assert set(raw) == {f.name for f in dataclasses.fields(Settings)} - {"mcp_servers"} | {"mcp"}
    assert raw["mcp"] == {"servers": {}}
    assert os.path.getsize(paths.config_file()) > 0
