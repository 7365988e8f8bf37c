"""Domain events, dispatched only after the surrounding transaction commits.

A service calls ``emit("customer.created", customer_id=...)`` inside its transaction; if the
transaction rolls back, nobody hears about it. Subscribers are plain functions registered by
apps in ``AppConfig.ready``; heavy work belongs in a task the subscriber enqueues.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from django.db import transaction

logger = logging.getLogger(__name__)

Handler = Callable[[str, dict[str, Any]], None]
_subscribers: defaultdict[str, list[Handler]] = defaultdict(list)


def subscribe(name: str, handler: Handler) -> None:
    if handler not in _subscribers[name]:
        _subscribers[name].append(handler)


def unsubscribe(name: str, handler: Handler) -> None:
    if handler in _subscribers[name]:
        _subscribers[name].remove(handler)


def _dispatch(name: str, payload: dict[str, Any]) -> None:
    for handler in list(_subscribers.get(name, ())) + list(_subscribers.get("*", ())):
        try:
            handler(name, payload)
        except Exception:  # one failing subscriber must not hide the event from the others
            logger.exception("event subscriber failed for %s", name)


def emit(name: str, **payload: Any) -> None:
    transaction.on_commit(lambda: _dispatch(name, payload))


def emit_many(name: str, payloads: list[dict[str, Any]]) -> None:
    """``emit`` for each payload, in order, with one after-commit callback for them all (a channel
    batch emits a thousand events: registering each on its own cost more than the events' insert)."""
    if not payloads:
        return

    def dispatch_all() -> None:
        for payload in payloads:
            _dispatch(name, payload)

    transaction.on_commit(dispatch_all)
