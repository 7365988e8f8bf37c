"""Validation of custom-field values against their admin-defined definitions (every write path)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _

from pearl.customers.choices import CustomFieldType
from pearl.customers.models import CustomFieldDefinition

TEXT_LIMIT = 500
_TRUE = {"true", "1", "yes", "y", "是", "对", "✓"}
_FALSE = {"false", "0", "no", "n", "否", "不", ""}


def definitions(object_type: str) -> list[CustomFieldDefinition]:
    return list(CustomFieldDefinition.objects.filter(object_type=object_type).order_by("order", "id"))


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == []


def clean_value(definition: CustomFieldDefinition, value: Any) -> Any:
    """The stored (JSON) form of one value; raises ValueError with a translated message."""
    if _empty(value):
        return None
    kind = definition.field_type
    if kind == CustomFieldType.TEXT:
        text = str(value).strip()
        if len(text) > TEXT_LIMIT:
            raise ValueError(_("At most %(n)d characters.") % {"n": TEXT_LIMIT})
        return text or None
    if kind == CustomFieldType.NUMBER:
        if isinstance(value, bool):
            raise ValueError(_("Enter a whole number."))
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation as exc:
            raise ValueError(_("Enter a whole number.")) from exc
        if not number.is_finite() or number != number.to_integral_value() or abs(number) >= 2**63:
            raise ValueError(_("Enter a whole number."))
        return int(number)
    if kind == CustomFieldType.DECIMAL:
        if isinstance(value, bool):
            raise ValueError(_("Enter a number."))
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation as exc:
            raise ValueError(_("Enter a number.")) from exc
        if not number.is_finite():
            raise ValueError(_("Enter a number."))
        return str(number)
    if kind == CustomFieldType.DATE:
        if isinstance(value, dt.date):
            return value.isoformat()
        try:
            return dt.date.fromisoformat(str(value).strip()).isoformat()
        except ValueError as exc:
            raise ValueError(_("Enter a date as YYYY-MM-DD.")) from exc
    if kind == CustomFieldType.CHOICE:
        text = str(value).strip()
        if text not in definition.choices:
            raise ValueError(_("%(value)s is not one of the choices.") % {"value": text})
        return text
    if kind == CustomFieldType.MULTI_CHOICE:
        items = value if isinstance(value, list | tuple) else str(value).split(",")
        picked = [str(v).strip() for v in items if str(v).strip()]
        wrong = [v for v in picked if v not in definition.choices]
        if wrong:
            raise ValueError(_("%(value)s is not one of the choices.") % {"value": "、".join(wrong)})
        return [c for c in definition.choices if c in picked] or None
    if kind == CustomFieldType.BOOLEAN:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ValueError(_("Answer yes or no."))
    raise ValueError(_("Unknown field type."))


def clean_custom_fields(
    object_type: str, values: dict[str, Any] | None, *, current: dict[str, Any] | None = None
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Merge ``values`` into ``current`` after validation; returns (result, errors by ``cf_<key>``)."""
    if values is not None and not isinstance(values, dict):
        return dict(current or {}), {"custom_fields": [_("Custom fields must be an object of key: value.")]}
    values = values or {}
    defs = {d.key: d for d in definitions(object_type)}
    result = dict(current or {})
    errors: dict[str, list[str]] = {}
    for key in values:
        if key not in defs:
            errors[f"cf_{key}"] = [_("There is no custom field %(key)s.") % {"key": key}]
    for key, definition in defs.items():
        if key in values:
            try:
                cleaned = clean_value(definition, values[key])
            except ValueError as exc:
                errors[f"cf_{key}"] = [str(exc)]
                continue
            if cleaned is None:
                result.pop(key, None)
            else:
                result[key] = cleaned
        if definition.required and _empty(result.get(key)) and f"cf_{key}" not in errors:
            errors[f"cf_{key}"] = [_("%(label)s is required.") % {"label": definition.label}]
    return result, errors
