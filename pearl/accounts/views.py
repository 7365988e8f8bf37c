"""Pages for logging in/out and the people settings: users, teams, roles and API tokens.

Views are thin: forms turn text into values, services decide and write, selectors read.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from django.contrib import messages
from django.contrib.auth.views import LoginView as DjangoLoginView
from django.contrib.auth.views import LogoutView as DjangoLogoutView
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from pearl.accounts import selectors, services
from pearl.accounts.forms import RoleForm, TeamForm, TokenCreateForm, UserCreateForm, UserUpdateForm
from pearl.accounts.models import User
from pearl.core.errors import NotFound
from pearl.core.pages import FORM_ERRORS, View, actor_of, add_service_errors, page_view, render_page
from pearl.core.permissions import require

page = partial(render_page, nav="settings")


def settings_page(*, manage: bool = True) -> Callable[[View], View]:
    """Log-in (and, unless ``manage`` is False, the manage-settings right) for a settings page.

    Denials raised by a service inside the view become the same 403 page, and NotFound a 404,
    so no application error escapes as a 500.
    """
    right = "manage_settings" if manage else None
    return page_view(error_template="settings/forbidden.html", right=right, not_found_page=False)


# --- log in / out -----------------------------------------------------------------------------------


class LoginView(DjangoLoginView):
    template_name = "accounts/login.html"
    redirect_authenticated_user = True


class LogoutView(DjangoLogoutView):
    """POST only (Django's LogoutView refuses GET), so a link or image cannot log anyone out."""


# --- settings index ---------------------------------------------------------------------------------


@settings_page()
def settings_index(request: HttpRequest) -> HttpResponse:
    return page(request, "settings/index.html", {})


# --- users ------------------------------------------------------------------------------------------


@settings_page()
def user_list(request: HttpRequest) -> HttpResponse:
    users = selectors.user_list(actor=actor_of(request))
    return page(request, "settings/user_list.html", {"users": users})


@settings_page()
@require_http_methods(["GET", "POST"])
def user_create(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    kwargs = {"roles": selectors.role_list(actor=actor), "teams": selectors.team_list(actor=actor)}
    form = UserCreateForm(request.POST or None, **kwargs)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user = services.user_create(
                actor=actor,
                username=data["username"],
                password=data["password"],
                role=data["role"],
                team=data["team"],
                display_name=data["display_name"],
                email=data["email"],
            )
        except FORM_ERRORS as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("User %(name)s created.") % {"name": user.username})
            return redirect("settings:user_list")
    return page(request, "settings/user_form.html", {"form": form, "target": None})


@settings_page()
@require_http_methods(["GET", "POST"])
def user_edit(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    target = get_object_or_404(selectors.user_list(actor=actor), pk=pk)
    kwargs = {"roles": selectors.role_list(actor=actor), "teams": selectors.team_list(actor=actor)}
    if request.method == "POST":
        form = UserUpdateForm(request.POST, **kwargs)
        if form.is_valid():
            try:
                services.user_update(actor=actor, user=target, data=dict(form.cleaned_data))
            except FORM_ERRORS as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("User %(name)s saved.") % {"name": target.username})
                return redirect("settings:user_list")
        # The service may have changed the instance in memory before refusing; show the stored one.
        target.refresh_from_db()
    else:
        form = UserUpdateForm(initial=UserUpdateForm.initial_for(target), **kwargs)
    return page(request, "settings/user_form.html", {"form": form, "target": target})


# --- teams ------------------------------------------------------------------------------------------


@settings_page()
@require_http_methods(["GET", "POST"])
def team_list(request: HttpRequest) -> HttpResponse:
    """The tree, with the form to add a team under any node."""
    actor = actor_of(request)
    teams = selectors.team_list(actor=actor)
    form = TeamForm(request.POST or None, teams=teams)
    if request.method == "POST" and form.is_valid():
        try:
            team = services.team_create(
                actor=actor, name=form.cleaned_data["name"], parent=form.cleaned_data["parent"],
                manager=form.cleaned_data["manager"],
            )  # fmt: skip
        except FORM_ERRORS as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Team %(name)s created.") % {"name": team.name})
            return redirect("settings:team_list")
    return page(request, "settings/team_list.html", {"teams": list(teams), "form": form})


@settings_page()
@require_http_methods(["GET", "POST"])
def team_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Rename or move a team (with its whole subtree)."""
    actor = actor_of(request)
    teams = selectors.team_list(actor=actor)
    team = get_object_or_404(teams, pk=pk)
    if request.method == "POST":
        form = TeamForm(request.POST, teams=teams)
        if form.is_valid():
            try:
                services.team_update(
                    actor=actor, team=team, name=form.cleaned_data["name"], parent=form.cleaned_data["parent"],
                    manager=form.cleaned_data["manager"],
                )  # fmt: skip
            except FORM_ERRORS as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("Team %(name)s saved.") % {"name": team.name})
                return redirect("settings:team_list")
        team.refresh_from_db()
    else:
        form = TeamForm(initial={"name": team.name, "parent": team.parent_id, "manager": team.manager_id}, teams=teams)
    return page(request, "settings/team_form.html", {"form": form, "team": team})


# --- roles ------------------------------------------------------------------------------------------


@settings_page()
def role_list(request: HttpRequest) -> HttpResponse:
    roles = selectors.role_list(actor=actor_of(request))
    return page(request, "settings/role_list.html", {"roles": roles})


@settings_page()
@require_http_methods(["GET", "POST"])
def role_edit(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    role = get_object_or_404(selectors.role_list(actor=actor), pk=pk)
    if request.method == "POST":
        form = RoleForm(request.POST)
        if form.is_valid():
            try:
                services.role_update(actor=actor, role=role, data=dict(form.cleaned_data))
            except FORM_ERRORS as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("Role %(name)s saved.") % {"name": role.label})
                return redirect("settings:role_list")
        role.refresh_from_db()
    else:
        form = RoleForm(initial=RoleForm.initial_for(role))
    return page(request, "settings/role_form.html", {"form": form, "role": role})


# --- API tokens (every user, for their own tokens) ----------------------------------------------------


def _token_owner(request: HttpRequest, raw: str | None) -> User:
    """Whose tokens the page is about: yourself, or (with manage settings) the user picked."""
    actor = actor_of(request)
    if not raw or raw == str(actor.pk):
        return actor
    require(actor, "manage_settings")
    if not raw.isdigit():
        raise NotFound(_("User not found."))
    user = selectors.user_list(actor=actor).filter(pk=int(raw)).first()
    if user is None:
        raise NotFound(_("User not found."))
    return user


@settings_page(manage=False)
@require_http_methods(["GET", "POST"])
def token_list(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    manages = actor.may("manage_settings")
    owner = _token_owner(request, request.GET.get("user"))
    users = selectors.user_list(actor=actor)
    if not manages:
        users = users.filter(pk=actor.pk)
    form = TokenCreateForm(request.POST or None, users=users, initial={"user": owner.pk})
    secret = ""
    if request.method == "POST" and form.is_valid():
        owner = form.cleaned_data["user"] or owner
        token, secret = services.token_create(actor=actor, user=owner, name=form.cleaned_data["name"])
        form = TokenCreateForm(users=users, initial={"user": owner.pk})
        messages.success(request, _("Token %(prefix)s… created.") % {"prefix": token.prefix})
    context = {
        "form": form,
        "manages": manages,
        "owner": owner,
        "secret": secret,
        "tokens": selectors.token_list(actor=actor, user=owner),
    }
    response = page(request, "settings/token_list.html", context)
    if secret:
        response["Cache-Control"] = "no-store"  # the secret must not linger in any cache
    return response


@settings_page(manage=False)
@require_POST
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    owner = _token_owner(request, request.POST.get("user"))
    token = get_object_or_404(selectors.token_list(actor=actor, user=owner), pk=pk)
    if token.revoked_at is None:
        services.token_revoke(actor=actor, token=token)
        messages.success(request, _("Token %(prefix)s… revoked.") % {"prefix": token.prefix})
    url = reverse("settings:token_list")
    return redirect(url if owner.pk == actor.pk else f"{url}?user={owner.pk}")
