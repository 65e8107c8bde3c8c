"""CSV files as the register's users open them: in Excel, set up for Finnish.

Semicolons between the fields (Finnish Excel reads a comma as the decimal sign), a byte
order mark so that Excel reads the file as UTF-8 (ä, ö), lines ended by CRLF, and a
cell that a spreadsheet would take for a formula kept as text. The marketing
audience's export (crm.services.audience) writes its file the same way.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

#: Read by Excel as "this file is UTF-8".
BOM = "\ufeff"
DELIMITER = ";"
#: A cell starting with one of these is a formula to a spreadsheet. A tab or a carriage
#: return before the formula is dropped by some (OWASP's CSV injection list): they
#: count as a formula's start too.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value) -> str:
    """Return `value` as a cell's text, a would-be formula ("=1+2") kept as text."""
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def csv_text(rows: Iterable[Iterable], *, first: bool = False) -> str:
    """Return `rows` as lines of the file; `first`: they start it (the byte order mark).

    A file streamed as it is read from the database is written a batch of rows at a time.
    """
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=DELIMITER, lineterminator="\r\n")
    writer.writerows([cell(value) for value in row] for row in rows)
    return BOM + out.getvalue() if first else out.getvalue()
