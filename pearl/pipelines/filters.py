"""One filter set for the opportunity list page, the board and the API."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from pearl.pipelines.choices import OpportunityStatus
from pearl.pipelines.models import Opportunity

MAX_ID = 2**63 - 1  # the largest id a row can have


class OwnerField(forms.CharField):
    """``me`` or a user id."""

    def clean(self, value: Any) -> Any:
        value = super().clean(value)
        if value in ("", None, "me"):
            return value
        if not (value.isascii() and value.isdigit()) or not 0 < int(value) <= MAX_ID:
            raise forms.ValidationError(_("Enter “me” or a user id."))
        return value


class OpportunityFilterForm(forms.Form):
    q = forms.CharField(label=_("Name"), required=False, max_length=100)
    pipeline = forms.IntegerField(label=_("Pipeline"), required=False, min_value=1, max_value=MAX_ID)
    stage = forms.IntegerField(label=_("Stage"), required=False, min_value=1, max_value=MAX_ID)
    owner = OwnerField(label=_("Owner"), required=False, max_length=20)
    customer = forms.IntegerField(label=_("Customer"), required=False, min_value=1, max_value=MAX_ID)
    status = forms.ChoiceField(label=_("Status"), required=False, choices=[("", "—"), *OpportunityStatus.choices])

    def __init__(self, *args: Any, actor: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.actor = actor

    def apply(self, qs: QuerySet[Opportunity], actor: Any = None) -> QuerySet[Opportunity]:
        data = self.cleaned_data
        if q := (data.get("q") or "").strip():
            qs = qs.filter(Q(name__icontains=q))
        for key in ("pipeline", "stage", "customer"):
            if data.get(key):
                qs = qs.filter(**{f"{key}_id": data[key]})
        if data.get("status"):
            qs = qs.filter(status=data["status"])
        owner = data.get("owner")
        if owner == "me":
            qs = qs.filter(owner_id=getattr(actor or self.actor, "pk", None))
        elif owner:
            qs = qs.filter(owner_id=int(owner))
        return qs


def filter_errors(form: forms.Form) -> dict[str, list[str]]:
    return {name: [str(e) for e in errs] for name, errs in form.errors.items()}
