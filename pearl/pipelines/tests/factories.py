from __future__ import annotations

from typing import Any

from pearl.accounts.models import User
from pearl.pipelines.models import Opportunity
from pearl.pipelines.services import opportunity_create


def make_opportunity(actor: User, customer_id: int, **kwargs: Any) -> Opportunity:
    kwargs.setdefault("name", "冷库扩建")
    kwargs.setdefault("amount", "10000.00")
    return opportunity_create(actor=actor, customer_id=customer_id, **kwargs)
