"""The data-quality page: completeness of the actor's customers and the lists to fix, each a link."""

from __future__ import annotations

import functools

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET

from pearl.core.pages import actor_of, page_view, render_page
from pearl.dataquality.services import quality

page = page_view(error_template="customers/error.html")
render = functools.partial(render_page, nav="quality")


def _customers(**filters: str) -> str:
    return f"{reverse('customers:customer_list')}?{urlencode(filters)}"


@page
@require_GET
def quality_overview(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    raw = request.GET.get("months") or ""
    months = int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 4 else quality.DEFAULT_STALE_MONTHS
    report = quality.quality_report(actor=actor, stale_months=months)
    stale_label = ngettext("Not updated for %(n)d month", "Not updated for %(n)d months", report.stale_months) % {
        "n": report.stale_months
    }
    fixes = [
        {"key": "no_mobile", "label": _("Without a valid mobile"), "count": report.no_mobile,
         "url": _customers(mobile="missing")},
        {"key": "no_owner", "label": _("Without an owner"), "count": report.no_owner, "url": _customers(owner="none")},
        {"key": "stale", "label": stale_label, "count": report.stale,
         "url": _customers(updated_before=report.stale_before.isoformat(), ordering="updated_at")},
        {"key": "duplicates", "label": _("Duplicates pending review"), "count": report.pending_duplicates,
         "url": reverse("dataquality:duplicate_list")},
    ]  # fmt: skip
    least = [(c, quality.completeness_percent(c)) for c in report.least_complete]
    context = {"report": report, "fixes": fixes, "least": least}
    return render(request, "dataquality/quality.html", context)
