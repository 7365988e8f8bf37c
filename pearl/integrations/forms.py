"""Forms of the web-form pages: the manager's settings form and the visitor's public form.

Both only shape input (widgets, choices, the fields a form asks); the rules - what is required, a
valid mobile, a usable fallback owner - live in ``pearl.integrations.services.webforms``, whose
messages are put back on the fields.
"""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from pearl.accounts.selectors import team_list, user_list
from pearl.core.errors import ApplicationError
from pearl.core.pages import add_service_errors
from pearl.customers.choices import ChoiceList
from pearl.customers.selectors import choice_options
from pearl.integrations.models import WebForm
from pearl.integrations.services.webforms import ASK_FIELDS, MESSAGE_LIMIT, PROVINCES
from pearl.sales.models import ProductCategory
from pearl.sales.selectors import category_list

BLANK = ("", "—")


def _choice(form: forms.Form, name: str) -> forms.ChoiceField:
    return cast(forms.ChoiceField, form.fields[name])


def _select(form: forms.Form, name: str) -> forms.Select:
    return cast(forms.Select, form.fields[name].widget)


class WebFormSettingsForm(forms.Form):
    """Create or edit a form (settings pages)."""

    required_names = {"name", "title"}

    name = forms.CharField(
        label=_("Name"),
        required=False,
        max_length=64,
        help_text=_("For your team only, e.g. 官网询价 or 春季展会报名."),
    )
    title = forms.CharField(label=_("Title visitors see"), required=False, max_length=100)
    intro = forms.CharField(
        label=_("Introduction"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )
    thank_you = forms.CharField(
        label=_("Thank-you text"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Shown after a visitor submits. Empty: a standard thank-you."),
    )
    is_active = forms.BooleanField(label=_("Open for submissions"), required=False, initial=True)
    source = forms.ChoiceField(label=_("Source channel of its leads"), required=False)
    product_interest = forms.ChoiceField(
        label=_("Product interest"),
        required=False,
        help_text=_("Given to every lead of this form, unless the visitor chooses a category."),
    )
    ask_company = forms.BooleanField(label=_("Ask for the company"), required=False, initial=True)
    ask_email = forms.BooleanField(label=_("Ask for an email"), required=False)
    ask_wechat = forms.BooleanField(label=_("Ask for a WeChat id"), required=False)
    ask_region = forms.BooleanField(label=_("Ask for province and city"), required=False, initial=True)
    ask_product = forms.BooleanField(label=_("Let the visitor choose a product category"), required=False)
    ask_message = forms.BooleanField(label=_("Ask for a message"), required=False, initial=True)
    fallback_owner = forms.ChoiceField(
        label=_("Owner when no rule assigns"),
        required=False,
        help_text=_("Leads no assignment rule takes go to this person; else to the team queue below."),
    )
    fallback_team = forms.ChoiceField(label=_("Team queue when no rule assigns"), required=False)

    def __init__(self, *args: Any, actor: Any, instance: WebForm | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        sources = choice_options(list_name=ChoiceList.SOURCE, include_inactive=True).order_by("order", "id")
        current_source = instance.source_id if instance else None
        _choice(self, "source").choices = [
            BLANK, *((str(o.pk), o.label) for o in sources if o.is_active or o.pk == current_source)
        ]  # fmt: skip
        _choice(self, "product_interest").choices = [
            BLANK, *((str(c.pk), c.name) for c in category_list(actor=actor).order_by("order", "id"))
        ]  # fmt: skip
        users = user_list(actor=actor).filter(is_active=True)
        _choice(self, "fallback_owner").choices = [BLANK, *((str(u.pk), str(u)) for u in users)]
        _choice(self, "fallback_team").choices = [
            BLANK, *((str(t.pk), "\u3000" * t.depth + t.name) for t in team_list(actor=actor))
        ]  # fmt: skip

    @staticmethod
    def initial_of(form: WebForm) -> dict[str, Any]:
        data: dict[str, Any] = {
            k: getattr(form, k) for k in ("name", "title", "intro", "thank_you", "is_active", *ASK_FIELDS)
        }
        for key in ("source", "product_interest", "fallback_owner", "fallback_team"):
            data[key] = str(getattr(form, f"{key}_id") or "")
        return data

    def service_data(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        for key in ("source", "product_interest", "fallback_owner", "fallback_team"):
            data[key] = int(data[key]) if data.get(key) else None
        return data

    def apply_service_errors(self, exc: ApplicationError) -> None:
        add_service_errors(self, exc)


# The honeypot: a field people never see (moved off-screen, skipped by the tab key and by autofill)
# that form-filling bots fill in. Named like a real field so bots take it for one.
HONEYPOT = "website"


class PublicForm(forms.Form):
    """What a visitor fills in: name and mobile, plus the fields the web form asks."""

    required_names = {"name", "mobile"}

    name = forms.CharField(
        label=_("Your name"), required=False, widget=forms.TextInput(attrs={"autocomplete": "name", "maxlength": 64})
    )
    mobile = forms.CharField(
        label=_("Mobile number"),
        required=False,
        widget=forms.TextInput(attrs={"type": "tel", "inputmode": "numeric", "autocomplete": "tel", "maxlength": 20}),
    )
    company = forms.CharField(
        label=_("Company name"),
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "organization", "maxlength": 200}),
    )
    email = forms.CharField(
        label=_("Email address"),
        required=False,
        widget=forms.TextInput(attrs={"type": "email", "inputmode": "email", "autocomplete": "email"}),
    )
    wechat = forms.CharField(label=_("WeChat id"), required=False, widget=forms.TextInput(attrs={"maxlength": 64}))
    # Text fields with a select widget: the service, not Django's choice check, says what is wrong.
    province = forms.CharField(label=_("Your province"), required=False, widget=forms.Select)
    city = forms.CharField(label=_("Your city"), required=False, widget=forms.TextInput(attrs={"maxlength": 32}))
    product_interest = forms.CharField(label=_("Product of interest"), required=False, widget=forms.Select)
    message = forms.CharField(
        label=_("Message"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "maxlength": MESSAGE_LIMIT}),
    )
    website = forms.CharField(
        label=_("Leave this field empty"),
        required=False,
        widget=forms.TextInput(attrs={"tabindex": "-1", "autocomplete": "off"}),
    )

    def __init__(self, *args: Any, webform: WebForm, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        asked = {
            "company": webform.ask_company,
            "email": webform.ask_email,
            "wechat": webform.ask_wechat,
            "province": webform.ask_region,
            "city": webform.ask_region,
            "product_interest": webform.ask_product,
            "message": webform.ask_message,
        }
        for name, keep in asked.items():
            if not keep:
                del self.fields[name]
        if "province" in self.fields:
            _select(self, "province").choices = [("", _("Choose…")), *((p, p) for p in PROVINCES)]
        if "product_interest" in self.fields:
            # Visitors see the category names (no actor: a public page); the form's own default is preselected.
            categories = ProductCategory.objects.order_by("order", "id")
            _select(self, "product_interest").choices = [BLANK, *((str(c.pk), c.name) for c in categories)]
            if webform.product_interest_id and not self.is_bound:
                self.initial["product_interest"] = str(webform.product_interest_id)

    @property
    def is_bot(self) -> bool:
        return bool(self.is_bound and str(self.data.get(HONEYPOT, "")).strip())

    def visible_fields_in_order(self) -> list[forms.BoundField]:
        return [self[name] for name in self.fields if name != HONEYPOT]

    def apply_service_errors(self, exc: ApplicationError) -> None:
        add_service_errors(self, exc)
