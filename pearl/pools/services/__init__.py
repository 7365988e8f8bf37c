"""Writes of the public pool: claim, release, protection, the reclaim sweep, handover, pool settings."""

from pearl.pools.services.claims import customer_protection_remove, customer_protection_set, pool_claim, pool_release
from pearl.pools.services.handover import HandoverPlan, user_handover
from pearl.pools.services.reclaim import reclaim_sweep
from pearl.pools.services.settings import pool_create, pool_update

__all__ = [
    "HandoverPlan",
    "customer_protection_remove",
    "customer_protection_set",
    "pool_claim",
    "pool_create",
    "pool_release",
    "pool_update",
    "reclaim_sweep",
    "user_handover",
]
