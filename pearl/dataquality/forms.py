"""Forms of the import wizard: upload, column mapping, preset name, revert confirmation."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from pearl.dataquality.choices import ImportKey, ImportRule
from pearl.dataquality.reader import MAX_UPLOAD_BYTES


class UploadForm(forms.Form):
    file = forms.FileField(
        label=_("Spreadsheet"),
        help_text=_("Excel (.xlsx, .xls), OpenDocument (.ods) or CSV, up to %(mb)d MB.")
        % {"mb": MAX_UPLOAD_BYTES // (1024 * 1024)},
        widget=forms.ClearableFileInput(attrs={"accept": ".xlsx,.xls,.xlsb,.ods,.csv,.txt"}),
    )
    preset = forms.TypedChoiceField(label=_("Mapping preset"), required=False, coerce=int, empty_value=None)
    key = forms.ChoiceField(label=_("Find existing customers by"), choices=ImportKey.choices, initial=ImportKey.MOBILE)
    rule = forms.ChoiceField(
        label=_("For existing customers"), choices=ImportRule.choices, initial=ImportRule.FILL_EMPTY
    )

    def __init__(self, *args: Any, presets: Sequence[tuple[int, str]] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["preset"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = [("", _("Automatic")), *presets]


class MappingForm(forms.Form):
    """One dropdown per header (automatic mapping preselected), plus the key and rule."""

    key = forms.ChoiceField(label=_("Find existing customers by"), choices=ImportKey.choices)
    rule = forms.ChoiceField(label=_("For existing customers"), choices=ImportRule.choices)

    def __init__(self, *args: Any, headers: list[str], field_choices: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
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
