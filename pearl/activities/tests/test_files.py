"""Stored files leave the storage with their rows, only after commit: attachments deleted one by one,
with their record, or by the cascade of a deleted customer; a merge moves them and deletes nothing."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from django.core.files.storage import FileSystemStorage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction

from pearl.activities import services
from pearl.activities.models import Attachment, Communication, Complaint
from pearl.activities.tests.conftest import photo, stored_files
from pearl.core.testing.personas import Org
from pearl.customers.models import Customer
from pearl.customers.services import customer_delete, customer_merge
from pearl.customers.tests.factories import make_customer


class Boom(Exception):
    pass


def then_fail(delete: Any, **kwargs: Any) -> None:
    """Run a delete inside a transaction that then rolls back."""
    with transaction.atomic():
        delete(**kwargs)
        raise Boom


def visit_with_photo(actor: Any, customer: Customer) -> Communication:
    return services.communication_create(
        actor=actor, customer_id=customer.pk, data={"kind": "visit", "summary": "看了冷库"}, photos=[photo()]
    )


def complaint_with_pdf(actor: Any, customer: Customer) -> Complaint:
    c = services.complaint_create(
        actor=actor, customer_id=customer.pk, data={"category": "quality", "title": "虾不新鲜"}
    )
    services.attachment_add(
        actor=actor, customer_id=customer.pk, subject=("activities.complaint", c.pk),
        file=SimpleUploadedFile("质检报告.pdf", b"%PDF-1.4 ..."),
    )  # fmt: skip
    return c


def names_of(customer: Customer) -> set[str]:
    rows = Attachment.objects.filter(customer=customer)
    return {n for a in rows for n in (a.file.name, a.thumbnail.name) if n}


def test_deleting_a_customer_deletes_its_files_and_thumbnails_after_commit(
    org: Org, customer: Customer, media: Path, django_capture_on_commit_callbacks: Any
) -> None:
    visit_with_photo(org.owner, customer)
    complaint_with_pdf(org.owner, customer)
    other = make_customer(org.owner)
    visit_with_photo(org.owner, other)
    mine, others = names_of(customer), names_of(other)
    assert len(mine) == 3 and any(n.startswith("attachments/thumbs/") for n in mine)  # photo, thumbnail, PDF
    with django_capture_on_commit_callbacks() as callbacks:
        customer_delete(actor=org.manager, customer_id=customer.pk)
        assert not Attachment.objects.filter(customer_id=customer.pk).exists()
    assert len(stored_files(media)) == 5  # nothing deleted before the commit
    for callback in callbacks:
        callback()
    left = {p.relative_to(media).as_posix() for p in stored_files(media)}
    assert left == others  # the deleted customer's files are gone, the other customer's stay


def test_a_rolled_back_customer_delete_keeps_every_file(
    org: Org, customer: Customer, media: Path, django_capture_on_commit_callbacks: Any
) -> None:
    visit_with_photo(org.owner, customer)
    complaint_with_pdf(org.owner, customer)
    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(Boom):
        then_fail(customer_delete, actor=org.manager, customer_id=customer.pk)
    assert callbacks == []
    assert Customer.objects.filter(pk=customer.pk).exists() and Attachment.objects.count() == 2
    assert len(stored_files(media)) == 3
    assert all(Path(media, name).is_file() for name in names_of(customer))


def test_a_file_the_storage_refuses_is_logged_and_the_others_still_go(
    org: Org, customer: Customer, media: Path, django_capture_on_commit_callbacks: Any,
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    visit_with_photo(org.owner, customer)
    complaint_with_pdf(org.owner, customer)
    stuck = Attachment.objects.get(subject_type="activities.communication").file.name or ""
    original = FileSystemStorage.delete

    def refuse(self: FileSystemStorage, name: str) -> None:
        if name == stuck:
            raise PermissionError("read-only bucket")
        original(self, name)

    monkeypatch.setattr(FileSystemStorage, "delete", refuse)
    with caplog.at_level(logging.ERROR), django_capture_on_commit_callbacks(execute=True):
        customer_delete(actor=org.manager, customer_id=customer.pk)
    assert [p.relative_to(media).as_posix() for p in stored_files(media)] == [stuck]
    assert stuck in caplog.text and "could not delete" in caplog.text


def test_deleting_a_complaint_deletes_its_files(
    org: Org, customer: Customer, media: Path, django_capture_on_commit_callbacks: Any
) -> None:
    c = complaint_with_pdf(org.owner, customer)
    visit_with_photo(org.owner, customer)
    with django_capture_on_commit_callbacks(execute=True):
        services.complaint_delete(actor=org.manager, complaint_id=c.pk)
    assert not Attachment.objects.filter(subject_type="activities.complaint").exists()
    assert len(stored_files(media)) == 2  # the visit's photo and thumbnail stay


def test_a_rolled_back_communication_delete_keeps_its_photos(
    org: Org, customer: Customer, media: Path, django_capture_on_commit_callbacks: Any
) -> None:
    c = visit_with_photo(org.owner, customer)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(Boom):
        then_fail(services.communication_delete, actor=org.owner, communication_id=c.pk)
    assert Attachment.objects.count() == 1 and len(stored_files(media)) == 2
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.communication_delete(actor=org.owner, communication_id=c.pk)
    assert stored_files(media) == [] and len(callbacks) >= 1


def test_merging_customers_moves_their_files_and_deletes_none(
    org: Org, customer: Customer, media: Path, django_capture_on_commit_callbacks: Any
) -> None:
    other = make_customer(org.owner)
    visit_with_photo(org.owner, customer)
    complaint_with_pdf(org.owner, other)
    with django_capture_on_commit_callbacks(execute=True):
        customer_merge(actor=org.manager, survivor_id=customer.pk, other_ids=[other.pk])
    assert not Customer.objects.filter(pk=other.pk).exists()
    assert set(Attachment.objects.values_list("customer_id", flat=True)) == {customer.pk}
    assert len(stored_files(media)) == 3
