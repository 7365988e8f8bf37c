"""/api/v1 public pool: pools, their customers, claim and release, protection, handover.

Thin: a selector or a service, then the answer. Pools a person may not see are 404; a claim refused
by the pool's rules or lost to a colleague is 409 with a message saying why.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Status

from pearl.core.api import (
    IDEMPOTENCY_OPENAPI,
    PAGE_PARAMS,
    PageParams,
    api_actor,
    check_id,
    problem_responses,
    reject_unknown_params,
)
from pearl.customers.models import Customer
from pearl.pools import selectors, services
from pearl.pools.models import CustomerProtection, PoolEntry
from pearl.pools.schemas import (
    ClaimIn,
    HandoverIn,
    HandoverOut,
    OwnershipOut,
    PoolCustomerPage,
    PoolEntryOut,
    PoolPage,
    ProtectionIn,
    ProtectionOut,
    ReleaseIn,
)

router = Router()

_LIST_ERRORS = problem_responses(401, 422)
_READ_ERRORS = problem_responses(401, 404, 422)
_WRITE_ERRORS = problem_responses(400, 401, 403, 404, 409, 422)


def _ownership(customer: Customer) -> dict[str, Any]:
    return {"customer": customer.pk, "owner": customer.owner_id, "team": customer.team_id, "version": customer.version}


def _entry(entry: PoolEntry) -> dict[str, Any]:
    return {
        "customer": entry.customer_id,
        "pool": entry.pool_id,
        "entered_at": entry.entered_at,
        "reason": entry.reason,
        "previous_owner": entry.previous_owner_id,
    }


def _protection(p: CustomerProtection) -> dict[str, Any]:
    return {"customer": p.customer_id, "protected_by": p.protected_by_id, "reason": p.reason, "at": p.at}


@router.get("/pools", response={200: PoolPage, **_LIST_ERRORS}, tags=["pools"])
def list_pools(request: HttpRequest) -> dict[str, Any]:
    """The public pools you may claim from, with how many customers lie in each."""
    reject_unknown_params(request, ())
    pools = list(selectors.pool_list(actor=api_actor(request)))
    return {"items": pools, "count": len(pools)}


@router.get("/pools/{int:id}/customers", response={200: PoolCustomerPage, **_READ_ERRORS}, tags=["pools"])
def list_pool_customers(request: HttpRequest, id: int, filters: Query[PageParams]) -> dict[str, Any]:
    """Customers in the pool, newest first, with your claim quota. Contact details are masked
    (138****5678) while unclaimed when the pool masks contacts."""
    reject_unknown_params(request, PAGE_PARAMS)
    check_id(id, _("Pool not found."))
    actor = api_actor(request)
    pool, rows, count = selectors.pool_customers(actor=actor, pool_id=id, limit=filters.limit, offset=filters.offset)
    quota = selectors.claim_quota(actor=actor, pool=pool)
    return {
        "items": [
            {"customer": r.customer_id, **{k: v for k, v in r.__dict__.items() if k != "customer_id"}} for r in rows
        ],
        "count": count,
        "quota": quota.__dict__,
    }


@router.post(
    "/pools/{int:id}/claim",
    response={200: OwnershipOut, **_WRITE_ERRORS},
    tags=["pools"],
    openapi_extra=IDEMPOTENCY_OPENAPI,
)
def claim_pool_customer(request: HttpRequest, id: int, payload: ClaimIn) -> dict[str, Any]:
    """Claim a customer: it becomes yours. 409 when someone claimed it first or a limit of the
    pool stops you (``reason``: already_claimed, max_held, daily_quota, cooldown)."""
    check_id(id, _("Pool not found."))
    check_id(payload.customer, _("This customer is not in the pool."))
    customer = services.pool_claim(actor=api_actor(request), pool_id=id, customer_id=payload.customer)
    return _ownership(customer)


@router.post(
    "/pools/{int:id}/release",
    response={201: PoolEntryOut, **_WRITE_ERRORS},
    tags=["pools"],
    openapi_extra=IDEMPOTENCY_OPENAPI,
)
def release_pool_customer(request: HttpRequest, id: int, payload: ReleaseIn) -> Status[dict[str, Any]]:
    """Give one of your customers back to the pool, saying why."""
    check_id(id, _("Pool not found."))
    check_id(payload.customer, _("Customer not found."))
    entry = services.pool_release(
        actor=api_actor(request), customer_id=payload.customer, pool_id=id, reason=payload.reason
    )
    return Status(201, _entry(entry))


@router.put("/customers/{int:id}/protection", response={200: ProtectionOut, **_WRITE_ERRORS}, tags=["pools"])
def protect_customer(request: HttpRequest, id: int, payload: ProtectionIn) -> dict[str, Any]:
    """Protect a customer from reclaim (managers)."""
    check_id(id, _("Customer not found."))
    protection = services.customer_protection_set(actor=api_actor(request), customer_id=id, reason=payload.reason)
    return _protection(protection)


@router.delete("/customers/{int:id}/protection", response={204: None, **_WRITE_ERRORS}, tags=["pools"])
def unprotect_customer(request: HttpRequest, id: int) -> Status[None]:
    """Let the reclaim rules apply to the customer again (managers)."""
    check_id(id, _("Customer not found."))
    services.customer_protection_remove(actor=api_actor(request), customer_id=id)
    return Status(204, None)


@router.post(
    "/users/{int:id}/handover",
    response={200: HandoverOut, **_WRITE_ERRORS},
    tags=["pools"],
    openapi_extra=IDEMPOTENCY_OPENAPI,
)
def handover_user(request: HttpRequest, id: int, payload: HandoverIn) -> dict[str, Any]:
    """Hand everything a user holds over to others, round-robin (administrators). ``dry_run``
    (the default) only counts; then confirm with ``dry_run: false``."""
    check_id(id, _("User not found."))
    plan = services.user_handover(
        actor=api_actor(request),
        from_user_id=id,
        to_user_ids=payload.to,
        deactivate=payload.deactivate,
        dry_run=payload.dry_run,
    )
    return {
        "from_user": plan.from_user_id,
        "to": plan.to_user_ids,
        "counts": plan.counts,
        "moved": plan.moved,
        "customers_per_receiver": plan.customers_per_receiver,
        "dry_run": plan.dry_run,
        "deactivated": plan.deactivated,
    }
