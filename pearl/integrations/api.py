"""/api/v1 endpoints of the integrations app: channel events.

The bodies are validated by the service, event by event (so a batch can answer each event on its
own); the request schemas in OpenAPI are documented through ``openapi_extra``.
"""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Router, Status

from pearl.core.api import IDEMPOTENCY_OPENAPI, StandardJSONParser, api_actor, problem_responses
from pearl.core.errors import ApplicationError, ValidationFailed
from pearl.integrations import services
from pearl.integrations.schemas import (
    BATCH_SCHEMA,
    EVENT_SCHEMA,
    BatchOut,
    EventOut,
    request_body,
)

router = Router()

_ERRORS = problem_responses(400, 401, 403, 409, 422)


class MalformedJSON(ApplicationError):
    status = 400
    code = "malformed_json"


def _body(request: HttpRequest) -> Any:
    try:
        return StandardJSONParser().parse_body(request)
    except ValueError:
        raise MalformedJSON(_("The request body is not valid JSON.")) from None


def _item(result: services.EventResult) -> dict[str, Any]:
    item: dict[str, Any] = {
        "index": result.index,
        "id": result.event_id,
        "channel": result.channel,
        "customer": result.customer,
        "new": result.new,
        "replay": result.replay,
        "matched_by": result.matched_by,
        "conflicts": result.conflicts,
        "identities_added": result.identities_added,
        "timeline_event": result.timeline_event,
        "visible": result.visible,
        "customer_name": result.customer_name,
        "lead": result.lead,
        "lead_new": result.lead_new,
        "lead_owner": result.lead_owner,
        "assignment_reason": result.assignment_reason,
        "error": None,
    }
    if result.error is not None:
        error = result.error
        item["error"] = {
            "status": error.status,
            "code": error.code,
            "detail": str(error.message),
            "errors": {k: [str(m) for m in v] for k, v in error.field_errors.items()},
        }
    return item


@router.post(
    "/events",
    response={200: EventOut, 201: EventOut, **_ERRORS},
    tags=["events"],
    openapi_extra={**IDEMPOTENCY_OPENAPI, **request_body(EVENT_SCHEMA)},
)
def record_event(request: HttpRequest) -> Status[dict[str, Any]]:
    """Record one channel event on the customer its identifiers name (201), creating the customer when
    nobody matches; a replay of the same channel and id records nothing (200, `replay: true`). A `lead`
    event from someone who is not a customer lands on their open lead, or creates a lead assigned by
    the rules (`lead`, `lead_owner`, `assignment_reason`).

    Identifiers pointing to different customers: external_id > mobile > wechat > email decides, the
    others are listed in `conflicts`. A customer outside your scope is named by id only.
    """
    result = services.event_record(actor=api_actor(request), event=_body(request))
    return Status(200 if result.replay else 201, _item(result))


@router.post(
    "/events/batch",
    response={200: BatchOut, **_ERRORS},
    tags=["events"],
    openapi_extra={**IDEMPOTENCY_OPENAPI, **request_body(BATCH_SCHEMA)},
)
def record_events(request: HttpRequest) -> HttpResponse:
    """Record up to 1,000 channel events, answered one item per event in order.

    Each event stands alone: a refused one carries its `error` (and nothing is written for it), the
    others are recorded together. More than 1,000 events is a 422 for the whole call.
    """
    body = _body(request)
    if not isinstance(body, dict) or set(body) - {"events"}:
        message = _('Send {"events": [...]} with up to %(limit)s events.') % {"limit": f"{services.MAX_BATCH:,}"}
        unknown = sorted(set(body) - {"events"}) if isinstance(body, dict) else []
        errors = {k: [_("Unknown field %(field)s.") % {"field": k}] for k in unknown} or {"body": [message]}
        raise ValidationFailed(message, field_errors=errors)
    results = services.event_record_many(actor=api_actor(request), events=body.get("events"))
    answer = {
        "items": [_item(r) for r in results],
        "recorded": sum(1 for r in results if r.error is None and not r.replay),
        "replayed": sum(1 for r in results if r.replay),
        "failed": sum(1 for r in results if r.error is not None),
        "customers_created": sum(1 for r in results if r.new),
        "leads_created": sum(1 for r in results if r.lead_new),
    }
    # Rendered here rather than validated against BatchOut item by item (a tenth of the request's
    # time for 1,000 items); test_openapi_documents_both_endpoints checks the two agree.
    return HttpResponse(json.dumps(answer, ensure_ascii=False), content_type="application/json; charset=utf-8")
