"""/api/v1 figures of a customer, grading rules and smart tags.

Thin: a selector or a service, then the answer. Figures are scoped like their customer (out of
scope = 404); the rules are settings (manage_settings, 403 otherwise).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from ninja import Query, Router, Status

from pearl.analytics import selectors, services
from pearl.analytics.models import GradingRule, SmartTagRule
from pearl.analytics.schemas import (
    FiguresOut,
    GradingRuleIn,
    GradingRuleOut,
    GradingRulePage,
    GradingRulePatch,
    SmartTagIn,
    SmartTagOut,
    SmartTagPage,
    SmartTagPatch,
)
from pearl.core.api import (
    IDEMPOTENCY_OPENAPI,
    PAGE_PARAMS,
    PageParams,
    api_actor,
    check_id,
    if_match_version,
    page,
    problem_responses,
    reject_unknown_params,
    set_etag,
)

router = Router()

_READ_ERRORS = problem_responses(401, 403, 404)
_LIST_ERRORS = problem_responses(401, 403, 422)
_WRITE_ERRORS = problem_responses(400, 401, 403, 404, 409, 412, 422)


@router.get("/customers/{int:id}/figures", response={200: FiguresOut, **problem_responses(401, 404)}, tags=["figures"])
def get_customer_figures(request: HttpRequest, id: int) -> dict[str, Any]:
    """Key figures of a customer (kept up to date as orders, payments, calls and complaints arrive,
    and by the nightly sweep). Empty until the customer has any."""
    check_id(id, _("Customer not found."))
    figures = selectors.customer_figures_get(actor=api_actor(request), customer_id=id)
    if figures is None:
        return {"customer": id}
    data = {name: getattr(figures, name) for name in FiguresOut.model_fields if name != "customer"}
    return {"customer": id, **data}


# --- grading rules -----------------------------------------------------------------------------------


@router.get("/grading-rules", response={200: GradingRulePage, **_LIST_ERRORS}, tags=["figures"])
def list_grading_rules(request: HttpRequest, filters: Query[PageParams]) -> dict[str, Any]:
    """The automatic grading rules, in the order they are tried."""
    reject_unknown_params(request, PAGE_PARAMS)
    qs = selectors.grading_rule_list(actor=api_actor(request))
    return {"items": page(qs, filters.limit, filters.offset), "count": qs.count()}


@router.post(
    "/grading-rules",
    response={201: GradingRuleOut, **_WRITE_ERRORS},
    tags=["figures"],
    openapi_extra=IDEMPOTENCY_OPENAPI,
)
def create_grading_rule(request: HttpRequest, response: HttpResponse, payload: GradingRuleIn) -> Status[GradingRule]:
    """Add a rule; applied by the next sweep and whenever a customer's orders or payments change."""
    rule = services.grading_rule_create(actor=api_actor(request), data=payload.model_dump())
    response["Location"] = reverse("api:get_grading_rule", args=[rule.pk])
    set_etag(response, rule.version)
    return Status(201, rule)


@router.get("/grading-rules/{int:id}", response={200: GradingRuleOut, **_READ_ERRORS}, tags=["figures"])
def get_grading_rule(request: HttpRequest, response: HttpResponse, id: int) -> GradingRule:
    check_id(id, _("Grading rule not found."))
    rule = selectors.grading_rule_get(actor=api_actor(request), rule_id=id)
    set_etag(response, rule.version)
    return rule


@router.patch("/grading-rules/{int:id}", response={200: GradingRuleOut, **_WRITE_ERRORS}, tags=["figures"])
def update_grading_rule(
    request: HttpRequest, response: HttpResponse, id: int, payload: GradingRulePatch
) -> GradingRule:
    """Change only the fields given; `If-Match: "<version>"` refuses a stale write (412)."""
    check_id(id, _("Grading rule not found."))
    rule = services.grading_rule_update(
        actor=api_actor(request), rule_id=id, data=payload.model_dump(exclude_unset=True),
        expected_version=if_match_version(request),
    )  # fmt: skip
    set_etag(response, rule.version)
    return rule


@router.delete("/grading-rules/{int:id}", response={204: None, **_WRITE_ERRORS}, tags=["figures"])
def delete_grading_rule(request: HttpRequest, id: int) -> Status[None]:
    check_id(id, _("Grading rule not found."))
    services.grading_rule_delete(actor=api_actor(request), rule_id=id, expected_version=if_match_version(request))
    return Status(204, None)


# --- smart tags -------------------------------------------------------------------------------------


@router.get("/smart-tags", response={200: SmartTagPage, **_LIST_ERRORS}, tags=["figures"])
def list_smart_tags(request: HttpRequest, filters: Query[PageParams]) -> dict[str, Any]:
    """Tags applied by rules, with how many customers carry each."""
    reject_unknown_params(request, PAGE_PARAMS)
    qs = selectors.smart_tag_list(actor=api_actor(request))
    return {"items": page(qs, filters.limit, filters.offset), "count": qs.count()}


@router.post(
    "/smart-tags", response={201: SmartTagOut, **_WRITE_ERRORS}, tags=["figures"], openapi_extra=IDEMPOTENCY_OPENAPI
)
def create_smart_tag(request: HttpRequest, response: HttpResponse, payload: SmartTagIn) -> Status[SmartTagRule]:
    """Create a tag with its rule. Created active, it is applied at once; bad conditions are a 422
    naming the row (`conditions.0.op`)."""
    rule = services.smart_tag_create(actor=api_actor(request), data=payload.model_dump(exclude_none=True))
    response["Location"] = reverse("api:get_smart_tag", args=[rule.pk])
    set_etag(response, rule.version)
    return Status(201, rule)


@router.get("/smart-tags/{int:id}", response={200: SmartTagOut, **_READ_ERRORS}, tags=["figures"])
def get_smart_tag(request: HttpRequest, response: HttpResponse, id: int) -> SmartTagRule:
    check_id(id, _("Smart tag not found."))
    rule = selectors.smart_tag_get(actor=api_actor(request), rule_id=id)
    set_etag(response, rule.version)
    return rule


@router.patch("/smart-tags/{int:id}", response={200: SmartTagOut, **_WRITE_ERRORS}, tags=["figures"])
def update_smart_tag(request: HttpRequest, response: HttpResponse, id: int, payload: SmartTagPatch) -> SmartTagRule:
    """Change the name, colour, conditions or whether it is in use (switched off, nobody carries it)."""
    check_id(id, _("Smart tag not found."))
    rule = services.smart_tag_update(
        actor=api_actor(request), rule_id=id, data=payload.model_dump(exclude_unset=True),
        expected_version=if_match_version(request),
    )  # fmt: skip
    set_etag(response, rule.version)
    return rule


@router.delete("/smart-tags/{int:id}", response={204: None, **_WRITE_ERRORS}, tags=["figures"])
def delete_smart_tag(request: HttpRequest, id: int) -> Status[None]:
    """Delete the smart tag: its rule and the tag itself (off every customer)."""
    check_id(id, _("Smart tag not found."))
    services.smart_tag_delete(actor=api_actor(request), rule_id=id, expected_version=if_match_version(request))
    return Status(204, None)
