"""The spreadsheet reader on files made here (openpyxl, csv, a hand-built .ods) and one committed .xls."""

from __future__ import annotations

import codecs
import datetime
import io
import time
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from django.utils import translation

from pearl.core.errors import ValidationFailed
from pearl.core.text import fold_width, strip_control
from pearl.dataquality.reader import (
    MAX_COLUMNS,
    CellError,
    EmptySpreadsheet,
    FileTooLarge,
    NoHeaderRow,
    NotASpreadsheet,
    PasswordProtected,
    SheetFormat,
    SheetNotFound,
    SheetRow,
    TooManyColumns,
    open_sheet,
)
from pearl.dataquality.reader_cells import _TRANSLATE, clean_value

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    """Messages are checked in their English source; the zh-hans catalogue may translate them."""
    with translation.override("en"):
        yield


# ------------------------------------------------------------------------------------------ builders


def xlsx(
    path: Path, rows: Sequence[Sequence[Any]], *, title: str | None = None, **sheets: Sequence[Sequence[Any]]
) -> Path:
    """A workbook whose first sheet holds ``rows``; a title goes in a merged A1:D1 with a blank row below."""
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "客户"
    if title:
        sheet["A1"] = title
        sheet.merge_cells("A1:D1")
        sheet.append([])  # row 2 stays blank
    for row in rows:
        sheet.append(list(row))
    for name, extra in sheets.items():
        other = book.create_sheet(name)
        for row in extra:
            other.append(list(row))
    book.save(path)
    return path


def set_error(path: Path, cell: str, code: str, sheet: str = "客户") -> None:
    book = openpyxl.load_workbook(path)
    book[sheet][cell].value = code
    book[sheet][cell].data_type = "e"
    book.save(path)


def ods(path: Path, rows: Sequence[Sequence[Any]]) -> Path:
    """A minimal OpenDocument spreadsheet: strings, floats and dates are enough for the reader."""

    def cell(value: Any) -> str:
        if value is None:
            return "<table:table-cell/>"
        if isinstance(value, datetime.date):
            return f'<table:table-cell office:value-type="date" office:date-value="{value.isoformat()}"/>'
        if isinstance(value, int | float):
            return f'<table:table-cell office:value-type="float" office:value="{value}"/>'
        return f'<table:table-cell office:value-type="string"><text:p>{value}</text:p></table:table-cell>'

    body = "".join("<table:table-row>" + "".join(cell(v) for v in row) + "</table:table-row>" for row in rows)
    content = (
        '<?xml version="1.0" encoding="UTF-8"?><office:document-content '
        'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2"><office:body>'
        f'<office:spreadsheet><table:table table:name="客户">{body}</table:table></office:spreadsheet>'
        "</office:body></office:document-content>"
    )
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
        'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
        '<manifest:file-entry manifest:full-path="/" '
        'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>'
    )
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("META-INF/manifest.xml", manifest, zipfile.ZIP_DEFLATED)
        archive.writestr("content.xml", content, zipfile.ZIP_DEFLATED)
    return path


def csv_bytes(rows: Sequence[Sequence[str]], *, encoding: str = "utf-8", delimiter: str = ",") -> bytes:
    text = "\r\n".join(delimiter.join(row) for row in rows) + "\r\n"
    return text.encode(encoding)


def rows_of(sheet: Any) -> list[SheetRow]:
    return list(sheet.rows())


HEADER = ["客户名称", "联系人", "手机", "签约日期", "备注"]


# ------------------------------------------------------------------------------------------ xlsx


def test_messy_xlsx_title_block_blank_rows_totals_and_excel_number_mangling(tmp_path: Path) -> None:
    path = xlsx(
        tmp_path / "客户.xlsx",
        [
            HEADER,
            ["广州鑫海海鲜酒楼有限公司", "张三", 13800138000.0, datetime.date(2026, 1, 15), "老客户"],
            [],
            [
                "  深圳市ＡＢＣ贸易有限公司\u3000",
                "李四",
                "1.39001390000E10",
                datetime.datetime(2026, 2, 1, 9, 30),
                "００１２３",
            ],
            ["佛山汇总科技有限公司", "王五", 13700137000, datetime.datetime(2026, 3, 1), "0755"],
            ["合计", None, None, None, 3],
            [None, None, None, None, 12.5],
        ],
        title="2026年客户名单",
    )
    with open_sheet(path) as sheet:
        assert sheet.format is SheetFormat.XLSX
        assert sheet.header_row == 3 and sheet.total_rows == 9
        assert sheet.headers == HEADER
        rows = rows_of(sheet)
        assert [r.number for r in rows] == [4, 6, 7]
        assert rows[0].values == ["广州鑫海海鲜酒楼有限公司", "张三", "13800138000", "2026-01-15", "老客户"]
        # Full-width letters/digits folded, spaces trimmed, text mobile in scientific notation recovered,
        # a date with a time kept as an ISO datetime, digits typed as text kept (leading zeros and all).
        assert rows[1].values == ["深圳市ABC贸易有限公司", "李四", "13900139000", "2026-02-01T09:30:00", "00123"]
        assert rows[2].values == ["佛山汇总科技有限公司", "王五", "13700137000", "2026-03-01", "0755"]
        assert all(not r.errors for r in rows)
        assert [(s.number, s.reason) for s in sheet.skipped] == [(8, "totals"), (9, "totals")]


def test_rows_stream_and_can_be_read_again(tmp_path: Path) -> None:
    path = xlsx(tmp_path / "a.xlsx", [HEADER, ["甲公司", "张三", "13800138000", None, None]])
    with open_sheet(path) as sheet:
        first = sheet.rows()
        assert isinstance(first, Iterator)
        assert [r.values for r in first] == [r.values for r in sheet.rows()]


def test_formula_error_cells_become_row_errors_not_crashes(tmp_path: Path) -> None:
    path = xlsx(
        tmp_path / "e.xlsx",
        [HEADER, ["甲公司", "张三", None, None, "x"], ["乙公司", "李四", "13800138000", None, None]],
    )
    set_error(path, "C2", "#DIV/0!")
    set_error(path, "E3", "#REF!")
    with open_sheet(path) as sheet:
        first, second = rows_of(sheet)
    assert first.values[2] is None and first.errors == {2: CellError("#DIV/0!")}
    assert second.errors == {4: CellError("#REF!")} and second.values[:3] == ["乙公司", "李四", "13800138000"]
    assert "#DIV/0!" in first.errors[2].message


def test_data_that_starts_away_from_a1_keeps_errors_in_their_column(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "客户"
    rows: list[list[str | None]] = [["客户名称", "手机", "金额"], ["甲公司", "13800138000", None]]
    for r, cells in enumerate(rows, start=3):
        for c, value in enumerate(cells, start=3):
            sheet.cell(row=r, column=c, value=value)
    book.save(tmp_path / "offset.xlsx")
    set_error(tmp_path / "offset.xlsx", "E4", "#N/A")
    with open_sheet(tmp_path / "offset.xlsx") as opened:
        assert opened.first_column == 2 and opened.header_row == 3
        assert opened.headers == ["客户名称", "手机", "金额"]
        (row,) = rows_of(opened)
    assert row.number == 4 and row.values == ["甲公司", "13800138000", None] and row.errors == {2: CellError("#N/A")}


def test_a_cell_merged_down_several_rows_fills_each_of_them(tmp_path: Path) -> None:
    path = xlsx(
        tmp_path / "m.xlsx",
        [
            ["客户名称", "负责人", "手机"],
            ["甲公司", "张三", "1"],
            ["乙公司", None, "2"],
            ["丙公司", None, "3"],
            ["丁公司", None, "4"],
        ],
        title="客户名单",
    )
    book = openpyxl.load_workbook(path)
    book["客户"].merge_cells("B4:B6")
    book.save(path)
    with open_sheet(path) as sheet:
        assert [r.values[1] for r in rows_of(sheet)] == ["张三", "张三", "张三", None]


def test_header_with_required_marks_below_a_two_cell_title_block(tmp_path: Path) -> None:
    path = xlsx(
        tmp_path / "b.xlsx",
        [
            ["制表人：张三", "日期：2026-01-01"],
            ["客户名称（必填）", "*手机", "所在城市", "序号"],
            ["甲公司", "13800138000", "广州", "1"],
        ],
    )
    with open_sheet(path) as sheet:
        assert sheet.header_row == 2
        assert sheet.headers == ["客户名称（必填）", "*手机", "所在城市", "序号"]
        assert [r.number for r in rows_of(sheet)] == [3]


def test_unknown_headers_still_found_as_the_first_wide_text_row(tmp_path: Path) -> None:
    path = xlsx(tmp_path / "u.xlsx", [["导出"], ["甲", "乙", "丙"], ["1", "2", "3"]])
    with open_sheet(path) as sheet:
        assert (sheet.header_row, sheet.headers) == (2, ["甲", "乙", "丙"])


def test_numbers_only_rows_in_the_middle_or_under_a_mobile_column_are_kept(tmp_path: Path) -> None:
    path = xlsx(
        tmp_path / "n.xlsx",
        [["客户名称", "手机", "金额"], [None, None, 5], ["甲公司", None, 1], [None, 13800138000, 2], [None, None, 8]],
    )
    with open_sheet(path) as sheet:
        rows = rows_of(sheet)
        assert [r.number for r in rows] == [2, 3, 4]  # row 5 (numbers only, at the end) is a totals line
        assert [s.number for s in sheet.skipped] == [5]


def test_sheet_choice_default_by_name_and_by_index(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    empty = book.active
    assert empty is not None
    empty.title = "封面"
    hidden = book.create_sheet("隐藏")
    hidden.append(["客户名称", "手机"])
    hidden.append(["隐藏公司", "13800138000"])
    hidden.sheet_state = "hidden"
    data = book.create_sheet("客户")
    data.append(["客户名称", "手机"])
    data.append(["甲公司", "13800138000"])
    book.save(tmp_path / "multi.xlsx")
    with open_sheet(tmp_path / "multi.xlsx") as sheet:
        assert sheet.sheet_names == ["封面", "隐藏", "客户"] and sheet.sheet_name == "客户"
        assert rows_of(sheet)[0].values == ["甲公司", "13800138000"]
    with open_sheet(tmp_path / "multi.xlsx", sheet="隐藏") as sheet:
        assert rows_of(sheet)[0].values[0] == "隐藏公司"
    with open_sheet(tmp_path / "multi.xlsx", sheet=1) as sheet:
        assert sheet.sheet_name == "隐藏"
    with pytest.raises(SheetNotFound, match="客户"):
        open_sheet(tmp_path / "multi.xlsx", sheet="订单")
    with pytest.raises(SheetNotFound):
        open_sheet(tmp_path / "multi.xlsx", sheet=7)
    with pytest.raises(EmptySpreadsheet):
        open_sheet(tmp_path / "multi.xlsx", sheet=0)


# ------------------------------------------------------------------------------------------ other formats


def test_xls_committed_fixture() -> None:
    with open_sheet(FIXTURES / "customers.xls") as sheet:
        assert sheet.format is SheetFormat.XLS
        assert sheet.sheet_names == ["客户名单", "说明"]
        assert (sheet.header_row, sheet.headers) == (3, ["客户名称", "联系人", "手机", "签约日期"])
        assert [r.values for r in rows_of(sheet)] == [
            ["广州鑫海海鲜酒楼有限公司", "张三", "13800138000", "2026-01-15"],
            ["深圳市ABC贸易有限公司", "李四", "13900139000", "2026-02-01"],
        ]
        assert [s.number for s in sheet.skipped] == [7]


def test_ods(tmp_path: Path) -> None:
    path = ods(
        tmp_path / "c.ods",
        [["客户名称", "手机", "日期"], ["甲公司", 13800138000, datetime.date(2026, 3, 4)], ["乙公司", "#DIV/0!", None]],
    )
    with open_sheet(path) as sheet:
        assert sheet.format is SheetFormat.ODS
        first, second = rows_of(sheet)
    assert first.values == ["甲公司", "13800138000", "2026-03-04"]
    assert second.values == ["乙公司", None, None] and second.errors == {1: CellError("#DIV/0!")}


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "gbk", "utf-16"])
@pytest.mark.parametrize("delimiter", [",", "\t", ";"])
def test_csv_encodings_and_delimiters(tmp_path: Path, encoding: str, delimiter: str) -> None:
    data = csv_bytes(
        [
            ["2026年客户名单"],
            [],
            ["客户名称", "联系人", "手机", "地址"],
            ["广州鑫海（海鲜）酒楼", "张三", "13800138000.0", "天河区 体育西路"],
        ],
        encoding=encoding,
        delimiter=delimiter,
    )
    (tmp_path / "c.csv").write_bytes(data)
    with open_sheet(tmp_path / "c.csv") as sheet:
        assert sheet.format is SheetFormat.CSV and sheet.delimiter == delimiter
        assert sheet.header_row == 3 and sheet.headers == ["客户名称", "联系人", "手机", "地址"]
        (row,) = rows_of(sheet)
    # Numbers stored as text stay as typed (phone validation strips the .0 later); Chinese brackets stay.
    assert row.number == 4 and row.values == ["广州鑫海（海鲜）酒楼", "张三", "13800138000.0", "天河区 体育西路"]


def test_gbk_is_told_apart_from_utf8_even_after_a_long_ascii_start(tmp_path: Path) -> None:
    rows = [["name", "mobile"]] + [[f"company {i}", "13800138000"] for i in range(5000)] + [["鑫海公司", "1"]]
    with open_sheet(csv_bytes(rows, encoding="gbk")) as sheet:
        assert sheet.encoding == "gb18030"
        assert rows_of(sheet)[-1].values == ["鑫海公司", "1"]


def test_csv_quoted_cells_scientific_mobiles_and_error_text() -> None:
    data = '客户名称,手机,备注\n"甲,乙公司",1.38001380000E+10,"两行\n备注"\n丙公司,1.38E+10,#N/A\n'.encode()
    with open_sheet(io.BytesIO(data), filename="x.csv") as sheet:
        first, second = rows_of(sheet)
    assert first.values == ["甲,乙公司", "13800138000", "两行\n备注"]
    # 1.38E+10 lost its digits in Excel: left as typed so validation rejects it instead of inventing a number.
    assert second.values == ["丙公司", "1.38E+10", None] and second.errors == {2: CellError("#N/A")}


def test_format_comes_from_the_content_not_the_name(tmp_path: Path) -> None:
    real = xlsx(tmp_path / "real.xlsx", [HEADER, ["甲公司", "张三", "13800138000", None, None]])
    renamed = tmp_path / "export.csv"
    renamed.write_bytes(real.read_bytes())
    with open_sheet(renamed) as sheet:
        assert sheet.format is SheetFormat.XLSX
    text_as_xls = tmp_path / "erp-export.xls"  # old systems write tab-separated text named .xls
    text_as_xls.write_bytes(
        csv_bytes([HEADER, ["甲公司", "张三", "13800138000", "", ""]], delimiter="\t", encoding="gbk")
    )
    with open_sheet(text_as_xls) as sheet:
        assert sheet.format is SheetFormat.CSV and rows_of(sheet)[0].values[0] == "甲公司"


def test_excel_sep_hint_line() -> None:
    with open_sheet(
        b"sep=;\r\n\xe5\xae\xa2\xe6\x88\xb7\xe5\x90\x8d\xe7\xa7\xb0;mobile\r\nA,B;13800138000\r\n"
    ) as sheet:
        assert sheet.delimiter == ";" and sheet.headers == ["客户名称", "mobile"]
        assert rows_of(sheet)[0].values == ["A,B", "13800138000"]


def test_non_seekable_stream_is_read() -> None:
    with open_sheet(_Pipe(csv_bytes([["客户名称", "手机"], ["甲公司", "13800138000"]]))) as sheet:
        assert rows_of(sheet)[0].values == ["甲公司", "13800138000"]


# ------------------------------------------------------------------------------------------ bad input


class _Pipe(io.RawIOBase):
    """A stream that cannot seek or tell its size, like a socket."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)
        self.read_bytes = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        chunk = self._data.read(len(buffer))
        buffer[: len(chunk)] = chunk
        self.read_bytes += len(chunk)
        return len(chunk)


@pytest.mark.parametrize(
    ("content", "detected"),
    [
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "PNG"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "PDF"),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 50, "JPEG"),
        (b"<html><body><table><tr><td>1</td></tr></table></body></html>", "web page"),
        (bytes(range(256)) * 4, None),
    ],
)
def test_not_a_spreadsheet(tmp_path: Path, content: bytes, detected: str | None) -> None:
    (tmp_path / "data.xlsx").write_bytes(content)
    with pytest.raises(NotASpreadsheet) as caught:
        open_sheet(tmp_path / "data.xlsx")
    message = str(caught.value.message)
    assert ".xlsx" in message and "CSV" in message
    if detected:
        assert detected in message
    assert isinstance(caught.value, ValidationFailed) and caught.value.status == 422


def test_zip_that_is_not_a_workbook(tmp_path: Path) -> None:
    with zipfile.ZipFile(tmp_path / "w.xlsx", "w") as archive:
        archive.writestr("word/document.xml", "<w/>")
    with pytest.raises(NotASpreadsheet, match="Word"):
        open_sheet(tmp_path / "w.xlsx")


def test_ole2_file_that_is_not_a_workbook(tmp_path: Path) -> None:
    (tmp_path / "x.xls").write_bytes(codecs.decode("d0cf11e0a1b11ae1", "hex") + b"\x00" * 600)
    with pytest.raises(NotASpreadsheet):
        open_sheet(tmp_path / "x.xls")


def test_password_protected_xlsx(tmp_path: Path) -> None:
    # An encrypted .xlsx is an OLE2 container holding an "EncryptedPackage" stream (MS-OFFCRYPTO); this
    # hand-made container is not a valid workbook either, so it checks the decision, not the decryption.
    body = b"\x00" * 512 + "EncryptionInfo".encode("utf-16-le") + b"\x00" * 50 + "EncryptedPackage".encode("utf-16-le")
    (tmp_path / "locked.xlsx").write_bytes(codecs.decode("d0cf11e0a1b11ae1", "hex") + body)
    with pytest.raises(PasswordProtected, match="password"):
        open_sheet(tmp_path / "locked.xlsx")


def test_empty_inputs(tmp_path: Path) -> None:
    (tmp_path / "empty.csv").write_bytes(b"")
    with pytest.raises(EmptySpreadsheet, match="empty"):
        open_sheet(tmp_path / "empty.csv")
    with pytest.raises(EmptySpreadsheet):
        open_sheet(b"\r\n\r\n,,\r\n")
    book = openpyxl.Workbook()
    book.create_sheet("Sheet2")
    book.save(tmp_path / "blank.xlsx")
    with pytest.raises(EmptySpreadsheet, match="empty"):
        open_sheet(tmp_path / "blank.xlsx")


def test_no_header_row(tmp_path: Path) -> None:
    path = xlsx(tmp_path / "numbers.xlsx", [[1, 2, 3]] * 30)
    with pytest.raises(NoHeaderRow, match="header row"):
        open_sheet(path)


def test_a_200_mb_file_is_refused_without_reading_it(tmp_path: Path) -> None:
    big = tmp_path / "big.xlsx"
    with big.open("wb") as handle:
        handle.truncate(200 * 1024 * 1024)  # sparse: nothing is written or read
    started = time.perf_counter()
    with pytest.raises(FileTooLarge) as caught:
        open_sheet(big)
    assert time.perf_counter() - started < 0.5
    assert "200.0 MB" in str(caught.value.message) and "50 MB" in str(caught.value.message)
    assert caught.value.extra == {"size": 200 * 1024 * 1024, "limit": 50 * 1024 * 1024}


def test_size_limit_applies_to_streams_too() -> None:
    data = csv_bytes([["客户名称", "手机"]] + [["甲公司", "13800138000"]] * 2000)
    with pytest.raises(FileTooLarge):
        open_sheet(io.BytesIO(data), max_bytes=10_000)
    pipe = _Pipe(data * 40)
    with pytest.raises(FileTooLarge):
        open_sheet(pipe, max_bytes=10_000)
    assert pipe.read_bytes < 2 * 1024 * 1024  # stopped soon after the limit, not at the end


def test_too_many_columns(tmp_path: Path) -> None:
    headers = ["客户名称", "手机"] + [f"字段{i}" for i in range(98)]
    path = xlsx(tmp_path / "wide.xlsx", [headers, ["甲公司", "13800138000"]])
    with pytest.raises(TooManyColumns) as caught:
        open_sheet(path)
    assert "100" in str(caught.value.message) and str(MAX_COLUMNS) in str(caught.value.message)
    assert caught.value.extra["columns"] == 100


# ------------------------------------------------------------------------------------------ cells


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        (None, None),
        ("", None),
        ("  \u3000 ", None),
        (13800138000.0, "13800138000"),
        ("1.38001380000E10", "13800138000"),
        ("１.３８００１３８０００Ｅ１０", "13800138000"),
        ("1.38E+10", "1.38E+10"),
        ("1E3", "1E3"),
        (12.5, "12.5"),
        (0.1 + 0.2, "0.3"),
        (42, "42"),
        (True, "TRUE"),
        ("００１２３", "00123"),
        ("ＡＢＣ（广州）有限公司，", "ABC（广州）有限公司，"),
        ("a\x00b\x07c", "abc"),
        (datetime.date(2026, 1, 2), "2026-01-02"),
        (datetime.datetime(2026, 1, 2), "2026-01-02"),
        (datetime.datetime(2026, 1, 2, 8, 5, 3), "2026-01-02T08:05:03"),
        (datetime.time(8, 30), "08:30:00"),
        (datetime.timedelta(hours=26, minutes=5), "26:05:00"),
        ("#DIV/0!", CellError("#DIV/0!")),
        ("Err:502", CellError("Err:502")),
        ("#1 门店", "#1 门店"),
        ("Email", "Email"),
    ],
)
def test_clean_value(raw: Any, clean: Any) -> None:
    assert clean_value(raw) == clean


def test_fast_width_fold_matches_core_text() -> None:
    # reader_cells folds with a translate table for speed; it must agree with pearl.core.text.
    sample = (
        "".join(chr(c) for c in range(0x20, 0x7F)) + "".join(chr(c) for c in range(0xFF01, 0xFF5F)) + "（，。）\x01\x1f"
    )
    assert sample.translate(_TRANSLATE) == fold_width(strip_control(sample))
