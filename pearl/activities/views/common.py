"""What the activities pages share: the page gate, paging, the customer a form is for."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from pearl.accounts.models import User
from pearl.core.errors import NotFound
from pearl.core.pages import page_view
from pearl.core.paging import Pager, page_number, whole_number
from pearl.core.paging import paginate as core_paginate
from pearl.customers import selectors as customer_selectors
from pearl.customers.models import Customer

ERROR_TEMPLATE = "activities/error.html"
NAV = "activities"

page = page_view(error_template=ERROR_TEMPLATE)


def customer_for(actor: User, raw: str | None) -> Customer:
    """The customer a create page is for (``?customer=<id>``); 404 outside the actor's scope."""
    customer_id = whole_number(raw)
    if customer_id is None:
        raise NotFound(_("Open a customer first, then log the contact or complaint from its page."))
    return customer_selectors.customer_get(actor=actor, customer_id=customer_id)


def paginate(qs: Any, raw_page: str | None) -> tuple[list[Any], Pager]:
    """One page of an exactly counted list; a bad page number shows the first page."""
    number, _refused = page_number(raw_page)
    return core_paginate(qs, number, qs.count(), False)
