"""Activities pages: the quick log's two steps, full forms, lists, complaints, attachments served in scope."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from pearl.activities import services
from pearl.activities.models import Attachment, Communication, Complaint, TimelineEvent
from pearl.activities.tests.conftest import not_a_photo, photo, stored_files
from pearl.core.testing.personas import Org
from pearl.customers.models import Customer
from pearl.customers.tests.factories import make_customer

HX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "quick-log"}


def as_user(client: Any, user: Any) -> Any:
    client.force_login(user)
    return client


def quick_url(customer: Customer) -> str:
    return reverse("activities:quick_log", args=[customer.pk])


def log(actor: Any, customer: Customer, **data: Any) -> Communication:
    data.setdefault("kind", "call")
    data.setdefault("summary", "问了下周的虾价")
    return services.communication_create(actor=actor, customer_id=customer.pk, data=data)


# --- quick log -----------------------------------------------------------------------------------------


def test_quick_log_two_taps(en: Any, org: Org, customer: Customer) -> None:
    client = as_user(en, org.owner)
    buttons = client.get(quick_url(customer), **HX)
    assert buttons.status_code == 200 and "?kind=visit" in buttons.content.decode()
    form = client.get(quick_url(customer) + "?kind=visit", **HX)
    html = form.content.decode()
    assert form.status_code == 200
    assert 'capture="environment"' in html and 'accept="image/*"' in html
    primary = customer.contacts.get()
    assert f'<option value="{primary.pk}" selected>' in html  # primary contact preselected
    assert 'name="quick-occurred_at"' in html and 'type="radio"' in html
    saved = client.post(
        quick_url(customer),
        {"quick-kind": "visit", "quick-occurred_at": "", "quick-contact": str(primary.pk),
         "quick-outcome": "interested", "quick-summary": "看了冷库", "photos": [photo()]},
        **HX,
    )  # fmt: skip
    assert saved.status_code == 200
    assert saved["HX-Trigger"] == "timeline-changed"
    assert "Visit saved." in saved.content.decode() and "quick-summary" not in saved.content.decode()
    c = Communication.objects.get()
    assert c.kind == "visit" and c.contact == primary and c.author == org.owner and c.outcome == "interested"
    assert TimelineEvent.objects.get(subject_id=c.pk).payload["photos"] == 1


def test_quick_log_errors_rerender_the_inline_form(en: Any, org: Org, customer: Customer, media: Path) -> None:
    client = as_user(en, org.owner)
    response = client.post(
        quick_url(customer),
        {"quick-kind": "visit", "quick-summary": "门店", "photos": [not_a_photo()]},
        **HX,
    )
    html = response.content.decode()
    assert response.status_code == 200 and "HX-Trigger" not in response
    assert "is not a photo" in html and 'name="quick-summary"' in html
    assert not Communication.objects.exists() and stored_files(media) == []
    response = client.post(quick_url(customer), {"quick-kind": "call", "quick-summary": ""}, **HX)
    assert "pick an outcome or write a short summary" in response.content.decode()


def test_quick_log_without_javascript(en: Any, org: Org, customer: Customer) -> None:
    client = as_user(en, org.owner)
    opened = client.get(quick_url(customer) + "?kind=call")
    assert opened.status_code == 302 and "kind=call" in opened["Location"]
    saved = client.post(quick_url(customer), {"quick-kind": "call", "quick-outcome": "no_answer"})
    assert saved.status_code == 302 and saved["Location"] == reverse("customers:customer_detail", args=[customer.pk])


def test_quick_log_outsider_and_read_only(en: Any, org: Org, customer: Customer) -> None:
    assert as_user(en, org.outsider).get(quick_url(customer) + "?kind=call", **HX).status_code == 404
    as_user(en, org.finance)
    assert en.post(quick_url(customer), {"quick-kind": "call", "quick-outcome": "reached"}, **HX).status_code == 403
    assert not Communication.objects.exists()


# --- full form, detail, edit, delete ---------------------------------------------------------------------


def test_full_form_page_create_and_errors(en: Any, org: Org, customer: Customer) -> None:
    client = as_user(en, org.owner)
    url = reverse("activities:communication_create") + f"?customer={customer.pk}&kind=visit"
    page = client.get(url)
    assert page.status_code == 200 and '<option value="visit" selected>' in page.content.decode()
    when = timezone.localtime() - dt.timedelta(hours=2)
    bad = client.post(url, {"kind": "visit", "occurred_at": when.strftime("%Y-%m-%dT%H:%M"), "summary": "x",
                            "next_follow_up_at": (when - dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")})  # fmt: skip
    assert bad.status_code == 422 and "cannot be before the communication itself" in bad.content.decode()
    ok = client.post(url, {"kind": "visit", "occurred_at": when.strftime("%Y-%m-%dT%H:%M"), "summary": "送样",
                           "place": "黄沙市场", "photos": [photo()]})  # fmt: skip
    assert ok.status_code == 302
    assert Communication.objects.get().place == "黄沙市场"
    assert as_user(en, org.owner).get(reverse("activities:communication_create")).status_code == 404


def test_detail_edit_delete(en: Any, org: Org, customer: Customer) -> None:
    c = log(org.owner, customer, kind="visit")
    client = as_user(en, org.owner)
    assert client.get(reverse("activities:communication_detail", args=[c.pk])).status_code == 200
    edit_url = reverse("activities:communication_edit", args=[c.pk])
    assert client.get(edit_url).status_code == 200
    stale = client.post(edit_url, {"kind": "visit", "summary": "改过", "version": "99"})
    assert stale.status_code == 412 and "Someone else changed" in stale.content.decode()
    when = timezone.localtime(c.occurred_at).strftime("%Y-%m-%dT%H:%M")
    saved = client.post(edit_url, {"kind": "meeting", "summary": "改过", "version": "1", "occurred_at": when})
    assert saved.status_code == 302
    assert TimelineEvent.objects.get(subject_id=c.pk).kind == "meeting"
    assert as_user(en, org.outsider).get(reverse("activities:communication_detail", args=[c.pk])).status_code == 404
    deleted = as_user(en, org.owner).post(reverse("activities:communication_delete", args=[c.pk]), {"version": "2"})
    assert deleted.status_code == 302 and not Communication.objects.exists()


# --- lists ---------------------------------------------------------------------------------------------------


def test_follow_ups_page(en: Any, org: Org, customer: Customer) -> None:
    now = timezone.now()
    log(org.owner, customer, occurred_at=now - dt.timedelta(days=4), next_follow_up_at=now - dt.timedelta(days=2))
    other = make_customer(org.owner)
    log(org.owner, other, next_follow_up_at=now + dt.timedelta(days=5))
    html = as_user(en, org.owner).get(reverse("activities:follow_up_list")).content.decode()
    assert 'id="overdue"' in html and 'id="upcoming"' in html
    assert html.index(customer.name) < html.index(other.name)
    outsider = as_user(en, org.outsider).get(reverse("activities:follow_up_list")).content.decode()
    assert customer.name not in outsider and "No follow-ups pending" in outsider


def test_communication_list_filters_queries_and_scope(en: Any, org: Org, customer: Customer) -> None:
    for i in range(6):
        log(org.owner, customer, kind="call" if i % 2 else "visit")
    client = as_user(en, org.owner)
    url = reverse("activities:communication_list")
    client.get(url)
    with CaptureQueriesContext(connection) as queries:
        page = client.get(url + "?kind=visit")
    assert page.status_code == 200 and "3 communications" in page.content.decode()
    assert len(queries) <= 10, [q["sql"] for q in queries.captured_queries]
    bad = client.get(url + "?since=2026-13-01")
    assert bad.status_code == 422 and "Enter a valid date" in bad.content.decode()
    outsider = as_user(en, org.outsider).get(url).content.decode()
    assert customer.name not in outsider and "No communications match" in outsider


# --- complaints ----------------------------------------------------------------------------------------------


def test_complaint_pages(en: Any, org: Org, customer: Customer) -> None:
    client = as_user(en, org.owner)
    url = reverse("activities:complaint_create") + f"?customer={customer.pk}"
    assert client.get(url).status_code == 200
    bad = client.post(url, {"kind": "complaint", "category": "", "title": ""})
    assert bad.status_code == 422 and "short title" in bad.content.decode()
    ok = client.post(url, {"kind": "complaint", "category": "delivery", "title": "送货晚了两小时"})
    c = Complaint.objects.get()
    assert ok.status_code == 302 and ok["Location"] == reverse("activities:complaint_detail", args=[c.pk])
    detail = client.get(ok["Location"]).content.decode()
    assert 'value="in_progress"' in detail and 'value="resolved"' in detail
    status_url = reverse("activities:complaint_status", args=[c.pk])
    refused = client.post(status_url, {"status": "resolved", "resolution": "", "version": "1"})
    assert refused.status_code == 422 and "how it was resolved" in refused.content.decode()
    assert (
        client.post(status_url, {"status": "resolved", "resolution": "道歉并补偿", "version": "1"}).status_code == 302
    )
    c.refresh_from_db()
    assert c.status == "resolved" and c.resolved_at is not None
    illegal = client.post(status_url, {"status": "in_progress", "version": str(c.version)})
    assert illegal.status_code == 422 and "cannot go from" in illegal.content.decode()
    listing = client.get(reverse("activities:complaint_list") + "?status=resolved").content.decode()
    assert "送货晚了两小时" in listing
    assert "送货晚了两小时" not in as_user(en, org.outsider).get(reverse("activities:complaint_list")).content.decode()
    assert en.get(reverse("activities:complaint_detail", args=[c.pk])).status_code == 404


# --- attachments served only in scope ------------------------------------------------------------------------


def test_attachment_served_only_in_scope(en: Any, org: Org, customer: Customer) -> None:
    c = services.communication_create(
        actor=org.owner, customer_id=customer.pk, data={"kind": "visit", "summary": "x"}, photos=[photo()]
    )
    a = Attachment.objects.get()
    url = reverse("activities:attachment_file", args=[a.pk])
    response = as_user(en, org.owner).get(url)
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content)[:3] == b"\xff\xd8\xff"
    assert as_user(en, org.outsider).get(url).status_code == 404
    en.logout()
    assert en.get(url).status_code == 302  # to the login page
    page = as_user(en, org.owner).get(reverse("activities:communication_detail", args=[c.pk])).content.decode()
    assert f'<img src="{url}?thumb=1"' in page
    thumb = as_user(en, org.owner).get(url + "?thumb=1")
    assert thumb["Content-Type"] == "image/jpeg" and as_user(en, org.outsider).get(url + "?thumb=1").status_code == 404


def test_upload_a_file_on_a_complaint(en: Any, org: Org, customer: Customer) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    c = services.complaint_create(actor=org.owner, customer_id=customer.pk, data={"category": "quality", "title": "x"})
    client = as_user(en, org.owner)
    upload = SimpleUploadedFile("<script>.html", b"<script>alert(1)</script>", content_type="text/html")
    response = client.post(reverse("activities:complaint_attach", args=[c.pk]), {"file": upload})
    assert response.status_code == 302
    a = Attachment.objects.get()
    served = client.get(reverse("activities:attachment_file", args=[a.pk]))
    assert served["Content-Type"] == "application/octet-stream"
    assert served["Content-Disposition"].startswith("attachment;")


@pytest.mark.parametrize(
    "name", ["activities:follow_up_list", "activities:communication_list", "activities:complaint_list"]
)
def test_pages_need_login(client: Any, name: str) -> None:
    assert client.get(reverse(name)).status_code == 302


def test_time_left_as_shown_means_the_moment_of_saving(en: Any, org: Org, customer: Customer) -> None:
    shown = timezone.localtime().replace(second=0, microsecond=0).strftime("%Y-%m-%dT%H:%M")
    client = as_user(en, org.owner)
    client.post(quick_url(customer), {"quick-kind": "call", "quick-outcome": "reached", "quick-occurred_at": shown,
                                      "quick-time_shown": shown}, **HX)  # fmt: skip
    assert abs((timezone.now() - Communication.objects.get().occurred_at).total_seconds()) < 5
    earlier = (timezone.localtime() - dt.timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M")
    client.post(quick_url(customer), {"quick-kind": "call", "quick-outcome": "reached", "quick-occurred_at": earlier,
                                      "quick-time_shown": shown}, **HX)  # fmt: skip
    assert (
        timezone.localtime(Communication.objects.order_by("occurred_at").first().occurred_at).strftime(  # type: ignore[union-attr]
            "%Y-%m-%dT%H:%M"
        )
        == earlier
    )


def test_open_items_partial(org: Org, customer: Customer) -> None:
    from django.template.loader import render_to_string

    from pearl.activities import selectors

    now = timezone.now()
    log(org.owner, customer, occurred_at=now - dt.timedelta(days=3), next_follow_up_at=now - dt.timedelta(days=1))
    services.complaint_create(actor=org.owner, customer_id=customer.pk, data={"category": "price", "title": "价格不对"})
    overview = selectors.customer_activity_overview(actor=org.owner, customer_id=customer.pk)
    html = render_to_string(
        "activities/_customer-open-items.html", {"activity_overview": overview, "may": {"edit": True}}
    )
    assert "overdue-text" in html and "价格不对" in html and "owner" in html
    assert reverse("activities:complaint_create") + f"?customer={customer.pk}" in html


def test_complaint_list_queries(en: Any, org: Org, customer: Customer) -> None:
    for i in range(5):
        data = {"category": "quality", "title": f"t{i}"}
        services.complaint_create(actor=org.owner, customer_id=customer.pk, data=data)
    client = as_user(en, org.owner)
    url = reverse("activities:complaint_list") + "?status=open_any"
    client.get(url)
    with CaptureQueriesContext(connection) as queries:
        page = client.get(url)
    assert "5 complaints and feedback" in page.content.decode()
    assert len(queries) <= 8, [q["sql"] for q in queries.captured_queries]
