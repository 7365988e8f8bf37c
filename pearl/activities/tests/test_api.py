"""/api/v1 communications, complaints, attachments: status codes, ETags, idempotency, outsiders."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from pearl.activities import services
from pearl.activities.models import Attachment, Communication, Complaint, TimelineEvent
from pearl.activities.tests.conftest import not_a_photo, photo, stored_files
from pearl.core.testing.personas import Org
from pearl.customers.models import Customer
from pearl.customers.tests.factories import make_customer

API = "/api/v1"


def api(user: Any) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def post(client: Client, path: str, body: dict[str, Any], **headers: Any) -> Any:
    return client.post(API + path, json.dumps(body), content_type="application/json", **headers)


def patch(client: Client, path: str, body: dict[str, Any], **headers: Any) -> Any:
    return client.patch(API + path, json.dumps(body), content_type="application/json", **headers)


def test_communication_crud(org: Org, customer: Customer) -> None:
    owner = api(org.owner)
    created = post(owner, "/communications", {"customer": customer.pk, "kind": "call", "outcome": "reached",
                                             "summary": "约了周五看货", "next_follow_up_at": "2099-01-02"})  # fmt: skip
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["author"] == org.owner.pk and body["kind"] == "call" and created["ETag"] == '"1"'
    assert created["Location"] == f"{API}/communications/{body['id']}"
    assert body["next_follow_up_at"] == "2099-01-02T01:00:00Z"  # 09:00 in Shanghai
    cid = body["id"]
    got = owner.get(f"{API}/communications/{cid}")
    assert got.status_code == 200 and got["ETag"] == '"1"'
    stale = patch(owner, f"/communications/{cid}", {"purpose": "报价"}, HTTP_IF_MATCH='"7"')
    assert stale.status_code == 412
    changed = patch(owner, f"/communications/{cid}", {"purpose": "报价"}, HTTP_IF_MATCH='"1"')
    assert changed.status_code == 200 and changed.json()["version"] == 2
    assert TimelineEvent.objects.get(subject_id=cid, subject_type="activities.communication").title == "报价"
    listed = owner.get(f"{API}/communications?customer={customer.pk}&kind=call")
    assert listed.json()["count"] == 1
    assert owner.delete(f"{API}/communications/{cid}").status_code == 204
    assert not Communication.objects.exists()


def test_communication_bad_input_is_a_422_with_a_message(org: Org, customer: Customer) -> None:
    owner = api(org.owner)
    when = timezone.now() - dt.timedelta(days=1)
    early = (when - dt.timedelta(days=1)).isoformat()
    response = post(owner, "/communications", {"customer": customer.pk, "kind": "visit", "summary": "x",
                                              "occurred_at": when.isoformat(), "next_follow_up_at": early})  # fmt: skip
    assert response.status_code == 422
    assert "cannot be before the communication itself" in response.json()["errors"]["next_follow_up_at"][0]
    assert post(owner, "/communications", {"customer": customer.pk, "kind": "fax"}).status_code == 422
    assert post(owner, "/communications", {"customer": customer.pk, "kind": "call", "x": 1}).status_code == 422
    assert owner.get(f"{API}/communications?since=2026-02-30").status_code == 422
    assert owner.get(f"{API}/communications?colour=red").status_code == 422
    huge = post(owner, "/communications", {"customer": customer.pk, "kind": "call", "outcome": "reached",
                                           "contact": 2**63})  # fmt: skip
    assert huge.status_code == 422 and "contact" in huge.json()["errors"]
    assert not Communication.objects.exists()


def test_outsider_sees_nothing(org: Org, customer: Customer) -> None:
    owner, outsider = api(org.owner), api(org.outsider)
    cid = post(owner, "/communications", {"customer": customer.pk, "kind": "note", "summary": "n"}).json()["id"]
    kid = post(owner, "/complaints", {"customer": customer.pk, "category": "quality", "title": "t"}).json()["id"]
    assert outsider.get(f"{API}/communications").json() == {"items": [], "count": 0}
    assert outsider.get(f"{API}/complaints").json() == {"items": [], "count": 0}
    assert outsider.get(f"{API}/communications/{cid}").status_code == 404
    assert outsider.get(f"{API}/complaints/{kid}").status_code == 404
    assert patch(outsider, f"/communications/{cid}", {"summary": "x"}).status_code == 404
    assert outsider.delete(f"{API}/complaints/{kid}").status_code == 404
    assert (
        post(outsider, "/communications", {"customer": customer.pk, "kind": "note", "summary": "n"}).status_code == 404
    )
    assert outsider.get(f"{API}/communications/{2**63}").status_code == 404


def test_idempotent_post(org: Org, customer: Customer) -> None:
    owner = api(org.owner)
    body = {"customer": customer.pk, "kind": "call", "outcome": "no_answer"}
    first = post(owner, "/communications", body, HTTP_IDEMPOTENCY_KEY="k-1")
    again = post(owner, "/communications", body, HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true" and again.json()["id"] == first.json()["id"]
    assert Communication.objects.count() == 1


def test_complaint_api_transitions(org: Org, customer: Customer) -> None:
    service = api(org.service)
    created = post(service, "/complaints", {"customer": customer.pk, "category": "delivery", "title": "晚到"})
    assert created.status_code == 201 and created.json()["status"] == "open"
    kid = created.json()["id"]
    refused = patch(service, f"/complaints/{kid}", {"status": "resolved"})
    assert refused.status_code == 422 and "how it was resolved" in refused.json()["errors"]["resolution"][0]
    resolved = patch(service, f"/complaints/{kid}", {"status": "resolved", "resolution": "补发"})
    assert resolved.status_code == 200 and resolved.json()["resolved_at"] is not None
    illegal = patch(service, f"/complaints/{kid}", {"status": "in_progress"})
    assert illegal.status_code == 422 and "cannot go from" in illegal.json()["detail"]
    assert service.get(f"{API}/complaints?status=open_any").json()["count"] == 0
    assert service.get(f"{API}/complaints?status=resolved").json()["count"] == 1
    assert service.delete(f"{API}/complaints/{kid}").status_code == 403  # the service desk may not delete
    assert api(org.manager).delete(f"{API}/complaints/{kid}").status_code == 204
    assert not Complaint.objects.exists()


def _upload(client: Client, customer: Customer, cid: int, file: Any, image_only: bool = True) -> Any:
    return client.post(
        f"{API}/attachments",
        {"customer": customer.pk, "subject_type": "activities.communication", "subject_id": cid,
         "image_only": "true" if image_only else "false", "file": file},
    )  # fmt: skip


def test_attachment_upload_multipart(org: Org, customer: Customer, media: Path) -> None:
    owner = api(org.owner)
    cid = post(owner, "/communications", {"customer": customer.pk, "kind": "visit", "summary": "x"}).json()["id"]
    refused = _upload(owner, customer, cid, not_a_photo())
    assert refused.status_code == 422 and "is not a photo" in refused.json()["detail"]
    assert stored_files(media) == []
    created = _upload(owner, customer, cid, photo())
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["is_image"] and body["content_type"] == "image/jpeg" and body["name"] == "门头.jpg"
    content = owner.get(body["content_url"])
    assert content.status_code == 200 and content["Content-Type"] == "image/jpeg"
    listed = owner.get(f"{API}/attachments?subject_type=activities.communication&subject_id={cid}")
    assert listed.json()["count"] == 1
    outsider = api(org.outsider)
    assert outsider.get(body["content_url"]).status_code == 404
    assert outsider.get(f"{API}/attachments").json()["count"] == 0
    assert _upload(outsider, customer, cid, photo()).status_code == 404
    assert owner.delete(f"{API}/attachments/{body['id']}").status_code == 204
    assert not Attachment.objects.exists()


@pytest.mark.parametrize("path", ["/communications", "/complaints", "/attachments"])
def test_anonymous_is_401(path: str, db: None) -> None:
    assert Client().get(API + path).status_code == 401


# --- a record's files in its answer -----------------------------------------------------------------


def _attach(actor: Any, customer: Customer, subject: tuple[str, int], file: Any) -> Attachment:
    return services.attachment_add(actor=actor, customer_id=customer.pk, subject=subject, file=file)


def test_communication_answers_list_its_attachments(org: Org, customer: Customer) -> None:
    owner = api(org.owner)
    cid = post(owner, "/communications", {"customer": customer.pk, "kind": "visit", "summary": "x"}).json()["id"]
    bare = post(owner, "/communications", {"customer": customer.pk, "kind": "call", "outcome": "reached"}).json()
    assert bare["attachments"] == []
    image = _attach(org.owner, customer, ("activities.communication", cid), photo())
    pdf = _attach(org.owner, customer, ("activities.communication", cid), SimpleUploadedFile("报价单.pdf", b"%PDF-1.4"))
    got = owner.get(f"{API}/communications/{cid}")
    assert got.status_code == 200
    files = got.json()["attachments"]
    assert [f["id"] for f in files] == [image.pk, pdf.pk]
    assert files[0] == {
        "id": image.pk, "name": "门头.jpg", "content_type": "image/jpeg", "size": image.size, "is_image": True,
        "content_url": f"{API}/attachments/{image.pk}/content",
        "thumbnail_url": f"{API}/attachments/{image.pk}/content?thumbnail=true",
    }  # fmt: skip
    assert files[1]["name"] == "报价单.pdf" and not files[1]["is_image"] and files[1]["thumbnail_url"] is None
    assert files[1]["content_type"] == "application/pdf" and files[1]["size"] == 8
    thumb = owner.get(files[0]["thumbnail_url"])
    assert thumb.status_code == 200 and thumb["Content-Type"] == "image/jpeg"
    assert thumb.getvalue() == image.thumbnail.open("rb").read()
    assert owner.get(files[1]["content_url"]).status_code == 200
    listed = owner.get(f"{API}/communications?customer={customer.pk}").json()["items"]
    assert {c["id"]: [f["id"] for f in c["attachments"]] for c in listed} == {cid: [image.pk, pdf.pk], bare["id"]: []}
    patched = patch(owner, f"/communications/{cid}", {"purpose": "看冷库"})
    assert [f["id"] for f in patched.json()["attachments"]] == [image.pk, pdf.pk]
    outsider = api(org.outsider)
    assert outsider.get(f"{API}/communications").json() == {"items": [], "count": 0}
    assert outsider.get(f"{API}/communications/{cid}").status_code == 404
    assert outsider.get(files[0]["content_url"]).status_code == 404
    assert outsider.get(files[0]["thumbnail_url"]).status_code == 404


def test_communication_list_queries_do_not_grow_with_attachments(org: Org, customer: Customer) -> None:
    owner = api(org.owner)
    other = make_customer(org.owner)

    def visit(who: Customer, photos: int) -> None:
        c = services.communication_create(actor=org.owner, customer_id=who.pk, data={"kind": "visit", "summary": "x"})
        for _ in range(photos):
            _attach(org.owner, who, ("activities.communication", c.pk), photo())

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            response = owner.get(f"{API}/communications")
        assert response.status_code == 200
        return len(captured)

    visit(customer, 1)
    owner.get(f"{API}/communications")  # the session, once
    few = queries()
    for who in (customer, other, other):
        visit(who, 3)
    body = owner.get(f"{API}/communications").json()
    assert body["count"] == 4 and sum(len(c["attachments"]) for c in body["items"]) == 10
    assert queries() == few


def test_complaint_answers_list_its_attachments(org: Org, customer: Customer) -> None:
    owner = api(org.owner)
    kid = post(owner, "/complaints", {"customer": customer.pk, "category": "quality", "title": "t"}).json()["id"]
    pdf = _attach(org.owner, customer, ("activities.complaint", kid), SimpleUploadedFile("质检.pdf", b"%PDF-1.4"))
    got = owner.get(f"{API}/complaints/{kid}").json()
    assert [(f["id"], f["name"], f["thumbnail_url"]) for f in got["attachments"]] == [(pdf.pk, "质检.pdf", None)]
    assert got["attachments"][0]["content_url"] == f"{API}/attachments/{pdf.pk}/content"
    listed = owner.get(f"{API}/complaints").json()["items"]
    assert [f["id"] for f in listed[0]["attachments"]] == [pdf.pk]
    outsider = api(org.outsider)
    assert outsider.get(f"{API}/complaints").json() == {"items": [], "count": 0}
    assert outsider.get(f"{API}/complaints/{kid}").status_code == 404
    assert outsider.get(got["attachments"][0]["content_url"]).status_code == 404
