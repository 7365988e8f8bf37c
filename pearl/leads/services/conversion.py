"""Turning a lead into a customer and contact, never into a second copy of a customer we have.

The lead's mobile, WeChat id and email are looked up among the identities first (global: identities
are unique), then the duplicate matcher is asked (as every create path does); a company of the same
legal name counts too. Only when nobody is found is a customer created, through the customer services.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from pearl.accounts.models import User
from pearl.activities.choices import TimelineKind
from pearl.activities.services.timeline import NewEvent, timeline_record
from pearl.core import duplicates
from pearl.core.changes import diff, record_change
from pearl.core.errors import Conflict, NotFound, ValidationFailed
from pearl.core.events import emit
from pearl.core.models import ChangeAction
from pearl.core.permissions import require
from pearl.core.text import normalize_company_name
from pearl.customers.choices import CustomerKind, IdentityKind
from pearl.customers.selectors import companies_by_name, identity_holders
from pearl.customers.services import customer_create
from pearl.leads.choices import LeadStatus
from pearl.leads.models import Lead
from pearl.leads.services.leads import check_version, lead_snapshot, lock_lead
from pearl.pipelines.services import opportunity_create

SUBJECT_TYPE = "leads.lead"


@dataclass
class Conversion:
    lead: Lead
    customer_id: int
    reused: bool
    matched_by: str  # "mobile" | "wechat" | "email" | "name" | "matcher" | "" (created)
    opportunity_id: int | None = None


def _existing_customer(actor: User, lead: Lead) -> tuple[int | None, str]:
    pairs = [
        (kind, value)
        for kind, value in (
            (IdentityKind.MOBILE, lead.mobile),
            (IdentityKind.WECHAT, lead.wechat),
            (IdentityKind.EMAIL, lead.email),
        )
        if value
    ]
    held = identity_holders(pairs=[(str(k), v) for k, v in pairs])
    for kind, value in pairs:
        if (str(kind), value) in held:
            return held[(str(kind), value)], str(kind)
    if lead.company:
        by_name = companies_by_name(names=[normalize_company_name(lead.company)])
        if by_name:
            return next(iter(by_name.values())), "name"
    candidate = _candidate(lead)
    found = duplicates.find(actor, candidate).duplicates
    if found:
        best = max(found, key=lambda h: (h.score, -h.customer_id))
        return best.customer_id, "matcher"
    return None, ""


def _candidate(lead: Lead) -> duplicates.Candidate:
    return duplicates.Candidate(
        kind=CustomerKind.COMPANY if lead.company else CustomerKind.INDIVIDUAL,
        name=lead.company or lead.name,
        province=lead.province,
        city=lead.city,
        contact_names=(lead.name,) if lead.name else (),
        mobiles=(lead.mobile,) if lead.mobile else (),
        emails=(lead.email,) if lead.email else (),
        wechats=(lead.wechat,) if lead.wechat else (),
    )


@transaction.atomic
def lead_convert(
    *,
    actor: User,
    lead_id: int,
    expected_version: int | None = None,
    opportunity: Mapping[str, Any] | None = None,
) -> Conversion:
    """Convert an open lead: link it to the customer it already is, or create that customer (owned by
    the lead's owner, the lead's person as primary contact) with an ``ownership`` timeline entry.

    ``opportunity`` (``name``, ``amount``, ``expected_close_date``, ``pipeline``; all optional) also opens
    an opportunity for that customer, owned by the lead's owner, in the same transaction: a bad value
    converts nothing."""
    require(actor, "edit")
    lead = lock_lead(actor, lead_id)
    check_version(lead, expected_version)
    if not lead.is_open:
        raise Conflict(
            _("Only a new or contacted lead can be converted; this one is “%(status)s”.")
            % {"status": lead.get_status_display()},
            extra={"status": lead.status, "customer": lead.converted_customer_id},
        )
    customer_id, matched_by = _existing_customer(actor, lead)
    now = timezone.now()
    if customer_id is None:
        require(actor, "create")
        owner = lead.owner or actor
        data: dict[str, Any] = {
            "kind": CustomerKind.COMPANY if lead.company else CustomerKind.INDIVIDUAL,
            "name": lead.company or lead.name,
            "province": lead.province,
            "city": lead.city,
            "owner": owner.pk,
        }
        if lead.team_id and lead.owner_id:
            data["team"] = lead.team_id
        if lead.source_id:
            data["source"] = lead.source_id
        contact = {"name": lead.name, "mobile": lead.mobile, "email": lead.email, "wechat": lead.wechat,
                   "is_primary": True}  # fmt: skip
        # The matcher was asked above and found nobody: no second question inside customer_create.
        customer = customer_create(actor=actor, data=data, contacts=[contact], allow_duplicate=True)
        customer_id = customer.pk
        timeline_record(
            NewEvent(
                customer_id=customer_id,
                kind=TimelineKind.OWNERSHIP,
                occurred_at=now,
                title=_("From lead “%(lead)s”, assigned to %(owner)s") % {"lead": lead, "owner": owner},
                actor=actor,
                subject=(SUBJECT_TYPE, lead.pk),
                payload={"lead": lead.pk, "owner": owner.pk, "reason": lead.assignment_reason},
            )
        )
    else:
        timeline_record(
            NewEvent(
                customer_id=customer_id,
                kind=TimelineKind.CHANNEL,
                occurred_at=now,
                title=_("Lead “%(lead)s” converted: it was this customer already") % {"lead": lead},
                actor=actor,
                subject=(SUBJECT_TYPE, lead.pk),
                payload={"lead": lead.pk, "matched_by": matched_by},
            )
        )
    opportunity_id = _open_opportunity(actor, lead, customer_id, opportunity) if opportunity is not None else None
    before = lead_snapshot(lead)
    lead.status = LeadStatus.CONVERTED
    lead.converted_customer_id = customer_id
    lead.converted_at = now
    changes = diff(before, lead_snapshot(lead))
    lead.version = F("version") + 1
    lead.save()
    lead.refresh_from_db()
    record_change(actor=actor, action=ChangeAction.UPDATE, instance=lead, changes=changes)
    emit("lead.converted", lead_id=lead.pk, customer_id=customer_id, reused=bool(matched_by), actor_id=actor.pk)
    return Conversion(
        lead=lead,
        customer_id=customer_id,
        reused=bool(matched_by),
        matched_by=matched_by,
        opportunity_id=opportunity_id,
    )


OPPORTUNITY_FIELDS = ("name", "amount", "expected_close_date", "pipeline")


def _open_opportunity(actor: User, lead: Lead, customer_id: int, data: Mapping[str, Any]) -> int:
    unknown = sorted(set(data) - set(OPPORTUNITY_FIELDS))
    if unknown:
        errors = {f"opportunity.{k}": [_("Unknown field %(field)s.") % {"field": k}] for k in unknown}
        raise ValidationFailed(next(iter(errors.values()))[0], field_errors=errors)
    name = str(data.get("name") or "").strip() or default_opportunity_name(lead)
    try:
        created = opportunity_create(
            actor=actor,
            customer_id=customer_id,
            name=name,
            amount=data.get("amount"),
            expected_close_date=data.get("expected_close_date"),
            pipeline_id=data.get("pipeline"),
            owner_id=lead.owner_id,
        )
    except (NotFound, ValidationFailed) as exc:
        if isinstance(exc, ValidationFailed) and "customer" not in exc.field_errors:
            errors = {f"opportunity.{k}": v for k, v in exc.field_errors.items()}
            raise ValidationFailed(exc.message, field_errors=errors) from exc
        # The lead was a customer already, one outside the converter's scope: it may not be given an
        # opportunity by them (and the conversion is not half done without it).
        raise Conflict(
            _(
                "The lead is customer #%(id)d already, which you may not open, so no opportunity can be added to it. "
                "Convert without an opportunity, or ask its owner."
            )
            % {"id": customer_id},
            extra={"customer": customer_id},
        ) from exc
    return created.pk


def default_opportunity_name(lead: Lead) -> str:
    """“深圳海鲜楼 · 蟹类” from what the lead says; the person's name when there is no company."""
    interest = lead.product_interest.name if lead.product_interest_id and lead.product_interest else ""
    return " · ".join(filter(None, [lead.company or lead.name, interest]))[:100]
