"""Forms for the customer pages: posted text in, the plain values the services take out.

Every business rule (required name, mobile format, duplicate legal names, custom-field rules,
status transitions) lives in the services. These forms only shape widgets and choices, mark what
is required, and carry service errors back onto the right field, so nothing is checked twice.
"""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from pearl.accounts.models import User
from pearl.accounts.selectors import team_list, user_list
from pearl.customers.choices import (
    STATUS_TRANSITIONS,
    ChoiceList,
    CustomerKind,
    CustomerStatus,
    CustomFieldObject,
    CustomFieldType,
    Grade,
)
from pearl.customers.filters import CustomerFilterForm
from pearl.customers.models import Contact, Customer, CustomFieldDefinition
from pearl.customers.selectors import choice_options, custom_field_list, tag_list
from pearl.customers.services.derived import managed_tag_ids

BLANK = ("", "—")
YES, NO = "yes", "no"
BOOL_CHOICES = [BLANK, (YES, _("Yes")), (NO, _("No"))]


def option_choices(list_name: str, current: Any = None) -> list[tuple[str, str]]:
    """Active options of an admin-edited list; a retired option still set on the record stays selectable."""
    choices = [(str(o.pk), o.label) for o in choice_options(list_name=list_name)]
    if current is not None and str(current.pk) not in {value for value, _label in choices}:
        choices.append((str(current.pk), str(_("%(label)s (no longer in use)") % {"label": current.label})))
    return [BLANK, *choices]


def team_choices(actor: User) -> list[tuple[str, str]]:
    # An em space per level keeps the company → region → team tree readable in a plain <select>.
    return [BLANK, *((str(t.pk), "\u2003" * t.depth + t.name) for t in team_list(actor=actor))]


def owner_choices(actor: User) -> list[tuple[str, str]]:
    return [(str(u.pk), str(u)) for u in user_list(actor=actor).filter(is_active=True)]


# --- custom fields ---------------------------------------------------------------------------------

def custom_formfield(definition: CustomFieldDefinition) -> forms.Field:
    """A form field for one admin-defined custom field; its value is checked by the service."""
    common: dict[str, Any] = {"label": definition.label, "help_text": definition.help_text, "required": False}
    kind = definition.field_type
    if kind == CustomFieldType.NUMBER:
        return forms.CharField(widget=forms.NumberInput(attrs={"step": "1", "inputmode": "numeric"}), **common)
    if kind == CustomFieldType.DECIMAL:
        return forms.CharField(widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}), **common)
    if kind == CustomFieldType.DATE:
        return forms.CharField(widget=forms.DateInput(attrs={"type": "date"}), **common)
    if kind == CustomFieldType.CHOICE:
        return forms.ChoiceField(choices=[BLANK, *((c, c) for c in definition.choices)], **common)
    if kind == CustomFieldType.MULTI_CHOICE:
        return forms.MultipleChoiceField(
            choices=[(c, c) for c in definition.choices], widget=forms.CheckboxSelectMultiple, **common
        )
    if kind == CustomFieldType.BOOLEAN:
        return forms.ChoiceField(choices=BOOL_CHOICES, **common)
    return forms.CharField(max_length=500, **common)


def custom_initial(definition: CustomFieldDefinition, value: Any) -> Any:
    if value is None:
        return None
    if definition.field_type == CustomFieldType.BOOLEAN:
        return YES if value else NO
    if definition.field_type == CustomFieldType.MULTI_CHOICE:
        return list(value) if isinstance(value, list) else [value]
    return str(value)


def custom_value(definition: CustomFieldDefinition, cleaned: Any) -> Any:
    """The value handed to the service: raw text for it to check, True/False for yes/no."""
    if definition.field_type == CustomFieldType.BOOLEAN:
        return {YES: True, NO: False}.get(cleaned)
    if definition.field_type == CustomFieldType.MULTI_CHOICE:
        return list(cleaned or [])
    return cleaned if cleaned is not None else ""


def custom_display(definition: CustomFieldDefinition, value: Any) -> str:
    """How a stored custom value reads on a page."""
    if value is None or value == "" or value == []:
        return ""
    if definition.field_type == CustomFieldType.BOOLEAN:
        return str(_("Yes") if value else _("No"))
    if isinstance(value, list):
        return "、".join(str(v) for v in value)
    return str(value)


class ServiceErrorsMixin:
    """Puts a service's ``field_errors`` on matching fields and the rest on the form."""

    def apply_service_errors(self, errors: dict[str, list[Any]]) -> None:
        for key, messages in errors.items():
            field = key if key in self.fields else None  # type: ignore[attr-defined]  # a Form
            self.add_error(field, [str(m) for m in messages])  # type: ignore[attr-defined]


# --- customer --------------------------------------------------------------------------------------

class CustomerForm(ServiceErrorsMixin, forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=CustomerKind.choices, initial=CustomerKind.COMPANY)
    name = forms.CharField(
        label=_("Full name"), max_length=200, required=False,
        help_text=_("For a company the full legal name, as on its business licence."),
        widget=forms.TextInput(attrs={"placeholder": "广州鑫海水产有限公司", "autocomplete": "off"}),
    )
    short_name = forms.CharField(
        label=_("Short name"), max_length=100, required=False,
        widget=forms.TextInput(attrs={"placeholder": "鑫海水产", "autocomplete": "off"}),
    )
    customer_type = forms.ChoiceField(label=_("Customer type"), required=False)
    industry = forms.ChoiceField(label=_("Industry"), required=False)
    source = forms.ChoiceField(label=_("Source channel"), required=False)
    province = forms.CharField(
        label=_("Province"), max_length=32, required=False, widget=forms.TextInput(attrs={"placeholder": "广东省"})
    )
    city = forms.CharField(
        label=_("City"), max_length=32, required=False, widget=forms.TextInput(attrs={"placeholder": "广州市"})
    )
    district = forms.CharField(
        label=_("District"), max_length=32, required=False, widget=forms.TextInput(attrs={"placeholder": "天河区"})
    )
    address = forms.CharField(label=_("Street address"), max_length=200, required=False)
    grade = forms.ChoiceField(label=_("Grade"), required=False, choices=[BLANK, *Grade.choices])
    status = forms.ChoiceField(label=_("Status"), required=False, choices=CustomerStatus.choices)
    tags = forms.MultipleChoiceField(label=_("Tags"), required=False, widget=forms.CheckboxSelectMultiple)
    version = forms.IntegerField(required=False, widget=forms.HiddenInput, min_value=1)

    def __init__(self, data: Any = None, *, actor: User, customer: Customer | None = None) -> None:
        self.actor, self.customer = actor, customer
        self.definitions = list(custom_field_list(actor=actor, object_type=CustomFieldObject.CUSTOMER))
        # Smart tags follow their rules: not offered here, and the ones the customer carries are
        # handed back unchanged so the service sees no change to them.
        self.smart_tags = managed_tag_ids()
        self.kept_smart_tags = (
            sorted(customer.tags.filter(pk__in=self.smart_tags).values_list("pk", flat=True))
            if customer is not None and self.smart_tags
            else []
        )
        super().__init__(data, initial=self._initial() if customer else {"owner": str(actor.pk)})
        current = customer or Customer()
        _choice_field(self, "customer_type").choices = option_choices(ChoiceList.CUSTOMER_TYPE, current.customer_type)
        _choice_field(self, "industry").choices = option_choices(ChoiceList.INDUSTRY, current.industry)
        _choice_field(self, "source").choices = option_choices(ChoiceList.SOURCE, current.source)
        if customer is not None:
            # Only the moves the service allows are offered, so the choice cannot be refused later.
            allowed = {customer.status, *STATUS_TRANSITIONS[customer.status]}
            _choice_field(self, "status").choices = [c for c in CustomerStatus.choices if c[0] in allowed]
        self.tag_rows = [(str(t.pk), t.name, t.color) for t in tag_list(actor=actor) if t.pk not in self.smart_tags]
        _choice_field(self, "tags").choices = [(pk, name) for pk, name, _color in self.tag_rows]
        self.may_assign = actor.data_scope != "own"
        if self.may_assign:
            self.fields["owner"] = forms.ChoiceField(label=_("Owner"), choices=owner_choices(actor))
            self.fields["team"] = forms.ChoiceField(
                label=_("Team"), required=False, choices=team_choices(actor),
                help_text=_("Left unchanged, the customer follows its owner's team."),
            )
        for definition in self.definitions:
            self.fields[f"cf_{definition.key}"] = custom_formfield(definition)
        self.required_names = {"name"} | {f"cf_{d.key}" for d in self.definitions if d.required}

    def _initial(self) -> dict[str, Any]:
        c = self.customer
        assert c is not None
        initial: dict[str, Any] = {
            "kind": c.kind, "name": c.name, "short_name": c.short_name, "province": c.province,
            "city": c.city, "district": c.district, "address": c.address, "grade": c.grade, "status": c.status,
            "customer_type": _pk(c.customer_type_id), "industry": _pk(c.industry_id), "source": _pk(c.source_id),
            "owner": _pk(c.owner_id), "team": _pk(c.team_id), "version": c.version,
            "tags": [str(t.pk) for t in c.tags.all() if t.pk not in self.smart_tags],
        }
        for definition in self.definitions:
            initial[f"cf_{definition.key}"] = custom_initial(definition, c.custom_fields.get(definition.key))
        return initial

    @property
    def custom_bound(self) -> list[forms.BoundField]:
        return [self[f"cf_{d.key}"] for d in self.definitions]

    def tag_options(self) -> list[dict[str, Any]]:
        """Tags with their colours and whether they are ticked (the bound value, or the record's)."""
        picked = {str(v) for v in (self["tags"].value() or [])}
        return [{"id": pk, "name": name, "color": color, "checked": pk in picked} for pk, name, color in self.tag_rows]

    def _value(self, name: str) -> Any:
        value = self.cleaned_data.get(name)
        if name in {"customer_type", "industry", "source", "owner", "team"}:
            return int(value) if value else None
        if name == "tags":
            return [int(v) for v in value or []] + self.kept_smart_tags
        return value if value is not None else ""

    def create_data(self) -> dict[str, Any]:
        """Everything filled in; owner and team only when the actor may choose them."""
        names = ["kind", "name", "short_name", "customer_type", "industry", "source", "province", "city",
                 "district", "address", "grade", "tags"]
        data = {name: self._value(name) for name in names}
        if self.cleaned_data.get("status"):
            data["status"] = self.cleaned_data["status"]
        if self.may_assign:
            data["owner"] = self._value("owner")
            if self.cleaned_data.get("team"):
                data["team"] = self._value("team")
        data["custom_fields"] = {
            d.key: custom_value(d, self.cleaned_data.get(f"cf_{d.key}")) for d in self.definitions
        }
        return data

    def update_data(self) -> dict[str, Any]:
        """Only what the user changed, so an untouched retired option or status is never re-checked."""
        changed = set(self.changed_data) - {"version"}
        data = {name: self._value(name) for name in changed if not name.startswith("cf_")}
        if "status" in data and not data["status"]:
            del data["status"]
        if "team" in data and data["team"] is None:
            del data["team"]  # blank means "follow the owner", never "no team"
        custom = {d.key: custom_value(d, self.cleaned_data.get(f"cf_{d.key}"))
                  for d in self.definitions if f"cf_{d.key}" in changed}
        if custom:
            data["custom_fields"] = custom
        return data


def _pk(value: int | None) -> str:
    return str(value) if value else ""


def _choice_field(form: forms.Form, name: str) -> forms.ChoiceField:
    return cast(forms.ChoiceField, form.fields[name])


# --- contacts --------------------------------------------------------------------------------------

class ContactForm(ServiceErrorsMixin, forms.Form):
    row_index: int | None = None  # its place among the rows of the create page

    name = forms.CharField(label=_("Name"), max_length=64, required=False,
                           widget=forms.TextInput(attrs={"autocomplete": "off"}))
    mobile = forms.CharField(
        label=_("Mobile / phone"), max_length=32, required=False,
        widget=forms.TextInput(attrs={"inputmode": "tel", "placeholder": "138 0013 8000", "autocomplete": "off"}),
    )
    email = forms.CharField(label=_("Email"), max_length=254, required=False,
                            widget=forms.EmailInput(attrs={"autocomplete": "off"}))
    wechat = forms.CharField(label=_("WeChat id"), max_length=64, required=False,
                             widget=forms.TextInput(attrs={"autocapitalize": "none", "autocomplete": "off"}))
    position = forms.ChoiceField(label=_("Position"), required=False)
    is_primary = forms.BooleanField(label=_("Primary contact"), required=False)
    version = forms.IntegerField(required=False, widget=forms.HiddenInput, min_value=1)

    def __init__(
        self, data: Any = None, *, prefix: str, positions: list[tuple[str, str]],
        definitions: list[CustomFieldDefinition], contact: Contact | None = None,
    ) -> None:
        self.contact, self.definitions = contact, definitions
        initial: dict[str, Any] = {}
        if contact is not None:
            initial = {
                "name": contact.name, "mobile": contact.mobile_display, "email": contact.email,
                "wechat": contact.wechat, "position": _pk(contact.position_id), "is_primary": contact.is_primary,
                "version": contact.version,
            }
            for d in definitions:
                initial[f"cf_{d.key}"] = custom_initial(d, contact.custom_fields.get(d.key))
        super().__init__(data, prefix=prefix, initial=initial)
        choices = list(positions)
        if contact is not None and contact.position is not None and _pk(contact.position_id) not in dict(choices):
            # A retired position still set on the contact stays selectable.
            choices.append((_pk(contact.position_id), str(contact.position)))
        _choice_field(self, "position").choices = choices
        for d in definitions:
            self.fields[f"cf_{d.key}"] = custom_formfield(d)
        self.required_names = {"name"} | {f"cf_{d.key}" for d in definitions if d.required}

    @property
    def custom_bound(self) -> list[forms.BoundField]:
        return [self[f"cf_{d.key}"] for d in self.definitions]

    def is_blank(self) -> bool:
        """A row the user left empty (the create page skips it rather than refusing it)."""
        keys = ["name", "mobile", "email", "wechat", "position", *(f"cf_{d.key}" for d in self.definitions)]
        return not any(self.cleaned_data.get(k) for k in keys)

    def _value(self, name: str) -> Any:
        value = self.cleaned_data.get(name)
        if name == "position":
            return int(value) if value else None
        if name == "is_primary":
            return bool(value)
        return value if value is not None else ""

    def create_data(self) -> dict[str, Any]:
        data = {n: self._value(n) for n in ("name", "mobile", "email", "wechat", "position", "is_primary")}
        data["custom_fields"] = {
            d.key: custom_value(d, self.cleaned_data.get(f"cf_{d.key}")) for d in self.definitions
        }
        return data

    def update_data(self) -> dict[str, Any]:
        changed = set(self.changed_data) - {"version"}
        data = {n: self._value(n) for n in changed if not n.startswith("cf_")}
        custom = {d.key: custom_value(d, self.cleaned_data.get(f"cf_{d.key}"))
                  for d in self.definitions if f"cf_{d.key}" in changed}
        if custom:
            data["custom_fields"] = custom
        return data


def contact_form_options(actor: User) -> tuple[list[tuple[str, str]], list[CustomFieldDefinition]]:
    """Position choices and contact custom fields, read once for all the contact forms of a page."""
    return (
        option_choices(ChoiceList.POSITION),
        list(custom_field_list(actor=actor, object_type=CustomFieldObject.CONTACT)),
    )


# --- list filters ----------------------------------------------------------------------------------

class CustomerFilterPageForm(CustomerFilterForm):
    """The one customer filter set, with selects for the id filters so people pick names, not numbers.

    Validation is the parent's: the selector runs the very same form on the same query string.
    """

    def __init__(self, data: Any = None, *, actor: User) -> None:
        super().__init__(data)
        self.fields["q"].widget = forms.TextInput(attrs={
            "type": "search", "placeholder": _("Name, pinyin (hxjl), phone or last 4 digits, contact"),
            "autocomplete": "off", "enterkeyhint": "search",
        })
        for name, list_name in (
            ("customer_type", ChoiceList.CUSTOMER_TYPE), ("industry", ChoiceList.INDUSTRY),
            ("source", ChoiceList.SOURCE),
        ):
            self.fields[name].widget = forms.Select(choices=option_choices(list_name))
        self.fields["tag"].widget = forms.Select(
            choices=[BLANK, *((str(t.pk), t.name) for t in tag_list(actor=actor))]
        )
        self.fields["owner"].widget = forms.Select(choices=[BLANK, ("me", _("Me")), *owner_choices(actor)])
        self.fields["team"].widget = forms.Select(choices=team_choices(actor))
        for name in ("province", "city"):
            self.fields[name].widget.attrs["placeholder"] = self.fields[name].label
        for definition in self.custom_definitions:
            name = f"cf_{definition.key}"
            if definition.field_type in (CustomFieldType.CHOICE, CustomFieldType.MULTI_CHOICE):
                self.fields[name].widget = forms.Select(choices=[BLANK, *((c, c) for c in definition.choices)])
            elif definition.field_type == CustomFieldType.BOOLEAN:
                self.fields[name].widget = forms.Select(choices=[BLANK, ("true", _("Yes")), ("false", _("No"))])
            elif definition.field_type == CustomFieldType.DATE:
                self.fields[name].widget = forms.DateInput(attrs={"type": "date"})

    @property
    def main_fields(self) -> list[forms.BoundField]:
        names = ["kind", "customer_type", "province", "city", "grade", "status", "tag", "owner", "team", "ordering"]
        return [self[n] for n in names]

    @property
    def more_fields(self) -> list[forms.BoundField]:
        return [self[n] for n in ("industry", "source", "district")] + [
            self[f"cf_{d.key}"] for d in self.custom_definitions
        ]
