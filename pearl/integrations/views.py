"""Web-form pages: the managers' list and settings form (settings right), and the public page a stranger
opens from a website link or a QR code (no login; phone first).

The public page is the one page of Pearl without a login: it is simply not wrapped in ``page_view``
(there is no login middleware to bypass). It still checks Django's CSRF token, itself, so that a refused
token (cookies blocked, a page left open across a server move) answers with the visitor's input kept and
a sentence they understand instead of Django's technical 403 page.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from pearl.core.errors import Conflict, NotFound, ValidationFailed
from pearl.core.pages import actor_of, page_view, render_page
from pearl.integrations import selectors
from pearl.integrations.forms import HONEYPOT, PublicForm, WebFormSettingsForm
from pearl.integrations.models import WebForm
from pearl.integrations.services import webforms

settings_required = page_view(error_template="settings/forbidden.html", right="manage_settings")
page = partial(render_page, nav="settings")


def public_url(request: HttpRequest, form: WebForm) -> str:
    return request.build_absolute_uri(reverse("webforms:public", args=[form.slug]))


# --- managers ----------------------------------------------------------------------------------------


@settings_required
@require_GET
def webform_list(request: HttpRequest) -> HttpResponse:
    forms = list(selectors.webform_list(actor=actor_of(request)))
    rows = [(form, public_url(request, form)) for form in forms]
    return page(request, "integrations/webform_list.html", {"rows": rows})


@settings_required
@require_http_methods(["GET", "POST"])
def webform_create(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    form = WebFormSettingsForm(request.POST or None, actor=actor)
    if request.method == "POST" and form.is_valid():
        try:
            created = webforms.webform_create(actor=actor, data=form.service_data())
        except (ValidationFailed, Conflict) as exc:
            form.apply_service_errors(exc)
        else:
            messages.success(request, _("Web form %(name)s created. Share its link below.") % {"name": created.name})
            return redirect("integrations:webform_edit", pk=created.pk)
    status = 422 if form.is_bound else 200
    return page(request, "integrations/webform_form.html", {"form": form, "webform": None}, status=status)


@settings_required
@require_http_methods(["GET", "POST"])
def webform_edit(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    webform = selectors.webform_get(actor=actor, form_id=pk)
    status = 200
    if request.method == "POST":
        form = WebFormSettingsForm(request.POST, actor=actor, instance=webform)
        if form.is_valid():
            try:
                webforms.webform_update(actor=actor, form_id=pk, data=form.service_data())
            except (ValidationFailed, Conflict) as exc:
                form.apply_service_errors(exc)
            else:
                messages.success(request, _("Web form %(name)s saved.") % {"name": webform.name})
                return redirect("integrations:webform_list")
        status = 422
    else:
        form = WebFormSettingsForm(initial=WebFormSettingsForm.initial_of(webform), actor=actor, instance=webform)
    context = {"form": form, "webform": webform, "link": public_url(request, webform)}
    return page(request, "integrations/webform_form.html", context, status=status)


@settings_required
@require_POST
def webform_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    """Close a form in one click from the list (its link then shows "closed"), or open it again."""
    actor = actor_of(request)
    webform = selectors.webform_get(actor=actor, form_id=pk)
    webform = webforms.webform_update(actor=actor, form_id=pk, data={"is_active": not webform.is_active})
    if webform.is_active:
        messages.success(request, _("Web form %(name)s is open again.") % {"name": webform.name})
    else:
        messages.success(request, _("Web form %(name)s is closed.") % {"name": webform.name})
    return redirect("integrations:webform_list")


# --- visitors ----------------------------------------------------------------------------------------


def _missing(request: HttpRequest) -> HttpResponse:
    return render(request, "integrations/public_missing.html", {}, status=404)


def _visitor_address(request: HttpRequest) -> str:
    # The connecting address: a client-supplied X-Forwarded-For is not read here, or anyone could escape
    # the limit by inventing one. Behind a reverse proxy, PEARL_TRUSTED_PROXY makes `pearl serve` (waitress)
    # put the visitor's address here from that proxy's header; without it every visitor shares the proxy's.
    return str(request.META.get("REMOTE_ADDR") or "unknown")


def _csrf_refused(request: HttpRequest) -> bool:
    """Django's own CSRF check (token, origin, referer), run here instead of in the middleware."""
    checker = CsrfViewMiddleware(lambda _request: HttpResponse())
    return checker.process_view(request, None, (), {}) is not None  # type: ignore[arg-type]


def _public_page(request: HttpRequest, webform: WebForm, form: PublicForm, status: int = 200) -> HttpResponse:
    context: dict[str, Any] = {"webform": webform, "form": form, "honeypot": form[HONEYPOT]}
    return render(request, "integrations/public_form.html", context, status=status)


@csrf_exempt  # checked in the view (``_csrf_refused``) so a refusal keeps the visitor's input
@require_http_methods(["GET", "POST"])
def public_form(request: HttpRequest, slug: str) -> HttpResponse:
    webform = selectors.webform_public(slug=slug)
    if webform is None:
        return _missing(request)
    if request.method == "GET":
        return _public_page(request, webform, PublicForm(webform=webform))
    form = PublicForm(request.POST, webform=webform)
    form.is_valid()  # every field is optional here: the service says what is missing
    if _csrf_refused(request):
        form.add_error(None, _("This page has expired. Please submit again."))
        return _public_page(request, webform, form, status=403)
    address = _visitor_address(request)
    if webforms.submission_throttled(form_id=webform.pk, address=address):
        form.add_error(None, _("Too many submissions. Please try again later."))
        return _public_page(request, webform, form, status=429)
    if form.is_bot:
        # Answered like a person, so the bot learns nothing; counted, so it cannot hammer the page.
        webforms.submission_counted(form_id=webform.pk, address=address)
        return redirect("webforms:thanks", slug=webform.slug)
    data = {k: v for k, v in form.cleaned_data.items() if k != HONEYPOT}
    try:
        webforms.webform_submit(form_id=webform.pk, data=data)
    except ValidationFailed as exc:
        form.apply_service_errors(exc)
        return _public_page(request, webform, form, status=422)
    except NotFound:  # closed while the visitor was typing
        return _missing(request)
    webforms.submission_counted(form_id=webform.pk, address=address)
    return redirect("webforms:thanks", slug=webform.slug)


@require_GET
def public_thanks(request: HttpRequest, slug: str) -> HttpResponse:
    webform = selectors.webform_public(slug=slug)
    if webform is None:
        return _missing(request)
    return render(request, "integrations/public_thanks.html", {"webform": webform})
