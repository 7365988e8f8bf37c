"""Shared plumbing for the JSON API: auth, RFC 9457 problems, ETags, Idempotency-Key, pagination.

Every router hangs on the one ``PearlAPI`` built in ``pearl/api.py``; whatever is here applies to
all of them, so a later router gets auth, error shape and idempotent POSTs without doing anything.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import wraps
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, TypeVar

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import URLPattern, URLResolver, re_path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt
from ninja import NinjaAPI, Schema, Swagger
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.parser import Parser
from ninja.renderers import JSONRenderer
from ninja.security import APIKeyCookie
from ninja.utils import check_csrf
from pydantic import Field

from pearl.core import context
from pearl.core.errors import ApplicationError, NotFound, ValidationFailed
from pearl.core.idempotency import IN_PROGRESS, claim, complete, release
from pearl.core.ids import MAX_ID  # re-exported: schemas and filters bound ids with it
from pearl.core.models import IdempotencyRecord

if TYPE_CHECKING:
    from ninja.operation import Operation

logger = logging.getLogger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"
# Largest id a database row can have (signed 64-bit); larger numbers in a URL or filter are
# answered as "not found" / invalid instead of overflowing the database driver.

# --- problem details (RFC 9457) ------------------------------------------------------------------

_TITLES: dict[int, Any] = {
    400: gettext_lazy("Bad request"),
    401: gettext_lazy("Authentication required"),
    403: gettext_lazy("Permission denied"),
    404: gettext_lazy("Not found"),
    405: gettext_lazy("Method not allowed"),
    409: gettext_lazy("Conflict"),
    412: gettext_lazy("Precondition failed"),
    422: gettext_lazy("Validation failed"),
    429: gettext_lazy("Too many requests"),
    500: gettext_lazy("Server error"),
}


class Problem(Schema):
    """RFC 9457 problem details; ``errors`` lists messages per field, extensions vary by ``code``."""

    type: str = Field(examples=["urn:pearl:problem:validation_failed"])
    title: str
    status: int
    detail: str
    code: str = Field(description="Stable machine-readable error code.")
    errors: dict[str, list[str]] | None = Field(None, description="Messages per field (validation problems only).")
    request_id: str | None = None


def problem_responses(*statuses: int) -> dict[int, type[Problem]]:
    """``{status: Problem}`` entries for an operation's ``response=`` so OpenAPI documents them."""
    return dict.fromkeys(statuses, Problem)


def problem_response(
    status: int,
    detail: Any,
    *,
    code: str,
    errors: Mapping[str, Iterable[Any]] | None = None,
    extra: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> HttpResponse:
    title = _TITLES.get(status) or HTTPStatus(status).phrase
    body: dict[str, Any] = {
        "type": f"urn:pearl:problem:{code}",
        "title": str(title),
        "status": status,
        "detail": str(detail),
        "code": code,
    }
    if errors is not None or status == 422:
        body["errors"] = {str(k): [str(m) for m in v] for k, v in (errors or {}).items()}
    for key, value in (extra or {}).items():
        body.setdefault(key, value)  # extensions never overwrite the standard members
    request_id = context.current().request_id
    if request_id:
        body.setdefault("request_id", request_id)
    response = HttpResponse(
        json.dumps(body, ensure_ascii=False, cls=DjangoJSONEncoder),
        status=status,
        content_type=f"{PROBLEM_CONTENT_TYPE}; charset=utf-8",
    )
    for name, value in (headers or {}).items():
        response[name] = value
    return response


class BadRequest(ApplicationError):
    status = 400
    code = "bad_request"


# --- translating request validation errors ------------------------------------------------------

# Error type of our own pydantic validators; their message is already in the reader's language.
INVALID = "pearl_invalid"
# Where pydantic names the member of a union that failed (``("customer_type", "int")``): not a field.
_UNION_TAG = re.compile(r"^(int|str|float|bool|none|[a-z-]+\[.*\])$")


def _field_path(loc: Sequence[Any]) -> str:
    """``("body", "payload", "contacts", 0, "mobile")`` → ``contacts.0.mobile``.

    ninja puts the source first and, for a body, the view argument's name second; neither means
    anything to a client. An error about the whole body has the path ``body``.
    """
    parts = list(loc)
    source = parts.pop(0) if parts else "body"
    if source == "body" and parts:
        parts.pop(0)
    parts = [p for p in parts if not (isinstance(p, str) and _UNION_TAG.match(p))]
    return ".".join(str(p) for p in parts) or str(source)


def _validation_message(error: Mapping[str, Any]) -> str:
    """One pydantic error in the reader's language (Django's own wording where it has one)."""
    kind = str(error.get("type", ""))
    ctx = error.get("ctx") or {}
    loc = error.get("loc") or ()
    if kind == INVALID:
        return str(error.get("msg", ""))
    if kind == "missing":
        if len(loc) <= 2 and loc and loc[0] == "body":
            return _("Send a JSON object in the request body.")
        return _("This field is required.")
    if kind == "extra_forbidden":
        return _("Unknown field %(field)s.") % {"field": loc[-1] if loc else ""}
    if kind.startswith("int_"):
        return _("Enter a whole number.")
    if kind.startswith(("float_", "decimal_")):
        return _("Enter a number.")
    if kind.startswith("bool_"):
        return _("Enter true or false.")
    if kind in ("string_type", "string_unicode"):
        return _("Enter text.")
    if kind == "string_too_long":
        return _("At most %(n)d characters.") % {"n": int(ctx.get("max_length", 0))}
    if kind in ("greater_than_equal", "greater_than"):
        return _("Ensure this value is greater than or equal to %(limit_value)s.") % {
            "limit_value": ctx.get("ge", ctx.get("gt", ""))
        }
    if kind in ("less_than_equal", "less_than"):
        return _("Ensure this value is less than or equal to %(limit_value)s.") % {
            "limit_value": ctx.get("le", ctx.get("lt", ""))
        }
    if kind in ("literal_error", "enum"):
        return _("Choose one of %(choices)s.") % {"choices": ctx.get("expected", "")}
    if kind in ("list_type", "tuple_type", "set_type"):
        return _("Enter a list of values.")
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return _("Send an object.")
    if kind.startswith("date"):
        return _("Enter a valid date.")
    return _("Enter a valid value.")


def validation_errors(errors: Iterable[Mapping[str, Any]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for error in errors:
        path = _field_path(error.get("loc") or ())
        message = _validation_message(error)
        if message not in out.setdefault(path, []):
            out[path].append(message)
    return out


# --- exception handlers ---------------------------------------------------------------------------


def _on_application_error(request: HttpRequest, exc: ApplicationError) -> HttpResponse:
    return problem_response(
        exc.status,
        exc.message,
        code=exc.code,
        errors=exc.field_errors if (exc.field_errors or exc.status == 422) else None,
        extra=exc.extra,
    )


def _on_validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    errors = validation_errors(exc.errors)
    first = next(iter(errors.items()), ("", [_("Enter a valid value.")]))
    detail = f"{first[0]}: {first[1][0]}" if first[0] else first[1][0]
    return problem_response(422, detail, code="validation_failed", errors=errors)


def _on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if isinstance(exc, AuthenticationError):
        return problem_response(
            401,
            _("Log in, or send an API token as “Authorization: Bearer pearl_…”."),
            code="not_authenticated",
            headers={"WWW-Authenticate": 'Bearer realm="pearl"'},
        )
    if exc.status_code == 400 and "parse request body" in exc.message:
        return problem_response(400, _("The request body is not valid JSON."), code="malformed_json")
    if exc.status_code == 403 and "CSRF" in exc.message:
        return problem_response(
            403,
            _("CSRF check failed: send the X-CSRFToken header with the csrftoken cookie's value."),
            code="csrf_failed",
        )
    return problem_response(exc.status_code, exc.message, code=f"http_{exc.status_code}")


def _on_404(request: HttpRequest, exc: Exception) -> HttpResponse:
    return problem_response(404, _("Not found."), code="not_found")


def _on_unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    if settings.DEBUG:
        raise exc  # the developer wants the traceback page
    logger.exception("API request %s %s failed", request.method, request.path)
    return problem_response(500, _("Something went wrong on our side; it has been logged."), code="server_error")


# --- authentication -------------------------------------------------------------------------------


class SessionCsrfAuth(APIKeyCookie):
    """The logged-in browser's session; unsafe methods must carry the CSRF token.

    A request that sends an ``Authorization`` header is judged by that header alone, so a wrong
    token is a 401 even in a browser that is logged in. (Bearer tokens are checked by
    ``pearl.accounts.api.BearerTokenAuth``; core knows nothing about accounts.)
    """

    param_name = settings.SESSION_COOKIE_NAME

    def __call__(self, request: HttpRequest) -> Any:
        if "Authorization" in request.headers:
            return None
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or not user.is_active:
            return None
        if self.csrf and not getattr(request, "_ninja_csrf_exempt", False) and check_csrf(request):
            raise HttpError(403, "CSRF check failed")
        return user

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:  # pragma: no cover
        return None  # __call__ does the work; kept because the base class declares it abstract


def authenticated_user(request: HttpRequest, callbacks: Iterable[Callable[[HttpRequest], Any]]) -> Any:
    """The user the given auth callbacks accept for this request, or None (CSRF failures included)."""
    for auth in callbacks:
        try:
            user = auth(request)
        except HttpError:
            return None
        if user:
            return user
    return None


def api_actor(request: HttpRequest) -> Any:
    """The authenticated user of an operation (``request.auth``, set by ninja's authentication)."""
    return request.auth  # type: ignore[attr-defined]


# --- ETag / If-Match ------------------------------------------------------------------------------

_ETAG = re.compile(r'^(?:"(\d{1,18})"|(\d{1,18}))$')


def etag(version: int) -> str:
    return f'"{version}"'


def set_etag(response: HttpResponse, version: int) -> None:
    response["ETag"] = etag(version)


def if_match_version(request: HttpRequest) -> int | None:
    """The version an ``If-Match`` header asks for; None when absent or ``*``.

    Our ETags are the record version in quotes (``"3"``); a bare ``3`` is accepted too.
    Anything else is a client error, not a silent unconditional write.
    """
    raw = request.headers.get("If-Match")
    if raw is None:
        return None
    value = raw.strip()
    if value == "*":
        return None
    match = _ETAG.match(value)
    if match is None:
        raise BadRequest(
            _('If-Match must be the ETag from your last read, such as "3"; got %(value)s.') % {"value": value[:40]},
            extra={"header": "If-Match"},
        )
    return int(match.group(1) or match.group(2))


# --- pagination -----------------------------------------------------------------------------------

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
MAX_OFFSET = 1_000_000_000

_M = TypeVar("_M", bound=Model)


class PageParams(Schema):
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="Page size (at most 500).")
    offset: int = Field(0, ge=0, le=MAX_OFFSET, description="How many rows to skip.")


PAGE_PARAMS = frozenset({"limit", "offset"})


def page(qs: QuerySet[_M], limit: int, offset: int) -> list[_M]:
    return list(qs[offset : offset + limit])


def reject_unknown_params(request: HttpRequest, allowed: Iterable[str]) -> None:
    """A misspelt filter must not silently return everything: unknown query params are a 422."""
    allowed_set = set(allowed)
    unknown = sorted(k for k in request.GET if k not in allowed_set)
    if unknown:
        errors = {k: [_("Unknown query parameter %(name)s.") % {"name": k}] for k in unknown}
        raise ValidationFailed(errors[unknown[0]][0], field_errors=errors)


def check_id(value: int, message: Any) -> int:
    """Ids beyond the database's range cannot exist: say "not found" instead of overflowing."""
    if not 0 < value <= MAX_ID:
        raise NotFound(message)
    return value


# --- Idempotency-Key ------------------------------------------------------------------------------

IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"

IDEMPOTENCY_OPENAPI: dict[str, Any] = {
    "parameters": [
        {
            "in": "header",
            "name": IDEMPOTENCY_HEADER,
            "required": False,
            "schema": {"type": "string", "maxLength": 255},
            "description": (
                "Any unique string (e.g. a UUID). Retrying with the same key and body returns the "
                "first answer (header Idempotent-Replayed: true) and creates nothing; the same key "
                "with a different body is a 422."
            ),
        }
    ]
}


def _request_hash(request: HttpRequest) -> str:
    digest = hashlib.sha256()
    for part in (request.method or "", request.get_full_path()):
        digest.update(part.encode())
        digest.update(b"\n")
    digest.update(request.body)
    return digest.hexdigest()


def _replay(record: IdempotencyRecord) -> HttpResponse:
    headers = dict(record.response_headers or {})
    response = HttpResponse(
        record.response_body,
        status=record.status_code,
        content_type=headers.pop("Content-Type", "application/json; charset=utf-8"),
    )
    for name, value in headers.items():
        response[name] = value
    response[REPLAYED_HEADER] = "true"
    return response


def _operation_auth(run: Any) -> list[Callable[[HttpRequest], Any]]:
    """The auth callbacks of the operation whose ``run`` (possibly already decorated) this is."""
    while run is not None:
        operation = getattr(run, "__self__", None)
        if operation is not None:
            return list(getattr(operation, "auth_callbacks", []) or [])
        run = getattr(run, "__wrapped__", None)
    return []


RunFunc = Callable[..., HttpResponseBase]


def idempotent(run: RunFunc) -> RunFunc:
    """View-level decorator: a POST with ``Idempotency-Key`` is answered once per user and key.

    Only successful (2xx) answers are kept, so a request that failed can be retried with the same
    key. Installed API-wide by ``PearlAPI``; other methods pass straight through.
    """

    @wraps(run)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if request.method != "POST" or IDEMPOTENCY_HEADER not in request.headers:
            return run(request, *args, **kwargs)
        key = request.headers[IDEMPOTENCY_HEADER].strip()
        if not 1 <= len(key) <= 255:
            return problem_response(
                400,
                _("Idempotency-Key must be 1 to 255 characters."),
                code="bad_idempotency_key",
                extra={"header": IDEMPOTENCY_HEADER},
            )
        user = authenticated_user(request, _operation_auth(run))
        if user is None:
            return run(request, *args, **kwargs)  # the operation answers 401/403 itself
        digest = _request_hash(request)
        record, claimed = claim(user, key, request.method or "", request.path, digest)
        if not claimed:
            if record.request_hash != digest:
                return problem_response(
                    422,
                    _("This Idempotency-Key was already used for a different request; use a new key."),
                    code="idempotency_key_reused",
                    extra={"header": IDEMPOTENCY_HEADER},
                )
            if record.status_code == IN_PROGRESS:
                return problem_response(
                    409,
                    _("A request with this Idempotency-Key is still being processed; retry shortly."),
                    code="idempotency_in_progress",
                    headers={"Retry-After": "1"},
                )
            return _replay(record)
        try:
            response = run(request, *args, **kwargs)
        except BaseException:
            release(record)
            raise
        if 200 <= response.status_code < 300 and isinstance(response, HttpResponse):
            complete(record, response)
        else:
            release(record)  # only successes are kept, so a failed request can be retried
        return response

    return wrapper


# --- the API class --------------------------------------------------------------------------------


class StandardJSONParser(Parser):
    """JSON as RFC 8259 defines it: Python's extra NaN / Infinity literals are a malformed body.

    An empty body is an empty object, so an action whose body is all optional (converting a lead) can
    be a bare POST; an endpoint with required fields then answers 422 naming them."""

    def parse_body(self, request: HttpRequest) -> dict[str, Any]:
        if not request.body.strip():
            return {}
        data: dict[str, Any] = json.loads(request.body, parse_constant=_reject_constant)
        return data


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


# An escaped NUL in a JSON string (not preceded by an escaping backslash): PostgreSQL cannot store it.
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


def _nul_problem(request: HttpRequest) -> HttpResponse | None:
    fields = sorted({k for k, values in request.GET.lists() if "\x00" in k or any("\x00" in v for v in values)})
    if request.method in ("POST", "PUT", "PATCH") and _JSON_NUL.search(request.body):
        fields.append("body")
    if not fields:
        return None
    message = _("Null characters are not allowed.")
    return problem_response(422, message, code="validation_failed", errors={f: [message] for f in fields})


class UnicodeJSONRenderer(JSONRenderer):
    """Chinese stays readable in responses instead of turning into \\uXXXX escapes."""

    json_dumps_params = {"ensure_ascii": False}


class OfflineSwagger(Swagger):
    """Swagger UI from ninja's bundled static files, never from a CDN (Pearl runs on intranets).

    ninja falls back to a CDN page when ``ninja`` is not in INSTALLED_APPS; this refuses to.
    """

    def render_page(self, request: HttpRequest, api: NinjaAPI, **kwargs: Any) -> HttpResponse:
        if "ninja" not in settings.INSTALLED_APPS:
            raise ImproperlyConfigured(
                "Add 'ninja' to INSTALLED_APPS: /api/v1/docs serves Swagger UI from ninja's static files "
                "(collected by collectstatic) and must not fall back to a CDN."
            )
        self.settings["url"] = self.get_openapi_url(api, kwargs)
        return render(
            request,
            self.template,
            {"swagger_settings": json.dumps(self.settings, indent=1), "api": api, "add_csrf": True},
        )


def _problem_view(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Errors raised outside an operation (unknown method, the bare root) also answer as problems."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        refused = _nul_problem(request)
        if refused is not None:
            return refused
        try:
            response = view(request, *args, **kwargs)
        except Http404:
            return problem_response(404, _("Not found."), code="not_found")
        if response.status_code == 405 and not response.get("Content-Type", "").startswith(PROBLEM_CONTENT_TYPE):
            return problem_response(
                405,
                _("This address does not accept %(method)s.") % {"method": request.method},
                code="method_not_allowed",
                headers={"Allow": response.get("Allow", "")},
            )
        return response

    return wrapper


@csrf_exempt
def _unknown_path(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    return problem_response(404, _("There is no API endpoint at %(path)s.") % {"path": request.path}, code="not_found")


class PearlAPI(NinjaAPI):
    """The one API: bearer or session auth, problem+json errors, idempotent POSTs, offline docs."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("auth", [SessionCsrfAuth()])
        kwargs.setdefault("renderer", UnicodeJSONRenderer())
        kwargs.setdefault("parser", StandardJSONParser())
        kwargs.setdefault("docs", OfflineSwagger())
        super().__init__(**kwargs)
        self.add_decorator(idempotent, mode="view")

    def set_default_exception_handlers(self) -> None:
        # ninja types handlers as taking "an exception or its class"; ours only ever get instances.
        handlers: list[tuple[type[Exception], Any]] = [
            (Exception, _on_unexpected),
            (Http404, _on_404),
            (HttpError, _on_http_error),
            (NinjaValidationError, _on_validation_error),
            (ApplicationError, _on_application_error),
        ]
        for exc_class, handler in handlers:
            self.add_exception_handler(exc_class, handler)

    def get_openapi_operation_id(self, operation: Operation) -> str:
        return operation.view_func.__name__  # list_customers, not pearl_customers_api_list_customers

    def get_openapi_schema(self, **kwargs: Any) -> Any:
        schema = super().get_openapi_schema(**kwargs)
        # Errors are served as application/problem+json; say so instead of ninja's application/json.
        for methods in schema.get("paths", {}).values():
            for operation in methods.values():
                for answer in operation.get("responses", {}).values():
                    content = answer.get("content") or {}
                    body = content.get("application/json")
                    if body and body.get("schema", {}).get("$ref", "").endswith("/Problem"):
                        content[PROBLEM_CONTENT_TYPE] = content.pop("application/json")
        return schema

    @property
    def urls(self) -> tuple[list[URLResolver | URLPattern], str, str]:
        patterns, app_name, namespace = super().urls
        wrapped: list[URLResolver | URLPattern] = []
        for pattern in patterns:
            if isinstance(pattern, URLPattern):
                pattern.callback = _problem_view(pattern.callback)
            wrapped.append(pattern)
        wrapped.append(re_path(r"^.*$", _unknown_path, name="unknown"))
        return wrapped, app_name, namespace
