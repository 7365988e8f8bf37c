"""Factories for customers; they go through the services so tests see what users would get."""

from __future__ import annotations

import itertools
from typing import Any

from pearl.accounts.models import User
from pearl.customers.models import Customer
from pearl.customers.services import customer_create

_seq = itertools.count(1)
_NAMES = ["鑫海", "金湾", "顺德", "珠江", "南海", "海港", "渔人", "蓝湾", "东江", "潮汕"]


def make_customer(
    actor: User, contacts: list[dict[str, Any]] | None = None, *, allow_duplicate: bool = False, **data: Any
) -> Customer:
    """A customer through the service; ``allow_duplicate`` for tests that make duplicates on purpose."""
    n = next(_seq)
    data.setdefault("name", f"广州{_NAMES[n % len(_NAMES)]}海鲜酒楼{n}号有限公司")
    return customer_create(actor=actor, data=data, contacts=contacts, allow_duplicate=allow_duplicate)


def mobile(n: int) -> str:
    return f"139{n:08d}"


def make_dupe(actor: User, contacts: list[dict[str, Any]] | None = None, **data: Any) -> Customer:
    """A customer the duplicate matcher may take for an existing one, created anyway (scan and merge tests)."""
    return make_customer(actor, contacts, allow_duplicate=True, **data)
