"""Reads of communications, complaints and attachments: only what the actor may see (the customer's scope).

Follow-ups: a communication's ``next_follow_up_at`` is pending until a later communication with
the same customer is logged — the follow-up call itself settles it. So a customer has at most one
pending follow-up: the one set by its latest communication.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import IO, Any

from django.core.files.storage import default_storage
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from pearl.accounts.models import User
from pearl.activities.choices import ComplaintStatus
from pearl.activities.filters import CommunicationFilterForm, ComplaintFilterForm, filter_errors
from pearl.activities.models import Attachment, Communication, Complaint
from pearl.core.errors import NotFound, ValidationFailed
from pearl.core.permissions import scope_q
from pearl.customers.models import Customer

COMMUNICATION = "activities.communication"
COMPLAINT = "activities.complaint"
OPEN_STATUSES = (ComplaintStatus.OPEN, ComplaintStatus.IN_PROGRESS)


def _visible_customers(actor: User) -> QuerySet[Customer]:
    return Customer.objects.filter(scope_q(actor))


def _in_scope(actor: User) -> Q:
    # A sub-select of visible customer ids, not a join: the scope condition stays one indexed probe.
    return Q(customer__in=_visible_customers(actor).values("pk"))


def _require_customer(actor: User, customer_id: int) -> None:
    if not _visible_customers(actor).filter(pk=customer_id).exists():
        raise NotFound(_("Customer not found."))


def _checked_customer_id(actor: User, customer_id: int | None, customer: Customer | None) -> int:
    """The id of the customer a read is about. A ``customer`` object was read with ``customer_get`` by
    the caller (already scope-checked, so no second query); a bare ``customer_id`` is checked here."""
    if customer is not None and customer_id is None:
        return customer.pk
    if customer is None and customer_id is not None:
        _require_customer(actor, customer_id)
        return customer_id
    raise TypeError("Give either customer (already scope-checked) or customer_id, not both.")


def _filtered(form: Any) -> None:
    if not form.is_valid():
        errors = filter_errors(form)
        raise ValidationFailed(next(iter(errors.values()))[0], field_errors=errors)


# --- communications ------------------------------------------------------------------------------------


def communication_list(*, actor: User, filters: dict[str, Any] | None = None) -> QuerySet[Communication]:
    """Communications with customers the actor may see, newest first; bad filters raise ValidationFailed."""
    form = CommunicationFilterForm(filters or {})
    _filtered(form)
    qs = Communication.objects.filter(_in_scope(actor)).filter(form.filter_q(actor))
    return qs.select_related("customer", "author", "contact").order_by("-occurred_at", "-id")


def communication_get(*, actor: User, communication_id: int) -> Communication:
    c = (
        Communication.objects.filter(_in_scope(actor))
        .select_related("customer", "author", "contact")
        .filter(pk=communication_id)
        .first()
    )
    if c is None:
        raise NotFound(_("Communication not found."))
    return c


def _settled_by_later() -> Exists:
    later = Communication.objects.filter(customer_id=OuterRef("customer_id")).filter(
        Q(occurred_at__gt=OuterRef("occurred_at")) | Q(occurred_at=OuterRef("occurred_at"), pk__gt=OuterRef("pk"))
    )
    return Exists(later)


@dataclass
class FollowUps:
    overdue: list[Communication] = field(default_factory=list)
    today: list[Communication] = field(default_factory=list)
    upcoming: list[Communication] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.overdue) + len(self.today) + len(self.upcoming)


def follow_up_list(*, actor: User, everyone: bool = False, limit: int = 300) -> QuerySet[Communication]:
    """Pending follow-ups, soonest first: of the actor's customers and their own communications
    (``everyone``: of every customer the actor may see)."""
    qs = Communication.objects.filter(_in_scope(actor), next_follow_up_at__isnull=False)
    if not everyone:
        qs = qs.filter(Q(customer__owner=actor) | Q(author=actor))
    qs = qs.exclude(_settled_by_later())
    return qs.select_related("customer", "contact", "author").order_by("next_follow_up_at", "id")[:limit]


def follow_ups(*, actor: User, everyone: bool = False) -> FollowUps:
    """Pending follow-ups split into overdue (before today), today and upcoming."""
    today = timezone.localdate()
    start = timezone.make_aware(dt.datetime.combine(today, dt.time.min))
    end = start + dt.timedelta(days=1)
    out = FollowUps()
    for c in follow_up_list(actor=actor, everyone=everyone):
        due = c.next_follow_up_at
        assert due is not None
        if due < start:
            out.overdue.append(c)
        elif due < end:
            out.today.append(c)
        else:
            out.upcoming.append(c)
    return out


def follow_ups_due(*, start: dt.datetime, end: dt.datetime) -> list[tuple[int, int, int | None, dt.datetime, str]]:
    """For sweeps (no actor, every customer): the pending follow-ups due in ``[start, end]``, soonest first,
    as (communication id, customer id, the customer's owner id, due time, customer name)."""
    qs = (
        Communication.objects.filter(next_follow_up_at__gte=start, next_follow_up_at__lte=end)
        .exclude(_settled_by_later())
        .order_by("next_follow_up_at", "pk")
        .values_list("pk", "customer_id", "customer__owner_id", "next_follow_up_at", "customer__name")
    )
    return [(pk, customer_id, owner_id, due, name) for pk, customer_id, owner_id, due, name in qs if due is not None]


# --- complaints ----------------------------------------------------------------------------------------


def complaint_list(*, actor: User, filters: dict[str, Any] | None = None) -> QuerySet[Complaint]:
    form = ComplaintFilterForm(filters or {})
    _filtered(form)
    qs = Complaint.objects.filter(_in_scope(actor)).filter(form.filter_q(actor))
    return qs.select_related("customer", "handler", "contact", "order").order_by("-received_at", "-id")


def complaint_get(*, actor: User, complaint_id: int) -> Complaint:
    c = (
        Complaint.objects.filter(_in_scope(actor))
        .select_related("customer", "handler", "contact", "order")
        .filter(pk=complaint_id)
        .first()
    )
    if c is None:
        raise NotFound(_("Complaint not found."))
    return c


# --- the customer page's open items --------------------------------------------------------------------


@dataclass
class ActivityOverview:
    customer_id: int
    last_contact: Communication | None
    next_follow_up: Communication | None  # the pending follow-up, if any
    open_complaints: int
    latest_open_complaints: list[Complaint]

    @property
    def follow_up_overdue(self) -> bool:
        due = self.next_follow_up.next_follow_up_at if self.next_follow_up else None
        return due is not None and due < timezone.now()


def customer_activity_overview(
    *, actor: User, customer_id: int | None = None, customer: Customer | None = None
) -> ActivityOverview:
    """Last contact (time, kind, by), the pending follow-up, open complaints (count + 3 latest).

    Pass ``customer`` when it was read with ``customer_get`` (the 360° page), else ``customer_id``.
    """
    pk = _checked_customer_id(actor, customer_id, customer)
    last = (
        Communication.objects.filter(customer_id=pk)
        .select_related("author", "contact")
        .order_by("-occurred_at", "-id")
        .first()
    )
    open_qs = Complaint.objects.filter(customer_id=pk, status__in=OPEN_STATUSES)
    latest = list(open_qs.select_related("handler").order_by("-received_at", "-id")[:3])
    count = len(latest) if len(latest) < 3 else open_qs.count()
    return ActivityOverview(
        customer_id=pk,
        last_contact=last,
        next_follow_up=last if last is not None and last.next_follow_up_at else None,
        open_complaints=count,
        latest_open_complaints=latest,
    )


# --- attachments ---------------------------------------------------------------------------------------


def attachment_list(
    *, actor: User, customer_id: int | None = None, subject: tuple[str, int] | None = None
) -> QuerySet[Attachment]:
    qs = Attachment.objects.filter(_in_scope(actor))
    if customer_id is not None:
        qs = qs.filter(customer_id=customer_id)
    if subject is not None:
        qs = qs.filter(subject_type=subject[0], subject_id=subject[1])
    return qs.select_related("uploaded_by").order_by("id")


def attachments_by_subject(*, actor: User, subject_type: str, ids: list[int]) -> dict[int, list[Attachment]]:
    """The files of many records in one query (list pages)."""
    out: dict[int, list[Attachment]] = defaultdict(list)
    if ids:
        for a in Attachment.objects.filter(_in_scope(actor), subject_type=subject_type, subject_id__in=ids):
            out[a.subject_id].append(a)
    return out


def with_attachments(*, actor: User, records: Sequence[Communication | Complaint]) -> None:
    """Give each record its files as ``prefetched_attachments`` (oldest first), in one query for all:
    the API's lists show a page of records with their files without a query per record."""
    by_type: defaultdict[str, list[int]] = defaultdict(list)
    for record in records:
        by_type[record._meta.label_lower].append(record.pk)
    found = {
        subject_type: attachments_by_subject(actor=actor, subject_type=subject_type, ids=ids)
        for subject_type, ids in by_type.items()
    }
    for record in records:
        files = found[record._meta.label_lower].get(record.pk, [])
        record.prefetched_attachments = sorted(files, key=lambda a: a.pk)  # type: ignore[union-attr]


def attachment_get(*, actor: User, attachment_id: int) -> Attachment:
    attachment = Attachment.objects.filter(_in_scope(actor)).filter(pk=attachment_id).first()
    if attachment is None:
        raise NotFound(_("Attachment not found."))
    return attachment


def attachment_open(*, actor: User, attachment_id: int, thumbnail: bool = False) -> tuple[Attachment, IO[bytes]]:
    """The attachment and its content (or its thumbnail, when it has one), for a view that streams it.

    The scope is checked here; the caller serves a thumbnail as ``image/jpeg``.
    """
    attachment = attachment_get(actor=actor, attachment_id=attachment_id)
    name = (attachment.thumbnail.name if thumbnail else "") or attachment.file.name or ""
    try:
        handle = default_storage.open(name, "rb")
    except (FileNotFoundError, OSError) as exc:
        raise NotFound(_("The file of this attachment is missing from storage.")) from exc
    return attachment, handle
