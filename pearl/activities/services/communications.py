"""Calls, visits, WeChat summaries, emails, meetings and notes: validated, change-logged, on the timeline.

Each communication is one ``TimelineEvent`` of its kind, kept in step on every edit and removed
with it. Its change log is its own (root = the communication); the customer's timeline shows it
through the event. A follow-up is pending until a later communication with the same customer is
logged (see ``pearl.activities.selectors.records``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from pearl.accounts.models import User
from pearl.activities.choices import CommunicationKind, Outcome
from pearl.activities.models import Attachment, Communication
from pearl.activities.services import attachments as files
from pearl.activities.services.timeline import (
    NewEvent,
    subject_key,
    timeline_record,
    timeline_remove_subject,
    timeline_update_subject,
)
from pearl.core.changes import created, deleted, diff, record_change, snapshot
from pearl.core.errors import NotFound, PermissionDenied, PreconditionFailed, ValidationFailed
from pearl.core.events import emit
from pearl.core.ids import record_id
from pearl.core.models import ChangeAction
from pearl.core.permissions import require, scope_q
from pearl.core.text import clean_spaces, strip_control
from pearl.customers.models import Contact, Customer

COMMUNICATION_FIELDS = [
    "kind", "occurred_at", "contact", "author", "purpose", "place", "outcome", "summary",
    "duration_minutes", "next_follow_up_at",
]  # fmt: skip
SUBJECT_TYPE = "activities.communication"
TEXT_LIMITS = {"purpose": 100, "place": 200}
SUMMARY_LIMIT = 4000
TITLE_CHARS = 60
PAYLOAD_SUMMARY_CHARS = 300
FOLLOW_UP_HOUR = 9  # a follow-up given as a bare date is due that morning
CLOCK_SKEW = dt.timedelta(minutes=10)
MAX_PHOTOS = 9


# --- the timeline entry (pure: the demo loader builds the same rows) -----------------------------------


def _shorten(text: str, limit: int) -> str:
    text = clean_spaces(text or "")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def communication_event(c: Communication, *, photos: int = 0) -> NewEvent:
    """The timeline entry of a communication: title = purpose, else the summary's start, else the kind."""
    contact = c.contact if c.contact_id else None
    title = c.purpose or _shorten(c.summary, TITLE_CHARS) or str(CommunicationKind(c.kind).label)
    return NewEvent(
        customer_id=c.customer_id,
        kind=c.kind,
        occurred_at=c.occurred_at,
        title=title,
        actor=c.author if c.author_id else None,
        subject=(SUBJECT_TYPE, int(c.pk)) if c.pk else None,
        payload={
            "outcome": c.outcome,
            "summary": _shorten(c.summary, PAYLOAD_SUMMARY_CHARS),
            "place": c.place,
            "contact": contact.name if contact is not None else "",
            "next_follow_up_at": c.next_follow_up_at.isoformat() if c.next_follow_up_at else None,
            "photos": photos,
        },
    )


def _photo_count(communication_id: int) -> int:
    return Attachment.objects.filter(subject_type=SUBJECT_TYPE, subject_id=communication_id, is_image=True).count()


def _sync_event(c: Communication) -> None:
    event = communication_event(c, photos=_photo_count(c.pk)).row()
    timeline_update_subject(
        subject_key(c),
        kind=event.kind,
        occurred_at=event.occurred_at,
        title=event.title,
        payload=event.payload,
        actor=event.actor,
        actor_label=event.actor_label,
    )


def _photos_changed(actor: Any, communication_id: int) -> None:
    """A photo was added or removed: the visit's timeline entry counts it, listeners hear of it."""
    c = Communication.objects.select_related("contact", "author").filter(pk=communication_id).first()
    if c is None:
        return
    _sync_event(c)
    emit("communication.changed", customer_id=c.customer_id, communication_id=c.pk, actor_id=actor.pk)


files.on_attachments_changed(SUBJECT_TYPE, _photos_changed)


# --- validation ------------------------------------------------------------------------------------------


def as_datetime(value: Any, *, morning: bool = False) -> dt.datetime | None:
    """An aware datetime from a datetime, an ISO string or (``morning``: at 09:00) a date; else ValueError."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        text = value.strip()
        parsed = None if len(text) <= 10 else parse_datetime(text)  # a bare date is not midnight
        if parsed is None:
            try:
                value = dt.date.fromisoformat(text)
            except ValueError:
                raise ValueError(text) from None
        else:
            value = parsed
    if isinstance(value, dt.datetime):
        return value if timezone.is_aware(value) else timezone.make_aware(value)
    if isinstance(value, dt.date):
        when = dt.datetime.combine(value, dt.time(FOLLOW_UP_HOUR if morning else 0))
        return timezone.make_aware(when)
    raise ValueError(value)


def _clean(actor: User, customer: Customer, data: dict[str, Any], instance: Communication | None) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    out: dict[str, Any] = {}
    for key in sorted(set(data) - set(COMMUNICATION_FIELDS) - {"customer"}):
        errors[key] = [_("Unknown field %(field)s.") % {"field": key}]

    if "kind" in data or instance is None:
        kind = data.get("kind")
        if kind not in CommunicationKind.values:
            errors["kind"] = [
                _("Choose what kind of contact it was: %(kinds)s.")
                % {"kinds": "、".join(str(label) for label in CommunicationKind.labels)}
            ]
        out["kind"] = kind

    now = timezone.now()
    if "occurred_at" in data or instance is None:
        try:
            when = as_datetime(data.get("occurred_at")) or (now if instance is None else None)
        except (TypeError, ValueError):
            when, errors["occurred_at"] = None, [_("Enter a valid date and time.")]
        if "occurred_at" not in errors:
            if when is None:
                errors["occurred_at"] = [_("Say when it happened.")]
            elif when > now + CLOCK_SKEW:
                errors["occurred_at"] = [
                    _("A communication is logged once it has happened; put plans in “next follow-up”.")
                ]
            elif when.year < 2000:
                errors["occurred_at"] = [_("Enter a date from the year 2000 on.")]
        out["occurred_at"] = when

    if "contact" in data:
        try:
            contact_id = record_id(data["contact"])
        except (TypeError, ValueError):
            contact_id, errors["contact"] = None, [_("Choose one of the customer's contacts.")]
        contact = None
        if contact_id is not None:
            contact = Contact.objects.filter(pk=contact_id).first()
            if contact is None or contact.customer_id != customer.pk:
                errors["contact"] = [_("This contact is not one of this customer's contacts.")]
        out["contact"] = contact

    if "author" in data or instance is None:
        try:
            author_id = record_id(data.get("author")) if "author" in data else actor.pk
        except (TypeError, ValueError):
            author_id, errors["author"] = None, [_("Choose an active user.")]
        author = User.objects.filter(pk=author_id, is_active=True).first() if author_id else None
        if author_id and author is None:
            errors["author"] = [_("Choose an active user.")]
        elif author is None and "author" not in errors:
            author = actor  # "who" defaults to whoever logs it
        elif author is not None and author.pk != actor.pk and actor.data_scope == "own":
            errors["author"] = [_("Your role may only log communications as yourself.")]
        out["author"] = author

    for key, limit in TEXT_LIMITS.items():
        if key in data:
            value = data[key]
            if value is not None and not isinstance(value, str):
                errors[key] = [_("Enter text.")]
                continue
            text = clean_spaces(strip_control(value or ""))
            if len(text) > limit:
                errors[key] = [_("At most %(n)d characters.") % {"n": limit}]
            out[key] = text
    if "summary" in data:
        value = data["summary"]
        if value is not None and not isinstance(value, str):
            errors["summary"] = [_("Enter text.")]
        else:
            text = strip_control(value or "").strip()
            if len(text) > SUMMARY_LIMIT:
                errors["summary"] = [_("At most %(n)d characters.") % {"n": SUMMARY_LIMIT}]
            out["summary"] = text
    if "outcome" in data:
        outcome = data["outcome"] or ""
        if outcome not in ("", *Outcome.values):
            errors["outcome"] = [_("Choose one of the listed outcomes.")]
        out["outcome"] = outcome
    if "duration_minutes" in data:
        raw = data["duration_minutes"]
        try:
            minutes = None if raw in (None, "") else int(raw)
            if isinstance(raw, bool) or (minutes is not None and not 0 <= minutes <= 24 * 60):
                raise ValueError(raw)
        except (TypeError, ValueError):
            minutes, errors["duration_minutes"] = None, [_("Enter whole minutes from 0 to 1440.")]
        out["duration_minutes"] = minutes
    if "next_follow_up_at" in data:
        try:
            out["next_follow_up_at"] = as_datetime(data["next_follow_up_at"], morning=True)
        except (TypeError, ValueError):
            errors["next_follow_up_at"] = [_("Enter a valid date (and time) for the next follow-up.")]

    # Rules across fields, on the values the record will hold.
    if not errors:
        rule_fields = ("kind", "occurred_at", "next_follow_up_at", "summary", "outcome", "purpose")
        merged = {k: getattr(instance, k) for k in rule_fields} if instance else {}
        merged.update(out)
        follow_up, when = merged.get("next_follow_up_at"), merged.get("occurred_at")
        if follow_up is not None and when is not None and follow_up < when:
            errors["next_follow_up_at"] = [
                _("The next follow-up (%(follow_up)s) cannot be before the communication itself (%(when)s).")
                % {
                    "follow_up": timezone.localtime(follow_up).strftime("%Y-%m-%d %H:%M"),
                    "when": timezone.localtime(when).strftime("%Y-%m-%d %H:%M"),
                }
            ]
        if merged.get("kind") == CommunicationKind.NOTE and not merged.get("summary"):
            errors["summary"] = [_("A note needs its text.")]
        elif not (merged.get("summary") or merged.get("outcome") or merged.get("purpose")):
            errors["summary"] = [_("Say what came of it: pick an outcome or write a short summary.")]
    if errors:
        raise ValidationFailed(next(iter(errors.values()))[0], field_errors=errors)
    return out


# --- writes ----------------------------------------------------------------------------------------------


def _customer_for_write(actor: User, customer_id: int) -> Customer:
    customer = Customer.objects.filter(scope_q(actor)).filter(pk=customer_id).first()
    if customer is None:
        raise NotFound(_("Customer not found."))
    return customer


def _check_photos(photos: list[Any] | None) -> list[files.CheckedFile]:
    photos = [p for p in (photos or []) if p is not None]
    if len(photos) > MAX_PHOTOS:
        message = _("At most %(n)d photos at a time.") % {"n": MAX_PHOTOS}
        raise ValidationFailed(message, field_errors={"photos": [message]})
    checked = []
    for photo in photos:
        checked.append(files.check_file(photo, image_only=True, field="photos"))
    return checked


def communication_create(
    *, actor: User, customer_id: int, data: dict[str, Any], photos: list[Any] | None = None
) -> Communication:
    """Log a communication (with optional photos, checked before anything is written)."""
    with files.files_guarded(), transaction.atomic():
        require(actor, "edit")
        customer = _customer_for_write(actor, customer_id)
        values = _clean(actor, customer, data, None)
        checked = _check_photos(photos)
        c = Communication(customer=customer, **values)
        c.save()
        for photo in checked:
            files.store(photo, actor=actor, customer_id=customer.pk, subject=subject_key(c))
        record_change(
            actor=actor,
            action=ChangeAction.CREATE,
            instance=c,
            changes=created(snapshot(c, COMMUNICATION_FIELDS)),
        )
        timeline_record(communication_event(c, photos=len(checked)))
        emit("communication.changed", customer_id=customer.pk, communication_id=c.pk, actor_id=actor.pk)
        return c


def _for_write(actor: User, communication_id: int) -> Communication:
    c = (
        Communication.objects.select_for_update()
        .filter(pk=communication_id, customer__in=Customer.objects.filter(scope_q(actor)).values("pk"))
        .first()
    )
    if c is None:
        raise NotFound(_("Communication not found."))
    return c


def _check_version(c: Communication, expected_version: int | None) -> None:
    if expected_version is not None and int(expected_version) != c.version:
        raise PreconditionFailed(
            _("Someone else changed this communication meanwhile. Reload and apply your change again."),
            extra={"version": c.version},
        )


def communication_update(
    *,
    actor: User,
    communication_id: int,
    data: dict[str, Any],
    expected_version: int | None = None,
    photos: list[Any] | None = None,
) -> Communication:
    """Change the given fields (and add photos); the timeline entry follows."""
    with files.files_guarded(), transaction.atomic():
        require(actor, "edit")
        c = _for_write(actor, communication_id)
        _check_version(c, expected_version)
        customer = Customer.objects.get(pk=c.customer_id)
        before = snapshot(c, COMMUNICATION_FIELDS)
        values = _clean(actor, customer, data, c)
        checked = _check_photos(photos)
        for key, value in values.items():
            setattr(c, key, value)
        changes = diff(before, snapshot(c, COMMUNICATION_FIELDS))
        for photo in checked:
            files.store(photo, actor=actor, customer_id=customer.pk, subject=subject_key(c))
        if not changes and not checked:
            return c
        if changes:
            c.version += 1
            c.save()
            record_change(actor=actor, action=ChangeAction.UPDATE, instance=c, changes=changes)
        _sync_event(c)
        emit("communication.changed", customer_id=c.customer_id, communication_id=c.pk, actor_id=actor.pk)
        return c


@transaction.atomic
def communication_delete(*, actor: User, communication_id: int, expected_version: int | None = None) -> None:
    """Its author (with the edit right) or anyone with the delete right removes a communication."""
    c = _for_write(actor, communication_id)
    if not (c.author_id == actor.pk and actor.may("edit")):
        try:
            require(actor, "delete")
        except PermissionDenied as exc:
            message = _("Only its author, or someone who may delete records, can delete a communication.")
            raise PermissionDenied(message) from exc
    _check_version(c, expected_version)
    record_change(
        actor=actor,
        action=ChangeAction.DELETE,
        instance=c,
        changes=deleted(snapshot(c, COMMUNICATION_FIELDS)),
    )
    subject = subject_key(c)
    timeline_remove_subject(subject)
    files.remove_for_subject(subject)
    customer_id, pk = c.customer_id, c.pk
    c.delete()
    emit("communication.changed", customer_id=customer_id, communication_id=pk, actor_id=actor.pk)
