"""/api/v1 leads and assignment rules.

Thin: parse, call a selector or service, shape the answer. Leads are scoped like customers (a lead
outside the actor's scope is a 404); rules need the manage_settings permission.
"""

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from ninja import Query, Router, Status

from pearl.core.api import (
    IDEMPOTENCY_OPENAPI,
    PAGE_PARAMS,
    api_actor,
    check_id,
    if_match_version,
    page,
    problem_responses,
    reject_unknown_params,
    set_etag,
)
from pearl.leads import selectors, services
from pearl.leads.models import AssignmentRule, Lead, LeadFollowUp
from pearl.leads.schemas import (
    ConvertIn,
    ConvertOut,
    FollowUpIn,
    FollowUpOut,
    LeadFilters,
    LeadIn,
    LeadOut,
    LeadPage,
    LeadPatch,
    ReorderIn,
    RuleIn,
    RuleOut,
    RulePage,
    RulePatch,
)

router = Router()

_READ_ERRORS = problem_responses(401, 404)
_LIST_ERRORS = problem_responses(401, 422)
_WRITE_ERRORS = problem_responses(400, 401, 403, 404, 409, 412, 422)


def _lead(request: HttpRequest, lead_id: int) -> Lead:
    check_id(lead_id, _("Lead not found."))
    return selectors.lead_get(actor=api_actor(request), lead_id=lead_id)


def _answer(request: HttpRequest, response: HttpResponse, lead_id: int) -> Lead:
    lead = selectors.lead_get(actor=api_actor(request), lead_id=lead_id)
    set_etag(response, lead.version)
    return lead


@router.get("/leads", response={200: LeadPage, **_LIST_ERRORS}, tags=["leads"])
def list_leads(request: HttpRequest, filters: Query[LeadFilters]) -> dict[str, Any]:
    """Leads you may see, newest first; `status=open` = new or contacted."""
    reject_unknown_params(request, set(LeadFilters.model_fields))
    params = {k: v for k, v in request.GET.items() if k not in PAGE_PARAMS}
    qs = selectors.lead_list(actor=api_actor(request), filters=params)
    return {"items": page(qs, filters.limit, filters.offset), "count": qs.count()}


@router.post("/leads", response={201: LeadOut, **_WRITE_ERRORS}, tags=["leads"], openapi_extra=IDEMPOTENCY_OPENAPI)
def create_lead(request: HttpRequest, response: HttpResponse, payload: LeadIn) -> Status[Lead]:
    """Record a lead; it is assigned at once (first matching assignment rule, else you, else your team's
    queue) and the answer says to whom and why (`owner`, `assigned_rule`, `assignment_reason`)."""
    lead = services.lead_create(actor=api_actor(request), data=payload.model_dump(exclude_unset=True))
    response["Location"] = reverse("api:get_lead", args=[lead.pk])
    set_etag(response, lead.version)
    # Answered from the row just written: a rule may hand the lead to someone whose leads the creator
    # does not see, and the creator is still told to whom and why.
    return Status(201, lead)


@router.get("/leads/{int:id}", response={200: LeadOut, **_READ_ERRORS}, tags=["leads"])
def get_lead(request: HttpRequest, response: HttpResponse, id: int) -> Lead:
    lead = _lead(request, id)
    set_etag(response, lead.version)
    return lead


@router.patch("/leads/{int:id}", response={200: LeadOut, **_WRITE_ERRORS}, tags=["leads"])
def update_lead(request: HttpRequest, response: HttpResponse, id: int, payload: LeadPatch) -> Lead:
    """Change only the fields given (`status` by the allowed moves; disqualifying needs
    `disqualify_reason`). Send `If-Match: "<version>"` to refuse a stale write (412)."""
    _lead(request, id)
    expected = if_match_version(request)
    services.lead_update(
        actor=api_actor(request), lead_id=id, data=payload.model_dump(exclude_unset=True), expected_version=expected
    )
    return _answer(request, response, id)


@router.delete("/leads/{int:id}", response={204: None, **_WRITE_ERRORS}, tags=["leads"])
def delete_lead(request: HttpRequest, id: int) -> Status[None]:
    _lead(request, id)
    services.lead_delete(actor=api_actor(request), lead_id=id, expected_version=if_match_version(request))
    return Status(204, None)


@router.post(
    "/leads/{int:id}/convert",
    response={200: ConvertOut, **_WRITE_ERRORS},
    tags=["leads"],
    openapi_extra=IDEMPOTENCY_OPENAPI,
)
def convert_lead(
    request: HttpRequest, response: HttpResponse, id: int, payload: ConvertIn | None = None
) -> dict[str, Any]:
    """Turn the lead into a customer and contact — or link it to the customer it already is (same
    mobile, WeChat id or email, same company name, or a confident duplicate-matcher hit). With
    `opportunity` (an object, `{}` for the defaults) it also opens an opportunity, in one transaction."""
    _lead(request, id)
    draft = payload.opportunity if payload is not None else None
    result = services.lead_convert(
        actor=api_actor(request),
        lead_id=id,
        expected_version=if_match_version(request),
        opportunity=draft.model_dump(exclude_none=True) if draft is not None else None,
    )
    return {
        "lead": _answer(request, response, id),
        "customer": result.customer_id,
        "reused": result.reused,
        "matched_by": result.matched_by,
        "opportunity": result.opportunity_id,
    }


@router.post(
    "/leads/{int:id}/follow-ups",
    response={201: FollowUpOut, **_WRITE_ERRORS},
    tags=["leads"],
    openapi_extra=IDEMPOTENCY_OPENAPI,
)
def create_lead_follow_up(request: HttpRequest, id: int, payload: FollowUpIn) -> Status[LeadFollowUp]:
    """Log a call, visit, WeChat or note; the owner's first one stops the no-follow-up reminder."""
    _lead(request, id)
    follow_up = services.lead_follow_up_add(
        actor=api_actor(request), lead_id=id, kind=payload.kind, summary=payload.summary
    )
    return Status(201, follow_up)


# --- assignment rules ---------------------------------------------------------------------------------


def _rule(request: HttpRequest, rule_id: int) -> AssignmentRule:
    check_id(rule_id, _("Assignment rule not found."))
    return selectors.assignment_rule_get(actor=api_actor(request), rule_id=rule_id)


@router.get("/assignment-rules", response={200: RulePage, **problem_responses(401, 403)}, tags=["assignment rules"])
def list_assignment_rules(request: HttpRequest) -> dict[str, Any]:
    """Every rule in the order they are tried (administrators)."""
    rules = list(selectors.assignment_rule_list(actor=api_actor(request)))
    return {"items": rules, "count": len(rules)}


@router.post("/assignment-rules", response={201: RuleOut, **_WRITE_ERRORS}, tags=["assignment rules"])
def create_assignment_rule(request: HttpRequest, response: HttpResponse, payload: RuleIn) -> Status[AssignmentRule]:
    """`conditions`: any of `provinces`, `cities`, `sources` (option ids), `product_categories` (ids) and
    `fields` (`[{"field": "company", "op": "contains"|"eq"|"empty"|"not_empty", "value": "…"}]`)."""
    data = payload.model_dump(exclude_unset=True)
    if data.get("order") is None:
        data.pop("order", None)
    rule = services.assignment_rule_create(actor=api_actor(request), data=data)
    response["Location"] = reverse("api:get_assignment_rule", args=[rule.pk])
    return Status(201, _rule(request, rule.pk))


@router.post("/assignment-rules/reorder", response={200: RulePage, **_WRITE_ERRORS}, tags=["assignment rules"])
def reorder_assignment_rules(request: HttpRequest, payload: ReorderIn) -> dict[str, Any]:
    """Give every rule's id once, in the order they should be tried."""
    services.assignment_rules_reorder(actor=api_actor(request), rule_ids=payload.rule_ids)
    rules = list(selectors.assignment_rule_list(actor=api_actor(request)))
    return {"items": rules, "count": len(rules)}


@router.get("/assignment-rules/{int:id}", response={200: RuleOut, **problem_responses(401, 403, 404)},
            tags=["assignment rules"])  # fmt: skip
def get_assignment_rule(request: HttpRequest, id: int) -> AssignmentRule:
    return _rule(request, id)


@router.patch("/assignment-rules/{int:id}", response={200: RuleOut, **_WRITE_ERRORS}, tags=["assignment rules"])
def update_assignment_rule(request: HttpRequest, id: int, payload: RulePatch) -> AssignmentRule:
    _rule(request, id)
    services.assignment_rule_update(actor=api_actor(request), rule_id=id, data=payload.model_dump(exclude_unset=True))
    return _rule(request, id)


@router.delete("/assignment-rules/{int:id}", response={204: None, **_WRITE_ERRORS}, tags=["assignment rules"])
def delete_assignment_rule(request: HttpRequest, id: int) -> Status[None]:
    _rule(request, id)
    services.assignment_rule_delete(actor=api_actor(request), rule_id=id)
    return Status(204, None)
