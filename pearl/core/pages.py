"""Helpers every app's pages share: who is acting, the log-in / permission gate, error pages, htmx
details and putting a service's refusal on a form.

Core never imports a domain app, so the actor is read off the request without naming the user model
(like ``pearl.core.permissions``), and each app passes its own template names.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, cast

from django import forms
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render

from pearl.core.errors import ApplicationError, Conflict, NotFound, PermissionDenied, ValidationFailed
from pearl.core.permissions import require

View = Callable[..., HttpResponseBase]
# Refusals a page shows on its form; PermissionDenied and NotFound are left to ``page_view``.
FORM_ERRORS = (ValidationFailed, Conflict)


def actor_of(request: HttpRequest) -> Any:
    """The logged-in user; only called behind ``page_view`` so it is never anonymous.

    Typed ``Any`` because core cannot name the user model (``pearl.accounts.models.User``).
    """
    return request.user


def error_page(request: HttpRequest, template: str, message: Any, status: int) -> HttpResponse:
    return render(request, template, {"message": message, "status": status}, status=status)


def page_view(*, error_template: str, right: str | None = None, not_found_page: bool = True) -> Callable[[View], View]:
    """Log-in (and ``right``, an action for ``require``, when given) for a page.

    A denial, whether from the right or raised by a service inside the view, is ``error_template``
    with status 403; NotFound is the same template with 404, or Django's 404 page when
    ``not_found_page`` is False. So no application error of these kinds escapes as a 500.
    """

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            try:
                if right:
                    require(actor_of(request), right)
                return view(request, *args, **kwargs)
            except PermissionDenied as exc:
                return error_page(request, error_template, exc.message, 403)
            except NotFound as exc:
                if not not_found_page:
                    raise Http404(str(exc.message)) from exc
                return error_page(request, error_template, exc.message, 404)

        return wrapper

    return decorator


def render_page(
    request: HttpRequest, template: str, context: dict[str, Any], status: int = 200, *, nav: str
) -> HttpResponse:
    """``render`` for a page of one top-bar section: base.html highlights ``nav``.

    An app binds its section once: ``page = functools.partial(render_page, nav="settings")``.
    """
    return render(request, template, {"nav": nav, **context}, status=status)


def add_service_errors(form: forms.Form, exc: ApplicationError) -> None:
    """Put a service's refusal on the form: field messages on their fields, the rest on top.

    The overall message goes on top too unless it merely repeats a field's message (services often
    pair a full sentence, "A team cannot sit under itself…", with a short field note, "Invalid.").
    """
    placed: set[str] = set()
    for field, msgs in exc.field_errors.items():
        for msg in msgs:
            form.add_error(field if field in form.fields else None, str(msg))
            placed.add(str(msg))
    if str(exc.message) not in placed:
        form.add_error(None, str(exc.message))


# --- htmx ---------------------------------------------------------------------------------------------


def is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def htmx_target(request: HttpRequest) -> str | None:
    """The id of the element an htmx request will swap, or None for a whole page."""
    details = getattr(request, "htmx", None)
    if not details or details.history_restore_request:
        return None  # history restores need the whole page
    return cast(str | None, details.target)
