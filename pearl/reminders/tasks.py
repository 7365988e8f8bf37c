"""Outbox delivery on the task worker, queued after the commit that wrote the messages."""

from __future__ import annotations

from typing import Any

from huey.contrib.djhuey import db_task

from pearl.reminders import channels


@db_task()
def deliver_outbox(message_ids: list[int]) -> int:
    return channels.outbox_deliver(message_ids)


def on_outbox_queued(name: str, payload: dict[str, Any]) -> None:
    """Subscriber of ``reminders.outbox_queued``: enqueue delivery when the channel has a sender."""
    if channels.sender_for(payload["channel"]) is not None:
        deliver_outbox(list(payload["message_ids"]))
