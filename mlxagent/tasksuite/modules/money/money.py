"""Money amounts kept as whole cents."""

CENTS = 100


def to_cents(amount):
    """`amount` in dollars (a number or a string like "12.34") as whole cents, halves away from 0."""
    value = float(amount)
    sign = -1 if value < 0 else 1
    return sign * int(abs(value) * CENTS + 0.5)


def format_cents(cents):
    """Cents as a dollar string: 1234 is "$12.34" and -5 is "-$0.05"."""
    sign = "-" if cents < 0 else ""
    dollars, rest = divmod(abs(cents), CENTS)
    return f"{sign}${dollars}.{rest:02d}"


def split_bill(total_cents, people):
    """`total_cents` shared among `people` as evenly as possible; the first shares take spare cents."""
    if people <= 0:
        raise ValueError("need at least one person")
    share, spare = divmod(total_cents, people)
    return [share + 1 if i < spare else share for i in range(people)]


def apply_discount(cents, percent):
    """`cents` less `percent` per cent, with the discount rounded to the nearest cent (halves up)."""
    if not 0 <= percent <= 100:
        raise ValueError("percent must be between 0 and 100")
    return cents - (cents * percent + 50) // 100
