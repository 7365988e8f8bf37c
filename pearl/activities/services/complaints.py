"""Complaints and feedback against a customer: status moves by ``COMPLAINT_TRANSITIONS``, on the timeline.

The timeline entry (kind ``complaint``) carries the status and category and follows every change;
``resolved_at`` is stamped when the complaint is resolved (or closed unresolved) and cleared when
it is reopened.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from pearl.accounts.models import User
from pearl.activities.choices import (
    COMPLAINT_TRANSITIONS,
    ComplaintCategory,
    ComplaintKind,
    ComplaintStatus,
    TimelineKind,
)
from pearl.activities.models import Complaint
from pearl.activities.services import attachments as files
from pearl.activities.services.communications import CLOCK_SKEW, as_datetime
from pearl.activities.services.timeline import (
    NewEvent,
    subject_key,
    timeline_record,
    timeline_remove_subject,
    timeline_update_subject,
)
from pearl.core.changes import created, deleted, diff, record_change, snapshot
from pearl.core.errors import NotFound, PreconditionFailed, ValidationFailed
from pearl.core.events import emit
from pearl.core.ids import record_id
from pearl.core.models import ChangeAction
from pearl.core.permissions import require, scope_q
from pearl.core.text import clean_spaces, strip_control
from pearl.customers.models import Contact, Customer
from pearl.sales.models import Order

COMPLAINT_FIELDS = [
    "kind", "category", "title", "description", "status", "received_at", "resolved_at", "resolution",
    "contact", "order", "handler",
]  # fmt: skip
_INPUT_FIELDS = set(COMPLAINT_FIELDS) - {"resolved_at"}
SUBJECT_TYPE = "activities.complaint"
OPEN_STATUSES = (ComplaintStatus.OPEN, ComplaintStatus.IN_PROGRESS)
TEXT_LIMIT = 4000


def complaint_event(c: Complaint) -> NewEvent:
    """The timeline entry of a complaint (pure, for the demo loader too)."""
    return NewEvent(
        customer_id=c.customer_id,
        kind=TimelineKind.COMPLAINT,
        occurred_at=c.received_at,
        title=c.title,
        actor=c.handler if c.handler_id else None,
        subject=(SUBJECT_TYPE, int(c.pk)) if c.pk else None,
        payload={"status": c.status, "category": c.category, "kind": c.kind},
    )


def status_error(old: str, new: str) -> str | None:
    """Why a complaint may not go from ``old`` to ``new``, or None when it may."""
    if new == old or new in COMPLAINT_TRANSITIONS[old]:
        return None
    allowed = sorted(COMPLAINT_TRANSITIONS[old], key=ComplaintStatus.values.index)
    return _("A complaint cannot go from “%(old)s” to “%(new)s”; from “%(old)s” it can go to: %(allowed)s.") % {
        "old": ComplaintStatus(old).label,
        "new": ComplaintStatus(new).label,
        "allowed": "、".join(str(ComplaintStatus(s).label) for s in allowed) or "—",
    }


def _clean(customer: Customer, data: dict[str, Any], instance: Complaint | None) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    out: dict[str, Any] = {}
    for key in sorted(set(data) - _INPUT_FIELDS - {"customer"}):
        errors[key] = [_("Unknown field %(field)s.") % {"field": key}]
    if "kind" in data or instance is None:
        kind = data.get("kind") or ComplaintKind.COMPLAINT
        if kind not in ComplaintKind.values:
            errors["kind"] = [_("Choose complaint or feedback.")]
        out["kind"] = kind
    if "category" in data or instance is None:
        category = data.get("category")
        if category not in ComplaintCategory.values:
            errors["category"] = [
                _("Choose a category: %(choices)s.")
                % {"choices": "、".join(str(label) for label in ComplaintCategory.labels)}
            ]
        out["category"] = category
    if "title" in data or instance is None:
        raw = data.get("title")
        if raw is not None and not isinstance(raw, str):
            errors["title"] = [_("Enter text.")]
        else:
            title = clean_spaces(strip_control(raw or ""))
            if not title:
                errors["title"] = [_("Give the complaint a short title.")]
            elif len(title) > 100:
                errors["title"] = [_("At most %(n)d characters.") % {"n": 100}]
            out["title"] = title
    for key in ("description", "resolution"):
        if key in data:
            raw = data[key]
            if raw is not None and not isinstance(raw, str):
                errors[key] = [_("Enter text.")]
                continue
            text = strip_control(raw or "").strip()
            if len(text) > TEXT_LIMIT:
                errors[key] = [_("At most %(n)d characters.") % {"n": TEXT_LIMIT}]
            out[key] = text
    if "received_at" in data or instance is None:
        try:
            when = as_datetime(data.get("received_at")) or (timezone.now() if instance is None else None)
        except (TypeError, ValueError):
            when, errors["received_at"] = None, [_("Enter a valid date and time.")]
        if when is None and "received_at" not in errors:
            errors["received_at"] = [_("Say when it was received.")]
        elif when is not None and when > timezone.now() + CLOCK_SKEW:
            errors["received_at"] = [_("A complaint cannot be received in the future.")]
        out["received_at"] = when
    if "status" in data or instance is None:
        status = data.get("status") or (instance.status if instance else ComplaintStatus.OPEN)
        if status not in ComplaintStatus.values:
            errors["status"] = [_("Unknown status.")]
        elif instance is not None and (error := status_error(instance.status, status)):
            errors["status"] = [error]
        out["status"] = status
    if "contact" in data:
        try:
            contact_id = record_id(data["contact"])
        except (TypeError, ValueError):
            contact_id, errors["contact"] = None, [_("Choose one of the customer's contacts.")]
        contact = Contact.objects.filter(pk=contact_id).first() if contact_id else None
        if contact_id and (contact is None or contact.customer_id != customer.pk):
            errors["contact"] = [_("This contact is not one of this customer's contacts.")]
        out["contact"] = contact
    if "order" in data:
        try:
            order_id = record_id(data["order"])
        except (TypeError, ValueError):
            order_id, errors["order"] = None, [_("Give the order's id.")]
        order = Order.objects.filter(pk=order_id).first() if order_id else None
        if order_id and order is None:
            errors["order"] = [_("Order not found.")]
        elif order is not None and order.customer_id != customer.pk:
            errors["order"] = [
                _("This order belongs to another customer; a complaint can only concern that customer's orders.")
            ]
        out["order"] = order
    if "handler" in data:
        try:
            handler_id = record_id(data["handler"])
        except (TypeError, ValueError):
            handler_id, errors["handler"] = None, [_("Choose an active user.")]
        handler = User.objects.filter(pk=handler_id, is_active=True).first() if handler_id else None
        if handler_id and handler is None:
            errors["handler"] = [_("Choose an active user.")]
        out["handler"] = handler
    if (
        not errors
        and out.get("status") == ComplaintStatus.RESOLVED
        and (instance is None or instance.status != ComplaintStatus.RESOLVED)
    ):
        resolution = out.get("resolution", instance.resolution if instance else "")
        if not resolution:
            errors["resolution"] = [_("Say how it was resolved.")]
    if errors:
        raise ValidationFailed(next(iter(errors.values()))[0], field_errors=errors)
    return out


def _stamp_resolution(c: Complaint, old_status: str | None) -> None:
    if c.status == old_status:
        return
    if c.status in (ComplaintStatus.RESOLVED, ComplaintStatus.CLOSED):
        if c.status == ComplaintStatus.RESOLVED or c.resolved_at is None:
            c.resolved_at = timezone.now()
    else:
        c.resolved_at = None


def _sync_event(c: Complaint) -> None:
    row = complaint_event(c).row()
    timeline_update_subject(
        subject_key(c),
        occurred_at=row.occurred_at,
        title=row.title,
        payload=row.payload,
        actor=row.actor,
        actor_label=row.actor_label,
    )


def _files_changed(actor: Any, complaint_id: int) -> None:
    """A file was added to or removed from a complaint: listeners hear of it as a change."""
    customer_id = Complaint.objects.filter(pk=complaint_id).values_list("customer_id", flat=True).first()
    if customer_id is not None:
        emit("complaint.changed", customer_id=customer_id, complaint_id=complaint_id, actor_id=actor.pk)


files.on_attachments_changed(SUBJECT_TYPE, _files_changed)


def _customer_for_write(actor: User, customer_id: int) -> Customer:
    customer = Customer.objects.filter(scope_q(actor)).filter(pk=customer_id).first()
    if customer is None:
        raise NotFound(_("Customer not found."))
    return customer


@transaction.atomic
def complaint_create(*, actor: User, customer_id: int, data: dict[str, Any]) -> Complaint:
    require(actor, "edit")
    customer = _customer_for_write(actor, customer_id)
    values = _clean(customer, data, None)
    c = Complaint(customer=customer, **values)
    _stamp_resolution(c, None)
    c.save()
    record_change(actor=actor, action=ChangeAction.CREATE, instance=c, changes=created(snapshot(c, COMPLAINT_FIELDS)))
    timeline_record(complaint_event(c))
    emit("complaint.changed", customer_id=customer.pk, complaint_id=c.pk, actor_id=actor.pk)
    return c


def _for_write(actor: User, complaint_id: int) -> Complaint:
    c = (
        Complaint.objects.select_for_update()
        .filter(pk=complaint_id, customer__in=Customer.objects.filter(scope_q(actor)).values("pk"))
        .first()
    )
    if c is None:
        raise NotFound(_("Complaint not found."))
    return c


def _check_version(c: Complaint, expected_version: int | None) -> None:
    if expected_version is not None and int(expected_version) != c.version:
        raise PreconditionFailed(
            _("Someone else changed this complaint meanwhile. Reload and apply your change again."),
            extra={"version": c.version},
        )


@transaction.atomic
def complaint_update(
    *, actor: User, complaint_id: int, data: dict[str, Any], expected_version: int | None = None
) -> Complaint:
    """Change the given fields, the status included (refused when the move is not allowed)."""
    require(actor, "edit")
    c = _for_write(actor, complaint_id)
    _check_version(c, expected_version)
    customer = Customer.objects.get(pk=c.customer_id)
    before = snapshot(c, COMPLAINT_FIELDS)
    old_status = c.status
    values = _clean(customer, data, c)
    for key, value in values.items():
        setattr(c, key, value)
    _stamp_resolution(c, old_status)
    changes = diff(before, snapshot(c, COMPLAINT_FIELDS))
    if not changes:
        return c
    c.version += 1
    c.save()
    record_change(actor=actor, action=ChangeAction.UPDATE, instance=c, changes=changes)
    _sync_event(c)
    emit("complaint.changed", customer_id=c.customer_id, complaint_id=c.pk, actor_id=actor.pk)
    return c


def complaint_set_status(
    *,
    actor: User,
    complaint_id: int,
    status: str,
    resolution: str | None = None,
    expected_version: int | None = None,
) -> Complaint:
    """The status buttons: move to ``status`` (with the resolution when resolving)."""
    data: dict[str, Any] = {"status": status}
    if resolution is not None:
        data["resolution"] = resolution
    return complaint_update(actor=actor, complaint_id=complaint_id, data=data, expected_version=expected_version)


@transaction.atomic
def complaint_delete(*, actor: User, complaint_id: int, expected_version: int | None = None) -> None:
    require(actor, "delete")
    c = _for_write(actor, complaint_id)
    _check_version(c, expected_version)
    record_change(actor=actor, action=ChangeAction.DELETE, instance=c, changes=deleted(snapshot(c, COMPLAINT_FIELDS)))
    subject = subject_key(c)
    timeline_remove_subject(subject)
    files.remove_for_subject(subject)
    customer_id, pk = c.customer_id, c.pk
    c.delete()
    emit("complaint.changed", customer_id=customer_id, complaint_id=pk, actor_id=actor.pk)
