"""Writes for users, teams, roles and API tokens."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from pearl.accounts.choices import Action, DataScope
from pearl.accounts.models import ApiToken, Role, Team, User
from pearl.core.errors import ValidationFailed
from pearl.core.permissions import require

TOKEN_PREFIX = "pearl_"


def _clean_team_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationFailed(_("Team name is required."), field_errors={"name": [_("Required.")]})
    if len(name) > 100:
        message = _("At most %(n)d characters.") % {"n": 100}
        raise ValidationFailed(message, field_errors={"name": [message]})
    return name


def _team_path(team: Team) -> str:
    parent_path = team.parent.path if team.parent_id and team.parent else "/"
    return f"{parent_path}{team.pk}/"


def _check_manager(manager: User | None) -> None:
    if manager is not None and not manager.is_active:
        message = _("An inactive user cannot manage a team.")
        raise ValidationFailed(message, field_errors={"manager": [message]})


@transaction.atomic
def team_create(*, actor: User | None, name: str, parent: Team | None = None, manager: User | None = None) -> Team:
    if actor is not None:
        require(actor, Action.MANAGE_SETTINGS)
    name = _clean_team_name(name)
    _check_manager(manager)
    team = Team.objects.create(name=name, parent=parent, manager=manager)
    team.path = _team_path(team)
    team.save(update_fields=["path"])
    return team


@transaction.atomic
def team_update(
    *, actor: User, team: Team, name: str, parent: Team | None, manager: User | None = None, keep_manager: bool = False
) -> Team:
    """Rename, move and set the manager (``keep_manager``: leave the current one, for callers that
    do not show it)."""
    require(actor, Action.MANAGE_SETTINGS)
    name = _clean_team_name(name)
    if not keep_manager:
        _check_manager(manager)
        team.manager = manager
    if parent is not None and parent.path.startswith(team.path):
        raise ValidationFailed(
            _("A team cannot sit under itself or one of its sub-teams."), field_errors={"parent": [_("Invalid.")]}
        )
    old_path = team.path
    team.name, team.parent = name, parent
    team.path = _team_path(team)
    team.save(update_fields=["name", "parent", "path", "manager"])
    if old_path != team.path:
        # Re-root the whole subtree in one pass; teams are few, customers point at teams by id.
        for child in Team.objects.filter(path__startswith=old_path).exclude(pk=team.pk).order_by("path"):
            child.path = team.path + child.path[len(old_path) :]
            child.save(update_fields=["path"])
    return team


@transaction.atomic
def role_update(*, actor: User, role: Role, data: dict[str, Any]) -> Role:
    require(actor, Action.MANAGE_SETTINGS)
    errors: dict[str, list[str]] = {}
    if "label" in data:
        label = str(data["label"] or "").strip()
        if not label or len(label) > 64:
            errors["label"] = [_("The role name is required (at most 64 characters).")]
        role.label = label
    if "data_scope" in data:
        if data["data_scope"] not in DataScope.values:
            errors["data_scope"] = [_("Choose own, team, team and sub-teams, or all.")]
        role.data_scope = data["data_scope"]
    for action in Action.values:
        if f"can_{action}" in data:
            setattr(role, f"can_{action}", bool(data[f"can_{action}"]))
    if role.name == "admin" and not role.can_manage_settings:
        errors["can_manage_settings"] = [_("The administrator role must keep the right to manage settings.")]
    if errors:
        raise ValidationFailed(next(iter(errors.values()))[0], field_errors=errors)
    role.save()
    _ensure_someone_manages_settings()
    return role


def _ensure_someone_manages_settings() -> None:
    """Refuse any change that would leave no active user able to manage settings (a lock-out)."""
    managers = User.objects.filter(is_active=True).filter(
        models.Q(is_superuser=True) | models.Q(role__can_manage_settings=True)
    )
    if not managers.exists():
        raise ValidationFailed(_("At least one active user must keep the right to manage settings."))


def _check_password(password: str, user: User | None = None) -> None:
    try:
        validate_password(password, user)
    except DjangoValidationError as exc:
        raise ValidationFailed(" ".join(exc.messages), field_errors={"password": list(exc.messages)}) from exc


@transaction.atomic
def user_create(
    *,
    actor: User | None,
    username: str,
    password: str,
    role: Role | None,
    team: Team | None = None,
    display_name: str = "",
    email: str = "",
    is_superuser: bool = False,
) -> User:
    if actor is not None:
        require(actor, Action.MANAGE_SETTINGS)
    username = (username or "").strip()
    if not username:
        raise ValidationFailed(_("Username is required."), field_errors={"username": [_("Required.")]})
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationFailed(
            _("The username %(name)s is taken.") % {"name": username},
            field_errors={"username": [_("Taken.")]},
        )
    user = User(
        username=username,
        role=role,
        team=team,
        display_name=display_name.strip(),
        email=email.strip(),
        is_superuser=is_superuser,
        is_staff=is_superuser,
    )
    _check_password(password, user)
    user.set_password(password)
    user.save()
    return user


@transaction.atomic
def user_update(*, actor: User, user: User, data: dict[str, Any]) -> User:
    require(actor, Action.MANAGE_SETTINGS)
    for key in ("display_name", "email", "role", "team", "is_active", "on_leave"):
        if key in data:
            setattr(user, key, data[key])
    if data.get("password"):
        _check_password(data["password"], user)
        user.set_password(data["password"])
    if user.pk == actor.pk and not user.is_active:
        raise ValidationFailed(_("You cannot deactivate yourself."))
    user.save()
    _ensure_someone_manages_settings()
    return user


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@transaction.atomic
def token_create(*, actor: User | None, user: User, name: str = "") -> tuple[ApiToken, str]:
    """Create a token; returns it with the secret, which is never stored and never shown again."""
    if actor is not None and actor.pk != user.pk:
        require(actor, Action.MANAGE_SETTINGS)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(user=user, name=name.strip()[:100], prefix=secret[:12], key_hash=_hash(secret))
    return token, secret


@transaction.atomic
def token_revoke(*, actor: User, token: ApiToken) -> None:
    if actor.pk != token.user_id:
        require(actor, Action.MANAGE_SETTINGS)
    if token.revoked_at is not None:
        return  # revoking twice keeps the first time
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])


def token_authenticate(secret: str) -> User | None:
    """The active user a bearer secret belongs to, or None."""
    if not secret.startswith(TOKEN_PREFIX):
        return None
    token = (
        ApiToken.objects.select_related("user", "user__role", "user__team")
        .filter(key_hash=_hash(secret), revoked_at__isnull=True)
        .first()
    )
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)  # throttled: no write per request
    return token.user
