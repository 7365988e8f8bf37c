"""One spreadsheet cell → a clean string (or None), whatever the file format made of it.

Runs once per cell of every import, so the common cases (text, whole numbers) take the shortest path.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext_lazy as _

# What Excel, WPS and LibreOffice show in a cell whose formula failed.
ERROR_CODES = frozenset(
    {
        "#NULL!",
        "#DIV/0!",
        "#VALUE!",
        "#REF!",
        "#NAME?",
        "#NUM!",
        "#N/A",
        "#GETTING_DATA",
        "#SPILL!",
        "#CALC!",
        "#FIELD!",
        "#BLOCKED!",
        "#CONNECT!",
        "#UNKNOWN!",
        "#BUSY!",
    }
)
_LIBREOFFICE_ERROR = re.compile(r"Err:\d{3}")
# 1.38001380000E10 typed or pasted as text; the sign of the exponent must be positive.
_SCIENTIFIC = re.compile(r"[+-]?(\d+)(?:\.(\d+))?[eE]\+?(\d{1,2})")
_STRIP = " \t\r\n\u3000\u00a0\u200b\ufeff"


@dataclass(frozen=True, slots=True)
class CellError:
    """A cell that holds a formula error: the importer rejects its row with this reason."""

    code: str

    @property
    def message(self) -> str:
        return str(
            _("The cell shows the formula error %(code)s. Correct the formula or type the value, then import again.")
            % {"code": self.code}
        )


def is_error_code(text: str) -> bool:
    return text in ERROR_CODES or (text.startswith("Err:") and _LIBREOFFICE_ERROR.fullmatch(text) is not None)


def _scientific_to_integer(text: str) -> str | None:
    """``1.38001380000E10`` → ``13800138000``, only when the mantissa carries every digit.

    ``1.38E+10`` is left alone: Excel already dropped the digits, and 13800000000 would be a wrong
    but valid-looking mobile. Left as typed it fails validation with a reason the user can fix.
    """
    match = _SCIENTIFIC.fullmatch(text)
    if match is None:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    if value != value.to_integral_value():
        return None
    integer = str(int(value))
    typed_digits = len((match.group(1) + (match.group(2) or "")).lstrip("0"))
    if typed_digits < len(integer.lstrip("-")):
        return None
    return integer


# pearl.core.text.fold_width and strip_control as one str.translate table: the same result, but at C
# speed, which matters when every cell of a 100,000-row sheet goes through here.
_TRANSLATE: dict[int, int | None] = {
    **dict.fromkeys((*range(0, 9), 11, 12, *range(14, 32), 127)),
    **{code: code - 0xFEE0 for code in (*range(0xFF10, 0xFF1A), *range(0xFF21, 0xFF3B), *range(0xFF41, 0xFF5B))},
}


_NEEDS_TRANSLATE = re.compile("[" + "".join(re.escape(chr(code)) for code in _TRANSLATE) + "]")
_NUMBER_START = frozenset("0123456789+-")


def clean_text(text: str) -> str | CellError | None:
    return clean_value(text)


def format_float(value: float) -> str:
    """Whole floats without ``.0`` (13800138000.0 → 13800138000), others as Excel shows them."""
    if value.is_integer():
        return str(int(value))
    return f"{value:.15g}"


def clean_value(value: Any) -> str | CellError | None:
    """The clean string of one cell value as calamine or the csv module give it.

    A formula error shown as text (``#DIV/0!``, LibreOffice's ``Err:502``) comes back as a CellError.
    """
    kind = type(value)
    if kind is str:
        # Inlined rather than a helper call: this line runs for most cells of every import.
        if not value:
            return None
        if value.isascii():  # constant time in CPython
            if not value.isprintable():
                value = value.translate(_TRANSLATE)
        elif _NEEDS_TRANSLATE.search(value) is not None:
            value = value.translate(_TRANSLATE)
        value = value.strip(_STRIP)
        if not value:
            return None
        first = value[0]
        if first == "#" or first == "E":
            if is_error_code(value):
                return CellError(value)
        elif first in _NUMBER_START and ("E" in value or "e" in value):
            return _scientific_to_integer(value) or value
        return value
    if value is None:
        return None
    if kind is float:
        return format_float(value)
    if kind is bool:
        return "TRUE" if value else "FALSE"
    if kind is int:
        return str(value)
    if kind is datetime.datetime:
        if value.hour == value.minute == value.second == value.microsecond == 0:
            return value.date().isoformat()
        return value.isoformat(timespec="seconds")
    if kind is datetime.date:
        return value.isoformat()
    if kind is datetime.time:
        return value.isoformat(timespec="seconds")
    if kind is datetime.timedelta:
        seconds = int(value.total_seconds())
        return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
    return clean_value(str(value))
