"""One filter set for leads, shared by the list page and the API."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from pearl.core.text import clean_spaces
from pearl.leads.choices import OPEN_STATUSES, LeadStatus

MAX_ID = 2**63 - 1
OPEN = "open"


class LeadFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=64)
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", "—"), (OPEN, _("Open")), *LeadStatus.choices]
    )
    owner = forms.IntegerField(label=_("Owner"), required=False, min_value=1, max_value=MAX_ID)
    source = forms.IntegerField(label=_("Source channel"), required=False, min_value=1, max_value=MAX_ID)
    province = forms.CharField(label=_("Province"), required=False, max_length=32)
    since = forms.DateField(label=_("Created since"), required=False)

    def filter_q(self) -> Q:
        data: dict[str, Any] = self.cleaned_data
        q = Q()
        status = data.get("status")
        if status == OPEN:
            q &= Q(status__in=OPEN_STATUSES)
        elif status:
            q &= Q(status=status)
        if data.get("owner"):
            q &= Q(owner_id=data["owner"])
        if data.get("source"):
            q &= Q(source_id=data["source"])
        if data.get("province"):
            q &= Q(province=clean_spaces(data["province"]))
        if data.get("since"):
            start = timezone.make_aware(dt.datetime.combine(data["since"], dt.time.min))
            q &= Q(created_at__gte=start)
        text = clean_spaces(data.get("q") or "")
        if text:
            digits = "".join(ch for ch in text if ch.isdigit())
            match = Q(name__icontains=text) | Q(company__icontains=text) | Q(wechat__iexact=text)
            if len(digits) >= 4 and len(digits) == len(text.replace(" ", "").replace("-", "")):
                match |= Q(mobile__contains=digits)
            if "@" in text:
                match |= Q(email__iexact=text.lower())
            q &= match
        return q


def filter_errors(form: forms.Form) -> dict[str, list[str]]:
    return {name: [str(m) for m in messages] for name, messages in form.errors.items()}
