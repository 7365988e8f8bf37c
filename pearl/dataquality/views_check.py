"""The "possible duplicate" panel of the new-customer form: the matcher on what is typed so far.

The form posts itself here (htmx, debounced) on every change; the answer is a fragment listing
the existing customers it may duplicate and why. Nothing is written. The create itself asks the
same matcher again and refuses a confident duplicate unless the user confirms.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_POST

from pearl.core.duplicates import Candidate
from pearl.core.pages import actor_of, page_view
from pearl.dataquality import selectors
from pearl.dataquality.labels import labelled

page = page_view(error_template="customers/error.html")
MAX_ROWS = 20
MAX_TEXT = 255


def _text(request: HttpRequest, name: str) -> str:
    return (request.POST.get(name) or "").strip()[:MAX_TEXT]


CUSTOMER_FIELDS = ("kind", "name", "short_name", "province", "city", "district", "address")
CONTACT_FIELDS = ("name", "mobile", "email", "wechat")


def _candidate(request: HttpRequest) -> Candidate:
    """The customer form's fields (and its contact rows, ``contact-N-…``) as the matcher's input."""
    rows = [r for r in request.POST.getlist("contact_rows")[:MAX_ROWS] if r.isascii() and r.isdigit()]
    customer = {field: _text(request, field) for field in CUSTOMER_FIELDS}
    customer["kind"] = "individual" if customer["kind"] == "individual" else "company"
    contacts = [{field: _text(request, f"contact-{r}-{field}") for field in CONTACT_FIELDS} for r in rows]
    return Candidate.of(customer, contacts)


@page
@require_POST
def duplicate_check(request: HttpRequest) -> HttpResponse:
    candidate = _candidate(request)
    hits = []
    if candidate.name or candidate.short_name or candidate.mobiles or candidate.emails or candidate.wechats:
        check = selectors.duplicate_check(actor=actor_of(request), candidate=candidate)
        hits = [{"hit": h, "reasons": labelled(list(h.reasons))} for h in check.hits]
    return render(request, "dataquality/_possible_duplicates.html", {"hits": hits})
