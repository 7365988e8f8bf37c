"""Merge pages: pick the customers, compare them side by side, merge; undo a merge from the survivor.

The side-by-side page shows the plan ``selectors.customer_merge_preview`` computes, with the rule's
winner preselected per field; the merge service recomputes the same plan from the posted choices
on locked rows, so what is shown is what is written. Changing the rule or the survivor re-renders
the form (htmx, or the "Show" button without JavaScript).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from pearl.accounts.models import User
from pearl.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from pearl.core.pages import actor_of
from pearl.core.permissions import require
from pearl.customers import selectors, services
from pearl.customers.forms import custom_display
from pearl.customers.models import Customer, CustomerMerge
from pearl.customers.views.common import page, whole_number

TEMPLATE = "customers/customer_merge.html"
MAX_CUSTOMERS = 10  # a side-by-side page wider than this helps nobody
MAX_CANDIDATES = 10
RULE_LABELS = {"recent": gettext_lazy("Most recent value"), "complete": gettext_lazy("Most complete value")}
_RELATIONS = {"customer_type", "industry", "source", "owner", "team"}


def moved_permanently(url: str) -> HttpResponsePermanentRedirect:
    """301 to where a merged-away customer lives now; never cached, since an unmerge can bring it back."""
    response = HttpResponsePermanentRedirect(url)
    add_never_cache_headers(response)
    return response


def may_merge(actor: User) -> bool:
    return bool(actor.may("edit") and actor.may("delete"))


@dataclass
class MergeRow:
    merge: CustomerMerge
    customers: list[tuple[int, str]]
    undoable: bool


def merge_history(actor: User, customer: Customer) -> list[MergeRow]:
    """Merges into this customer for its detail page, newest first."""
    # ``customer`` was read through customer_get: already in the actor's scope.
    merges = list(selectors.customer_merges(actor=actor, customer=customer)[:20])
    allowed = may_merge(actor)
    return [
        MergeRow(m, selectors.merged_customers(m), allowed and m.undone_at is None and m.survivor_id == customer.pk)
        for m in merges
    ]


# --- the side-by-side page -------------------------------------------------------------------------


def _display(customer: Customer, key: str, definitions: dict[str, Any]) -> str:
    if key.startswith(selectors.CUSTOM_PREFIX):
        value = (customer.custom_fields or {}).get(key[len(selectors.CUSTOM_PREFIX) :])
        definition = definitions.get(key[len(selectors.CUSTOM_PREFIX) :])
        return custom_display(definition, value) if definition else ("" if value is None else str(value))
    if key in _RELATIONS:
        return str(getattr(customer, key) or "")
    if key in ("kind", "status"):
        return str(getattr(customer, f"get_{key}_display")())
    return str(getattr(customer, key) or "")


def _ids(values: list[str]) -> tuple[list[int], str | None]:
    ids: list[int] = []
    for raw in values:
        number = whole_number(raw.strip())
        if number is None or number < 1:
            return ids, _("“%(value)s” is not a customer number.") % {"value": raw[:20]}
        ids.append(number)
    return ids, None


def _context(actor: User, data: QueryDict) -> tuple[dict[str, Any], int]:
    """The page for the customers in ``data`` (GET or POST), or the reason it cannot be shown."""
    ids, error = _ids(data.getlist("ids"))
    add = (data.get("add") or "").strip()[:64]
    candidates: list[Customer] = []
    add_error = None
    if add and not error:
        number = whole_number(add.lstrip("#"))
        if number is None:
            found = selectors.customer_list(actor=actor, filters={"q": add})[: MAX_CANDIDATES + len(ids)]
            candidates = [c for c in found if c.pk not in ids][:MAX_CANDIDATES]
        elif number in ids:
            pass
        elif selectors.customer_visible(actor=actor).filter(pk=number).exists():
            ids.append(number)
        else:  # unknown, out of scope or merged away: say so without losing the customers already chosen
            add_error = _("Customer #%(id)s not found.") % {"id": number}
    context: dict[str, Any] = {
        "nav": "customers",
        "ids": ids,
        "add": add,
        "candidates": candidates,
        "rule": data.get("rule") or "recent",
        "rules": list(RULE_LABELS.items()),
        "error": error or add_error,
        "plan": None,
    }
    if error:
        return context, 422
    if len(ids) > MAX_CUSTOMERS:
        context["error"] = _("Merge at most %(n)d customers at a time.") % {"n": MAX_CUSTOMERS}
        return context, 422
    if len(ids) < 2:
        context["notice"] = _("Add at least one more customer to merge with.")
        context["customers"] = list(selectors.customer_visible(actor=actor).filter(pk__in=ids))
        return context, 200
    survivor = whole_number(data.get("survivor") or "")
    try:
        plan = selectors.customer_merge_preview(
            actor=actor, customer_ids=ids, survivor_id=survivor, rule=context["rule"]
        )
    except (ValidationFailed, NotFound) as exc:  # NotFound: the same words for unknown and out of scope
        context["error"] = exc.message
        return context, exc.status
    definitions = plan.definitions
    rows = []
    for field in plan.fields:
        cells = [
            {"customer": c, "value": _display(c, field.key, definitions), "winner": c.pk == field.winner}
            for c in plan.customers
        ]
        rows.append({"key": field.key, "label": field.label, "cells": cells, "differs": field.differs})
    context.update(
        plan=plan,
        customers=plan.customers,
        differing=[r for r in rows if r["differs"]],
        agreeing=[r for r in rows if not r["differs"]],
        tags=sorted({t.name for c in plan.customers for t in c.tags.all()}),
        moving_contacts=sum(len(c.contacts.all()) for c in plan.others),
    )
    return context, 200


def _choices(data: QueryDict) -> dict[str, Any]:
    return {key[len("choice_") :]: value for key, value in data.items() if key.startswith("choice_")}


@page
@require_http_methods(["GET", "POST"])
def customer_merge(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    require(actor, "edit")
    require(actor, "delete")
    data = request.POST if request.method == "POST" else request.GET
    context, status = _context(actor, data)
    if request.method == "POST" and context["plan"] is not None:
        plan = context["plan"]
        if not data.get("confirm"):
            context["error"], status = _("Tick the box to confirm the merge."), 422
        else:
            try:
                merge = services.customer_merge(
                    actor=actor,
                    survivor_id=plan.survivor.pk,
                    other_ids=[c.pk for c in plan.others],
                    choices=_choices(data),
                    rule=context["rule"],
                )
            except (ValidationFailed, Conflict) as exc:
                context["error"], status = exc.message, exc.status
            else:
                messages.success(
                    request,
                    _("Merged %(n)d customers into “%(name)s”. You can undo this below, under Merges.")
                    % {"n": len(merge.merged_ids), "name": plan.survivor.name},
                )
                return redirect(reverse("customers:customer_detail", args=[merge.survivor_id]) + "#merges")
    elif request.method == "POST":
        status = max(status, 422)
    return render(request, TEMPLATE, context, status=status)


# --- undo ------------------------------------------------------------------------------------------


@page
@require_http_methods(["GET", "POST"])
def customer_unmerge(request: HttpRequest, merge_id: int) -> HttpResponse:
    actor = actor_of(request)
    merge = selectors.merge_get(actor=actor, merge_id=merge_id)
    require(actor, "edit")
    require(actor, "delete")
    context: dict[str, Any] = {
        "nav": "customers",
        "merge": merge,
        "merged": selectors.merged_customers(merge),
        "error": None,
    }
    if request.method == "GET":
        return render(request, "customers/customer_unmerge.html", context)
    try:
        restored = services.customer_unmerge(actor=actor, merge_id=merge.pk)
    except (Conflict, PermissionDenied) as exc:
        context["error"] = exc.message
        context["problems"] = exc.extra.get("problems", [])
        return render(request, "customers/customer_unmerge.html", context, status=exc.status)
    messages.success(
        request,
        _("Merge undone: %(names)s restored.") % {"names": "、".join(c.name for c in restored[1:])},
    )
    return redirect("customers:customer_detail", restored[0].pk)
