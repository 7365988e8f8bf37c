from __future__ import annotations

from django.db.models import QuerySet

from pearl.accounts.models import ApiToken, Role, Team, User
from pearl.core.permissions import require


def user_list(*, actor: User) -> QuerySet[User]:
    """Everyone in the company is visible by name (owners appear on records); details need settings rights."""
    return User.objects.select_related("role", "team").order_by("username")


def team_list(*, actor: User) -> QuerySet[Team]:
    return Team.objects.select_related("parent").order_by("path")


def role_list(*, actor: User) -> QuerySet[Role]:
    return Role.objects.order_by("id")


def token_list(*, actor: User, user: User) -> QuerySet[ApiToken]:
    """A user's tokens: their own, or anyone's for those who manage settings."""
    if actor.pk != user.pk:
        require(actor, "manage_settings")
    return ApiToken.objects.filter(user=user).order_by("-id")
