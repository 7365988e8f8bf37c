"""The 360° page: profile, contacts, key figures, open items and the timeline, on one page."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from pearl.activities.selectors import customer_activity_overview
from pearl.analytics.selectors import customer_figures_get
from pearl.core import profile_panels
from pearl.core.pages import actor_of
from pearl.customers import selectors
from pearl.customers.views.common import page
from pearl.customers.views.detail import contacts_context, detail_context
from pearl.customers.views.merge import merge_history, moved_permanently
from pearl.customers.views.timeline import timeline_context
from pearl.sales.selectors import customer_sales_overview


@page
@require_GET
def customer_detail(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    try:
        customer = selectors.customer_get(actor=actor, customer_id=pk)
    except selectors.CustomerMerged as moved:  # an old link to a merged-away customer
        return moved_permanently(reverse("customers:customer_detail", args=[moved.survivor_id]))
    context = {
        **detail_context(actor, customer, "profile"),
        **contacts_context(actor, customer),
        **timeline_context(actor, customer, request.GET),
        # The panels get the customer just read in scope, so none of them checks the scope again.
        "figures": customer_figures_get(actor=actor, customer=customer),
        "sales_overview": customer_sales_overview(actor=actor, customer=customer),
        "activity_overview": customer_activity_overview(actor=actor, customer=customer),
        # Opportunities, tasks and the public pool: the apps above customers register their sections
        # (core.profile_panels) instead of this app importing them.
        "profile_sections": profile_panels.collect(actor, customer),
        "merges": merge_history(actor, customer),
    }
    return render(request, "customers/customer_detail.html", context)
