import pytest

from semver import bump, compare_versions, latest, parse_version


def test_parse_version_reads_three_numbers():
    assert parse_version("1.4.2") == (1, 4, 2)
    assert parse_version("v0.10.0") == (0, 10, 0)


def test_parse_version_rejects_malformed_versions():
    for bad in ("1.2", "1.2.3.4", "a.b.c", "", "1..2"):
        with pytest.raises(ValueError):
            parse_version(bad)


def test_compare_versions_compares_numbers_not_text():
    assert compare_versions("1.10.0", "1.9.0") == 1
    assert compare_versions("1.9.0", "1.10.0") == -1
    assert compare_versions("2.0.0", "v2.0.0") == 0
    assert compare_versions("0.0.1", "0.0.2") == -1


def test_bump_raises_one_part_and_resets_the_lower_ones():
    assert bump("1.4.2", "major") == "2.0.0"
    assert bump("1.4.2", "minor") == "1.5.0"
    assert bump("1.4.2", "patch") == "1.4.3"
    assert bump("1.4.9") == "1.4.10"


def test_bump_rejects_an_unknown_part():
    with pytest.raises(ValueError):
        bump("1.0.0", "build")


def test_latest_picks_the_newest_version():
    assert latest(["1.2.0", "1.10.0", "1.9.9"]) == "1.10.0"
    assert latest(["0.1.0"]) == "0.1.0"
    assert latest([]) is None
