from text_utils import slugify, title_case, truncate, word_count


def test_slugify_joins_words_with_dashes():
    assert slugify("Hello, World!") == "hello-world"
    assert slugify("Python 3.11 release") == "python-3-11-release"


def test_slugify_trims_separators_at_both_ends():
    assert slugify("  --Spaced   out--  ") == "spaced-out"
    assert slugify("---") == ""
    assert slugify("") == ""


def test_slugify_uses_the_given_separator():
    assert slugify("A b C", sep="_") == "a_b_c"


def test_title_case_keeps_small_words_lower():
    assert title_case("the lord OF the rings") == "The Lord of the Rings"
    assert title_case("war and peace") == "War and Peace"


def test_title_case_capitalises_a_single_word():
    assert title_case("a") == "A"
    assert title_case("") == ""


def test_word_count_counts_whitespace_separated_words():
    assert word_count("") == 0
    assert word_count("one") == 1
    assert word_count("  two words  ") == 2
    assert word_count("a\tb\nc") == 3


def test_truncate_keeps_text_that_fits_exactly():
    assert truncate("hello", 5) == "hello"
    assert truncate("hi", 5) == "hi"


def test_truncate_cuts_long_text_to_the_width():
    assert truncate("hello world", 8) == "hello..."
    assert truncate("abcdef", 5, ellipsis="~") == "abcd~"
