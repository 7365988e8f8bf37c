"""Who is acting through which channel, carried for the change log without threading it everywhere."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from django.db import models
from django.utils.translation import gettext_lazy as _


class Channel(models.TextChoices):
    PAGE = "page", _("Page")
    API = "api", _("API")
    COMMAND = "command", _("Command")
    SYSTEM = "system", _("System")
    IMPORT = "import", _("Import")
    FORM = "form", _("Web form")


@dataclass(frozen=True)
class RequestContext:
    channel: str
    request_id: str


_current: ContextVar[RequestContext | None] = ContextVar("pearl_request_context", default=None)


def current() -> RequestContext:
    ctx = _current.get()
    return ctx if ctx is not None else RequestContext(Channel.SYSTEM, "")


@contextmanager
def acting_through(channel: str, request_id: str | None = None) -> Iterator[RequestContext]:
    ctx = RequestContext(channel, request_id or uuid.uuid4().hex)
    token = _current.set(ctx)
    try:
        yield ctx
    finally:
        _current.reset(token)
