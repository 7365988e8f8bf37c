"""Forms of the leads pages: posted text in, the plain values the services take out. The rules live in
the services; these shape widgets and choices and carry the services' messages back onto fields."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from pearl.core.errors import ApplicationError
from pearl.core.pages import add_service_errors
from pearl.customers.choices import ChoiceList
from pearl.customers.models import ChoiceOption
from pearl.leads.choices import CONDITION_FIELDS, AssignMethod, ConditionOp
from pearl.sales.models import ProductCategory

BLANK = ("", "—")


def source_choices() -> list[tuple[str, str]]:
    rows = ChoiceOption.objects.filter(list_name=ChoiceList.SOURCE, is_active=True).order_by("order", "id")
    return [BLANK, *((str(o.pk), o.label) for o in rows)]


def category_choices() -> list[tuple[str, str]]:
    return [BLANK, *((str(c.pk), c.name) for c in ProductCategory.objects.order_by("order", "id"))]


class _ServiceForm(forms.Form):
    required_names: set[str] = set()

    def apply_service_errors(self, exc: ApplicationError) -> None:
        add_service_errors(self, exc)


class LeadForm(_ServiceForm):
    required_names = {"name"}

    name = forms.CharField(label=_("Name"), max_length=64, required=False)
    company = forms.CharField(label=_("Company"), max_length=200, required=False)
    mobile = forms.CharField(
        label=_("Mobile / phone"), max_length=32, required=False, widget=forms.TextInput(attrs={"inputmode": "tel"})
    )
    wechat = forms.CharField(label=_("WeChat id"), max_length=64, required=False)
    email = forms.CharField(
        label=_("Email"), max_length=254, required=False, widget=forms.TextInput(attrs={"inputmode": "email"})
    )
    source = forms.ChoiceField(label=_("Source channel"), required=False)
    province = forms.CharField(label=_("Province"), max_length=32, required=False)
    city = forms.CharField(label=_("City"), max_length=32, required=False)
    product_interest = forms.ChoiceField(label=_("Product interest"), required=False)
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["source"]).choices = source_choices()
        cast(forms.ChoiceField, self.fields["product_interest"]).choices = category_choices()

    def service_data(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        for key in ("source", "product_interest"):
            data[key] = int(data[key]) if data.get(key) else None
        return data


class LeadEditForm(LeadForm):
    """The lead's fields, plus its owner for those who may hand leads to others."""

    owner = forms.ChoiceField(label=_("Owner"), required=False)
    version = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, users: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["owner"]).choices = [("", _("Team queue")), *users]

    @staticmethod
    def initial_of(lead: Any) -> dict[str, Any]:
        data = {
            k: getattr(lead, k) for k in ("name", "company", "mobile", "wechat", "email", "province", "city", "note")
        }
        data.update(
            source=str(lead.source_id or ""), product_interest=str(lead.product_interest_id or ""),
            owner=str(lead.owner_id or ""), version=str(lead.version),
        )  # fmt: skip
        return data

    def service_data(self) -> dict[str, Any]:
        data = super().service_data()
        data.pop("version", None)
        owner = data.pop("owner", "")
        if "owner" in self.fields and not self.fields["owner"].disabled:
            data["owner"] = int(owner) if owner else None
        return data


class DisqualifyForm(_ServiceForm):
    disqualify_reason = forms.CharField(label=_("Why is it not worth following?"), max_length=200, required=False)


class RuleForm(_ServiceForm):
    required_names = {"name"}

    name = forms.CharField(label=_("Name"), max_length=64, required=False)
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)
    method = forms.ChoiceField(label=_("Method"), choices=AssignMethod.choices)
    capacity = forms.IntegerField(
        label=_("Open leads per person at most"), required=False, min_value=1, help_text=_("Empty: no limit.")
    )
    members = forms.MultipleChoiceField(label=_("Members"), required=False, widget=forms.CheckboxSelectMultiple)
    provinces = forms.CharField(
        label=_("Provinces"), required=False, help_text=_("Separated by commas, e.g. 广东省, 广西壮族自治区.")
    )
    cities = forms.CharField(label=_("Cities"), required=False, help_text=_("Separated by commas."))
    sources = forms.MultipleChoiceField(label=_("Source channels"), required=False, widget=forms.CheckboxSelectMultiple)
    product_categories = forms.MultipleChoiceField(
        label=_("Product interest"), required=False, widget=forms.CheckboxSelectMultiple
    )
    field = forms.ChoiceField(
        label=_("And the field"), required=False, choices=[BLANK, *((f, f) for f in CONDITION_FIELDS)]
    )
    op = forms.ChoiceField(label=_("Condition"), required=False, choices=ConditionOp.choices)
    value = forms.CharField(label=_("Value"), required=False, max_length=100)

    def __init__(self, *args: Any, users: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["members"]).choices = users
        cast(forms.ChoiceField, self.fields["sources"]).choices = source_choices()[1:]
        cast(forms.ChoiceField, self.fields["product_categories"]).choices = category_choices()[1:]

    @staticmethod
    def initial_of(rule: Any) -> dict[str, Any]:
        c = rule.conditions or {}
        first = (c.get("fields") or [{}])[0]
        return {
            "name": rule.name, "is_active": rule.is_active, "method": rule.method, "capacity": rule.capacity,
            "members": [str(u.pk) for u in rule.members.all()],
            "provinces": ", ".join(c.get("provinces", [])), "cities": ", ".join(c.get("cities", [])),
            "sources": [str(i) for i in c.get("sources", [])],
            "product_categories": [str(i) for i in c.get("product_categories", [])],
            "field": first.get("field", ""), "op": first.get("op", ""), "value": first.get("value", ""),
        }  # fmt: skip

    def service_data(self) -> dict[str, Any]:
        d = self.cleaned_data

        def split(text: str) -> list[str]:
            return [p.strip() for p in text.replace("，", ",").replace("、", ",").split(",") if p.strip()]

        conditions: dict[str, Any] = {
            "provinces": split(d.get("provinces") or ""),
            "cities": split(d.get("cities") or ""),
            "sources": [int(i) for i in d.get("sources") or []],
            "product_categories": [int(i) for i in d.get("product_categories") or []],
        }
        if d.get("field"):
            conditions["fields"] = [{"field": d["field"], "op": d.get("op") or "", "value": d.get("value") or ""}]
        return {
            "name": d.get("name") or "",
            "is_active": bool(d.get("is_active")),
            "method": d.get("method"),
            "capacity": d.get("capacity"),
            "members": [int(i) for i in d.get("members") or []],
            "conditions": conditions,
        }
