"""Leads: created (and assigned in the same transaction) from a page, the API, an import or a channel;
edited, followed up, disqualified, deleted. Field-level changes go to the change log."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, models, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from pearl.accounts.models import Team, User
from pearl.core import context
from pearl.core.changes import created, deleted, diff, record_change, snapshot
from pearl.core.errors import NotFound, PreconditionFailed, ValidationFailed
from pearl.core.events import emit, emit_many
from pearl.core.ids import record_id
from pearl.core.models import ChangeAction, ChangeLog
from pearl.core.permissions import require, scope_q
from pearl.core.phones import normalize_phone
from pearl.core.rows import allocate_ids, insert_rows
from pearl.core.text import clean_spaces, strip_control
from pearl.customers.choices import ChoiceList
from pearl.customers.models import ChoiceOption
from pearl.customers.services.contacts import clean_email, clean_wechat
from pearl.leads.choices import LEAD_TRANSITIONS, FollowUpKind, LeadStatus
from pearl.leads.models import Lead, LeadFollowUp
from pearl.leads.services.assignment import Assigner, may_own_leads, stamp
from pearl.leads.services.notices import notify_assigned
from pearl.sales.models import ProductCategory

LEAD_FIELDS = [
    "name", "company", "mobile", "email", "wechat", "source", "province", "city", "product_interest", "note",
    "status", "disqualify_reason", "owner", "team", "assigned_rule", "assignment_reason", "assigned_at",
    "first_follow_up_at", "converted_customer_id", "converted_at",
]  # fmt: skip
INPUT_FIELDS = (
    "name",
    "company",
    "mobile",
    "email",
    "wechat",
    "source",
    "province",
    "city",
    "product_interest",
    "note",
)
_TEXT_LIMITS = {"name": 64, "company": 200, "province": 32, "city": 32}
NOTE_LIMIT = 4000
SUMMARY_LIMIT = 500


def lead_snapshot(lead: Lead) -> dict[str, Any]:
    return snapshot(lead, LEAD_FIELDS)


def status_error(old: str, new: str) -> str | None:
    if new == old or new in LEAD_TRANSITIONS[old]:
        return None
    allowed = sorted(LEAD_TRANSITIONS[old], key=LeadStatus.values.index)
    return _("A lead cannot go from “%(old)s” to “%(new)s”; from “%(old)s” it can go to: %(allowed)s.") % {
        "old": LeadStatus(old).label,
        "new": LeadStatus(new).label,
        "allowed": "、".join(str(LeadStatus(s).label) for s in allowed) or "—",
    }


@dataclass
class Lookups:
    """Choice rows a batch of leads may name, read once (sources, product categories)."""

    sources: dict[int, ChoiceOption] = field(default_factory=dict)
    categories: dict[int, ProductCategory] = field(default_factory=dict)

    @classmethod
    def for_rows(cls, rows: Sequence[Mapping[str, Any]]) -> Lookups:
        def ids(key: str) -> set[int]:
            out: set[int] = set()
            for row in rows:
                try:
                    value = record_id(row.get(key))
                except (TypeError, ValueError):
                    continue
                if value is not None:
                    out.add(value)
            return out

        source_ids, category_ids = ids("source"), ids("product_interest")
        sources = (
            ChoiceOption.objects.filter(pk__in=source_ids, list_name=ChoiceList.SOURCE, is_active=True)
            if source_ids
            else ChoiceOption.objects.none()
        )
        categories = (
            ProductCategory.objects.filter(pk__in=category_ids) if category_ids else ProductCategory.objects.none()
        )
        return cls(sources={o.pk: o for o in sources}, categories={c.pk: c for c in categories})


def clean_lead(data: Mapping[str, Any], *, instance: Lead | None, lookups: Lookups) -> dict[str, Any]:
    """Validated values of the person-entered fields (relations as model instances); raises
    ValidationFailed with every problem at once."""
    errors: dict[str, list[str]] = {}
    out: dict[str, Any] = {}
    for key in sorted(set(data) - set(INPUT_FIELDS)):
        errors[key] = [_("Unknown field %(field)s.") % {"field": key}]
    for key, limit in _TEXT_LIMITS.items():
        if key in data or (key == "name" and instance is None):
            raw = data.get(key)
            if raw is not None and not isinstance(raw, str):
                errors[key] = [_("Enter text.")]
                continue
            text = clean_spaces(strip_control(raw or ""))
            if len(text) > limit:
                errors[key] = [_("At most %(n)d characters.") % {"n": limit}]
            out[key] = text
    if "name" in out and not out["name"]:
        errors["name"] = [_("Give the person's name.")]
    if "note" in data:
        raw = data["note"]
        if raw is not None and not isinstance(raw, str):
            errors["note"] = [_("Enter text.")]
        else:
            note = strip_control(raw or "").strip()
            if len(note) > NOTE_LIMIT:
                errors["note"] = [_("At most %(n)d characters.") % {"n": NOTE_LIMIT}]
            out["note"] = note
    if "mobile" in data:
        try:
            out["mobile"] = normalize_phone(str(data["mobile"] or ""))
        except ValidationFailed as exc:
            errors["mobile"] = [str(exc.message)]
    if "email" in data:
        email, error = clean_email(data["email"])
        if error:
            errors["email"] = [error]
        out["email"] = email
    if "wechat" in data:
        wechat, error = clean_wechat(data["wechat"])
        if error:
            errors["wechat"] = [error]
        out["wechat"] = wechat
    if "source" in data:
        try:
            source_id = record_id(data["source"])
        except (TypeError, ValueError):
            source_id, errors["source"] = None, [_("Choose one of the listed options.")]
        if source_id is not None:
            option = lookups.sources.get(source_id)
            if option is None:
                errors["source"] = [_("Choose one of the listed options.")]
            out["source"] = option
        elif "source" not in errors:
            out["source"] = None
    if "product_interest" in data:
        try:
            category_id = record_id(data["product_interest"])
        except (TypeError, ValueError):
            category_id, errors["product_interest"] = None, [_("Choose a product category.")]
        if category_id is not None:
            category = lookups.categories.get(category_id)
            if category is None:
                errors["product_interest"] = [_("Choose a product category.")]
            out["product_interest"] = category
        elif "product_interest" not in errors:
            out["product_interest"] = None
    if instance is None and not errors and not (out.get("mobile") or out.get("email") or out.get("wechat")):
        errors["mobile"] = [_("Give at least one way to reach the lead: mobile, email or WeChat id.")]
    if errors:
        raise ValidationFailed(next(iter(errors.values()))[0], field_errors=errors)
    return out


def rule_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """A lead's values as rules read them: relations by id."""
    out = dict(values)
    for key in ("source", "product_interest"):
        value = out.get(key)
        out[key] = getattr(value, "pk", value)
    return out


def _new_lead(actor: Any, values: Mapping[str, Any]) -> Lead:
    lead = Lead(created_by=actor if getattr(actor, "pk", None) else None)
    for key, value in values.items():
        setattr(lead, key, value)
    return lead


@transaction.atomic
def lead_create(*, actor: User, data: Mapping[str, Any]) -> Lead:
    """Create a lead and assign it in the same transaction (first matching rule, else the creator,
    else the creator's team queue); ``assignment_reason`` says which."""
    require(actor, "create")
    values = clean_lead(data, instance=None, lookups=Lookups.for_rows([data]))
    assigner = Assigner.load(creator=actor)
    decision = assigner.decide(rule_values(values))
    assigner.save_pointers()
    lead = _new_lead(actor, values)
    stamp(lead, decision, timezone.now())
    lead.save()
    record_change(actor=actor, action=ChangeAction.CREATE, instance=lead, changes=created(lead_snapshot(lead)))
    notify_assigned(actor, [lead])
    emit("lead.created", lead_id=lead.pk, owner_id=lead.owner_id, actor_id=actor.pk)
    return lead


@dataclass
class BulkResult:
    created: list[Lead]
    errors: dict[int, dict[str, list[str]]]  # row index → messages per field
    by_index: dict[int, Lead] = field(default_factory=dict)  # row index → the lead it became


def _insert(model: type[models.Model], objs: Sequence[models.Model]) -> None:
    """Write new rows with one id allocation and one COPY / executemany, whatever their number (Django's
    ``bulk_create`` splits at SQLite's 999 parameters: a statement per 40 leads)."""
    ids = allocate_ids(model, len(objs))
    fields = list(model._meta.concrete_fields)
    for obj, pk in zip(objs, ids, strict=True):
        obj.pk = pk
    rows = [tuple(f.get_db_prep_save(getattr(obj, f.attname), connection) for f in fields) for obj in objs]
    insert_rows(model._meta.db_table, [str(f.column) for f in fields], rows)
    for obj in objs:
        obj._state.adding = False


@dataclass(frozen=True)
class Fallback:
    """Where a lead goes when no rule assigns it, for arrivals nobody created by hand (a web form, a
    channel): a default owner, else a team's queue, else unassigned."""

    owner: User | None = None
    team: Team | None = None


@transaction.atomic
def leads_create_many(
    *,
    actor: User | None,
    rows: Sequence[Mapping[str, Any]],
    fallback: Fallback | None = None,
    label: str = "",
    notify: bool = True,
) -> BulkResult:
    """Create many leads at once (import, channel batch, web form), assigned set-wise: rules, members
    and their loads read once, the choices made in order in Python, leads and their change log written
    with bulk inserts. Bad rows are reported by index and not written; the good ones are.

    ``actor=None`` is an arrival from outside (a public web form): no permission check, nobody is the
    creator, the change log names ``label``; ``fallback`` then says where unassigned leads go (without
    it, the creator keeps them, or their team's queue). ``notify=False`` tells no owner (a history
    written after the fact, as the demo's)."""
    if actor is not None:
        require(actor, "create")
    lookups = Lookups.for_rows(rows)
    good: list[tuple[int, dict[str, Any]]] = []
    errors: dict[int, dict[str, list[str]]] = {}
    for index, row in enumerate(rows):
        try:
            good.append((index, clean_lead(row, instance=None, lookups=lookups)))
        except ValidationFailed as exc:
            errors[index] = {k: [str(m) for m in v] for k, v in exc.field_errors.items()}
    return _create_clean(actor, good, errors, fallback=fallback, label=label, notify=notify)


@transaction.atomic
def leads_create_clean(*, actor: User, values: Sequence[Mapping[str, Any]], notify: bool = True) -> BulkResult:
    """``leads_create_many`` for values already through ``clean_lead`` (an import cleans each row first
    to find its duplicates, and need not have it cleaned twice); ``by_index`` follows ``values``."""
    require(actor, "create")
    return _create_clean(actor, list(enumerate(values)), {}, fallback=None, label="", notify=notify)


def _create_clean(
    actor: User | None,
    good: Sequence[tuple[int, Mapping[str, Any]]],
    errors: dict[int, dict[str, list[str]]],
    *,
    fallback: Fallback | None,
    label: str,
    notify: bool,
) -> BulkResult:
    if not good:
        return BulkResult(created=[], errors=errors)
    assigner = Assigner.load(creator=actor)
    if fallback is not None:
        assigner.fallback = fallback.owner if may_own_leads(fallback.owner) else None
        assigner.queue_team = fallback.team
    now = timezone.now()
    leads: list[Lead] = []
    by_index: dict[int, Lead] = {}
    for index, values in good:
        lead = _new_lead(actor, values)
        stamp(lead, assigner.decide(rule_values(values)), now)
        lead.created_at = lead.updated_at = now
        leads.append(lead)
        by_index[index] = lead
    assigner.save_pointers()
    _insert(Lead, leads)
    ctx = context.current()
    actor_label = str(getattr(actor, "username", "") or label or "system")[:150]
    _insert(
        ChangeLog,
        [
            ChangeLog(
                occurred_at=now,
                actor=actor if getattr(actor, "pk", None) else None,
                actor_label=actor_label,
                channel=ctx.channel,
                request_id=ctx.request_id,
                action=ChangeAction.CREATE,
                object_type=Lead._meta.label_lower,
                object_id=lead.pk,
                object_repr=str(lead)[:255],
                root_type=Lead._meta.label_lower,
                root_id=lead.pk,
                changes=created(lead_snapshot(lead)),
            )
            for lead in leads
        ],
    )
    if notify:
        notify_assigned(actor, leads)
    actor_id = getattr(actor, "pk", None)
    emit_many("lead.created", [{"lead_id": lead.pk, "owner_id": lead.owner_id, "actor_id": actor_id} for lead in leads])
    return BulkResult(created=leads, errors=errors, by_index=by_index)


def lock_lead(actor: User, lead_id: int) -> Lead:
    """The lead row locked for this transaction; out of scope is the same as missing."""
    lead = Lead.objects.select_for_update().filter(scope_q(actor)).filter(pk=lead_id).first()
    if lead is None:
        raise NotFound(_("Lead not found."))
    return lead


def check_version(lead: Lead, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != lead.version:
        raise PreconditionFailed(
            _("Someone changed this lead in the meantime (now version %(v)d). Reload it and try again.")
            % {"v": lead.version},
            extra={"current_version": lead.version},
        )


def _clean_owner(actor: User, raw: Any) -> User | None:
    try:
        owner_id = record_id(raw)
    except (TypeError, ValueError) as exc:
        raise ValidationFailed(
            _("Choose an active user."), field_errors={"owner": [_("Choose an active user.")]}
        ) from exc
    if owner_id is None:
        return None
    owner = User.objects.filter(pk=owner_id, is_active=True).first()
    if owner is None:
        raise ValidationFailed(_("Choose an active user."), field_errors={"owner": [_("Choose an active user.")]})
    if owner.pk != actor.pk and actor.data_scope == "own":
        message = _("Your role may only assign leads to yourself.")
        raise ValidationFailed(message, field_errors={"owner": [message]})
    return owner


@transaction.atomic
def lead_update(*, actor: User, lead_id: int, data: Mapping[str, Any], expected_version: int | None = None) -> Lead:
    """Change the fields given. ``status`` follows ``LEAD_TRANSITIONS`` (converting goes through
    ``lead_convert``; disqualifying needs a reason); ``owner`` reassigns by hand."""
    require(actor, "edit")
    lead = lock_lead(actor, lead_id)
    check_version(lead, expected_version)
    data = dict(data)
    status = data.pop("status", None)
    reason = data.pop("disqualify_reason", None)
    has_owner = "owner" in data
    owner_raw = data.pop("owner", None)
    values = clean_lead(data, instance=lead, lookups=Lookups.for_rows([data]))
    if status is not None:
        if status not in LeadStatus.values:
            raise ValidationFailed(_("Unknown status."), field_errors={"status": [_("Unknown status.")]})
        if status == LeadStatus.CONVERTED and lead.status != LeadStatus.CONVERTED:
            message = _("Convert the lead to turn it into a customer.")
            raise ValidationFailed(message, field_errors={"status": [message]})
        if error := status_error(lead.status, status):
            raise ValidationFailed(error, field_errors={"status": [error]})
        if status == LeadStatus.DISQUALIFIED and lead.status != status:
            text = clean_spaces(strip_control(str(reason or "")))[:200]
            if not text:
                message = _("Say why the lead is not worth following.")
                raise ValidationFailed(message, field_errors={"disqualify_reason": [message]})
            values["disqualify_reason"] = text
        elif status != LeadStatus.DISQUALIFIED:
            values["disqualify_reason"] = ""
        values["status"] = status
    elif reason is not None and lead.status == LeadStatus.DISQUALIFIED:
        values["disqualify_reason"] = clean_spaces(strip_control(str(reason)))[:200]
    if has_owner:
        owner = _clean_owner(actor, owner_raw)
        if (owner.pk if owner else None) != lead.owner_id:
            values["owner"] = owner
            values["team"] = owner.team if owner else lead.team
            values["assigned_rule"] = None
            values["assigned_at"] = timezone.now() if owner else None
            values["assignment_reason"] = (
                _("Assigned by hand to %(owner)s by %(actor)s") % {"owner": owner, "actor": actor}
                if owner
                else _("Put back in the team queue by %(actor)s") % {"actor": actor}
            )[:255]
            values["first_follow_up_at"] = None
            values["reminded_at"] = None
    before = lead_snapshot(lead)
    for key, value in values.items():
        setattr(lead, key, value)
    changes = diff(before, lead_snapshot(lead))
    if changes:
        lead.version = F("version") + 1
        lead.save()
        lead.refresh_from_db()
        record_change(actor=actor, action=ChangeAction.UPDATE, instance=lead, changes=changes)
        if "owner" in changes:
            notify_assigned(actor, [lead])
        emit("lead.updated", lead_id=lead.pk, actor_id=actor.pk)
    return lead


@transaction.atomic
def lead_delete(*, actor: User, lead_id: int, expected_version: int | None = None) -> None:
    require(actor, "delete")
    lead = lock_lead(actor, lead_id)
    check_version(lead, expected_version)
    before = lead_snapshot(lead)
    record_change(actor=actor, action=ChangeAction.DELETE, instance=lead, changes=deleted(before))
    pk = lead.pk
    lead.delete()
    emit("lead.deleted", lead_id=pk, actor_id=actor.pk)


@transaction.atomic
def lead_follow_up_add(
    *, actor: User, lead_id: int, kind: str = FollowUpKind.CALL, summary: str = "", at: dt.datetime | None = None
) -> LeadFollowUp:
    """Log a call, visit, WeChat or note on a lead. The owner's first one stamps ``first_follow_up_at``
    (which stops the no-follow-up reminder) and a new lead becomes contacted."""
    require(actor, "edit")
    lead = lock_lead(actor, lead_id)
    errors: dict[str, list[str]] = {}
    if kind not in FollowUpKind.values or kind == FollowUpKind.INQUIRY:  # inquiries arrive, nobody logs them
        errors["kind"] = [_("Choose call, visit, WeChat or note.")]
    if summary is not None and not isinstance(summary, str):
        errors["summary"] = [_("Enter text.")]
        summary = ""
    text = strip_control(summary or "").strip()
    if len(text) > SUMMARY_LIMIT:
        errors["summary"] = [_("At most %(n)d characters.") % {"n": SUMMARY_LIMIT}]
    now = timezone.now()
    when = at or now
    if when > now + dt.timedelta(minutes=5):
        errors["at"] = [_("A follow-up cannot happen in the future.")]
    if not lead.is_open:
        errors["lead"] = [_("This lead is closed (%(status)s).") % {"status": lead.get_status_display()}]
    if errors:
        raise ValidationFailed(next(iter(errors.values()))[0], field_errors=errors)
    follow_up = LeadFollowUp.objects.create(lead=lead, actor=actor, at=when, kind=kind, summary=text)
    before = lead_snapshot(lead)
    if lead.first_follow_up_at is None and lead.owner_id == actor.pk:
        lead.first_follow_up_at = when
    if lead.status == LeadStatus.NEW:
        lead.status = LeadStatus.CONTACTED
    changes = diff(before, lead_snapshot(lead))
    lead.version = F("version") + 1
    lead.save()
    lead.refresh_from_db()
    record_change(actor=actor, action=ChangeAction.UPDATE, instance=lead, changes=changes)
    emit("lead.followed_up", lead_id=lead.pk, follow_up_id=follow_up.pk, actor_id=actor.pk)
    return follow_up
