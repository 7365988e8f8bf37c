"""The opportunities section of the customer's 360° page (registered in ``PipelinesConfig.ready``
through ``core.profile_panels``): the customer's open opportunities and how many were won or lost."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, F, Q, Window
from django.db.models.functions import RowNumber

from pearl.customers.models import Customer
from pearl.pipelines.choices import OpportunityStatus
from pearl.pipelines.models import Opportunity
from pearl.pipelines.selectors import opportunity_visible

SHOWN = 10  # open opportunities listed; the rest are behind the "all" link


@dataclass(frozen=True)
class CustomerOpportunities:
    open: list[Opportunity]
    open_count: int
    won_count: int
    lost_count: int

    @property
    def closed_count(self) -> int:
        return self.won_count + self.lost_count

    @property
    def more(self) -> int:
        return self.open_count - len(self.open)


def customer_opportunities(actor: Any, customer: Customer) -> CustomerOpportunities:
    """The opportunities of ``customer`` (already read in the actor's scope) the actor may see.

    One query through the customer's foreign-key index: each status's rows are numbered and counted
    by window functions, and only the first ``SHOWN`` open ones and one row of each closed status
    (which carries that status's count) come back — a customer with hundreds of closed deals costs
    the same as one with none.
    """
    rows = list(
        opportunity_visible(actor=actor)
        .filter(customer_id=customer.pk)
        .select_related("stage", "owner")
        .annotate(
            status_rank=Window(
                RowNumber(),
                partition_by=[F("status")],
                order_by=[F("expected_close_date").asc(nulls_last=True), F("pk").desc()],
            ),
            status_count=Window(Count("pk"), partition_by=[F("status")]),
        )
        .filter(Q(status=OpportunityStatus.OPEN, status_rank__lte=SHOWN) | Q(status_rank=1))
        .order_by("status_rank")
    )
    counts = {row.status: row.status_count for row in rows}
    return CustomerOpportunities(
        open=[row for row in rows if row.status == OpportunityStatus.OPEN],
        open_count=counts.get(OpportunityStatus.OPEN, 0),
        won_count=counts.get(OpportunityStatus.WON, 0),
        lost_count=counts.get(OpportunityStatus.LOST, 0),
    )
