"""The review queue's services: the scan fills it, decisions merge or dismiss, bulk merge, auto-merge."""

from __future__ import annotations

import pytest

from pearl.accounts.models import User
from pearl.core.errors import Conflict, NotFound, PermissionDenied
from pearl.core.testing.personas import Org
from pearl.customers.models import Customer, CustomerMerge
from pearl.customers.services import customer_delete, customer_unmerge, customer_update
from pearl.customers.tests.factories import make_dupe
from pearl.dataquality import selectors
from pearl.dataquality.models import DedupeSettings, DuplicatePair
from pearl.dataquality.services.duplicates import (
    dedupe_settings_update,
    duplicate_decide,
    duplicates_merge_bulk,
    duplicates_scan,
)


def _trio(actor: User) -> list[Customer]:
    """Three records of one restaurant (same name core and street address), oldest first."""
    return [
        make_dupe(actor, name="广州鑫海海鲜酒楼有限公司", address="广州市天河区天河路100号"),
        make_dupe(actor, name="鑫海酒楼", city="广州市", address="天河区天河路100号"),
        make_dupe(actor, name="鑫海海鲜酒楼", city="广州", address="广州天河路100号"),
    ]


def _possible(actor: User) -> tuple[Customer, Customer]:
    return (
        make_dupe(actor, name="金湾贸易有限公司", city="深圳市", address="南山区科技路8号"),
        make_dupe(actor, name="金湾贸易", city="深圳市", contacts=[{"name": "陈静"}]),
    )


def _pairs() -> set[tuple[int, int, str, str]]:
    return {(p.left_id, p.right_id, p.band, p.status) for p in DuplicatePair.objects.all()}


def test_scan_finds_pairs_with_reasons_and_keeps_dismissals(org: Org) -> None:
    a, b, c = _trio(org.owner)
    x, y = _possible(org.owner)
    make_dupe(org.owner, name="永辉超市（五一店）", city="福州市")
    make_dupe(org.owner, name="永辉超市（万达店）", city="福州市")  # a chain's other shop: a trap
    summary = duplicates_scan(actor=org.owner)
    assert (summary.customers, summary.pairs, summary.new) == (7, 4, 4)
    assert _pairs() == {
        (a.pk, b.pk, "duplicate", "pending"), (a.pk, c.pk, "duplicate", "pending"),
        (b.pk, c.pk, "duplicate", "pending"), (x.pk, y.pk, "possible", "pending"),
    }  # fmt: skip
    reasons = DuplicatePair.objects.get(left_id=a.pk, right_id=b.pk).reasons
    assert reasons[-1][:3] == ["address", "exact", 7.0] and any(r[0] == "name" and r[2] > 0 for r in reasons)

    pair = DuplicatePair.objects.get(left_id=x.pk)
    duplicate_decide(actor=org.owner, pair_id=pair.pk, action="dismiss")
    again = duplicates_scan(actor=org.owner)
    assert again.new == 0 and DuplicatePair.objects.get(pk=pair.pk).status == "dismissed"
    settings_row = selectors.dedupe_settings()
    assert settings_row.last_scan_by == org.owner and settings_row.last_scan_stats["pairs"] == 4


def test_scan_drops_pairs_of_deleted_customers_and_ones_no_longer_found(org: Org) -> None:
    _a, b, c = _trio(org.owner)
    duplicates_scan(actor=org.owner)
    customer_delete(actor=org.admin, customer_id=c.pk)
    # b no longer looks like a (an update that leaves the names alone refreshes the matcher's view too)
    customer_update(actor=org.owner, customer_id=b.pk, data={"address": "", "city": "北京市"})
    summary = duplicates_scan(actor=org.owner)
    assert summary.removed == 3 and _pairs() == set()


def test_scan_covers_only_the_actors_scope(org: Org) -> None:
    _trio(org.outsider)
    mine = _possible(org.owner)
    assert duplicates_scan(actor=org.owner).pairs == 1
    assert _pairs() == {(mine[0].pk, mine[1].pk, "possible", "pending")}
    assert list(selectors.pair_list(actor=org.outsider)) == []
    duplicates_scan(actor=org.admin)
    assert selectors.pair_list(actor=org.outsider).count() == 3
    assert selectors.pair_list(actor=org.owner).count() == 1  # the outsider's pairs stay hidden


def test_merge_decision_merges_and_repoints_the_other_pairs(org: Org) -> None:
    a, b, c = _trio(org.owner)
    duplicates_scan(actor=org.admin)
    ab = DuplicatePair.objects.get(left_id=a.pk, right_id=b.pk)
    with pytest.raises(PermissionDenied):  # sales may not delete, so may not merge
        duplicate_decide(actor=org.owner, pair_id=ab.pk, action="merge")
    with pytest.raises(NotFound):
        duplicate_decide(actor=org.outsider, pair_id=ab.pk, action="dismiss")
    bc = DuplicatePair.objects.get(left_id=b.pk, right_id=c.pk)
    decided = duplicate_decide(actor=org.manager, pair_id=bc.pk, action="merge", survivor_id=c.pk)
    assert decided.status == "merged" and decided.decided_by == org.manager and decided.merge_id is not None
    merge = CustomerMerge.objects.get(pk=decided.merge_id)
    assert (merge.survivor_id, merge.merged_ids) == (c.pk, [b.pk])
    assert not Customer.objects.filter(pk=b.pk).exists()
    # a~b pointed at the merged-away b: it now compares a with the survivor c, which a~c already
    # does, so it is dropped rather than repeated.
    pending = {(p.left_id, p.right_id) for p in selectors.pair_list(actor=org.manager)}
    assert pending == {(a.pk, c.pk)}
    ac = DuplicatePair.objects.get(left_id=a.pk, right_id=c.pk)
    duplicate_decide(actor=org.manager, pair_id=ac.pk, action="dismiss")
    with pytest.raises(Conflict):  # decided already
        duplicate_decide(actor=org.manager, pair_id=ac.pk, action="merge")


def test_repointing_keeps_a_pair_with_a_third_customer(org: Org) -> None:
    a, b, c = _trio(org.owner)
    ab = DuplicatePair.objects.create(left_id=a.pk, right_id=b.pk, score=20, band="duplicate")
    bc = DuplicatePair.objects.create(left_id=b.pk, right_id=c.pk, score=18, band="duplicate")
    duplicate_decide(actor=org.manager, pair_id=ab.pk, action="merge")  # the older, a, survives
    bc.refresh_from_db()
    assert (bc.left_id, bc.right_id, bc.status) == (a.pk, c.pk, "pending")


def test_bulk_merge_reports_each_pair_and_skips_handled_ones(org: Org) -> None:
    a, _b, _c = _trio(org.owner)
    x, _y = _possible(org.owner)
    duplicates_scan(actor=org.admin)
    ids = list(DuplicatePair.objects.order_by("left_id", "right_id").values_list("pk", flat=True))
    with pytest.raises(PermissionDenied):
        duplicates_merge_bulk(actor=org.owner, pair_ids=ids)
    outcomes = duplicates_merge_bulk(actor=org.manager, pair_ids=[*ids, 999_999])
    by_status = [o.status for o in outcomes]
    # a~b, a~c merge (a survives); b~c became a self-pair and is gone; x~y merges; 999999 never existed.
    assert by_status.count("merged") == 3 and by_status.count("skipped") == 2 and "failed" not in by_status
    assert set(Customer.objects.values_list("pk", flat=True)) == {a.pk, x.pk}
    assert {o.survivor_id for o in outcomes if o.status == "merged"} == {a.pk, x.pk}


def test_unmerged_pairs_return_to_the_queue_on_the_next_scan(org: Org) -> None:
    a, b, _c = _trio(org.owner)
    duplicates_scan(actor=org.admin)
    ab = DuplicatePair.objects.get(left_id=a.pk, right_id=b.pk)
    decided = duplicate_decide(actor=org.admin, pair_id=ab.pk, action="merge")
    assert decided.merge_id is not None
    customer_unmerge(actor=org.admin, merge_id=decided.merge_id)
    duplicates_scan(actor=org.admin)
    assert DuplicatePair.objects.get(pk=ab.pk).status == "pending"


def test_auto_merge_is_opt_in(org: Org) -> None:
    a, _b, _c = _trio(org.owner)
    x, y = _possible(org.owner)
    assert duplicates_scan(actor=org.admin).merged == 0 and Customer.objects.count() == 5
    with pytest.raises(PermissionDenied):
        dedupe_settings_update(
            actor=org.manager, duplicate_threshold=11.5, possible_threshold=8, auto_merge_duplicates=True
        )
    dedupe_settings_update(actor=org.admin, duplicate_threshold=11.5, possible_threshold=8, auto_merge_duplicates=True)
    summary = duplicates_scan(actor=org.admin)
    # The three records of one restaurant become one (two merges, logged as the admin's); the
    # possible pair waits for a person.
    assert summary.merged == 2 and summary.merge_failures == 0
    assert set(Customer.objects.values_list("pk", flat=True)) == {a.pk, x.pk, y.pk}
    assert set(CustomerMerge.objects.values_list("actor__username", flat=True)) == {"admin"}
    assert {(p.left_id, p.right_id) for p in selectors.pair_list(actor=org.admin)} == {(x.pk, y.pk)}


def test_thresholds_from_settings_apply_to_the_scan(org: Org) -> None:
    _possible(org.owner)
    DedupeSettings.objects.create(pk=1, duplicate_threshold=30, possible_threshold=12)
    assert duplicates_scan(actor=org.admin).pairs == 0  # 10.9 is below the raised possible score
    config = selectors.match_config()
    assert (config.duplicate, config.possible) == (30, 12)
