"""One filter set for customers, shared by the list page, the API and exports."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.db.models.functions import Length
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from pearl.customers.choices import CustomerKind, CustomerStatus, CustomFieldObject, CustomFieldType, Grade
from pearl.customers.customfields import clean_value, definitions
from pearl.customers.models import Contact, Customer
from pearl.customers.search import search_filter

MAX_ID = 2**63 - 1  # ids are 64-bit; a larger number is a bad filter, not a database error
ORDERINGS = {
    "-id": ("-id",),
    "id": ("id",),
    "name": ("name_pinyin", "id"),
    "-name": ("-name_pinyin", "-id"),
    "-updated_at": ("-updated_at", "-id"),
    "updated_at": ("updated_at", "id"),
    "grade": ("grade", "-id"),
}
ORDERING_LABELS = {
    "-id": _("Newest first"),
    "id": _("Oldest first"),
    "name": _("Name A→Z (pinyin)"),
    "-name": _("Name Z→A (pinyin)"),
    "-updated_at": _("Recently updated"),
    "updated_at": _("Least recently updated"),
    "grade": _("Grade"),
}


MOBILE_CHOICES = [("valid", _("Has a valid mobile")), ("missing", _("No valid mobile"))]


def has_valid_mobile() -> Exists:
    """A contact of the customer holds a mainland mobile (stored normalised: 11 digits from 1)."""
    valid = Contact.objects.annotate(mobile_length=Length("mobile")).filter(
        customer_id=OuterRef("pk"), mobile__startswith="1", mobile_length=11
    )
    return Exists(valid)


def _blank(choices: Any) -> list[tuple[str, Any]]:
    return [("", "—"), *choices]


class CustomerFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=64)
    kind = forms.ChoiceField(label=_("Kind"), required=False, choices=_blank(CustomerKind.choices))
    customer_type = forms.IntegerField(label=_("Customer type"), required=False, min_value=1, max_value=MAX_ID)
    industry = forms.IntegerField(label=_("Industry"), required=False, min_value=1, max_value=MAX_ID)
    source = forms.IntegerField(label=_("Source channel"), required=False, min_value=1, max_value=MAX_ID)
    province = forms.CharField(label=_("Province"), required=False, max_length=32)
    city = forms.CharField(label=_("City"), required=False, max_length=32)
    district = forms.CharField(label=_("District"), required=False, max_length=32)
    grade = forms.ChoiceField(label=_("Grade"), required=False, choices=_blank(Grade.choices))
    status = forms.ChoiceField(label=_("Status"), required=False, choices=_blank(CustomerStatus.choices))
    tag = forms.IntegerField(label=_("Tag"), required=False, min_value=1, max_value=MAX_ID)
    owner = forms.CharField(label=_("Owner"), required=False, max_length=20)
    team = forms.IntegerField(label=_("Team"), required=False, min_value=1, max_value=MAX_ID)
    # The data-quality page links here: customers to fix.
    mobile = forms.ChoiceField(label=_("Mobile"), required=False, choices=_blank(MOBILE_CHOICES))
    updated_before = forms.DateField(label=_("Not updated since"), required=False)
    ordering = forms.ChoiceField(label=_("Sort"), required=False, choices=list(ORDERING_LABELS.items()))

    def __init__(self, data: Any = None, *args: Any, **kwargs: Any) -> None:
        super().__init__(data, *args, **kwargs)
        self.custom_definitions = definitions(CustomFieldObject.CUSTOMER)
        for definition in self.custom_definitions:
            self.fields[f"cf_{definition.key}"] = forms.CharField(
                label=definition.label, required=False, max_length=200
            )

    def clean_owner(self) -> str:
        value = (self.cleaned_data.get("owner") or "").strip()
        if value and value not in ("me", "none") and not value.isdigit():
            raise forms.ValidationError(_("Owner is a user id or “me”."))  # "none" too, from the quality page
        return value

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for definition in self.custom_definitions:
            name = f"cf_{definition.key}"
            raw = cleaned.get(name)
            if raw in (None, ""):
                continue
            try:
                # A multi-choice filter matches customers that have that one choice ticked.
                probe = definition
                if definition.field_type == CustomFieldType.MULTI_CHOICE:
                    probe = type(definition)(field_type=CustomFieldType.CHOICE, choices=definition.choices)
                cleaned[name] = clean_value(probe, raw)
            except ValueError as exc:
                self.add_error(name, str(exc))
        return cleaned

    def filter_q(self, actor: Any) -> Q:
        """The conditions; call after ``is_valid()``."""
        data = self.cleaned_data
        q = search_filter(data.get("q") or "")
        for key in ("kind", "grade", "status", "province", "city", "district"):
            if data.get(key):
                q &= Q(**{key: data[key]})
        for key in ("customer_type", "industry", "source", "team"):
            if data.get(key):
                q &= Q(**{f"{key}_id": data[key]})
        if data.get("tag"):
            # A sub-select rather than a join: no duplicate rows and no sort of the joined set.
            tagged = Customer.tags.through.objects.filter(tag_id=data["tag"]).values("customer_id")
            q &= Q(pk__in=tagged)
        owner = data.get("owner")
        if owner == "none":
            q &= Q(owner__isnull=True)
        elif owner:
            q &= Q(owner_id=actor.pk if owner == "me" else int(owner))
        if data.get("mobile"):
            q &= Q(has_valid_mobile()) if data["mobile"] == "valid" else ~Q(has_valid_mobile())
        if data.get("updated_before"):
            # Midnight at the start of that day, in the active time zone.
            start = timezone.make_aware(dt.datetime.combine(data["updated_before"], dt.time.min))
            q &= Q(updated_at__lt=start)
        for definition in self.custom_definitions:
            value = data.get(f"cf_{definition.key}")
            if value in (None, ""):
                continue
            q &= _custom_field_q(definition.key, definition.field_type, value)
        return q

    def apply(self, qs: QuerySet[Customer], actor: Any) -> QuerySet[Customer]:
        qs = qs.filter(self.filter_q(actor))
        return qs.order_by(*ORDERINGS.get(self.cleaned_data.get("ordering") or "-id", ("-id",)))


def _custom_field_q(key: str, field_type: str, value: Any) -> Q:
    if field_type == CustomFieldType.MULTI_CHOICE:
        if connection.vendor == "postgresql":
            return Q(custom_fields__contains={key: [value]})
        # SQLite has no JSON containment; json_each over the one array is exact and cheap.
        return Q(
            pk__in=RawSQL(
                f"SELECT c.id FROM {Customer._meta.db_table} c, json_each(c.custom_fields, %s) j WHERE j.value = %s",
                [f'$."{key}"', value],
            )
        )
    return Q(**{f"custom_fields__{key}": value})


def filter_errors(form: forms.Form) -> dict[str, list[str]]:
    return {field: [str(e) for e in errs] for field, errs in form.errors.items()}
