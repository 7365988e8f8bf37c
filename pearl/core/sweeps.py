"""Time-based sweeps: set-based jobs that bring derived state up to a moment (nightly grading and
smart tags; later public-pool reclaim, reminders…).

An app registers its sweep in ``AppConfig.ready``::

    from pearl.core import sweeps
    sweeps.register("analytics.figures", analytics_sweep)   # fn(at: datetime) -> dict

``pearl sweep [--at ISO-8601]`` and the nightly task run every registered sweep once as of that
moment (``run_all``), in registration order (``order`` first). A sweep must be idempotent (running
it twice as of the same moment changes nothing the second time) and set-based (SQL over indexed
columns, never a Python loop per customer). It returns a small JSON-able summary of what it did.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

logger = logging.getLogger(__name__)

SweepFn = Callable[[dt.datetime], dict[str, Any]]


@dataclass(frozen=True)
class Sweep:
    name: str
    fn: SweepFn
    order: int = 100


_sweeps: dict[str, Sweep] = {}


def register(name: str, fn: SweepFn, *, order: int = 100) -> Sweep:
    """Add a sweep; the same name again replaces it (module reloads in tests)."""
    sweep = Sweep(name=name, fn=fn, order=order)
    _sweeps[name] = sweep
    return sweep


def unregister(name: str) -> None:
    _sweeps.pop(name, None)


def registered() -> list[Sweep]:
    return sorted(_sweeps.values(), key=lambda s: (s.order, s.name))


@dataclass(frozen=True)
class Result:
    name: str
    summary: dict[str, Any]
    seconds: float
    error: str = ""


def run_all(at: dt.datetime | None = None, *, names: list[str] | None = None) -> list[Result]:
    """Run every registered sweep (or those named) once as of ``at`` (now by default).

    A failing sweep is logged and reported; the others still run (each commits on its own).
    """
    at = at or timezone.now()
    if timezone.is_naive(at):
        raise ValueError("a sweep runs as of an aware datetime")
    results = []
    for sweep in registered():
        if names is not None and sweep.name not in names:
            continue
        started = time.perf_counter()
        try:
            summary = sweep.fn(at)
        except Exception as exc:  # one failing sweep must not stop the others
            logger.exception("sweep %s failed", sweep.name)
            results.append(Result(sweep.name, {}, time.perf_counter() - started, error=f"{type(exc).__name__}: {exc}"))
            continue
        results.append(Result(sweep.name, summary, time.perf_counter() - started))
    return results
