"""我的一天 (my day: tasks and call-backs) and the notification centre, phone-first, with htmx; and the
settings page 提醒规则 (reminder rules)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from pearl.activities.selectors import follow_ups
from pearl.core.errors import ValidationFailed
from pearl.core.pages import FORM_ERRORS, actor_of, add_service_errors, is_htmx, page_view, render_page
from pearl.core.paging import page_number, paginate
from pearl.reminders import channels, selectors, services
from pearl.reminders.choices import OutboxChannel
from pearl.reminders.forms import ReminderRulesForm, TaskForm

NAV = "my"
page = page_view(error_template="reminders/error.html")


def _default_due() -> dt.datetime:
    """The next full hour, as the add form's suggestion."""
    now = timezone.localtime()
    return now.replace(minute=0, second=0, microsecond=0) + dt.timedelta(hours=1)


def _day_context(request: HttpRequest, form: TaskForm | None = None) -> dict[str, Any]:
    actor = actor_of(request)
    initial: dict[str, Any] = {"due_at": _default_due()}
    customer = request.GET.get("customer")
    if customer and customer.isascii() and customer.isdigit():
        initial["customer"] = customer
    return {
        "nav": NAV,
        "day": selectors.my_day(actor=actor),
        "form": form or TaskForm(initial=initial),
    }


@page
@require_GET
def my_day(request: HttpRequest) -> HttpResponse:
    context = _day_context(request)
    context["follow_ups"] = follow_ups(actor=actor_of(request))
    return render(request, "reminders/my_day.html", context)


@page
@require_POST
def task_add(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    form = TaskForm(request.POST)
    status = 200
    if form.is_valid():
        try:
            services.task_create(actor=actor, owner=actor, **form.service_data())
        except ValidationFailed as exc:
            add_service_errors(form, exc)
            status = 422
        else:
            if not is_htmx(request):
                return redirect("reminders:my_day")
            form = TaskForm(initial={"due_at": _default_due()})
    else:
        status = 422
    context = _day_context(request, form)
    if is_htmx(request):
        return render(request, "reminders/_tasks.html", context, status=status)
    context["follow_ups"] = follow_ups(actor=actor)
    return render(request, "reminders/my_day.html", context, status=status)


@page
@require_POST
def task_done(request: HttpRequest, pk: int) -> HttpResponse:
    task = services.task_complete(actor=actor_of(request), task_id=pk)
    if is_htmx(request):
        return render(request, "reminders/_task-row.html", {"task": task, "now": timezone.now()})
    return redirect("reminders:my_day")


@page
@require_GET
def notification_list(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    qs = selectors.notification_list(actor=actor, unread_first=True)
    number, _refused = page_number(request.GET.get("page"))
    rows, pager = paginate(qs, number, qs.count(), False)
    context = {"nav": NAV, "rows": rows, "pager": pager, "unread": selectors.unread_count(actor=actor)}
    return render(request, "reminders/notification_list.html", context)


@page
@require_POST
def notification_read(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark read; ``go=1`` then follows the notification's link (the tap on a notification)."""
    n = services.notification_read(actor=actor_of(request), notification_id=pk)
    if request.POST.get("go") and n.link.startswith("/") and not n.link.startswith("//"):
        return redirect(n.link)
    if is_htmx(request):
        return render(request, "reminders/_notification.html", {"n": n})
    return redirect("reminders:notification_list")


@page
@require_POST
def notifications_read_all(request: HttpRequest) -> HttpResponse:
    services.notifications_read_all(actor=actor_of(request))
    return redirect(reverse("reminders:notification_list"))


@page
@require_GET
def unread_badge(request: HttpRequest) -> HttpResponse:
    """The nav's unread count, fetched by htmx after the page loads (so no page pays a query for it)."""
    count = selectors.unread_count(actor=actor_of(request))
    return HttpResponse(f'<span class="badge">{count}</span>' if count else "")


# --- settings: 提醒规则 ------------------------------------------------------------------------------

# The manage-settings right, as every settings page (pearl.accounts.views.settings_page).
settings_required = page_view(error_template="settings/forbidden.html", right="manage_settings", not_found_page=False)


@settings_required
@require_http_methods(["GET", "POST"])
def reminder_rules(request: HttpRequest) -> HttpResponse:
    """The reminder rules: on POST the service checks and saves them all, or nothing with a message."""
    current = selectors.reminder_rules()
    initial = {name: getattr(current, name) for name in ReminderRulesForm.base_fields}
    form = ReminderRulesForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            try:
                services.reminder_rules_update(actor=actor_of(request), data=form.cleaned_data)
            except FORM_ERRORS as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("Reminder rules saved. They apply from the next reminder run."))
                return redirect("reminders:rules")
    outside = [
        (form[f"send_{channel}"], channels.configured(channel))
        for channel in (OutboxChannel.EMAIL, OutboxChannel.WECOM, OutboxChannel.DINGTALK)
    ]
    context = {"form": form, "rules": current, "outside": outside}
    return render_page(request, "reminders/rules.html", context, status=status, nav="settings")
