"""Forms of the activities pages: posted text in, the plain values the services take out.

The rules (kind, time not in the future, follow-up not before the contact, contact of that customer,
status moves, photos that are images) live in the services; these forms shape widgets and choices
and carry the services' messages back onto the right field.
"""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from pearl.activities.choices import (
    CommunicationKind,
    ComplaintCategory,
    ComplaintKind,
    Outcome,
)
from pearl.activities.models import Communication, Complaint
from pearl.core.errors import ApplicationError
from pearl.core.pages import add_service_errors
from pearl.customers.models import Customer

BLANK = ("", "—")
DATETIME_FORMAT = "%Y-%m-%dT%H:%M"
DATETIME_FORMATS = [DATETIME_FORMAT, "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S"]

# The quick log's buttons, in the order a salesperson uses them.
QUICK_KINDS = [CommunicationKind.CALL, CommunicationKind.VISIT, CommunicationKind.WECHAT, CommunicationKind.NOTE]


def _datetime_field(label: Any) -> forms.DateTimeField:
    return forms.DateTimeField(
        label=label,
        required=False,
        input_formats=DATETIME_FORMATS,
        widget=forms.DateTimeInput(format=DATETIME_FORMAT, attrs={"type": "datetime-local"}),
        error_messages={"invalid": _("Enter a valid date and time.")},
    )


def contact_choices(customer: Customer) -> list[tuple[str, str]]:
    return [BLANK, *((str(c.pk), c.name) for c in customer.contacts.all())]


def primary_contact_id(customer: Customer) -> str:
    contacts = list(customer.contacts.all())
    primary = next((c for c in contacts if c.is_primary), contacts[0] if contacts else None)
    return str(primary.pk) if primary else ""


class _ServiceForm(forms.Form):
    def apply_service_errors(self, exc: ApplicationError) -> None:
        add_service_errors(self, exc)


class CommunicationForm(_ServiceForm):
    kind = forms.ChoiceField(label=_("Kind"), choices=CommunicationKind.choices)
    occurred_at = _datetime_field(_("When"))
    contact = forms.ChoiceField(label=_("Contact"), required=False)
    outcome = forms.ChoiceField(label=_("Outcome"), required=False, choices=Outcome.choices, widget=forms.RadioSelect)
    purpose = forms.CharField(label=_("Purpose"), required=False, max_length=100)
    place = forms.CharField(label=_("Place"), required=False, max_length=200)
    summary = forms.CharField(
        label=_("Summary"), required=False, max_length=4000, widget=forms.Textarea(attrs={"rows": 3})
    )
    duration_minutes = forms.IntegerField(label=_("Duration (minutes)"), required=False, min_value=0, max_value=1440)
    next_follow_up_at = _datetime_field(_("Next follow-up"))
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)
    # The time the new form showed; left as it was, it means "now" (the moment of saving, to the second).
    time_shown = forms.CharField(required=False, max_length=20, widget=forms.HiddenInput)

    required_names = ("kind",)

    def __init__(
        self, data: Any = None, *, customer: Customer, communication: Communication | None = None, **kwargs: Any
    ) -> None:
        initial = kwargs.pop("initial", {}) or {}
        if communication is not None:
            initial = {
                "kind": communication.kind,
                "occurred_at": timezone.localtime(communication.occurred_at),
                "contact": str(communication.contact_id or ""),
                "outcome": communication.outcome,
                "purpose": communication.purpose,
                "place": communication.place,
                "summary": communication.summary,
                "duration_minutes": communication.duration_minutes,
                "next_follow_up_at": timezone.localtime(communication.next_follow_up_at)
                if communication.next_follow_up_at
                else None,
                "version": communication.version,
                **initial,
            }
        else:
            shown = timezone.localtime().replace(second=0, microsecond=0)
            initial = {"occurred_at": shown, "time_shown": shown.strftime(DATETIME_FORMAT),
                       "contact": primary_contact_id(customer), **initial}  # fmt: skip
        super().__init__(data, initial=initial, **kwargs)
        self.customer = customer
        self.communication = communication
        cast(forms.ChoiceField, self.fields["contact"]).choices = contact_choices(customer)

    def when(self) -> Any:
        """The time given; blank or left as the new form showed it means now."""
        raw = str(self.data.get(self.add_prefix("occurred_at"), "") or "").strip()
        untouched = self.communication is None and raw == (self.cleaned_data.get("time_shown") or None)
        if self.communication is None and (untouched or not self.cleaned_data.get("occurred_at")):
            return timezone.now()
        return self.cleaned_data.get("occurred_at")

    def service_data(self) -> dict[str, Any]:
        """What the service takes; call after ``is_valid()``."""
        d = self.cleaned_data
        return {
            "kind": d.get("kind"),
            "occurred_at": self.when(),
            "contact": d.get("contact") or None,
            "outcome": d.get("outcome") or "",
            "purpose": d.get("purpose") or "",
            "place": d.get("place") or "",
            "summary": d.get("summary") or "",
            "duration_minutes": d.get("duration_minutes"),
            "next_follow_up_at": d.get("next_follow_up_at"),
        }


class QuickLogForm(CommunicationForm):
    """The two-tap form on the customer page: kind fixed by the button, everything else optional."""

    def __init__(self, data: Any = None, *, customer: Customer, kind: str, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "quick")  # the customer page has other forms; ids stay unique
        super().__init__(data, customer=customer, initial={"kind": kind}, **kwargs)
        self.kind_label = CommunicationKind(kind).label
        # On a phone a day is enough: a bare date is due at 09:00 (the service's rule).
        self.fields["next_follow_up_at"] = forms.DateField(
            label=_("Next follow-up"), required=False, widget=forms.DateInput(attrs={"type": "date"})
        )
        self.fields["kind"].widget = forms.HiddenInput()
        for name in ("purpose", "duration_minutes"):
            del self.fields[name]
        if kind != CommunicationKind.VISIT:
            del self.fields["place"]
        self.quick_kind = kind

    def service_data(self) -> dict[str, Any]:
        d = self.cleaned_data
        data = {
            "kind": d.get("kind") or self.quick_kind,
            "occurred_at": self.when(),
            "contact": d.get("contact") or None,
            "outcome": d.get("outcome") or "",
            "summary": d.get("summary") or "",
            "next_follow_up_at": d.get("next_follow_up_at"),
        }
        if "place" in self.fields:
            data["place"] = d.get("place") or ""
        return data


class ComplaintForm(_ServiceForm):
    kind = forms.ChoiceField(label=_("Kind"), choices=ComplaintKind.choices)
    category = forms.ChoiceField(label=_("Category"), choices=[BLANK, *ComplaintCategory.choices], required=False)
    title = forms.CharField(label=_("Title"), required=False, max_length=100)
    description = forms.CharField(
        label=_("Description"), required=False, max_length=4000, widget=forms.Textarea(attrs={"rows": 4})
    )
    received_at = _datetime_field(_("Received at"))
    contact = forms.ChoiceField(label=_("Contact"), required=False)
    order = forms.IntegerField(label=_("Order concerned (id)"), required=False, min_value=1, max_value=2**63 - 1)
    handler = forms.ChoiceField(label=_("Handled by"), required=False)
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    required_names = ("kind", "category", "title")

    def __init__(
        self,
        data: Any = None,
        *,
        customer: Customer,
        users: list[tuple[str, str]],
        complaint: Complaint | None = None,
        **kwargs: Any,
    ) -> None:
        if complaint is not None:
            initial = {
                "kind": complaint.kind,
                "category": complaint.category,
                "title": complaint.title,
                "description": complaint.description,
                "received_at": timezone.localtime(complaint.received_at),
                "contact": str(complaint.contact_id or ""),
                "order": complaint.order_id,
                "handler": str(complaint.handler_id or ""),
                "version": complaint.version,
            }
        else:
            initial = {"received_at": timezone.localtime().replace(second=0, microsecond=0)}
        super().__init__(data, initial=initial, **kwargs)
        self.customer = customer
        self.complaint = complaint
        cast(forms.ChoiceField, self.fields["contact"]).choices = contact_choices(customer)
        cast(forms.ChoiceField, self.fields["handler"]).choices = [BLANK, *users]

    def service_data(self) -> dict[str, Any]:
        d = self.cleaned_data
        return {
            "kind": d.get("kind"),
            "category": d.get("category") or None,
            "title": d.get("title") or "",
            "description": d.get("description") or "",
            "received_at": d.get("received_at") or (None if self.complaint else timezone.now()),
            "contact": d.get("contact") or None,
            "order": d.get("order"),
            "handler": d.get("handler") or None,
        }
