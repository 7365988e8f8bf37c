"""How orders, payments and invoicing details follow a customer merge (see ``pearl.core.merging``)."""

from __future__ import annotations

from typing import Any

from django.forms.models import model_to_dict

from pearl.core import merging
from pearl.sales.models import CustomerBilling

merging.register_fk("sales.Order", "customer")
merging.register_fk("sales.Payment", "customer")


def _move_billing(source_id: int, survivor_id: int) -> dict[str, Any]:
    """The survivor keeps its own invoicing details; it takes the merged one's only if it has none.

    Details it does not take are kept in the record (the row goes with the merged-away customer),
    so an unmerge puts them back.
    """
    source = CustomerBilling.objects.filter(customer_id=source_id).first()
    if source is None:
        return {"moved": False, "row": None}
    if CustomerBilling.objects.filter(customer_id=survivor_id).exists():
        row = model_to_dict(source, exclude=["customer"])
        source.delete()
        return {"moved": False, "row": row}
    CustomerBilling.objects.filter(customer_id=source_id).update(customer_id=survivor_id)
    return {"moved": True, "row": None}


def _restore_billing(source_id: int, survivor_id: int, record: dict[str, Any]) -> None:
    if record.get("moved"):
        CustomerBilling.objects.filter(customer_id=survivor_id).update(customer_id=source_id)
    elif record.get("row"):
        CustomerBilling.objects.create(customer_id=source_id, **record["row"])


merging.register(
    merging.MergeHook(
        name="sales.billing",
        relations=(("sales.customerbilling", "customer"),),
        move=_move_billing,
        restore=_restore_billing,
    )
)
