"""New customers that a channel event introduces (web form, shop order, call centre, WeChat).

The ingestion endpoint (``pearl.integrations``) resolves a whole batch of events first and then
asks for all the customers nobody matched at once. They are written by the import's bulk writer
(``bulk_create.write_creates``), so each carries exactly what ``customer_create`` would have written:
normalised name, pinyin, search blob and tokens, a primary contact with the identifiers, the
identities (the channel's external id among them), the matcher's keys (``duplicates.refresh``), the
field-level change log and ``customer.created``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction

from pearl.accounts.models import User
from pearl.core.permissions import require
from pearl.customers.choices import CustomerKind, CustomerStatus
from pearl.customers.models import ChoiceOption
from pearl.customers.services.bulk_create import write_creates
from pearl.customers.services.bulk_rows import CleanRow, Lookups


@dataclass(frozen=True)
class ChannelPerson:
    """A customer to create from what a channel knows; values already validated and normalised
    (mobile as ``normalize_phone`` stores it, email lower-case, external id namespaced)."""

    name: str
    contact_name: str
    kind: str = CustomerKind.INDIVIDUAL
    mobile: str = ""
    email: str = ""
    wechat: str = ""
    external_id: str = ""
    source: ChoiceOption | None = None


def _lookups(actor: User) -> Lookups:
    """The writer reads only the tag table from its lookups, and channel customers carry no tags."""
    return Lookups(
        actor=actor,
        choices={},
        choice_labels={},
        users={},
        tags={},
        custom_defs={},
        kinds={},
        statuses={},
        may_create_tags=False,
    )


@transaction.atomic
def channel_customers_create(*, actor: User, people: Sequence[ChannelPerson]) -> list[int]:
    """Create one prospect per person, owned by ``actor`` (and its team); returns their ids in order.

    The caller has made sure no identity is taken (a concurrent writer that took one meanwhile makes
    this raise ``IntegrityError``: the identity's unique constraint) and that company names are free.
    """
    require(actor, "create")
    rows = []
    for number, person in enumerate(people, start=1):
        customer: dict[str, object] = {
            "kind": person.kind,
            "name": person.name[:200],
            "status": CustomerStatus.PROSPECT,
        }
        if person.source is not None:
            customer["source"] = person.source
        contact = {
            "name": person.contact_name[:64],
            "mobile": person.mobile,
            "email": person.email,
            "wechat": person.wechat,
        }
        rows.append(CleanRow(number=number, customer=customer, contact=contact, external_id=person.external_id))
    return [customer_id for customer_id, _version in write_creates(actor, _lookups(actor), rows)]
