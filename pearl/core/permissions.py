"""Action permissions and data scopes, applied by every service and selector.

The actor is a user (``pearl.accounts.models.User``) but only its attributes are read here,
so core stays free of domain imports.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from pearl.core.errors import PermissionDenied

_ACTION_MESSAGES = {
    "create": _("Your role may not create records."),
    "edit": _("Your role may not edit records."),
    "delete": _("Your role may not delete records."),
    "export": _("Your role may not export data."),
    "manage_settings": _("Your role may not change settings."),
}


def require(actor: Any, action: str) -> None:
    if actor is None or not getattr(actor, "is_authenticated", False) or not actor.may(action):
        raise PermissionDenied(_ACTION_MESSAGES[action])


def scope_q(actor: Any, *, owner: str = "owner", team: str = "team") -> Q:
    """Rows the actor may see: own / team / team subtree / all. Nobody sees anything by default."""
    if actor is None or not getattr(actor, "is_authenticated", False) or not actor.is_active:
        return Q(pk__in=[])
    scope = actor.data_scope
    if scope == "all":
        return Q()
    mine = Q(**{f"{owner}_id": actor.pk})
    if scope == "own" or actor.team_id is None:
        return mine
    if scope == "team":
        return mine | Q(**{f"{team}_id": actor.team_id})
    # Subtree as a sub-select of team ids rather than a join: no outer join under SELECT … FOR UPDATE,
    # and the planner can use the (team, id) index.
    subtree = type(actor.team).objects.filter(path__startswith=actor.team.path).values("pk")
    return mine | Q(**{f"{team}_id__in": subtree})
