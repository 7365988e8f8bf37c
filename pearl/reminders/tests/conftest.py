from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from django.utils import timezone, translation

from pearl.core.testing.personas import Org
from pearl.customers.models import Customer
from pearl.customers.tests.factories import make_customer, mobile

SHANGHAI = dt.timezone(dt.timedelta(hours=8))


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    """Messages are asserted in English (the source strings)."""
    with translation.override("en"):
        yield


@pytest.fixture
def customer(org: Org) -> Customer:
    """A customer of org.owner (team 一组)."""
    return make_customer(org.owner, contacts=[{"name": "张伟", "mobile": mobile(601)}])


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    """A moment in December 2026, Shanghai time."""
    return dt.datetime(2026, 12, day, hour, minute, tzinfo=SHANGHAI)


def later(hours: float = 1) -> dt.datetime:
    return timezone.now() + dt.timedelta(hours=hours)
