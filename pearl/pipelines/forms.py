"""Page forms: the opportunity form (create / edit) and the list's filters. Validation that matters
lives in the services; these only shape the input and carry the service's refusal back."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from pearl.activities.choices import CommunicationKind, Outcome
from pearl.pipelines.choices import DEFAULT_STAGES, OpportunityStatus, StageKind, StageRole
from pearl.pipelines.filters import OpportunityFilterForm


class OpportunityForm(forms.Form):
    required_names = ("name", "customer")

    name = forms.CharField(label=_("Name"), max_length=100, required=False)
    customer = forms.IntegerField(label=_("Customer"), required=False, widget=forms.HiddenInput)
    amount = forms.CharField(label=_("Amount (CNY)"), max_length=24, required=False,
                             widget=forms.TextInput(attrs={"inputmode": "decimal"}))  # fmt: skip
    expected_close_date = forms.DateField(label=_("Expected close date"), required=False,
                                          widget=forms.DateInput(attrs={"type": "date"}))  # fmt: skip
    pipeline = forms.TypedChoiceField(label=_("Pipeline"), required=False, coerce=int, empty_value=None)
    stage = forms.TypedChoiceField(label=_("Stage"), required=False, coerce=int, empty_value=None)
    owner = forms.TypedChoiceField(label=_("Owner"), required=False, coerce=int, empty_value=None)
    loss_reason = forms.CharField(label=_("Loss reason"), max_length=200, required=False)
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(
        self,
        *args: Any,
        pipelines: list[tuple[int, str]],
        stages: list[tuple[int, str]],
        owners: list[tuple[int, str]] | None,
        editing: bool,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        if editing:  # the stage moves on the board or the detail page; the pipeline stays
            del self.fields["pipeline"], self.fields["stage"], self.fields["loss_reason"]
        else:
            pipeline_field = self.fields["pipeline"]
            stage_field = self.fields["stage"]
            assert isinstance(pipeline_field, forms.ChoiceField) and isinstance(stage_field, forms.ChoiceField)
            pipeline_field.choices = pipelines
            stage_field.choices = [("", _("First stage")), *stages]
        if owners is None:
            del self.fields["owner"]
        else:
            owner_field = self.fields["owner"]
            assert isinstance(owner_field, forms.ChoiceField)
            owner_field.choices = owners


class OpportunityFilterPageForm(OpportunityFilterForm):
    """The list page's filters, with choices for people instead of ids."""

    def __init__(self, *args: Any, pipelines: list[tuple[int, str]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["pipeline"] = forms.TypedChoiceField(
            label=_("Pipeline"), required=False, coerce=int, empty_value=None,
            choices=[("", "—"), *(pipelines or [])],
        )  # fmt: skip
        self.fields["owner"] = forms.ChoiceField(
            label=_("Owner"), required=False, choices=[("", _("Everyone I may see")), ("me", _("Mine"))]
        )
        self.fields["status"] = forms.ChoiceField(
            label=_("Status"), required=False, choices=[("", _("All")), *OpportunityStatus.choices]
        )
        for name in ("stage", "customer"):
            self.fields[name].widget = forms.HiddenInput()


class StageRuleForm(forms.Form):
    communication_kind = forms.ChoiceField(label=_("When someone logs a"), choices=CommunicationKind.choices)
    outcome = forms.ChoiceField(label=_("with the outcome"), required=False,
                                choices=[("", _("any outcome")), *Outcome.choices])  # fmt: skip
    stage = forms.TypedChoiceField(label=_("move open opportunities up to"), coerce=int)

    def __init__(self, *args: Any, stages: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        stage_field = self.fields["stage"]
        assert isinstance(stage_field, forms.ChoiceField)
        stage_field.choices = stages


# --- pipeline and stage settings (manage_settings) ---------------------------------------------------------


class PipelineForm(forms.Form):
    required_names = ("name",)

    name = forms.CharField(label=_("Pipeline name"), max_length=64, required=False)


class PipelineCreateForm(PipelineForm):
    standard_stages = forms.BooleanField(label=_("Start with the standard stages"), required=False, initial=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["standard_stages"].help_text = " → ".join(name for name, _p, _k in DEFAULT_STAGES)


class StageForm(forms.Form):
    """One stage's fields; the probability stays text so the service's refusal ("0 to 100") is the message."""

    required_names = ("name",)

    name = forms.CharField(label=_("Stage name"), max_length=32, required=False)
    probability = forms.CharField(label=_("Win probability (%)"), max_length=8, required=False,
                                  widget=forms.TextInput(attrs={"inputmode": "numeric"}))  # fmt: skip
    kind = forms.ChoiceField(label=_("Kind"), choices=StageKind.choices)
    role = forms.ChoiceField(label=_("Stage role"), required=False, choices=[("", _("No role")), *StageRole.choices])
