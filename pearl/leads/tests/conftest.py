from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.utils import translation

from pearl.accounts.models import User
from pearl.core.testing.personas import Org
from pearl.customers.models import ChoiceOption
from pearl.leads import services
from pearl.leads.models import AssignmentRule, Lead

_n = iter(range(10_000_000))


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    """Messages are asserted in English (the source strings)."""
    with translation.override("en"):
        yield


def phone() -> str:
    return f"137{next(_n):08d}"


def make_lead(actor: User, **data: Any) -> Lead:
    data.setdefault("name", "王小明")
    data.setdefault("mobile", phone())
    return services.lead_create(actor=actor, data=data)


def make_rule(admin: User, name: str, members: list[User], **data: Any) -> AssignmentRule:
    return services.assignment_rule_create(actor=admin, data={"name": name, "members": [m.pk for m in members], **data})


def source(label: str) -> ChoiceOption:
    return ChoiceOption.objects.get(list_name="source", label=label)


@pytest.fixture
def sellers(org: Org) -> list[User]:
    """owner, teammate and a third salesperson of 一组, all free to take leads."""
    from pearl.accounts.models import Role
    from pearl.accounts.services import user_create

    third = user_create(
        actor=None, username="chen", password="pearl-test-pass-2026", role=Role.objects.get(name="sales"),
        team=org.team_a,
    )  # fmt: skip
    third.display_name = "陈志强"
    third.save(update_fields=["display_name"])
    return [org.owner, org.teammate, third]
