""".xlsx, streamed: rows come one at a time from the sheet's XML, so reading costs the same memory
whether the file holds 1,000 rows or 1,000,000.

openpyxl's read-only mode parses the sheet as it goes; what it would still hold whole is the
workbook's shared-strings table (every distinct text of the file, ~100 bytes each in a Python list).
Here that table is written to two temporary files as it is parsed (``DiskStrings``) and each cell's
text is read back from the file (the OS page cache keeps the hot part, outside this process).
Merged cells are not exposed by read-only mode: the ``<mergeCell>`` list, after the rows in the XML,
is found by one fast scan of the raw bytes when the file is opened (which also counts the rows of a
sheet whose writer did not record its size).

calamine (``reader_io.WorkbookSource``) is still the reader of .xls, .xlsb and .ods: it holds a
whole sheet, but .xls stops at 65,536 rows and the other two rarely carry big customer lists.
"""

from __future__ import annotations

import functools
import os
import re
import struct
import tempfile
import warnings
import zipfile
import zlib
from array import array
from collections.abc import Iterator, Sequence
from typing import IO, Any, overload
from xml.etree.ElementTree import ParseError, iterparse
from xml.parsers import expat

from django.utils.translation import gettext_lazy as _
from openpyxl.cell.text import Text
from openpyxl.reader.excel import ExcelReader
from openpyxl.utils.cell import column_index_from_string
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.worksheet._read_only import ReadOnlyWorksheet
from openpyxl.worksheet._reader import WorkSheetParser
from openpyxl.worksheet.dimensions import SheetDimension
from openpyxl.xml.constants import SHEET_MAIN_NS

from pearl.dataquality.reader_io import (
    CHUNK_BYTES,
    EmptySpreadsheet,
    FillDown,
    RawRow,
    SheetFormat,
    SheetNotFound,
    unreadable,
)

_SI = f"{{{SHEET_MAIN_NS}}}si"
_DIMENSION = f"{{{SHEET_MAIN_NS}}}dimension"
_SHEET_DATA = f"{{{SHEET_MAIN_NS}}}sheetData"
_ROW = f"{{{SHEET_MAIN_NS}}}row"
_FLUSH_BYTES = 1024 * 1024
# Distinct texts kept in memory after a read from the file: a column of grades or cities repeats a few.
_HOT_STRINGS = 4096
# Whatever a broken package or XML raises while openpyxl reads it.
_BROKEN = (
    InvalidFileException, zipfile.BadZipFile, zlib.error, ParseError, expat.ExpatError, KeyError, ValueError,
    TypeError, OSError, EOFError,
)  # fmt: skip


class DiskStrings(Sequence[str]):
    """The shared-strings table, in temporary files: the UTF-8 texts end to end, and where each starts.

    Reading string ``i`` is two ``pread`` calls (16 bytes of offsets, then the text), ~1 µs.
    """

    def __init__(self) -> None:
        self._texts = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close()
        self._starts = tempfile.TemporaryFile()  # noqa: SIM115
        self._text_buffer = bytearray()
        self._start_buffer = array("Q", [0])  # offset of string 0; each append adds the next one
        self._size = 0
        self._count = 0
        self._read = functools.lru_cache(maxsize=_HOT_STRINGS)(self._read_from_file)

    def append(self, text: str) -> None:
        data = text.encode("utf-8")
        self._text_buffer += data
        self._size += len(data)
        self._start_buffer.append(self._size)
        self._count += 1
        if len(self._text_buffer) >= _FLUSH_BYTES:
            self._flush()

    def _flush(self) -> None:
        self._texts.write(self._text_buffer)
        self._starts.write(self._start_buffer.tobytes())
        self._text_buffer.clear()
        self._start_buffer = array("Q")

    def freeze(self) -> None:
        """After the last append: everything to the files, ready to be read."""
        self._flush()
        self._texts.flush()
        self._starts.flush()

    def _read_from_file(self, index: int) -> str:
        start, end = struct.unpack("<QQ", os.pread(self._starts.fileno(), 16, index * 8))
        return os.pread(self._texts.fileno(), end - start, start).decode("utf-8")

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[str]: ...
    def __getitem__(self, index: int | slice) -> str | Sequence[str]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self._count))]
        if not 0 <= index < self._count:
            raise IndexError(index)  # openpyxl turns this into a broken-file error, as for a list
        return self._read(index)

    def __len__(self) -> int:
        return self._count

    def close(self) -> None:
        self._texts.close()
        self._starts.close()


def read_disk_strings(xml: IO[bytes]) -> DiskStrings:
    """Parse ``xl/sharedStrings.xml`` as openpyxl's ``read_string_table`` does, into a DiskStrings."""
    strings = DiskStrings()
    try:
        context = iterparse(xml, events=("start", "end"))
        _event, root = next(context)
        for event, node in context:
            if event == "end" and node.tag == _SI:
                strings.append(Text.from_tree(node).content.replace("x005F_", ""))
                root.clear()  # drop the parsed <si> elements: the tree would otherwise grow with the table
    except StopIteration:
        pass
    except BaseException:
        strings.close()
        raise
    strings.freeze()
    return strings


class _Worksheet(ReadOnlyWorksheet):
    """openpyxl's read-only sheet, reading its ``<dimension>`` from the head of the XML only.

    openpyxl looks for it with "end" events, so a sheet written without one (openpyxl's own
    write-only mode, many exporters) is parsed to its end before the first row is read: 1.5 s per
    100,000 rows, for every sheet of the workbook, on every open.
    """

    def _get_size(self) -> None:
        with self._get_source() as src:
            try:
                for _event, element in iterparse(src, events=("start",)):
                    if element.tag == _DIMENSION:
                        bounds = SheetDimension.from_tree(element).boundaries
                        self._min_column, self._min_row, self._max_column, self._max_row = bounds
                        return
                    if element.tag == _SHEET_DATA:
                        return
            except (ParseError, ValueError, TypeError):
                return  # no usable dimension: the rows are read without one

    def numbered_rows(self) -> Iterator[tuple[int, list[Any]]]:
        """``(row number, values from column A)`` of each row in the XML, cells parsed by openpyxl.

        openpyxl's own loop (``iter_rows``) keeps an emptied element per row under ``<sheetData>``
        (~75 bytes a row) and a dict per row of custom height; here both are dropped as rows go.
        """
        with self._get_source() as src:
            parser = WorkSheetParser(
                src, self._shared_strings, data_only=True, epoch=self.parent.epoch,
                date_formats=self.parent._date_formats, timedelta_formats=self.parent._timedelta_formats,
            )  # fmt: skip
            sheet_data = None
            for event, element in iterparse(src, events=("start", "end")):
                if event == "start":
                    if element.tag == _SHEET_DATA:
                        sheet_data = element
                elif element.tag == _ROW:
                    number, cells = parser.parse_row(element)
                    if sheet_data is not None:
                        sheet_data.clear()
                    parser.row_dimensions.clear()
                    values: list[Any] = [None] * (cells[-1]["column"] if cells else 0)
                    for cell in cells:
                        values[cell["column"] - 1] = cell["value"]
                    yield number, values
                elif element.tag == _SHEET_DATA:
                    return  # what follows the rows (merges, print setup) is not needed here


class _StreamingReader(ExcelReader):
    """openpyxl's package reader with the shared strings kept on disk and lazily sized sheets."""

    def read_worksheets(self) -> None:
        # The read-only branch of ExcelReader.read_worksheets, with _Worksheet.
        for sheet, rel in self.parser.find_sheets():
            if rel.target not in self.valid_files or "chartsheet" in rel.Type:
                continue
            worksheet = _Worksheet(self.wb, sheet.name, rel.target, self.shared_strings)
            worksheet.sheet_state = sheet.state
            self.wb._sheets.append(worksheet)

    def read_strings(self) -> None:
        from openpyxl.xml.constants import SHARED_STRINGS

        found = self.package.find(SHARED_STRINGS)
        self.shared_strings: Sequence[str] = []
        if found is not None:
            with self.archive.open(found.PartName[1:]) as xml:
                self.shared_strings = read_disk_strings(xml)


class XlsxSource:
    """One sheet of an .xlsx file, streamed (the ``reader_io`` source interface: ``rows()`` and ``close()``)."""

    format = SheetFormat.XLSX

    def __init__(self, stream: IO[bytes], sheet: str | int | None) -> None:
        self._strings: Sequence[str] = []
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # "no default style", "extension not supported": nothing for the user
                reader = _StreamingReader(stream, read_only=True, data_only=True, keep_links=False)
                try:
                    reader.read()
                finally:
                    self._strings = reader.shared_strings
        except _BROKEN as exc:
            self.close()
            raise unreadable(exc) from exc
        self._book = reader.wb
        self._archive: zipfile.ZipFile = reader.archive
        self.sheet_names: list[str] = list(self._book.sheetnames)
        try:
            self.sheet_name, self._sheet = self._pick(sheet)
        except BaseException:
            self.close()
            raise
        # The <dimension> the writer recorded gives the last row for a progress bar; it is not trusted
        # for the width (some writers get it wrong, and openpyxl would cut the rows to it).
        # Its first column is trusted (rows are read from there, as calamine does): a sheet starting at
        # column C does not get two blank headers.
        last, first = self._sheet.max_row, self._sheet.min_column
        self.first_column: int = first - 1 if isinstance(first, int) and first > 1 else 0
        self._sheet.reset_dimensions()
        try:
            row_elements, merges = _scan(self._archive, self._sheet._worksheet_path)
        except _BROKEN as exc:
            self.close()
            raise unreadable(exc, sheet=True) from exc
        self._merges = FillDown(merges)
        # The last row for a progress bar: the writer's <dimension>, else how many rows the XML holds.
        self.total_rows: int | None = last if isinstance(last, int) and last > 1 else row_elements or None

    def _pick(self, sheet: str | int | None) -> tuple[str, Any]:
        if isinstance(sheet, str):
            if sheet not in self.sheet_names:
                raise SheetNotFound(
                    _("There is no sheet named “%(name)s”. The sheets are: %(names)s.")
                    % {"name": sheet, "names": "、".join(self.sheet_names)}
                )
            return sheet, self._book[sheet]
        if isinstance(sheet, int):
            if not 0 <= sheet < len(self.sheet_names):
                raise SheetNotFound(
                    _("The workbook has %(count)d sheet(s); there is no sheet number %(number)d.")
                    % {"count": len(self.sheet_names), "number": sheet + 1}
                )
            return self.sheet_names[sheet], self._book[self.sheet_names[sheet]]
        for candidate in self._book.worksheets:  # worksheets only, not chart sheets
            if candidate.sheet_state == "visible" and self._has_data(candidate):
                return candidate.title, candidate
        raise EmptySpreadsheet(_("Every sheet in this workbook is empty. Check that you chose the right file."))

    @staticmethod
    def _has_data(sheet: Any) -> bool:
        try:
            return any(any(v is not None and v != "" for v in values) for values in sheet.iter_rows(values_only=True))
        except _BROKEN:
            return False

    def rows(self) -> Iterator[RawRow]:
        fill, skip = self._merges.start(self.first_column), self.first_column
        try:
            for number, values in self._sheet.numbered_rows():
                yield number, fill(number, values[skip:] if skip else values), None
        except _BROKEN as exc:
            raise unreadable(exc, sheet=True) from exc

    def close(self) -> None:
        book = getattr(self, "_book", None)
        if book is not None:
            book.close()
        if isinstance(self._strings, DiskStrings):
            self._strings.close()


_MERGE_REF = re.compile(rb'<(?:\w+:)?mergeCell\s[^>]*?\bref="([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?"')


def _scan(archive: zipfile.ZipFile, path: str) -> tuple[int, list[tuple[int, int, int]]]:
    """(number of ``<row>`` elements, ``(first row, column, last row)`` 0-based of every merge down
    one column), from one pass over the raw bytes of the sheet's XML (``bytes`` searches, not a parse),
    which also checks that the XML is well-formed (and, reading the zip member to its end, its checksum).

    The ``<mergeCells>`` block follows the rows; only that block is read with a regex.
    """
    found: list[tuple[int, int, int]] = []
    rows = 0
    tail = b""
    block: bytearray | None = None
    # Expat with no handlers checks the XML is whole and well-formed at C speed (~0.1 s per 100k rows), so a
    # damaged sheet is refused when the file is opened (at upload), not half-way through an import.
    checker = expat.ParserCreate()
    with archive.open(path) as xml:
        while chunk := xml.read(CHUNK_BYTES):
            checker.Parse(chunk, False)
            if block is not None:
                block += chunk
                continue
            data = tail + chunk  # the 4-byte tail is shorter than what is counted: nothing counts twice
            rows += data.count(b"<row ") + data.count(b"<row>")
            start = data.find(b"mergeCells")
            if start >= 0:
                block = bytearray(data[start:])
            tail = data[-4:]
    checker.Parse(b"", True)
    for ref in _MERGE_REF.finditer(block or b""):
        first_column, first_row, last_column, last_row = ref.groups()
        if last_column is None or first_column != last_column or last_row == first_row:
            continue
        found.append((int(first_row) - 1, column_index_from_string(first_column.decode()) - 1, int(last_row) - 1))
    return rows, found
