"""The demo company's public pool: a handful of customers their owners gave back, so 公海 is not empty.

Each goes through ``pool_release`` by its owner with a reason (ownership change, change log, timeline and
pool entry as in real use). The default pool itself is switched on by ``pearl.customers.demo``.
"""

from __future__ import annotations

import random

from django.db import transaction

from pearl.accounts.models import User
from pearl.customers.models import Customer
from pearl.pools.models import PoolEntry
from pearl.pools.selectors import pool_settings_list
from pearl.pools.services import pool_release

RELEASED = 12
REASONS = (
    "联系不上，电话一直没人接",
    "店已转让，新老板不认识",
    "只买过一次，没有后续需求",
    "离得太远，送货不划算",
    "换了采购，暂时跟不进去",
)


def build_pool(*, seed: int) -> int:
    """Released customers (none when the pool holds some already); returns how many."""
    if PoolEntry.objects.exists():
        return 0
    admin = User.objects.get(username="admin")
    pool = pool_settings_list(actor=admin).filter(is_default=True, active=True).first()
    if pool is None:
        return 0
    rng = random.Random(f"{seed}/pool")
    candidates = list(
        Customer.objects.filter(owner__isnull=False, status__in=["dormant", "closed"])
        .order_by("id")
        .values_list("id", "owner_id")[: RELEASED * 10]
    )
    picked = rng.sample(candidates, min(RELEASED, len(candidates)))
    owners = {u.pk: u for u in User.objects.filter(pk__in={owner for _c, owner in picked})}
    with transaction.atomic():
        for customer_id, owner_id in picked:
            pool_release(actor=owners[owner_id], customer_id=customer_id, pool_id=pool.pk, reason=rng.choice(REASONS))
    return len(picked)
