"""Read a customer spreadsheet as clean rows: the one reader behind the import wizard, the import API,
``pearl import`` and ``pearl dedupe``.

    with open_sheet(upload, filename=upload.name) as sheet:
        result = auto_map(sheet.headers)           # pearl.dataquality.mapping
        for row in sheet.rows():                   # an iterator: memory does not grow with the file
            row.number, row.values, row.errors

The format comes from the content, not the name; the header row is found below a title block;
blank rows and totals rows are dropped; every value is a clean string or None.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from django.utils.translation import gettext_lazy as _

from pearl.dataquality.mapping import alias_field, auto_map, match_header
from pearl.dataquality.reader_cells import CellError, clean_value
from pearl.dataquality.reader_csv import CsvSource
from pearl.dataquality.reader_io import (
    EmptySpreadsheet,
    FileTooLarge,
    NotASpreadsheet,
    PasswordProtected,
    RawRow,
    SheetFormat,
    SheetNotFound,
    SpreadsheetRejected,
    UnreadableSpreadsheet,
    WorkbookSource,
    check_size,
    detect_format,
    file_size,
)
from pearl.dataquality.reader_xlsx import XlsxSource

__all__ = [
    "MAX_COLUMNS",
    "MAX_UPLOAD_BYTES",
    "CellError",
    "EmptySpreadsheet",
    "FileTooLarge",
    "NoHeaderRow",
    "NotASpreadsheet",
    "PasswordProtected",
    "Sheet",
    "SheetFormat",
    "SheetNotFound",
    "SheetRow",
    "SkippedRow",
    "SpreadsheetRejected",
    "TooManyColumns",
    "UnreadableSpreadsheet",
    "open_sheet",
]

MAX_UPLOAD_BYTES = 50 * 1024 * 1024
MAX_COLUMNS = 60
HEADER_SCAN_ROWS = 20
# A run of number-only rows longer than this is data, not a totals block, and is not held back.
_MAX_HELD_ROWS = 50

_TOTALS_WORDS = ("合计", "总计", "小计", "共计", "总合计", "汇总", "total", "subtotal", "grandtotal", "sum")
_TOTALS_INITIALS = frozenset(w[0] for w in _TOTALS_WORDS) | frozenset(w[0].upper() for w in _TOTALS_WORDS)
_NUMBER = re.compile(r"[-+]?(?:\d[\d,]*)?\.?\d+%?")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_NOT_WORD = re.compile(r"[\s:：\-_()（）]+")
_DIGITS = re.compile(r"[\d.,]+")
# Columns a customer or contact is identified by: a row with a number in one of these is data, never totals.
_IDENTITY_FIELDS = frozenset({"name", "contact_name", "mobile", "external_id", "email", "wechat"})


class NoHeaderRow(SpreadsheetRejected):
    code = "no_header_row"


class TooManyColumns(SpreadsheetRejected):
    code = "too_many_columns"


@dataclass(slots=True)
class SheetRow:
    """One data row: its row number in the sheet (1-based, as Excel shows it) and one value per header."""

    number: int
    values: list[str | None]
    errors: dict[int, CellError] = field(default_factory=dict)

    def mapped(self, mapping: Mapping[int, str]) -> dict[str, str | None]:
        """``{field key: value}`` for a column mapping."""
        return {key: self.values[index] for index, key in mapping.items() if index < len(self.values)}


@dataclass(frozen=True, slots=True)
class SkippedRow:
    number: int
    reason: str  # "totals"


def _is_text(value: str) -> bool:
    return _NUMBER.fullmatch(value) is None and _DATE.match(value) is None


def _is_totals_label(values: Sequence[str | None]) -> bool:
    for first in values[:3]:
        if first:
            break
    else:
        return False
    if first[0] not in _TOTALS_INITIALS:
        return False
    word = _NOT_WORD.sub("", first).lower()
    # 合计, 合计金额, 总计100户 are totals; 汇总科技有限公司 is a customer.
    return any(word.startswith(t) and len(_DIGITS.sub("", word[len(t) :])) <= 3 for t in _TOTALS_WORDS)


class Sheet:
    """One sheet of an opened file. ``rows()`` may be called again (preview, then import)."""

    def __init__(
        self,
        source: WorkbookSource | XlsxSource | CsvSource,
        *,
        owned: IO[bytes] | None,
        custom_fields: Sequence[tuple[str, str]],
        filename: str = "",
    ) -> None:
        self._source = source
        self._owned = owned
        self.filename = filename
        self.format: SheetFormat = source.format
        self.sheet_names: list[str] = list(source.sheet_names)
        self.sheet_name: str = source.sheet_name
        # Column 0 of headers and values is this column of the sheet (0 = A), for messages like "column D".
        self.first_column: int = source.first_column
        # The sheet's last row number, for a progress bar (None for CSV: it would mean reading it all).
        self.total_rows: int | None = source.total_rows
        self.encoding: str = getattr(source, "encoding", "")
        self.delimiter: str = getattr(source, "delimiter", "")
        self.skipped: list[SkippedRow] = []
        self.custom_fields: list[tuple[str, str]] = list(custom_fields)
        self.header_row, self.headers = self._find_header(custom_fields)
        self.width = len(self.headers)
        if self.width > MAX_COLUMNS:
            raise TooManyColumns(
                _(
                    "The header row has %(count)d columns; at most %(limit)d can be imported. Delete the columns "
                    "you do not need (or split the sheet) and upload again."
                )
                % {"count": self.width, "limit": MAX_COLUMNS},
                extra={"columns": self.width, "limit": MAX_COLUMNS},
            )
        mapping = auto_map(self.headers, custom_fields=custom_fields).mapping
        self._identity_columns = frozenset(i for i, key in mapping.items() if key in _IDENTITY_FIELDS)

    # -- header ---------------------------------------------------------------------------------------

    def _find_header(self, custom_fields: Sequence[tuple[str, str]]) -> tuple[int, list[str]]:
        """The header row among the first non-blank rows.

        Best: the all-text row naming the most known fields (exact names count double). Failing that,
        the first all-text row with the most cells; a one-column sheet needs an exact field name.
        """
        best: tuple[int, int, list[str | None]] | None = None  # score, row number, values
        widest: tuple[int, int, list[str | None]] | None = None
        single: tuple[int, list[str | None]] | None = None
        seen = 0
        for number, values, _errors in self._clean(self._source.rows()):
            if not any(values):
                continue
            seen += 1
            filled = [v for v in values if v]
            if all(_is_text(v) for v in filled):
                if len(filled) >= 2:
                    score = sum(
                        2 if alias_field(v) else 1 for v in filled if alias_field(v) or match_header(v, custom_fields)
                    )
                    if score >= 3 and (best is None or score > best[0]):
                        best = (score, number, values)
                    if widest is None or len(filled) > widest[0]:
                        widest = (len(filled), number, values)
                elif single is None and alias_field(filled[0]):
                    single = (number, values)
            if seen >= HEADER_SCAN_ROWS:
                break
        if seen == 0:
            raise EmptySpreadsheet(
                _("The sheet “%(sheet)s” has no data. Check that you chose the right file and sheet.")
                % {"sheet": self.sheet_name or self.filename}
            )
        chosen = (best[1], best[2]) if best else (widest[1], widest[2]) if widest else single
        if chosen is None:
            raise NoHeaderRow(
                _(
                    "No header row was found in the first %(rows)d rows. Put one row of column names (such as "
                    "客户名称, 联系人, 手机) above the data and upload again."
                )
                % {"rows": HEADER_SCAN_ROWS}
            )
        number, values = chosen
        last = max(i for i, v in enumerate(values) if v)
        return number, [" ".join(v.split()) if v else "" for v in values[: last + 1]]

    # -- rows -----------------------------------------------------------------------------------------

    @staticmethod
    def _clean(raw_rows: Iterator[RawRow]) -> Iterator[tuple[int, list[str | None], dict[int, CellError]]]:
        for number, raw, raw_errors in raw_rows:
            cleaned = [clean_value(v) for v in raw]
            errors: dict[int, CellError] = {}
            # map(type, ...) and `in` run in C: the per-cell loop only runs on rows holding an error.
            if CellError in map(type, cleaned):
                for column, value in enumerate(cleaned):
                    if type(value) is CellError:
                        errors[column] = value
                        cleaned[column] = None
            if raw_errors:
                for column, code in raw_errors.items():
                    if 0 <= column < len(cleaned):
                        cleaned[column] = None
                        errors[column] = CellError(code)
            yield number, cleaned, errors  # type: ignore[misc]  # no CellError is left in cleaned

    def _is_numbers_only(self, values: list[str | None]) -> bool:
        filled = False
        for index, value in enumerate(values):
            if value:
                if index in self._identity_columns or _is_text(value):
                    return False
                filled = True
        return filled

    def rows(self) -> Iterator[SheetRow]:
        """Data rows below the header, in order; blank and totals rows left out (totals are in ``skipped``).

        Rows of numbers only are held back until a real row follows: at the end of the sheet they are
        a totals line without a label and are dropped.
        """
        self.skipped = []
        width, header_row = self.width, self.header_row
        held: list[SheetRow] = []
        for number, values, errors in self._clean(self._source.rows()):
            if number <= header_row:
                continue
            if len(values) != width:
                values = values[:width] if len(values) > width else values + [None] * (width - len(values))
                errors = {c: e for c, e in errors.items() if c < width}
            if not errors and not any(values):
                continue
            if _is_totals_label(values):
                self.skipped.append(SkippedRow(number, "totals"))
                continue
            row = SheetRow(number, values, errors)
            if not errors and self._is_numbers_only(values) and len(held) < _MAX_HELD_ROWS:
                held.append(row)
                continue
            if held:
                yield from held
                held = []
            yield row
        self.skipped.extend(SkippedRow(row.number, "totals") for row in held)

    # -- lifetime -------------------------------------------------------------------------------------

    def close(self) -> None:
        self._source.close()
        if self._owned is not None:
            self._owned.close()

    def __enter__(self) -> Sheet:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _spool(stream: IO[bytes], max_bytes: int) -> IO[bytes]:
    """Copy a stream that cannot seek, stopping as soon as it passes the limit."""
    spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115 - the Sheet closes it
    size = 0
    while chunk := stream.read(1024 * 1024):
        size += len(chunk)
        if size > max_bytes:
            spool.close()
            check_size(size, max_bytes)
        spool.write(chunk)
    spool.seek(0)
    check_size(size, max_bytes)
    return spool


def open_sheet(
    source: str | Path | bytes | IO[bytes] | Any,
    *,
    filename: str = "",
    sheet: str | int | None = None,
    custom_fields: Sequence[tuple[str, str]] = (),
    max_bytes: int = MAX_UPLOAD_BYTES,
) -> Sheet:
    """Open a spreadsheet (path, bytes, or a binary file object such as Django's UploadedFile).

    ``sheet`` picks a sheet by name or 0-based index; by default the first visible sheet with data.
    ``custom_fields`` are ``(key, label)`` pairs that help recognise the header row.
    Raises a SpreadsheetRejected subclass (a ValidationFailed) with a message for the user.
    """
    owned: IO[bytes] | None = None
    path: str | None = None
    if isinstance(source, str | Path):
        path = os.fspath(source)
        filename = filename or os.path.basename(path)
        check_size(os.path.getsize(path), max_bytes)
        owned = open(path, "rb")  # noqa: SIM115 - the Sheet closes it
        stream: IO[bytes] = owned
    elif isinstance(source, bytes | bytearray):
        check_size(len(source), max_bytes)
        stream = owned = io.BytesIO(bytes(source))
    else:
        stream = source
        size = file_size(stream)
        if size is None:
            stream = owned = _spool(stream, max_bytes)
        else:
            check_size(size, max_bytes)
        filename = filename or os.path.basename(str(getattr(source, "name", "") or ""))
    raw: WorkbookSource | XlsxSource | CsvSource | None = None
    try:
        fmt = detect_format(stream)
        if fmt is SheetFormat.CSV:
            raw = CsvSource(stream)
        elif fmt is SheetFormat.XLSX:
            raw = XlsxSource(stream, sheet)
        else:
            raw = WorkbookSource(stream, fmt, sheet, path=path)
        return Sheet(raw, owned=owned, custom_fields=custom_fields, filename=filename)
    except BaseException:
        if raw is not None:
            raw.close()
        if owned is not None:
            owned.close()
        raise
