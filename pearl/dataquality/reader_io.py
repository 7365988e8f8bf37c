"""Bytes → raw rows: recognise the format from the content, refuse what is not a spreadsheet, read.

.xls, .xlsb and .ods go through python-calamine here, .xlsx through reader_xlsx (streamed), CSV
through reader_csv.
Each source yields ``(row number, raw values, error codes by column)``.
"""

from __future__ import annotations

import enum
import io
import zipfile
from collections.abc import Callable, Iterator
from typing import IO, Any

import python_calamine
from django.utils.translation import gettext_lazy as _

from pearl.core.errors import ValidationFailed

RawRow = tuple[int, list[Any], dict[int, str] | None]

_MB = 1024 * 1024
SAMPLE_BYTES = 64 * 1024
CHUNK_BYTES = _MB


class SheetFormat(enum.StrEnum):
    XLSX = "xlsx"
    XLSB = "xlsb"
    XLS = "xls"
    ODS = "ods"
    CSV = "csv"


class SpreadsheetRejected(ValidationFailed):
    """The file cannot be imported as it is; the message says why and what to do."""

    code = "spreadsheet_rejected"


class NotASpreadsheet(SpreadsheetRejected):
    code = "not_a_spreadsheet"


class EmptySpreadsheet(SpreadsheetRejected):
    code = "empty_spreadsheet"


class FileTooLarge(SpreadsheetRejected):
    code = "file_too_large"


class PasswordProtected(SpreadsheetRejected):
    code = "password_protected"


class UnreadableSpreadsheet(SpreadsheetRejected):
    code = "unreadable_spreadsheet"


class SheetNotFound(SpreadsheetRejected):
    code = "sheet_not_found"


_FORMATS_HINT = _("Upload an Excel (.xlsx or .xls), OpenDocument (.ods) or CSV file.")
_MAGIC: tuple[tuple[bytes, Any], ...] = (
    (b"\x89PNG", _("a PNG image")),
    (b"\xff\xd8\xff", _("a JPEG image")),
    (b"GIF8", _("a GIF image")),
    (b"%PDF", _("a PDF document")),
    (b"Rar!", _("a RAR archive")),
    (b"7z\xbc\xaf", _("a 7-Zip archive")),
    (b"\x1f\x8b", _("a gzip archive")),
    (b"{\\rtf", _("an RTF document")),
)
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ODS_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"
_ENCRYPTED_STREAM = "EncryptedPackage".encode("utf-16-le")


def not_a_spreadsheet(kind: Any = None) -> NotASpreadsheet:
    if kind is None:
        return NotASpreadsheet(_("This file is not a spreadsheet. %(hint)s") % {"hint": _FORMATS_HINT})
    return NotASpreadsheet(
        _("This file is not a spreadsheet: it is %(kind)s. %(hint)s") % {"kind": kind, "hint": _FORMATS_HINT},
        extra={"detected": str(kind)},
    )


def file_size(stream: IO[bytes]) -> int | None:
    """Size without reading: the end offset of a seekable stream, else None."""
    try:
        here = stream.tell()
        end = stream.seek(0, io.SEEK_END)
        stream.seek(here)
        return end - here
    except (AttributeError, OSError, ValueError):
        return None


def check_size(size: int, max_bytes: int) -> None:
    if size == 0:
        raise EmptySpreadsheet(_("The file is empty. Choose the file that holds your data and upload it again."))
    if size > max_bytes:
        raise FileTooLarge(
            _(
                "The file is %(size).1f MB, more than the %(limit)d MB limit. Split it into smaller files, or "
                "delete unused sheets, pictures and columns, then upload again."
            )
            % {"size": size / _MB, "limit": max_bytes // _MB},
            extra={"size": size, "limit": max_bytes},
        )


def detect_format(stream: IO[bytes]) -> SheetFormat:
    """The format from the first bytes (and, for zip files, the entries), never from the file name."""
    stream.seek(0)
    head = stream.read(8)
    stream.seek(0)
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            raise not_a_spreadsheet(kind)
    if head.startswith(b"PK\x03\x04"):
        return _zip_format(stream)
    if head.startswith(_OLE2):
        return SheetFormat.XLS
    return SheetFormat.CSV


def _zip_format(stream: IO[bytes]) -> SheetFormat:
    try:
        with zipfile.ZipFile(stream) as archive:
            names = set(archive.namelist())
            if "mimetype" in names and archive.read("mimetype").strip() == _ODS_MIMETYPE:
                return SheetFormat.ODS
            if "xl/workbook.xml" in names:
                return SheetFormat.XLSX
            if "xl/workbook.bin" in names:
                return SheetFormat.XLSB
            if "word/document.xml" in names:
                raise not_a_spreadsheet(_("a Word document"))
            if any(name.startswith("ppt/") for name in names):
                raise not_a_spreadsheet(_("a PowerPoint presentation"))
            raise not_a_spreadsheet(_("a zip archive"))
    except zipfile.BadZipFile as exc:
        raise UnreadableSpreadsheet(
            _("The file is damaged and cannot be opened. Open it in Excel or WPS, save it again and upload the copy.")
        ) from exc
    finally:
        stream.seek(0)


def _is_encrypted_ooxml(stream: IO[bytes]) -> bool:
    """A password-protected .xlsx is an OLE2 container holding an ``EncryptedPackage`` stream."""
    stream.seek(0)
    tail = b""
    while chunk := stream.read(CHUNK_BYTES):
        if _ENCRYPTED_STREAM in tail + chunk:
            return True
        tail = chunk[-len(_ENCRYPTED_STREAM) :]
    return False


def unreadable(exc: BaseException, *, sheet: bool = False) -> UnreadableSpreadsheet:
    """The message for a file (or, once it is open, one of its sheets) that a reader choked on."""
    reason = str(exc)[:200] or type(exc).__name__
    if sheet:
        return UnreadableSpreadsheet(
            _("The sheet could not be read (%(reason)s). Open the file in Excel or WPS, save it again and retry.")
            % {"reason": reason}
        )
    return UnreadableSpreadsheet(
        _("The file could not be read (%(reason)s). Open it in Excel or WPS, save it again and upload the copy.")
        % {"reason": reason}
    )


PASSWORD_MESSAGE = _(
    "The file is protected by a password. Open it in Excel or WPS, remove the password "
    "(File → Info → Protect workbook), save it and upload it again."
)


class FillDown:
    """Cells merged down several rows: the top value is copied into the rows under it, in the same pass.

    Someone who merges 负责人 over five customers means it for all five. Merges across columns (a
    title over A1:D1) are left alone: copying a title sideways would make it look like a header row.
    """

    def __init__(self, vertical: list[tuple[int, int, int]]) -> None:
        # (first row, column, last row), 0-based as the file numbers them.
        self._starts: dict[int, list[tuple[int, int]]] = {}
        for first, column, last in vertical:
            if last > first:
                self._starts.setdefault(first + 1, []).append((column, last + 1))

    def start(self, first_column: int = 0) -> Callable[[int, list[Any]], list[Any]]:
        """A fresh pass: ``fill(row number, values)`` → the values with the merged cells filled.
        ``first_column``: the sheet column of ``values[0]``."""
        if not self._starts:
            return lambda _number, values: values
        starts = self._starts
        active: list[tuple[int, Any, int]] = []  # (column in values, top value, last row number)

        def fill(number: int, values: list[Any]) -> list[Any]:
            nonlocal active
            if active:
                active = [a for a in active if a[2] >= number]
                for column, top, _last in active:
                    if column >= len(values):
                        values.extend([None] * (column + 1 - len(values)))
                    if values[column] is None or values[column] == "":
                        values[column] = top
            for column, last in starts.get(number, ()):
                index = column - first_column
                if index >= 0:
                    active.append((index, values[index] if index < len(values) else None, last))
            return values

        return fill


# ---------------------------------------------------------------------------------------------- workbooks


class WorkbookSource:
    """An .xls, .xlsb or .ods workbook read by python-calamine.

    Calamine holds the chosen sheet in compact Rust memory (about 0.5 MB per 1,000 rows of 6 columns)
    and hands rows to Python one at a time. It cannot stream (python-calamine issue #42), so .xlsx,
    the format of big files, is streamed by reader_xlsx instead; .xls stops at 65,536 rows anyway.
    """

    def __init__(self, stream: IO[bytes], fmt: SheetFormat, sheet: str | int | None, path: str | None = None) -> None:
        self.format = fmt
        self._stream = stream
        try:
            if path is not None:
                self._book = python_calamine.CalamineWorkbook.from_path(path)
            else:
                self._book = python_calamine.CalamineWorkbook.from_filelike(stream)
        except python_calamine.PasswordError as exc:
            raise PasswordProtected(PASSWORD_MESSAGE) from exc
        except Exception as exc:  # calamine raises several kinds (CalamineError, ValueError) for broken files
            if fmt is SheetFormat.XLS and _is_encrypted_ooxml(stream):
                raise PasswordProtected(PASSWORD_MESSAGE) from exc
            if fmt is SheetFormat.XLS:
                raise not_a_spreadsheet() from exc
            raise unreadable(exc) from exc
        self._merges: FillDown | None = None
        self.sheet_names: list[str] = list(self._book.sheet_names)
        self.sheet_name, self._sheet = self._pick(sheet)
        start = self._sheet.start
        # iter_rows() (calamine 0.9) yields every row from the sheet's first row, blank ones included,
        # but only the columns from the first used one: row numbers are absolute, columns shifted.
        self.first_column = start[1] if start is not None else 0
        end = self._sheet.end
        self.total_rows: int | None = end[0] + 1 if end is not None else 0

    def _pick(self, sheet: str | int | None) -> tuple[str, python_calamine.CalamineSheet]:
        try:
            if isinstance(sheet, str):
                if sheet not in self.sheet_names:
                    raise SheetNotFound(
                        _("There is no sheet named “%(name)s”. The sheets are: %(names)s.")
                        % {"name": sheet, "names": "、".join(self.sheet_names)}
                    )
                return sheet, self._book.get_sheet_by_name(sheet)
            if isinstance(sheet, int):
                if not 0 <= sheet < len(self.sheet_names):
                    raise SheetNotFound(
                        _("The workbook has %(count)d sheet(s); there is no sheet number %(number)d.")
                        % {"count": len(self.sheet_names), "number": sheet + 1}
                    )
                return self.sheet_names[sheet], self._book.get_sheet_by_index(sheet)
            for index, meta in enumerate(self._book.sheets_metadata):
                if meta.visible != python_calamine.SheetVisibleEnum.Visible:
                    continue
                if meta.typ not in (python_calamine.SheetTypeEnum.WorkSheet, python_calamine.SheetTypeEnum.DialogSheet):
                    continue
                candidate = self._book.get_sheet_by_index(index)
                if candidate.height > 0:
                    return meta.name, candidate
        except python_calamine.PasswordError as exc:
            raise PasswordProtected(PASSWORD_MESSAGE) from exc
        except python_calamine.CalamineError as exc:
            raise unreadable(exc, sheet=True) from exc
        raise EmptySpreadsheet(_("Every sheet in this workbook is empty. Check that you chose the right file."))

    def rows(self) -> Iterator[RawRow]:
        if self._merges is None:
            ranges = self._sheet.merged_cell_ranges or []
            self._merges = FillDown([(r0, c0, r1) for (r0, c0), (r1, c1) in ranges if c1 == c0])
        fill = self._merges.start(self.first_column)
        for number, values in enumerate(self._sheet.iter_rows(), start=1):
            yield number, fill(number, values), None

    def close(self) -> None:
        self._book.close()
