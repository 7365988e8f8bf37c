"""Settings that admins edit in the UI: tags, choice lists and custom-field definitions."""

from __future__ import annotations

import re
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _

from pearl.accounts.models import User
from pearl.core.changes import record_change
from pearl.core.errors import Conflict, ValidationFailed
from pearl.core.models import ChangeAction
from pearl.core.permissions import require
from pearl.core.text import clean_spaces
from pearl.customers.choices import ChoiceList, CustomFieldObject, CustomFieldType
from pearl.customers.models import ChoiceOption, Contact, Customer, CustomFieldDefinition, Tag

_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
_KEY = re.compile(r"^[a-z][a-z0-9_]{0,49}$")


def _tag_values(data: dict[str, Any], tag: Tag | None) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    name = clean_spaces(str(data.get("name", tag.name if tag else "") or ""))
    color = str(data.get("color", tag.color if tag else "#2f6fde") or "")
    if not name:
        errors["name"] = [_("The tag name is required.")]
    elif len(name) > 32:
        errors["name"] = [_("At most %(n)d characters.") % {"n": 32}]
    elif Tag.objects.filter(name=name).exclude(pk=tag.pk if tag else 0).exists():
        errors["name"] = [_("A tag named %(name)s already exists.") % {"name": name}]
    if not _COLOR.match(color):
        errors["color"] = [_("Enter a colour like #2f6fde.")]
    if errors:
        raise ValidationFailed(next(iter(errors.values()))[0], field_errors=errors)
    return {"name": name, "color": color.lower()}


@transaction.atomic
def tag_create(*, actor: User, data: dict[str, Any]) -> Tag:
    require(actor, "manage_settings")
    return Tag.objects.create(**_tag_values(data, None))


@transaction.atomic
def tag_update(*, actor: User, tag: Tag, data: dict[str, Any]) -> Tag:
    require(actor, "manage_settings")
    for key, value in _tag_values(data, tag).items():
        setattr(tag, key, value)
    tag.save()
    return tag


@transaction.atomic
def tag_delete(*, actor: User, tag: Tag) -> None:
    """Removing a tag is a change of every customer that carried it: each history says so."""
    require(actor, "manage_settings")
    tagged = Customer.objects.filter(tags=tag)
    for customer in tagged.only("id", "name", "short_name").iterator(chunk_size=2000):
        record_change(actor=actor, action=ChangeAction.UPDATE, instance=customer, changes={"tags": [[tag.name], []]})
    tagged.update(version=F("version") + 1)
    tag.delete()


def _option_values(data: dict[str, Any], option: ChoiceOption | None) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    list_name = option.list_name if option else data.get("list_name")
    label = clean_spaces(str(data.get("label", option.label if option else "") or ""))
    if list_name not in ChoiceList.values:
        errors["list_name"] = [_("Unknown choice list.")]
    if not label:
        errors["label"] = [_("The label is required.")]
    elif len(label) > 64:
        errors["label"] = [_("At most %(n)d characters.") % {"n": 64}]
    elif (
        ChoiceOption.objects.filter(list_name=list_name, label=label).exclude(pk=option.pk if option else 0).exists()
    ):
        errors["label"] = [_("%(label)s is already in this list.") % {"label": label}]
    try:
        order = int(data.get("order", option.order if option else 0) or 0)
        if order < 0:
            raise ValueError
    except (TypeError, ValueError):
        errors["order"] = [_("Order is a whole number of 0 or more.")]
        order = 0
    if errors:
        raise ValidationFailed(next(iter(errors.values()))[0], field_errors=errors)
    return {
        "list_name": list_name,
        "label": label,
        "order": order,
        "is_active": bool(data.get("is_active", option.is_active if option else True)),
    }


@transaction.atomic
def choice_option_create(*, actor: User, data: dict[str, Any]) -> ChoiceOption:
    require(actor, "manage_settings")
    return ChoiceOption.objects.create(**_option_values(data, None))


@transaction.atomic
def choice_option_update(*, actor: User, option: ChoiceOption, data: dict[str, Any]) -> ChoiceOption:
    """Renaming an option renames it everywhere (records point at it); retiring hides it from new input."""
    require(actor, "manage_settings")
    for key, value in _option_values(data, option).items():
        setattr(option, key, value)
    option.save()
    return option


def _field_values(data: dict[str, Any], field: CustomFieldDefinition | None) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    current = field.__dict__ if field else {}
    object_type = field.object_type if field else data.get("object_type")
    key = field.key if field else str(data.get("key") or "").strip()
    field_type = field.field_type if field else data.get("field_type")
    label = clean_spaces(str(data.get("label", current.get("label", "")) or ""))
    raw_choices = data.get("choices", current.get("choices", []))
    if isinstance(raw_choices, str):
        raw_choices = re.split(r"[\n,，、]", raw_choices)
    if not isinstance(raw_choices, list):
        errors["choices"] = [_("Choices are a list of labels.")]
        raw_choices = []
    choices = list(dict.fromkeys(clean_spaces(str(c)) for c in raw_choices if clean_spaces(str(c))))
    if object_type not in CustomFieldObject.values:
        errors["object_type"] = [_("A custom field belongs to customers or contacts.")]
    if not _KEY.match(key):
        errors["key"] = [_("The key starts with a letter and uses only a-z, 0-9 and _ (at most 50).")]
    elif field is None and CustomFieldDefinition.objects.filter(object_type=object_type, key=key).exists():
        errors["key"] = [_("The key %(key)s is already used.") % {"key": key}]
    if field_type not in CustomFieldType.values:
        errors["field_type"] = [_("Unknown field type.")]
    if not label:
        errors["label"] = [_("The label is required.")]
    elif len(label) > 64:
        errors["label"] = [_("At most %(n)d characters.") % {"n": 64}]
    if field_type in (CustomFieldType.CHOICE, CustomFieldType.MULTI_CHOICE) and not choices:
        errors["choices"] = [_("A choice field needs at least one choice.")]
    help_text = clean_spaces(str(data.get("help_text", current.get("help_text", "")) or ""))
    if len(help_text) > 200:
        errors["help_text"] = [_("At most %(n)d characters.") % {"n": 200}]
    try:
        order = int(data.get("order", current.get("order", 0)) or 0)
        if order < 0:
            raise ValueError
    except (TypeError, ValueError):
        errors["order"] = [_("Order is a whole number of 0 or more.")]
        order = 0
    if errors:
        raise ValidationFailed(next(iter(errors.values()))[0], field_errors=errors)
    return {
        "object_type": object_type,
        "key": key,
        "field_type": field_type,
        "label": label,
        "required": bool(data.get("required", current.get("required", False))),
        "help_text": help_text,
        "order": order,
        "choices": choices if field_type in (CustomFieldType.CHOICE, CustomFieldType.MULTI_CHOICE) else [],
    }


@transaction.atomic
def custom_field_create(*, actor: User, data: dict[str, Any]) -> CustomFieldDefinition:
    require(actor, "manage_settings")
    return CustomFieldDefinition.objects.create(**_field_values(data, None))


@transaction.atomic
def custom_field_update(*, actor: User, field: CustomFieldDefinition, data: dict[str, Any]) -> CustomFieldDefinition:
    """Key, type and object are fixed once created: stored values depend on them."""
    require(actor, "manage_settings")
    for key, value in _field_values(data, field).items():
        setattr(field, key, value)
    field.save()
    return field


@transaction.atomic
def custom_field_delete(*, actor: User, field: CustomFieldDefinition) -> None:
    """Refused while records hold a value, so deleting a definition never silently drops data."""
    require(actor, "manage_settings")
    model = Customer if field.object_type == CustomFieldObject.CUSTOMER else Contact
    if model.objects.filter(custom_fields__has_key=field.key).exists():
        raise Conflict(
            _("Records still hold values for %(label)s; clear them before deleting the field.") % {"label": field.label}
        )
    field.delete()
