"""Services of communications, complaints and attachments: validation, scope, timeline, events, files."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from pearl.activities import selectors, services
from pearl.activities.models import Attachment, Communication, Complaint, TimelineEvent
from pearl.activities.tests.conftest import not_a_photo, photo, stored_files
from pearl.core import events
from pearl.core.errors import NotFound, PermissionDenied, PreconditionFailed, ValidationFailed
from pearl.core.models import ChangeLog
from pearl.core.testing.personas import Org
from pearl.customers.models import Customer
from pearl.customers.tests.factories import make_customer, mobile


@pytest.fixture
def heard(django_capture_on_commit_callbacks: Any) -> Any:
    """Domain events dispatched after commit, as (name, payload)."""
    got: list[tuple[str, dict[str, Any]]] = []

    def handler(name: str, payload: dict[str, Any]) -> None:
        got.append((name, payload))

    events.subscribe("*", handler)
    yield got
    events.unsubscribe("*", handler)


def log(actor: Any, customer: Customer, **data: Any) -> Communication:
    data.setdefault("kind", "call")
    data.setdefault("summary", "问了下周的虾价")
    return services.communication_create(actor=actor, customer_id=customer.pk, data=data)


def event_of(obj: Any) -> TimelineEvent:
    return TimelineEvent.objects.get(subject_type=obj._meta.label_lower, subject_id=obj.pk)


# --- communications -----------------------------------------------------------------------------------


def test_create_defaults_and_timeline_row(
    org: Org, customer: Customer, django_capture_on_commit_callbacks: Any
) -> None:
    contact = customer.contacts.get()
    with django_capture_on_commit_callbacks(execute=True):
        c = log(org.owner, customer, kind="visit", purpose="送样品", place="黄沙水产市场", contact=contact.pk,
                outcome="interested", next_follow_up_at=timezone.now() + dt.timedelta(days=3))  # fmt: skip
    assert c.author == org.owner
    assert abs((timezone.now() - c.occurred_at).total_seconds()) < 60
    event = event_of(c)
    assert event.kind == "visit" and event.title == "送样品" and event.customer_id == customer.pk
    assert event.actor == org.owner
    assert event.payload["place"] == "黄沙水产市场" and event.payload["contact"] == "张伟"
    assert event.payload["outcome"] == "interested" and event.payload["photos"] == 0
    assert event.payload["next_follow_up_at"] is not None
    log_row = ChangeLog.objects.get(object_type="activities.communication", object_id=c.pk)
    assert log_row.root_type == "activities.communication" and log_row.action == "create"


def test_title_falls_back_to_summary_then_kind(org: Org, customer: Customer) -> None:
    long = "客户说最近生意不好，" * 40
    c = log(org.owner, customer, summary=long)
    assert event_of(c).title.startswith("客户说最近生意不好") and len(event_of(c).title) == 60
    assert len(event_of(c).payload["summary"]) == 300
    with_outcome = log(org.owner, customer, summary="", outcome="no_answer")
    assert event_of(with_outcome).title == "Call"


def test_update_keeps_timeline_in_step_and_delete_removes_it(org: Org, customer: Customer) -> None:
    c = log(org.owner, customer)
    updated = services.communication_update(
        actor=org.owner, communication_id=c.pk, data={"kind": "wechat", "purpose": "报价"}, expected_version=1
    )
    assert updated.version == 2
    event = event_of(c)
    assert event.kind == "wechat" and event.title == "报价"
    with pytest.raises(PreconditionFailed):
        services.communication_update(actor=org.owner, communication_id=c.pk, data={"purpose": "x"}, expected_version=1)
    services.communication_delete(actor=org.owner, communication_id=c.pk)
    assert not TimelineEvent.objects.filter(subject_id=c.pk, subject_type="activities.communication").exists()
    assert not Communication.objects.filter(pk=c.pk).exists()
    assert ChangeLog.objects.filter(object_id=c.pk, object_type="activities.communication", action="delete").exists()


def test_events_after_every_write(
    org: Org, customer: Customer, heard: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        c = log(org.owner, customer)
        services.communication_update(actor=org.owner, communication_id=c.pk, data={"outcome": "ordered"})
        services.communication_delete(actor=org.owner, communication_id=c.pk)
    names = [(n, p) for n, p in heard if n == "communication.changed"]
    assert len(names) == 3
    assert names[0][1] == {"customer_id": customer.pk, "communication_id": c.pk, "actor_id": org.owner.pk}


@pytest.mark.parametrize(
    ("data", "field", "fragment"),
    [
        ({"kind": "fax"}, "kind", "Choose what kind"),
        ({"occurred_at": "tomorrow"}, "occurred_at", "valid date"),
        ({"occurred_at": timezone.now() + dt.timedelta(days=2)}, "occurred_at", "once it has happened"),
        ({"outcome": "great"}, "outcome", "listed outcomes"),
        ({"purpose": "x" * 101}, "purpose", "At most 100"),
        ({"duration_minutes": -5}, "duration_minutes", "whole minutes"),
        ({"summary": "", "outcome": ""}, "summary", "pick an outcome or write"),
        ({"kind": "note", "summary": "", "outcome": "reached"}, "summary", "note needs its text"),
        ({"bogus": 1}, "bogus", "Unknown field"),
    ],
)
def test_bad_input_is_refused_with_a_message(
    org: Org, customer: Customer, data: dict[str, Any], field: str, fragment: str
) -> None:
    with pytest.raises(ValidationFailed) as info:
        log(org.owner, customer, **data)
    assert fragment in str(info.value.field_errors[field][0])
    assert not Communication.objects.exists() and not TimelineEvent.objects.exists()


def test_follow_up_cannot_be_before_the_communication(org: Org, customer: Customer) -> None:
    when = timezone.now() - dt.timedelta(days=1)
    with pytest.raises(ValidationFailed) as info:
        log(org.owner, customer, occurred_at=when, next_follow_up_at=when - dt.timedelta(hours=2))
    assert "cannot be before the communication itself" in str(info.value.field_errors["next_follow_up_at"][0])
    c = log(org.owner, customer, occurred_at=when, next_follow_up_at=(when + dt.timedelta(days=2)).date().isoformat())
    assert timezone.localtime(c.next_follow_up_at).hour == 9  # a bare date is due that morning


def test_contact_of_another_customer_is_refused(org: Org, customer: Customer) -> None:
    other = make_customer(org.owner, contacts=[{"name": "李娜", "mobile": mobile(502)}])
    with pytest.raises(ValidationFailed) as info:
        log(org.owner, customer, contact=other.contacts.get().pk)
    assert "not one of this customer's contacts" in str(info.value.field_errors["contact"][0])


def test_scope_and_permissions(org: Org, customer: Customer) -> None:
    with pytest.raises(NotFound):
        log(org.outsider, customer)
    with pytest.raises(PermissionDenied):
        log(org.finance, customer)  # export only
    c = log(org.owner, customer)
    with pytest.raises(NotFound):
        services.communication_update(actor=org.outsider, communication_id=c.pk, data={"purpose": "x"})
    with pytest.raises(NotFound):
        services.communication_delete(actor=org.outsider, communication_id=c.pk)
    # A salesperson logs only as themselves; the service desk (edit, no delete) may not delete others' logs.
    with pytest.raises(ValidationFailed):
        log(org.owner, customer, author=org.teammate.pk)
    with pytest.raises(PermissionDenied):
        services.communication_delete(actor=org.service, communication_id=c.pk)
    services.communication_delete(actor=org.owner, communication_id=c.pk)  # the author may


def test_manager_may_log_for_a_salesperson(org: Org, customer: Customer) -> None:
    c = log(org.manager, customer, author=org.owner.pk)
    assert c.author == org.owner and event_of(c).actor == org.owner


# --- photos and attachments ---------------------------------------------------------------------------


def test_visit_with_photos(org: Org, customer: Customer, media: Path) -> None:
    c = services.communication_create(
        actor=org.owner, customer_id=customer.pk, data={"kind": "visit", "summary": "看了冷库"},
        photos=[photo(), photo("b.png", "PNG")],
    )  # fmt: skip
    files = Attachment.objects.filter(subject_type="activities.communication", subject_id=c.pk)
    assert [f.is_image for f in files] == [True, True]
    assert {f.content_type for f in files} == {"image/jpeg", "image/png"}
    assert files[0].name == "门头.jpg"
    assert len(stored_files(media)) == 4  # two photos and their thumbnails
    assert all((f.thumbnail.name or "").startswith("attachments/thumbs/") for f in files)
    assert event_of(c).payload["photos"] == 2


def test_thumbnail_is_small_and_upright(org: Org, customer: Customer) -> None:
    buffer = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to view", as phones write it
    Image.new("RGB", (1200, 600), (10, 120, 200)).save(buffer, "JPEG", exif=exif)
    upload = SimpleUploadedFile("侧拍.jpg", buffer.getvalue())
    c = log(org.owner, customer, kind="visit")
    a = services.attachment_add(
        actor=org.owner, customer_id=customer.pk, subject=("activities.communication", c.pk), file=upload,
        image_only=True,
    )  # fmt: skip
    with a.thumbnail.open("rb") as handle, Image.open(handle) as thumb:
        assert thumb.format == "JPEG" and thumb.size == (160, 320)


def test_other_files_get_no_thumbnail(org: Org, customer: Customer) -> None:
    c = log(org.owner, customer)
    a = services.attachment_add(
        actor=org.owner, customer_id=customer.pk, subject=("activities.communication", c.pk),
        file=SimpleUploadedFile("报价单.pdf", b"%PDF-1.4 ..."),
    )  # fmt: skip
    assert not a.is_image and not a.thumbnail and a.content_type == "application/pdf"


def test_non_image_photo_is_refused_and_nothing_is_written(org: Org, customer: Customer, media: Path) -> None:
    with pytest.raises(ValidationFailed) as info:
        services.communication_create(
            actor=org.owner, customer_id=customer.pk, data={"kind": "visit", "summary": "看了冷库"},
            photos=[photo(), not_a_photo()],
        )  # fmt: skip
    assert "is not a photo" in str(info.value.message) and "visit.jpg" in str(info.value.message)
    assert not Communication.objects.exists() and not Attachment.objects.exists()
    assert not TimelineEvent.objects.exists()
    assert stored_files(media) == []


def test_a_truncated_image_is_not_an_image(org: Org, customer: Customer, media: Path) -> None:
    c = log(org.owner, customer, kind="visit")
    broken = SimpleUploadedFile("half.jpg", photo().read()[:60])
    with pytest.raises(ValidationFailed):
        services.attachment_add(
            actor=org.owner, customer_id=customer.pk, subject=("activities.communication", c.pk), file=broken,
            image_only=True,
        )  # fmt: skip
    assert stored_files(media) == []


def test_size_limit(org: Org, customer: Customer, media: Path, settings: Any) -> None:
    settings.PEARL_ATTACHMENT_MAX_BYTES = 1024
    c = log(org.owner, customer)
    big = SimpleUploadedFile("报价单.pdf", b"x" * 2048)
    with pytest.raises(ValidationFailed) as info:
        services.attachment_add(
            actor=org.owner, customer_id=customer.pk, subject=("activities.communication", c.pk), file=big
        )
    assert "at most" in str(info.value.message) and "报价单.pdf" in str(info.value.message)
    assert stored_files(media) == [] and not Attachment.objects.exists()


def test_attachment_add_on_a_record_of_another_customer_or_out_of_scope(org: Org, customer: Customer) -> None:
    c = log(org.owner, customer)
    other = make_customer(org.owner)
    with pytest.raises(NotFound):
        services.attachment_add(
            actor=org.owner, customer_id=other.pk, subject=("activities.communication", c.pk), file=photo()
        )
    with pytest.raises(NotFound):
        services.attachment_add(
            actor=org.outsider, customer_id=customer.pk, subject=("activities.communication", c.pk), file=photo()
        )
    with pytest.raises(ValidationFailed):
        services.attachment_add(actor=org.owner, customer_id=customer.pk, subject=("auth.group", 1), file=photo())


def test_attachment_add_updates_photo_count_and_delete_removes_file(
    org: Org, customer: Customer, media: Path, django_capture_on_commit_callbacks: Any
) -> None:
    c = log(org.owner, customer, kind="visit")
    with django_capture_on_commit_callbacks(execute=True):
        a = services.attachment_add(
            actor=org.owner, customer_id=customer.pk, subject=("activities.communication", c.pk), file=photo()
        )
    assert event_of(c).payload["photos"] == 1
    assert ChangeLog.objects.filter(object_type="activities.attachment", root_id=c.pk).exists()
    with django_capture_on_commit_callbacks(execute=True):
        services.attachment_delete(actor=org.owner, attachment_id=a.pk)
    assert event_of(c).payload["photos"] == 0
    assert stored_files(media) == []


def test_deleting_a_communication_deletes_its_photos(
    org: Org, customer: Customer, media: Path, django_capture_on_commit_callbacks: Any
) -> None:
    c = services.communication_create(
        actor=org.owner, customer_id=customer.pk, data={"kind": "visit", "summary": "x"}, photos=[photo()]
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.communication_delete(actor=org.owner, communication_id=c.pk)
    assert not Attachment.objects.exists() and stored_files(media) == []


# --- complaints ---------------------------------------------------------------------------------------


def complain(actor: Any, customer: Customer, **data: Any) -> Complaint:
    data.setdefault("category", "quality")
    data.setdefault("title", "虾不新鲜")
    return services.complaint_create(actor=actor, customer_id=customer.pk, data=data)


def test_complaint_lifecycle_and_timeline(
    org: Org, customer: Customer, heard: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        c = complain(org.service, customer, description="到货时有异味")
        assert c.status == "open" and c.resolved_at is None
        assert event_of(c).kind == "complaint" and event_of(c).payload == {
            "status": "open", "category": "quality", "kind": "complaint"}  # fmt: skip
        services.complaint_set_status(actor=org.service, complaint_id=c.pk, status="in_progress")
        with pytest.raises(ValidationFailed) as info:
            services.complaint_set_status(actor=org.service, complaint_id=c.pk, status="resolved")
        assert "how it was resolved" in str(info.value.field_errors["resolution"][0])
        c = services.complaint_set_status(actor=org.service, complaint_id=c.pk, status="resolved", resolution="补发")
    assert c.resolved_at is not None
    assert event_of(c).payload["status"] == "resolved"
    assert next(p for n, p in heard if n == "complaint.changed") == {
        "customer_id": customer.pk, "complaint_id": c.pk, "actor_id": org.service.pk}  # fmt: skip
    assert len([n for n, _ in heard if n == "complaint.changed"]) == 3
    reopened = services.complaint_set_status(actor=org.service, complaint_id=c.pk, status="open")
    assert reopened.resolved_at is None


def test_illegal_status_move_is_refused_with_the_allowed_ones(org: Org, customer: Customer) -> None:
    c = complain(org.owner, customer)
    services.complaint_set_status(actor=org.owner, complaint_id=c.pk, status="closed")
    with pytest.raises(ValidationFailed) as info:
        services.complaint_set_status(actor=org.owner, complaint_id=c.pk, status="in_progress")
    message = str(info.value.field_errors["status"][0])
    assert "cannot go from “Closed” to “In progress”" in message and "Open" in message


def test_complaint_order_must_be_the_customers(org: Org, customer: Customer) -> None:
    from pearl.sales.models import Order

    other = make_customer(org.owner)
    order = Order.objects.create(number="SO-1", customer=other, ordered_at=timezone.now())
    with pytest.raises(ValidationFailed) as info:
        complain(org.owner, customer, order=order.pk)
    assert "belongs to another customer" in str(info.value.field_errors["order"][0])
    own = Order.objects.create(number="SO-2", customer=customer, ordered_at=timezone.now())
    assert complain(org.owner, customer, order=own.pk).order == own


def test_complaint_scope_and_delete(org: Org, customer: Customer) -> None:
    with pytest.raises(NotFound):
        complain(org.outsider, customer)
    c = complain(org.owner, customer)
    with pytest.raises(PermissionDenied):
        services.complaint_delete(actor=org.owner, complaint_id=c.pk)  # sales may not delete
    services.complaint_delete(actor=org.manager, complaint_id=c.pk)
    assert not TimelineEvent.objects.filter(subject_type="activities.complaint").exists()


# --- selectors ----------------------------------------------------------------------------------------


def test_overview_and_follow_ups(org: Org, customer: Customer) -> None:
    now = timezone.now()
    first = log(
        org.owner, customer, occurred_at=now - dt.timedelta(days=5), next_follow_up_at=now - dt.timedelta(days=2)
    )
    assert [c.pk for c in selectors.follow_ups(actor=org.owner).overdue] == [first.pk]
    latest = log(
        org.owner, customer, occurred_at=now - dt.timedelta(hours=1), next_follow_up_at=now + dt.timedelta(days=3)
    )
    complain(org.owner, customer)
    overview = selectors.customer_activity_overview(actor=org.owner, customer_id=customer.pk)
    assert overview.last_contact == latest and overview.next_follow_up == latest
    assert not overview.follow_up_overdue and overview.open_complaints == 1
    mine = selectors.follow_ups(actor=org.owner)
    assert mine.overdue == [] and [c.pk for c in mine.upcoming] == [latest.pk]  # the later call settled the first
    assert selectors.follow_ups(actor=org.outsider).count == 0
    with pytest.raises(NotFound):
        selectors.customer_activity_overview(actor=org.outsider, customer_id=customer.pk)


def test_lists_are_scoped_and_filtered(org: Org, customer: Customer) -> None:
    log(org.owner, customer, kind="call")
    log(org.owner, customer, kind="visit")
    complain(org.owner, customer)
    assert selectors.communication_list(actor=org.outsider).count() == 0
    assert selectors.complaint_list(actor=org.outsider).count() == 0
    assert selectors.communication_list(actor=org.owner, filters={"kind": "visit"}).count() == 1
    assert selectors.communication_list(actor=org.manager, filters={"author": "me"}).count() == 0
    assert selectors.complaint_list(actor=org.owner, filters={"status": "open_any"}).count() == 1
    with pytest.raises(ValidationFailed):
        selectors.communication_list(actor=org.owner, filters={"since": "2026-02-30"})
    with pytest.raises(NotFound):
        selectors.communication_get(actor=org.outsider, communication_id=Communication.objects.first().pk)  # type: ignore[union-attr]


def test_a_file_on_a_complaint_is_a_complaint_change(
    org: Org, customer: Customer, heard: Any, django_capture_on_commit_callbacks: Any
) -> None:
    c = complain(org.owner, customer)
    with django_capture_on_commit_callbacks(execute=True):
        services.attachment_add(
            actor=org.owner, customer_id=customer.pk, subject=("activities.complaint", c.pk), file=photo()
        )
    payload = {"customer_id": customer.pk, "complaint_id": c.pk, "actor_id": org.owner.pk}
    assert heard == [("complaint.changed", payload)]
