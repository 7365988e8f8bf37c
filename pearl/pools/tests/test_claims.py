from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from pearl.activities.models import TimelineEvent
from pearl.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from pearl.core.models import ChangeLog
from pearl.core.testing.personas import Org
from pearl.customers.models import Customer
from pearl.customers.tests.factories import make_customer
from pearl.pools.models import ClaimLog, Pool, PoolEntry
from pearl.pools.selectors import claim_quota, pool_customers, pool_list
from pearl.pools.services import pool_claim, pool_release
from pearl.pools.tests.conftest import pooled

pytestmark = pytest.mark.django_db


def test_claim_gives_the_customer_to_the_claimer_with_history(org: Org, pool: Pool) -> None:
    customer = pooled(org.owner, pool)
    version = Customer.objects.get(pk=customer.pk).version
    claimed = pool_claim(actor=org.outsider, pool_id=pool.pk, customer_id=customer.pk)
    assert (claimed.owner_id, claimed.team_id) == (org.outsider.pk, org.team_b.pk)
    assert claimed.version == version + 1
    assert not PoolEntry.objects.filter(customer=customer).exists()
    assert ClaimLog.objects.filter(user=org.outsider, customer=customer, pool=pool).count() == 1
    event = TimelineEvent.objects.filter(customer=customer, kind="ownership").order_by("-id").first()
    assert event is not None and event.payload["action"] == "claimed"
    assert event.payload["owner_name"] == "outsider" and "outsider" in event.title
    log = ChangeLog.objects.filter(root_id=customer.pk, root_type="customers.customer").order_by("-id").first()
    assert log is not None and log.changes["owner"] == [None, org.outsider.pk]


def test_release_puts_the_customer_in_the_pool_with_the_reason(org: Org, pool: Pool) -> None:
    customer = make_customer(org.owner)
    with pytest.raises(ValidationFailed):
        pool_release(actor=org.owner, customer_id=customer.pk, pool_id=pool.pk, reason=" ")
    with pytest.raises(NotFound):  # not the outsider's customer
        pool_release(actor=org.outsider, customer_id=customer.pk, pool_id=pool.pk, reason="不要了")
    entry = pool_release(actor=org.owner, customer_id=customer.pk, pool_id=pool.pk, reason="不要了")
    assert (entry.reason, entry.previous_owner_id, entry.note) == ("released", org.owner.pk, "不要了")
    customer.refresh_from_db()
    assert customer.owner_id is None and customer.team_id is None
    assert TimelineEvent.objects.filter(customer=customer, kind="ownership", payload__action="released").exists()
    with pytest.raises(Conflict):
        pool_release(actor=org.admin, customer_id=customer.pk, pool_id=pool.pk, reason="again")


def test_a_second_claim_is_refused_with_a_clear_conflict(org: Org, pool: Pool) -> None:
    customer = pooled(org.owner, pool)
    pool_claim(actor=org.teammate, pool_id=pool.pk, customer_id=customer.pk)
    with pytest.raises(Conflict) as refused:
        pool_claim(actor=org.outsider, pool_id=pool.pk, customer_id=customer.pk)
    assert "claimed this customer first" in str(refused.value.message)
    assert Customer.objects.get(pk=customer.pk).owner_id == org.teammate.pk


def test_max_held_refuses_beyond_the_limit(org: Org, pool: Pool) -> None:
    a, b = pooled(org.owner, pool), pooled(org.owner, pool)
    make_customer(org.outsider)  # the outsider already holds one
    pool.max_customers_per_person = 2
    pool.save()
    pool_claim(actor=org.outsider, pool_id=pool.pk, customer_id=a.pk)
    with pytest.raises(Conflict) as refused:
        pool_claim(actor=org.outsider, pool_id=pool.pk, customer_id=b.pk)
    assert refused.value.extra["reason"] == "max_held"
    assert PoolEntry.objects.filter(customer=b).exists()


def test_daily_quota_counts_the_shanghai_day(org: Org, pool: Pool) -> None:
    a, b, c = pooled(org.owner, pool), pooled(org.owner, pool), pooled(org.owner, pool)
    pool.daily_claim_quota = 1
    pool.save()
    pool_claim(actor=org.outsider, pool_id=pool.pk, customer_id=a.pk)
    with pytest.raises(Conflict) as refused:
        pool_claim(actor=org.outsider, pool_id=pool.pk, customer_id=b.pk)
    assert refused.value.extra["reason"] == "daily_quota"
    assert claim_quota(actor=org.outsider, pool=pool).claims_left == 0
    # Yesterday's claim (before midnight in Shanghai) does not count today.
    start = timezone.localtime(timezone.now(), dt.timezone(dt.timedelta(hours=8))).replace(hour=0, minute=0)
    ClaimLog.objects.update(at=start - dt.timedelta(minutes=1))
    pool_claim(actor=org.outsider, pool_id=pool.pk, customer_id=b.pk)
    assert Customer.objects.get(pk=b.pk).owner_id == org.outsider.pk
    assert PoolEntry.objects.filter(customer=c).exists()


def test_previous_owner_waits_for_the_cool_down(org: Org, pool: Pool) -> None:
    customer = pooled(org.owner, pool)
    pool.cooldown_days = 7
    pool.save()
    with pytest.raises(Conflict) as refused:
        pool_claim(actor=org.owner, pool_id=pool.pk, customer_id=customer.pk)
    assert refused.value.extra["reason"] == "cooldown"
    PoolEntry.objects.filter(customer=customer).update(entered_at=timezone.now() - dt.timedelta(days=8))
    assert pool_claim(actor=org.owner, pool_id=pool.pk, customer_id=customer.pk).owner_id == org.owner.pk


def test_cool_down_does_not_stop_someone_else(org: Org, pool: Pool) -> None:
    customer = pooled(org.owner, pool)
    pool.cooldown_days = 7
    pool.save()
    assert pool_claim(actor=org.teammate, pool_id=pool.pk, customer_id=customer.pk).owner_id == org.teammate.pk


def test_outsider_sees_neither_the_team_pool_nor_its_customers(org: Org, team_pool: Pool) -> None:
    customer = pooled(org.owner, team_pool)
    assert team_pool in pool_list(actor=org.teammate)
    assert team_pool not in pool_list(actor=org.outsider)
    with pytest.raises(NotFound):
        pool_customers(actor=org.outsider, pool_id=team_pool.pk)
    with pytest.raises(NotFound):
        pool_claim(actor=org.outsider, pool_id=team_pool.pk, customer_id=customer.pk)
    assert Customer.objects.get(pk=customer.pk).owner_id is None


def test_inactive_pool_is_closed(org: Org, pool: Pool) -> None:
    customer = pooled(org.owner, pool)
    pool.active = False
    pool.save()
    with pytest.raises(NotFound):
        pool_claim(actor=org.teammate, pool_id=pool.pk, customer_id=customer.pk)


def test_contacts_are_masked_while_in_a_masking_pool(org: Org, pool: Pool) -> None:
    customer = pooled(org.owner, pool)
    mobile = customer.contacts.get().mobile
    _pool, rows, count = pool_customers(actor=org.teammate, pool_id=pool.pk)
    assert count == 1
    assert rows[0].mobile == f"{mobile[:3]}****{mobile[-4:]}" and rows[0].mobile != mobile
    assert rows[0].email == "w***@example.cn" and rows[0].masked
    pool.mask_contacts = False
    pool.save()
    _pool, rows, _count = pool_customers(actor=org.teammate, pool_id=pool.pk)
    assert rows[0].mobile == mobile and rows[0].email.startswith("wang")


def test_anonymous_cannot_claim(org: Org, pool: Pool) -> None:
    from django.contrib.auth.models import AnonymousUser

    customer = pooled(org.owner, pool)
    with pytest.raises(PermissionDenied):
        pool_claim(actor=AnonymousUser(), pool_id=pool.pk, customer_id=customer.pk)  # type: ignore[arg-type]


def test_roles_that_do_not_edit_customers_cannot_claim(org: Org, pool: Pool) -> None:
    customer = pooled(org.owner, pool)
    with pytest.raises(PermissionDenied):
        pool_claim(actor=org.finance, pool_id=pool.pk, customer_id=customer.pk)
    assert Customer.objects.get(pk=customer.pk).owner_id is None
