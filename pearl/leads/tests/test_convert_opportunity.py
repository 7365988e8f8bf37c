"""Converting a lead can open an opportunity in the same step (service, API and page)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client

from pearl.core.errors import Conflict, ValidationFailed
from pearl.core.testing.personas import Org
from pearl.customers.models import Customer
from pearl.customers.tests.factories import make_customer
from pearl.leads import services
from pearl.leads.choices import LeadStatus
from pearl.leads.models import Lead
from pearl.leads.tests.conftest import make_lead
from pearl.leads.tests.test_api import api, post
from pearl.pipelines.models import Opportunity
from pearl.sales.models import ProductCategory


def test_conversion_opens_an_opportunity_owned_by_the_lead_owner(org: Org) -> None:
    crabs = ProductCategory.objects.create(name="蟹类")
    lead = make_lead(org.owner, name="刘洋", company="深圳蓝海贸易", product_interest=crabs.pk)
    result = services.lead_convert(
        actor=org.manager, lead_id=lead.pk, opportunity={"amount": "12800", "expected_close_date": "2027-01-15"}
    )
    assert result.opportunity_id is not None
    opportunity = Opportunity.objects.get(pk=result.opportunity_id)
    assert opportunity.customer_id == result.customer_id and opportunity.owner == org.owner
    assert opportunity.name == "深圳蓝海贸易 · 蟹类"  # the default name: company and interest
    assert opportunity.amount == Decimal("12800") and opportunity.expected_close_date == dt.date(2027, 1, 15)
    assert opportunity.stage.order == min(s.order for s in opportunity.pipeline.stages.filter(kind="open"))


def test_a_bad_opportunity_value_converts_nothing(org: Org) -> None:
    lead = make_lead(org.owner, name="刘洋", company="深圳蓝海贸易")
    customers = Customer.objects.count()
    with pytest.raises(ValidationFailed) as caught:
        services.lead_convert(actor=org.owner, lead_id=lead.pk, opportunity={"amount": "-5"})
    assert "opportunity.amount" in caught.value.field_errors
    lead.refresh_from_db()
    assert lead.status == LeadStatus.NEW and Customer.objects.count() == customers
    assert not Opportunity.objects.exists()


def test_no_opportunity_on_a_customer_the_converter_may_not_open(org: Org) -> None:
    # The lead is the outsider's customer already (same mobile); the owner may not see that customer.
    make_customer(org.outsider, contacts=[{"name": "陈大文", "mobile": "13500000000"}])
    lead = make_lead(org.owner, name="陈先生", mobile="13500000000")
    with pytest.raises(Conflict):
        services.lead_convert(actor=org.owner, lead_id=lead.pk, opportunity={})
    assert Lead.objects.get(pk=lead.pk).status == LeadStatus.NEW and not Opportunity.objects.exists()
    # Without one it converts, linking the lead to that customer.
    assert services.lead_convert(actor=org.owner, lead_id=lead.pk).reused


def test_api_convert_with_and_without_an_opportunity(org: Org) -> None:
    client = api(org.owner)
    first = make_lead(org.owner, name="甲", company="甲公司")
    answer = post(client, f"/leads/{first.pk}/convert", {"opportunity": {"name": "年货团购", "amount": "3000.50"}})
    assert answer.status_code == 200, answer.content
    opportunity = Opportunity.objects.get(pk=answer.json()["opportunity"])
    assert (opportunity.name, opportunity.amount) == ("年货团购", Decimal("3000.50"))
    second = make_lead(org.owner, name="乙", company="乙公司")
    plain = client.post(f"/api/v1/leads/{second.pk}/convert", content_type="application/json")  # no body, as before
    assert plain.status_code == 200 and plain.json()["opportunity"] is None
    third = make_lead(org.owner, name="丙", company="丙公司")
    bad = post(client, f"/leads/{third.pk}/convert", {"opportunity": {"colour": "red"}})
    assert bad.status_code == 422 and Lead.objects.get(pk=third.pk).status == LeadStatus.NEW


def test_page_convert_with_an_opportunity(org: Org) -> None:
    client = Client()
    client.force_login(org.owner)
    lead = make_lead(org.owner, name="刘洋", company="深圳蓝海贸易")
    page = client.get(f"/leads/{lead.pk}/")
    assert 'name="with_opportunity"' in page.content.decode()
    bad = client.post(f"/leads/{lead.pk}/convert/", {"with_opportunity": "1", "amount": "很多"})
    assert bad.status_code == 422 and Lead.objects.get(pk=lead.pk).status == LeadStatus.NEW
    done = client.post(f"/leads/{lead.pk}/convert/", {"amount": "800"})  # an amount typed in is enough
    assert done.status_code == 302
    opportunity = Opportunity.objects.get()
    assert done["Location"].endswith(f"/customers/{opportunity.customer_id}/")
    assert opportunity.amount == Decimal("800") and opportunity.owner == org.owner
