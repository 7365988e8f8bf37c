"""/api/v1 pipelines (with their stages) and opportunities.

Thin: parse, call a selector or service, shape the answer. An opportunity out of the actor's scope is
a 404, never a 403.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from ninja import Query, Router, Status

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
from pearl.core.errors import NotFound, ValidationFailed
from pearl.customers.schemas import ChangePage
from pearl.pipelines import selectors, services
from pearl.pipelines.models import Opportunity, Pipeline, Quote, Stage, StageRule
from pearl.pipelines.pdf import pdf_response
from pearl.pipelines.schemas import (
    MoveIn,
    OpportunityDetailOut,
    OpportunityFilters,
    OpportunityIn,
    OpportunityPage,
    OpportunityPatch,
    PipelineIn,
    PipelineOut,
    PipelinePage,
    PipelinePatch,
    QuoteDetailOut,
    QuoteFilters,
    QuoteIn,
    QuotePage,
    QuotePatch,
    StageIn,
    StageOut,
    StagePatch,
    StageRuleIn,
    StageRuleOut,
    StageRulePage,
)

router = Router()

_READ_ERRORS = problem_responses(401, 404)
_LIST_ERRORS = problem_responses(401, 422)
_WRITE_ERRORS = problem_responses(400, 401, 403, 404, 409, 412, 422)
PIPELINES, OPPORTUNITIES, QUOTES = ["pipelines"], ["opportunities"], ["quotes"]


def _dump(payload: Any) -> dict[str, Any]:
    data: dict[str, Any] = payload.model_dump(exclude_unset=True)
    return data


# --- pipelines ---------------------------------------------------------------------------------------------


@router.get("/pipelines", response={200: PipelinePage, **_LIST_ERRORS}, tags=PIPELINES)
def list_pipelines(request: HttpRequest, filters: Query[PageParams]) -> dict[str, Any]:
    """Pipelines in use with their stages in order (`kind` open / won / lost, `probability` in %)."""
    reject_unknown_params(request, PAGE_PARAMS)
    qs = selectors.pipeline_list(actor=api_actor(request))
    return {"items": page(qs, filters.limit, filters.offset), "count": qs.count()}


@router.get("/pipelines/{int:id}", response={200: PipelineOut, **_READ_ERRORS}, tags=PIPELINES)
def get_pipeline(request: HttpRequest, id: int) -> Pipeline:
    check_id(id, _("Pipeline not found."))
    return selectors.pipeline_get(actor=api_actor(request), pipeline_id=id)


@router.post(
    "/pipelines", response={201: PipelineOut, **_WRITE_ERRORS}, tags=PIPELINES, openapi_extra=IDEMPOTENCY_OPENAPI
)
def create_pipeline(request: HttpRequest, payload: PipelineIn) -> Status[Pipeline]:
    """Needs the manage-settings permission; stages in the order given."""
    data = _dump(payload)
    pipeline = services.pipeline_create(
        actor=api_actor(request),
        name=data["name"],
        is_default=bool(data.get("is_default")),
        stages=[{k: v for k, v in s.items() if v is not None} for s in data.get("stages", [])],
    )
    return Status(201, selectors.pipeline_get(actor=api_actor(request), pipeline_id=pipeline.pk))


@router.patch("/pipelines/{int:id}", response={200: PipelineOut, **_WRITE_ERRORS}, tags=PIPELINES)
def update_pipeline(request: HttpRequest, id: int, payload: PipelinePatch) -> Pipeline:
    """Needs the manage-settings permission: rename, reorder, retire (`active: false`) or make default."""
    check_id(id, _("Pipeline not found."))
    services.pipeline_update(actor=api_actor(request), pipeline_id=id, data=_dump(payload))
    return selectors.pipeline_get(actor=api_actor(request), pipeline_id=id)


@router.post(
    "/pipelines/{int:id}/stages", response={201: StageOut, **_WRITE_ERRORS}, tags=PIPELINES,
    openapi_extra=IDEMPOTENCY_OPENAPI,
)  # fmt: skip
def create_stage(request: HttpRequest, id: int, payload: StageIn) -> Status[Stage]:
    """Needs the manage-settings permission; placed last unless `order` is given. A `role` another stage of the
    pipeline holds is a 409."""
    check_id(id, _("Pipeline not found."))
    data = {k: v for k, v in _dump(payload).items() if v is not None}
    return Status(201, services.stage_create(actor=api_actor(request), pipeline_id=id, data=data))


@router.patch("/pipelines/{int:id}/stages/{int:stage_id}", response={200: StageOut, **_WRITE_ERRORS}, tags=PIPELINES)
def update_stage(request: HttpRequest, id: int, stage_id: int, payload: StagePatch) -> Stage:
    """Needs the manage-settings permission. The kind cannot change while opportunities are in the stage (409),
    nor take away the pipeline's last won or lost stage (409). `role` (`quote`, or `null` to take it off): one
    stage per role in a pipeline (another stage holding it is a 409), only on an open stage (422)."""
    check_id(id, _("Pipeline not found."))
    check_id(stage_id, _("Stage not found."))
    if not selectors.pipeline_get(actor=api_actor(request), pipeline_id=id).stages.filter(pk=stage_id).exists():
        raise NotFound(_("Stage not found."))
    return services.stage_update(actor=api_actor(request), stage_id=stage_id, data=_dump(payload))


@router.get("/pipelines/{int:id}/rules", response={200: StageRulePage, **_READ_ERRORS}, tags=PIPELINES)
def list_stage_rules(request: HttpRequest, id: int) -> dict[str, Any]:
    """Automatic moves: a logged communication of `communication_kind` (and `outcome`, when set) moves the
    customer's open opportunities of this pipeline whose stage is earlier up to `stage`; never backwards."""
    check_id(id, _("Pipeline not found."))
    rules = list(selectors.stage_rule_list(actor=api_actor(request), pipeline_id=id))
    return {"items": rules, "count": len(rules)}


@router.post("/pipelines/{int:id}/rules", response={200: StageRuleOut, **_WRITE_ERRORS}, tags=PIPELINES)
def set_stage_rule(request: HttpRequest, id: int, payload: StageRuleIn) -> StageRule:
    """Needs the manage-settings permission. One rule per kind and outcome: setting it again replaces it."""
    check_id(id, _("Pipeline not found."))
    pipeline = selectors.pipeline_get(actor=api_actor(request), pipeline_id=id)
    if not pipeline.stages.filter(pk=payload.stage).exists():
        message = _("Stage not found.")
        raise ValidationFailed(message, field_errors={"stage": [message]})
    return services.stage_rule_set(
        actor=api_actor(request),
        stage_id=payload.stage,
        communication_kind=payload.communication_kind,
        outcome=payload.outcome,
        active=payload.active,
    )


@router.delete("/pipelines/{int:id}/rules/{int:rule_id}", response={204: None, **_WRITE_ERRORS}, tags=PIPELINES)
def delete_stage_rule(request: HttpRequest, id: int, rule_id: int) -> Status[None]:
    """Needs the manage-settings permission."""
    check_id(id, _("Pipeline not found."))
    check_id(rule_id, _("Rule not found."))
    if not selectors.stage_rule_list(actor=api_actor(request), pipeline_id=id).filter(pk=rule_id).exists():
        raise NotFound(_("Rule not found."))
    services.stage_rule_delete(actor=api_actor(request), rule_id=rule_id)
    return Status(204, None)


# --- opportunities ------------------------------------------------------------------------------------------


def _opportunity(request: HttpRequest, response: HttpResponse, opportunity_id: int) -> Opportunity:
    check_id(opportunity_id, _("Opportunity not found."))
    opportunity = selectors.opportunity_get(actor=api_actor(request), opportunity_id=opportunity_id)
    set_etag(response, opportunity.version)
    return opportunity


def _visible(request: HttpRequest, opportunity_id: int) -> None:
    """404 before any permission check, so an opportunity out of scope never answers 403."""
    check_id(opportunity_id, _("Opportunity not found."))
    if not selectors.opportunity_visible(actor=api_actor(request)).filter(pk=opportunity_id).exists():
        raise NotFound(_("Opportunity not found."))


@router.get("/opportunities", response={200: OpportunityPage, **_LIST_ERRORS}, tags=OPPORTUNITIES)
def list_opportunities(request: HttpRequest, filters: Query[OpportunityFilters]) -> dict[str, Any]:
    """Opportunities you may see, newest first; filters pipeline, stage, owner (id or `me`), customer,
    status (open / won / lost) and q (part of the name)."""
    reject_unknown_params(request, set(OpportunityFilters.model_fields))
    params = {k: v for k, v in request.GET.items() if k not in PAGE_PARAMS}
    qs = selectors.opportunity_list(actor=api_actor(request), filters=params)
    return {"items": page(qs, filters.limit, filters.offset), "count": qs.count()}


@router.post(
    "/opportunities", response={201: OpportunityDetailOut, **_WRITE_ERRORS}, tags=OPPORTUNITIES,
    openapi_extra=IDEMPOTENCY_OPENAPI,
)  # fmt: skip
def create_opportunity(request: HttpRequest, response: HttpResponse, payload: OpportunityIn) -> Status[Opportunity]:
    """A new opportunity for a customer you may see, in the default pipeline's first stage unless told
    otherwise. With `lines` and no `amount`, the amount is the lines' total."""
    data = _dump(payload)
    opportunity = services.opportunity_create(
        actor=api_actor(request),
        customer_id=data["customer"],
        name=data["name"],
        amount=data.get("amount"),
        pipeline_id=data.get("pipeline"),
        stage_id=data.get("stage"),
        expected_close_date=data.get("expected_close_date"),
        owner_id=data.get("owner"),
        loss_reason=data.get("loss_reason") or "",
        lines=data.get("lines"),
    )
    response["Location"] = reverse("api:get_opportunity", args=[opportunity.pk])
    return Status(201, _opportunity(request, response, opportunity.pk))


@router.get("/opportunities/{int:id}", response={200: OpportunityDetailOut, **_READ_ERRORS}, tags=OPPORTUNITIES)
def get_opportunity(request: HttpRequest, response: HttpResponse, id: int) -> Opportunity:
    """One opportunity with its stage `{id, name, probability, kind}`, pipeline and lines; the ETag is its version."""
    return _opportunity(request, response, id)


@router.patch("/opportunities/{int:id}", response={200: OpportunityDetailOut, **_WRITE_ERRORS}, tags=OPPORTUNITIES)
def update_opportunity(request: HttpRequest, response: HttpResponse, id: int, payload: OpportunityPatch) -> Opportunity:
    """Change the fields given (not the stage: see `/move`).

    Send `If-Match: "<version>"` to refuse a stale write (412)."""
    _visible(request, id)
    services.opportunity_update(
        actor=api_actor(request), opportunity_id=id, data=_dump(payload), expected_version=if_match_version(request)
    )
    return _opportunity(request, response, id)


@router.post(
    "/opportunities/{int:id}/move", response={200: OpportunityDetailOut, **_WRITE_ERRORS}, tags=OPPORTUNITIES,
    openapi_extra=IDEMPOTENCY_OPENAPI,
)  # fmt: skip
def move_opportunity(request: HttpRequest, response: HttpResponse, id: int, payload: MoveIn) -> Opportunity:
    """Move to another stage of the same pipeline. A stage of another pipeline is a 422
    `stage_not_in_pipeline`; a lost stage without `loss_reason` a 422 `loss_reason_required`. Honours If-Match."""
    _visible(request, id)
    services.opportunity_move(
        actor=api_actor(request),
        opportunity_id=id,
        stage_id=payload.stage,
        loss_reason=payload.loss_reason or "",
        expected_version=if_match_version(request),
    )
    return _opportunity(request, response, id)


@router.delete("/opportunities/{int:id}", response={204: None, **_WRITE_ERRORS}, tags=OPPORTUNITIES)
def delete_opportunity(request: HttpRequest, id: int) -> Status[None]:
    """Needs the delete permission. Honours If-Match."""
    _visible(request, id)
    services.opportunity_delete(actor=api_actor(request), opportunity_id=id, expected_version=if_match_version(request))
    return Status(204, None)


@router.get("/opportunities/{int:id}/history", response={200: ChangePage, **_READ_ERRORS}, tags=OPPORTUNITIES)
def list_opportunity_history(request: HttpRequest, id: int, filters: Query[PageParams]) -> dict[str, Any]:
    """The opportunity's change log, newest first."""
    check_id(id, _("Opportunity not found."))
    reject_unknown_params(request, PAGE_PARAMS)
    qs = selectors.opportunity_history(actor=api_actor(request), opportunity_id=id)
    return {"items": page(qs, filters.limit, filters.offset), "count": qs.count()}


# --- quotes -------------------------------------------------------------------------------------------------


def _quote(request: HttpRequest, response: HttpResponse, quote_id: int) -> Quote:
    check_id(quote_id, _("Quote not found."))
    quote = selectors.quote_get(actor=api_actor(request), quote_id=quote_id)
    set_etag(response, quote.version)
    return quote


def _quote_visible(request: HttpRequest, quote_id: int) -> None:
    """404 before any permission check, so a quote out of scope never answers 403."""
    check_id(quote_id, _("Quote not found."))
    if not selectors.quote_visible(actor=api_actor(request)).filter(pk=quote_id).exists():
        raise NotFound(_("Quote not found."))


@router.get("/quotes", response={200: QuotePage, **_LIST_ERRORS, **_READ_ERRORS}, tags=QUOTES)
def list_quotes(request: HttpRequest, filters: Query[QuoteFilters]) -> dict[str, Any]:
    """An opportunity's quotes (`opportunity` is required), newest first."""
    reject_unknown_params(request, set(QuoteFilters.model_fields))
    qs = selectors.quote_list(actor=api_actor(request), opportunity_id=filters.opportunity)
    return {"items": page(qs, filters.limit, filters.offset), "count": qs.count()}


@router.post("/quotes", response={201: QuoteDetailOut, **_WRITE_ERRORS}, tags=QUOTES, openapi_extra=IDEMPOTENCY_OPENAPI)
def create_quote(request: HttpRequest, response: HttpResponse, payload: QuoteIn) -> Status[Quote]:
    """A draft quote for an opportunity you may see, numbered `BJyyyymmdd-0001`. Each line: quantity above
    zero, unit price not below zero (the product's price when left out), an optional discount; amounts
    round half up to the fen. A bad line is a 422 naming it (`lines.0.quantity`) and nothing is written."""
    _visible(request, payload.opportunity)
    data = _dump(payload)
    quote = services.quote_create(
        actor=api_actor(request),
        opportunity_id=payload.opportunity,
        lines=data["lines"],
        valid_until=data.get("valid_until"),
        note=data.get("note") or "",
    )
    response["Location"] = reverse("api:get_quote", args=[quote.pk])
    return Status(201, _quote(request, response, quote.pk))


@router.get("/quotes/{int:id}", response={200: QuoteDetailOut, **_READ_ERRORS}, tags=QUOTES)
def get_quote(request: HttpRequest, response: HttpResponse, id: int) -> Quote:
    """One quote with its lines; the ETag is its version."""
    return _quote(request, response, id)


@router.patch("/quotes/{int:id}", response={200: QuoteDetailOut, **_WRITE_ERRORS}, tags=QUOTES)
def update_quote(request: HttpRequest, response: HttpResponse, id: int, payload: QuotePatch) -> Quote:
    """Change a draft's lines, valid-until date or note (a sent quote is a 409). Honours If-Match."""
    _quote_visible(request, id)
    services.quote_update(
        actor=api_actor(request), quote_id=id, data=_dump(payload), expected_version=if_match_version(request)
    )
    return _quote(request, response, id)


@router.delete("/quotes/{int:id}", response={204: None, **_WRITE_ERRORS}, tags=QUOTES)
def delete_quote(request: HttpRequest, id: int) -> Status[None]:
    """Delete a draft (a sent quote is a 409); needs the delete permission. Honours If-Match."""
    _quote_visible(request, id)
    services.quote_delete(actor=api_actor(request), quote_id=id, expected_version=if_match_version(request))
    return Status(204, None)


def _answer(request: HttpRequest, response: HttpResponse, id: int, service: Any) -> Quote:
    _quote_visible(request, id)
    service(actor=api_actor(request), quote_id=id, expected_version=if_match_version(request))
    return _quote(request, response, id)


@router.post(
    "/quotes/{int:id}/send", response={200: QuoteDetailOut, **_WRITE_ERRORS}, tags=QUOTES,
    openapi_extra=IDEMPOTENCY_OPENAPI,
)  # fmt: skip
def send_quote(request: HttpRequest, response: HttpResponse, id: int) -> Quote:
    """Mark a draft sent; its open opportunity moves forward to the pipeline's quote stage (方案报价), never
    backwards. Not a draft: 409. Honours If-Match."""
    return _answer(request, response, id, services.quote_send)


@router.post(
    "/quotes/{int:id}/accept", response={200: QuoteDetailOut, **_WRITE_ERRORS}, tags=QUOTES,
    openapi_extra=IDEMPOTENCY_OPENAPI,
)  # fmt: skip
def accept_quote(request: HttpRequest, response: HttpResponse, id: int) -> Quote:
    """The customer accepted a sent quote (otherwise 409). Honours If-Match."""
    return _answer(request, response, id, services.quote_accept)


@router.post(
    "/quotes/{int:id}/reject", response={200: QuoteDetailOut, **_WRITE_ERRORS}, tags=QUOTES,
    openapi_extra=IDEMPOTENCY_OPENAPI,
)  # fmt: skip
def reject_quote(request: HttpRequest, response: HttpResponse, id: int) -> Quote:
    """The customer turned a sent quote down (otherwise 409). Honours If-Match."""
    return _answer(request, response, id, services.quote_reject)


@router.get(
    "/quotes/{int:id}/pdf", response={200: None, **_READ_ERRORS}, tags=QUOTES,
    openapi_extra={"responses": {200: {"description": "The printable quote.", "content": {"application/pdf": {}}}}},
)  # fmt: skip
def get_quote_pdf(request: HttpRequest, id: int) -> HttpResponse:
    """The printable quote (报价单) as a PDF in Chinese."""
    check_id(id, _("Quote not found."))
    document = selectors.quote_document(actor=api_actor(request), quote_id=id)
    return pdf_response(document)
