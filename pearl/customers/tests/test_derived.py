"""Set-based smart-tag membership (``tag_members_sync``): the same answer on SQLite and PostgreSQL,
whose DELETE is written differently (NOT EXISTS there, NOT IN here)."""

from __future__ import annotations

from pearl.core.testing.personas import Org
from pearl.customers.models import Customer, Tag
from pearl.customers.services.derived import TagLink, tag_members_sync
from pearl.customers.tests.factories import make_customer


def _members(tag: Tag) -> set[int]:
    return set(TagLink.objects.filter(tag=tag).values_list("customer_id", flat=True))


def test_sync_removes_the_links_no_longer_matching_and_adds_the_new_ones(org: Org) -> None:
    a, b, c, d = (make_customer(org.owner) for _ in range(4))
    tag, other = Tag.objects.create(name="高价值客户"), Tag.objects.create(name="老客户")
    TagLink.objects.bulk_create([TagLink(customer=x, tag=tag) for x in (a, b, c)] + [TagLink(customer=b, tag=other)])

    assert tag_members_sync(tag.pk, Customer.objects.filter(pk__in=[a.pk, d.pk]).values("pk")) == (1, 2)
    assert _members(tag) == {a.pk, d.pk}
    assert _members(other) == {b.pk}  # another tag's links are never touched
    assert tag_members_sync(tag.pk, Customer.objects.filter(pk__in=[a.pk, d.pk]).values("pk")) == (0, 0)


def test_sync_within_some_customers_leaves_the_others_alone(org: Org) -> None:
    a, b, c = (make_customer(org.owner) for _ in range(3))
    tag = Tag.objects.create(name="流失风险")
    TagLink.objects.bulk_create([TagLink(customer=x, tag=tag) for x in (a, b)])
    # nobody matches any more, but only b and c are looked at: a keeps its tag, b loses it
    assert tag_members_sync(tag.pk, Customer.objects.filter(pk=0).values("pk"), customer_ids=[b.pk, c.pk]) == (0, 1)
    assert _members(tag) == {a.pk}
    assert tag_members_sync(tag.pk, Customer.objects.filter(pk=c.pk).values("pk"), customer_ids=[b.pk, c.pk]) == (1, 0)
    assert _members(tag) == {a.pk, c.pk}
