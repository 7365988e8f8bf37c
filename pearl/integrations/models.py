"""Models of the integrations app: public web forms (官网询价, 活动报名) that turn visitors into leads.

Channel events need no model of their own (they land on the timeline and the identities).
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from pearl.customers.choices import ChoiceList

# The optional fields a form may ask besides name and mobile (the ``ask_*`` flags, in page order).
OPTIONAL_FIELDS = ("company", "email", "wechat", "region", "product", "message")


def new_slug() -> str:
    """The token in the public URL: 96 random bits, so nobody finds a form by trying addresses."""
    return secrets.token_urlsafe(12)


class WebForm(models.Model):
    """A public form a manager links from their website or a QR code; each submission becomes a lead,
    assigned by the assignment rules on arrival (else ``fallback_owner``, else ``fallback_team``'s queue)."""

    name = models.CharField(_("name"), max_length=64)
    slug = models.CharField(_("link token"), max_length=32, unique=True, default=new_slug, editable=False)
    is_active = models.BooleanField(_("active"), default=True)
    title = models.CharField(_("title"), max_length=100)
    intro = models.TextField(_("introduction"), max_length=2000, blank=True)
    thank_you = models.TextField(_("thank-you text"), max_length=2000, blank=True)
    source = models.ForeignKey(
        "customers.ChoiceOption",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        limit_choices_to={"list_name": ChoiceList.SOURCE},
        verbose_name=_("source channel"),
    )
    product_interest = models.ForeignKey(
        "sales.ProductCategory",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("product interest"),
    )
    ask_company = models.BooleanField(_("ask for the company"), default=True)
    ask_email = models.BooleanField(_("ask for an email"), default=False)
    ask_wechat = models.BooleanField(_("ask for a WeChat id"), default=False)
    ask_region = models.BooleanField(_("ask for province and city"), default=True)
    ask_product = models.BooleanField(_("let the visitor choose a product category"), default=False)
    ask_message = models.BooleanField(_("ask for a message"), default=True)
    fallback_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("owner when no rule assigns"),
    )
    fallback_team = models.ForeignKey(
        "accounts.Team",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("team queue when no rule assigns"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    # Kept by the submit service under the form's row lock: what the list shows without counting leads.
    submission_count = models.PositiveIntegerField(_("submissions"), default=0, editable=False)
    last_submitted_at = models.DateTimeField(_("last submission"), null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-is_active", "name", "id"]
        verbose_name = _("web form")
        verbose_name_plural = _("web forms")

    def __str__(self) -> str:
        return self.name

    def asks(self, name: str) -> bool:
        return bool(getattr(self, f"ask_{name}"))
