"""What later apps show on the customer's 360° page, without the customers app importing them.

The customers app sits below pipelines, pools and reminders (they point at its customers and call its
services), so they bring their part of the page to it rather than it reaching up for them. Each one
registers a section of the page's sales panel in its ``AppConfig.ready``::

    from pearl.core import profile_panels
    profile_panels.register(
        "pipelines.opportunities", read=customer_opportunities,
        template="pipelines/_customer-opportunities.html", order=20,
    )

``read(actor, customer)`` gets the customer the page has already read in the actor's scope (so it
never checks that scope again) and returns what its template shows, or None for nothing to show. It
must cost a fixed, small number of indexed queries: the page's query count is tested. The template
sees the page's context plus ``section`` (what ``read`` returned).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

ReadFn = Callable[[Any, Any], Any]  # (actor, customer) -> data for the template, or None


@dataclass(frozen=True)
class ProfileSection:
    name: str
    read: ReadFn
    template: str
    order: int = 100


@dataclass(frozen=True)
class RenderedSection:
    """One section as the page renders it: its template and what ``read`` returned."""

    name: str
    template: str
    data: Any


_sections: dict[str, ProfileSection] = {}


def register(name: str, *, read: ReadFn, template: str, order: int = 100) -> ProfileSection:
    """Add a section; the same name again replaces it (module reloads in tests)."""
    section = ProfileSection(name=name, read=read, template=template, order=order)
    _sections[name] = section
    return section


def unregister(name: str) -> None:
    _sections.pop(name, None)


def registered() -> list[ProfileSection]:
    return sorted(_sections.values(), key=lambda s: (s.order, s.name))


def collect(actor: Any, customer: Any) -> list[RenderedSection]:
    """Every registered section's data for this customer, in order, leaving out those with nothing to show."""
    out = []
    for section in registered():
        data = section.read(actor, customer)
        if data is not None:
            out.append(RenderedSection(name=section.name, template=section.template, data=data))
    return out
