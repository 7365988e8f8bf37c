"""Forms of the insights pages: posted text in, the plain values the services take out.

The services own every rule and message; these forms shape widgets and carry the service's errors
back (``conditions.2.value`` → the third row's value box).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from pearl.analytics.conditions import FIELDS, OP_LABELS
from pearl.analytics.models import GradingRule, SmartTagRule
from pearl.core.errors import ApplicationError
from pearl.customers.choices import Grade

CONDITION_ROWS = 5


class GradingRuleForm(forms.Form):
    grade = forms.ChoiceField(label=_("Grade"), choices=Grade.choices)
    order = forms.CharField(
        label=_("Order"), required=False, initial="0", widget=forms.NumberInput(attrs={"min": 0, "step": 1}),
        help_text=_("Rules are tried from the lowest number; the first one a customer meets gives its grade."),
    )  # fmt: skip
    min_revenue_12m = forms.CharField(
        label=_("Revenue, last 12 months, at least (¥)"), required=False,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "placeholder": "200000"}),
    )  # fmt: skip
    min_orders_12m = forms.CharField(
        label=_("Orders in the last 12 months, at least"), required=False,
        widget=forms.NumberInput(attrs={"min": 0, "step": 1}),
    )  # fmt: skip
    min_margin_12m = forms.CharField(
        label=_("Margin, last 12 months, at least (¥)"), required=False,
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
        help_text=_("Leave every threshold empty for a rule that takes everyone left (“else C”)."),
    )  # fmt: skip
    is_active = forms.BooleanField(label=_("In use"), required=False, initial=True)

    def service_data(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        for key in ("order", "min_revenue_12m", "min_orders_12m", "min_margin_12m"):
            data[key] = (data.get(key) or "").strip()
        return data

    @staticmethod
    def initial_for(rule: GradingRule) -> dict[str, Any]:
        return {
            "grade": rule.grade, "order": rule.order, "min_revenue_12m": rule.min_revenue_12m or "",
            "min_orders_12m": "" if rule.min_orders_12m is None else rule.min_orders_12m,
            "min_margin_12m": rule.min_margin_12m or "", "is_active": rule.is_active,
        }  # fmt: skip


def _field_choices() -> list[tuple[str, Any]]:
    return [("", "—"), *((key, spec.label) for key, spec in FIELDS.items())]


class SmartTagForm(forms.Form):
    name = forms.CharField(label=_("Tag name"), required=False, widget=forms.TextInput(attrs={"maxlength": 32}))
    color = forms.CharField(
        label=_("Colour"), required=False, initial="#2f6fde", widget=forms.TextInput(attrs={"type": "color"})
    )
    description = forms.CharField(label=_("Description"), required=False, max_length=200)
    is_active = forms.BooleanField(
        label=_("In use"), required=False,
        help_text=_("Switched off, the tag carries nobody; switched on, it is applied at once and every night."),
    )  # fmt: skip

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for i in range(CONDITION_ROWS):
            self.fields[f"cond_{i}_field"] = forms.ChoiceField(
                label=_("Field"), required=False, choices=_field_choices()
            )
            self.fields[f"cond_{i}_op"] = forms.ChoiceField(
                label=_("Operator"), required=False, choices=[("", "—"), *OP_LABELS.items()]
            )
            self.fields[f"cond_{i}_value"] = forms.CharField(
                label=_("Value"), required=False, max_length=200,
                help_text=_("Several values for “is one of”: separate them with commas.") if i == 0 else "",
            )  # fmt: skip
            self.fields[f"cond_{i}_param"] = forms.CharField(
                label=_("Category / days"), required=False, max_length=40,
                help_text=_("Product category for “bought a category…” (empty = any); days for complaints.")
                if i == 0 else "",
            )  # fmt: skip

    @property
    def main_fields(self) -> list[forms.BoundField]:
        return [self[n] for n in ("name", "color", "description", "is_active")]

    @property
    def condition_rows(self) -> list[list[forms.BoundField]]:
        return [[self[f"cond_{i}_{p}"] for p in ("field", "op", "value", "param")] for i in range(CONDITION_ROWS)]

    def conditions(self) -> list[dict[str, Any]]:
        rows = []
        for i in range(CONDITION_ROWS):
            field = self.cleaned_data.get(f"cond_{i}_field") or ""
            if not field:
                continue
            op = self.cleaned_data.get(f"cond_{i}_op") or ""
            raw = (self.cleaned_data.get(f"cond_{i}_value") or "").strip()
            value: Any = [v.strip() for v in raw.replace("，", ",").split(",") if v.strip()] if op == "in" else raw
            row: dict[str, Any] = {"field": field, "op": op, "value": value}
            param = (self.cleaned_data.get(f"cond_{i}_param") or "").strip()
            spec = FIELDS.get(field)
            if spec is not None and spec.param and param:
                row[spec.param] = param
            rows.append(row)
        return rows

    def service_data(self) -> dict[str, Any]:
        data = {k: self.cleaned_data.get(k) for k in ("name", "color", "description", "is_active")}
        if not data["color"]:
            del data["color"]  # the tag's default colour
        data["conditions"] = self.conditions()
        return data

    def apply_service_errors(self, exc: ApplicationError) -> None:
        """``conditions.<n>.<key>`` errors go on the n-th filled row's boxes."""
        filled = [i for i in range(CONDITION_ROWS) if self.cleaned_data.get(f"cond_{i}_field")]
        placed = False
        for key, messages in exc.field_errors.items():
            parts = key.split(".")
            target: str | None = key if key in self.fields else None
            if parts[0] == "conditions" and len(parts) >= 2 and parts[1].isdigit() and int(parts[1]) < len(filled):
                row = filled[int(parts[1])]
                part = parts[2] if len(parts) > 2 else "field"
                target = f"cond_{row}_{'param' if part in ('category', 'days') else part}"
                if target not in self.fields:
                    target = f"cond_{row}_field"
            for message in messages:
                self.add_error(target, str(message))
                placed = True
        if not placed or not exc.field_errors:
            self.add_error(None, str(exc.message))

    @staticmethod
    def initial_for(rule: SmartTagRule) -> dict[str, Any]:
        initial: dict[str, Any] = {
            "name": rule.tag.name, "color": rule.tag.color, "description": rule.description,
            "is_active": rule.is_active,
        }  # fmt: skip
        for i, row in enumerate(rule.conditions[:CONDITION_ROWS]):
            value = row.get("value")
            initial[f"cond_{i}_field"] = row.get("field")
            initial[f"cond_{i}_op"] = row.get("op")
            initial[f"cond_{i}_value"] = ", ".join(str(v) for v in value) if isinstance(value, list) else value
            spec = FIELDS.get(str(row.get("field")))
            if spec is not None and spec.param and row.get(spec.param) is not None:
                initial[f"cond_{i}_param"] = row[spec.param]
        return initial
