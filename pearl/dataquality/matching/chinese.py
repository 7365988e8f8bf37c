"""Chinese customers: the record the services (or a spreadsheet row) hand over, and its features."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from . import regions
from .compare import Features
from .normalize import clean, email, parse_address, parse_company_name, person_name, phone, pinyin, surname, wechat

MAX_KEY = 32


@dataclass(frozen=True)
class Record:
    """A customer as the matcher sees it: built from a Customer and its contacts, or from a sheet row."""

    id: str
    kind: str = "company"  # or "individual"
    name: str = ""
    short_name: str = ""
    customer_type: str = ""
    contact_names: tuple[str, ...] = ()
    mobiles: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    wechats: tuple[str, ...] = ()
    province: str = ""
    city: str = ""
    district: str = ""
    address: str = ""


def _unique(values: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v for v in values if v))


def featurize(record: Record) -> Features:
    # chinese_batch.featurize_batch computes the same for a whole batch (a test compares them): change both.
    kind = "individual" if record.kind == "individual" else "company"
    region = regions.canonical(clean(record.province), clean(record.city), clean(record.district))
    address = parse_address(record.address) if record.address else None
    if address is not None:
        region = region.merged(address.region)
    features: Features = {"id": record.id, "kind": kind}
    if kind == "company":
        # The legal name decides; the short name stands in when the legal name is empty.
        parsed = parse_company_name(record.name or record.short_name)
        region = region.merged(parsed.region)
        features.update(
            cname=parsed.core,
            cname_py=pinyin(parsed.core),
            cfull=parsed.full,
            legal=parsed.legal_name,
            branch=parsed.branch,
            trades=parsed.trades,
        )
    else:
        name = person_name(record.name)
        features.update(pname=name, pname_py=pinyin(name))
    contacts = _unique([person_name(n) for n in record.contact_names])
    features.update(
        contacts=contacts,
        contacts_py=_unique([pinyin(n) for n in contacts]),
        surnames=_unique([pinyin(surname(n)) for n in contacts]),
        mobiles=_unique([phone(m) for m in record.mobiles]),
        emails=_unique([email(e) for e in record.emails]),
        wechats=_unique([wechat(w) for w in record.wechats]),
        province=region.province,
        city=region.city,
        district=region.city + region.district if region.city and region.district else "",
        road=f"{region.city}{address.road}" if address and address.road else "",
        roadnum=f"{address.road}{address.number}" if address and address.number else "",
        addr=address.rest if address else "",
    )
    return features


FEATURES = {
    "kind": "one", "cname": "one", "cname_py": "one", "cfull": "one", "legal": "one", "branch": "one", "trades": "many",
    "pname": "one", "pname_py": "one", "contacts": "many", "contacts_py": "many", "surnames": "many",
    "mobiles": "many", "emails": "many", "wechats": "many", "province": "one", "city": "one", "district": "one",
    "road": "one", "roadnum": "one", "addr": "one",
}  # fmt: skip


def short_key(prefix: str, value: str) -> str:
    """``prefix:value`` in at most 32 characters (long values are hashed) for an indexed column."""
    key = f"{prefix}:{value}"
    if len(key) <= MAX_KEY:
        return key
    return f"{prefix}#{hashlib.blake2b(value.encode(), digest_size=12).hexdigest()}"


def keys(features: Features) -> set[str]:
    """Blocking keys: a duplicate shares at least one of these with its original (mirrored in chinese_batch).

    Identities (mobile, email, WeChat) catch renamed records; the company core in pinyin catches
    every spelling of a name (traditional, legal forms, homophones); city + road + number catches a
    misspelt name at the same address; for people, whose names are common, the name only together
    with the city.
    """
    out: set[str] = set()
    out.update(short_key("m", m) for m in features["mobiles"])
    out.update(short_key("e", e) for e in features["emails"])
    out.update(short_key("w", w) for w in features["wechats"])
    city = features["city"][:4]
    if features.get("cname_py"):
        out.add(short_key("n", features["cname_py"]))
        if city:
            # The same core in one city: stays small even when the core alone is a chain's name.
            out.add(short_key("nc", f"{city}|{features['cname_py']}"))
    if features.get("pname_py") and city:
        out.add(short_key("p", f"{city}|{features['pname_py']}"))
    if features["roadnum"]:
        # With the city (selective) and without (when one record lacks the city).
        out.add(short_key("a", features["roadnum"]))
        if city:
            out.add(short_key("ac", f"{city}|{features['roadnum']}"))
    return out
