"""How pool rows follow a customer merge (see ``pearl.core.merging``).

The survivor keeps its own ownership, so the merged-away customer's pool entry is dropped (kept in
the merge record and put back on unmerge); its protection moves over when the survivor has none;
claims move like any history.
"""

from __future__ import annotations

from typing import Any

from django.forms.models import model_to_dict

from pearl.core import merging
from pearl.pools.models import CustomerProtection, PoolEntry

merging.register_fk("pools.ClaimLog", "customer", strict=False)


def _move_entry(source_id: int, survivor_id: int) -> dict[str, Any]:
    entry = PoolEntry.objects.filter(customer_id=source_id).first()
    if entry is None:
        return {"row": None}
    row = model_to_dict(entry, exclude=["customer"])
    row["id"] = entry.pk
    row["entered_at"] = entry.entered_at.isoformat()
    entry.delete()
    return {"row": row}


def _restore_entry(source_id: int, survivor_id: int, record: dict[str, Any]) -> None:
    row = record.get("row")
    if row and not PoolEntry.objects.filter(customer_id=source_id).exists():
        PoolEntry.objects.create(
            id=row["id"],
            customer_id=source_id,
            pool_id=row["pool"],
            entered_at=row["entered_at"],
            previous_owner_id=row["previous_owner"],
            reason=row["reason"],
            note=row["note"],
            rule=row["rule"],
        )


def _move_protection(source_id: int, survivor_id: int) -> dict[str, Any]:
    if CustomerProtection.objects.filter(customer_id=survivor_id).exists():
        return {"moved": False}
    moved = CustomerProtection.objects.filter(customer_id=source_id).update(customer_id=survivor_id)
    return {"moved": bool(moved)}


def _restore_protection(source_id: int, survivor_id: int, record: dict[str, Any]) -> None:
    if record.get("moved"):
        CustomerProtection.objects.filter(customer_id=survivor_id).update(customer_id=source_id)


merging.register(
    merging.MergeHook(
        name="pools.poolentry",
        relations=(("pools.poolentry", "customer"),),
        move=_move_entry,
        restore=_restore_entry,
    )
)
merging.register(
    merging.MergeHook(
        name="pools.customerprotection",
        relations=(("pools.customerprotection", "customer"),),
        move=_move_protection,
        restore=_restore_protection,
    )
)
