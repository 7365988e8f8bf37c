"""A leaving salesperson's open opportunities, for the handover (``pearl.core.handover``; the handover
service has checked the actor and moved the customers first): an opportunity follows its customer
when the customer's new owner is one of the receivers, the others go to the receivers in turn."""

from __future__ import annotations

from collections.abc import Sequence

from pearl.accounts.models import User
from pearl.pipelines.choices import OpportunityStatus
from pearl.pipelines.models import Opportunity
from pearl.pipelines.services.opportunities import opportunities_transfer


def open_opportunity_count(from_user_id: int) -> int:
    """The handover preview: how many open opportunities the leaving user owns."""
    return Opportunity.objects.filter(owner_id=from_user_id, status=OpportunityStatus.OPEN).count()


def opportunities_handover(*, actor: User, from_user_id: int, to_user_ids: Sequence[int]) -> int:
    receivers = [pk for pk in to_user_ids if pk != from_user_id]
    if not receivers:
        return 0
    customers = sorted(
        set(
            Opportunity.objects.filter(owner_id=from_user_id, status=OpportunityStatus.OPEN).values_list(
                "customer_id", "customer__owner_id"
            )
        )
    )
    groups: dict[int, list[int]] = {}
    turn = 0
    for customer_id, owner_id in customers:
        if owner_id in receivers:
            to = owner_id
        else:
            to, turn = receivers[turn % len(receivers)], turn + 1
        groups.setdefault(to, []).append(customer_id)
    return sum(
        opportunities_transfer(actor=actor, from_user=from_user_id, to_user=to, customer_ids=ids)
        for to, ids in groups.items()
    )
