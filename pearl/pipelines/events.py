"""What the pipelines app listens to (subscribed in ``PipelinesConfig.ready``), and what it emits.

Emits ``opportunity.changed`` (``customer_id``, ``opportunity_id``, ``actor_id``) after commit on every
create, edit, move, delete and handover.

Listens to ``communication.changed`` (activities): a communication logged or edited with a customer
applies the stage rules (``services.opportunities_advance``) in its own transaction. A deleted
communication is no longer found and moves nothing; the rules never move backwards, so hearing the
same communication twice changes nothing.
"""

from __future__ import annotations

import logging
from typing import Any

from pearl.accounts.models import User
from pearl.activities.selectors import communication_get
from pearl.core.errors import NotFound
from pearl.pipelines import services

logger = logging.getLogger(__name__)


def on_communication_changed(name: str, payload: dict[str, Any]) -> None:
    actor = User.objects.filter(pk=payload.get("actor_id") or 0).first()
    communication_id = payload.get("communication_id")
    if actor is None or not communication_id:
        return
    try:
        communication = communication_get(actor=actor, communication_id=int(communication_id))
    except NotFound:
        return  # deleted (or out of the actor's sight since): nothing to apply
    services.opportunities_advance(
        actor=actor,
        customer_id=communication.customer_id,
        kind=communication.kind,
        outcome=communication.outcome or "",
    )
