"""/api/v1 customers, contacts, tags and custom-field definitions.

Thin: parse, translate choice labels to ids, call a selector or service, shape the answer.
Permissions and scopes live in the services and selectors, exactly as for the pages; a record
outside the actor's scope is a 404 here too, and 403 only means "you see it but may not do that".
"""

import contextlib
import datetime as dt
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from pearl.activities import selectors as timeline
from pearl.core.api import (
    IDEMPOTENCY_OPENAPI,
    MAX_ID,
    PAGE_PARAMS,
    PageParams,
    Problem,
    api_actor,
    check_id,
    if_match_version,
    page,
    problem_responses,
    reject_unknown_params,
    set_etag,
)
from pearl.core.errors import Conflict, NotFound, ValidationFailed
from pearl.customers import selectors, services
from pearl.customers.choices import ChoiceList, CustomFieldObject
from pearl.customers.models import Contact, Customer, CustomerMerge, CustomFieldDefinition, Tag
from pearl.customers.schemas import (
    ChangePage,
    ContactFilters,
    ContactIn,
    ContactOut,
    ContactPage,
    ContactPatch,
    CustomerDetailOut,
    CustomerFilters,
    CustomerIn,
    CustomerPage,
    CustomerPatch,
    CustomFieldFilters,
    CustomFieldIn,
    CustomFieldOut,
    CustomFieldPage,
    CustomFieldPatch,
    MergeIn,
    MergeOut,
    MergeResultOut,
    TagFilters,
    TagIn,
    TagOut,
    TagPage,
    TagPatch,
    TimelinePage,
    UnmergeOut,
)
from pearl.customers.search import capped_count

router = Router()

_READ_ERRORS = problem_responses(401, 404)
_LIST_ERRORS = problem_responses(401, 422)
_WRITE_ERRORS = problem_responses(400, 401, 403, 404, 409, 412, 422)
_CUSTOMER_FILTERS = frozenset(CustomerFilters.model_fields) - PAGE_PARAMS
_CUSTOMER_CHOICES = {
    "customer_type": ChoiceList.CUSTOMER_TYPE,
    "industry": ChoiceList.INDUSTRY,
    "source": ChoiceList.SOURCE,
}
_INT_FILTERS = ("customer_type", "industry", "source", "tag", "team", "owner")


# --- helpers ------------------------------------------------------------------------------------------


def _option_id(list_name: str, value: Any, field: str, errors: dict[str, list[str]]) -> Any:
    """An option id for ``value`` given as id or exact label; records an error for an unknown label."""
    if value is None or value == "" or isinstance(value, bool):
        return value  # the service answers for null (clear) and nonsense alike
    if isinstance(value, int):
        return value if 0 < value <= MAX_ID else -1  # -1: the service's "choose one of the listed options"
    text = str(value).strip()
    options = selectors.choice_options(list_name=list_name)
    found = options.filter(label=text).values_list("pk", flat=True).first()
    if found is not None:
        return found
    if text.isdigit() and 0 < int(text) <= MAX_ID:
        return int(text)
    labels = "、".join(options.values_list("label", flat=True)[:30])
    errors[field] = [
        _("“%(value)s” is not in the list %(list)s. Choose one of: %(choices)s.")
        % {"value": text[:64], "list": ChoiceList(list_name).label, "choices": labels or "—"}
    ]
    return None


def _raise(errors: dict[str, list[str]]) -> None:
    if errors:
        raise ValidationFailed(next(iter(errors.values()))[0], field_errors=errors)


def _customer_data(data: dict[str, Any], errors: dict[str, list[str]]) -> dict[str, Any]:
    for field, list_name in _CUSTOMER_CHOICES.items():
        if field in data:
            data[field] = _option_id(list_name, data[field], field, errors)
    return data


def _contact_data(data: dict[str, Any], errors: dict[str, list[str]], prefix: str = "") -> dict[str, Any]:
    if "position" in data:
        data["position"] = _option_id(ChoiceList.POSITION, data["position"], prefix + "position", errors)
    return data


def _customer_response(request: HttpRequest, response: HttpResponse, customer: Customer) -> Customer:
    """The customer as the actor now sees it (fresh, with contacts), with its ETag."""
    # Written for someone outside the actor's scope: answer with what was written.
    with contextlib.suppress(NotFound):
        customer = selectors.customer_get(actor=api_actor(request), customer_id=customer.pk)
    set_etag(response, customer.version)
    return customer


class CustomerMergedAway(Conflict):
    """A write to the id of a merged-away customer: 409, naming the survivor (see docs/architecture.md)."""

    code = "customer_merged"


def _visible_customer(request: HttpRequest, customer_id: int) -> None:
    """404 before any permission check, so a record out of scope never answers 403.

    A merged-away id is a 409 naming the survivor (when the actor may see it): a write is never
    redirected, since it was meant for a record that no longer exists on its own.
    """
    check_id(customer_id, _("Customer not found."))
    actor = api_actor(request)
    if not selectors.customer_visible(actor=actor).filter(pk=customer_id).exists():
        survivor = selectors.customer_alias_target(actor=actor, customer_id=customer_id)
        if survivor is not None:
            moved = selectors.CustomerMerged(customer_id, survivor)
            raise CustomerMergedAway(
                moved.message,
                extra={"survivor": survivor.pk, "survivor_url": reverse("api:get_customer", args=[survivor.pk])},
            )
        raise NotFound(_("Customer not found."))


def _moved(url: str) -> HttpResponse:
    """301 to the survivor of a merged-away id; not cacheable, since an unmerge brings the id back."""
    response = HttpResponse(status=301)
    response["Location"] = url
    response["Cache-Control"] = "no-store"
    return response


def _visible_contact(request: HttpRequest, contact_id: int) -> None:
    check_id(contact_id, _("Contact not found."))
    if not selectors.contact_list(actor=api_actor(request)).filter(pk=contact_id).exists():
        raise NotFound(_("Contact not found."))


# --- customers ---------------------------------------------------------------------------------------


@router.get("/customers", response={200: CustomerPage, **_LIST_ERRORS}, tags=["customers"])
def list_customers(request: HttpRequest, filters: Query[CustomerFilters]) -> dict[str, Any]:
    """Customers you may see, filtered like the list page; `cf_<key>=value` filters a custom field."""
    actor = api_actor(request)
    params: dict[str, Any] = {k: v for k, v in request.GET.items() if k not in PAGE_PARAMS}
    custom = {k for k in params if k.startswith("cf_")}
    allowed = set(_CUSTOMER_FILTERS) | PAGE_PARAMS
    if custom:
        allowed |= {f"cf_{d.key}" for d in selectors.custom_field_list(actor=actor, object_type="customer")}
    reject_unknown_params(request, allowed)
    errors: dict[str, list[str]] = {}
    for field, list_name in _CUSTOMER_CHOICES.items():
        if params.get(field):
            params[field] = _option_id(list_name, params[field], field, errors)
    if params.get("tag") and not str(params["tag"]).isdigit():
        tag = selectors.tag_list(actor=actor).filter(name=params["tag"].strip()).first()
        if tag is None:
            errors["tag"] = [_("There is no tag named %(name)s.") % {"name": params["tag"][:32]}]
        params["tag"] = tag.pk if tag else None
    for field in _INT_FILTERS:
        value = str(params.get(field) or "")
        if value.isdigit() and int(value) > MAX_ID:
            errors[field] = [_("Ensure this value is less than or equal to %(limit_value)s.") % {"limit_value": MAX_ID}]
    _raise(errors)
    qs = selectors.customer_list(actor=actor, filters=params)
    if (params.get("q") or "").strip():
        count, capped = capped_count(qs)
    else:
        count, capped = qs.count(), False
    return {"items": page(qs, filters.limit, filters.offset), "count": count, "count_capped": capped}


@router.post(
    "/customers",
    response={201: CustomerDetailOut, **_WRITE_ERRORS},
    tags=["customers"],
    openapi_extra=IDEMPOTENCY_OPENAPI,
)
def create_customer(
    request: HttpRequest, response: HttpResponse, payload: CustomerIn, allow_duplicate: bool = False
) -> Status[Customer]:
    """Create a customer, optionally with its contacts; all or nothing.

    When the duplicate matcher is confident the customer exists already the answer is 409
    `duplicate_suspected` with the `duplicates` it found (id, score, reasons); send
    `?allow_duplicate=true` to create it anyway.
    """
    data = payload.model_dump(exclude_unset=True)
    contacts = data.pop("contacts", None) or []
    errors: dict[str, list[str]] = {}
    _customer_data(data, errors)
    for index, contact in enumerate(contacts):
        _contact_data(contact, errors, prefix=f"contacts.{index}.")
    _raise(errors)
    customer = services.customer_create(
        actor=api_actor(request), data=data, contacts=contacts, allow_duplicate=allow_duplicate
    )
    response["Location"] = reverse("api:get_customer", args=[customer.pk])
    return Status(201, _customer_response(request, response, customer))


@router.get("/customers/{int:id}", response={200: CustomerDetailOut, 301: None, **_READ_ERRORS}, tags=["customers"])
def get_customer(request: HttpRequest, response: HttpResponse, id: int) -> Customer | HttpResponse:
    """One customer with its contacts; the ETag is its version, for If-Match on writes.

    The id of a customer merged into another answers 301 with `Location` the survivor's URL.
    """
    check_id(id, _("Customer not found."))
    try:
        customer = selectors.customer_get(actor=api_actor(request), customer_id=id)
    except selectors.CustomerMerged as moved:
        return _moved(reverse("api:get_customer", args=[moved.survivor_id]))
    set_etag(response, customer.version)
    return customer


@router.patch("/customers/{int:id}", response={200: CustomerDetailOut, **_WRITE_ERRORS}, tags=["customers"])
def update_customer(request: HttpRequest, response: HttpResponse, id: int, payload: CustomerPatch) -> Customer:
    """Change only the fields given. Send `If-Match: "<version>"` to refuse a stale write (412)."""
    _visible_customer(request, id)
    expected = if_match_version(request)
    errors: dict[str, list[str]] = {}
    data = _customer_data(payload.model_dump(exclude_unset=True), errors)
    _raise(errors)
    customer = services.customer_update(actor=api_actor(request), customer_id=id, data=data, expected_version=expected)
    return _customer_response(request, response, customer)


@router.delete("/customers/{int:id}", response={204: None, **_WRITE_ERRORS}, tags=["customers"])
def delete_customer(request: HttpRequest, id: int) -> Status[None]:
    """Delete a customer and its contacts (needs the delete permission). Honours If-Match."""
    _visible_customer(request, id)
    expected = if_match_version(request)
    services.customer_delete(actor=api_actor(request), customer_id=id, expected_version=expected)
    return Status(204, None)


@router.get("/customers/{int:id}/history", response={200: ChangePage, 301: None, **_READ_ERRORS}, tags=["customers"])
def list_customer_history(request: HttpRequest, id: int, filters: Query[PageParams]) -> dict[str, Any] | HttpResponse:
    """The change log of a customer and its contacts, newest first: who, when, channel, what.

    After a merge the survivor's history includes the merged-away customers' history.
    """
    check_id(id, _("Customer not found."))
    reject_unknown_params(request, PAGE_PARAMS)
    try:
        qs = selectors.customer_history(actor=api_actor(request), customer_id=id)
    except selectors.CustomerMerged as moved:
        return _moved(reverse("api:list_customer_history", args=[moved.survivor_id]))
    return {"items": page(qs, filters.limit, filters.offset), "count": qs.count()}


class TimelineParams(Schema):
    kind: list[str] = Field(default_factory=list, description="Only these kinds (repeat: `kind=order&kind=call`).")
    since: dt.datetime | None = Field(None, description="From this moment (inclusive), ISO-8601.")
    until: dt.datetime | None = Field(None, description="Before this moment (exclusive), ISO-8601.")
    cursor: str | None = Field(None, max_length=64, description="`next_cursor` of the previous page.")
    limit: int = Field(30, ge=1, le=timeline.MAX_LIMIT)


def _timeline_item(item: timeline.TimelineItem) -> dict[str, Any]:
    if item.change is not None:
        log = item.change
        return {
            "id": item.key, "kind": item.kind, "occurred_at": log.occurred_at,
            "title": f"{log.get_action_display()} {log.object_repr}".strip(),
            "actor": log.actor_id, "actor_label": str(log.actor) if log.actor else log.actor_label,
            "channel": log.channel, "source": "", "subject": None,
            "payload": {"object_type": log.object_type, "object_id": log.object_id, "changes": log.changes},
        }  # fmt: skip
    event = item.event
    assert event is not None
    subject = {"type": event.subject_type, "id": event.subject_id} if event.subject_id is not None else None
    return {
        "id": item.key, "kind": event.kind, "occurred_at": event.occurred_at, "title": event.title,
        "actor": event.actor_id, "actor_label": str(event.actor) if event.actor else event.actor_label,
        "channel": event.channel, "source": event.source, "subject": subject, "payload": event.payload,
    }  # fmt: skip


@router.get(
    "/customers/{int:id}/timeline", response={200: TimelinePage, 301: None, **_READ_ERRORS, 422: Problem},
    tags=["customers"],
)  # fmt: skip
def list_customer_timeline(
    request: HttpRequest, id: int, params: Query[TimelineParams]
) -> dict[str, Any] | HttpResponse:
    """Everything that happened to a customer, newest first: orders, payments, calls, visits, WeChat notes,
    complaints, grade changes, channel events and every change of its data.

    Filter by `kind` (repeatable) and period (`since`, `until`); page with `cursor` (the previous
    page's `next_cursor`) and `limit` (≤ 200).
    """
    check_id(id, _("Customer not found."))
    reject_unknown_params(request, {"kind", "since", "until", "cursor", "limit"})
    actor = api_actor(request)
    try:
        result = timeline.timeline_page(
            actor=actor, customer_id=id, kinds=params.kind or None, since=params.since, until=params.until,
            cursor=params.cursor, limit=params.limit,
        )  # fmt: skip
    except selectors.CustomerMerged as moved:
        return _moved(reverse("api:list_customer_timeline", args=[moved.survivor_id]) + _query(request))
    return {"items": [_timeline_item(item) for item in result.items], "next_cursor": result.next_cursor}


def _query(request: HttpRequest) -> str:
    query = request.GET.urlencode()
    return f"?{query}" if query else ""


# --- merges ------------------------------------------------------------------------------------------


@router.post(
    "/customers/merge",
    response={201: MergeResultOut, **_WRITE_ERRORS},
    tags=["merges"],
    openapi_extra=IDEMPOTENCY_OPENAPI,
)
def merge_customers(request: HttpRequest, response: HttpResponse, payload: MergeIn) -> Status[dict[str, Any]]:
    """Merge `others` into `survivor` (needs the edit and delete permissions on all of them).

    Each field comes from the customer named in `choices`, else from the `rule`'s winner; tags are
    united; contacts, identities and history move to the survivor. The merged-away ids stay as
    aliases: GET answers 301 to the survivor, writes 409. Undo with POST /merges/{id}/unmerge.
    """
    actor = api_actor(request)
    merge = services.customer_merge(
        actor=actor,
        survivor_id=payload.survivor,
        other_ids=payload.others,
        choices=payload.choices,
        rule=payload.rule or "recent",
    )
    customer = selectors.customer_get(actor=actor, customer_id=merge.survivor_id)
    response["Location"] = reverse("api:get_merge", args=[merge.pk])
    return Status(201, {"merge_id": merge.pk, "merge": merge, "customer": customer})


def _merge(request: HttpRequest, merge_id: int) -> CustomerMerge:
    check_id(merge_id, _("Merge not found."))
    return selectors.merge_get(actor=api_actor(request), merge_id=merge_id)


@router.get("/merges/{int:id}", response={200: MergeOut, **_READ_ERRORS}, tags=["merges"])
def get_merge(request: HttpRequest, id: int) -> CustomerMerge:
    """One merge: who merged which customers into which, what changed, and whether it was undone."""
    return _merge(request, id)


@router.post(
    "/merges/{int:id}/unmerge",
    response={200: UnmergeOut, **_WRITE_ERRORS},
    tags=["merges"],
    openapi_extra=IDEMPOTENCY_OPENAPI,
)
def unmerge_customers(request: HttpRequest, id: int) -> dict[str, Any]:
    """Undo a merge: the customers come back with their ids and everything that moved.

    409 with `problems` when it is no longer safe (already undone, the survivor merged away or
    merged into again since, a moved contact deleted…); nothing is written then.
    """
    merge = _merge(request, id)
    actor = api_actor(request)
    restored = services.customer_unmerge(actor=actor, merge_id=merge.pk)
    customers = []
    for customer in restored:
        with contextlib.suppress(NotFound):
            customer = selectors.customer_get(actor=actor, customer_id=customer.pk)
        customers.append(customer)
    return {"merge": selectors.merge_get(actor=actor, merge_id=merge.pk), "customers": customers}


# --- contacts ----------------------------------------------------------------------------------------


@router.get("/contacts", response={200: ContactPage, **_LIST_ERRORS}, tags=["contacts"])
def list_contacts(request: HttpRequest, filters: Query[ContactFilters]) -> dict[str, Any]:
    """Contacts of the customers you may see; filter by `customer` id or part of the name (`q`)."""
    reject_unknown_params(request, {"customer", "q"} | PAGE_PARAMS)
    qs = selectors.contact_list(actor=api_actor(request), customer_id=filters.customer, q=filters.q or "")
    return {"items": page(qs, filters.limit, filters.offset), "count": qs.count()}


@router.post(
    "/contacts",
    response={201: ContactOut, **_WRITE_ERRORS},
    tags=["contacts"],
    openapi_extra=IDEMPOTENCY_OPENAPI,
)
def create_contact(request: HttpRequest, response: HttpResponse, payload: ContactIn) -> Status[Contact]:
    """Add a contact to a customer you may edit."""
    data = payload.model_dump(exclude_unset=True)
    customer_id = data.pop("customer")
    _visible_customer(request, customer_id)
    errors: dict[str, list[str]] = {}
    _contact_data(data, errors)
    _raise(errors)
    contact = services.contact_create(actor=api_actor(request), customer_id=customer_id, data=data)
    contact = selectors.contact_get(actor=api_actor(request), contact_id=contact.pk)
    set_etag(response, contact.version)
    response["Location"] = reverse("api:get_contact", args=[contact.pk])
    return Status(201, contact)


@router.get("/contacts/{int:id}", response={200: ContactOut, **_READ_ERRORS}, tags=["contacts"])
def get_contact(request: HttpRequest, response: HttpResponse, id: int) -> Contact:
    check_id(id, _("Contact not found."))
    contact = selectors.contact_get(actor=api_actor(request), contact_id=id)
    set_etag(response, contact.version)
    return contact


@router.patch("/contacts/{int:id}", response={200: ContactOut, **_WRITE_ERRORS}, tags=["contacts"])
def update_contact(request: HttpRequest, response: HttpResponse, id: int, payload: ContactPatch) -> Contact:
    """Change only the fields given. Send `If-Match: "<version>"` to refuse a stale write (412)."""
    _visible_contact(request, id)
    expected = if_match_version(request)
    errors: dict[str, list[str]] = {}
    data = _contact_data(payload.model_dump(exclude_unset=True), errors)
    _raise(errors)
    services.contact_update(actor=api_actor(request), contact_id=id, data=data, expected_version=expected)
    contact = selectors.contact_get(actor=api_actor(request), contact_id=id)
    set_etag(response, contact.version)
    return contact


@router.delete("/contacts/{int:id}", response={204: None, **_WRITE_ERRORS}, tags=["contacts"])
def delete_contact(request: HttpRequest, id: int) -> Status[None]:
    _visible_contact(request, id)
    expected = if_match_version(request)
    services.contact_delete(actor=api_actor(request), contact_id=id, expected_version=expected)
    return Status(204, None)


# --- tags --------------------------------------------------------------------------------------------


def _tag(request: HttpRequest, tag_id: int) -> Tag:
    check_id(tag_id, _("Tag not found."))
    tag = selectors.tag_list(actor=api_actor(request)).filter(pk=tag_id).first()
    if tag is None:
        raise NotFound(_("Tag not found."))
    return tag


@router.get("/tags", response={200: TagPage, **_LIST_ERRORS}, tags=["tags"])
def list_tags(request: HttpRequest, filters: Query[TagFilters]) -> dict[str, Any]:
    reject_unknown_params(request, {"q"} | PAGE_PARAMS)
    qs = selectors.tag_list(actor=api_actor(request))
    if filters.q:
        qs = qs.filter(name__contains=filters.q.strip())
    return {"items": page(qs, filters.limit, filters.offset), "count": qs.count()}


@router.post("/tags", response={201: TagOut, **_WRITE_ERRORS}, tags=["tags"], openapi_extra=IDEMPOTENCY_OPENAPI)
def create_tag(request: HttpRequest, payload: TagIn) -> Status[Tag]:
    """Needs the manage-settings permission."""
    tag = services.tag_create(actor=api_actor(request), data=payload.model_dump(exclude_unset=True))
    return Status(201, tag)


@router.get("/tags/{int:id}", response={200: TagOut, **_READ_ERRORS}, tags=["tags"])
def get_tag(request: HttpRequest, id: int) -> Tag:
    return _tag(request, id)


@router.patch("/tags/{int:id}", response={200: TagOut, **_WRITE_ERRORS}, tags=["tags"])
def update_tag(request: HttpRequest, id: int, payload: TagPatch) -> Tag:
    return services.tag_update(
        actor=api_actor(request), tag=_tag(request, id), data=payload.model_dump(exclude_unset=True)
    )


@router.delete("/tags/{int:id}", response={204: None, **_WRITE_ERRORS}, tags=["tags"])
def delete_tag(request: HttpRequest, id: int) -> Status[None]:
    services.tag_delete(actor=api_actor(request), tag=_tag(request, id))
    return Status(204, None)


# --- custom-field definitions --------------------------------------------------------------------------


def _custom_field(request: HttpRequest, field_id: int) -> CustomFieldDefinition:
    check_id(field_id, _("Custom field not found."))
    field = selectors.custom_field_list(actor=api_actor(request)).filter(pk=field_id).first()
    if field is None:
        raise NotFound(_("Custom field not found."))
    return field


@router.get("/custom-fields", response={200: CustomFieldPage, **_LIST_ERRORS}, tags=["custom fields"])
def list_custom_fields(request: HttpRequest, filters: Query[CustomFieldFilters]) -> dict[str, Any]:
    reject_unknown_params(request, {"object_type"} | PAGE_PARAMS)
    if filters.object_type and filters.object_type not in CustomFieldObject.values:
        message = _("Select a valid choice. %(value)s is not one of the available choices.") % {
            "value": filters.object_type[:32]
        }
        raise ValidationFailed(message, field_errors={"object_type": [message]})
    qs = selectors.custom_field_list(actor=api_actor(request), object_type=filters.object_type or None)
    return {"items": page(qs, filters.limit, filters.offset), "count": qs.count()}


@router.post(
    "/custom-fields",
    response={201: CustomFieldOut, **_WRITE_ERRORS},
    tags=["custom fields"],
    openapi_extra=IDEMPOTENCY_OPENAPI,
)
def create_custom_field(request: HttpRequest, payload: CustomFieldIn) -> Status[CustomFieldDefinition]:
    """Needs the manage-settings permission. Key, type and object are fixed once created."""
    field = services.custom_field_create(actor=api_actor(request), data=payload.model_dump(exclude_unset=True))
    return Status(201, field)


@router.get("/custom-fields/{int:id}", response={200: CustomFieldOut, **_READ_ERRORS}, tags=["custom fields"])
def get_custom_field(request: HttpRequest, id: int) -> CustomFieldDefinition:
    return _custom_field(request, id)


@router.patch("/custom-fields/{int:id}", response={200: CustomFieldOut, **_WRITE_ERRORS}, tags=["custom fields"])
def update_custom_field(request: HttpRequest, id: int, payload: CustomFieldPatch) -> CustomFieldDefinition:
    field = _custom_field(request, id)
    data = payload.model_dump(exclude_unset=True)
    errors: dict[str, list[str]] = {}
    for name in ("object_type", "key", "field_type"):
        if name in data and data.pop(name) != getattr(field, name):
            errors[name] = [_("%(field)s cannot be changed once the custom field exists.") % {"field": name}]
    _raise(errors)
    return services.custom_field_update(actor=api_actor(request), field=field, data=data)


@router.delete("/custom-fields/{int:id}", response={204: None, **_WRITE_ERRORS}, tags=["custom fields"])
def delete_custom_field(request: HttpRequest, id: int) -> Status[None]:
    """Refused (409) while records still hold a value for the field."""
    services.custom_field_delete(actor=api_actor(request), field=_custom_field(request, id))
    return Status(204, None)
