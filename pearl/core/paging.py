"""Paging and the small numbers a page request carries (page, form version, row index), shared by
every app's pages so each refuses bad input the same way."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from pearl.core.errors import ValidationFailed

PAGE_SIZE = 25
# Deeper than any person pages, and keeps OFFSET (page × size) far inside a 64-bit integer.
MAX_PAGE = 1_000_000


@dataclass
class Pager:
    number: int
    count: int
    capped: bool
    has_next: bool
    size: int = PAGE_SIZE

    @property
    def num_pages(self) -> int:
        return max(1, math.ceil(self.count / self.size))

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def previous_number(self) -> int:
        return self.number - 1

    @property
    def next_number(self) -> int:
        return self.number + 1


def whole_number(raw: str | None) -> int | None:
    """A whole number typed in ASCII digits (``"²".isdigit()`` is true, ``int("²")`` fails), else None."""
    if raw and len(raw) <= 9 and raw.isascii() and raw.isdigit():
        return int(raw)
    return None


def page_number(raw: str | None) -> tuple[int, str | None]:
    """The page asked for, or page 1 and the message saying why the request was refused."""
    if raw in (None, ""):
        return 1, None
    number = whole_number(raw)
    if number is None or number < 1 or number > MAX_PAGE:
        return 1, _("The page number must be a whole number from 1 up.")
    return number, None


def paginate(qs: Any, number: int, count: int, capped: bool, size: int = 0) -> tuple[list[Any], Pager]:
    """One page of ``qs`` (``size`` rows, ``PAGE_SIZE`` by default); past the last page of an exact
    count shows the last page."""
    size = size or PAGE_SIZE
    if not capped:
        number = min(number, max(1, math.ceil(count / size)))
    offset = (number - 1) * size
    rows = list(qs[offset : offset + size + 1])  # one extra row tells whether a next page exists
    return rows[:size], Pager(number, count, capped, len(rows) > size, size)


def form_version(raw: str | None) -> int | None:
    """The version a form was loaded with; garbage is refused rather than ignored."""
    if raw in (None, ""):
        return None
    version = whole_number(raw)
    if version is None:
        raise ValidationFailed(_("This form is damaged; reload the page and try again."))
    return version
