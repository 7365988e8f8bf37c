"""The matcher's field and outcome names (pearl.dataquality.matching.configs), as people read them."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy

FIELD_LABELS = {
    "kind": gettext_lazy("Company or person"), "name": gettext_lazy("Name"), "branch": gettext_lazy("Branch"),
    "trade": gettext_lazy("Trade"), "person": gettext_lazy("Person's name"), "region": gettext_lazy("Region"),
    "mobile": gettext_lazy("Mobile"), "email": gettext_lazy("Email"), "wechat": gettext_lazy("WeChat id"),
    "contact": gettext_lazy("Contact"), "address": gettext_lazy("Address"),
}  # fmt: skip
OUTCOME_LABELS = {
    "same": gettext_lazy("same"), "different": gettext_lazy("different"), "missing": gettext_lazy("missing"),
    "legal": gettext_lazy("same legal name"), "exact": gettext_lazy("exact"), "core": gettext_lazy("same core name"),
    "pinyin": gettext_lazy("same pinyin"), "similar": gettext_lazy("similar"),
    "district": gettext_lazy("same district"), "city": gettext_lazy("same city"),
    "other city": gettext_lazy("another city"),
    "province": gettext_lazy("same province"), "surname": gettext_lazy("same surname"),
    "road": gettext_lazy("same road"),
}  # fmt: skip


def labelled(reasons: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Reasons that weigh either way, with their field and outcome in the reader's language."""
    return [
        {**r, "field": FIELD_LABELS.get(r["field"], r["field"]),
         "outcome": OUTCOME_LABELS.get(r["outcome"], r["outcome"])}
        for r in reasons
        if r["weight"]
    ]  # fmt: skip
