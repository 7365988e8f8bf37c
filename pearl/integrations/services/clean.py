"""One channel event as sent → validated, normalised values, or every problem it has.

Pure: no database. Identifiers are normalised exactly as the customer services store identities
(``normalize_phone``, ``clean_email``, ``clean_wechat``), so a lookup finds what a contact created.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from pearl.activities.choices import TimelineKind
from pearl.core.errors import ValidationFailed
from pearl.core.phones import normalize_phone
from pearl.core.text import clean_spaces, nfkc
from pearl.customers.choices import IdentityKind
from pearl.customers.services.contacts import clean_email, clean_wechat

EVENT_FIELDS = ("id", "channel", "type", "occurred_at", "identifiers", "payload")
# Which identifier wins when two of them point at different customers: the channel's own id for
# the person first (it cannot be mistyped by the person), then the mobile, the WeChat id, the email.
PRECEDENCE = ("external_id", "mobile", "wechat", "email")
IDENTITY_KINDS = {
    "external_id": IdentityKind.EXTERNAL.value,
    "mobile": IdentityKind.MOBILE.value,
    "wechat": IdentityKind.WECHAT.value,
    "email": IdentityKind.EMAIL.value,
}
# Event types recorded under a timeline kind of their own ("call", or "call.missed"); others are "channel".
TYPE_KINDS = frozenset(
    {
        TimelineKind.CALL,
        TimelineKind.VISIT,
        TimelineKind.WECHAT,
        TimelineKind.EMAIL,
        TimelineKind.MEETING,
        TimelineKind.NOTE,
        TimelineKind.ORDER,
        TimelineKind.COMPLAINT,
    }
)
PAYLOAD_LIMIT = 8 * 1024  # bytes of the payload as compact UTF-8 JSON
ID_LIMIT = 128  # TimelineEvent.external_id
CHANNEL_LIMIT = 32  # TimelineEvent.source
TYPE_LIMIT = 32
EXTERNAL_LIMIT = 255  # Identity.value
FUTURE_SLACK = dt.timedelta(days=1)
EARLIEST = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
# Payload keys whose text summarises the event in its timeline title, in this order.
SUMMARY_KEYS = ("title", "summary", "subject", "product", "message", "content", "text", "note", "remark")
LEAD_TYPE = "lead"
_WORD = re.compile(r"^[^\s\x00-\x1f\x7f]+$")


@dataclass
class CleanEvent:
    index: int
    event_id: str
    channel: str
    type: str
    kind: str
    occurred_at: dt.datetime
    # (field, identity kind, stored value) in PRECEDENCE order
    identifiers: list[tuple[str, str, str]]
    payload: dict[str, Any]
    name: str = ""  # payload "name": the person
    company: str = ""  # payload "company": the customer is a company of that name
    title: str = ""
    summary: str = ""  # the payload's message (SUMMARY_KEYS), without the channel and type
    # A lead event's payload "province", "city" and "product_interest" (a product category's name)
    province: str = ""
    city: str = ""
    interest: str = ""
    errors: dict[str, list[str]] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str]:
        return self.channel, self.event_id

    @property
    def is_lead(self) -> bool:
        """A ``lead`` event (``lead``, ``lead.form``, ``lead.400``…): someone asking about buying. An
        unknown person becomes a lead, assigned by the rules, not a customer."""
        return is_lead_type(self.type)

    def value_of(self, name: str) -> str:
        return next((value for f, _kind, value in self.identifiers if f == name), "")


def _text_id(value: Any) -> str | None:
    """An id as text: channels send strings or whole numbers; None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return nfkc(value).strip()
    return None


def _word(raw: Any, field_name: str, limit: int, errors: dict[str, list[str]]) -> str:
    """The channel or the event type: one word, lower-case (messages only built when needed)."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        errors[field_name] = [_WORD_MESSAGES[field_name][0]()]
        return ""
    text = _text_id(raw)
    if text is None:
        errors[field_name] = [_("Enter text.")]
        return ""
    if len(text) > limit or not _WORD.match(text):
        errors[field_name] = [_WORD_MESSAGES[field_name][1]() % {"n": limit}]
        return ""
    return text.lower()


_WORD_MESSAGES: dict[str, tuple[Callable[[], str], Callable[[], str]]] = {
    "channel": (
        lambda: _("The channel is required, e.g. web, shop, callcenter or wechat."),
        lambda: _("A channel name has no spaces and at most %(n)d characters."),
    ),
    "type": (
        lambda: _("The event type is required, e.g. call, order or form_submitted."),
        lambda: _("An event type has no spaces and at most %(n)d characters."),
    ),
}
_PLAIN_MOBILE = re.compile(r"^1\d{10}$")
_SEPARATORS = re.compile(r"[\s-]+")


@lru_cache(maxsize=10_000)
def _mobile_prefix_valid(prefix: str) -> bool:
    """Whether every mainland mobile starting with these 5 digits is one ``normalize_phone`` keeps as is.

    The numbering plan (libphonenumber's mobile pattern for CN) decides on at most the first 5
    digits, the rest being any digits, so one sample number answers for the whole prefix; a test
    compares the two paths over every 4-digit prefix and the 5-digit ones the plan names.
    """
    sample = prefix + "000000"
    try:
        return normalize_phone(sample) == sample
    except ValidationFailed:
        return False


def normalize_mobile(raw: str) -> str:
    """``normalize_phone``, with a fast path for the common plain 11-digit mobile (channels send tens
    of thousands a minute, and parsing each with libphonenumber costs most of an event's validation)."""
    text = _SEPARATORS.sub("", raw)
    if text.startswith("+86"):
        text = text[3:]
    if _PLAIN_MOBILE.match(text) and _mobile_prefix_valid(text[:5]):
        return text
    return normalize_phone(raw)


def _occurred_at(raw: Any, now: dt.datetime, errors: dict[str, list[str]]) -> dt.datetime:
    if raw is None or raw == "":
        return now
    value = None
    if isinstance(raw, str):
        try:
            value = parse_datetime(raw.strip())
        except ValueError:
            value = None
    if value is None:
        errors["occurred_at"] = [_("Enter the time in ISO-8601, e.g. 2026-05-01T10:30:00+08:00.")]
        return now
    if timezone.is_naive(value):
        value = timezone.make_aware(value)  # the site's time zone (Asia/Shanghai)
    if value < EARLIEST:
        errors["occurred_at"] = [_("The time is before 1970; check the date.")]
    elif value > now + FUTURE_SLACK:
        errors["occurred_at"] = [_("The time is more than a day in the future; check the date and time zone.")]
    return value


def _identifiers(raw: Any, channel: str, errors: dict[str, list[str]]) -> list[tuple[str, str, str]]:
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        errors["identifiers"] = [_("Send the identifiers as an object with mobile, email, wechat or external_id.")]
        return []
    for key in sorted(set(raw) - set(PRECEDENCE)):
        errors[f"identifiers.{key}"] = [_("Unknown field %(field)s.") % {"field": key}]
    found: list[tuple[str, str, str]] = []
    for name in PRECEDENCE:
        value = raw.get(name)
        if value is None or value == "":
            continue
        path = f"identifiers.{name}"
        text = _text_id(value) if name in ("mobile", "external_id") else (value if isinstance(value, str) else None)
        if text is None:
            errors[path] = [_("Enter text.")]
            continue
        if not text.strip():
            continue  # blank is the same as not given
        error: str | None = None
        if name == "mobile":
            try:
                text = normalize_mobile(text)
            except ValidationFailed as exc:
                error = str(exc.message)
        elif name == "email":
            text, error = clean_email(text)
        elif name == "wechat":
            text, error = clean_wechat(text)
        else:
            text = f"{channel}:{text.strip()}"
            if len(text) > EXTERNAL_LIMIT:
                error = _("At most %(n)d characters.") % {"n": EXTERNAL_LIMIT - len(channel) - 1}
        if error:
            errors[path] = [error]
        elif text:
            found.append((name, IDENTITY_KINDS[name], text))
    if not found and not any(k.startswith("identifiers") for k in errors):
        errors["identifiers"] = [
            _("Give at least one usable identifier: mobile, email, wechat or external_id (all were empty).")
        ]
    return found


def _payload_text(payload: dict[str, Any], key: str, errors: dict[str, list[str]], limit: int) -> str:
    value = payload.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        errors[f"payload.{key}"] = [_("Enter text.")]
        return ""
    text = clean_spaces(value)
    if len(text) > limit:
        errors[f"payload.{key}"] = [_("At most %(n)d characters.") % {"n": limit}]
    return text


def _summary(payload: dict[str, Any]) -> str:
    for key in SUMMARY_KEYS:
        value = payload.get(key)
        if isinstance(value, str | int | float) and not isinstance(value, bool) and str(value).strip():
            return clean_spaces(str(value))
    return ""


def is_lead_type(event_type: str) -> bool:
    return event_type.split(".", 1)[0] == LEAD_TYPE


def timeline_kind(event_type: str) -> str:
    """``call`` or ``call.missed`` → call; anything else is a plain channel event."""
    head = event_type.split(".", 1)[0]
    return head if head in TYPE_KINDS else TimelineKind.CHANNEL.value


def clean_event(index: int, raw: Any, now: dt.datetime) -> CleanEvent:
    """Validate one event; raises ValidationFailed naming every field that is wrong."""
    if not isinstance(raw, dict):
        message = _("Send each event as a JSON object.")
        raise ValidationFailed(message, field_errors={"event": [message]})
    errors: dict[str, list[str]] = {}
    for key in sorted(set(raw) - set(EVENT_FIELDS)):
        errors[key] = [_("Unknown field %(field)s.") % {"field": key}]
    event_id = ""
    raw_id = raw.get("id")
    if raw_id is None or (isinstance(raw_id, str) and not raw_id.strip()):
        errors["id"] = [_("The event id is required: the channel's own id for this event, so a replay is recognised.")]
    elif (text := _text_id(raw_id)) is None:
        errors["id"] = [_("Enter text.")]
    elif len(text) > ID_LIMIT:
        errors["id"] = [_("At most %(n)d characters.") % {"n": ID_LIMIT}]
    else:
        event_id = text
    channel = _word(raw.get("channel"), "channel", CHANNEL_LIMIT, errors)
    event_type = _word(raw.get("type"), "type", TYPE_LIMIT, errors)
    occurred_at = _occurred_at(raw.get("occurred_at"), now, errors)
    identifiers = _identifiers(raw.get("identifiers"), channel or "?", errors)
    payload = raw.get("payload")
    name = company = province = city = interest = ""
    if payload is None:
        payload = {}
    if not isinstance(payload, dict):
        errors["payload"] = [_("Send the payload as a JSON object.")]
        payload = {}
    else:
        size = len(json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode())
        if size > PAYLOAD_LIMIT:
            errors["payload"] = [
                _("The payload is %(size)s bytes; at most %(limit)s bytes are kept per event.")
                % {"size": size, "limit": PAYLOAD_LIMIT}
            ]
        name = _payload_text(payload, "name", errors, 64)
        company = _payload_text(payload, "company", errors, 200)
        if is_lead_type(event_type):
            province = _payload_text(payload, "province", errors, 32)
            city = _payload_text(payload, "city", errors, 32)
            interest = _payload_text(payload, "product_interest", errors, 64)
    if errors:
        raise ValidationFailed(next(iter(errors.values()))[0], field_errors=errors)
    summary = _summary(payload)
    title = f"{channel} · {event_type}" + (f": {summary}" if summary else "")
    return CleanEvent(
        index=index,
        event_id=event_id,
        channel=channel,
        type=event_type,
        kind=timeline_kind(event_type),
        occurred_at=occurred_at,
        identifiers=identifiers,
        payload=payload,
        name=name,
        company=company,
        title=title[:200],
        summary=summary,
        province=province,
        city=city,
        interest=interest,
    )
