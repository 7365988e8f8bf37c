"""What every sales page shares: the page gate, rendering in the 销售 section, paging."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from pearl.core.errors import ValidationFailed
from pearl.core.pages import page_view, render_page

PAGE_SIZE = 25
ERROR_TEMPLATE = "sales/error.html"

# Login required; a missing / out-of-scope record is a 404 page, a denied action a 403 page.
page = page_view(error_template=ERROR_TEMPLATE)
render = functools.partial(render_page, nav="sales")


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
    if raw and len(raw) <= 18 and raw.isascii() and raw.isdigit():
        return int(raw)
    return None


def page_number(raw: str | None) -> tuple[int, str | None]:
    if raw in (None, ""):
        return 1, None
    number = whole_number(raw)
    if number is None or number < 1 or number > 1_000_000:
        return 1, _("The page number must be a whole number from 1 up.")
    return number, None


def paginate(qs: Any, number: int, count: int, capped: bool) -> tuple[list[Any], Pager]:
    if not capped:
        number = min(number, max(1, math.ceil(count / PAGE_SIZE)))
    offset = (number - 1) * PAGE_SIZE
    rows = list(qs[offset : offset + PAGE_SIZE + 1])
    return rows[:PAGE_SIZE], Pager(number, count, capped, len(rows) > PAGE_SIZE)


def count_text(count: int, capped: bool, exact: str) -> str:
    """``exact`` is the caller's ngettext (so the messages are extracted), used unless the count stopped."""
    if capped:
        return _("%(n)s+ found") % {"n": f"{count:,}"}
    return exact % {"n": f"{count:,}"}


def form_version(raw: str | None) -> int | None:
    if raw in (None, ""):
        return None
    version = whole_number(raw)
    if version is None:
        raise ValidationFailed(_("This form is damaged; reload the page and try again."))
    return version


def labelled(errors: dict[str, list[Any]], fields: dict[str, Any]) -> list[str]:
    return [
        f"{fields[key].label if key in fields else key}: {message}"
        for key, messages in errors.items()
        for message in messages
    ]
