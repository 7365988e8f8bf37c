from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.utils import translation

from pearl.core.testing.personas import Org
from pearl.customers.models import Customer
from pearl.customers.tests.factories import make_customer
from pearl.sales.models import Product
from pearl.sales.tests.factories import product


@pytest.fixture(autouse=True)
def _english() -> object:
    """Messages in English so the tests read the source strings."""
    with translation.override("en"):
        yield


@dataclass
class Catalogue:
    prawn: Product  # 10.00 / cost 6.00
    crab: Product  # 88.50 / cost 50.00
    sauce: Product  # 3.33, no cost
    retired: Product  # off sale


@pytest.fixture
def catalogue(org: Org) -> Catalogue:
    return Catalogue(
        prawn=product(org.admin, "P-001", price="10.00", name="基围虾"),
        crab=product(org.admin, "C-001", price="88.50", cost="50.00", cat="蟹", name="大闸蟹"),
        sauce=product(org.admin, "S-001", price="3.33", cost=None, cat="调料", name="海鲜酱"),
        retired=product(org.admin, "P-999", price="1.00", is_active=False, name="旧货"),
    )


@pytest.fixture
def customer(org: Org) -> Customer:
    """A customer of org.owner (team 一组)."""
    return make_customer(org.owner)


@pytest.fixture
def other_customer(org: Org) -> Customer:
    """A customer of org.outsider (team 二组)."""
    return make_customer(org.outsider)
