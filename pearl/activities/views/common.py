"""What the activities pages share: the page gate, paging, the customer a form is for."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from pearl.accounts.models import User
from pearl.core.errors import NotFound, ValidationFailed
from pearl.core.pages import page_view
from pearl.customers import selectors as customer_selectors
from pearl.customers.models import Customer

PAGE_SIZE = 25
ERROR_TEMPLATE = "activities/error.html"
NAV = "activities"

page = page_view(error_template=ERROR_TEMPLATE)


def whole_number(raw: str | None) -> int | None:
    if raw and len(raw) <= 18 and raw.isascii() and raw.isdigit():
        return int(raw)
    return None


def form_version(raw: str | None) -> int | None:
    if raw in (None, ""):
        return None
    version = whole_number(raw)
    if version is None:
        raise ValidationFailed(_("This form is damaged; reload the page and try again."))
    return version


def customer_for(actor: User, raw: str | None) -> Customer:
    """The customer a create page is for (``?customer=<id>``); 404 outside the actor's scope."""
    customer_id = whole_number(raw)
    if customer_id is None or customer_id > 2**63 - 1:
        raise NotFound(_("Open a customer first, then log the contact or complaint from its page."))
    return customer_selectors.customer_get(actor=actor, customer_id=customer_id)


@dataclass
class Pager:
    number: int
    count: int
    has_next: bool
    size: int = PAGE_SIZE
    capped: bool = False

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


def paginate(qs: Any, raw_page: str | None) -> tuple[list[Any], Pager]:
    number = whole_number(raw_page) or 1
    count = qs.count()
    number = max(1, min(number, max(1, math.ceil(count / PAGE_SIZE))))
    offset = (number - 1) * PAGE_SIZE
    rows = list(qs[offset : offset + PAGE_SIZE])
    return rows, Pager(number, count, offset + len(rows) < count)
