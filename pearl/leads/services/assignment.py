"""Handing a new lead to someone: the first active rule whose conditions hold picks one of its members.

Everything is loaded once per call (rules, members, their open-lead counts) and the choices are made
in Python, so one lead and ten thousand cost the same handful of queries. The rules a call may use are
locked first with a no-op ``UPDATE`` (a row lock on PostgreSQL, the write lock on SQLite) so two
arrivals at once queue up: the second reads the pointer and the loads the first left behind and never
takes the same round-robin slot or the same "least loaded" person.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Case, Count, F, IntegerField, Value, When
from django.utils.translation import gettext as _

from pearl.accounts.models import Team, User
from pearl.leads.choices import OPEN_STATUSES, AssignMethod, ConditionOp
from pearl.leads.models import AssignmentRule, Lead


def _text(value: Any) -> str:
    return str(value or "").strip()


def matches(conditions: Mapping[str, Any], values: Mapping[str, Any]) -> bool:
    """Whether a lead (its cleaned values: ``source``/``product_interest`` as ids) meets a rule's
    conditions; every condition given must hold, none given matches every lead."""
    provinces = conditions.get("provinces") or []
    if provinces and _text(values.get("province")) not in provinces:
        return False
    cities = conditions.get("cities") or []
    if cities and _text(values.get("city")) not in cities:
        return False
    sources = conditions.get("sources") or []
    if sources and values.get("source") not in sources:
        return False
    categories = conditions.get("product_categories") or []
    if categories and values.get("product_interest") not in categories:
        return False
    for cond in conditions.get("fields") or []:
        actual = _text(values.get(cond.get("field"))).lower()
        wanted = _text(cond.get("value")).lower()
        op = cond.get("op")
        if op == ConditionOp.EMPTY and actual:
            return False
        if op == ConditionOp.NOT_EMPTY and not actual:
            return False
        if op == ConditionOp.EQ and actual != wanted:
            return False
        if op == ConditionOp.CONTAINS and wanted not in actual:
            return False
    return True


@dataclass
class _Rule:
    rule: AssignmentRule
    members: list[User]
    pointer: int
    moved: bool = False


@dataclass
class Decision:
    owner: User | None
    team_id: int | None
    rule: AssignmentRule | None
    reason: str


def may_own_leads(user: Any) -> bool:
    """A person who works leads: active, not on leave, allowed to create and edit records."""
    return bool(
        getattr(user, "pk", None) and user.is_active and not user.on_leave and user.may("create") and user.may("edit")
    )


@dataclass
class Assigner:
    """The state one batch of arrivals is assigned against (see ``load``)."""

    rules: list[_Rule]
    loads: dict[int, int]
    fallback: User | None
    queue_team: Team | None
    decided: int = field(default=0)

    @classmethod
    def load(cls, *, creator: Any, lock: bool = True) -> Assigner:
        """Read (and lock) the active rules, their members and the members' open-lead counts: four
        queries whatever the number of rules, members or leads."""
        active = AssignmentRule.objects.filter(is_active=True)
        if lock:
            active.update(pointer=F("pointer"))  # a no-op write: the lock that serialises arrivals
        rules = list(active.order_by("order", "id").prefetch_related("members"))
        member_ids = {u.pk for r in rules for u in r.members.all()}
        loads: dict[int, int] = {}
        if member_ids:
            rows = (
                Lead.objects.filter(owner_id__in=member_ids, status__in=OPEN_STATUSES)
                .values("owner_id")
                .annotate(n=Count("*"))  # count(*): the (owner, status) index alone answers it on PostgreSQL
                .values_list("owner_id", "n")
            )
            loads = dict(rows)
        states = [_Rule(rule=r, members=sorted(r.members.all(), key=lambda u: u.pk), pointer=r.pointer) for r in rules]
        fallback = creator if may_own_leads(creator) else None
        queue_team = getattr(creator, "team", None) if getattr(creator, "pk", None) else None
        return cls(rules=states, loads=loads, fallback=fallback, queue_team=queue_team)

    def _eligible(self, state: _Rule, user: User) -> bool:
        if not user.is_active or user.on_leave:
            return False
        capacity = state.rule.capacity
        return capacity is None or self.loads.get(user.pk, 0) < capacity

    def _pick(self, state: _Rule) -> User | None:
        members = state.members
        if not members:
            return None
        if state.rule.method == AssignMethod.LEAST_LOADED:
            eligible = [u for u in members if self._eligible(state, u)]
            if not eligible:
                return None
            return min(eligible, key=lambda u: (self.loads.get(u.pk, 0), u.pk))
        n = len(members)
        start = state.pointer % n
        for step in range(n):
            index = (start + step) % n
            if self._eligible(state, members[index]):
                state.pointer = (index + 1) % n
                state.moved = True
                return members[index]
        return None

    def decide(self, values: Mapping[str, Any]) -> Decision:
        """Who gets a lead with these values; counts it in that person's load for the next one."""
        skipped: list[str] = []
        for state in self.rules:
            if not matches(state.rule.conditions or {}, values):
                continue
            owner = self._pick(state)
            if owner is None:
                skipped.append(state.rule.name)
                continue
            self.loads[owner.pk] = self.loads.get(owner.pk, 0) + 1
            if state.rule.method == AssignMethod.LEAST_LOADED:
                template = _("By rule “%(rule)s” to %(owner)s, who had the fewest open leads")
            else:
                template = _("By rule “%(rule)s” to %(owner)s, in turn")
            reason = template % {"rule": state.rule.name, "owner": owner}
            return Decision(owner=owner, team_id=owner.team_id, rule=state.rule, reason=reason)
        prefix = ""
        if skipped:
            prefix = _("Rule “%(rule)s” matched but nobody in it is available (on leave or full). ") % {
                "rule": skipped[0]
            }
        if self.fallback is not None:
            self.loads[self.fallback.pk] = self.loads.get(self.fallback.pk, 0) + 1
            reason = prefix + _("No rule assigned it; it stays with %(owner)s, who created it") % {
                "owner": self.fallback
            }
            return Decision(owner=self.fallback, team_id=self.fallback.team_id, rule=None, reason=reason)
        if self.queue_team is not None:
            reason = prefix + _("No rule assigned it; it waits unassigned in the queue of team %(team)s") % {
                "team": self.queue_team
            }
            return Decision(owner=None, team_id=self.queue_team.pk, rule=None, reason=reason)
        return Decision(owner=None, team_id=None, rule=None, reason=prefix + _("No rule assigned it; unassigned"))

    def save_pointers(self) -> None:
        """Write the round-robin pointers that moved, in one UPDATE."""
        moved = [s for s in self.rules if s.moved]
        if not moved:
            return
        AssignmentRule.objects.filter(pk__in=[s.rule.pk for s in moved]).update(
            pointer=Case(
                *[When(pk=s.rule.pk, then=Value(s.pointer)) for s in moved],
                output_field=IntegerField(),
            )
        )
        for s in moved:
            s.rule.pointer = s.pointer
            s.moved = False


def stamp(lead: Lead, decision: Decision, at: dt.datetime) -> None:
    lead.owner = decision.owner
    lead.team_id = decision.team_id
    lead.assigned_rule = decision.rule
    lead.assignment_reason = decision.reason[:255]
    lead.assigned_at = at if decision.owner is not None else None
