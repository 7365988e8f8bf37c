from __future__ import annotations

from typing import Any

from django.http import HttpRequest


def permissions(request: HttpRequest) -> dict[str, Any]:
    """Lets templates hide buttons the user's role cannot use (the services still check)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"may": {}}
    return {"may": {a: user.may(a) for a in ("create", "edit", "delete", "export", "manage_settings")}}
