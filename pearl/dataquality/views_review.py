"""The duplicate review queue: pending pairs side by side with their reasons; merge, dismiss, bulk merge,
scan now, and the thresholds / auto-merge settings.

Thin: each view calls one selector or service. A pair shows only when the actor may see both
customers (``selectors.pair_list``). "Compare and merge" opens the customers' side-by-side merge page;
"Quick merge" merges at once with the older customer surviving and the most recent values winning.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from pearl.core.errors import Conflict, ValidationFailed
from pearl.core.pages import actor_of, page_view, render_page
from pearl.core.phones import format_phone
from pearl.dataquality import selectors
from pearl.dataquality.forms import BandFilterForm, DedupeSettingsForm
from pearl.dataquality.labels import FIELD_LABELS, OUTCOME_LABELS
from pearl.dataquality.models import DuplicatePair
from pearl.dataquality.services import duplicates
from pearl.dataquality.tasks import scan_duplicates

ERROR_TEMPLATE = "customers/error.html"
page = page_view(error_template=ERROR_TEMPLATE)
settings_page = page_view(error_template=ERROR_TEMPLATE, right="manage_settings")
render = functools.partial(render_page, nav="duplicates")
PAGE_SIZE = 20
MAX_BULK = 200


@dataclass
class PairCard:
    pair: DuplicatePair
    left: Any
    right: Any
    reasons: list[dict[str, Any]]
    merge_url: str


def _side(customer: Any) -> dict[str, Any]:
    contacts = list(customer.contacts.all())
    return {
        "customer": customer,
        "contacts": [c.name for c in contacts if c.name],
        "mobiles": [format_phone(c.mobile) for c in contacts if c.mobile],
        "region": "".join(p for p in (customer.province, customer.city, customer.district) if p),
    }


def _cards(actor: Any, pairs: list[DuplicatePair]) -> list[PairCard]:
    customers = selectors.pair_customers(actor=actor, pairs=pairs)
    cards = []
    for pair in pairs:
        left, right = customers.get(pair.left_id), customers.get(pair.right_id)
        if left is None or right is None:  # merged or deleted since the page was counted
            continue
        reasons = [
            {"field": FIELD_LABELS.get(f, f), "outcome": OUTCOME_LABELS.get(o, o), "weight": w, "detail": d}
            for f, o, w, d in pair.reasons
        ]
        query = urlencode({"ids": [pair.left_id, pair.right_id]}, doseq=True)
        cards.append(
            PairCard(pair, _side(left), _side(right), reasons, f"{reverse('customers:customer_merge')}?{query}")
        )
    return cards


def _page_number(raw: str | None) -> int:
    return int(raw) if raw and raw.isascii() and raw.isdigit() and 0 < len(raw) < 7 and int(raw) > 0 else 1


@page
@require_GET
def duplicate_list(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    form = BandFilterForm(request.GET or None)
    band = form.cleaned_data["band"] if form.is_valid() else ""
    number = _page_number(request.GET.get("page"))
    qs = selectors.pair_list(actor=actor, band=band)
    rows = list(qs[(number - 1) * PAGE_SIZE : number * PAGE_SIZE + 1])
    current = selectors.dedupe_settings()
    context = {
        "form": form,
        "band": band,
        "cards": _cards(actor, rows[:PAGE_SIZE]),
        "page": number,
        "has_next": len(rows) > PAGE_SIZE,
        "pending": qs.count(),
        "settings": current,
        "last_scan": current.last_scan_stats or {},
        "may_merge": actor.may("edit") and actor.may("delete"),
        "may_dismiss": actor.may("edit"),
    }
    return render(request, "dataquality/duplicate_list.html", context)


@page
@require_POST
def duplicate_scan(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    scan_duplicates(actor.pk)
    messages.success(request, _("The scan has started; refresh this page in a minute to see new pairs."))
    return redirect("dataquality:duplicate_list")


def _back(request: HttpRequest) -> str:
    target = request.POST.get("next") or ""
    base = reverse("dataquality:duplicate_list")
    return target if target.startswith(base) else base


@page
@require_POST
def duplicate_decide(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    action = request.POST.get("action", "")
    raw_survivor = request.POST.get("survivor") or ""
    survivor = int(raw_survivor) if raw_survivor.isascii() and raw_survivor.isdigit() else None
    try:
        pair = duplicates.duplicate_decide(actor=actor, pair_id=pk, action=action, survivor_id=survivor)
    except (ValidationFailed, Conflict) as exc:
        messages.error(request, str(exc.message))
        return redirect(_back(request))
    if action == "merge":
        survivor_id = survivor or pair.left_id
        url = reverse("customers:customer_detail", args=[survivor_id]) + "#merges"
        messages.success(request, _("Merged into customer #%(id)s. You can undo it on its page.") % {"id": survivor_id})
        return redirect(url) if request.POST.get("open") else redirect(_back(request))
    messages.success(request, _("Marked as not duplicates."))
    return redirect(_back(request))


@page
@require_POST
def duplicate_bulk_merge(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    ids = [int(v) for v in request.POST.getlist("pairs") if v.isascii() and v.isdigit()][:MAX_BULK]
    if not ids:
        messages.error(request, _("Tick the pairs to merge first."))
        return redirect(_back(request))
    outcomes = duplicates.duplicates_merge_bulk(actor=actor, pair_ids=ids)
    merged = sum(o.status == "merged" for o in outcomes)
    skipped = sum(o.status == "skipped" for o in outcomes)
    messages.success(
        request,
        ngettext("%(n)d pair merged", "%(n)d pairs merged", merged) % {"n": merged}
        + _(", %(s)d skipped (already handled).") % {"s": skipped},
    )
    for outcome in outcomes:
        if outcome.status == "failed":
            messages.error(request, _("Pair %(id)s: %(why)s") % {"id": outcome.pair_id, "why": outcome.message})
    return redirect(_back(request))


@settings_page
@require_http_methods(["GET", "POST"])
def dedupe_settings(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    current = selectors.dedupe_settings()
    initial = {
        "duplicate_threshold": current.duplicate_threshold,
        "possible_threshold": current.possible_threshold,
        "auto_merge_duplicates": current.auto_merge_duplicates,
    }
    form = DedupeSettingsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            duplicates.dedupe_settings_update(actor=actor, **form.cleaned_data)
        except ValidationFailed as exc:
            form.add_error(None, str(exc.message))
        else:
            messages.success(request, _("Duplicate detection settings saved."))
            return redirect("dataquality:duplicate_list")
    status = 422 if request.method == "POST" else 200
    return render(request, "dataquality/dedupe_settings.html", {"form": form}, status=status)
