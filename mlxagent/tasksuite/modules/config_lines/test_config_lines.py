import pytest

from config_lines import get_bool, get_int, parse_config, parse_line


def test_parse_line_splits_key_and_value():
    assert parse_line("name = demo") == ("name", "demo")
    assert parse_line("  port=8080  ") == ("port", "8080")


def test_parse_line_keeps_equals_signs_in_the_value():
    assert parse_line("url = http://x/?a=b") == ("url", "http://x/?a=b")


def test_parse_line_skips_blank_lines_and_comments():
    assert parse_line("") is None
    assert parse_line("    ") is None
    assert parse_line("# a comment") is None
    assert parse_line("   # indented comment") is None


def test_parse_line_rejects_a_line_without_equals():
    with pytest.raises(ValueError):
        parse_line("just words")


def test_parse_config_reads_every_setting_and_later_lines_win():
    text = "# settings\nname = demo\n\nport = 80\nport = 8080\n"
    assert parse_config(text) == {"name": "demo", "port": "8080"}
    assert parse_config("") == {}


def test_get_int_converts_or_falls_back_to_the_default():
    settings = {"port": "8080", "zero": "0"}
    assert get_int(settings, "port") == 8080
    assert get_int(settings, "zero", 5) == 0
    assert get_int(settings, "missing", 7) == 7
    assert get_int(settings, "missing") == 0


def test_get_bool_reads_yes_and_no_words():
    settings = {"a": "Yes", "b": "off", "c": "1", "d": "TRUE", "e": "ON"}
    assert get_bool(settings, "a") is True
    assert get_bool(settings, "b") is False
    assert get_bool(settings, "c") is True
    assert get_bool(settings, "d") is True
    assert get_bool(settings, "e") is True
    assert get_bool(settings, "missing") is False
    assert get_bool(settings, "missing", True) is True
