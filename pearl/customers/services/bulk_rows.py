"""Rows of a spreadsheet (clean strings) → validated customer and contact values, for the bulk upsert.

The same validators as the one-record services (``clean_text``, ``clean_grade``, ``clean_email``,
``normalize_phone``, ``customfields.clean_value`` …), but every lookup table (choice lists, users,
tags, custom-field definitions) is read once per call instead of once per row, so validating a row
costs no query.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypedDict

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

from pearl.accounts.models import User
from pearl.core.errors import ValidationFailed
from pearl.core.phones import normalize_phone
from pearl.core.rows import Packed, pack_pairs, unpack_pairs
from pearl.core.text import clean_spaces, nfkc, normalize_company_name
from pearl.customers.choices import ChoiceList, CustomerKind, CustomerStatus, CustomFieldObject
from pearl.customers.customfields import clean_value
from pearl.customers.models import ChoiceOption, CustomFieldDefinition, Tag
from pearl.customers.services.contacts import clean_contact_name, clean_email, clean_wechat
from pearl.customers.services.customers import TEXT_LIMITS, clean_grade, clean_text
from pearl.customers.services.derived import managed_tag_ids


class CustomerRowIn(TypedDict, total=False):
    """One row to import: field keys as ``pearl.dataquality.mapping`` names them, values as read.

    ``row`` is the row number in the source (for messages and the report); ``custom_fields`` holds
    the ``custom:<key>`` columns by key. Missing keys and empty values both mean "not given".
    """

    row: int
    name: str | None
    short_name: str | None
    kind: str | None
    customer_type: str | None
    industry: str | None
    source: str | None
    grade: str | None
    status: str | None
    province: str | None
    city: str | None
    district: str | None
    address: str | None
    owner: str | None
    tags: str | None
    note: str | None
    contact_name: str | None
    mobile: str | None
    email: str | None
    wechat: str | None
    position: str | None
    external_id: str | None
    custom_fields: dict[str, str | None]
    errors: list[str]  # problems the reader already found (formula errors …): the row is invalid


CHOICE_FIELDS = {
    "customer_type": ChoiceList.CUSTOMER_TYPE,
    "industry": ChoiceList.INDUSTRY,
    "source": ChoiceList.SOURCE,
}
CHOICE_LABELS = {
    "customer_type": "客户类型",
    "industry": "行业",
    "source": "来源",
    "position": "职位",
}
_TAG_SPLIT = re.compile(r"[,，、;；|/\n]+")
_KIND_WORDS = {
    CustomerKind.COMPANY.value: {"company", "公司", "企业", "单位", "机构", "组织", "法人", "b", "tob"},
    CustomerKind.INDIVIDUAL.value: {"individual", "person", "个人", "自然人", "散客", "c", "toc"},
}
EXTERNAL_ID_LIMIT = 255


def _key(text: str) -> str:
    return nfkc(text).strip().lower().replace(" ", "")


tag_key = _key  # how tag names are compared: 'VIP', 'vip' and 'ＶＩＰ' are one tag


def _labels_in_every_language(choices: Any) -> dict[str, str]:
    """label (any configured language) or value → value, compared by ``_key``."""
    found = {_key(value): value for value in choices.values}
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            found.update({_key(str(label)): value for value, label in choices.choices})
    return found


@dataclass
class Lookups:
    """Everything a row is checked against, read once per bulk call."""

    actor: User
    choices: dict[str, dict[str, ChoiceOption]]
    choice_labels: dict[str, list[str]]
    users: dict[str, list[User]]
    tags: dict[str, Tag]
    custom_defs: dict[str, CustomFieldDefinition]
    kinds: dict[str, str]
    statuses: dict[str, str]
    may_create_tags: bool
    new_tags: dict[str, Tag] = field(default_factory=dict)
    smart_tags: frozenset[int] = frozenset()  # tags a rule keeps (``derived.managed_tag_ids``): no row sets them
    # (field, raw value) → (clean value, errors) of the validators whose answer depends only on the
    # value and the tables above (grade, status, kind, choice lists, owner): a sheet repeats a few
    # such values on every row. Bounded, so memory does not grow with the file.
    memo: dict[tuple[str, str], tuple[Any, list[str]]] = field(default_factory=dict, repr=False)

    @classmethod
    def load(cls, actor: User) -> Lookups:
        choices: dict[str, dict[str, ChoiceOption]] = {}
        labels: dict[str, list[str]] = {}
        for option in ChoiceOption.objects.filter(is_active=True).order_by("list_name", "order", "id"):
            choices.setdefault(option.list_name, {})[_key(option.label)] = option
            labels.setdefault(option.list_name, []).append(option.label)
        # An owner is named by username or display name; a role that may only own its own customers
        # can name only itself (as customer_create decides).
        users_qs = User.objects.filter(is_active=True).select_related("team")
        if actor.data_scope == "own":
            users_qs = users_qs.filter(pk=actor.pk)
        users: dict[str, list[User]] = {}
        for user in users_qs:
            for name in {_key(user.username), _key(user.display_name or "")} - {""}:
                users.setdefault(name, []).append(user)
        kinds = {word: kind for kind, words in _KIND_WORDS.items() for word in words}
        kinds.update(_labels_in_every_language(CustomerKind))
        return cls(
            actor=actor,
            choices=choices,
            choice_labels=labels,
            users=users,
            tags={_key(t.name): t for t in Tag.objects.all()},
            custom_defs={
                d.key: d for d in CustomFieldDefinition.objects.filter(object_type=CustomFieldObject.CUSTOMER)
            },
            kinds=kinds,
            statuses=_labels_in_every_language(CustomerStatus),
            may_create_tags=actor.may("manage_settings"),
            smart_tags=frozenset(managed_tag_ids()),
        )


@dataclass
class CleanRow:
    """A validated row: model-ready values of the fields it gives, or its errors."""

    number: int
    customer: dict[str, Any] = field(default_factory=dict)  # FIELDS of customer_create, given ones only
    custom_fields: dict[str, Any] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)  # tag names (existing, or to create)
    contact: dict[str, Any] = field(default_factory=dict)  # CONTACT_FIELDS given
    external_id: str = ""
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # (search blob, name pinyin) when computed ahead with the tokens (see Prepared); None: the
    # writer computes all three.
    search: tuple[str, str] | None = None

    @property
    def kind(self) -> str:
        return str(self.customer.get("kind") or CustomerKind.COMPANY)

    @property
    def name_key(self) -> str:
        return normalize_company_name(self.customer.get("name") or "")

    def identities(self) -> list[tuple[str, str]]:
        """(kind, value) pairs this row would give its customer."""
        found = [(k, self.contact[k]) for k in ("mobile", "email", "wechat") if self.contact.get(k)]
        if self.external_id:
            found.append(("external", self.external_id))
        return found


# A value clean_spaces would return unchanged: no control or full-width characters, and no
# whitespace except single inner spaces. Most cells arrive like that (the reader already folds and
# strips them), so one regex search replaces clean_spaces' four passes on the common path.
_NOT_CLEAN = re.compile(r"[\x00-\x1f\x7f\uff10-\uff19\uff21-\uff3a\uff41-\uff5a]|[^\S ]|  |^ | $")
MEMO_LIMIT = 4096


def _text(row: CustomerRowIn, key: str) -> str | None:
    value = row.get(key)
    if value is None:
        return None
    text = str(value)
    if _NOT_CLEAN.search(text) is not None:
        text = clean_spaces(text)
    return text or None


def _memo(lookups: Lookups, name: str, raw: str, errors: list[str], check: Callable[[str, list[str]], Any]) -> Any:
    """``check(raw, errors)``, run once per distinct raw value of the field."""
    key = (name, raw)
    found = lookups.memo.get(key)
    if found is None:
        found_errors: list[str] = []
        found = (check(raw, found_errors), found_errors)
        if len(lookups.memo) >= MEMO_LIMIT:
            lookups.memo.clear()
        lookups.memo[key] = found
    errors.extend(found[1])
    return found[0]


def _kind(lookups: Lookups, raw: str, errors: list[str]) -> str | None:
    kind = lookups.kinds.get(_key(raw))
    if kind is None:
        errors.append(_("“%(value)s” is neither a company nor a person.") % {"value": raw})
    return kind


def _grade(raw: str, errors: list[str]) -> str:
    grade, error = clean_grade(raw.rstrip("级类"))
    if error:
        errors.append(error)
    return grade


def _status(lookups: Lookups, raw: str, errors: list[str]) -> str | None:
    status = lookups.statuses.get(_key(raw))
    if status is None:
        allowed = "、".join(str(label) for label in CustomerStatus.labels)
        errors.append(_("Status “%(value)s” is unknown; allowed: %(allowed)s.") % {"value": raw, "allowed": allowed})
    return status


def _choice(lookups: Lookups, list_name: str, label_key: str, raw: str, errors: list[str]) -> ChoiceOption | None:
    option = lookups.choices.get(list_name, {}).get(_key(raw))
    if option is None:
        allowed = "、".join(lookups.choice_labels.get(list_name, [])) or _("(the list is empty)")
        errors.append(
            _("%(field)s “%(value)s” is not in the list; allowed: %(allowed)s.")
            % {"field": CHOICE_LABELS[label_key], "value": raw, "allowed": allowed}
        )
    return option


def _owner(lookups: Lookups, raw: str, errors: list[str]) -> User | None:
    found = lookups.users.get(_key(raw), [])
    if len(found) == 1:
        return found[0]
    if len(found) > 1:
        errors.append(_("Owner “%(value)s” names more than one user; use the username.") % {"value": raw})
    elif lookups.actor.data_scope == "own":
        errors.append(_("Your role may only assign customers to yourself (owner “%(value)s”).") % {"value": raw})
    else:
        errors.append(_("Owner “%(value)s” is not an active user.") % {"value": raw})
    return None


def _tags(lookups: Lookups, raw: str, errors: list[str]) -> list[str]:
    names = [clean_spaces(t) for t in _TAG_SPLIT.split(nfkc(raw))]
    names = list(dict.fromkeys(n for n in names if n))
    out: list[str] = []
    unknown: list[str] = []
    for name in names:
        tag = lookups.tags.get(_key(name))
        if tag is not None and tag.pk in lookups.smart_tags:
            message = _(
                "“%(tag)s” is a smart tag: its rule decides who carries it, so it cannot be added or removed by hand."
            )
            errors.append(message % {"tag": tag.name})
        elif tag is not None:
            out.append(tag.name)
        elif len(name) > 32:
            errors.append(_("Tag “%(name)s” is longer than 32 characters.") % {"name": name})
        elif lookups.may_create_tags:
            out.append(name)  # created with the batch (the actor may manage tags)
        else:
            unknown.append(name)
    if unknown:
        errors.append(
            _("Unknown tag(s): %(names)s. Ask an administrator to create them, or remove them from the row.")
            % {"names": "、".join(unknown)}
        )
    return out


def clean_row(lookups: Lookups, row: CustomerRowIn) -> CleanRow:
    """Validate one row; never raises, the problems are in ``errors``."""
    out = CleanRow(number=int(row.get("row") or 0), errors=list(row.get("errors") or []))
    errors = out.errors
    for key, limit in TEXT_LIMITS.items():
        raw = _text(row, key)
        if raw is not None:
            # _text's result is what clean_text cleans it to, so only its length check is left.
            value, error = clean_text(key, raw) if len(raw) > limit else (raw, None)
            if error:
                errors.append(f"{_label(key)}: {error}")
            out.customer[key] = value
    if (raw := _text(row, "kind")) is not None:
        out.customer["kind"] = _memo(lookups, "kind", raw, errors, lambda value, found: _kind(lookups, value, found))
    contact_name = _text(row, "contact_name")
    if "name" not in out.customer and contact_name and out.customer.get("kind") != CustomerKind.COMPANY:
        # A sheet of people: the customer is named after its contact (see mapping.validate_mapping).
        out.customer["name"], out.customer["kind"] = contact_name[: TEXT_LIMITS["name"]], CustomerKind.INDIVIDUAL
    if (raw := _text(row, "grade")) is not None:
        out.customer["grade"] = _memo(lookups, "grade", raw, errors, _grade)
    if (raw := _text(row, "status")) is not None:
        out.customer["status"] = _memo(
            lookups, "status", raw, errors, lambda value, found: _status(lookups, value, found)
        )
    for key, list_name in CHOICE_FIELDS.items():
        if (raw := _text(row, key)) is not None:
            out.customer[key] = _memo(
                lookups,
                key,
                raw,
                errors,
                lambda value, found: _choice(lookups, list_name, key, value, found),  # noqa: B023
            )
    if (raw := _text(row, "owner")) is not None:
        owner = _memo(lookups, "owner", raw, errors, lambda value, found: _owner(lookups, value, found))
        out.customer["owner"] = owner
        if owner is not None:
            out.customer["team"] = owner.team  # a customer follows its owner's team
    if (raw := _text(row, "tags")) is not None:
        out.tags = _tags(lookups, raw, errors)
    _custom(lookups, row, out)
    _contact(lookups, row, contact_name, out)
    if (raw := _text(row, "external_id")) is not None:
        external = nfkc(raw).strip()
        if len(external) > EXTERNAL_ID_LIMIT:
            errors.append(_("The external id is longer than %(n)d characters.") % {"n": EXTERNAL_ID_LIMIT})
        out.external_id = external
    return out


@dataclass
class Prepared:
    """A batch cleaned ahead of the bulk upsert (the import's second process, ``bulk_create.prepare``).

    ``tokens``: the search tokens of every row with a ``search``, as (token, row number) sorted, so
    the writer inserts them in the token table's key order without sorting (rows get ascending
    customer ids, so the order holds once numbers become ids).
    """

    rows: list[CleanRow]
    tokens: list[tuple[str, int]] = field(default_factory=list)
    # What other apps' per-customer indexes computed ahead for the rows that may create a customer,
    # by refresher name, keyed by row number (``pearl.core.duplicates.Ahead``; the duplicate
    # matcher's keys and features): written for the new customers instead of refreshing them.
    ahead: dict[str, Any] = field(default_factory=dict)

    # Pickled compactly (it crosses from the second process once per batch): ~40 tokens per row.
    def __getstate__(self) -> tuple[list[CleanRow], Packed, dict[str, Any]]:
        return self.rows, pack_pairs(self.tokens), self.ahead

    def __setstate__(self, state: tuple[list[CleanRow], Packed, dict[str, Any]]) -> None:
        self.rows, tokens, self.ahead = state
        self.tokens = unpack_pairs(tokens)


def refresh_tags(lookups: Lookups, row: CleanRow) -> None:
    """Tag names of a row cleaned against an older copy of ``lookups`` (the import's second process),
    as they are now: a tag an earlier batch created goes by its stored spelling, as ``_tags`` gives it.
    Tags are only ever added during an import, so nothing else about the row can differ."""
    if row.tags:
        row.tags = [tag.name if (tag := lookups.tags.get(_key(name))) is not None else name for name in row.tags]


def _custom(lookups: Lookups, row: CustomerRowIn, out: CleanRow) -> None:
    given = dict(row.get("custom_fields") or {})
    note = _text(row, "note")
    if note is not None:
        if "note" in lookups.custom_defs and "note" not in given:
            given["note"] = note  # a custom field keyed "note" takes the 备注 column
        else:
            out.warnings.append(_("The note column is not stored: add a customer custom field with key “note”."))
    for key, raw in given.items():
        definition = lookups.custom_defs.get(key)
        if definition is None:
            out.errors.append(_("There is no custom field %(key)s.") % {"key": key})
            continue
        if raw is None or str(raw).strip() == "":
            continue
        try:
            value = clean_value(definition, raw)
        except ValueError as exc:
            out.errors.append(f"{definition.label}: {exc}")
            continue
        if value is not None:
            out.custom_fields[key] = value


def _contact(lookups: Lookups, row: CustomerRowIn, contact_name: str | None, out: CleanRow) -> None:
    errors = out.errors
    if (raw := _text(row, "mobile")) is not None:
        try:
            out.contact["mobile"] = normalize_phone(raw)
        except ValidationFailed as exc:
            errors.append(f"{_('Mobile / phone')} “{raw}”: {exc.message}")
    if (raw := _text(row, "email")) is not None:
        email, error = clean_email(raw)
        if error:
            errors.append(f"{_('Email')} “{raw}”: {error}")
        out.contact["email"] = email
    if (raw := _text(row, "wechat")) is not None:
        wechat, error = clean_wechat(raw)
        if error:
            errors.append(error)
        out.contact["wechat"] = wechat
    if (raw := _text(row, "position")) is not None:
        position = ChoiceList.POSITION
        out.contact["position"] = _memo(
            lookups, "position", raw, errors, lambda value, found: _choice(lookups, position, "position", value, found)
        )
    if contact_name is not None:
        name, error = clean_contact_name(contact_name)
        if error:
            errors.append(error)
        out.contact["name"] = name
    elif out.contact:
        # Contact details without a name: the contact is named after the customer, as a shop's
        # list of numbers usually is (老板 is not a name).
        out.contact["name"] = (out.customer.get("short_name") or out.customer.get("name") or "")[:64]


def _label(key: str) -> str:
    labels = {
        "name": _("Customer name"),
        "short_name": _("Short name"),
        "province": _("Province"),
        "city": _("City"),
        "district": _("District"),
        "address": _("Address"),
    }
    return str(labels.get(key, key))
