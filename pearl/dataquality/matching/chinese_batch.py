"""``chinese.featurize`` and ``chinese.keys`` for a whole batch of records, column by column.

The same normalising functions as the one-record path, each called once per distinct raw value
(a million customers hold far fewer distinct contact names, region fields and company names
than records); regions are merged as integer codes, once per distinct combination; the rest is
array work. The result must equal ``prepare`` record by record — the tests check it on
generated records — so any change to ``chinese.featurize`` or ``chinese.keys`` belongs here too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from operator import attrgetter
from typing import Any

import numpy as np

from . import regions
from .blocking import KeyCodes
from .chinese import MAX_KEY, Record, short_key
from .columns import (
    Batch,
    ObjectArray,
    distinct_in_rows,
    factorize,
    flat,
    intern,
    keyed,
    map_unique,
    matrix,
    objects,
    strings,
)
from .compare import FeatureTable, IntArray
from .normalize import (
    Address,
    clean,
    email,
    parse_address,
    parse_company_name,
    person_name,
    phone,
    pinyin,
    surname,
    wechat,
)
from .regions import Region

_NO_ADDRESS = Address(regions.NOWHERE, "", "", "")
# The caches of the one-record path would only hold values seen once here: call the functions bare.
_parse_address = parse_address.__wrapped__
_parse_company_name = parse_company_name.__wrapped__
_phone = phone.__wrapped__


class _Regions:
    """Regions as integer codes, so merging a million of them is one merge per distinct pair."""

    def __init__(self) -> None:
        self.items: list[Region] = [Region()]
        self.index: dict[Region, int] = {Region(): 0}

    def code(self, region: Region) -> int:
        code = self.index.get(region)
        if code is None:
            code = self.index[region] = len(self.items)
            self.items.append(region)
        return code

    def merged(self, left: IntArray, right: IntArray) -> IntArray:
        """``items[left[i]].merged(items[right[i]])`` for every i."""
        pairs, distinct = intern(zip(left.tolist(), right.tolist(), strict=True), len(left))
        out = np.array([self.code(self.items[a].merged(self.items[b])) for a, b in distinct], dtype=np.int64)
        return out[pairs] if len(pairs) else pairs

    def column(self, codes: IntArray, part: int) -> ObjectArray:
        return objects([region[part] for region in self.items])[codes]


def _address(raw: str) -> Address:
    # A record without an address has none of its features (parse_address("") is not asked).
    return _parse_address(raw) if raw else _NO_ADDRESS


def _join(left: ObjectArray, right: ObjectArray, when: Any) -> ObjectArray:
    """``left + right`` where ``when`` holds, "" elsewhere."""
    out = np.full(len(left), "", dtype=object)
    out[when] = left[when] + right[when]
    return out


def _column(records: Sequence[Record], attribute: str) -> list[Any]:
    return list(map(attrgetter(attribute), records))


def _many(rows: IntArray, raw: ObjectArray, function: Callable[[Any], str]) -> tuple[IntArray, ObjectArray]:
    return distinct_in_rows(rows, map_unique(raw, function))


def _parsed(values: ObjectArray, parse: Callable[[str], Any]) -> tuple[IntArray, list[Any]]:
    """Codes into the distinct values, and ``parse`` of each distinct value."""
    codes, distinct = factorize(values)
    return codes, [parse(v) for v in distinct]


def featurize_batch(records: Sequence[Record]) -> Batch:
    size = len(records)
    table = _Regions()
    company = np.array([kind != "individual" for kind in _column(records, "kind")], dtype=bool)
    people = ~company

    # Region from the record's own fields, then what the address and the company name say.
    fields, triples = intern(map(attrgetter("province", "city", "district"), records), size)
    field_codes = np.array(
        [table.code(regions.canonical(clean(p), clean(c), clean(d))) for p, c, d in triples], dtype=np.int64
    )[fields]

    address_codes, parsed = _parsed(strings([a or "" for a in _column(records, "address")]), _address)
    address_region = np.array([table.code(a.region) for a in parsed], dtype=np.int64)[address_codes]
    road, number, rest = (objects([a[part] for a in parsed])[address_codes] for part in (1, 2, 3))
    region = table.merged(field_codes, address_region)

    # Company names (the legal name, or the short name when it is empty) and people's names.
    names = strings(
        [
            (n or s or "") if c else ""
            for n, s, c in zip(_column(records, "name"), _column(records, "short_name"), company.tolist(), strict=True)
        ]
    )
    name_codes, companies = _parsed(names, _parse_company_name)
    name_region = np.array([table.code(c.region) for c in companies], dtype=np.int64)[name_codes]
    name_region[people] = 0
    region = table.merged(region, name_region)
    columns: dict[str, ObjectArray] = {"kind": strings(["individual", "company"])[company.astype(np.int64)]}
    for feature, part in (("cname", "core"), ("cfull", "full"), ("legal", "legal_name"), ("branch", "branch")):
        column = objects([getattr(c, part) for c in companies])[name_codes]
        column[people] = ""
        columns[feature] = column
    columns["cname_py"] = map_unique(columns["cname"], pinyin)
    # Trade categories: a handful of distinct tuples, padded into MAX_MANY columns.
    trade_codes, trade_values = intern((c.trades for c in companies), len(companies))
    trade_rows = np.repeat(np.arange(len(trade_values)), [len(t) for t in trade_values])
    trades = matrix(trade_rows, strings([t for ts in trade_values for t in ts]), len(trade_values))
    columns["trades"] = trades[trade_codes[name_codes]]
    columns["trades"][people] = ""

    pname = map_unique(strings([n or "" for n in _column(records, "name")]), person_name)
    pname[company] = ""
    columns["pname"] = pname
    columns["pname_py"] = map_unique(pname, pinyin)

    # Contacts, identities: flat (row, value) lists, normalised, without empties and repeats.
    contact_rows, contacts = _many(*flat(_column(records, "contact_names")), person_name)
    many = {
        "contacts": (contact_rows, contacts),
        "contacts_py": _many(contact_rows, contacts, pinyin),
        "surnames": _many(contact_rows, contacts, lambda n: pinyin(surname(n))),
        "mobiles": _many(*flat(_column(records, "mobiles")), _phone),
        "emails": _many(*flat(_column(records, "emails")), email),
        "wechats": _many(*flat(_column(records, "wechats")), wechat),
    }
    for feature, (rows, values) in many.items():
        columns[feature] = matrix(rows, values, size)

    city = table.column(region, 1)
    district = table.column(region, 2)
    columns["province"] = table.column(region, 0)
    columns["city"] = city
    columns["district"] = _join(city, district, (city != "") & (district != ""))
    columns["road"] = _join(city, road, road != "")
    columns["roadnum"] = _join(road, number, number != "")
    columns["addr"] = rest

    keys = [
        keyed(prefix, *many[feature], short_key, MAX_KEY)
        for prefix, feature in (("m", "mobiles"), ("e", "emails"), ("w", "wechats"))
    ]
    city4 = map_unique(city, lambda c: c[:4])
    has_city = city4 != ""
    everyone = np.arange(size, dtype=np.int64)
    for prefix, value, when in (
        ("n", columns["cname_py"], columns["cname_py"] != ""),
        ("nc", city4 + "|" + columns["cname_py"], has_city & (columns["cname_py"] != "")),
        ("p", city4 + "|" + columns["pname_py"], has_city & (columns["pname_py"] != "")),
        ("a", columns["roadnum"], columns["roadnum"] != ""),
        ("ac", city4 + "|" + columns["roadnum"], has_city & (columns["roadnum"] != "")),
    ):
        keys.append(keyed(prefix, everyone[when], value[when], short_key, MAX_KEY))
    return Batch(
        columns,
        strings([str(r.id) for r in records]),
        np.concatenate([k.key_rows for k in keys]),
        np.concatenate([k.key_values for k in keys]),
    )


def _combined(city: IntArray, value: IntArray, span: int) -> IntArray:
    """One integer per (city, value) pair: ``city|value`` as a number."""
    return city.astype(np.int64) * span + value


def table_keys(table: FeatureTable) -> KeyCodes:
    """``chinese.keys`` of every row of a table, as integers made of the features' codes.

    Key ``m:<mobile>`` is the mobile's code, ``nc:<city4>|<core pinyin>`` the pair (city4 code, core
    code), and so on; each family gets its own range. A key string names exactly one such value
    (a long one is hashed, cities hold no "|"), so the blocks, hence the pairs, are the same.
    """
    rows: list[IntArray] = []
    codes: list[IntArray] = []
    families: list[str] = []
    offset = 0

    def add(family: str, where: IntArray, value: IntArray, span: int) -> None:
        nonlocal offset
        rows.append(where)
        codes.append(value.astype(np.int64) + offset)
        families.append(family)
        offset += span

    for family, feature in (("m", "mobiles"), ("e", "emails"), ("w", "wechats")):
        matrix_codes = table.codes(feature)
        where, position = np.nonzero(matrix_codes >= 0)
        add(
            family, where.astype(np.int64), matrix_codes[where, position].astype(np.int64), len(table.distinct(feature))
        )
    # The city's first four characters, as a code of their own (two cities may share them).
    city4_of, city4_values = factorize(strings([c[:4] for c in table.distinct("city")]))
    city = table.codes("city")
    city4 = np.where(city >= 0, city4_of[city], -1)
    spans = len(city4_values)
    for family, feature, with_city in (
        ("n", "cname_py", False), ("nc", "cname_py", True), ("p", "pname_py", True),
        ("a", "roadnum", False), ("ac", "roadnum", True),
    ):  # fmt: skip
        value = table.codes(feature).astype(np.int64)
        span = len(table.distinct(feature))
        has = value >= 0
        if with_city:
            has &= city4 >= 0
            where = np.flatnonzero(has)
            add(family, where, _combined(city4[where], value[where], span), spans * span)
        else:
            where = np.flatnonzero(has)
            add(family, where, value[where], span)
    family_of = np.repeat(np.arange(len(families), dtype=np.int8), [len(r) for r in rows])
    return KeyCodes(np.concatenate(rows), np.concatenate(codes), family_of, tuple(families))
