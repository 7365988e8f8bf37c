"""Pool settings (administrators): create and change pools and their rules."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from pearl.accounts.models import Team, User
from pearl.core.changes import created, diff, record_change, snapshot
from pearl.core.errors import NotFound, PreconditionFailed, ValidationFailed
from pearl.core.models import ChangeAction
from pearl.core.permissions import require
from pearl.pools.models import Pool

POOL_FIELDS = (
    "name", "provinces", "reclaim_after_days_without_follow_up", "reclaim_after_days_without_deal",
    "warn_days_before", "max_customers_per_person", "daily_claim_quota", "cooldown_days", "mask_contacts",
    "active", "is_default",
)  # fmt: skip
_OPTIONAL_NUMBERS = {"reclaim_after_days_without_deal", "max_customers_per_person", "daily_claim_quota"}
_NUMBERS = {"reclaim_after_days_without_follow_up", "warn_days_before", "cooldown_days"}


def _clean(data: dict[str, Any], pool: Pool | None) -> tuple[dict[str, Any], list[Team] | None]:
    errors: dict[str, list[str]] = {}
    out: dict[str, Any] = {}
    for key in sorted(set(data) - set(POOL_FIELDS) - {"teams"}):
        errors[key] = [_("Unknown field %(field)s.") % {"field": key}]
    if "name" in data or pool is None:
        name = str(data.get("name") or "").strip()
        if not name or len(name) > 64:
            errors["name"] = [_("Enter a name of at most 64 characters.")]
        out["name"] = name
    for key in _NUMBERS | _OPTIONAL_NUMBERS:
        if key not in data:
            continue
        value = data[key]
        if value in (None, "") and key in _OPTIONAL_NUMBERS:
            out[key] = None
            continue
        try:
            number = int(value)
        except (TypeError, ValueError):
            number = -1
        minimum = 1 if key == "reclaim_after_days_without_follow_up" else 0
        if number < minimum or number > 3650:
            errors[key] = [_("Enter a whole number from %(min)d to 3650.") % {"min": minimum}]
        out[key] = number
    if "provinces" in data:
        raw = data["provinces"] or []
        if isinstance(raw, str):
            raw = raw.replace("，", ",").split(",")
        if not isinstance(raw, list) or not all(isinstance(p, str) for p in raw):
            errors["provinces"] = [_("List provinces by name.")]
        else:
            out["provinces"] = [p.strip() for p in raw if p.strip()]
    for key in ("mask_contacts", "active", "is_default"):
        if key in data:
            out[key] = bool(data[key])
    teams: list[Team] | None = None
    if "teams" in data:
        ids = [int(getattr(t, "pk", t)) for t in (data["teams"] or [])]
        teams = list(Team.objects.filter(pk__in=ids))
        if len(teams) != len(set(ids)):
            errors["teams"] = [_("Choose a team.")]
    if errors:
        raise ValidationFailed(next(iter(errors.values()))[0], field_errors=errors)
    return out, teams


def _save(actor: User, pool: Pool, values: dict[str, Any], teams: list[Team] | None) -> None:
    if values.get("is_default"):
        Pool.objects.filter(is_default=True).exclude(pk=pool.pk).update(is_default=False)
    switched_on = values.get("active", pool.active) and (pool._state.adding or not pool.active)
    for key, value in values.items():
        setattr(pool, key, value)
    if switched_on:
        pool.rules_since = timezone.now()
    pool.save()
    if teams is not None:
        pool.teams.set(teams)


@transaction.atomic
def pool_create(*, actor: User, data: dict[str, Any]) -> Pool:
    require(actor, "manage_settings")
    values, teams = _clean(data, None)
    pool = Pool()
    _save(actor, pool, values, teams)
    record_change(
        actor=actor, action=ChangeAction.CREATE, instance=pool, changes=created(snapshot(pool, list(POOL_FIELDS)))
    )
    return pool


@transaction.atomic
def pool_update(*, actor: User, pool_id: int, data: dict[str, Any], expected_version: int | None = None) -> Pool:
    require(actor, "manage_settings")
    pool = Pool.objects.select_for_update().filter(pk=pool_id).first()
    if pool is None:
        raise NotFound(_("Pool not found."))
    if expected_version is not None and int(expected_version) != pool.version:
        raise PreconditionFailed(_("Someone else changed this pool meanwhile. Reload and apply your change again."))
    before = snapshot(pool, list(POOL_FIELDS))
    values, teams = _clean(data, pool)
    _save(actor, pool, values, teams)
    changes = diff(before, snapshot(pool, list(POOL_FIELDS)))
    if changes:
        Pool.objects.filter(pk=pool.pk).update(version=pool.version + 1)
        pool.version += 1
        record_change(actor=actor, action=ChangeAction.UPDATE, instance=pool, changes=changes)
    return pool
