"""One filter set for tasks, shared by the page and the API."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext_lazy as _

MAX_ID = 2**63 - 1


class TaskFilterForm(forms.Form):
    owner = forms.CharField(label=_("Owner"), required=False, max_length=20)
    done = forms.NullBooleanField(label=_("Done"), required=False)
    due_before = forms.CharField(label=_("Due before"), required=False, max_length=40)
    customer = forms.IntegerField(label=_("Customer"), required=False, min_value=1, max_value=MAX_ID)

    def clean_owner(self) -> str:
        value = (self.cleaned_data.get("owner") or "").strip()
        is_id = value.isascii() and value.isdigit() and 0 < int(value) <= MAX_ID
        if value and value not in ("me", "all") and not is_id:
            raise forms.ValidationError(_("Give a user id, “me” or “all”."))
        return value or "me"

    def clean_done(self) -> bool | None:
        raw = (self.data.get("done") or "").strip().lower()
        if raw in ("", "none"):
            return None
        if raw in ("true", "1", "yes"):
            return True
        if raw in ("false", "0", "no"):
            return False
        raise forms.ValidationError(_("Give true or false."))

    def clean_due_before(self) -> dt.datetime | None:
        raw = (self.cleaned_data.get("due_before") or "").strip()
        if not raw:
            return None
        when = parse_datetime(raw)
        if when is None:
            day = parse_date(raw)
            if day is None:
                raise forms.ValidationError(_("Give a date (2026-12-01) or a date and time."))
            # A bare date: up to the end of that day.
            when = dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min)
        return timezone.make_aware(when) if timezone.is_naive(when) else when

    def filter_q(self, actor: Any) -> Q:
        data = self.cleaned_data
        q = Q()
        owner = data.get("owner") or "me"
        if owner == "me":
            q &= Q(owner_id=actor.pk)
        elif owner != "all":
            q &= Q(owner_id=int(owner))
        if data.get("done") is True:
            q &= Q(done_at__isnull=False)
        elif data.get("done") is False:
            q &= Q(done_at__isnull=True)
        if data.get("due_before"):
            q &= Q(due_at__lt=data["due_before"])
        if data.get("customer"):
            q &= Q(customer_id=data["customer"])
        return q


def filter_errors(form: forms.Form) -> dict[str, list[str]]:
    return {field: [str(e) for e in errs] for field, errs in form.errors.items()}
