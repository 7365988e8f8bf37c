"""One error family for every interface.

Services raise these; the API turns them into RFC 9457 problem details and pages show the
message next to the form. Messages are lazy translations so each user reads their language.
"""

from __future__ import annotations

from typing import Any


class ApplicationError(Exception):
    status = 400
    code = "bad_request"

    def __init__(
        self,
        message: Any,
        *,
        field_errors: dict[str, list[Any]] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(str(message))
        self.message = message
        self.field_errors = field_errors or {}
        self.extra = extra or {}


class ValidationFailed(ApplicationError):
    status = 422
    code = "validation_failed"


class PermissionDenied(ApplicationError):
    status = 403
    code = "permission_denied"


class NotFound(ApplicationError):
    status = 404
    code = "not_found"


class Conflict(ApplicationError):
    status = 409
    code = "conflict"


class PreconditionFailed(ApplicationError):
    status = 412
    code = "precondition_failed"
