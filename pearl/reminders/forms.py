"""The "add a task" form of the my-day page and the reminder rules' settings form."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from pearl.reminders.services import CALL_BACK_MINUTES, LEAD_HOURS, QUOTE_DAYS


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


def _number(label: Any, limits: tuple[int, int], help_text: Any) -> forms.IntegerField:
    """A rule's number (``label``, ``help_text``: lazy translations): parsed here; its range is checked
    by ``services.reminder_rules_update``, whose message names the range (the help text says it too,
    and ``limits`` only hint the browser)."""
    return forms.IntegerField(
        label=label,
        help_text=help_text,
        error_messages={"invalid": _("Enter a whole number."), "required": _("Enter a number.")},
        widget=forms.NumberInput(attrs={"min": limits[0], "max": limits[1], "step": 1, "inputmode": "numeric"}),
    )


class ReminderRulesForm(forms.Form):
    """The settings page 提醒规则: each rule's switch and number, and the outside channels."""

    lead_follow_up_on = forms.BooleanField(label=_("Remind of new leads nobody followed up"), required=False)
    lead_follow_up_hours = _number(
        _("Hours after assignment"), LEAD_HOURS, _("From 1 to 720. The lead's owner is reminded once.")
    )
    lead_follow_up_manager = forms.BooleanField(label=_("Also tell the owner's team manager"), required=False)
    call_back_on = forms.BooleanField(label=_("Remind of scheduled call-backs"), required=False)
    call_back_minutes = _number(
        _("Minutes ahead"), CALL_BACK_MINUTES, _("From 10 to 1440. The customer's owner is reminded once.")
    )
    quote_follow_up_on = forms.BooleanField(label=_("Follow-up task for unanswered quotes"), required=False)
    quote_follow_up_days = _number(
        _("Days without an answer"), QUOTE_DAYS, _("From 1 to 90. The opportunity's owner gets a task.")
    )
    send_email = forms.BooleanField(label=_("Email"), required=False)
    send_wecom = forms.BooleanField(label=_("WeCom group robot"), required=False)
    send_dingtalk = forms.BooleanField(label=_("DingTalk group robot"), required=False)
