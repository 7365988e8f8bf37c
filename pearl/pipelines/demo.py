"""The demo company's opportunities: ~10 % of the customers in the default pipeline, at every stage.

Every opportunity goes through ``opportunity_create`` and ``opportunity_move`` as its owner, so its stage
history, change log and timeline entries are the services' own: created in the first stage, moved forwards
stage by stage to where it stands now; won ones past the last open stage, lost ones from where they got to,
with a reason. At ~7 ms per service call (~3.5 calls each) that is capped at ``MAX_OPPORTUNITIES`` (reached
from 3,000 customers), so a million-customer demo spends the same few seconds here as a small one.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction

from pearl.accounts.models import User
from pearl.customers.models import Customer
from pearl.pipelines.choices import StageKind
from pearl.pipelines.models import Opportunity
from pearl.pipelines.selectors import default_pipeline
from pearl.pipelines.services import opportunity_create, opportunity_move

SHARE = 0.10
MAX_OPPORTUNITIES = 300
DEALS = ("年度海鲜供应", "春节年货采购", "冻品月结合作", "酒楼开业备货", "活鲜长期供货", "中秋礼盒团购")
LOSS_REASONS = ("价格比同行高", "对方选了本地供应商", "账期谈不拢", "需求取消", "送货时间配合不了")
# (where it ends, weight): an open stage by index among the open ones, or won / lost.
WON, LOST = -1, -2


@dataclass
class OpportunitiesResult:
    opportunities: int = 0
    by_stage: dict[str, int] = field(default_factory=dict)


def opportunity_count(customers: int) -> int:
    return min(MAX_OPPORTUNITIES, round(customers * SHARE))


def build_opportunities(*, customers: int, seed: int, now: dt.datetime) -> OpportunitiesResult:
    """Opportunities on a sample of owned customers (none when there are opportunities already)."""
    result = OpportunitiesResult()
    if Opportunity.objects.exists():
        return result
    admin = User.objects.get(username="admin")
    pipeline = default_pipeline(actor=admin)
    if pipeline is None:
        return result
    stages = list(pipeline.stages.order_by("order", "id"))
    opens = [s for s in stages if s.kind == StageKind.OPEN]
    won = next((s for s in stages if s.kind == StageKind.WON), None)
    lost = next((s for s in stages if s.kind == StageKind.LOST), None)
    if not opens:
        return result
    rng = random.Random(f"{seed}/opportunities")
    wanted = opportunity_count(customers)
    owned = list(
        Customer.objects.filter(owner__isnull=False, status__in=["active", "prospect"])
        .order_by("-id")
        .values_list("id", "owner_id", "short_name", "name")[: wanted * 5]
    )
    picked = rng.sample(owned, min(wanted, len(owned)))
    owners = {u.pk: u for u in User.objects.filter(pk__in={row[1] for row in picked})}
    ends = [(i, 10) for i in range(len(opens))] + [(WON, 12 if won else 0), (LOST, 8 if lost else 0)]
    with transaction.atomic():
        for customer_id, owner_id, short, name in picked:
            owner = owners[owner_id]
            end = rng.choices([e for e, _w in ends], weights=[w for _e, w in ends])[0]
            opportunity = opportunity_create(
                actor=owner,
                customer_id=customer_id,
                name=f"{short or name}·{rng.choice(DEALS)}"[:100],
                amount=Decimal(rng.randint(10, 600) * 500),
                pipeline_id=pipeline.pk,
                expected_close_date=(now + dt.timedelta(days=rng.randint(7, 90))).date(),
            )
            last_open = len(opens) - 1 if end == WON else (rng.randrange(len(opens)) if end == LOST else end)
            for stage in opens[1 : last_open + 1]:
                opportunity = opportunity_move(actor=owner, opportunity_id=opportunity.pk, stage_id=stage.pk)
            if end == WON and won is not None:
                opportunity = opportunity_move(actor=owner, opportunity_id=opportunity.pk, stage_id=won.pk)
            elif end == LOST and lost is not None:
                opportunity = opportunity_move(
                    actor=owner, opportunity_id=opportunity.pk, stage_id=lost.pk, loss_reason=rng.choice(LOSS_REASONS)
                )
            stage_name = next(s.name for s in stages if s.pk == opportunity.stage_id)
            result.by_stage[stage_name] = result.by_stage.get(stage_name, 0) + 1
            result.opportunities += 1
    return result
