"""Reads for customers and contacts: only what the actor may see, out of scope is 404."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import Prefetch, Q, QuerySet
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from pearl.accounts.models import User
from pearl.core.errors import ApplicationError, NotFound, ValidationFailed
from pearl.core.models import ChangeLog
from pearl.core.permissions import scope_q
from pearl.customers.choices import ChoiceList, CustomFieldObject
from pearl.customers.filters import CustomerFilterForm, filter_errors
from pearl.customers.models import (
    CUSTOMER_FIELDS,
    ChoiceOption,
    Contact,
    Customer,
    CustomerAlias,
    CustomerMerge,
    CustomFieldDefinition,
    Tag,
)


def customer_visible(*, actor: User) -> QuerySet[Customer]:
    return Customer.objects.filter(scope_q(actor))


def customer_list(*, actor: User, filters: dict[str, Any] | None = None) -> QuerySet[Customer]:
    """Customers in the actor's scope matching the shared filter set; bad filters raise ValidationFailed."""
    form = CustomerFilterForm(filters or {})
    if not form.is_valid():
        errors = filter_errors(form)
        raise ValidationFailed(next(iter(errors.values()))[0], field_errors=errors)
    qs = form.apply(customer_visible(actor=actor), actor)
    # The related rows of a page come in small separate queries, not joins: on PostgreSQL five
    # joins next to the search and scope conditions cost 6–8 ms of planning per page (0.3 ms
    # without) and led to worse plans; 25 ids each looked up by key cost well under a millisecond.
    return qs.prefetch_related(*LIST_RELATIONS, "tags")


LIST_RELATIONS = ("customer_type", "industry", "source", "owner", "team")


class CustomerMerged(NotFound):
    """The id asked for belongs to a customer merged into another one the actor may see.

    A ``NotFound``, so any caller that does not care answers 404 as before; pages and the API catch
    it to redirect to ``survivor_id``. Raised only when the actor may see the survivor.
    """

    code = "customer_merged"

    def __init__(self, old_id: int, survivor: Customer) -> None:
        message = _("Customer #%(old)s was merged into “%(name)s” (#%(id)s).") % {
            "old": old_id,
            "name": survivor.name,
            "id": survivor.pk,
        }
        super().__init__(message, extra={"survivor": survivor.pk})
        self.old_id = old_id
        self.survivor_id: int = survivor.pk


def customer_alias_target(*, actor: User, customer_id: int) -> Customer | None:
    """The survivor a merged-away id now stands for, if the actor may see it (chains are one hop)."""
    survivor_id = CustomerAlias.objects.filter(old_id=customer_id).values_list("survivor_id", flat=True).first()
    if survivor_id is None:
        return None
    return customer_visible(actor=actor).filter(pk=survivor_id).first()


def customer_get(*, actor: User, customer_id: int) -> Customer:
    """One visible customer; a merged-away id raises ``CustomerMerged`` naming the survivor."""
    customer = (
        customer_visible(actor=actor)
        .select_related("customer_type", "industry", "source", "owner", "team")
        .prefetch_related("tags", Prefetch("contacts", queryset=Contact.objects.select_related("position")))
        .filter(pk=customer_id)
        .first()
    )
    if customer is None:
        survivor = customer_alias_target(actor=actor, customer_id=customer_id)
        if survivor is not None:
            raise CustomerMerged(customer_id, survivor)
        raise NotFound(_("Customer not found."))
    return customer


def contact_list(*, actor: User, customer_id: int | None = None, q: str = "") -> QuerySet[Contact]:
    qs = Contact.objects.filter(customer__in=customer_visible(actor=actor).values("pk")).select_related(
        "position", "customer"
    )
    if customer_id is not None:
        qs = qs.filter(customer_id=customer_id)
    if q:
        qs = qs.filter(name__contains=q.strip())
    return qs.order_by("-id")


def contact_get(*, actor: User, contact_id: int) -> Contact:
    contact = contact_list(actor=actor).filter(pk=contact_id).first()
    if contact is None:
        raise NotFound(_("Contact not found."))
    return contact


def customer_history(*, actor: User, customer_id: int) -> QuerySet[ChangeLog]:
    customer_get(actor=actor, customer_id=customer_id)  # 404 when out of scope
    return ChangeLog.objects.filter(root_type="customers.customer", root_id=customer_id).select_related("actor")


def tag_list(*, actor: User) -> QuerySet[Tag]:
    return Tag.objects.order_by("name")


def choice_options(*, list_name: str, include_inactive: bool = False) -> QuerySet[ChoiceOption]:
    qs = ChoiceOption.objects.filter(list_name=ChoiceList(list_name))
    return qs if include_inactive else qs.filter(is_active=True)


def custom_field_list(*, actor: User, object_type: str | None = None) -> QuerySet[CustomFieldDefinition]:
    qs = CustomFieldDefinition.objects.all()
    if object_type:
        qs = qs.filter(object_type=CustomFieldObject(object_type))
    return qs.order_by("object_type", "order", "id")


# --- merging ---------------------------------------------------------------------------------------
# The plan is computed here, from rows the caller loaded, so the merge page shows exactly what the
# merge service (which calls ``merge_plan`` on the rows it locked) will write.

MERGE_RULES = ("recent", "complete")
MERGE_FIELDS = list(CUSTOMER_FIELDS)
# "Most complete" compares lengths where length means something; the rest fall back to recency.
_LENGTH_FIELDS = {"name", "short_name", "province", "city", "district", "address"}
# Assignment is not data quality: owner and team stay the survivor's unless picked by hand (a team
# follows a hand-picked owner), so a merge never hands a customer to someone by accident.
_ASSIGNMENT_FIELDS = ("owner", "team")
CUSTOM_PREFIX = "cf_"
MAX_MERGE = 50  # customers merged away at once: one transaction holds their locks


@dataclass
class FieldPlan:
    key: str  # a model field name, or cf_<key> for a custom field
    label: str
    values: list[Any]  # raw value per customer, in the plan's customer order (ids for relations)
    winner: int  # id of the customer whose value the survivor gets
    differs: bool  # whether the customers disagree at all (pages fold the fields that agree)


@dataclass
class MergePlan:
    survivor: Customer
    customers: list[Customer]  # survivor first, then the others as given
    rule: str
    fields: list[FieldPlan]
    definitions: dict[str, CustomFieldDefinition]

    @property
    def others(self) -> list[Customer]:
        return self.customers[1:]

    def field_values(self) -> dict[str, Any]:
        """``{attname: value}`` the survivor takes for the model fields."""
        out: dict[str, Any] = {}
        for plan in self.fields:
            if not plan.key.startswith(CUSTOM_PREFIX):
                index = [c.pk for c in self.customers].index(plan.winner)
                out[merge_attname(plan.key)] = plan.values[index]
        return out

    def custom_fields(self) -> dict[str, Any]:
        """The survivor's custom fields: each key from its winner; keys nobody fills are left out."""
        out: dict[str, Any] = {}
        for plan in self.fields:
            if plan.key.startswith(CUSTOM_PREFIX):
                value = plan.values[[c.pk for c in self.customers].index(plan.winner)]
                if _filled(value):
                    out[plan.key[len(CUSTOM_PREFIX) :]] = value
        return out


def _filled(value: Any) -> bool:
    return value not in (None, "", [], {})


def merge_attname(key: str) -> str:
    """The column a merge field is stored in (``owner`` → ``owner_id``)."""
    return str(getattr(Customer._meta.get_field(key), "attname", key))


def _raw(customer: Customer, key: str) -> Any:
    if key.startswith(CUSTOM_PREFIX):
        return (customer.custom_fields or {}).get(key[len(CUSTOM_PREFIX) :])
    return getattr(customer, merge_attname(key))


def _length(value: Any) -> int:
    if isinstance(value, list):
        return len("、".join(str(v) for v in value))
    return len(str(value))


def _winner(key: str, customers: list[Customer], rule: str) -> int:
    """Most recent non-empty (by ``updated_at``) or most complete (longest); ties go to the survivor."""
    survivor_id = customers[0].pk
    filled = [c for c in customers if _filled(_raw(c, key))]
    if not filled:
        return survivor_id
    by_length = rule == "complete" and (key in _LENGTH_FIELDS or key.startswith(CUSTOM_PREFIX))

    def rank(c: Customer) -> tuple[int, Any, bool]:
        return (_length(_raw(c, key)) if by_length else 0, c.updated_at, c.pk == survivor_id)

    return max(filled, key=rank).pk


def merge_plan(
    *, survivor: Customer, others: list[Customer], rule: str = "recent", choices: dict[str, Any] | None = None
) -> MergePlan:
    """Which customer's value the survivor gets for every field; ``choices`` {field: customer id} override."""
    if rule not in MERGE_RULES:
        message = _("Unknown rule “%(rule)s”: use recent or complete.") % {"rule": str(rule)[:32]}
        raise ValidationFailed(message, field_errors={"rule": [message]})
    customers = [survivor, *others]
    ids = [c.pk for c in customers]
    definitions = {d.key: d for d in CustomFieldDefinition.objects.filter(object_type=CustomFieldObject.CUSTOMER)}
    stored = sorted({k for c in customers for k in (c.custom_fields or {})} - set(definitions))
    keys = MERGE_FIELDS + [CUSTOM_PREFIX + k for k in [*definitions, *stored]]
    choices = choices or {}
    if not isinstance(choices, dict):
        raise ValidationFailed(_("Choices must map field names to customer ids."), field_errors={"choices": []})
    errors: dict[str, list[str]] = {}
    picked: dict[str, int] = {}
    for key, source in choices.items():
        if key not in keys:
            errors[f"choices.{key}"] = [_("There is no field %(field)s to merge.") % {"field": str(key)[:64]}]
            continue
        source_id = source if isinstance(source, int) and not isinstance(source, bool) else None
        if source_id is None and isinstance(source, str) and source.isascii() and source.isdigit():
            source_id = int(source)
        if source_id not in ids:
            errors[f"choices.{key}"] = [
                _("Customer #%(id)s is not one of the customers being merged.") % {"id": str(source)[:20]}
            ]
            continue
        picked[key] = int(source_id)
    if errors:
        raise ValidationFailed(next(iter(errors.values()))[0], field_errors=errors)
    fields = []
    for key in keys:
        values = [_raw(c, key) for c in customers]
        if key.startswith(CUSTOM_PREFIX):
            definition = definitions.get(key[len(CUSTOM_PREFIX) :])
            if definition is None and not any(_filled(v) for v in values):
                continue
            label = definition.label if definition else key[len(CUSTOM_PREFIX) :]
        else:
            label = capfirst(str(getattr(Customer._meta.get_field(key), "verbose_name", key)))
        if key in _ASSIGNMENT_FIELDS:
            winner = picked.get(key) or picked.get("owner") or survivor.pk
        else:
            winner = picked.get(key) or _winner(key, customers, rule)
        fields.append(FieldPlan(key, label, values, winner, len({repr(v) for v in values}) > 1))
    return MergePlan(survivor, customers, rule, fields, definitions)


def merge_ids(*, survivor_id: int, other_ids: list[int]) -> list[int]:
    """Survivor first, then the others; refuses a merge of one customer or the same one twice."""
    if not other_ids:
        message = _("Choose at least one other customer to merge into the survivor.")
        raise ValidationFailed(message, field_errors={"others": [message]})
    if len(other_ids) > MAX_MERGE:
        message = _("Merge at most %(n)d customers into one at a time.") % {"n": MAX_MERGE}
        raise ValidationFailed(message, field_errors={"others": [message]})
    seen: set[int] = set()
    for pk in [survivor_id, *other_ids]:
        if pk in seen:
            message = _("Customer #%(id)s is listed twice; each customer can be merged only once.") % {"id": pk}
            raise ValidationFailed(message, field_errors={"others": [message]})
        seen.add(pk)
    return [survivor_id, *other_ids]


def merge_missing_error(*, actor: User, ids: list[int], found: set[int]) -> ApplicationError | None:
    """Why some ids cannot be merged: already merged away (named, if the survivor is visible), or not found.

    Out of scope and nonexistent read the same, so nothing about others' customers leaks.
    """
    for pk in ids:
        if pk in found:
            continue
        field = "survivor" if pk == ids[0] else "others"
        survivor = customer_alias_target(actor=actor, customer_id=pk)
        if survivor is not None:
            message = _("Customer #%(old)s was already merged into “%(name)s” (#%(id)s).") % {
                "old": pk,
                "name": survivor.name,
                "id": survivor.pk,
            }
            return ValidationFailed(message, field_errors={field: [message]}, extra={"survivor": survivor.pk})
        message = _("Customer #%(id)s not found.") % {"id": pk}
        return NotFound(message, field_errors={field: [message]})
    return None


def customer_merge_preview(
    *,
    actor: User,
    customer_ids: list[int],
    survivor_id: int | None = None,
    rule: str = "recent",
    choices: dict[str, Any] | None = None,
) -> MergePlan:
    """The side-by-side view of a merge: every field's values per customer and which one would win."""
    if not customer_ids:
        message = _("Choose the customers to merge.")
        raise ValidationFailed(message, field_errors={"ids": [message]})
    if survivor_id is None:
        survivor_id = customer_ids[0]
    if survivor_id is None or survivor_id not in customer_ids:
        message = _("The survivor must be one of the customers being merged.")
        raise ValidationFailed(message, field_errors={"survivor": [message]})
    others = list(customer_ids)
    others.remove(survivor_id)
    ids = merge_ids(survivor_id=survivor_id, other_ids=others)
    rows = {
        c.pk: c
        for c in customer_visible(actor=actor)
        .filter(pk__in=ids)
        .select_related("customer_type", "industry", "source", "owner", "team")
        .prefetch_related("tags", "contacts")
    }
    error = merge_missing_error(actor=actor, ids=ids, found=set(rows))
    if error is not None:
        raise error
    return merge_plan(survivor=rows[ids[0]], others=[rows[pk] for pk in ids[1:]], rule=rule, choices=choices)


def _merge_visible(actor: User, survivor_id: int) -> bool:
    if customer_visible(actor=actor).filter(pk=survivor_id).exists():
        return True
    return customer_alias_target(actor=actor, customer_id=survivor_id) is not None


def customer_merges(
    *, actor: User, customer_id: int | None = None, customer: Customer | None = None
) -> QuerySet[CustomerMerge]:
    """Merges into this customer, newest first, including those into customers later merged into it.

    Pass ``customer`` when it was read with ``customer_get`` (already scope-checked), else
    ``customer_id``, checked here: out of scope is NotFound."""
    if customer is not None and customer_id is None:
        customer_id = int(customer.pk)
    elif customer is None and customer_id is not None:
        if not customer_visible(actor=actor).filter(pk=customer_id).exists():
            raise NotFound(_("Customer not found."))
    else:
        raise TypeError("Give either customer (already scope-checked) or customer_id, not both.")
    old_ids = CustomerAlias.objects.filter(survivor_id=customer_id).values("old_id")
    return CustomerMerge.objects.filter(Q(survivor_id=customer_id) | Q(survivor_id__in=old_ids)).select_related(
        "actor", "undone_by"
    )


def merge_get(*, actor: User, merge_id: int) -> CustomerMerge:
    """One merge record; visible to whoever may see the customer that now holds its survivor."""
    merge = CustomerMerge.objects.select_related("actor", "undone_by").filter(pk=merge_id).first()
    if merge is None or not _merge_visible(actor, merge.survivor_id):
        raise NotFound(_("Merge not found."))
    return merge


def merged_customers(merge: CustomerMerge) -> list[tuple[int, str]]:
    """(id, name) of the customers a merge took away, read from its snapshot."""
    return [(int(row["pk"]), str(row["fields"].get("name", ""))) for row in merge.snapshot.get("customers", [])]


def identity_holders(*, pairs: list[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """The customer holding each of these (kind, value) identities, for resolving many at once
    (channel events): one query whatever the number of pairs, values stored as the services
    normalise them. Not scoped — identities are unique across all customers, so resolving one
    is global; callers show nothing of a holder outside the actor's scope but its id."""
    from collections import defaultdict

    from pearl.customers.models import Identity

    by_kind: defaultdict[str, set[str]] = defaultdict(set)
    for kind, value in pairs:
        by_kind[kind].add(value)
    if not by_kind:
        return {}
    condition = Q()
    for kind, values in sorted(by_kind.items()):
        condition |= Q(kind=kind, value__in=sorted(values))
    rows = Identity.objects.filter(condition).values_list("kind", "value", "customer_id")
    return {(kind, value): customer_id for kind, value, customer_id in rows}


def customer_owners(*, customer_ids: Iterable[int]) -> dict[int, tuple[User, str]]:
    """The active owner and name of each of these customers that has one (one query). Not scoped: for
    telling an owner about their customer (a channel inquiry), never for showing it to the caller."""
    rows = (
        Customer.objects.filter(pk__in=set(customer_ids), owner__isnull=False, owner__is_active=True)
        .select_related("owner")
        .only("pk", "name", "owner")
    )
    return {c.pk: (c.owner, c.name) for c in rows if c.owner is not None}


def companies_by_name(*, names: list[str]) -> dict[str, int]:
    """Companies by normalised legal name (unique among companies), for many names in one query; not
    scoped, like ``identity_holders``."""
    from pearl.customers.choices import CustomerKind

    keys = sorted(set(names) - {""})
    if not keys:
        return {}
    rows = Customer.objects.filter(kind=CustomerKind.COMPANY, name_normalized__in=keys).values_list(
        "name_normalized", "pk"
    )
    return dict(rows)
