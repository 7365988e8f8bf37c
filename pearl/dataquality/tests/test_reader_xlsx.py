""".xlsx streamed (reader_xlsx): the same rows whatever the writer did, at a memory cost that does not
grow with the file."""

from __future__ import annotations

import gc
import io
import tracemalloc
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import xlsxwriter

from pearl.dataquality import reader_xlsx
from pearl.dataquality.reader import UnreadableSpreadsheet, open_sheet
from pearl.dataquality.reader_xlsx import DiskStrings

HEADERS = ["客户名称", "联系人", "手机", "地址"]


def _rows(count: int) -> list[list[Any]]:
    return [[f"佛山顺德{i}号水产有限公司", f"陈{i}", 13700000000 + i, f"广东省佛山市顺德区{i}号"] for i in range(count)]


def _write(path: Path, rows: list[list[Any]], writer: str) -> Path:
    """"excel": XlsxWriter, which stores texts in a shared-strings table and records the sheet's size,
    as Excel and WPS do; "openpyxl": texts inline, size recorded; "streaming": openpyxl's write-only
    mode, texts inline and no size (as many exporters write)."""
    if writer == "excel":
        with xlsxwriter.Workbook(path) as excel:
            sheet = excel.add_worksheet("客户")
            for number, row in enumerate([HEADERS, *rows]):
                sheet.write_row(number, 0, row)
        return path
    book = openpyxl.Workbook(write_only=writer == "streaming")
    out = book.create_sheet("客户") if writer == "streaming" else book.active
    assert out is not None
    for row in [HEADERS, *rows]:
        out.append(row)
    book.save(path)
    return path


WRITERS = ("excel", "openpyxl", "streaming")


def test_disk_strings_give_back_what_was_appended() -> None:
    texts = ["广州鑫海海鲜酒楼有限公司", "", "A", "x" * 5000, "🦐 虾"] + [f"第{i}行" for i in range(3000)]
    strings = DiskStrings()
    for text in texts:
        strings.append(text)
    strings.freeze()
    try:
        assert len(strings) == len(texts)
        assert [strings[i] for i in (0, 1, 2, 3, 4, 3004)] == [texts[i] for i in (0, 1, 2, 3, 4, 3004)]
        assert list(strings) == texts
        with pytest.raises(IndexError):
            strings[len(texts)]
    finally:
        strings.close()


def test_every_writers_file_reads_the_same(tmp_path: Path) -> None:
    rows = _rows(300)
    read = []
    for writer in WRITERS:
        path = _write(tmp_path / f"{writer}.xlsx", rows, writer)
        with zipfile.ZipFile(path) as archive:
            assert ("xl/sharedStrings.xml" in archive.namelist()) == (writer == "excel")
        with open_sheet(path) as sheet:
            assert sheet.headers == HEADERS and sheet.header_row == 1
            assert sheet.total_rows == 301  # recorded by the writer, or counted in the XML
            read.append([(row.number, row.values) for row in sheet.rows()])
    assert read[0] == read[1] == read[2]
    assert read[0][0] == (2, ["佛山顺德0号水产有限公司", "陈0", "13700000000", "广东省佛山市顺德区0号"])
    assert [number for number, _values in read[0]] == list(range(2, 302))


def _peak_while_reading(path: Path) -> tuple[int, int]:
    gc.collect()  # garbage left by earlier tests would count against this file
    tracemalloc.start()
    try:
        with open_sheet(path) as sheet:
            count = sum(1 for _row in sheet.rows())
        return count, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_reading_holds_no_row_or_text_in_memory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Four times the rows, about the same peak (opening included). With the shared-strings table in a
    Python list (openpyxl's way, ~90 bytes a text) the bigger file needs ~2.5 MB more; the peak of the
    same code moves by up to ~0.6 MB with what ran before. (openpyxl's own row loop, which keeps ~75 bytes
    a row, would need files too big for a quick test to show.) The I/O buffers are made small so that they
    are full in both files."""
    monkeypatch.setattr(reader_xlsx, "_FLUSH_BYTES", 64 * 1024)
    monkeypatch.setattr(reader_xlsx, "CHUNK_BYTES", 64 * 1024)
    small = _peak_while_reading(_write(tmp_path / "small.xlsx", _rows(3_000), "excel"))
    big = _peak_while_reading(_write(tmp_path / "big.xlsx", _rows(12_000), "excel"))
    assert (small[0], big[0]) == (3_000, 12_000)
    assert big[1] - small[1] < 1024 * 1024, f"{small[1] / 1024:.0f} KB → {big[1] / 1024:.0f} KB"


def _damaged(path: Path, damage: str) -> bytes:
    """The file with its sheet's XML cut in half, or with bytes of its compressed data overwritten."""
    with zipfile.ZipFile(path) as source:
        if damage == "corrupt":
            info = source.getinfo("xl/worksheets/sheet1.xml")
            data = bytearray(path.read_bytes())
            start = info.header_offset + 30 + len(info.filename) + 100
            data[start : start + 64] = b"x" * 64
            return bytes(data)
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
            for name in source.namelist():
                content = source.read(name)
                if name == "xl/worksheets/sheet1.xml":
                    content = content[: len(content) // 2]
                target.writestr(name, content)
        return out.getvalue()


@pytest.mark.parametrize("damage", ["truncated", "corrupt"])
def test_a_damaged_sheet_is_refused_when_opened_not_half_way(tmp_path: Path, damage: str) -> None:
    """Rows are read as the import goes, so damage further down must be found before the first batch:
    a file refused at upload writes nothing."""
    data = _damaged(_write(tmp_path / "whole.xlsx", _rows(3000), "openpyxl"), damage)
    with pytest.raises(UnreadableSpreadsheet) as info:
        open_sheet(data)
    assert "WPS" in str(info.value.message)  # what to do: open it in Excel or WPS and save it again
