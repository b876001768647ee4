import pytest

from csv_rows import format_row, parse_row, quote_field


def test_parse_row_splits_on_the_separator():
    assert parse_row("a,b,c") == ["a", "b", "c"]
    assert parse_row("a;b", sep=";") == ["a", "b"]


def test_parse_row_keeps_empty_fields():
    assert parse_row("a,,c") == ["a", "", "c"]
    assert parse_row("a,") == ["a", ""]
    assert parse_row("") == [""]


def test_parse_row_quoted_fields_may_hold_separators_and_quotes():
    assert parse_row('"x,y",z') == ["x,y", "z"]
    assert parse_row('"say ""hi""",1') == ['say "hi"', "1"]
    assert parse_row('""') == [""]


def test_parse_row_rejects_an_unterminated_quote():
    with pytest.raises(ValueError):
        parse_row('"abc,d')


def test_quote_field_only_quotes_when_needed():
    assert quote_field("plain") == "plain"
    assert quote_field("a,b") == '"a,b"'
    assert quote_field('q"') == '"q"""'
    assert quote_field("two\nlines") == '"two\nlines"'
    assert quote_field("a;b", sep=";") == '"a;b"'


def test_format_row_converts_and_quotes_fields():
    assert format_row(["a", "b,c", 'q"']) == 'a,"b,c","q"""'
    assert format_row([1, 2.5]) == "1,2.5"
    assert format_row([]) == ""


def test_format_then_parse_gives_back_the_fields():
    fields = ["x", "", "a,b", 'he said "no"', "end"]
    assert parse_row(format_row(fields)) == fields
