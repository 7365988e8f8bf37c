"""Forms for the customer-data settings pages: tags, choice lists and custom-field definitions.

They only carry the posted text to the services (config.py), which own every rule and message;
fields are therefore optional here so the service's specific message is the one people read.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from pearl.customers.choices import CustomFieldType
from pearl.customers.models import ChoiceOption, CustomFieldDefinition, Tag


class ColorInput(forms.TextInput):
    input_type = "color"


class TagForm(forms.Form):
    name = forms.CharField(label=_("Name"), required=False, widget=forms.TextInput(attrs={"maxlength": 32}))
    color = forms.CharField(label=_("Colour"), required=False, initial="#2f6fde", widget=ColorInput)

    @staticmethod
    def initial_for(tag: Tag) -> dict[str, Any]:
        return {"name": tag.name, "color": tag.color}


class ChoiceOptionForm(forms.Form):
    label = forms.CharField(label=_("Label"), required=False, widget=forms.TextInput(attrs={"maxlength": 64}))
    # Text, not IntegerField: the service answers "abc" or "-1" with its own message.
    order = forms.CharField(
        label=_("Order"), required=False, widget=forms.NumberInput(attrs={"min": 0, "step": 1}),
        help_text=_("Lower numbers come first."),
    )

    def service_data(self) -> dict[str, Any]:
        return {"label": self.cleaned_data["label"], "order": self.cleaned_data["order"].strip()}


class ChoiceOptionEditForm(ChoiceOptionForm):
    is_active = forms.BooleanField(
        label=_("In use"), required=False,
        help_text=_("Retired options stay on old records but cannot be picked."),
    )

    def service_data(self) -> dict[str, Any]:
        return {**super().service_data(), "is_active": self.cleaned_data["is_active"]}

    @staticmethod
    def initial_for(option: ChoiceOption) -> dict[str, Any]:
        return {"label": option.label, "order": option.order, "is_active": option.is_active}


class CustomFieldForm(forms.Form):
    """Editing form; key, type and object are fixed once a field exists (stored values depend on them)."""

    label = forms.CharField(label=_("Label"), required=False, widget=forms.TextInput(attrs={"maxlength": 64}))
    required = forms.BooleanField(label=_("Required"), required=False)
    help_text = forms.CharField(
        label=_("Help text"), required=False, widget=forms.TextInput(attrs={"maxlength": 200})
    )
    order = forms.CharField(
        label=_("Order"), required=False, widget=forms.NumberInput(attrs={"min": 0, "step": 1}),
        help_text=_("Lower numbers come first on forms."),
    )
    choices = forms.CharField(
        label=_("Choices"), required=False, widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("For single and multiple choice fields: one choice per line."),
    )

    def service_data(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        # One per line (not split on commas) so a choice may itself contain a comma.
        data["choices"] = [line.strip() for line in data.get("choices", "").splitlines() if line.strip()]
        data["order"] = data.get("order", "").strip()
        return data

    @staticmethod
    def initial_for(field: CustomFieldDefinition) -> dict[str, Any]:
        return {
            "label": field.label, "required": field.required, "help_text": field.help_text,
            "order": field.order, "choices": "\n".join(field.choices or []),
        }


class CustomFieldCreateForm(CustomFieldForm):
    key = forms.CharField(
        label=_("Key"), required=False,
        widget=forms.TextInput(attrs={"maxlength": 50, "autocapitalize": "none"}),
        help_text=_("Used in the API and imports, e.g. annual_volume. Cannot be changed later."),
    )
    field_type = forms.ChoiceField(
        label=_("Type"), choices=CustomFieldType.choices, help_text=_("Cannot be changed later.")
    )

    field_order = ["key", "label", "field_type", "required", "help_text", "order", "choices"]
