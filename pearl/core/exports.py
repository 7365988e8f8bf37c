"""CSV downloads that Excel opens correctly, streamed row by row (any list's export uses these)."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from typing import Any


class _Echo:
    """A file-like sink for csv.writer that hands each line back, for streaming."""

    def write(self, value: str) -> str:
        return value


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"-?\d+(\.\d+)?")


def csv_cell(value: Any) -> Any:
    """A cell Excel will not run: one starting with = + - @ (a customer named "=HYPERLINK(…)") is a
    formula to it, and a leading apostrophe keeps it text. Numbers, negative ones included, stay numbers."""
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def csv_stream(header: list[str], rows: Iterator[list[Any]]) -> Iterator[str]:
    """The lines of a CSV file, header first, for a ``StreamingHttpResponse``."""
    writer = csv.writer(_Echo())
    # The byte-order mark tells Excel the file is UTF-8, so Chinese text opens readable.
    yield "\ufeff" + writer.writerow([csv_cell(v) for v in header])
    for row in rows:
        yield writer.writerow([csv_cell(v) for v in row])
