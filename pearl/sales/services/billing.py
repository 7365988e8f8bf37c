"""The customer's invoicing details (开票信息): one row per customer, written as a whole."""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils.translation import gettext as _

from pearl.accounts.models import User
from pearl.core.changes import created, diff, record_change, snapshot
from pearl.core.errors import NotFound
from pearl.core.events import emit
from pearl.core.models import ChangeAction
from pearl.core.permissions import require, scope_q
from pearl.customers.models import Customer
from pearl.sales.choices import InvoiceType
from pearl.sales.models import CustomerBilling
from pearl.sales.services.common import as_id, check_version, clean_short_text, raise_errors

BILLING_FIELDS = ["invoice_type", "title", "tax_id", "bank", "account", "address", "phone", "email"]
_LIMITS = {"title": 200, "bank": 100, "account": 40, "address": 200, "phone": 32}
# 统一社会信用代码 (18) or the older taxpayer numbers (15 or 20): digits and capital letters.
TAX_ID = re.compile(r"[0-9A-Z]{15}|[0-9A-Z]{18}|[0-9A-Z]{20}")


def clean_tax_id(value: Any) -> tuple[str, str | None]:
    text, error = clean_short_text(value, 40)
    if error:
        return text, error
    text = text.replace(" ", "").upper()
    if text and not TAX_ID.fullmatch(text):
        return text, _(
            "A taxpayer id has 15, 18 or 20 letters and digits (the 18-character unified social credit code); "
            "got %(n)d characters."
        ) % {"n": len(text)}
    return text, None


def clean_billing(data: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    out: dict[str, Any] = {}
    for key in sorted(set(data) - set(BILLING_FIELDS)):
        errors[key] = [_("Unknown field %(field)s.") % {"field": key}]
    kind = data.get("invoice_type") or InvoiceType.NORMAL
    if kind not in InvoiceType.values:
        errors["invoice_type"] = [_("Choose one of %(choices)s.") % {"choices": ", ".join(InvoiceType.values)}]
    out["invoice_type"] = kind
    for key, limit in _LIMITS.items():
        text, error = clean_short_text(data.get(key), limit)
        if error:
            errors[key] = [error]
        out[key] = text
    if not out["title"] and "title" not in errors:
        errors["title"] = [_("The invoice title (the company's full name) is required.")]
    out["tax_id"], error = clean_tax_id(data.get("tax_id"))
    if error:
        errors["tax_id"] = [error]
    email, error = clean_short_text(data.get("email"), 254)
    if not error and email:
        try:
            validate_email(email)
        except ValidationError:
            error = _("Enter a valid email address.")
    if error:
        errors["email"] = [error]
    out["email"] = email
    if kind == InvoiceType.SPECIAL:
        for key in ("tax_id", "bank", "account", "address", "phone"):
            if not out.get(key) and key not in errors:
                errors[key] = [_("A special VAT invoice needs this.")]
    raise_errors(errors)
    return out


@transaction.atomic
def billing_update(
    *, actor: User, customer_id: int, data: dict[str, Any], expected_version: int | None = None
) -> CustomerBilling:
    """Set the customer's invoicing details (all fields; the ones left out are cleared)."""
    require(actor, "edit")
    pk = as_id(customer_id)
    customer = Customer.objects.select_for_update().filter(scope_q(actor)).filter(pk=pk).first() if pk else None
    if customer is None:
        raise NotFound(_("Customer not found."))
    values = clean_billing(data)
    billing = CustomerBilling.objects.select_for_update().filter(customer=customer).first()
    if billing is None:
        if expected_version is not None and expected_version != 0:
            check_version(CustomerBilling(version=0), expected_version, _("invoicing details"))
        billing = CustomerBilling(customer=customer, **values)
        billing.save()
        changes = created(snapshot(billing, BILLING_FIELDS))
        action = ChangeAction.CREATE
    else:
        check_version(billing, expected_version, _("invoicing details"))
        before = snapshot(billing, BILLING_FIELDS)
        for key, value in values.items():
            setattr(billing, key, value)
        changes = diff(before, snapshot(billing, BILLING_FIELDS))
        if not changes:
            return billing
        billing.version += 1
        billing.save()
        action = ChangeAction.UPDATE
    record_change(actor=actor, action=action, instance=billing, changes=changes, root=customer)
    emit("billing.changed", customer_id=customer.pk, actor_id=actor.pk)
    return billing
