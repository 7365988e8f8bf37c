"""customer_merge / customer_unmerge: survivorship rules, what moves, aliases, exact undo, denials, bad input."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone, translation

from pearl.core import events, merging
from pearl.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from pearl.core.models import ChangeLog
from pearl.core.testing.personas import Org
from pearl.customers import selectors
from pearl.customers.models import (
    Contact,
    Customer,
    CustomerAlias,
    CustomerMerge,
    CustomerSearchToken,
    Identity,
    Tag,
)
from pearl.customers.services import (
    contact_create,
    contact_delete,
    contact_update,
    custom_field_create,
    customer_merge,
    customer_unmerge,
    customer_update,
    tag_create,
)
from pearl.customers.tests.factories import make_customer, mobile


@pytest.fixture(autouse=True)
def _english() -> Any:
    """The messages below are asserted in English whatever language an earlier test left active."""
    with translation.override("en"):
        yield


ROOT = "customers.customer"


def at(customer: Customer, minutes: int) -> None:
    """Pin ``updated_at`` so the "most recent" rule has a known answer."""
    stamp = timezone.now() - dt.timedelta(minutes=minutes)
    Customer.objects.filter(pk=customer.pk).update(updated_at=stamp)


def fresh(customer: Customer) -> Customer:
    return Customer.objects.get(pk=customer.pk)


def state(ids: list[int], history_upto: int) -> dict[int, dict[str, Any]]:
    """Everything a customer is made of, read straight from the tables."""
    out = {}
    for pk in ids:
        out[pk] = {
            "row": Customer.objects.filter(pk=pk).values().first(),
            "tags": sorted(Customer.tags.through.objects.filter(customer_id=pk).values_list("tag_id", flat=True)),
            "contacts": list(Contact.objects.filter(customer_id=pk).order_by("pk").values()),
            "identities": list(Identity.objects.filter(customer_id=pk).order_by("pk").values()),
            "tokens": sorted(CustomerSearchToken.objects.filter(customer_id=pk).values_list("token", flat=True)),
            "history": sorted(
                ChangeLog.objects.filter(root_type=ROOT, root_id=pk, pk__lte=history_upto).values_list("pk", flat=True)
            ),
            "aliases": sorted(CustomerAlias.objects.filter(survivor_id=pk).values_list("old_id", flat=True)),
        }
    return out


@pytest.fixture
def level(org: Org) -> Any:
    return custom_field_create(
        actor=org.admin, data={"object_type": "customer", "key": "level", "label": "Level", "field_type": "text"}
    )


@pytest.fixture
def trio(org: Org, level: Any) -> tuple[Customer, Customer, Customer]:
    """A survivor and two duplicates with contacts, tags, custom fields, identities and history."""
    vip = tag_create(actor=org.admin, data={"name": "VIP"})
    old = tag_create(actor=org.admin, data={"name": "老客户"})
    s = make_customer(
        org.owner,
        short_name="鑫海",
        city="广州市",
        tags=[vip.pk],
        custom_fields={"level": "金牌"},
        contacts=[{"name": "张伟", "mobile": mobile(1)}],
    )
    a = make_customer(
        org.owner,
        short_name="鑫海酒楼",
        address="天河路 1 号金融大厦",
        tags=[vip.pk, old.pk],
        contacts=[
            {"name": "李娜", "mobile": mobile(2), "is_primary": True},
            {"name": "王芳", "email": "wf@example.com"},
        ],
    )
    b = make_customer(org.teammate, city="深圳市", address="天河路 1 号", custom_fields={"level": "银牌"})
    customer_update(actor=org.owner, customer_id=a.pk, data={"grade": "B"})  # a history row rooted at a
    Identity.objects.create(kind="external", value="erp:A-1", customer=a)
    at(s, 30)
    at(a, 20)
    at(b, 10)
    return fresh(s), fresh(a), fresh(b)


# --- survivorship --------------------------------------------------------------------------------


def test_most_recent_non_empty_value_wins_per_field(org: Org, trio: Any) -> None:
    s, a, b = trio
    customer_merge(actor=org.manager, survivor_id=s.pk, other_ids=[a.pk, b.pk])
    s = fresh(s)
    assert s.city == "深圳市"  # b is the most recent and has a city
    assert s.address == "天河路 1 号"  # b's, although a's is longer
    assert s.short_name == "鑫海酒楼"  # b has none; a is more recent than s
    assert s.grade == "B"  # only a has a grade
    assert s.custom_fields == {"level": "银牌"}
    assert s.name == b.name


def test_most_complete_value_wins_when_asked(org: Org, trio: Any) -> None:
    s, a, b = trio
    customer_merge(actor=org.manager, survivor_id=s.pk, other_ids=[a.pk, b.pk], rule="complete")
    s = fresh(s)
    assert s.address == "天河路 1 号金融大厦"  # the longest, from the older a
    assert s.short_name == "鑫海酒楼"
    assert s.city == "深圳市"  # as long as 广州市: the tie goes to the more recent b
    assert s.custom_fields == {"level": "银牌"}


def test_ties_of_length_go_to_the_most_recent(org: Org, trio: Any) -> None:
    s, a, b = trio
    plan = selectors.merge_plan(survivor=s, others=[a, b], rule="complete")
    winners = {f.key: f.winner for f in plan.fields}
    assert winners["city"] == b.pk  # 广州市 and 深圳市 are equally long; b is newer
    assert winners["cf_level"] == b.pk
    assert winners["address"] == a.pk


def test_values_picked_by_hand_override_the_rule(org: Org, trio: Any) -> None:
    s, a, b = trio
    customer_merge(
        actor=org.manager,
        survivor_id=s.pk,
        other_ids=[a.pk, b.pk],
        choices={"name": s.pk, "city": s.pk, "cf_level": s.pk, "address": a.pk},
    )
    s2 = fresh(s)
    assert (s2.name, s2.city, s2.address, s2.custom_fields) == (
        s.name,
        "广州市",
        "天河路 1 号金融大厦",
        {"level": "金牌"},
    )


def test_custom_fields_merge_key_by_key(org: Org, level: Any) -> None:
    custom_field_create(
        actor=org.admin, data={"object_type": "customer", "key": "region", "label": "Region", "field_type": "text"}
    )
    s = make_customer(org.owner, custom_fields={"level": "金牌"})
    a = make_customer(org.owner, custom_fields={"region": "华南"})
    customer_merge(actor=org.manager, survivor_id=s.pk, other_ids=[a.pk])
    assert fresh(s).custom_fields == {"level": "金牌", "region": "华南"}


# --- what moves ----------------------------------------------------------------------------------


def test_contacts_identities_tags_and_search_move_to_the_survivor(org: Org, trio: Any) -> None:
    s, a, b = trio
    survivor_primary = Contact.objects.get(customer=s, is_primary=True)
    customer_merge(actor=org.manager, survivor_id=s.pk, other_ids=[a.pk, b.pk])
    contacts = list(Contact.objects.filter(customer=s))
    assert {c.name for c in contacts} == {"张伟", "李娜", "王芳"}
    assert [c.pk for c in contacts if c.is_primary] == [survivor_primary.pk]  # the survivor keeps its primary
    assert set(Identity.objects.filter(customer=s).values_list("value", flat=True)) == {
        mobile(1),
        mobile(2),
        "wf@example.com",
        "erp:A-1",
    }
    assert set(fresh(s).tags.values_list("name", flat=True)) == {"VIP", "老客户"}
    assert not CustomerSearchToken.objects.filter(customer_id__in=[a.pk, b.pk]).exists()
    found = selectors.customer_list(actor=org.manager, filters={"q": mobile(2)[-4:]})
    assert [c.pk for c in found] == [s.pk]  # the moved contact's phone finds the survivor
    assert [c.pk for c in selectors.customer_list(actor=org.manager, filters={"q": "王芳"})] == [s.pk]


def test_a_survivor_without_contacts_gets_a_primary_one(org: Org) -> None:
    s = make_customer(org.owner)
    a = make_customer(org.owner, contacts=[{"name": "甲"}, {"name": "乙"}])
    customer_merge(actor=org.manager, survivor_id=s.pk, other_ids=[a.pk])
    assert list(Contact.objects.filter(customer=s, is_primary=True).values_list("name", flat=True)) == ["甲"]


def test_history_moves_and_the_merge_is_logged(org: Org, trio: Any) -> None:
    s, a, b = trio
    a_history = set(ChangeLog.objects.filter(root_type=ROOT, root_id=a.pk).values_list("pk", flat=True))
    assert a_history
    merge = customer_merge(actor=org.manager, survivor_id=s.pk, other_ids=[a.pk, b.pk])
    shown = set(selectors.customer_history(actor=org.manager, customer_id=s.pk).values_list("pk", flat=True))
    assert a_history <= shown
    update = ChangeLog.objects.filter(root_id=s.pk, object_id=s.pk, action="update").first()
    assert update is not None and update.changes["city"] == ["广州市", "深圳市"]
    assert update.changes["tags"] == [["VIP"], ["VIP", "老客户"]]
    assert merge.changes == update.changes
    gone = ChangeLog.objects.filter(root_id=s.pk, action="delete", object_type=ROOT)
    assert set(gone.values_list("object_id", flat=True)) == {a.pk, b.pk}
    primary_lost = ChangeLog.objects.get(root_id=s.pk, object_type="customers.contact", action="update")
    assert primary_lost.changes == {"is_primary": [True, False]}


def test_merged_ids_become_aliases_that_resolve_to_the_survivor(org: Org, trio: Any) -> None:
    s, a, b = trio
    customer_merge(actor=org.manager, survivor_id=s.pk, other_ids=[a.pk, b.pk])
    assert not Customer.objects.filter(pk__in=[a.pk, b.pk]).exists()
    with pytest.raises(selectors.CustomerMerged) as caught:
        selectors.customer_get(actor=org.owner, customer_id=a.pk)
    assert caught.value.survivor_id == s.pk and f"#{s.pk}" in str(caught.value.message)


def test_an_alias_resolves_only_for_who_may_see_the_survivor(org: Org, trio: Any) -> None:
    s, a, _b = trio
    customer_merge(actor=org.manager, survivor_id=s.pk, other_ids=[a.pk])
    with pytest.raises(NotFound) as caught:
        selectors.customer_get(actor=org.outsider, customer_id=a.pk)
    assert not isinstance(caught.value, selectors.CustomerMerged)
    assert selectors.customer_alias_target(actor=org.outsider, customer_id=a.pk) is None


def test_alias_chains_resolve_in_one_hop(org: Org) -> None:
    a, b, c = (make_customer(org.owner) for _ in range(3))
    customer_merge(actor=org.manager, survivor_id=b.pk, other_ids=[a.pk])
    customer_merge(actor=org.manager, survivor_id=c.pk, other_ids=[b.pk])
    assert dict(CustomerAlias.objects.values_list("old_id", "survivor_id")) == {a.pk: c.pk, b.pk: c.pk}
    with pytest.raises(selectors.CustomerMerged) as caught:
        selectors.customer_get(actor=org.owner, customer_id=a.pk)
    assert caught.value.survivor_id == c.pk


def test_merge_events_are_sent_after_commit(org: Org, trio: Any, django_capture_on_commit_callbacks: Any) -> None:
    s, a, _b = trio
    heard: list[tuple[str, dict[str, Any]]] = []

    def listen(name: str, payload: dict[str, Any]) -> None:
        heard.append((name, payload))

    events.subscribe("customer.merged", listen)
    events.subscribe("customer.unmerged", listen)
    try:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            merge = customer_merge(actor=org.manager, survivor_id=s.pk, other_ids=[a.pk])
        assert heard == []  # nothing before the commit
        for callback in callbacks:
            callback()
        with django_capture_on_commit_callbacks(execute=True):
            customer_unmerge(actor=org.manager, merge_id=merge.pk)
    finally:
        events.unsubscribe("customer.merged", listen)
        events.unsubscribe("customer.unmerged", listen)
    assert (
        "customer.merged",
        {"customer_id": s.pk, "merged_ids": [a.pk], "merge_id": merge.pk, "actor_id": org.manager.pk},
    ) in heard
    assert (
        "customer.unmerged",
        {"customer_id": s.pk, "restored_ids": [a.pk], "merge_id": merge.pk, "actor_id": org.manager.pk},
    ) in heard


def test_a_failure_half_way_leaves_nothing_written(org: Org, trio: Any) -> None:
    s, a, b = trio
    before = state([s.pk, a.pk, b.pk], ChangeLog.objects.order_by("-pk").values_list("pk", flat=True).first() or 0)

    def boom(source_id: int, survivor_id: int) -> None:
        raise Conflict("boom")

    merging.register(merging.MergeHook(name="test.boom", relations=(), move=boom, restore=lambda *a: None, order=999))
    try:
        with pytest.raises(Conflict):
            customer_merge(actor=org.manager, survivor_id=s.pk, other_ids=[a.pk, b.pk])
    finally:
        merging.unregister("test.boom")
    upto = max(p for v in before.values() for p in v["history"])
    assert state([s.pk, a.pk, b.pk], upto) == before
    assert not CustomerMerge.objects.exists() and not CustomerAlias.objects.exists()


# --- unmerge -------------------------------------------------------------------------------------


def test_unmerge_restores_everything_exactly(org: Org, trio: Any) -> None:
    s, a, b = trio
    # an alias that already points at a (an earlier merge into a) must point at a again afterwards
    x = make_customer(org.owner)
    customer_merge(actor=org.manager, survivor_id=a.pk, other_ids=[x.pk])
    ids = [s.pk, a.pk, b.pk]
    upto = ChangeLog.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    before = state(ids, upto)
    merge = customer_merge(actor=org.manager, survivor_id=s.pk, other_ids=[a.pk, b.pk])
    assert CustomerAlias.objects.get(old_id=x.pk).survivor_id == s.pk  # re-pointed while merged

    restored = customer_unmerge(actor=org.manager, merge_id=merge.pk)

    assert [c.pk for c in restored] == ids
    after = state(ids, upto)
    survivor_row, survivor_row_before = after[s.pk].pop("row"), before[s.pk].pop("row")
    assert survivor_row["version"] == survivor_row_before["version"] + 2  # merge and unmerge are writes
    for key in ("version", "updated_at"):
        survivor_row.pop(key), survivor_row_before.pop(key)
    assert survivor_row == survivor_row_before
    assert after == before  # rows (ids, versions, timestamps), contacts, identities, tags, tokens, history, aliases
    assert not CustomerAlias.objects.filter(old_id__in=[a.pk, b.pk]).exists()
    merge.refresh_from_db()
    assert merge.undone_at is not None and merge.undone_by == org.manager
    assert ChangeLog.objects.filter(root_id=a.pk, object_id=a.pk, action="create", pk__gt=upto).exists()


def test_unmerge_keeps_survivor_fields_edited_since(org: Org, trio: Any) -> None:
    s, a, b = trio
    merge = customer_merge(actor=org.manager, survivor_id=s.pk, other_ids=[a.pk, b.pk])
    customer_update(actor=org.manager, customer_id=s.pk, data={"city": "佛山市"})
    customer_unmerge(actor=org.manager, merge_id=merge.pk)
    s2 = fresh(s)
    assert s2.city == "佛山市"  # edited after the merge: kept
    assert (s2.address, s2.name, s2.custom_fields) == (s.address, s.name, {"level": "金牌"})  # merge's changes undone


def test_contacts_added_to_the_survivor_after_the_merge_stay(org: Org, trio: Any) -> None:
    s, a, _b = trio
    merge = customer_merge(actor=org.manager, survivor_id=s.pk, other_ids=[a.pk])
    contact_create(actor=org.manager, customer_id=s.pk, data={"name": "新人", "mobile": mobile(9)})
    customer_unmerge(actor=org.manager, merge_id=merge.pk)
    assert set(Contact.objects.filter(customer=s).values_list("name", flat=True)) == {"张伟", "新人"}
    assert set(Contact.objects.filter(customer_id=a.pk).values_list("name", flat=True)) == {"李娜", "王芳"}


def test_unmerge_of_a_chain_goes_last_merge_first(org: Org) -> None:
    a, b, c = (make_customer(org.owner, contacts=[{"name": f"联系人{i}"}]) for i in range(3))
    first = customer_merge(actor=org.manager, survivor_id=b.pk, other_ids=[a.pk])
    second = customer_merge(actor=org.manager, survivor_id=c.pk, other_ids=[b.pk])
    with pytest.raises(Conflict) as caught:
        customer_unmerge(actor=org.manager, merge_id=first.pk)
    assert f"merge #{second.pk}" in str(caught.value.message) and "Undo that merge first" in str(caught.value.message)
    customer_unmerge(actor=org.manager, merge_id=second.pk)
    customer_unmerge(actor=org.manager, merge_id=first.pk)
    assert {c2.customer_id for c2 in Contact.objects.all()} == {a.pk, b.pk, c.pk}
    assert not CustomerAlias.objects.exists()


def test_a_phone_changed_after_the_merge_goes_back_with_its_contact(org: Org) -> None:
    """The survivor (newer id) lets go of the identity before the restored customer takes it."""
    s = make_customer(org.owner, contacts=[{"name": "甲", "mobile": mobile(1)}])
    a = make_customer(org.owner, contacts=[{"name": "乙", "mobile": mobile(2)}])
    merge = customer_merge(actor=org.manager, survivor_id=a.pk, other_ids=[s.pk])
    contact_update(actor=org.manager, contact_id=Contact.objects.get(name="甲").pk, data={"mobile": mobile(3)})
    customer_unmerge(actor=org.manager, merge_id=merge.pk)
    assert set(Identity.objects.filter(customer_id=s.pk).values_list("value", flat=True)) == {mobile(3)}
    assert set(Identity.objects.filter(customer_id=a.pk).values_list("value", flat=True)) == {mobile(2)}


def test_unmerge_refuses_when_a_later_merge_went_into_the_same_survivor(org: Org) -> None:
    s, a, b = (make_customer(org.owner) for _ in range(3))
    first = customer_merge(actor=org.manager, survivor_id=s.pk, other_ids=[a.pk])
    second = customer_merge(actor=org.manager, survivor_id=s.pk, other_ids=[b.pk])
    with pytest.raises(Conflict) as caught:
        customer_unmerge(actor=org.manager, merge_id=first.pk)
    assert f"#{second.pk}" in str(caught.value.message)


def test_unmerge_refuses_when_a_moved_contact_was_deleted(org: Org, trio: Any) -> None:
    s, a, _b = trio
    merge = customer_merge(actor=org.manager, survivor_id=s.pk, other_ids=[a.pk])
    gone = Contact.objects.get(name="王芳")
    contact_delete(actor=org.manager, contact_id=gone.pk)
    with pytest.raises(Conflict) as caught:
        customer_unmerge(actor=org.manager, merge_id=merge.pk)
    assert "王芳" in str(caught.value.message) and caught.value.extra["problems"]
    assert not Customer.objects.filter(pk=a.pk).exists()  # nothing written
    assert CustomerMerge.objects.get(pk=merge.pk).undone_at is None


def test_unmerge_refuses_twice(org: Org, trio: Any) -> None:
    s, a, _b = trio
    merge = customer_merge(actor=org.manager, survivor_id=s.pk, other_ids=[a.pk])
    customer_unmerge(actor=org.manager, merge_id=merge.pk)
    with pytest.raises(Conflict, match="already undone"):
        customer_unmerge(actor=org.manager, merge_id=merge.pk)


def test_unmerge_refuses_a_phone_now_held_twice(org: Org, trio: Any) -> None:
    """A contact given the moved contact's phone on the survivor would leave one phone on two customers."""
    s, a, _b = trio
    merge = customer_merge(actor=org.manager, survivor_id=s.pk, other_ids=[a.pk])
    moved = Contact.objects.get(name="李娜")
    contact_update(actor=org.manager, contact_id=moved.pk, data={"mobile": ""})
    contact_create(actor=org.manager, customer_id=s.pk, data={"name": "新号", "mobile": mobile(2)})
    contact_update(actor=org.manager, contact_id=moved.pk, data={"mobile": mobile(2)})
    with pytest.raises(Conflict):
        customer_unmerge(actor=org.manager, merge_id=merge.pk)
    assert not Customer.objects.filter(pk=a.pk).exists()


# --- permissions ---------------------------------------------------------------------------------


def test_merging_needs_the_delete_permission(org: Org) -> None:
    s, a = make_customer(org.owner), make_customer(org.owner)
    for user in (org.owner, org.service):  # edit but no delete
        with pytest.raises(PermissionDenied):
            customer_merge(actor=user, survivor_id=s.pk, other_ids=[a.pk])
    assert Customer.objects.filter(pk=a.pk).exists()


def test_an_outsider_gets_not_found_before_any_permission_check(org: Org) -> None:
    s, a = make_customer(org.owner), make_customer(org.owner)
    mine, also_mine = make_customer(org.outsider), make_customer(org.outsider)
    for survivor, other in ((s.pk, a.pk), (mine.pk, a.pk), (s.pk, mine.pk)):
        with pytest.raises(NotFound):
            customer_merge(actor=org.outsider, survivor_id=survivor, other_ids=[other])
    with pytest.raises(PermissionDenied):  # own customers: seen, but a sales role may not delete
        customer_merge(actor=org.outsider, survivor_id=mine.pk, other_ids=[also_mine.pk])


def test_every_customer_must_be_in_scope(org: Org) -> None:
    """The manager sees the region, not a customer of the company-level admin."""
    s = make_customer(org.owner)
    hq = make_customer(org.admin)
    with pytest.raises(NotFound, match=f"#{hq.pk}"):
        customer_merge(actor=org.manager, survivor_id=s.pk, other_ids=[hq.pk])
    customer_merge(actor=org.manager, survivor_id=s.pk, other_ids=[make_customer(org.outsider).pk])  # both teams ok


def test_unmerge_needs_scope_over_every_restored_customer(org: Org) -> None:
    s, hq = make_customer(org.owner), make_customer(org.admin)
    merge = customer_merge(actor=org.admin, survivor_id=s.pk, other_ids=[hq.pk])
    with pytest.raises(PermissionDenied):
        customer_unmerge(actor=org.manager, merge_id=merge.pk)
    assert not Customer.objects.filter(pk=hq.pk).exists()
    with pytest.raises(NotFound):
        customer_unmerge(actor=org.outsider, merge_id=merge.pk)
    with pytest.raises(PermissionDenied):
        customer_unmerge(actor=org.owner, merge_id=merge.pk)  # sees the survivor, may not delete
    customer_unmerge(actor=org.admin, merge_id=merge.pk)
    assert Customer.objects.filter(pk=hq.pk).exists()


# --- bad input -----------------------------------------------------------------------------------


def _refusal(org: Org, **kwargs: Any) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as caught:
        customer_merge(actor=org.manager, **kwargs)
    return caught.value


def test_bad_input_is_refused_with_a_specific_message(org: Org, trio: Any) -> None:
    s, a, b = trio
    assert "at least one other" in str(_refusal(org, survivor_id=s.pk, other_ids=[]).message)
    assert f"#{s.pk} is listed twice" in str(_refusal(org, survivor_id=s.pk, other_ids=[s.pk]).message)
    assert f"#{a.pk} is listed twice" in str(_refusal(org, survivor_id=s.pk, other_ids=[a.pk, a.pk]).message)
    error = _refusal(org, survivor_id=s.pk, other_ids=[a.pk], choices={"colour": a.pk})
    assert "no field colour" in str(error.message) and "choices.colour" in error.field_errors
    error = _refusal(org, survivor_id=s.pk, other_ids=[a.pk], choices={"city": b.pk})
    assert f"#{b.pk} is not one of the customers" in str(error.message)
    assert "Unknown rule" in str(_refusal(org, survivor_id=s.pk, other_ids=[a.pk], rule="oldest").message)
    with pytest.raises(NotFound, match="#999999"):
        customer_merge(actor=org.manager, survivor_id=s.pk, other_ids=[999999])
    assert Customer.objects.filter(pk__in=[s.pk, a.pk, b.pk]).count() == 3


def test_a_merged_away_id_cannot_be_merged_again(org: Org, trio: Any) -> None:
    s, a, b = trio
    customer_merge(actor=org.manager, survivor_id=s.pk, other_ids=[a.pk])
    error = _refusal(org, survivor_id=b.pk, other_ids=[a.pk])
    assert f"#{a.pk} was already merged into" in str(error.message) and error.extra["survivor"] == s.pk


def test_preview_checks_the_survivor_is_in_the_list(org: Org, trio: Any) -> None:
    s, a, b = trio
    with pytest.raises(ValidationFailed, match="survivor must be one of"):
        selectors.customer_merge_preview(actor=org.manager, customer_ids=[s.pk, a.pk], survivor_id=b.pk)
    plan = selectors.customer_merge_preview(actor=org.manager, customer_ids=[s.pk, a.pk, b.pk], survivor_id=a.pk)
    assert [c.pk for c in plan.customers] == [a.pk, s.pk, b.pk]
    with pytest.raises(NotFound):
        selectors.customer_merge_preview(actor=org.outsider, customer_ids=[s.pk, a.pk])


def test_merge_history_selectors(org: Org, trio: Any) -> None:
    s, a, b = trio
    merge = customer_merge(actor=org.manager, survivor_id=s.pk, other_ids=[a.pk, b.pk])
    assert list(selectors.customer_merges(actor=org.owner, customer_id=s.pk)) == [merge]
    assert selectors.merged_customers(merge) == [(a.pk, a.name), (b.pk, b.name)]
    assert selectors.merge_get(actor=org.owner, merge_id=merge.pk) == merge
    with pytest.raises(NotFound):
        selectors.merge_get(actor=org.outsider, merge_id=merge.pk)
    assert Tag.objects.count() == 2  # tags are shared, never copied
