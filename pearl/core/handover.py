"""What a leaving user's work consists of, so a handover moves all of it.

Each app owning work assigned to people registers one entry in its ``AppConfig.ready``::

    from pearl.core import handover
    handover.register("leads", count_fn=count_open_leads, transfer_fn=transfer_open_leads)

``count_fn(from_user_id) -> int`` tells the preview how many there are; ``transfer_fn(*, actor,
from_user_id, to_user_ids) -> int`` moves them (spread over the receivers as the app sees fit)
inside the handover's transaction, keeping its own history. Customers are built into the handover
service itself (the customers app's ownership service).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

CountFn = Callable[[int], int]
TransferFn = Callable[..., int]  # (*, actor: Any, from_user_id: int, to_user_ids: Sequence[int]) -> int


@dataclass(frozen=True)
class HandoverHook:
    name: str
    count_fn: CountFn
    transfer_fn: TransferFn


_hooks: dict[str, HandoverHook] = {}


def register(name: str, count_fn: CountFn, transfer_fn: TransferFn) -> HandoverHook:
    """Add a kind of work; the same name again replaces it (module reloads in tests)."""
    hook = HandoverHook(name=name, count_fn=count_fn, transfer_fn=transfer_fn)
    _hooks[name] = hook
    return hook


def unregister(name: str) -> None:
    _hooks.pop(name, None)


def registered() -> list[HandoverHook]:
    return [_hooks[name] for name in sorted(_hooks)]


def transfer_all(*, actor: Any, from_user_id: int, to_user_ids: Sequence[int]) -> dict[str, int]:
    return {
        hook.name: hook.transfer_fn(actor=actor, from_user_id=from_user_id, to_user_ids=list(to_user_ids))
        for hook in registered()
    }
