"""Numbers people type into addresses and query strings: ids, pages, years.

`str.isdigit()` says yes to "²" and "١٢", and Python's int() reads "١٢" as 12 but fails on
"²"; a 30-digit id overflows SQLite's and PostgreSQL's 64-bit integers. Both turned a typo
into a 500. These helpers take ASCII digits only, within the database's range.
"""

import re

# The largest value a BigAutoField / bigint column holds.
MAX_ID = 2**63 - 1

_ASCII_INT = re.compile(r"[0-9]{1,19}")


def is_id(value) -> bool:
    """True for an int in 1…MAX_ID or a string of ASCII digits naming one."""
    return parse_id(value) is not None


def parse_id(value) -> int | None:
    """The id `value` names (an int, or a string of ASCII digits, surrounding blanks
    allowed), or None when it is anything else or out of the database's range."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and _ASCII_INT.fullmatch(value.strip()):
        number = int(value.strip())
    else:
        return None
    return number if 0 < number <= MAX_ID else None


def parse_int(value, default: int, *, low: int, high: int) -> int:
    """A bounded whole number from a query parameter (ASCII digits, optional minus sign);
    `default` for anything else or outside low…high."""
    text = str(value or "").strip()
    if not re.fullmatch(r"-?[0-9]{1,19}", text):
        return default
    number = int(text)
    return number if low <= number <= high else default
