"""Automatic column mapping: which spreadsheet column feeds which customer (or lead) field.

Shared by the import wizard, the import API, ``pearl import`` and ``pearl dedupe``. Pure code, no
models: a mapping is ``{column index: field key}``; a saved preset is ``{"header text": "field key"}``
so it still applies when a later file has its columns in another order. A leads import has its own
fields and header words (``target="leads"``): there 联系人/姓名 is the lead's name and 公司 its company,
where a customer sheet's 公司 is the customer's name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext_lazy as _

from pearl.core.errors import ValidationFailed
from pearl.core.text import nfkc

CUSTOM_PREFIX = "custom:"

# Labels for the wizard's dropdowns, in the order the dropdown lists them.
FIELD_LABELS: dict[str, Any] = {
    "name": _("Customer name"),
    "short_name": _("Short name"),
    "kind": _("Company or person"),
    "customer_type": _("Customer type"),
    "industry": _("Industry"),
    "source": _("Source"),
    "grade": _("Grade"),
    "status": _("Status"),
    "province": _("Province"),
    "city": _("City"),
    "district": _("District"),
    "address": _("Address"),
    "owner": _("Owner"),
    "tags": _("Tags"),
    "note": _("Note"),
    "contact_name": _("Contact name"),
    "mobile": _("Mobile / phone"),
    "email": _("Email"),
    "wechat": _("WeChat id"),
    "position": _("Position"),
    "external_id": _("External id"),
}

# Exact aliases, compared after normalize_header(). A header equal to one of these maps for sure.
# fmt: off
_ALIASES: dict[str, tuple[str, ...]] = {
    "name": (
        "客户名称", "公司名称", "单位名称", "客户全称", "企业名称", "公司全称", "单位全称", "企业全称", "名称",
        "客户", "公司", "单位", "客户名", "客户姓名", "公司名", "customer", "company", "name",
        "customername", "companyname", "fullname",
    ),
    "short_name": ("简称", "客户简称", "公司简称", "单位简称", "shortname", "abbreviation"),
    "kind": ("客户性质", "性质", "类别", "客户类别", "公司个人", "kind"),
    "customer_type": ("客户类型", "类型", "customertype", "type"),
    "industry": ("行业", "所属行业", "客户行业", "行业类别", "industry"),
    "source": ("来源", "客户来源", "渠道", "来源渠道", "获客渠道", "source", "channel", "leadsource"),
    "grade": ("等级", "级别", "客户等级", "客户级别", "grade", "level", "rating"),
    "status": ("状态", "客户状态", "status"),
    "province": ("省", "省份", "所在省", "所在省份", "province", "state"),
    "city": ("市", "城市", "所在城市", "所在市", "地市", "city"),
    "district": ("区", "区县", "县区", "县", "所在区", "所在区县", "district", "county"),
    "address": (
        "地址", "详细地址", "收货地址", "联系地址", "公司地址", "客户地址", "通讯地址", "办公地址", "街道地址",
        "address", "streetaddress",
    ),
    "owner": (
        "负责人", "业务员", "销售", "跟进人", "销售员", "客户经理", "所属销售", "归属人", "owner", "salesperson",
        "salesrep", "accountmanager",
    ),
    "tags": ("标签", "客户标签", "tags", "tag"),
    "note": ("备注", "说明", "备注说明", "note", "notes", "remark", "remarks", "comment", "comments", "memo"),
    "contact_name": (
        "联系人", "联系人姓名", "姓名", "联系人名称", "contact", "contactname", "contactperson",
    ),
    "mobile": (
        "手机", "手机号", "手机号码", "电话", "联系电话", "联系方式", "电话号码", "移动电话", "联系人手机",
        "联系人电话", "手机电话", "mobile", "phone", "tel", "telephone", "cellphone", "mobilephone", "phoneno",
    ),
    "email": ("邮箱", "电子邮件", "电子邮箱", "邮件", "email", "e-mail", "mail", "emailaddress"),
    "wechat": ("微信", "微信号", "微信id", "wechat", "wechatid", "weixin"),
    "position": ("职位", "职务", "岗位", "头衔", "position", "jobtitle", "title"),
    "external_id": (
        "编号", "客户编号", "id", "外部编号", "客户id", "客户代码", "客户编码", "原编号", "原系统编号",
        "externalid", "customerid", "code",
    ),
}
# fmt: on

# "Contains" rules, tried in this order when no alias matches. Specific words come first and the
# generic ones (客户, 公司, name) last, so 客户手机 is a mobile and 客户标签 a tag, not a name.
_CONTAINS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("email", ("邮箱", "邮件", "email", "mail")),
    ("wechat", ("微信", "wechat", "weixin")),
    ("mobile", ("手机", "电话", "联系方式", "mobile", "phone", "tel", "telephone", "cell")),
    ("address", ("地址", "address", "addr")),
    ("province", ("省份", "province")),
    ("city", ("城市", "city")),
    ("district", ("区县", "县区", "district", "county")),
    ("external_id", ("编号", "id")),
    ("contact_name", ("联系人", "contact")),
    ("position", ("职位", "职务", "position")),
    ("owner", ("负责人", "业务员", "跟进人", "销售", "owner", "sales")),
    ("short_name", ("简称",)),
    ("kind", ("性质",)),
    ("customer_type", ("类型", "type")),
    ("industry", ("行业", "industry")),
    ("source", ("来源", "渠道", "source", "channel")),
    ("grade", ("等级", "级别", "grade", "level")),
    ("status", ("状态", "status")),
    ("tags", ("标签", "tag", "tags")),
    ("note", ("备注", "说明", "note", "remark", "comment")),
    ("name", ("名称", "全称", "客户", "公司", "单位", "企业", "name", "customer", "company")),
)

# --- leads -------------------------------------------------------------------------------------------

CUSTOMERS, LEADS = "customers", "leads"  # the values of choices.ImportTarget (this module has no models)

LEAD_FIELD_LABELS: dict[str, Any] = {
    "name": _("Name of the person"),
    "company": _("Company"),
    "mobile": _("Mobile / phone"),
    "email": _("Email"),
    "wechat": _("WeChat id"),
    "source": _("Source"),
    "province": _("Province"),
    "city": _("City"),
    "product_interest": _("Product interest"),
    "note": _("Note"),
}

# fmt: off
_LEAD_ALIASES: dict[str, tuple[str, ...]] = {
    "name": (
        "姓名", "联系人", "联系人姓名", "客户姓名", "名字", "称呼", "线索姓名", "name", "fullname", "contact",
        "contactname", "contactperson", "personname",
    ),
    "company": (
        "公司", "公司名称", "单位", "单位名称", "企业", "企业名称", "客户名称", "公司全称", "所在公司", "工作单位",
        "company", "companyname", "organization", "organisation",
    ),
    "mobile": _ALIASES["mobile"],
    "email": _ALIASES["email"],
    "wechat": _ALIASES["wechat"],
    "source": (*_ALIASES["source"], "线索来源"),
    "province": _ALIASES["province"],
    "city": _ALIASES["city"],
    "product_interest": (
        "意向产品", "产品兴趣", "感兴趣的产品", "感兴趣产品", "意向品类", "产品意向", "意向", "产品", "产品类别",
        "产品分类", "需求产品", "productinterest", "product", "interest",
    ),
    "note": _ALIASES["note"],
}

_LEAD_CONTAINS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("email", ("邮箱", "邮件", "email", "mail")),
    ("wechat", ("微信", "wechat", "weixin")),
    ("mobile", ("手机", "电话", "联系方式", "mobile", "phone", "tel", "telephone", "cell")),
    ("province", ("省份", "province")),
    ("city", ("城市", "city")),
    ("source", ("来源", "渠道", "source", "channel")),
    ("product_interest", ("意向", "产品", "product", "interest")),
    ("note", ("备注", "说明", "note", "remark", "comment")),
    ("company", ("公司", "单位", "企业", "company")),
    ("name", ("姓名", "联系人", "名字", "name", "contact")),
)
# fmt: on


_REQUIRED_MARK = re.compile(r"(?:[(\[【]\s*(?:必填|必须|必填项|选填|可选|required|optional)\s*[)\]】]|[*＊]+)\s*$")
_BRACKETED = re.compile(r"[(\[【〔《「][^)\]】〕》」]*[)\]】〕》」]")
_NOISE = re.compile(r"[\s\W_]+")
_ASCII_WORD = re.compile(r"[a-z]+")


def normalize_header(text: str) -> str:
    """The form headers are compared in: NFKC, lower case, no spaces, punctuation or required marks.

    ``客户名称（必填）``, ``* 客户名称`` and ``客户 名称`` all give ``客户名称``.
    """
    text = nfkc(text).strip().lower()
    text = text.lstrip("*＊ ")
    text = _REQUIRED_MARK.sub("", text).strip()
    return _NOISE.sub("", text)


def _without_brackets(text: str) -> str:
    """``手机号码(11位)`` → ``手机号码``: the bracketed part is usually a hint, not the name."""
    return normalize_header(_BRACKETED.sub("", nfkc(text)))


_ALIAS_INDEX: dict[str, str] = {normalize_header(a): key for key, aliases in _ALIASES.items() for a in aliases}
_LEAD_ALIAS_INDEX: dict[str, str] = {
    normalize_header(a): key for key, aliases in _LEAD_ALIASES.items() for a in aliases
}


def _labels(target: str) -> dict[str, Any]:
    return LEAD_FIELD_LABELS if target == LEADS else FIELD_LABELS


def _ascii_words(header: str) -> set[str]:
    """English words of a header, split on spaces, punctuation and camelCase (``ContactPhone``)."""
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", nfkc(header))
    return set(_ASCII_WORD.findall(spaced.lower()))


def alias_field(header: str) -> str | None:
    """The field a header names exactly (an alias, not a "contains" guess), or None."""
    for key in (normalize_header(header), _without_brackets(header)):
        if key in _ALIAS_INDEX:
            return _ALIAS_INDEX[key]
    return None


def match_header(header: str, custom_fields: Sequence[tuple[str, str]] = (), target: str = CUSTOMERS) -> str | None:
    """The field key a header names, or None. Exact aliases first, then custom fields, then contains rules."""
    keys = [k for k in dict.fromkeys((normalize_header(header), _without_brackets(header))) if k]
    if not keys:
        return None
    aliases, contains = (_LEAD_ALIAS_INDEX, _LEAD_CONTAINS) if target == LEADS else (_ALIAS_INDEX, _CONTAINS)
    for key in keys:
        if key in aliases:
            return aliases[key]
    for custom_key, label in custom_fields:
        if normalize_header(label) in keys or normalize_header(custom_key) in keys:
            return CUSTOM_PREFIX + custom_key
    words = _ascii_words(_BRACKETED.sub("", header)) or _ascii_words(header)
    for field_key, fragments in contains:
        for fragment in fragments:
            if fragment.isascii():
                # English fragments must be whole words: "tel" is in "hotel", "id" in "paid".
                if fragment in words:
                    return field_key
            elif any(fragment in key for key in keys):
                return field_key
    return None


@dataclass(frozen=True)
class DuplicateMapping:
    """A column that named a field another column already feeds; it is left unmapped."""

    column: int
    header: str
    field: str
    kept_column: int
    target: str = CUSTOMERS

    @property
    def message(self) -> str:
        return str(
            _("Column “%(header)s” also looks like %(field)s, which column %(kept)s already feeds; it is left out.")
            % {
                "header": self.header,
                "field": field_label(self.field, target=self.target),
                "kept": self.kept_column + 1,
            }
        )


@dataclass
class MappingResult:
    mapping: dict[int, str] = field(default_factory=dict)
    unmapped: list[tuple[int, str]] = field(default_factory=list)
    duplicates: list[DuplicateMapping] = field(default_factory=list)

    def to_preset(self, headers: Sequence[str]) -> dict[str, str]:
        return mapping_to_preset(headers, self.mapping)


def field_label(key: str, custom_fields: Sequence[tuple[str, str]] = (), target: str = CUSTOMERS) -> str:
    if key.startswith(CUSTOM_PREFIX):
        wanted = key[len(CUSTOM_PREFIX) :]
        return next((label for k, label in custom_fields if k == wanted), wanted)
    return str(_labels(target).get(key, key))


def field_choices(custom_fields: Sequence[tuple[str, str]] = (), target: str = CUSTOMERS) -> list[tuple[str, str]]:
    """(key, label) for every target field, built-in then custom, for the wizard's dropdowns (a lead
    has no custom fields: callers pass none for a leads import)."""
    return [(key, str(label)) for key, label in _labels(target).items()] + [
        (CUSTOM_PREFIX + key, label) for key, label in custom_fields
    ]


def _assign(
    headers: Sequence[str], proposals: Iterable[tuple[int, str | None]], target: str = CUSTOMERS
) -> MappingResult:
    """Each field from at most one column: the first column wins, later ones are reported."""
    result = MappingResult()
    taken: dict[str, int] = {}
    for index, key in proposals:
        header = headers[index]
        if not key:
            if header.strip():
                result.unmapped.append((index, header))
            continue
        if key in taken:
            result.duplicates.append(DuplicateMapping(index, header, key, taken[key], target))
            result.unmapped.append((index, header))
            continue
        taken[key] = index
        result.mapping[index] = key
    return result


def auto_map(
    headers: Sequence[str],
    *,
    custom_fields: Sequence[tuple[str, str]] = (),
    preset: Mapping[str, str] | None = None,
    target: str = CUSTOMERS,
) -> MappingResult:
    """Propose a mapping for a header row; a preset's entries win over the automatic guess.

    A preset value of ``""`` means "this column is deliberately not imported". A preset saved from
    an import of the other kind names fields this one does not have: those columns are guessed.
    """
    known = set(_labels(target)) | {CUSTOM_PREFIX + key for key, _label in custom_fields}
    by_header = {normalize_header(h): key for h, key in (preset or {}).items() if not key or key in known}
    proposals: list[tuple[int, str | None]] = []
    for index, header in enumerate(headers):
        norm = normalize_header(header)
        if preset is not None and norm and norm in by_header:
            proposals.append((index, by_header[norm] or None))
        else:
            proposals.append((index, match_header(header, custom_fields, target) if header else None))
    return _assign(headers, proposals, target)


def apply_preset(headers: Sequence[str], preset: Mapping[str, str]) -> MappingResult:
    """Only the preset, no guessing: columns the preset does not name stay unmapped."""
    by_header = {normalize_header(h): key for h, key in preset.items()}
    return _assign(headers, [(i, by_header.get(normalize_header(h)) or None) for i, h in enumerate(headers)])


def mapping_to_preset(headers: Sequence[str], mapping: Mapping[int, str]) -> dict[str, str]:
    """The JSON-able preset for a mapping: header text → field key."""
    return {headers[index]: key for index, key in sorted(mapping.items()) if 0 <= index < len(headers)}


class MappingInvalid(ValidationFailed):
    code = "mapping_invalid"


def validate_mapping(
    mapping: Mapping[int, str],
    *,
    custom_fields: Sequence[tuple[str, str]] = (),
    column_count: int | None = None,
    target: str = CUSTOMERS,
) -> None:
    """Raise MappingInvalid unless the mapping can make customers (or leads).

    A customer needs a name, or at least a contact with a mobile (a person's customer is then named
    after the contact). A lead needs a name and a way to reach the person.
    """
    known = set(_labels(target)) | {CUSTOM_PREFIX + key for key, _label in custom_fields}
    problems: list[Any] = []
    unknown = sorted({key for key in mapping.values() if key not in known})
    if unknown:
        problems.append(
            _("Unknown target field(s): %(fields)s. Choose a field from the list.") % {"fields": ", ".join(unknown)}
        )
    if column_count is not None:
        outside = sorted(i + 1 for i in mapping if not 0 <= i < column_count)
        if outside:
            problems.append(
                _("Column(s) %(cols)s are not in the sheet.") % {"cols": ", ".join(str(c) for c in outside)}
            )
    seen: dict[str, int] = {}
    for index, key in sorted(mapping.items()):
        if key in seen:
            problems.append(
                _("Columns %(a)s and %(b)s are both mapped to %(field)s; keep one of them.")
                % {"a": seen[key] + 1, "b": index + 1, "field": field_label(key, custom_fields, target)}
            )
        else:
            seen[key] = index
    fields = set(mapping.values())
    if target == LEADS:
        problems += _lead_problems(fields)
    elif "name" not in fields and not {"contact_name", "mobile"} <= fields:
        problems.append(
            _(
                "No column is mapped to the customer name. Map the column holding the company or customer "
                "name to “%(name)s”, or map both “%(contact)s” and “%(mobile)s” to import people."
            )
            % {"name": FIELD_LABELS["name"], "contact": FIELD_LABELS["contact_name"], "mobile": FIELD_LABELS["mobile"]}
        )
    if problems:
        raise MappingInvalid(problems[0], field_errors={"mapping": problems})


def _lead_problems(fields: set[str]) -> list[Any]:
    problems: list[Any] = []
    if "name" not in fields:
        problems.append(
            _("No column is mapped to the lead's name. Map the column holding the person's name to “%(name)s”.")
            % {"name": LEAD_FIELD_LABELS["name"]}
        )
    if not fields & {"mobile", "email", "wechat"}:
        problems.append(
            _(
                "No column is mapped to a way of reaching the person. Map the column holding the mobile, "
                "email or WeChat id to “%(mobile)s”, “%(email)s” or “%(wechat)s”."
            )
            % {k: LEAD_FIELD_LABELS[k] for k in ("mobile", "email", "wechat")}
        )
    return problems
