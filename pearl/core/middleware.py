from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from pearl.core.context import Channel, acting_through


class RequestContextMiddleware:
    """Marks every request as coming from a page or the API, with a request id for the change log."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        channel = Channel.API if request.path.startswith("/api/") else Channel.PAGE
        with acting_through(channel, request.headers.get("X-Request-Id")) as ctx:
            response = self.get_response(request)
        response["X-Request-Id"] = ctx.request_id
        return response
