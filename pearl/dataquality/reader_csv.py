"""CSV files: the encoding (UTF-8, UTF-8 with BOM, GB18030/GBK, UTF-16) and the delimiter, found from the
content; rows streamed through the csv module, so memory stays flat whatever the file size."""

from __future__ import annotations

import codecs
import csv
import io
from collections import Counter
from collections.abc import Iterator
from typing import IO

from charset_normalizer import from_bytes
from django.utils.translation import gettext_lazy as _

from pearl.dataquality.reader_io import (
    CHUNK_BYTES,
    SAMPLE_BYTES,
    RawRow,
    SheetFormat,
    UnreadableSpreadsheet,
    not_a_spreadsheet,
)

_DELIMITERS = (",", "\t", ";", "|")


class CsvSource:
    format = SheetFormat.CSV
    sheet_names: list[str] = []
    sheet_name = ""
    first_column = 0
    total_rows: int | None = None  # unknown without reading the whole file

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self.encoding = _detect_encoding(stream)
        self.delimiter = _sniff_delimiter(stream, self.encoding)

    def rows(self) -> Iterator[RawRow]:
        self._stream.seek(0)
        text = io.TextIOWrapper(self._stream, encoding=self.encoding, newline="")
        try:
            reader = csv.reader(text, delimiter=self.delimiter)
            number = 0
            try:
                for number, values in enumerate(reader, start=1):
                    yield number, values, None
            except csv.Error as exc:
                raise UnreadableSpreadsheet(
                    _("Row %(row)d of the CSV file cannot be read (%(reason)s). Fix it, or save the file as .xlsx.")
                    % {"row": number + 1, "reason": str(exc)[:200]}
                ) from exc
        finally:
            text.detach()  # leave the caller's stream open

    def close(self) -> None:
        pass


def _decodes(stream: IO[bytes], encoding: str) -> bool:
    """Whether the whole stream decodes, checked chunk by chunk so memory stays flat."""
    decoder = codecs.getincrementaldecoder(encoding)()
    stream.seek(0)
    try:
        while chunk := stream.read(CHUNK_BYTES):
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _detect_encoding(stream: IO[bytes]) -> str:
    stream.seek(0)
    sample = stream.read(SAMPLE_BYTES)
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"  # Excel's "Unicode text" export
    if b"\x00" in sample:
        raise not_a_spreadsheet()
    stripped = sample.lstrip()
    if stripped[:1] == b"<":
        raise not_a_spreadsheet(_("a web page or XML file"))
    # GBK and GB2312 are subsets of GB18030; charset-normalizer only guesses when neither fits (Big5 …).
    candidates = ["utf-8-sig"] if sample.startswith(codecs.BOM_UTF8) else ["utf-8", "gb18030", ""]
    for encoding in candidates:
        if not encoding:
            guess = from_bytes(sample).best()
            encoding = guess.encoding if guess is not None else ""
        if encoding and _decodes(stream, encoding):
            _check_text(sample, encoding)
            return encoding
    raise UnreadableSpreadsheet(
        _("The text encoding of this CSV file is not recognised. Save it from Excel or WPS as “CSV UTF-8” and retry.")
    )


def _check_text(sample: bytes, encoding: str) -> None:
    text = sample.decode(encoding, errors="ignore")
    controls = sum(1 for c in text if c < " " and c not in "\t\r\n")
    if controls > max(2, len(text) // 100):
        raise not_a_spreadsheet()


def _sniff_delimiter(stream: IO[bytes], encoding: str) -> str:
    """The delimiter that splits the first lines into the same number of fields most consistently."""
    stream.seek(0)
    raw = stream.read(SAMPLE_BYTES)
    complete = len(raw) < SAMPLE_BYTES
    text = codecs.getincrementaldecoder(encoding)(errors="ignore").decode(raw, final=complete)
    lines = [line for line in text.splitlines()[:50] if line.strip()]
    if lines and len(lines[0]) == 5 and lines[0].startswith("sep="):
        return lines[0][4]  # Excel's own hint line, e.g. "sep=;"
    if not complete and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut mid-way
    best, best_score = ",", (0, 0)
    for delimiter in _DELIMITERS:
        counts = [len(fields) for fields in csv.reader(lines, delimiter=delimiter)]
        widths = Counter(count for count in counts if count > 1)
        if not widths:
            continue
        width, rows = widths.most_common(1)[0]
        score = (rows, width)
        if score > best_score:
            best, best_score = delimiter, score
    return best
