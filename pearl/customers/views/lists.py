"""The customer list with search and filters, and its CSV export (the same filters)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET

from pearl.core.errors import ValidationFailed
from pearl.core.exports import csv_stream
from pearl.core.pages import actor_of, error_page, htmx_target
from pearl.core.permissions import require
from pearl.customers import selectors
from pearl.customers.choices import CustomerKind, CustomerStatus, CustomFieldObject
from pearl.customers.forms import CustomerFilterPageForm, custom_display
from pearl.customers.models import Customer, CustomFieldDefinition
from pearl.customers.search import capped_count
from pearl.customers.views.common import ERROR_TEMPLATE, page, page_number, paginate


@page
@require_GET
def customer_list(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    params = request.GET.dict()
    number, page_error = page_number(params.pop("page", None))
    form = CustomerFilterPageForm(request.GET or None, actor=actor)
    context: dict[str, Any] = {
        "nav": "customers",
        "form": form,
        "errors": [],
        "rows": [],
        "pager": None,
        "filters_active": any(v for k, v in params.items() if k != "q"),
    }
    try:
        qs = selectors.customer_list(actor=actor, filters=params)
    except ValidationFailed as exc:
        context["errors"] = _labelled(exc.field_errors, form.fields) or [str(exc.message)]
    else:
        qs = qs.prefetch_related("contacts")  # contacts sort primary first: the first is the primary one
        # Counting stops at the cap ("1,000+"): exact counts of a broad filter over a million
        # customers cost more than the rest of the page together.
        count, capped = capped_count(qs)
        context["rows"], context["pager"] = paginate(qs, number, count, capped)
        context["count_text"] = (
            _("%(n)s+ customers") % {"n": f"{count:,}"}
            if capped
            else ngettext("%(n)s customer", "%(n)s customers", count) % {"n": f"{count:,}"}
        )
    if page_error:
        context["errors"].append(page_error)
    export = request.GET.copy()
    export.pop("page", None)
    context["export_query"] = export.urlencode()
    template = "customers/_results.html" if htmx_target(request) == "results" else "customers/customer_list.html"
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


def _labelled(errors: dict[str, list[Any]], fields: dict[str, Any]) -> list[str]:
    return [
        f"{fields[key].label if key in fields else key}: {message}"
        for key, messages_ in errors.items()
        for message in messages_
    ]


@page
@require_GET
def customer_export(request: HttpRequest) -> HttpResponseBase:
    actor = actor_of(request)
    require(actor, "export")
    params = request.GET.dict()
    params.pop("page", None)
    try:
        qs = selectors.customer_list(actor=actor, filters=params)
    except ValidationFailed as exc:
        return error_page(request, ERROR_TEMPLATE, exc.message, 400)
    definitions = list(selectors.custom_field_list(actor=actor, object_type=CustomFieldObject.CUSTOMER))
    header = [
        _("ID"),
        _("Full name"),
        _("Short name"),
        _("Kind"),
        _("Customer type"),
        _("Industry"),
        _("Source channel"),
        _("Province"),
        _("City"),
        _("District"),
        _("Street address"),
        _("Grade"),
        _("Status"),
        _("Owner"),
        _("Team"),
        _("Tags"),
        _("Primary contact"),
        _("Mobile / phone"),
        _("Email"),
        _("WeChat id"),
        *(d.label for d in definitions),
        _("Created"),
        _("Updated"),
    ]
    # Labels are read now, in the request's language; the rows are written later while streaming.
    labels = {**{k: str(v) for k, v in CustomerKind.choices}, **{k: str(v) for k, v in CustomerStatus.choices}}
    qs = qs.prefetch_related("contacts")  # primary first, like the list
    rows = _export_rows(qs.iterator(chunk_size=2000), definitions, labels)
    response = StreamingHttpResponse(csv_stream(header, rows), content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="customers-{stamp}.csv"'
    return response


def _export_rows(
    customers: Iterable[Customer], definitions: list[CustomFieldDefinition], labels: dict[str, str]
) -> Iterator[list[Any]]:
    for c in customers:
        contacts = list(c.contacts.all())
        primary = contacts[0] if contacts else None
        yield [
            c.pk,
            c.name,
            c.short_name,
            labels.get(c.kind, c.kind),
            str(c.customer_type or ""),
            str(c.industry or ""),
            str(c.source or ""),
            c.province,
            c.city,
            c.district,
            c.address,
            c.grade,
            labels.get(c.status, c.status),
            str(c.owner or ""),
            str(c.team or ""),
            "、".join(t.name for t in c.tags.all()),
            primary.name if primary else "",
            primary.mobile_display if primary else "",
            primary.email if primary else "",
            primary.wechat if primary else "",
            *(custom_display(d, c.custom_fields.get(d.key)) for d in definitions),
            timezone.localtime(c.created_at).strftime("%Y-%m-%d %H:%M"),
            timezone.localtime(c.updated_at).strftime("%Y-%m-%d %H:%M"),
        ]
