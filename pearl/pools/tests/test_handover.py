from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from pearl.accounts.models import User
from pearl.activities.models import TimelineEvent
from pearl.core import handover
from pearl.core.errors import NotFound, PermissionDenied, ValidationFailed
from pearl.core.models import ChangeLog
from pearl.core.testing.personas import Org
from pearl.customers.models import Customer
from pearl.customers.tests.factories import make_customer
from pearl.pools.services import user_handover

pytestmark = pytest.mark.django_db


@pytest.fixture
def fake_tasks() -> Iterator[list[dict[str, Any]]]:
    moved: list[dict[str, Any]] = []

    def transfer(*, actor: Any, from_user_id: int, to_user_ids: list[int]) -> int:
        moved.append({"from": from_user_id, "to": to_user_ids})
        return 2

    real = next((h for h in handover.registered() if h.name == "tasks"), None)
    handover.register("tasks", lambda user_id: 2, transfer)
    yield moved
    handover.unregister("tasks")
    if real is not None:  # the reminders app's own hook, for the tests that follow
        handover.register(real.name, real.count_fn, real.transfer_fn)


def test_preview_counts_and_moves_nothing(org: Org, fake_tasks: list[dict[str, Any]]) -> None:
    for _ in range(3):
        make_customer(org.owner)
    plan = user_handover(
        actor=org.admin, from_user_id=org.owner.pk, to_user_ids=[org.teammate.pk], deactivate=True, dry_run=True
    )
    assert plan.counts == {"customers": 3, "leads": 0, "opportunities": 0, "tasks": 2} and plan.moved == {}
    assert plan.customers_per_receiver == {org.teammate.pk: 3}
    assert Customer.objects.filter(owner=org.owner).count() == 3
    assert fake_tasks == [] and User.objects.get(pk=org.owner.pk).is_active


def test_confirm_spreads_customers_round_robin_with_history(org: Org, fake_tasks: list[dict[str, Any]]) -> None:
    ids = [make_customer(org.owner).pk for _ in range(5)]
    plan = user_handover(
        actor=org.admin,
        from_user_id=org.owner.pk,
        to_user_ids=[org.teammate.pk, org.outsider.pk],
        deactivate=True,
        dry_run=False,
    )
    owners = list(Customer.objects.filter(pk__in=ids).order_by("pk").values_list("owner_id", flat=True))
    t, o = org.teammate.pk, org.outsider.pk
    assert owners == [t, o, t, o, t]
    assert plan.moved == {"customers": 5, "leads": 0, "opportunities": 0, "tasks": 2} and plan.deactivated
    assert plan.customers_per_receiver == {t: 3, o: 2}
    assert fake_tasks == [{"from": org.owner.pk, "to": [t, o]}]
    assert not User.objects.get(pk=org.owner.pk).is_active
    assert not Customer.objects.filter(owner=org.owner).exists()  # nothing orphaned
    events = TimelineEvent.objects.filter(customer_id__in=ids, kind="ownership", payload__action="handover")
    assert events.count() == 5
    assert {e.payload["previous_owner"] for e in events} == {org.owner.pk}
    assert ChangeLog.objects.filter(root_id__in=ids, changes__owner__0=org.owner.pk).count() == 5
    # team follows the new owner
    assert Customer.objects.get(pk=ids[1]).team_id == org.team_b.pk


def test_an_inactive_receiver_is_refused_and_nothing_moves(org: Org) -> None:
    customer = make_customer(org.owner)
    User.objects.filter(pk=org.teammate.pk).update(is_active=False)
    with pytest.raises(ValidationFailed) as refused:
        user_handover(
            actor=org.admin,
            from_user_id=org.owner.pk,
            to_user_ids=[org.outsider.pk, org.teammate.pk],
            deactivate=False,
            dry_run=False,
        )
    assert "deactivated" in str(refused.value.message)
    assert Customer.objects.get(pk=customer.pk).owner_id == org.owner.pk


def test_the_leaving_user_cannot_receive(org: Org) -> None:
    with pytest.raises(ValidationFailed):
        user_handover(
            actor=org.admin, from_user_id=org.owner.pk, to_user_ids=[org.owner.pk], deactivate=False, dry_run=True
        )
    with pytest.raises(ValidationFailed):
        user_handover(actor=org.admin, from_user_id=org.owner.pk, to_user_ids=[], deactivate=False, dry_run=True)


def test_only_administrators_hand_over(org: Org) -> None:
    make_customer(org.owner)
    for actor in (org.manager, org.outsider):
        with pytest.raises(PermissionDenied):
            user_handover(
                actor=actor, from_user_id=org.owner.pk, to_user_ids=[org.teammate.pk], deactivate=False, dry_run=True
            )
    with pytest.raises(NotFound):
        user_handover(
            actor=org.admin, from_user_id=10**9, to_user_ids=[org.teammate.pk], deactivate=False, dry_run=True
        )
    assert Customer.objects.filter(owner=org.owner).count() == 1


def test_a_failing_hook_rolls_everything_back(org: Org) -> None:
    customer = make_customer(org.owner)

    def broken(*, actor: Any, from_user_id: int, to_user_ids: list[int]) -> int:
        raise RuntimeError("boom")

    handover.register("broken", lambda user_id: 1, broken)
    try:
        with pytest.raises(RuntimeError):
            user_handover(
                actor=org.admin,
                from_user_id=org.owner.pk,
                to_user_ids=[org.teammate.pk],
                deactivate=True,
                dry_run=False,
            )
    finally:
        handover.unregister("broken")
    assert Customer.objects.get(pk=customer.pk).owner_id == org.owner.pk
    assert User.objects.get(pk=org.owner.pk).is_active
    assert not TimelineEvent.objects.filter(customer=customer, kind="ownership").exists()
