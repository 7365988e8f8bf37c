"""Quote expiry: the sweep (Asia/Shanghai dates, idempotent, change log and timeline in bulk), accepting an
expired quote refused, sending a draft past its date refused, and the form's default date."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from pearl.activities.models import TimelineEvent
from pearl.core import sweeps
from pearl.core.errors import Conflict, ValidationFailed
from pearl.core.models import ChangeLog
from pearl.core.testing.personas import Org
from pearl.customers.models import Customer
from pearl.customers.tests.test_api import Api, assert_problem
from pearl.pipelines import services
from pearl.pipelines.models import Opportunity, Quote, Stage
from pearl.pipelines.services.expiry import QUOTE_VALID_DAYS, business_date
from pearl.pipelines.tests.factories import make_opportunity

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
LINES = [{"description": "冷库门", "quantity": "1", "unit_price": "100"}]
NAME = "pipelines.quotes_expire"


@pytest.fixture
def opp(org: Org, customer: Customer, stages: dict[str, Stage]) -> Opportunity:
    return make_opportunity(org.owner, customer.pk)


def sent_quote(org: Org, opp: Opportunity, valid_until: dt.date | None) -> Quote:
    """A quote sent while still valid, its date then set (as if the days had passed)."""
    quote = services.quote_create(actor=org.owner, opportunity_id=opp.pk, lines=LINES)
    services.quote_send(actor=org.owner, quote_id=quote.pk)
    Quote.objects.filter(pk=quote.pk).update(valid_until=valid_until)
    return Quote.objects.get(pk=quote.pk)


def expiry_rows(quote: Quote) -> tuple[int, int]:
    logs = ChangeLog.objects.filter(object_type="pipelines.quote", object_id=quote.pk, changes__status__1="expired")
    events = TimelineEvent.objects.filter(subject_type="pipelines.quote", subject_id=quote.pk)
    return logs.count(), events.filter(payload__status="expired").count()


def test_sweep_expires_sent_quotes_past_their_date_once(org: Org, opp: Opportunity) -> None:
    assert NAME in [s.name for s in sweeps.registered()]
    day = dt.date(2026, 3, 10)
    past = sent_quote(org, opp, day)
    still = sent_quote(org, opp, day + dt.timedelta(days=1))
    undated = sent_quote(org, opp, None)
    draft = services.quote_create(actor=org.owner, opportunity_id=opp.pk, lines=LINES)
    Quote.objects.filter(pk=draft.pk).update(valid_until=day - dt.timedelta(days=5))
    answered = sent_quote(org, opp, None)
    services.quote_reject(actor=org.owner, quote_id=answered.pk)
    Quote.objects.filter(pk=answered.pk).update(valid_until=day - dt.timedelta(days=5))

    # 23:30 in Shanghai on the 10th (15:30 UTC): still its last valid day.
    assert services.quotes_expire_sweep(dt.datetime(2026, 3, 10, 23, 30, tzinfo=SHANGHAI)) == {"quotes": 0}
    assert Quote.objects.get(pk=past.pk).status == "sent"
    # 00:30 in Shanghai on the 11th is still the 10th in UTC (16:30): the Shanghai date counts.
    at = dt.datetime(2026, 3, 10, 16, 30, tzinfo=dt.UTC)
    assert services.quotes_expire_sweep(at) == {"quotes": 1}
    statuses = dict(Quote.objects.values_list("pk", "status"))
    assert statuses == {past.pk: "expired", still.pk: "sent", undated.pk: "sent", draft.pk: "draft",
                        answered.pk: "rejected"}  # fmt: skip
    expired = Quote.objects.get(pk=past.pk)
    assert expired.version == past.version + 1 and expired.responded_at is None
    assert expiry_rows(past) == (1, 1)
    log = ChangeLog.objects.get(object_type="pipelines.quote", object_id=past.pk, changes__status__1="expired")
    assert log.actor is None and log.changes == {"status": ["sent", "expired"]}
    event = TimelineEvent.objects.get(subject_type="pipelines.quote", subject_id=past.pk, payload__status="expired")
    assert event.customer_id == opp.customer_id and event.kind == "opportunity" and past.number in event.title
    assert event.occurred_at == dt.datetime(2026, 3, 11, tzinfo=SHANGHAI)  # the moment it ran out

    # Twice as of the same moment (and later): nothing more happens.
    snapshot = list(Quote.objects.order_by("id").values_list("id", "status", "version"))
    counts = (ChangeLog.objects.count(), TimelineEvent.objects.count())
    assert services.quotes_expire_sweep(at) == {"quotes": 0}
    assert list(Quote.objects.order_by("id").values_list("id", "status", "version")) == snapshot
    assert (ChangeLog.objects.count(), TimelineEvent.objects.count()) == counts
    assert services.quotes_expire_sweep(at + dt.timedelta(hours=1)) == {"quotes": 0}


def test_sweep_is_set_based(org: Org, opp: Opportunity) -> None:
    for _ in range(3):
        sent_quote(org, opp, dt.date(2026, 1, 1))
    at = dt.datetime(2026, 2, 1, tzinfo=SHANGHAI)
    with CaptureQueriesContext(connection) as few:
        assert services.quotes_expire_sweep(at) == {"quotes": 3}
    for _ in range(12):
        sent_quote(org, opp, dt.date(2026, 1, 1))
    with CaptureQueriesContext(connection) as many:
        assert services.quotes_expire_sweep(at) == {"quotes": 12}
    assert len(many) == len(few), f"{len(few)} queries for 3 quotes, {len(many)} for 12"


def test_run_all_runs_expiry_before_follow_up(org: Org, opp: Opportunity) -> None:
    quote = sent_quote(org, opp, dt.date(2026, 1, 1))
    Quote.objects.filter(pk=quote.pk).update(sent_at=timezone.now() - dt.timedelta(days=30))
    names = [s.name for s in sweeps.registered()]
    assert names.index(NAME) < names.index("pipelines.quotes")
    results = {r.name: r for r in sweeps.run_all(timezone.now(), names=[NAME, "pipelines.quotes"])}
    assert results[NAME].summary == {"quotes": 1} and not results[NAME].error
    assert results["pipelines.quotes"].summary == {"quotes": 0, "tasks": 0}  # no follow-up for an expired quote


def test_accepting_an_expired_quote_is_refused(org: Org, opp: Opportunity) -> None:
    yesterday = business_date() - dt.timedelta(days=1)
    waiting = sent_quote(org, opp, yesterday)  # past its date, the sweep not run yet
    with pytest.raises(Conflict) as exc:
        services.quote_accept(actor=org.owner, quote_id=waiting.pk)
    assert str(exc.value.message) == (
        f"The quote {waiting.number} was valid until {yesterday.isoformat()} and has expired, so it can no longer "
        "be accepted; make a new quote."
    )
    assert Quote.objects.get(pk=waiting.pk).status == "sent"
    services.quotes_expire_sweep(timezone.now())
    with pytest.raises(Conflict) as exc:
        services.quote_accept(actor=org.owner, quote_id=waiting.pk)
    assert "has expired, so it can no longer be accepted" in str(exc.value.message)
    assert Quote.objects.get(pk=waiting.pk).status == "expired"
    with pytest.raises(Conflict):
        services.quote_reject(actor=org.owner, quote_id=waiting.pk)

    today = sent_quote(org, opp, business_date())  # valid through today: may still be accepted
    assert services.quote_accept(actor=org.owner, quote_id=today.pk).status == "accepted"


def test_sending_a_draft_past_its_date_is_refused(org: Org, opp: Opportunity, stages: dict[str, Stage]) -> None:
    draft = services.quote_create(
        actor=org.owner, opportunity_id=opp.pk, lines=LINES, valid_until=business_date() - dt.timedelta(days=1)
    )
    with pytest.raises(ValidationFailed) as exc:
        services.quote_send(actor=org.owner, quote_id=draft.pk)
    assert "valid_until" in exc.value.field_errors and "change the date before sending it" in str(exc.value.message)
    assert Quote.objects.get(pk=draft.pk).status == "draft"
    assert Opportunity.objects.get(pk=opp.pk).stage == stages["新线索"]  # the move did not happen either


def test_api_accept_of_an_expired_quote_is_409(org: Org, opp: Opportunity) -> None:
    day = business_date() - dt.timedelta(days=3)
    quote = sent_quote(org, opp, day)
    problem = assert_problem(Api(org.owner).post(f"/quotes/{quote.pk}/accept"), 409)
    assert "has expired" in problem["detail"] and problem["valid_until"] == day.isoformat()
    assert Quote.objects.get(pk=quote.pk).status == "sent"


def test_pages_default_date_and_expired_quote(org: Org, opp: Opportunity, en: Any) -> None:
    en.force_login(org.owner)
    form = en.get(f"/pipelines/opportunities/{opp.pk}/quotes/new/").content.decode()
    expected = (business_date() + dt.timedelta(days=QUOTE_VALID_DAYS)).isoformat()
    assert f'name="valid_until" value="{expected}"' in form
    # Cleared on the form: the quote has no date (and never expires).
    r = en.post(f"/pipelines/opportunities/{opp.pk}/quotes/new/",
                {"description_0": "门", "quantity_0": "1", "unit_price_0": "5", "valid_until": ""})  # fmt: skip
    assert r.status_code == 302 and Quote.objects.get().valid_until is None

    quote = sent_quote(org, opp, business_date() - dt.timedelta(days=1))
    page = en.get(f"/pipelines/quotes/{quote.pk}/").content.decode()
    assert "has expired; it can no longer be accepted" in page and "/accept/" not in page and "/reject/" in page
    r = en.post(f"/pipelines/quotes/{quote.pk}/accept/", {"version": quote.version}, follow=True)
    assert "has expired, so it can no longer be accepted" in r.content.decode()
    assert Quote.objects.get(pk=quote.pk).status == "sent"
