"""The customer's change history: who changed which field of the customer or its contacts, and how.

The change log stores raw values (option, user and team ids; custom-field keys); the presentation
below turns them into the names a person reads, with one query per kind of name for the whole page.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from pearl.accounts.models import User
from pearl.accounts.selectors import team_list, user_list
from pearl.core.models import ChangeLog
from pearl.core.pages import actor_of
from pearl.core.phones import format_phone
from pearl.customers import selectors
from pearl.customers.choices import ChoiceList, CustomerKind, CustomerStatus, CustomFieldObject
from pearl.customers.forms import custom_display
from pearl.customers.models import CustomFieldDefinition
from pearl.customers.views.common import HISTORY_PAGE_SIZE, page, page_number, paginate
from pearl.customers.views.detail import detail_context


@page
@require_GET
def customer_history(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    customer = selectors.customer_get(actor=actor, customer_id=pk)
    logs = selectors.customer_history(actor=actor, customer_id=pk)
    number, page_error = page_number(request.GET.get("page"))
    rows, pager = paginate(logs, number, logs.count(), False, HISTORY_PAGE_SIZE)
    context = {
        **detail_context(actor, customer, "history"),
        "entries": history_entries(actor, rows),
        "pager": pager,
        "page_error": page_error,
    }
    return render(request, "customers/customer_detail.html", context)


FIELD_LABELS = {
    "kind": gettext_lazy("Kind"),
    "name": gettext_lazy("Name"),
    "short_name": gettext_lazy("Short name"),
    "customer_type": gettext_lazy("Customer type"),
    "industry": gettext_lazy("Industry"),
    "source": gettext_lazy("Source channel"),
    "province": gettext_lazy("Province"),
    "city": gettext_lazy("City"),
    "district": gettext_lazy("District"),
    "address": gettext_lazy("Street address"),
    "grade": gettext_lazy("Grade"),
    "status": gettext_lazy("Status"),
    "owner": gettext_lazy("Owner"),
    "team": gettext_lazy("Team"),
    "tags": gettext_lazy("Tags"),
    "mobile": gettext_lazy("Mobile / phone"),
    "email": gettext_lazy("Email"),
    "wechat": gettext_lazy("WeChat id"),
    "position": gettext_lazy("Position"),
    "is_primary": gettext_lazy("Primary contact"),
}
_FIELD_ORDER = {key: i for i, key in enumerate([*FIELD_LABELS, "custom_fields"])}
_OPTION_FIELDS = {"customer_type", "industry", "source", "position"}
_CUSTOMER_TYPE = "customers.customer"


@dataclass
class FieldChange:
    label: str
    before: str
    after: str


@dataclass
class HistoryEntry:
    log: ChangeLog
    who: str
    object_kind: str
    object_name: str
    changes: list[FieldChange]


class _Lookups:
    """Readable names for the ids a change log holds (options, users, teams), read once per page."""

    def __init__(self, actor: User, logs: list[ChangeLog]) -> None:
        wanted: dict[str, set[int]] = {"option": set(), "owner": set(), "team": set()}
        for log in logs:
            for key, pair in log.changes.items():
                bucket = "option" if key in _OPTION_FIELDS else key
                if bucket in wanted and isinstance(pair, list):
                    wanted[bucket].update(v for v in pair if isinstance(v, int))
        self.names: dict[str, dict[int, str]] = {"option": {}, "owner": {}, "team": {}}
        if wanted["option"]:
            for list_name in ChoiceList.values:
                options = selectors.choice_options(list_name=list_name, include_inactive=True)
                self.names["option"].update({o.pk: o.label for o in options.filter(pk__in=wanted["option"])})
        if wanted["owner"]:
            users = user_list(actor=actor).filter(pk__in=wanted["owner"])
            self.names["owner"] = {u.pk: str(u) for u in users}
        if wanted["team"]:
            self.names["team"] = {t.pk: t.name for t in team_list(actor=actor).filter(pk__in=wanted["team"])}
        self.actor = actor

    @cached_property
    def definitions(self) -> dict[tuple[str, str], CustomFieldDefinition]:
        """Read only when a change touches a custom field (the timeline's changes seldom do)."""
        return {(d.object_type, d.key): d for d in selectors.custom_field_list(actor=self.actor)}

    def show(self, key: str, value: Any) -> str:
        if value is None or value == "" or value == []:
            return "—"
        bucket = "option" if key in _OPTION_FIELDS else key
        if bucket in self.names and isinstance(value, int):
            return self.names[bucket].get(value, f"#{value}")
        if key == "kind" and value in CustomerKind.values:
            return str(CustomerKind(value).label)
        if key == "status" and value in CustomerStatus.values:
            return str(CustomerStatus(value).label)
        if key == "mobile":
            return format_phone(str(value))
        if isinstance(value, bool):
            return _("Yes") if value else _("No")
        if isinstance(value, list):
            return "、".join(str(v) for v in value)
        return str(value)

    def changes(self, object_type: str, changes: dict[str, Any]) -> list[FieldChange]:
        out: list[FieldChange] = []
        for key, pair in sorted(changes.items(), key=lambda kv: _FIELD_ORDER.get(kv[0], len(_FIELD_ORDER))):
            before, after = [*pair, None, None][:2] if isinstance(pair, list) else (None, pair)
            if key == "custom_fields":
                out += self._custom(object_type, before or {}, after or {})
                continue
            label = FIELD_LABELS.get(key, key)
            if key == "name" and object_type == CustomFieldObject.CUSTOMER:
                label = gettext_lazy("Full name")
            out.append(FieldChange(str(label), self.show(key, before), self.show(key, after)))
        return out

    def _custom(self, object_type: str, before: dict[str, Any], after: dict[str, Any]) -> list[FieldChange]:
        out = []
        for key in sorted(set(before) | set(after)):
            old, new = before.get(key), after.get(key)
            if old == new:
                continue
            definition = self.definitions.get((object_type, key))
            if definition is None:  # the field was deleted since: show its key
                out.append(FieldChange(key, self.show(key, old), self.show(key, new)))
            else:
                out.append(
                    FieldChange(
                        definition.label, custom_display(definition, old) or "—", custom_display(definition, new) or "—"
                    )
                )
        return out


def history_entries(actor: User, logs: list[ChangeLog]) -> list[HistoryEntry]:
    lookups = _Lookups(actor, logs)
    entries = []
    for log in logs:
        object_type = CustomFieldObject.CUSTOMER if log.object_type == _CUSTOMER_TYPE else CustomFieldObject.CONTACT
        entries.append(
            HistoryEntry(
                log=log,
                who=str(log.actor) if log.actor else log.actor_label,
                object_kind=str(CustomFieldObject(object_type).label),
                object_name=log.object_repr,
                changes=lookups.changes(object_type, log.changes),
            )
        )
    return entries
