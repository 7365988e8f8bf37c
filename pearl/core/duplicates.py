"""Two seams between the customer services and the duplicate matcher, which lives in another app.

The customers app writes customers; the data-quality app owns the matcher and depends on the
customers app, so the customers app cannot import it. Instead the matcher registers here (in its
``AppConfig.ready``) and the customer services call through:

- ``refresh(customer_ids)`` — inside the transaction of every customer write, so the matcher's
  indexed blocking keys change together with the customer (like the search index). A bulk create
  may pass what a refresher computed ahead, in another process, for customers that did not exist
  yet (``Ahead``, keyed by placeholders such as sheet row numbers): it is written as is and only
  the customers it does not cover are refreshed;
- ``find(actor, candidate)`` — before a customer is created, so every create path (page, API,
  channel events, lead conversion) is checked by the same matcher.

With nothing registered (an app list without the matcher) both do nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from django.utils.translation import gettext as _

from pearl.core.errors import Conflict

Refresher = Callable[[Sequence[int]], None]


class Ahead(Protocol):
    """A refresher's rows for customers about to be created, computed before they had ids (by the
    import's second process, which cannot reach the database). The owner of the refresher builds it;
    the customers app only hands it back with the ids, so it needs no import of the matcher."""

    def write(self, ids: Mapping[int, int]) -> Collection[int]:
        """Insert the rows of the placeholders in ``ids`` (placeholder → new customer id, customers
        created in this transaction, so nothing of theirs is stored yet); returns the ids written."""
        ...


@dataclass(frozen=True)
class Candidate:
    """What a new customer would be, as plain values (the matcher builds its record from these)."""

    kind: str = "company"
    name: str = ""
    short_name: str = ""
    customer_type: str = ""
    province: str = ""
    city: str = ""
    district: str = ""
    address: str = ""
    contact_names: tuple[str, ...] = ()
    mobiles: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    wechats: tuple[str, ...] = ()

    @classmethod
    def of(cls, customer: Mapping[str, Any], contacts: Iterable[Mapping[str, Any]] = ()) -> Candidate:
        """From a customer's values and its contacts' (as services, forms and the API hold them):
        choice options by their label, ``kind`` by its value, blanks dropped."""

        def text(value: Any) -> str:
            return str(getattr(value, "label", value) or "").strip()

        people = list(contacts)

        def many(key: str) -> tuple[str, ...]:
            return tuple(v for v in (text(c.get(key)) for c in people) if v)

        kind = customer.get("kind") or "company"
        return cls(
            kind=str(getattr(kind, "value", kind)), name=text(customer.get("name")),
            short_name=text(customer.get("short_name")), customer_type=text(customer.get("customer_type")),
            province=text(customer.get("province")), city=text(customer.get("city")),
            district=text(customer.get("district")), address=text(customer.get("address")),
            contact_names=many("name"), mobiles=many("mobile"), emails=many("email"), wechats=many("wechat"),
        )  # fmt: skip


@dataclass(frozen=True)
class Hit:
    """An existing customer the candidate may duplicate, with the matcher's explanation."""

    customer_id: int
    score: float
    band: str  # "duplicate" | "possible"
    reasons: tuple[dict[str, Any], ...] = ()  # {"field", "outcome", "weight", "detail"}
    visible: bool = True  # False: outside the actor's scope; only its existence may be shown
    name: str = ""  # empty when not visible


@dataclass(frozen=True)
class Check:
    hits: tuple[Hit, ...] = ()
    seconds: float = 0.0

    @property
    def duplicates(self) -> tuple[Hit, ...]:
        return tuple(h for h in self.hits if h.band == "duplicate")


Finder = Callable[[Any, Candidate], Check]
ManyFinder = Callable[[Any, Sequence[Candidate]], list[Check]]


@dataclass
class _Registry:
    refreshers: dict[str, Refresher] = field(default_factory=dict)
    finder: Finder | None = None
    many: ManyFinder | None = None


_registry = _Registry()


def register_refresher(name: str, refresher: Refresher) -> None:
    _registry.refreshers[name] = refresher


def register_finder(finder: Finder | None, many: ManyFinder | None = None) -> None:
    """The matcher behind ``find``; ``many`` answers a list of candidates with shared reads."""
    _registry.finder = finder
    _registry.many = many


def refresh(
    customer_ids: Sequence[int], ahead: Mapping[str, Ahead] | None = None, placeholders: Mapping[int, int] | None = None
) -> None:
    """Bring every registered per-customer index up to date for these customers (same transaction).

    ``ahead``: by refresher name, rows computed ahead for new customers, written with ``placeholders``
    (placeholder → customer id) instead of running that refresher for the customers they cover.
    """
    if not customer_ids:
        return
    for name, refresher in _registry.refreshers.items():
        rest = customer_ids
        found = ahead.get(name) if ahead and placeholders else None
        if found is not None and placeholders:
            written = set(found.write(placeholders))
            rest = [i for i in customer_ids if i not in written]
        if rest:
            refresher(rest)


def find(actor: Any, candidate: Candidate) -> Check:
    if _registry.finder is None:
        return Check()
    return _registry.finder(actor, candidate)


def find_many(actor: Any, candidates: Sequence[Candidate]) -> list[Check]:
    """``find`` for each candidate, in order (through the batch finder when one is registered)."""
    if _registry.many is not None:
        return _registry.many(actor, candidates)
    return [find(actor, candidate) for candidate in candidates]


class DuplicateSuspected(Conflict):
    """A create refused because the matcher is confident the customer already exists."""

    code = "duplicate_suspected"


def refuse_duplicates(actor: Any, candidate: Candidate) -> None:
    """Raise DuplicateSuspected when the matcher puts an existing customer in the duplicate band."""
    found = find(actor, candidate).duplicates
    if not found:
        return
    shown = [h for h in found if h.visible]
    if shown:
        names = "、".join(f"“{h.name}”(#{h.customer_id})" for h in shown[:3])
        message = _("This customer probably exists already: %(names)s. Open it instead, or confirm that it is a "
                    "different customer to create it anyway.") % {"names": names}
    else:
        message = _("A customer that is probably the same already exists, outside what you can see. Ask your "
                    "manager, or confirm that it is a different customer to create it anyway.")
    raise DuplicateSuspected(
        message,
        extra={"duplicates": [
            {"customer": h.customer_id if h.visible else None, "name": h.name, "score": h.score, "band": h.band,
             "reasons": list(h.reasons) if h.visible else []}
            for h in found
        ]},
    )  # fmt: skip
