"""Forms of the import wizard: upload, column mapping, preset name, revert confirmation."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from pearl.dataquality.choices import ImportKey, ImportRule, ImportTarget
from pearl.dataquality.reader import MAX_UPLOAD_BYTES


class UploadForm(forms.Form):
    target = forms.ChoiceField(
        label=_("What the rows become"),
        choices=[(ImportTarget.CUSTOMERS.value, _("Import customers")), (ImportTarget.LEADS.value, _("Import leads"))],
        initial=ImportTarget.CUSTOMERS.value,
        required=False,  # customers when not given, as before the choice existed
        widget=forms.RadioSelect,
        error_messages={"invalid_choice": _("Choose what to import: customers or leads.")},
    )
    file = forms.FileField(
        label=_("Spreadsheet"),
        help_text=_("Excel (.xlsx, .xls), OpenDocument (.ods) or CSV, up to %(mb)d MB.")
        % {"mb": MAX_UPLOAD_BYTES // (1024 * 1024)},
        widget=forms.ClearableFileInput(attrs={"accept": ".xlsx,.xls,.xlsb,.ods,.csv,.txt"}),
    )
    preset = forms.TypedChoiceField(label=_("Mapping preset"), required=False, coerce=int, empty_value=None)
    # Not required: a leads import has no use for them (the defaults apply when left out).
    key = forms.ChoiceField(
        label=_("Find existing customers by"), choices=ImportKey.choices, initial=ImportKey.MOBILE, required=False
    )
    rule = forms.ChoiceField(
        label=_("For existing customers"), choices=ImportRule.choices, initial=ImportRule.FILL_EMPTY, required=False
    )

    def __init__(self, *args: Any, presets: Sequence[tuple[int, str]] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["preset"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = [("", _("Automatic")), *presets]

    def clean_target(self) -> str:
        return self.cleaned_data.get("target") or ImportTarget.CUSTOMERS.value

    def clean_key(self) -> str:
        return self.cleaned_data.get("key") or ImportKey.MOBILE.value

    def clean_rule(self) -> str:
        return self.cleaned_data.get("rule") or ImportRule.FILL_EMPTY.value


class MappingForm(forms.Form):
    """One dropdown per header (automatic mapping preselected), plus the key and rule (a leads import
    has neither: it only creates, and finds duplicates by mobile, email and WeChat id)."""

    key = forms.ChoiceField(label=_("Find existing customers by"), choices=ImportKey.choices)
    rule = forms.ChoiceField(label=_("For existing customers"), choices=ImportRule.choices)

    def __init__(
        self,
        *args: Any,
        headers: list[str],
        field_choices: list[tuple[str, str]],
        target: str = ImportTarget.CUSTOMERS,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        if target == ImportTarget.LEADS:
            del self.fields["key"], self.fields["rule"]
        self.headers = headers
        choices = [("", _("— not imported —")), *field_choices]
        for index, header in enumerate(headers):
            self.fields[f"col_{index}"] = forms.ChoiceField(
                label=header or _("(column %(n)d without a header)") % {"n": index + 1}, choices=choices, required=False
            )

    def column_fields(self) -> list[Any]:
        return [self[f"col_{i}"] for i in range(len(self.headers))]

    def mapping(self) -> dict[int, str]:
        return {i: self.cleaned_data[f"col_{i}"] for i in range(len(self.headers)) if self.cleaned_data.get(f"col_{i}")}


class PresetForm(forms.Form):
    name = forms.CharField(label=_("Preset name"), max_length=64)


class DedupeSettingsForm(forms.Form):
    duplicate_threshold = forms.FloatField(
        label=_("Duplicate from score"), min_value=0, max_value=100,
        help_text=_("Pairs scoring at least this are confident duplicates."),
    )  # fmt: skip
    possible_threshold = forms.FloatField(
        label=_("Possible duplicate from score"), min_value=0, max_value=100,
        help_text=_("Pairs scoring at least this (and below the duplicate score) wait for review."),
    )  # fmt: skip
    auto_merge_duplicates = forms.BooleanField(
        label=_("Merge confident duplicates automatically when scanning"), required=False,
        help_text=_("Off by default. Each automatic merge is logged and can be undone from the customer page."),
    )  # fmt: skip

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        duplicate, possible = cleaned.get("duplicate_threshold"), cleaned.get("possible_threshold")
        if duplicate is not None and possible is not None and possible > duplicate:
            message = _("The possible-duplicate score must not be above the duplicate score.")
            self.add_error("possible_threshold", message)
        return cleaned


class BandFilterForm(forms.Form):
    band = forms.ChoiceField(
        label=_("Band"), required=False,
        choices=[("", _("All")), ("duplicate", _("Duplicate")), ("possible", _("Possible duplicate"))],
    )  # fmt: skip
