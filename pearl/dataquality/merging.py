"""How the data-quality app's rows follow a customer merge (see ``pearl.core.merging``).

Match keys and features are derived data: the merged-away customer's go, and the survivor's (and on unmerge
the restored customers') are recomputed by the customer services' reindex, which refreshes every
registered per-customer index through ``pearl.core.duplicates``.
"""

from __future__ import annotations

from typing import Any

from pearl.core import merging
from pearl.dataquality.models import MatchKey, MatchRecord


def _drop_keys(source_id: int, survivor_id: int) -> None:
    MatchKey.objects.filter(customer_id=source_id).delete()
    MatchRecord.objects.filter(customer_id=source_id).delete()


def _restore_nothing(source_id: int, survivor_id: int, record: Any) -> None:
    """Keys are recomputed from the restored customers rather than moved back."""


merging.register(
    merging.MergeHook(
        name="dataquality.matchkey",
        relations=(("dataquality.matchkey", "customer"), ("dataquality.matchrecord", "customer")),
        move=_drop_keys,
        restore=_restore_nothing,
        order=45,
    )
)
