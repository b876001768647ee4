"""Reading and writing one comma-separated row, with double-quoted fields."""


def parse_row(line, sep=","):
    """The fields of one row; quotes group a field, and "" inside quotes is a literal quote."""
    fields, current = [], []
    in_quotes = False
    skip = False
    for i, ch in enumerate(line):
        if skip:
            skip = False
        elif in_quotes:
            if ch == '"' and line[i + 1 : i + 2] == '"':
                current.append('"')
                skip = True
            elif ch == '"':
                in_quotes = False
            else:
                current.append(ch)
        elif ch == '"':
            in_quotes = True
        elif ch == sep:
            fields.append("".join(current))
            current = []
        else:
            current.append(ch)
    if in_quotes:
        raise ValueError("unterminated quote")
    fields.append("".join(current))
    return fields


def quote_field(field, sep=","):
    """`field`, quoted when it holds `sep`, a quote or a newline, with inner quotes doubled."""
    if sep in field or '"' in field or "\n" in field:
        return '"' + field.replace('"', '""') + '"'
    return field


def format_row(fields, sep=","):
    """One row from `fields`, each converted with str() and quoted where needed."""
    return sep.join(quote_field(str(f), sep) for f in fields)
