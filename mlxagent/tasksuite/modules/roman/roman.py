"""Roman numerals from 1 to 3999."""

NUMERALS = [
    (1000, "M"), (900, "CM"), (500, "D"), (400, "CD"),
    (100, "C"), (90, "XC"), (50, "L"), (40, "XL"),
    (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I"),
]


def to_roman(number):
    """`number` (1 to 3999) written in Roman numerals."""
    if not 0 < number < 4000:
        raise ValueError("out of range")
    parts = []
    for value, letters in NUMERALS:
        count, number = divmod(number, value)
        parts.append(letters * count)
    return "".join(parts)


def from_roman(text):
    """The number a canonical Roman numeral stands for; ValueError for anything else."""
    digits = {letters: value for value, letters in NUMERALS if len(letters) == 1}
    text = text.upper()
    total = 0
    for i, ch in enumerate(text):
        if ch not in digits:
            raise ValueError(f"not a roman digit: {ch!r}")
        value = digits[ch]
        if i + 1 < len(text) and digits.get(text[i + 1], 0) > value:
            total -= value
        else:
            total += value
    if not text or to_roman(total) != text:
        raise ValueError(f"not a canonical numeral: {text!r}")
    return total


def is_roman(text):
    """Whether `text` is a canonical Roman numeral."""
    try:
        from_roman(text)
    except ValueError:
        return False
    return True
