from __future__ import annotations

from typing import Any

import pytest

from pearl.core.testing.personas import Org
from pearl.customers.models import Customer
from pearl.customers.tests.factories import make_customer
from pearl.pools.models import Pool
from pearl.pools.tests.conftest import pooled

pytestmark = pytest.mark.django_db


def test_pool_pages_show_masked_customers_and_quota(en: Any, org: Org, pool: Pool, team_pool: Pool) -> None:
    customer = pooled(org.owner, pool)
    mobile = customer.contacts.get().mobile
    pool.daily_claim_quota = 5
    pool.save()
    en.force_login(org.outsider)
    listing = en.get("/pools/").content.decode()
    assert pool.name in listing and team_pool.name not in listing
    detail = en.get(f"/pools/{pool.pk}/")
    body = detail.content.decode()
    assert detail.status_code == 200 and customer.name in body
    assert f"{mobile[:3]}****{mobile[-4:]}" in body and mobile not in body
    assert "Claims left today: 5 of 5" in body
    assert en.get(f"/pools/{team_pool.pk}/").status_code == 404


def test_claim_button_htmx_shows_success_or_refusal_inline(en: Any, org: Org, pool: Pool) -> None:
    customer = pooled(org.owner, pool)
    en.force_login(org.teammate)
    won = en.post(f"/pools/{pool.pk}/claim/{customer.pk}/", HTTP_HX_REQUEST="true")
    assert won.status_code == 200 and "the customer is yours now" in won.content.decode()
    assert Customer.objects.get(pk=customer.pk).owner_id == org.teammate.pk
    en.force_login(org.outsider)
    lost = en.post(f"/pools/{pool.pk}/claim/{customer.pk}/", HTTP_HX_REQUEST="true")
    assert 'role="alert"' in lost.content.decode() and "claimed this customer first" in lost.content.decode()
    assert Customer.objects.get(pk=customer.pk).owner_id == org.teammate.pk


def test_pool_settings_for_admins_only(en: Any, org: Org, pool: Pool) -> None:
    en.force_login(org.owner)
    assert en.get("/pools/settings/").status_code == 403
    en.force_login(org.admin)
    assert en.get("/pools/settings/").status_code == 200
    response = en.post(
        "/pools/settings/new/",
        {
            "name": "广东公海",
            "provinces": "广东省，广西壮族自治区",
            "teams": [org.team_a.pk],
            "reclaim_after_days_without_follow_up": 15,
            "warn_days_before": 2,
            "cooldown_days": 7,
            "daily_claim_quota": 3,
            "mask_contacts": "on",
            "active": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()
    created = Pool.objects.get(name="广东公海")
    assert created.provinces == ["广东省", "广西壮族自治区"] and list(created.teams.all()) == [org.team_a]
    assert (created.reclaim_after_days_without_follow_up, created.daily_claim_quota) == (15, 3)
    bad = en.post(f"/pools/settings/{created.pk}/", {"name": "x", "reclaim_after_days_without_follow_up": 0})
    assert bad.status_code == 422


def test_handover_page_previews_then_confirms(en: Any, org: Org) -> None:
    ids = [make_customer(org.owner).pk for _ in range(3)]
    en.force_login(org.manager)
    assert en.get("/pools/handover/").status_code == 403
    en.force_login(org.admin)
    data = {"from_user": org.owner.pk, "to_users": [org.teammate.pk], "deactivate": "on"}
    preview = en.post("/pools/handover/", data)
    body = preview.content.decode()
    assert preview.status_code == 200 and "Customers: 3" in body and "Confirm the handover" in body
    assert Customer.objects.filter(pk__in=ids, owner=org.owner).count() == 3
    changed = en.post(
        "/pools/handover/", {**data, "to_users": [org.outsider.pk], "previewed": f"{org.owner.pk}:{org.teammate.pk}:1"}
    )
    assert changed.status_code == 200 and Customer.objects.filter(pk__in=ids, owner=org.owner).count() == 3
    done = en.post("/pools/handover/", {**data, "previewed": f"{org.owner.pk}:{org.teammate.pk}:1"})
    assert done.status_code == 302
    assert Customer.objects.filter(pk__in=ids, owner=org.teammate).count() == 3
    refused = en.post("/pools/handover/", {"from_user": org.teammate.pk, "to_users": [org.teammate.pk]})
    assert refused.status_code == 422 and "cannot take over their own work" in refused.content.decode()


def test_pool_page_queries_do_not_grow_with_customers(en: Any, org: Org, pool: Pool) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    en.force_login(org.teammate)
    pooled(org.owner, pool)
    with CaptureQueriesContext(connection) as few:
        assert en.get(f"/pools/{pool.pk}/").status_code == 200
    for _ in range(5):
        pooled(org.owner, pool)
    with CaptureQueriesContext(connection) as many:
        assert en.get(f"/pools/{pool.pk}/").status_code == 200
    assert len(many) == len(few)
