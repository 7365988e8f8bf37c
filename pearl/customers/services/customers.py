"""Create, update and delete customers: validation, change log, identities, search index, events."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils.translation import gettext as _

from pearl.accounts.models import Team, User
from pearl.core import duplicates
from pearl.core.changes import created, deleted, diff, record_change, snapshot
from pearl.core.errors import Conflict, NotFound, PreconditionFailed, ValidationFailed
from pearl.core.events import emit
from pearl.core.models import ChangeAction
from pearl.core.permissions import require, scope_q
from pearl.core.text import clean_spaces, normalize_company_name
from pearl.customers.choices import (
    STATUS_TRANSITIONS,
    ChoiceList,
    CustomerKind,
    CustomerStatus,
    CustomFieldObject,
    Grade,
)
from pearl.customers.customfields import clean_custom_fields
from pearl.customers.models import CUSTOMER_FIELDS, ChoiceOption, Customer, Tag
from pearl.customers.services.contacts import CONTACT_FIELDS, contact_create_in
from pearl.customers.services.derived import managed_tag_ids
from pearl.customers.services.index import refresh_after_update, reindex, sync_identities

FIELDS = [*CUSTOMER_FIELDS, "custom_fields"]
TEXT_LIMITS = {"name": 200, "short_name": 100, "province": 32, "city": 32, "district": 32, "address": 200}
_CHOICE_FIELDS = {
    "customer_type": ChoiceList.CUSTOMER_TYPE,
    "industry": ChoiceList.INDUSTRY,
    "source": ChoiceList.SOURCE,
}


# --- small validators shared with the bulk import (pearl.customers.services.bulk) -----------------


def clean_text(key: str, value: Any) -> tuple[str | None, str | None]:
    """(cleaned text, error) for one of TEXT_LIMITS' fields; the text is None when it is not text at all."""
    if value is not None and not isinstance(value, str):
        return None, _("Enter text.")
    text = clean_spaces(value or "")
    if len(text) > TEXT_LIMITS[key]:
        return text, _("At most %(n)d characters.") % {"n": TEXT_LIMITS[key]}
    return text, None


def clean_grade(value: Any) -> tuple[str, str | None]:
    grade = (value or "").upper() if isinstance(value, str | type(None)) else "?"
    if grade not in ("", *Grade.values):
        return grade, _("Grade must be A, B or C.")
    return grade, None


def status_error(old: str, new: str) -> str | None:
    """Why a customer may not go from status ``old`` to ``new``, or None when it may."""
    if new == old or new in STATUS_TRANSITIONS[old]:
        return None
    return _("A customer cannot go from %(old)s to %(new)s.") % {
        "old": CustomerStatus(old).label,
        "new": CustomerStatus(new).label,
    }


def customer_snapshot(customer: Customer) -> dict[str, Any]:
    data = snapshot(customer, FIELDS)
    data["tags"] = sorted(customer.tags.values_list("name", flat=True)) if customer.pk else []
    return data


def _as_id(value: Any) -> int | None:
    if value is None or value == "":
        return None
    if hasattr(value, "pk"):
        return int(value.pk)
    if isinstance(value, bool):
        raise ValueError
    return int(value)


def _name_taken(name: str, exclude_id: int | None) -> Customer | None:
    qs = Customer.objects.filter(name_normalized=normalize_company_name(name), kind=CustomerKind.COMPANY)
    if exclude_id:
        qs = qs.exclude(pk=exclude_id)
    return qs.first()


def _duplicate_name_error(existing: Customer) -> ValidationFailed:
    url = reverse("customers:customer_detail", args=[existing.pk])
    message = _("A customer with this legal name already exists: “%(name)s” (#%(id)s).") % {
        "name": existing.name,
        "id": existing.pk,
    }
    return ValidationFailed(
        message, field_errors={"name": [message]}, extra={"existing": existing.pk, "existing_url": url}
    )


def _clean(actor: User, data: dict[str, Any], instance: Customer | None) -> dict[str, Any]:
    """Validated field values (model instances for relations); raises ValidationFailed with all errors."""
    errors: dict[str, list[str]] = {}
    out: dict[str, Any] = {}
    unknown = set(data) - set(FIELDS) - {"tags"}
    for key in sorted(unknown):
        errors[key] = [_("Unknown field %(field)s.") % {"field": key}]

    for key in TEXT_LIMITS:
        if key in data:
            value, error = clean_text(key, data[key])
            if error:
                errors[key] = [error]
                if value is None:
                    continue
            out[key] = value
    if (instance is None or "name" in data) and not out.get("name"):
        errors["name"] = [_("The full legal name is required.")]

    if "kind" in data or instance is None:
        kind = data.get("kind") or CustomerKind.COMPANY
        if kind not in CustomerKind.values:
            errors["kind"] = [_("Choose company or individual.")]
        out["kind"] = kind
    if "grade" in data:
        grade, error = clean_grade(data["grade"])
        if error:
            errors["grade"] = [error]
        out["grade"] = grade
    if "status" in data or instance is None:
        status = data.get("status") or (instance.status if instance else CustomerStatus.PROSPECT)
        if status not in CustomerStatus.values:
            errors["status"] = [_("Unknown status.")]
        elif instance is not None and (error := status_error(instance.status, status)):
            errors["status"] = [error]
        out["status"] = status

    for key, list_name in _CHOICE_FIELDS.items():
        if key in data:
            try:
                option_id = _as_id(data[key])
            except (TypeError, ValueError):
                errors[key] = [_("Choose one of the listed options.")]
                continue
            option = None
            if option_id is not None:
                option = ChoiceOption.objects.filter(pk=option_id, list_name=list_name, is_active=True).first()
                if option is None:
                    errors[key] = [_("Choose one of the listed options.")]
            out[key] = option

    if "owner" in data or instance is None:
        try:
            owner_id = _as_id(data.get("owner")) if "owner" in data else (actor.pk if instance is None else None)
        except (TypeError, ValueError):
            owner_id, errors["owner"] = None, [_("Choose an active user.")]
        owner = User.objects.filter(pk=owner_id, is_active=True).select_related("team").first() if owner_id else None
        if owner_id and owner is None:
            errors["owner"] = [_("Choose an active user.")]
        elif owner is not None and owner.pk != actor.pk and actor.data_scope == "own":
            errors["owner"] = [_("Your role may only assign customers to yourself.")]
        out["owner"] = owner
    if "team" in data:
        try:
            team_id = _as_id(data["team"])
        except (TypeError, ValueError):
            team_id, errors["team"] = None, [_("Choose a team.")]
        team = Team.objects.filter(pk=team_id).first() if team_id else None
        if team_id and team is None:
            errors["team"] = [_("Choose a team.")]
        out["team"] = team
    elif "owner" in out and out["owner"] is not None and (instance is None or instance.owner_id != out["owner"].pk):
        out["team"] = out["owner"].team  # a customer follows its owner's team unless told otherwise

    if "tags" in data:
        raw = data["tags"] or []
        try:
            tag_ids = [int(str(getattr(t, "pk", t))) for t in raw] if isinstance(raw, list | tuple) else None
        except (TypeError, ValueError):
            tag_ids = None
        if tag_ids is None:
            errors["tags"] = [_("Tags must be a list of tag ids.")]
        else:
            tags = list(Tag.objects.filter(pk__in=tag_ids))
            if len(tags) != len(set(tag_ids)):
                errors["tags"] = [_("One of the tags does not exist.")]
            elif error := _smart_tag_error(instance, tags):
                errors["tags"] = [error]
            out["tags"] = tags

    if "custom_fields" in data or instance is None:
        values, cf_errors = clean_custom_fields(
            CustomFieldObject.CUSTOMER,
            data.get("custom_fields"),
            current=instance.custom_fields if instance else None,
        )
        errors.update(cf_errors)
        out["custom_fields"] = values

    kind = out.get("kind") or (instance.kind if instance else CustomerKind.COMPANY)
    name = out.get("name") or (instance.name if instance else "")
    if name and kind == CustomerKind.COMPANY and "name" not in errors:
        existing = _name_taken(name, instance.pk if instance else None)
        if existing is not None:
            dup = _duplicate_name_error(existing)
            errors["name"] = dup.field_errors["name"]
            raise ValidationFailed(dup.message, field_errors=errors, extra=dup.extra)
    if errors:
        first = next(iter(errors.values()))[0]
        raise ValidationFailed(first, field_errors=errors)
    return out


def _smart_tag_error(instance: Customer | None, tags: list[Tag]) -> str | None:
    """Smart tags follow their rule: a list of tags may neither add nor drop one (it must carry the
    customer's smart tags exactly as they are)."""
    managed = managed_tag_ids()
    if not managed:
        return None
    current = set(instance.tags.filter(pk__in=managed).values_list("pk", flat=True)) if instance else set()
    wanted = {t.pk for t in tags if t.pk in managed}
    changed = sorted(current ^ wanted)
    if not changed:
        return None
    name = Tag.objects.filter(pk=changed[0]).values_list("name", flat=True).first() or ""
    return _("“%(tag)s” is a smart tag: its rule decides who carries it, so it cannot be added or removed by hand.") % {
        "tag": name
    }


def _apply(customer: Customer, values: dict[str, Any]) -> None:
    for key, value in values.items():
        if key != "tags":
            setattr(customer, key, value)
    if "name" in values:
        customer.name_normalized = normalize_company_name(customer.name)


def _save_guarding_name(customer: Customer) -> None:
    try:
        with transaction.atomic():
            customer.save()
    except IntegrityError as exc:
        existing = _name_taken(customer.name, customer.pk)
        if existing is not None:
            raise _duplicate_name_error(existing) from exc
        raise


@transaction.atomic
def customer_create(
    *, actor: User, data: dict[str, Any], contacts: list[dict[str, Any]] | None = None, allow_duplicate: bool = False
) -> Customer:
    """Create a customer (and its contacts) or nothing at all.

    The duplicate matcher is asked first: when it is confident the customer exists already,
    the create is refused (``DuplicateSuspected``, naming the ones found) unless the caller
    confirms with ``allow_duplicate``.
    """
    require(actor, "create")
    values = _clean(actor, data, None)
    if not allow_duplicate:
        duplicates.refuse_duplicates(actor, duplicates.Candidate.of(values, contacts or []))
    customer = Customer()
    _apply(customer, values)
    _save_guarding_name(customer)
    if "tags" in values:
        customer.tags.set(values["tags"])
    for index, contact_data in enumerate(contacts or []):
        contact_create_in(actor=actor, customer=customer, data=contact_data, index=index)
    sync_identities(customer, actor)
    reindex(customer)
    record_change(
        actor=actor,
        action=ChangeAction.CREATE,
        instance=customer,
        changes=created(customer_snapshot(customer)),
    )
    emit("customer.created", customer_id=customer.pk, actor_id=actor.pk)
    return customer


def lock_for_write(actor: User, customer_id: int) -> Customer:
    """The customer row locked for this transaction; out of scope is the same as missing."""
    customer = Customer.objects.select_for_update().filter(scope_q(actor)).filter(pk=customer_id).first()
    if customer is None:
        raise NotFound(_("Customer not found."))
    return customer


def check_version(customer: Customer, expected_version: int | None) -> None:
    if expected_version is not None and int(expected_version) != customer.version:
        raise PreconditionFailed(
            _(
                "Someone else changed this customer meanwhile (version %(now)s, you edited %(yours)s). "
                "Reload and apply your change again."
            )
            % {"now": customer.version, "yours": expected_version},
            extra={"version": customer.version},
        )


@transaction.atomic
def customer_update(
    *, actor: User, customer_id: int, data: dict[str, Any], expected_version: int | None = None
) -> Customer:
    require(actor, "edit")
    customer = lock_for_write(actor, customer_id)
    check_version(customer, expected_version)
    before = customer_snapshot(customer)
    values = _clean(actor, data, customer)
    _apply(customer, values)
    if "tags" in values:
        customer.tags.set(values["tags"])
    changes = diff(before, customer_snapshot(customer))
    if not changes:
        return customer
    customer.version += 1
    _save_guarding_name(customer)
    refresh_after_update(customer, set(changes))
    record_change(actor=actor, action=ChangeAction.UPDATE, instance=customer, changes=changes)
    emit("customer.updated", customer_id=customer.pk, actor_id=actor.pk, fields=sorted(changes))
    return customer


@transaction.atomic
def customer_delete(*, actor: User, customer_id: int, expected_version: int | None = None) -> None:
    require(actor, "delete")
    customer = lock_for_write(actor, customer_id)
    check_version(customer, expected_version)
    before = customer_snapshot(customer)
    contacts = list(customer.contacts.all())
    for contact in contacts:
        record_change(
            actor=actor,
            action=ChangeAction.DELETE,
            instance=contact,
            root=customer,
            changes=deleted(snapshot(contact, CONTACT_FIELDS)),
        )
    record_change(actor=actor, action=ChangeAction.DELETE, instance=customer, changes=deleted(before))
    pk = customer.pk
    try:
        customer.delete()
    except IntegrityError as exc:  # a later record (order, ticket…) still points here
        raise Conflict(_("This customer is still referenced by other records and cannot be deleted.")) from exc
    emit("customer.deleted", customer_id=pk, actor_id=actor.pk)
