"""Channel events → the right customer's timeline, a batch at a time (see docs in ``__init__``).

Per batch, not per event: one read of the replays, one of the identities, one of the company names
(only when some unmatched event names a company), one of the source options (only when customers
are created), one duplicate-matcher pass over the new people the events name (``find_many``: a
few reads for the whole batch; unnamed people are not asked, since without a name the matcher has
nothing to compare beyond the identifiers, which the identity read already answered exactly), the
bulk creation of the new customers, one bulk insert of the timeline rows and one read of what the
caller may see.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from pearl.accounts.models import User
from pearl.activities.models import TimelineEvent
from pearl.activities.services.timeline import NewEvent, timeline_record_many
from pearl.core import duplicates
from pearl.core.errors import ApplicationError, Conflict, ValidationFailed
from pearl.core.events import emit_many
from pearl.core.permissions import require
from pearl.core.phones import mask_mobile
from pearl.core.text import nfkc, normalize_company_name
from pearl.customers import selectors as customer_selectors
from pearl.customers.choices import ChoiceList, CustomerKind
from pearl.customers.models import ChoiceOption
from pearl.customers.services.channel import ChannelPerson, Stitch, channel_customers_create, channel_identities_add
from pearl.integrations.services.clean import CleanEvent, clean_event
from pearl.leads import selectors as lead_selectors
from pearl.leads.services import Inquiry, lead_inquiries_add, leads_create_many, notify_asked_again
from pearl.reminders.services import Notice, notify_many

logger = logging.getLogger(__name__)

MAX_BATCH = 1000
ATTEMPTS = 3  # a batch that lost a race (same event id or new identity written meanwhile) is re-resolved


@dataclass
class EventResult:
    """What became of one event; ``error`` set means nothing was written for it."""

    index: int
    event_id: str | None = None
    channel: str | None = None
    customer: int | None = None
    new: bool = False
    replay: bool = False
    matched_by: str = ""  # external_id | mobile | wechat | email | company_name | matcher | new | replay
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    identities_added: list[str] = field(default_factory=list)  # identifiers given to an existing customer
    timeline_event: int | None = None
    # A lead event from someone who is not a customer lands on a lead instead (matched_by "lead" for
    # an open lead of the same person, "new_lead" for one created now, assigned by the rules).
    lead: int | None = None
    lead_new: bool = False
    lead_owner: int | None = None
    assignment_reason: str = ""
    visible: bool = False
    customer_name: str | None = None
    error: ApplicationError | None = None

    def reset(self) -> None:
        self.customer, self.new, self.replay, self.matched_by = None, False, False, ""
        self.conflicts, self.identities_added, self.timeline_event = [], [], None
        self.lead, self.lead_new, self.lead_owner, self.assignment_reason = None, False, None, ""


@dataclass
class _Group:
    """Unmatched events that share an identifier (or company name): they become one customer."""

    events: list[CleanEvent]
    customer: int | None = None
    matched_by: str = "new"


def _raw_id(raw: Any, key: str) -> str | None:
    if isinstance(raw, dict):
        value = raw.get(key)
        if isinstance(value, str | int) and not isinstance(value, bool):
            return str(value)[:200]
    return None


def _check_batch(events: Any) -> list[Any]:
    if not isinstance(events, list):
        message = _('Send the events as a list: {"events": [{…}, …]}.')
        raise ValidationFailed(message, field_errors={"events": [message]})
    if not events:
        message = _("Send at least one event.")
        raise ValidationFailed(message, field_errors={"events": [message]})
    if len(events) > MAX_BATCH:
        message = _("Send at most %(limit)s events per call (this one has %(count)s); split the batch.") % {
            "limit": f"{MAX_BATCH:,}",
            "count": f"{len(events):,}",
        }
        raise ValidationFailed(message, field_errors={"events": [message]}, extra={"limit": MAX_BATCH})
    return events


def event_record_many(*, actor: User, events: Any) -> list[EventResult]:
    """Record a batch of channel events; one result per event, in order.

    Each event is validated on its own: a bad one gets its error and nothing is written for it; the
    good ones are recorded together in one transaction (never half an event). A replayed event
    (same channel and id as one recorded before, or earlier in the same batch) writes nothing and
    answers the customer it landed on the first time.
    """
    require(actor, "create")
    raw_events = _check_batch(events)
    now = timezone.now()
    results = [EventResult(index=i, event_id=_raw_id(raw, "id"), channel=_raw_id(raw, "channel")) for i, raw in
               enumerate(raw_events)]  # fmt: skip
    clean: list[CleanEvent] = []
    for result, raw in zip(results, raw_events, strict=True):
        try:
            event = clean_event(result.index, raw, now)
        except ValidationFailed as exc:
            result.error = exc
            continue
        result.event_id, result.channel = event.event_id, event.channel
        clean.append(event)
    for attempt in range(1, ATTEMPTS + 1):
        try:
            with transaction.atomic():
                _ingest(actor, clean, results)
            break
        except IntegrityError:
            # Someone recorded one of these events, or took one of the new identifiers, after we
            # read: start again, and the second reading sees it (a replay / a known customer).
            logger.info("channel batch lost a race (attempt %s), re-resolving", attempt)
            for event in clean:
                results[event.index].reset()
            if attempt == ATTEMPTS:
                raise Conflict(_("Other requests kept writing the same events or customers; retry shortly.")) from None
    _answer_visibility(actor, results)
    return results


def event_record(*, actor: User, event: Any) -> EventResult:
    """One event; a bad one raises its ValidationFailed (nothing written)."""
    result = event_record_many(actor=actor, events=[event])[0]
    if result.error is not None:
        raise result.error
    return result


# --- the steps -----------------------------------------------------------------------------------


def _ingest(actor: User, clean: Sequence[CleanEvent], results: list[EventResult]) -> None:
    fresh = _replays(clean, results)
    groups, holders = _resolve(actor, fresh, results)
    # Nobody known: people who only asked (every event a lead event) become leads, the rest customers.
    lead_groups = [g for g in groups if all(e.is_lead for e in g.events)]
    _create_customers(actor, [g for g in groups if not all(e.is_lead for e in g.events)], results)
    _stitch(actor, fresh, holders, results)
    _land_on_leads(actor, lead_groups, results)
    fresh = [e for e in fresh if results[e.index].customer is not None]
    label = (actor.get_full_name() or str(actor))[:150]
    ids = timeline_record_many(
        [
            NewEvent(
                customer_id=int(results[e.index].customer or 0), kind=e.kind, occurred_at=e.occurred_at,
                title=e.title, actor=actor, actor_label=label, payload=e.payload, source=e.channel,
                external_id=e.event_id,
            )
            for e in fresh
        ]
    )  # fmt: skip
    recorded = []
    for event, event_id in zip(fresh, ids, strict=True):
        result = results[event.index]
        result.timeline_event = event_id
        recorded.append({
            "customer_id": result.customer, "kind": event.kind, "channel": event.channel,
            "event_id": event.event_id, "timeline_event_id": event_id, "new_customer": result.new,
        })  # fmt: skip
    emit_many("channel.event_recorded", recorded)
    _tell_owners_of_inquiries(fresh, results)


def _tell_owners_of_inquiries(recorded: Sequence[CleanEvent], results: list[EventResult]) -> None:
    """A customer asking to buy again (a lead event that landed on a customer) tells its owner, once per
    event; the people who are not customers were handled as leads (their owners told there)."""
    asked = [e for e in recorded if e.is_lead and results[e.index].customer is not None]
    if not asked:
        return
    owners = customer_selectors.customer_owners(customer_ids={int(results[e.index].customer or 0) for e in asked})
    with translation.override(settings.LANGUAGE_CODE):
        notices = [
            Notice(
                recipient=owner,
                title=_("Customer “%(customer)s” asked through %(channel)s") % {"customer": name, "channel": e.channel},
                body=e.summary,
                link=reverse("customers:customer_detail", args=[customer_id]),
                subject=("customers.customer", customer_id),
                dedupe_key=f"customer-inquiry:{results[e.index].timeline_event}",
            )
            for e in asked
            if (customer_id := int(results[e.index].customer or 0)) in owners
            for owner, name in [owners[customer_id]]
        ]
    notify_many(notices)


def _replays(clean: Sequence[CleanEvent], results: list[EventResult]) -> list[CleanEvent]:
    """Mark the events recorded before (one query) or earlier in this batch; return the others."""
    if not clean:
        return []
    # exclude(external_id=""): the unique index is partial on exactly that condition, and naming it
    # lets the planners use the index for a long IN list too.
    rows = (
        TimelineEvent.objects.exclude(external_id="")
        .filter(source__in=sorted({e.channel for e in clean}), external_id__in=sorted({e.event_id for e in clean}))
        .values_list("source", "external_id", "customer_id", "pk")
    )
    known = {(source, external_id): (customer_id, pk) for source, external_id, customer_id, pk in rows}
    lead_keys = {e.key for e in clean if e.is_lead}
    on_leads = lead_selectors.inquiries_recorded(keys=lead_keys) if lead_keys else {}
    first: dict[tuple[str, str], CleanEvent] = {}
    fresh = []
    for event in clean:
        result = results[event.index]
        if event.key in known:
            result.customer, result.timeline_event = known[event.key]
            result.replay, result.matched_by = True, "replay"
        elif event.key in on_leads:
            result.lead, result.replay, result.matched_by = on_leads[event.key], True, "replay"
        elif event.key in first:
            result.replay, result.matched_by = True, "replay"  # customer filled in once the first lands
        else:
            first[event.key] = event
            fresh.append(event)
    return fresh


def _resolve(
    actor: User, fresh: Sequence[CleanEvent], results: list[EventResult]
) -> tuple[list[_Group], dict[tuple[str, str], int]]:
    """Land each event on the customer its identifiers name; group the unmatched into new customers.
    Returns the groups to create and the holders of the identifiers that were read."""
    holders = customer_selectors.identity_holders(
        pairs=sorted({(kind, value) for e in fresh for _f, kind, value in e.identifiers})
    )
    unmatched = _match_identities(fresh, holders, results)
    if unmatched and any(e.company for e in unmatched):
        companies = customer_selectors.companies_by_name(
            names=sorted({normalize_company_name(e.company) for e in unmatched if e.company})
        )
        rest = []
        for event in unmatched:
            holder = companies.get(normalize_company_name(event.company)) if event.company else None
            if holder is not None:
                results[event.index].customer, results[event.index].matched_by = holder, "company_name"
            else:
                rest.append(event)
        unmatched = rest
    # Identifiers nobody holds that a matched event carries will be added to its customer
    # (``_stitch``): an unmatched event of the same batch carrying one lands there too.
    provisional: dict[tuple[str, str], int] = {}
    for event in fresh:
        customer = results[event.index].customer
        for _name, kind, value in event.identifiers:
            if customer is not None and (kind, value) not in holders:
                provisional.setdefault((kind, value), customer)
    rest = _match_identities(unmatched, provisional, results) if provisional and unmatched else unmatched
    if not rest:
        return [], holders
    groups = _group(rest)
    _ask_matcher(actor, groups)
    for group in groups:
        if group.customer is not None:
            for event in group.events:
                results[event.index].customer, results[event.index].matched_by = group.customer, group.matched_by
    return [g for g in groups if g.customer is None], holders


def _match_identities(
    events: Sequence[CleanEvent], holders: dict[tuple[str, str], int], results: list[EventResult]
) -> list[CleanEvent]:
    """Land each event on the holder of its first held identifier (in PRECEDENCE order), noting
    the others that name someone else as conflicts; return the events none of whose identifiers is held."""
    unmatched: list[CleanEvent] = []
    for event in events:
        result = results[event.index]
        found = [(name, holders[(kind, value)]) for name, kind, value in event.identifiers if (kind, value) in holders]
        if not found:
            unmatched.append(event)
            continue
        result.matched_by, result.customer = found[0]
        result.conflicts = [{"identifier": name, "customer": holder} for name, holder in found[1:]
                            if holder != result.customer]  # fmt: skip
    return unmatched


def _stitch(actor: User, fresh: Sequence[CleanEvent], holders: dict[tuple[str, str], int],
            results: list[EventResult]) -> None:  # fmt: skip
    """Give existing customers the identifiers their events brought that nobody holds (each value to
    the first event's customer only); what was added is listed on each event's result."""
    # Held already, or taken by a customer this batch creates.
    taken = set(holders) | {(kind, value) for e in fresh if results[e.index].matched_by == "new"
                            for _n, kind, value in e.identifiers}  # fmt: skip
    stitches: list[Stitch] = []
    for event in fresh:
        result = results[event.index]
        if result.customer is None or result.matched_by == "new":
            continue
        new = []
        for _name, kind, value in event.identifiers:
            if (kind, value) not in taken:
                taken.add((kind, value))
                new.append((kind, value))
        if new:
            known = tuple((kind, value) for _n, kind, value in event.identifiers
                          if holders.get((kind, value)) == result.customer)  # fmt: skip
            stitches.append(Stitch(customer_id=result.customer, known=known, new=tuple(new)))
    if not stitches:
        return
    added = set(channel_identities_add(actor=actor, stitches=stitches))
    for event in fresh:
        result = results[event.index]
        if result.matched_by != "new":
            result.identities_added = [name for name, kind, value in event.identifiers
                                       if (result.customer, kind, value) in added]  # fmt: skip


def _group(events: Sequence[CleanEvent]) -> list[_Group]:
    """Events sharing any identifier or company name, transitively (union-find), in first-seen order."""
    parent = list(range(len(events)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    owner: dict[tuple[str, str], int] = {}
    for i, event in enumerate(events):
        keys = [(kind, value) for _f, kind, value in event.identifiers]
        if event.company:
            keys.append(("company", normalize_company_name(event.company)))
        for key in keys:
            if key in owner:
                a, b = root(owner[key]), root(i)
                if a != b:
                    parent[max(a, b)] = min(a, b)
            else:
                owner[key] = i
    by_root: dict[int, _Group] = {}
    for i, event in enumerate(events):
        by_root.setdefault(root(i), _Group(events=[])).events.append(event)
    return list(by_root.values())


def _first(group: _Group, attr: str) -> str:
    return next((str(getattr(e, attr)) for e in group.events if getattr(e, attr)), "")


def _first_identifier(group: _Group, name: str) -> str:
    return next((value for e in group.events if (value := e.value_of(name))), "")


def _candidate(group: _Group) -> duplicates.Candidate | None:
    name, company = _first(group, "name"), _first(group, "company")
    if not name and not company:
        return None
    return duplicates.Candidate(
        kind=CustomerKind.COMPANY if company else CustomerKind.INDIVIDUAL,
        name=company or name,
        contact_names=(name,) if name else (),
        mobiles=tuple(filter(None, [_first_identifier(group, "mobile")])),
        emails=tuple(filter(None, [_first_identifier(group, "email")])),
        wechats=tuple(filter(None, [_first_identifier(group, "wechat")])),
    )


def _ask_matcher(actor: User, groups: Sequence[_Group]) -> None:
    """A named new person may still be a customer recorded without these identifiers: ask the
    duplicate matcher (once for the whole batch) and land each group on a customer it puts in the
    duplicate band (its best one)."""
    asked = [(group, candidate) for group in groups if (candidate := _candidate(group)) is not None]
    checks = duplicates.find_many(actor, [candidate for _group, candidate in asked])
    for (group, _asked), check in zip(asked, checks, strict=True):
        found = check.duplicates
        if found:
            best = max(found, key=lambda h: (h.score, -h.customer_id))
            group.customer, group.matched_by = best.customer_id, "matcher"


def _mask_email(email: str) -> str:
    local, _at, domain = email.partition("@")
    return f"{local[:2]}***@{domain}"


def placeholder_name(group: _Group, channel: str) -> str:
    """A readable name for a person the channel did not name: 客户 138****5678, 微信用户 wxid_…"""
    mobile = _first_identifier(group, "mobile")
    if mobile:
        return _("Customer %(mobile)s") % {"mobile": mask_mobile(mobile)}
    wechat = _first_identifier(group, "wechat")
    if wechat:
        return _("WeChat user %(id)s") % {"id": wechat[:24]}
    email = _first_identifier(group, "email")
    if email:
        return _("Customer %(email)s") % {"email": _mask_email(email)}
    external = _first_identifier(group, "external_id").partition(":")[2]
    return _("%(channel)s customer %(id)s") % {"channel": channel, "id": external[:40]}


def _option_key(text: str) -> str:
    return nfkc(text).strip().lower().replace(" ", "")


def _sources() -> dict[str, ChoiceOption]:
    """The active source options by label: a channel named like one ("官网", "web") is that source."""
    options = ChoiceOption.objects.filter(list_name=ChoiceList.SOURCE, is_active=True).order_by("order", "id")
    out: dict[str, ChoiceOption] = {}
    for option in options:
        out.setdefault(_option_key(option.label), option)
    return out


def _create_customers(actor: User, groups: list[_Group], results: list[EventResult]) -> None:
    if not groups:
        return
    sources = _sources()
    people = []
    for group in groups:
        channel = group.events[0].channel
        name, company = _first(group, "name"), _first(group, "company")
        placeholder = placeholder_name(group, channel)
        people.append(
            ChannelPerson(
                kind=CustomerKind.COMPANY if company else CustomerKind.INDIVIDUAL,
                name=company or name or placeholder,
                contact_name=name or placeholder,
                mobile=_first_identifier(group, "mobile"),
                email=_first_identifier(group, "email"),
                wechat=_first_identifier(group, "wechat"),
                external_id=_first_identifier(group, "external_id"),
                source=sources.get(_option_key(channel)),
            )
        )
    ids = channel_customers_create(actor=actor, people=people)
    for group, customer_id in zip(groups, ids, strict=True):
        for position, event in enumerate(group.events):
            result = results[event.index]
            result.customer, result.matched_by, result.new = customer_id, "new", position == 0


def _lead_row(group: _Group, sources: dict[str, ChoiceOption], categories: dict[str, int]) -> dict[str, Any]:
    """The lead a group of lead events from one unknown person becomes (the values its events give
    first); a product interest that names no category is kept in the note rather than dropped."""
    channel = group.events[0].channel
    source = sources.get(_option_key(channel))
    interest = _first(group, "interest")
    category = categories.get(_option_key(interest)) if interest else None
    note = "\n".join(dict.fromkeys(e.summary for e in group.events if e.summary))
    if interest and category is None:
        note = (_("Product interest: %(text)s") % {"text": interest}) + ("\n" + note if note else "")
    return {
        "name": _first(group, "name") or placeholder_name(group, channel),
        "company": _first(group, "company"),
        "mobile": _first_identifier(group, "mobile"),
        "email": _first_identifier(group, "email"),
        "wechat": _first_identifier(group, "wechat"),
        "source": source.pk if source else None,
        "province": _first(group, "province"),
        "city": _first(group, "city"),
        "product_interest": category,
        "note": note,
    }


def _land_on_leads(actor: User, groups: Sequence[_Group], results: list[EventResult]) -> None:
    """Lead events of unknown people: onto the open lead of the same mobile, email or WeChat id, else
    a new lead per group (assigned by the rules in one pass); each event is kept on its lead as an
    inquiry. A group whose lead is refused (no way to reach the person) gets the error on every event."""
    if not groups:
        return
    open_leads = lead_selectors.open_leads_holding(
        pairs={(name, value) for g in groups for e in g.events for name, _k, value in e.identifiers}
    )
    new_groups = []
    for group in groups:
        lead_id = next(
            (open_leads[(name, value)][0] for e in group.events for name, _k, value in e.identifiers
             if (name, value) in open_leads),
            None,
        )  # fmt: skip
        if lead_id is None:
            new_groups.append(group)
            continue
        for event in group.events:
            results[event.index].lead, results[event.index].matched_by = lead_id, "lead"
    if new_groups:
        interests = {e.interest for g in new_groups for e in g.events if e.interest}
        categories = lead_selectors.product_categories_by_name(names=interests) if interests else {}
        sources = _sources()
        outcome = leads_create_many(
            actor=actor, rows=[_lead_row(g, sources, {_option_key(k): v for k, v in categories.items()})
                               for g in new_groups]
        )  # fmt: skip
        for index, group in enumerate(new_groups):
            lead = outcome.by_index.get(index)
            if lead is None:
                errors = outcome.errors.get(index) or {"lead": [_("The lead could not be created.")]}
                error = ValidationFailed(next(iter(errors.values()))[0], field_errors=errors)
                for event in group.events:
                    results[event.index].error = error
                continue
            for position, event in enumerate(group.events):
                result = results[event.index]
                result.lead, result.matched_by, result.lead_new = lead.pk, "new_lead", position == 0
                result.lead_owner, result.assignment_reason = lead.owner_id, lead.assignment_reason
    landed = [e for g in groups for e in g.events if results[e.index].error is None]
    kept = lead_inquiries_add(
        inquiries=[
            (int(results[e.index].lead or 0),
             Inquiry(at=e.occurred_at, summary=e.summary or e.title, source=e.channel, external_id=e.event_id))
            for e in landed
        ]
    )  # fmt: skip
    # The owner of a lead whose person asks again hears of it (a new lead's owner was told on assignment).
    notify_asked_again(
        (follow_up.lead_id, follow_up.pk, follow_up.summary)
        for event, follow_up in zip(landed, kept, strict=True)
        if results[event.index].matched_by == "lead"
    )


def _answer_visibility(actor: User, results: list[EventResult]) -> None:
    """Fill in-batch replays' customers, and say which customers the caller may see (one query):
    only those are named in the answer; the others are given by id alone."""
    by_key = {(r.channel, r.event_id): r for r in results if r.error is None and not r.replay}
    for result in results:
        if result.replay and result.customer is None and result.lead is None:
            first = by_key.get((result.channel, result.event_id))
            if first is not None:
                result.customer, result.timeline_event, result.lead = first.customer, first.timeline_event, first.lead
    ids = {r.customer for r in results if r.customer is not None}
    if not ids:
        return
    names = dict(customer_selectors.customer_visible(actor=actor).filter(pk__in=ids).values_list("pk", "name"))
    for result in results:
        if result.customer in names:
            result.visible, result.customer_name = True, names[result.customer]
