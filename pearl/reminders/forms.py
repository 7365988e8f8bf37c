"""The "add a task" form of the my-day page."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _


class TaskForm(forms.Form):
    title = forms.CharField(label=_("What to do"), max_length=200)
    due_at = forms.DateTimeField(
        label=_("Due"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
    )
    note = forms.CharField(label=_("Note"), required=False, max_length=4000, widget=forms.Textarea(attrs={"rows": 2}))
    customer = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    required_names = ("title", "due_at")

    def service_data(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "title": data["title"],
            "due_at": data["due_at"],
            "note": data.get("note") or "",
            "customer_id": data.get("customer"),
        }
