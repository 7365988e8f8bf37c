"""The 360° page: what it reads (each thing once: the panels trust the customer the page read in scope),
and that an outsider still gets 404 on the page, its partials and the panels' API endpoints."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from pearl.activities.selectors import customer_activity_overview, timeline_events, timeline_page
from pearl.activities.services.communications import communication_create
from pearl.activities.services.complaints import complaint_create
from pearl.analytics.selectors import customer_figures_get
from pearl.analytics.services import figures_refresh
from pearl.core.errors import NotFound
from pearl.core.testing.personas import Org
from pearl.customers.models import Customer
from pearl.customers.selectors import customer_get
from pearl.customers.services import tag_create
from pearl.customers.tests.factories import make_customer, mobile
from pearl.customers.tests.test_api import Api, assert_problem
from pearl.pipelines.tests.factories import make_opportunity
from pearl.pools.models import Pool
from pearl.reminders.services import task_create
from pearl.sales.models import Order
from pearl.sales.selectors import customer_sales_overview
from pearl.sales.tests.factories import order, payment, product

pytestmark = pytest.mark.django_db


def rich_customer(org: Org) -> Customer:
    """A customer of org.owner with everything the page shows: tags, contacts, orders (one overdue),
    a payment, a call with a follow-up, an open complaint, computed figures and a timeline."""
    tags = [tag_create(actor=org.admin, data={"name": n, "color": "#1f8a4c"}).pk for n in ("月结客户", "老客户")]
    customer = make_customer(
        org.owner, tags=tags, contacts=[{"name": "张伟", "mobile": mobile(1), "is_primary": True}, {"name": "李娜"}]
    )
    prawn = product(org.admin, "P-001", price="10.00")
    now = timezone.now()
    overdue = order(
        org.owner, customer.pk, [(prawn, "5")],
        ordered_at=now - dt.timedelta(days=45), due_date=(now - dt.timedelta(days=15)).date(),
    )  # fmt: skip
    order(org.owner, customer.pk, [(prawn, "2")])
    payment(org.owner, customer.pk, "20.00", allocations=[{"order": overdue.pk, "amount": "20.00"}])
    communication_create(actor=org.owner, customer_id=customer.pk, data={
        "kind": "call", "occurred_at": now - dt.timedelta(days=2), "summary": "问了价格",
        "next_follow_up_at": now + dt.timedelta(days=3),
    })  # fmt: skip
    complaint_create(actor=org.owner, customer_id=customer.pk, data={
        "title": "虾不新鲜", "category": "quality", "kind": "complaint", "received_at": now - dt.timedelta(days=1),
    })  # fmt: skip
    assert figures_refresh(customer_id=customer.pk) is not None
    return customer


# The queries of one view of the page. It used to make 7 more (manager: 30, salesperson: 29): the
# figures, sales and open-items panels each checked the scope again (one query each), the timeline
# re-ran customer_get (customer, tags, contacts: three) and the timeline's change entries read every
# custom field definition though none of their changes named a custom field.
#   request:   session, user, role (+ the manager's team, for the team-subtree scope)
#   customer:  customer_get (the one scope check) + its tags + its contacts
#   detail:    customer custom fields; contact positions + contact custom fields (the add-contact form)
#   timeline:  events, changes, the users and teams those changes name
#   panels:    figures; recent orders, ageing, overdue orders, invoicing details; last contact, open complaints
#   merges:    the merges (customer_merges trusts the customer customer_get read)
#   sales panel (core.profile_panels, five more): open opportunities with the won / lost counts (one
#              windowed read on the customer's index); open tasks (customer, due_at index); the public
#              pool: the active pools and their teams (the reclaim sweep's routing, tiny tables) and one
#              primary-key read of the customer with its protection, open-opportunity flag and route.
#              A customer a pool would take (no open opportunity, not protected) costs one more
#              primary-key read, its reclaim clocks; one nobody owns costs one read of its pool entry
#              instead of all that; with no active pool the teams are not read.
PAGE_QUERIES = {"manager": 27, "owner": 26}


@pytest.mark.parametrize("who", ["manager", "owner"])
def test_the_360_page_reads_each_thing_once(en: Any, org: Org, who: str, django_assert_num_queries: Any) -> None:
    customer = rich_customer(org)
    make_opportunity(org.owner, customer.pk, name="冷库扩建")
    task_create(actor=org.owner, owner=org.owner, title="回电确认报价", due_at=timezone.now(), customer_id=customer.pk)
    Pool.objects.filter(is_default=True).update(active=True)  # the routing reads the pools' teams too
    en.force_login(getattr(org, who))
    url = reverse("customers:customer_detail", args=[customer.pk])
    overdue = Order.objects.filter(customer=customer).order_by("ordered_at").first()
    assert overdue is not None
    with django_assert_num_queries(PAGE_QUERIES[who]) as captured:
        page = en.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    for shown in ("月结客户", "张伟", "李娜", "问了价格", "虾不新鲜", "Key figures", "Overdue orders", overdue.number,
                  "冷库扩建", "回电确认报价", "Not reclaimed to the public pool"):  # fmt: skip
        assert shown in html, shown
    # The customer table is read twice: the page's customer_get (the one scope check) and the pools
    # section's primary-key read of the customer's protection and route (no scope check again).
    reads = [q["sql"] for q in captured.captured_queries if 'FROM "customers_customer" ' in q["sql"]]
    assert len(reads) == 2, reads
    assert '"route"' in reads[1]


def test_outsider_gets_404_on_the_page_its_partials_and_the_panels_api(en: Any, org: Org) -> None:
    customer = rich_customer(org)
    contact = customer.contacts.order_by("id").first()
    assert contact is not None
    en.force_login(org.outsider)
    pages = [
        reverse("customers:customer_detail", args=[customer.pk]),
        reverse("customers:customer_timeline", args=[customer.pk]),
        reverse("customers:customer_timeline", args=[customer.pk]) + "?kind=call&cursor=1.1.1",
        reverse("customers:customer_history", args=[customer.pk]),
        reverse("customers:contact_list", args=[customer.pk]),
        reverse("customers:contact_edit", args=[customer.pk, contact.pk]),
        reverse("activities:quick_log", args=[customer.pk]) + "?kind=call",
        reverse("sales:billing_edit", args=[customer.pk]),
    ]
    for url in pages:
        for headers in ({}, {"HX-Request": "true"}):
            response = en.get(url, headers=headers)
            assert response.status_code == 404, (url, headers)
            assert customer.name not in response.content.decode(), url
    api = Api(org.outsider)
    for path in ("figures", "sales", "timeline"):
        assert_problem(api.get(f"/customers/{customer.pk}/{path}"), 404, "not_found")
    assert Api(org.owner).get(f"/customers/{customer.pk}/sales").status_code == 200


def test_panel_selectors_trust_a_customer_object_and_check_a_bare_id(org: Org, django_assert_num_queries: Any) -> None:
    customer = rich_customer(org)
    loaded = customer_get(actor=org.manager, customer_id=customer.pk)
    with django_assert_num_queries(1):  # the figures row, no scope check
        figures = customer_figures_get(actor=org.manager, customer=loaded)
    with django_assert_num_queries(4):  # recent orders, ageing, overdue orders, invoicing details
        sales = customer_sales_overview(actor=org.manager, customer=loaded)
    with django_assert_num_queries(2):  # last contact, open complaints
        activity = customer_activity_overview(actor=org.manager, customer=loaded)
    with django_assert_num_queries(2):  # events, changes
        timeline = timeline_page(actor=org.manager, customer=loaded)
    assert sales.recent_orders[0].customer.name == customer.name  # the orders carry the customer, no join

    # A bare id (API callers) is checked and gives the same answers…
    assert customer_figures_get(actor=org.manager, customer_id=customer.pk) == figures
    by_id = customer_sales_overview(actor=org.manager, customer_id=customer.pk)
    assert [o.pk for o in by_id.recent_orders] == [o.pk for o in sales.recent_orders]
    assert by_id.unpaid_total == sales.unpaid_total and by_id.overdue_total == sales.overdue_total
    assert customer_activity_overview(actor=org.manager, customer_id=customer.pk) == activity
    assert timeline_page(actor=org.manager, customer_id=customer.pk) == timeline
    # …and out of scope (or missing) is NotFound.
    for missing in (customer.pk, customer.pk + 1000):
        for read in (customer_figures_get, customer_sales_overview, customer_activity_overview, timeline_page,
                     timeline_events):  # fmt: skip
            with pytest.raises(NotFound):
                read(actor=org.outsider, customer_id=missing)

    # Neither or both is a programming error, never a silent read.
    for read in (customer_figures_get, customer_activity_overview, timeline_page, timeline_events):
        with pytest.raises(TypeError):
            read(actor=org.manager)
    for read in (customer_figures_get, customer_sales_overview, customer_activity_overview, timeline_page,
                 timeline_events):  # fmt: skip
        with pytest.raises(TypeError):
            read(actor=org.manager, customer_id=customer.pk, customer=loaded)
    with pytest.raises(NotFound):  # the sales selectors take raw ids (None, junk): NotFound as before
        customer_sales_overview(actor=org.manager)
