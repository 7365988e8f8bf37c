"""Figures follow a merge by being rebuilt, not moved (see ``pearl.core.merging``).

They are derived from orders, payments, communications and complaints, which their own hooks move
to the survivor (and back on unmerge); afterwards the figures, grade and smart tags of every
customer involved are recomputed. The merged-away customers' rows are simply dropped on merge.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pearl.analytics.models import CustomerCategoryFigure, CustomerFigures
from pearl.analytics.services import customer_derived_refresh
from pearl.core import merging


def _drop(source_id: int, survivor_id: int) -> None:
    CustomerFigures.objects.filter(customer_id=source_id).delete()
    CustomerCategoryFigure.objects.filter(customer_id=source_id).delete()


def _restore_nothing(source_id: int, survivor_id: int, record: Any) -> None:
    """Rebuilt below from the restored records rather than moved back."""


def _rebuild(customer_ids: Sequence[int]) -> None:
    for customer_id in customer_ids:
        customer_derived_refresh(customer_id=customer_id)


merging.register(
    merging.MergeHook(
        name="analytics.figures",
        relations=(("analytics.customerfigures", "customer"), ("analytics.customercategoryfigure", "customer")),
        move=_drop,
        restore=_restore_nothing,
        rebuild=_rebuild,
        order=200,  # rebuilt after every other hook moved its rows
    )
)
