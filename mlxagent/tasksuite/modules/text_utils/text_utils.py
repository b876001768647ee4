"""Small string helpers: slugs, titles, word counts and truncation."""

SMALL_WORDS = ("a", "an", "and", "in", "of", "on", "the", "to")


def slugify(text, sep="-"):
    """Lower-case `text` and join its runs of letters and digits with `sep`, never at the ends."""
    out = []
    for ch in text.lower():
        if ch.isalnum():
            out.append(ch)
        elif out and out[-1] != sep:
            out.append(sep)
    if out and out[-1] == sep:
        out.pop()
    return "".join(out)


def title_case(text):
    """Capitalise each word except the small ones; the first word is always capitalised."""
    result = []
    for i, word in enumerate(text.split()):
        if i > 0 and word.lower() in SMALL_WORDS:
            result.append(word.lower())
        else:
            result.append(word[0].upper() + word[1:].lower())
    return " ".join(result)


def word_count(text):
    """How many whitespace-separated words `text` holds."""
    return len(text.split())


def truncate(text, width, ellipsis="..."):
    """`text` cut to at most `width` characters, ending in `ellipsis` when it had to be cut."""
    if len(text) <= width:
        return text
    return text[: width - len(ellipsis)] + ellipsis
