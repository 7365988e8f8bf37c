"""Quotes: totals, validation, send → quote stage, the follow-up sweep, scope, the PDF and the API."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from pearl.activities.models import TimelineEvent
from pearl.core import sweeps
from pearl.core.errors import Conflict, NotFound, ValidationFailed
from pearl.core.testing.personas import Org
from pearl.customers.models import Customer
from pearl.customers.tests.test_api import Api, assert_problem
from pearl.pipelines import services
from pearl.pipelines.models import Opportunity, Quote, QuoteLine, Stage
from pearl.pipelines.tests.factories import make_opportunity
from pearl.reminders.models import Task
from pearl.sales.tests.factories import product

LINES = [
    {"description": "冷库门", "quantity": "0.335", "unit": "套", "unit_price": "3"},  # 1.005 → 1.01
    {"description": "安装费", "quantity": "1.5", "unit_price": "0.33", "discount": "0.10"},  # 0.495 − 0.10 → 0.40
]


@pytest.fixture
def opp(org: Org, customer: Customer, stages: dict[str, Stage]) -> Opportunity:
    return make_opportunity(org.owner, customer.pk)


def make_quote(org: Org, opp: Opportunity, **kwargs: Any) -> Quote:
    kwargs.setdefault("lines", LINES)
    return services.quote_create(actor=org.owner, opportunity_id=opp.pk, **kwargs)


# --- services ---------------------------------------------------------------------------------------------


def test_totals_round_half_up_per_line_and_number_by_day(org: Org, opp: Opportunity) -> None:
    quote = make_quote(org, opp, valid_until="2027-01-15", note="含税价")
    lines = list(quote.lines.all())
    assert [line.amount for line in lines] == [Decimal("1.01"), Decimal("0.40")]
    assert lines[0].unit == "套" and lines[1].discount == Decimal("0.10")
    assert (quote.subtotal, quote.discount, quote.total) == (Decimal("1.51"), Decimal("0.10"), Decimal("1.41"))
    today = timezone.localtime().strftime("%Y%m%d")
    assert quote.number == f"BJ{today}-0001" and quote.status == "draft" and quote.version == 1
    assert quote.valid_until == dt.date(2027, 1, 15) and quote.note == "含税价"
    assert make_quote(org, opp).number == f"BJ{today}-0002"


def test_line_amount_rounds_half_up_not_to_even(org: Org, opp: Opportunity) -> None:
    quote = make_quote(org, opp, lines=[{"description": "鱼", "quantity": "0.5", "unit_price": "0.05"}])
    assert quote.lines.get().amount == Decimal("0.03")  # 0.025 → 0.03 (banker's rounding would give 0.02)


def test_product_line_takes_name_unit_and_price(org: Org, opp: Opportunity) -> None:
    item = product(org.admin, "Q-1", price="12.50")
    quote = make_quote(org, opp, lines=[{"product": item.pk, "quantity": "2"}])
    line = quote.lines.get()
    assert line.product == item and line.description == item.name and line.unit == item.unit
    assert line.amount == Decimal("25.00") and quote.total == Decimal("25.00")


@pytest.mark.parametrize(
    ("lines", "field"),
    [
        ([{"description": "x", "quantity": "0", "unit_price": "1"}], "lines.0.quantity"),
        ([{"description": "x", "quantity": "-2", "unit_price": "1"}], "lines.0.quantity"),
        ([LINES[0], {"description": "x", "quantity": "1", "unit_price": "-1"}], "lines.1.unit_price"),
        ([{"quantity": "1", "unit_price": "1"}], "lines.0.description"),
        ([{"description": "x", "quantity": "1", "unit_price": "1", "discount": "2"}], "lines.0.discount"),
        ([{"product": 999999, "quantity": "1"}], "lines.0.product"),
        ([], "lines"),
    ],
)
def test_bad_lines_refused_with_nothing_written(org: Org, opp: Opportunity, lines: Any, field: str) -> None:
    with pytest.raises(ValidationFailed) as exc:
        make_quote(org, opp, lines=lines)
    assert field in (exc.value.field_errors or {})
    assert not Quote.objects.exists() and not QuoteLine.objects.exists()


def test_send_moves_opportunity_to_quote_stage_and_records_timeline(
    org: Org, opp: Opportunity, stages: dict[str, Stage]
) -> None:
    quote = make_quote(org, opp)
    sent = services.quote_send(actor=org.owner, quote_id=quote.pk, expected_version=1)
    assert sent.status == "sent" and sent.sent_at is not None and sent.version == 2
    opp.refresh_from_db()
    assert opp.stage == stages["方案报价"] and opp.version == 2
    titles = list(
        TimelineEvent.objects.filter(customer=opp.customer, kind="opportunity").values_list("title", flat=True)
    )
    assert any(quote.number in title for title in titles)
    assert any("方案报价" in title for title in titles)
    with pytest.raises(Conflict):
        services.quote_update(actor=org.owner, quote_id=quote.pk, data={"note": "x"})
    with pytest.raises(Conflict):
        services.quote_delete(actor=org.manager, quote_id=quote.pk)
    accepted = services.quote_accept(actor=org.owner, quote_id=quote.pk)
    assert accepted.status == "accepted" and accepted.responded_at is not None
    with pytest.raises(Conflict):
        services.quote_reject(actor=org.owner, quote_id=quote.pk)


def test_send_uses_stage_role_and_never_moves_backwards(org: Org, opp: Opportunity, stages: dict[str, Stage]) -> None:
    Stage.objects.filter(pk=stages["方案报价"].pk).update(role=None)
    Stage.objects.filter(pk=stages["需求确认"].pk).update(role="quote")
    services.quote_send(actor=org.owner, quote_id=make_quote(org, opp).pk)
    opp.refresh_from_db()
    assert opp.stage == stages["需求确认"]

    services.opportunity_move(actor=org.owner, opportunity_id=opp.pk, stage_id=stages["商务谈判"].pk)
    services.quote_send(actor=org.owner, quote_id=make_quote(org, opp).pk)
    opp.refresh_from_db()
    assert opp.stage == stages["商务谈判"]


def test_accept_before_send_and_edit_of_draft(org: Org, opp: Opportunity) -> None:
    quote = make_quote(org, opp)
    with pytest.raises(Conflict):
        services.quote_accept(actor=org.owner, quote_id=quote.pk)
    updated = services.quote_update(
        actor=org.owner, quote_id=quote.pk, data={"lines": [{"description": "门", "quantity": 2, "unit_price": 5}]}
    )
    assert updated.total == Decimal("10.00") and updated.version == 2 and updated.lines.count() == 1
    with pytest.raises(ValidationFailed):
        services.quote_update(
            actor=org.owner, quote_id=quote.pk, data={"lines": [{"description": "门", "quantity": 0}]}
        )
    assert Quote.objects.get(pk=quote.pk).lines.count() == 1
    services.quote_delete(actor=org.manager, quote_id=quote.pk)
    assert not Quote.objects.exists()


def test_outsider_sees_nothing(org: Org, opp: Opportunity) -> None:
    quote = make_quote(org, opp)
    with pytest.raises(NotFound):
        services.quote_create(actor=org.outsider, opportunity_id=opp.pk, lines=LINES)
    with pytest.raises(NotFound):
        services.quote_send(actor=org.outsider, quote_id=quote.pk)
    with pytest.raises(NotFound):
        services.quote_update(actor=org.outsider, quote_id=quote.pk, data={"note": "x"})
    assert Quote.objects.get().status == "draft"


# --- the follow-up sweep ------------------------------------------------------------------------------------


def test_sweep_creates_one_task_after_three_days_and_is_idempotent(org: Org, opp: Opportunity) -> None:
    assert "pipelines.quotes" in [s.name for s in sweeps.registered()]
    waiting = make_quote(org, opp)
    answered = make_quote(org, opp)
    fresh = make_quote(org, opp)
    draft = make_quote(org, opp)
    for quote in (waiting, answered, fresh):
        services.quote_send(actor=org.owner, quote_id=quote.pk)
    services.quote_reject(actor=org.owner, quote_id=answered.pk)
    now = timezone.now()
    Quote.objects.filter(pk__in=[waiting.pk, answered.pk, draft.pk]).update(sent_at=now - dt.timedelta(days=3, hours=1))
    Quote.objects.filter(pk=fresh.pk).update(sent_at=now - dt.timedelta(days=2))

    assert services.quotes_follow_up_sweep(now) == {"quotes": 1, "tasks": 1}
    task = Task.objects.get()
    assert task.owner == org.owner and task.customer_id == opp.customer_id
    assert task.dedupe_key == f"quote-no-response:{waiting.pk}" and waiting.number in task.title
    assert services.quotes_follow_up_sweep(now) == {"quotes": 0, "tasks": 0}
    Quote.objects.update(follow_up_at=None)  # even with the mark gone, the task's key keeps it single
    services.quotes_follow_up_sweep(now)
    assert Task.objects.count() == 1


# --- the PDF ------------------------------------------------------------------------------------------------


def test_pdf_is_a_pdf_in_chinese_font_for_the_owner_and_404_for_the_outsider(org: Org, opp: Opportunity) -> None:
    quote = make_quote(org, opp, valid_until="2027-01-15")
    client = Client()
    client.force_login(org.owner)
    r = client.get(f"/pipelines/quotes/{quote.pk}/pdf/")
    assert r.status_code == 200 and r["Content-Type"] == "application/pdf"
    assert r.content.startswith(b"%PDF") and b"STSong-Light" in r.content
    assert quote.number in r["Content-Disposition"]
    outsider = Client()
    outsider.force_login(org.outsider)
    assert outsider.get(f"/pipelines/quotes/{quote.pk}/pdf/").status_code == 404
    assert outsider.get(f"/pipelines/quotes/{quote.pk}/").status_code == 404


# --- the API ------------------------------------------------------------------------------------------------


@pytest.fixture
def api(org: Org) -> dict[str, Api]:
    return {name: Api(getattr(org, name)) for name in ("manager", "owner", "outsider")}


def test_api_create_list_patch_send_accept(api: dict[str, Api], opp: Opportunity, stages: dict[str, Stage]) -> None:
    body = {"opportunity": opp.pk, "lines": LINES, "valid_until": "2099-01-15"}  # far ahead: accepting needs it valid
    r = api["owner"].post("/quotes", body)
    assert r.status_code == 201, r.content
    data = r.json()
    pk = data["id"]
    assert data["total"] == "1.41" and data["status"] == "draft" and r["ETag"] == '"1"'
    assert [line["amount"] for line in data["lines"]] == ["1.01", "0.40"]
    listed = api["owner"].get("/quotes", {"opportunity": opp.pk})
    assert listed.status_code == 200 and [q["id"] for q in listed.json()["items"]] == [pk]
    assert_problem(api["owner"].patch(f"/quotes/{pk}", {"note": "x"}, headers={"If-Match": '"7"'}), 412)
    patched = api["owner"].patch(f"/quotes/{pk}", {"note": "含税"}, headers={"If-Match": '"1"'})
    assert patched.status_code == 200 and patched.json()["note"] == "含税" and patched["ETag"] == '"2"'
    assert_problem(api["owner"].post(f"/quotes/{pk}/send", headers={"If-Match": '"1"'}), 412)
    sent = api["owner"].post(f"/quotes/{pk}/send")
    assert sent.status_code == 200 and sent.json()["status"] == "sent"
    assert Opportunity.objects.get(pk=opp.pk).stage == stages["方案报价"]
    assert_problem(api["owner"].patch(f"/quotes/{pk}", {"note": "y"}), 409)
    assert_problem(api["manager"].delete(f"/quotes/{pk}"), 409)
    assert api["owner"].post(f"/quotes/{pk}/accept").json()["status"] == "accepted"
    assert_problem(api["owner"].post(f"/quotes/{pk}/reject"), 409)
    pdf = api["owner"].get(f"/quotes/{pk}/pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")


def test_api_bad_lines_are_422_and_write_nothing(api: dict[str, Api], opp: Opportunity) -> None:
    bad = [LINES[0], {"description": "x", "quantity": "0", "unit_price": "-1"}]
    problem = assert_problem(api["owner"].post("/quotes", {"opportunity": opp.pk, "lines": bad}), 422)
    assert "lines.1.quantity" in str(problem) and "lines.1.unit_price" in str(problem)
    assert not Quote.objects.exists()


def test_api_outsider_gets_404(api: dict[str, Api], org: Org, opp: Opportunity) -> None:
    pk = make_quote(org, opp).pk
    assert_problem(api["outsider"].get(f"/quotes/{pk}"), 404)
    assert_problem(api["outsider"].get(f"/quotes/{pk}/pdf"), 404)
    assert_problem(api["outsider"].get("/quotes", {"opportunity": opp.pk}), 404)
    assert_problem(api["outsider"].post(f"/quotes/{pk}/send"), 404)
    assert_problem(api["outsider"].delete(f"/quotes/{pk}"), 404)
    assert_problem(api["outsider"].post("/quotes", {"opportunity": opp.pk, "lines": LINES}), 404)
    assert Quote.objects.get(pk=pk).status == "draft"


# --- pages --------------------------------------------------------------------------------------------------


def test_pages_create_send_accept_and_print(org: Org, opp: Opportunity, stages: dict[str, Stage]) -> None:
    client = Client()
    client.force_login(org.owner)
    detail = client.get(f"/pipelines/opportunities/{opp.pk}/")
    assert detail.status_code == 200 and f"/pipelines/opportunities/{opp.pk}/quotes/new/".encode() in detail.content
    form = client.get(f"/pipelines/opportunities/{opp.pk}/quotes/new/")
    assert form.status_code == 200 and form.content.count(b'name="quantity_') == 5
    bad = client.post(
        f"/pipelines/opportunities/{opp.pk}/quotes/new/",
        {"description_0": "冷库门", "quantity_0": "0", "unit_price_0": "10"},
    )
    # The page speaks the default language, Chinese: "Line 1: …" is 第 1 行：…
    assert bad.status_code == 422 and "第 1 行".encode() in bad.content and not Quote.objects.exists()
    r = client.post(
        f"/pipelines/opportunities/{opp.pk}/quotes/new/",
        {"description_0": "冷库门", "quantity_0": "2", "unit_price_0": "10.005", "valid_until": "2027-01-15"},
    )
    assert r.status_code == 422 and not Quote.objects.exists()  # the price had three places
    r = client.post(
        f"/pipelines/opportunities/{opp.pk}/quotes/new/",
        {"description_0": "冷库门", "quantity_0": "2", "unit_price_0": "10.50", "valid_until": "2099-01-15"},
    )
    quote = Quote.objects.get()
    assert r.status_code == 302 and r["Location"] == f"/pipelines/quotes/{quote.pk}/"
    assert quote.total == Decimal("21.00") and quote.lines.count() == 1
    page = client.get(f"/pipelines/quotes/{quote.pk}/")
    assert page.status_code == 200 and quote.number.encode() in page.content and b"/pdf/" in page.content
    client.post(f"/pipelines/quotes/{quote.pk}/send/", {"version": "1"})
    quote.refresh_from_db()
    opp.refresh_from_db()
    assert quote.status == "sent" and opp.stage == stages["方案报价"]
    client.post(f"/pipelines/quotes/{quote.pk}/accept/", {"version": str(quote.version)})
    assert Quote.objects.get().status == "accepted"
    printed = client.get(f"/pipelines/quotes/{quote.pk}/print/")
    assert printed.status_code == 200 and "冷库门".encode() in printed.content and b"21.00" in printed.content
    assert org.company.name.encode() in printed.content  # the seller: the top-level team
