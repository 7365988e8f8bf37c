"""The matcher: positive pairs, the traps that must stay apart, explanations, bands, blocking, scan."""

from __future__ import annotations

import pytest

from benchmarks.chinese_customers import generate
from pearl.dataquality.matching import (
    Record,
    blocking_keys,
    chinese_config,
    compare,
    compare_many,
    febrl_config,
    prepare,
    scan,
    with_thresholds,
)
from pearl.dataquality.matching.chinese import MAX_KEY

CONFIG = chinese_config()


def _match(a: Record, b: Record):
    return compare(prepare(a, CONFIG), prepare(b, CONFIG), CONFIG)


POSITIVES = [
    (Record("1", name="广州鑫海海鲜酒楼有限公司", mobiles=("+86 138-0013-8000",)),
     Record("2", name="鑫海酒楼", mobiles=("1.38001380000E10",))),
    (Record("1", name="廣州鑫海海鮮酒樓", address="广州市荔湾区黄沙大道8号"),
     Record("2", name="广州市新海海鲜酒楼有限责任公司", address="荔湾区黄沙大道8号")),
    (Record("1", name="鑫海水产（广州）有限公司", contact_names=("陈志强",), city="广州"),
     Record("2", name="广州鑫海水产有限责任公司", contact_names=("陳志強",), emails=("a@b.cn",), city="广州市")),
    (Record("1", name="ＡＢＣ电子科技有限公司", mobiles=("１３９００１３９０００",)),
     Record("2", name="ABC电子", mobiles=("139 0013 9000",), city="深圳")),
    (Record("1", kind="individual", name="张伟", mobiles=("13800138000",)),
     Record("2", kind="individual", name="章伟", mobiles=("138-0013-8000",))),
    (Record("1", kind="individual", name="李娜", address="广州市天河区天河路385号"),
     Record("2", kind="individual", name="李娜", city="广州", address="天河路385号")),
]  # fmt: skip


@pytest.mark.parametrize(("a", "b"), POSITIVES)
def test_duplicates_are_found(a: Record, b: Record) -> None:
    match = _match(a, b)
    assert match.band == "duplicate", match.reasons


NEGATIVES = [
    # The same brand in another city.
    (Record("1", name="广州鑫海酒楼"), Record("2", name="深圳鑫海酒楼")),
    (Record("1", name="鑫海酒楼", city="广州", contact_names=("王芳",)),
     Record("2", name="鑫海酒楼", city="深圳", contact_names=("王芳",))),
    # Branches of one chain.
    (Record("1", name="永辉超市（五一店）", city="福州"), Record("2", name="永辉超市（万达店）", city="福州")),
    (Record("1", name="永辉超市五一店", city="福州", address="福州市鼓楼区五一路1号"),
     Record("2", name="永辉超市(万达分店)", city="福州", address="福州市台江区万达路2号")),
    # Common names, different people.
    (Record("1", kind="individual", name="张伟", mobiles=("13800138000",), address="广州市天河区天河路1号"),
     Record("2", kind="individual", name="张伟", mobiles=("13900139000",), address="广州市海珠区江南大道中100号")),
    # One trade name, two trades.
    (Record("1", name="鑫海酒楼", city="广州"), Record("2", name="鑫海超市", city="广州")),
]  # fmt: skip


@pytest.mark.parametrize(("a", "b"), NEGATIVES)
def test_traps_stay_apart(a: Record, b: Record) -> None:
    match = _match(a, b)
    assert match.band is None, match.reasons


def test_a_common_name_alone_is_at_most_for_review() -> None:
    a = Record("1", kind="individual", name="张伟", city="广州")
    assert _match(a, Record("2", kind="individual", name="张伟", city="广州")).band != "duplicate"


def test_a_shared_mobile_does_not_merge_different_companies() -> None:
    match = _match(Record("1", name="鑫海水产", mobiles=("13800138000",)),
                   Record("2", name="金龙电器", mobiles=("13800138000",)))  # fmt: skip
    assert match.band != "duplicate"


def test_reasons_explain_the_score() -> None:
    a, b = POSITIVES[0]
    match = _match(a, b)
    assert sum(r.weight for r in match.reasons) == pytest.approx(match.score)
    by_field = {r.field: r for r in match.reasons}
    assert by_field["mobile"].outcome == "exact" and by_field["mobile"].weight > 0
    assert by_field["mobile"].detail == "13800138000 | 13800138000"
    assert by_field["name"].outcome == "core"
    assert by_field["address"].outcome == "missing" and by_field["address"].weight == 0


def test_negative_evidence_is_named() -> None:
    match = _match(*NEGATIVES[2])
    branch = next(r for r in match.reasons if r.field == "branch")
    assert (branch.outcome, branch.detail) == ("different", "五一 | 万达")
    assert branch.weight < 0
    city = next(r for r in _match(*NEGATIVES[0]).reasons if r.field == "region")
    assert city.outcome == "other city" and city.weight < 0


def test_bands_follow_configurable_thresholds() -> None:
    a = Record("1", name="鑫海水产", city="广州", mobiles=("13800138000",))
    b = Record("2", name="鑫海水产", city="广州", mobiles=("13900139000",))
    score = _match(a, b).score
    assert CONFIG.possible <= score < CONFIG.duplicate
    assert _match(a, b).band == "possible"
    strict = with_thresholds(CONFIG, duplicate=score + 1, possible=score + 0.5)
    loose = with_thresholds(CONFIG, duplicate=score, possible=score - 5)
    assert compare(prepare(a, strict), prepare(b, strict), strict).band is None
    assert compare(prepare(a, loose), prepare(b, loose), loose).band == "duplicate"
    assert CONFIG.band(CONFIG.duplicate) == "duplicate"
    assert CONFIG.band(CONFIG.possible) == "possible"
    assert CONFIG.band(CONFIG.possible - 0.01) is None


def test_compare_many_matches_compare() -> None:
    query = prepare(POSITIVES[0][0], CONFIG)
    others = [prepare(b, CONFIG) for _, b in POSITIVES] + [prepare(b, CONFIG) for _, b in NEGATIVES]
    many = compare_many(query, others, CONFIG)
    assert [m.score for m in many] == [compare(query, o, CONFIG).score for o in others]


def test_blocking_keys_are_short_and_shared_by_duplicates() -> None:
    long_email = Record("1", name="鑫海水产", emails=("a-very-long-mailbox-name-for-testing@some-company.example.com",))
    assert all(len(k) <= MAX_KEY for k in blocking_keys(prepare(long_email, CONFIG)))
    for a, b in POSITIVES:
        assert blocking_keys(prepare(a, CONFIG)) & blocking_keys(prepare(b, CONFIG)), (a.name, b.name)


def test_blocking_keys_separate_common_names_by_city() -> None:
    a = prepare(Record("1", kind="individual", name="张伟", city="广州"), CONFIG)
    b = prepare(Record("2", kind="individual", name="张伟", city="深圳"), CONFIG)
    assert not blocking_keys(a) & blocking_keys(b)


@pytest.fixture(scope="module")
def generated():
    data = generate(1000, seed=11)
    return data, scan(data.records, CONFIG)


def test_scan_finds_the_labelled_duplicates(generated) -> None:
    data, result = generated
    truth = data.true_pairs()
    found = {tuple(sorted((m.left, m.right))) for m in result if m.band == "duplicate"}
    assert len(found & truth) >= 0.9 * len(truth)
    assert len(found - truth) <= 0.01 * len(found)


def test_scan_agrees_with_compare_and_blocking(generated) -> None:
    data, result = generated
    by_id = {r.id: r for r in data.records}
    for match in list(result)[:15]:
        again = compare(prepare(by_id[match.left], CONFIG), prepare(by_id[match.right], CONFIG), CONFIG)
        assert (again.score, again.band) == (match.score, match.band)
        assert sum(r.weight for r in match.reasons) == pytest.approx(match.score)
    # Every labelled pair the matcher would put in a band shares a blocking key, so the scan sees it.
    prepared = {r.id: prepare(r, CONFIG) for r in data.records}
    for a, b in sorted(data.true_pairs())[:150]:
        if compare(prepared[a], prepared[b], CONFIG).band:
            assert blocking_keys(prepared[a]) & blocking_keys(prepared[b])


def test_the_same_engine_links_febrl_people() -> None:
    config = febrl_config()
    a = {
        "id": "a",
        "given_name": "john",
        "surname": "smith",
        "street_number": "12",
        "address_1": "main street",
        "suburb": "sydney",
        "postcode": "2000",
        "state": "nsw",
        "date_of_birth": "19700101",
        "soc_sec_id": "1234567",
    }
    b = {**a, "id": "b", "given_name": "jonh", "date_of_birth": "19700110"}
    c = {
        "id": "c",
        "given_name": "mary",
        "surname": "smith",
        "street_number": "7",
        "address_1": "hill road",
        "suburb": "sydney",
        "postcode": "2000",
        "state": "nsw",
        "date_of_birth": "19801231",
        "soc_sec_id": "7654321",
    }
    assert compare(prepare(a, config), prepare(b, config), config).band == "duplicate"
    assert compare(prepare(a, config), prepare(c, config), config).band is None
    assert {(m.left, m.right) for m in scan([a, b, c], config) if m.band == "duplicate"} == {("a", "b")}
