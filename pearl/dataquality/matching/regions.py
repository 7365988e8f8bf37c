"""Province / city / district names (the table cpca ships) and a fast parser for addresses and names.

cpca.transform reads an address in ~135 µs (a pandas frame per call); the batch scan prepares a
million records, so this module reads cpca's own adcode table once and matches the leading region
names with dictionary look-ups (~2 µs). Chinese addresses and names put the region first
(广东省广州市天河区…, 广州鑫海酒楼), which is all the matcher needs; a test checks that this agrees
with cpca.transform on the addresses the benchmark generator writes.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import NamedTuple

_PROVINCE_SUFFIX = re.compile(r"(壮族自治区|回族自治区|维吾尔自治区|自治区|特别行政区|省|市)$")
_CITY_SUFFIX = re.compile(r"(地区|自治州|盟|市)$")
# Municipalities list their districts under a placeholder "city" of this name.
_PLACEHOLDER_CITIES = {"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"}
MAX_NAME = 10


class Region(NamedTuple):
    """Canonical full names; empty when unknown (a district name shared by two cities has no city)."""

    province: str = ""
    city: str = ""
    district: str = ""

    def merged(self, other: Region) -> Region:
        """Fill what this one lacks from ``other`` when it does not contradict what is known."""
        if not other.province and not other.city and not other.district:
            return self
        if not self.province and not self.city and not self.district:
            return other  # what the general case below gives, without building a new tuple
        if self.province and other.province and self.province != other.province:
            return self
        if self.city and other.city and self.city != other.city:
            return self
        return Region(
            self.province or other.province,
            self.city or other.city,
            # A district name shared by several cities (南山区) is taken once the city is known.
            self.district or (other.district if (not other.city or other.city == (self.city or other.city)) else ""),
        )


NOWHERE = Region()


@dataclass(frozen=True)
class _Table:
    # name as written (full or short form) -> the region it denotes
    names: dict[str, Region]
    # first / last two characters -> lengths of the names that start / end with them, longest first:
    # most names and addresses start with no region at all, and one look-up says so.
    heads: dict[str, tuple[int, ...]]
    tails: dict[str, tuple[int, ...]]


def _add(names: dict[str, Region], name: str, region: Region) -> None:
    if len(name) < 2:
        return
    known = names.get(name)
    if known is None:
        names[name] = region
    elif known != region:
        # Same name, two places (鼓楼区 is in five cities): keep only what they share.
        names[name] = Region(
            known.province if known.province == region.province else "",
            known.city if known.city == region.city else "",
            known.district if known.district == region.district else "",
        )


@cache
def _table() -> _Table:
    text = resources.files("cpca.resources").joinpath("adcodes.csv").read_text(encoding="utf-8")
    rows = [(r["adcode"][:6], r["name"]) for r in csv.DictReader(io.StringIO(text))]
    by_code = dict(rows)
    names: dict[str, Region] = {}
    for code, name in rows:
        if code.endswith("0000"):
            _add(names, name, Region(name))
            short = _PROVINCE_SUFFIX.sub("", name)
            _add(names, short, Region(name))
    for code, name in rows:
        if code.endswith("00") and not code.endswith("0000"):
            province = by_code.get(code[:2] + "0000", "")
            if name in _PLACEHOLDER_CITIES:
                continue
            _add(names, name, Region(province, name))
            short = _CITY_SUFFIX.sub("", name)
            if short != name:
                _add(names, short, Region(province, name))
    for code, name in rows:
        if not code.endswith("00"):
            province = by_code.get(code[:2] + "0000", "")
            city = by_code.get(code[:4] + "00", "")
            if city in _PLACEHOLDER_CITIES or not city:
                city = province  # 北京市 is both the province and the city
            # Only full district names: short forms (天河, 南海) are too often part of a brand.
            _add(names, name, Region(province, city, name))
    # Municipalities: the province name is also the city.
    for name in ("北京市", "上海市", "天津市", "重庆市"):
        names[name] = Region(name, name)
        names[name[:-1]] = Region(name, name)
    heads: dict[str, set[int]] = {}
    tails: dict[str, set[int]] = {}
    for name in names:
        if len(name) <= MAX_NAME:
            heads.setdefault(name[:2], set()).add(len(name))
            tails.setdefault(name[-2:], set()).add(len(name))
    return _Table(
        names,
        {k: tuple(sorted(v, reverse=True)) for k, v in heads.items()},
        {k: tuple(sorted(v, reverse=True)) for k, v in tails.items()},
    )


def lookup(name: str) -> Region | None:
    """The region a province/city/district name (full or, for provinces and cities, short) denotes."""
    return _table().names.get(name)


def canonical(province: str, city: str, district: str) -> Region:
    """Full names for what a record's own fields say (广州 → 广州市), filled upwards from the district."""
    region = NOWHERE
    for value in (district, city, province):
        hit = lookup(value) if value else None
        if hit is not None:
            region = region.merged(hit)
    return region


def strip_prefix(text: str, min_rest: int = 2, not_before: re.Pattern[str] | None = None) -> tuple[str, Region]:
    """Remove leading region names (广东省广州市…, 广州…) while at least ``min_rest`` characters remain.

    A name is kept when what follows it matches ``not_before`` (the 路 of 中山路).
    """
    table = _table()
    names = table.names
    region = NOWHERE
    while True:
        limit = len(text) - min_rest
        for size in table.heads.get(text[:2], ()):
            if size > limit:
                continue
            hit = names.get(text[:size])
            if hit is not None and not (not_before and not_before.match(text, size)):
                region = region.merged(hit)
                text = text[size:]
                break
        else:
            return text, region


def strip_suffix(text: str, min_rest: int = 2) -> tuple[str, Region]:
    """Remove one trailing region name (鑫海贸易广州 after 分公司 was taken off)."""
    table = _table()
    limit = len(text) - min_rest
    for size in table.tails.get(text[-2:], ()):
        if size <= limit:
            hit = table.names.get(text[-size:])
            if hit is not None:
                return text[:-size], hit
    return text, NOWHERE
