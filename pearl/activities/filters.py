"""One filter set each for communications and complaints, shared by the list pages and the API."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from pearl.activities.choices import CommunicationKind, ComplaintCategory, ComplaintKind, ComplaintStatus

MAX_ID = 2**63 - 1
OPEN = "open_any"  # status filter: open or in progress


def _blank(choices: Any) -> list[tuple[str, Any]]:
    return [("", "—"), *choices]


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


class _PeriodForm(forms.Form):
    customer = forms.IntegerField(label=_("Customer"), required=False, min_value=1, max_value=MAX_ID)
    since = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    time_field = "occurred_at"

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and until < since:
            self.add_error("until", _("The end of the period cannot be before its start."))
        return cleaned

    def period_q(self) -> Q:
        data = self.cleaned_data
        q = Q()
        if data.get("customer"):
            q &= Q(customer_id=data["customer"])
        if data.get("since"):
            q &= Q(**{f"{self.time_field}__gte": _day_start(data["since"])})
        if data.get("until"):  # the whole last day is included
            q &= Q(**{f"{self.time_field}__lt": _day_start(data["until"] + dt.timedelta(days=1))})
        return q


def _user_ref(value: str) -> str:
    value = (value or "").strip()
    if value and value != "me" and not (value.isascii() and value.isdigit() and 0 < int(value) <= MAX_ID):
        raise forms.ValidationError(_("Give a user id or “me”."))
    return value


class CommunicationFilterForm(_PeriodForm):
    kind = forms.ChoiceField(label=_("Kind"), required=False, choices=_blank(CommunicationKind.choices))
    author = forms.CharField(label=_("By"), required=False, max_length=20)

    def clean_author(self) -> str:
        return _user_ref(self.cleaned_data.get("author") or "")

    def filter_q(self, actor: Any) -> Q:
        q = self.period_q()
        data = self.cleaned_data
        if data.get("kind"):
            q &= Q(kind=data["kind"])
        author = data.get("author")
        if author:
            q &= Q(author_id=actor.pk if author == "me" else int(author))
        return q


class ComplaintFilterForm(_PeriodForm):
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=_blank([(OPEN, _("Open or in progress")), *ComplaintStatus.choices])
    )
    kind = forms.ChoiceField(label=_("Kind"), required=False, choices=_blank(ComplaintKind.choices))
    category = forms.ChoiceField(label=_("Category"), required=False, choices=_blank(ComplaintCategory.choices))
    handler = forms.CharField(label=_("Handled by"), required=False, max_length=20)

    time_field = "received_at"

    def clean_handler(self) -> str:
        return _user_ref(self.cleaned_data.get("handler") or "")

    def filter_q(self, actor: Any) -> Q:
        q = self.period_q()
        data = self.cleaned_data
        status = data.get("status")
        if status == OPEN:
            q &= Q(status__in=[ComplaintStatus.OPEN, ComplaintStatus.IN_PROGRESS])
        elif status:
            q &= Q(status=status)
        for key in ("kind", "category"):
            if data.get(key):
                q &= Q(**{key: data[key]})
        handler = data.get("handler")
        if handler:
            q &= Q(handler_id=actor.pk if handler == "me" else int(handler))
        return q


def filter_errors(form: forms.Form) -> dict[str, list[str]]:
    return {field: [str(e) for e in errs] for field, errs in form.errors.items()}
