"""Chinese phone numbers: mobiles stored as 11 digits, landlines as area code + number digits."""

from __future__ import annotations

import phonenumbers
from django.utils.translation import gettext_lazy as _

from pearl.core.errors import ValidationFailed
from pearl.core.text import nfkc

INVALID_PHONE = _(
    "Enter a mainland mobile (11 digits, e.g. 13800138000) or a landline with its area code (e.g. 020-87654321)."
)


def normalize_phone(raw: str) -> str:
    """Digits a number is stored and matched under; raises ValidationFailed on anything else.

    Excel mangling such as ``13800138000.0`` is tolerated, since sheets are where numbers come from.
    """
    text = nfkc(raw).strip()
    if not text:
        return ""
    if text.endswith(".0"):
        text = text[:-2]
    try:
        number = phonenumbers.parse(text, "CN")
    except phonenumbers.NumberParseException as exc:
        raise ValidationFailed(INVALID_PHONE) from exc
    if number.country_code != 86 or not phonenumbers.is_valid_number(number):
        raise ValidationFailed(INVALID_PHONE)
    national = str(number.national_number)
    if (
        phonenumbers.number_type(number)
        in (
            phonenumbers.PhoneNumberType.MOBILE,
            phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
        )
        and len(national) == 11
    ):
        return national
    return "0" + national  # landline: keep the trunk prefix so it reads 020…


def format_phone(stored: str) -> str:
    """``138 0013 8000`` / ``020 8765 4321`` for display."""
    if not stored:
        return ""
    try:
        number = phonenumbers.parse(stored, "CN")
    except phonenumbers.NumberParseException:
        return stored
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)


def mask_mobile(mobile: str) -> str:
    """138****5678: the first three and last four digits, for showing a number to someone who may not
    have it (a public-pool customer not yet claimed, a placeholder name)."""
    digits = mobile.strip()
    if len(digits) >= 8:
        return f"{digits[:3]}****{digits[-4:]}"
    return "****" if digits else ""
