"""Reads of the integrations app: web forms for the settings pages and for the public page."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from pearl.accounts.models import User
from pearl.core.errors import NotFound
from pearl.core.permissions import require
from pearl.integrations.models import WebForm


def webform_list(*, actor: User) -> QuerySet[WebForm]:
    """Every form: they are company settings, seen by whoever may manage settings."""
    require(actor, "manage_settings")
    return WebForm.objects.select_related("source", "product_interest", "fallback_owner", "fallback_team")


def webform_get(*, actor: User, form_id: int) -> WebForm:
    form = webform_list(actor=actor).filter(pk=form_id).first()
    if form is None:
        raise NotFound(_("Web form not found."))
    return form


def webform_public(*, slug: str) -> WebForm | None:
    """The open form behind a public link; None for an unknown link or a closed form (the same answer,
    so a closed form's link tells a stranger nothing)."""
    return WebForm.objects.select_related("product_interest").filter(slug=slug, is_active=True).first()
