"""The scan of kept features (codes read column-wise, integer keys, filters as plans) gives what the
scan of the same features as strings gives: the same candidates, pairs, scores and outcomes."""

from __future__ import annotations

import functools
import importlib

import numpy as np
import pytest

from benchmarks.chinese_customers import generate
from pearl.core.testing.personas import Org
from pearl.dataquality.matching import Record, chinese_config
from pearl.dataquality.matching.blocking import candidate_pairs, coded_pairs
from pearl.dataquality.matching.chinese_batch import table_keys
from pearl.dataquality.matching.columns import Batch, Encoded, StoredReader, from_features, stored, unstored
from pearl.dataquality.matching.compare import Equal, FeatureTable
from pearl.dataquality.matching.scan import block, scan_batch

CONFIG = chinese_config()
SCAN = importlib.import_module("pearl.dataquality.matching.scan")
ODD = [
    Record("o1", name="", short_name="鑫海", mobiles=("13800138000", "138 0013 8000", ""), contact_names=("", "陈伟")),
    Record("o3", kind="individual", name="歐陽娜娜", contact_names=("欧阳娜娜", "歐陽娜娜"), wechats=("WX 1", "wx1")),
    Record("o4", name="永辉超市（五一店）", city="福州", emails=("a-very-long-mailbox-name-for-testing@example.com",)),
    Record("o6", kind="individual", name="", address="广东省广州市天河区体育西路1号", emails=("x@y.cn",) * 6),
    Record("o7", name="鑫海水产", mobiles=tuple(f"1380013800{i}" for i in range(6))),  # more than MAX_MANY
]  # fmt: skip


@pytest.fixture(scope="module")
def kept() -> tuple[list[int], list[str]]:
    """Generated customers' features as the database keeps them (ids 1…n)."""
    records = generate(1500, seed=11).records + ODD
    batch = CONFIG.featurize_batch(records)  # type: ignore[misc]
    return list(range(1, len(records) + 1)), [stored(batch.row(i), CONFIG) for i in range(len(records))]


def _as_strings(ids: list[int], texts: list[str]) -> Batch:
    """What the scan read before: each record's features as a dict, keys from ``config.keys``."""
    return from_features([unstored(str(i), t, CONFIG) or {} for i, t in zip(ids, texts, strict=True)], CONFIG)


def _encoded(ids: list[int], texts: list[str], chunk: int = 400) -> Encoded:
    reader = StoredReader(CONFIG)
    for start in range(0, len(ids), chunk):
        assert reader.add(ids[start : start + chunk], texts[start : start + chunk]) == []
    return reader.result()


def test_reader_gives_the_features_and_codes_for_equality(kept: tuple[list[int], list[str]]) -> None:
    ids, texts = kept
    slow, fast = _as_strings(ids, texts), _encoded(ids, texts)
    assert list(fast.ids) == ids
    table = FeatureTable.from_codes(fast.codes, fast.uniques, CONFIG.features)
    for name in CONFIG.features:
        assert np.array_equal(table.values(name), slow.columns[name]), name
        codes = fast.codes[name]
        assert np.array_equal(codes < 0, slow.columns[name] == ""), name
        # One code per distinct value, across the chunks.
        flat, values = codes.ravel(), slow.columns[name].ravel()
        assert len(np.unique(flat[flat >= 0])) == len(set(values[values != ""])), name


def test_reader_reports_texts_kept_for_another_configuration() -> None:
    good = stored({"id": "1", "kind": "company", "cname": "鑫海"}, CONFIG)
    reader = StoredReader(CONFIG)
    assert reader.add([1, 2, 3], [good, "stale", good + "\x1fextra"]) == [2, 3]
    encoded = reader.result()
    assert list(encoded.ids) == [1] and encoded.uniques["cname"][encoded.codes["cname"][0]] == "鑫海"


@pytest.mark.parametrize("max_block", [500, 3])
def test_integer_keys_and_plans_give_the_candidates_of_the_key_strings(
    kept: tuple[list[int], list[str]], max_block: int
) -> None:
    ids, texts = kept
    slow, fast = _as_strings(ids, texts), _encoded(ids, texts)
    table = FeatureTable.from_codes(fast.codes, fast.uniques, CONFIG.features)
    checks = {family: functools.partial(p, table) for family, p in CONFIG.block_filters.items()}
    expected = candidate_pairs(slow.key_rows, slow.key_values, table.size, max_block=max_block, filters=checks)
    assert len(expected.left) > 1000 or max_block < 500
    by_codes = coded_pairs(table_keys(table), table.size, max_block=max_block, filters=checks)
    planned = block(fast, table, CONFIG, max_block=max_block)
    for found in (by_codes, planned):
        assert np.array_equal(found.left, expected.left) and np.array_equal(found.right, expected.right)
        assert (found.keys, found.skipped_blocks, found.skipped_rows) == (
            expected.keys, expected.skipped_blocks, expected.skipped_rows,
        )  # fmt: skip


def test_scan_of_codes_equals_scan_of_strings(
    kept: tuple[list[int], list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    ids, texts = kept
    slow = scan_batch(_as_strings(ids, texts), CONFIG)
    monkeypatch.setattr(SCAN, "SLICE", 700)
    fast = scan_batch(_encoded(ids, texts), CONFIG, workers=2)
    assert len(slow) > 50
    assert np.array_equal(slow.left, fast.left) and np.array_equal(slow.right, fast.right)
    assert np.array_equal(slow.scores, fast.scores) and np.array_equal(slow.outcomes, fast.outcomes)
    assert [m.reasons for m in slow] == [m.reasons for m in fast]


def test_equal_on_many_values_finds_any_shared_value() -> None:
    rng = np.random.default_rng(3)
    codes = rng.integers(-1, 40, size=(3000, 4)).astype(np.int32)
    codes[:, 1:][codes[:, :1].repeat(3, axis=1) < 0] = -1  # no value after an empty first one
    uniques = np.array([f"v{i}" for i in range(40)] + [""], dtype=object)
    table = FeatureTable.from_codes({"x": codes}, {"x": uniques}, {"x": "many"})
    left, right = rng.integers(0, 3000, size=(2, 20000))
    a, b = codes[left], codes[right]
    expected = ((a[:, :, None] == b[:, None, :]) & (a[:, :, None] >= 0)).any(axis=(1, 2))
    assert np.array_equal(Equal("x")(table, left, right), expected)


@pytest.mark.parametrize("max_block", [500, 12])
def test_plans_make_the_pairs_the_filters_keep(max_block: int) -> None:
    """Random blocks: pairs made from a plan are the pairs made and then filtered."""
    from pearl.dataquality.matching.blocking import Either, KeyCodes, Within

    rng = np.random.default_rng(7)
    size, entries = 2000, 6000
    lacking = rng.random(size) < 0.3
    sub = rng.integers(-1, 5, size=size).astype(np.int32)
    rows = rng.integers(0, size, size=entries)
    keys = KeyCodes(rows, rng.integers(0, 400, size=entries), rng.integers(0, 3, size=entries).astype(np.int8),
                    ("x", "y", "z"))  # fmt: skip

    def lacks(left: np.ndarray, right: np.ndarray) -> np.ndarray:
        return lacking[left] | lacking[right]

    def lacks_or_same(left: np.ndarray, right: np.ndarray) -> np.ndarray:
        return lacks(left, right) | ((sub[left] == sub[right]) & (sub[left] >= 0))

    filtered = coded_pairs(keys, size, max_block=max_block, filters={"x": lacks, "y": lacks_or_same})
    planned = coded_pairs(
        keys, size, max_block=max_block, filters={"x": (Either(lacking),), "y": (Either(lacking), Within(sub))}
    )
    assert len(filtered.left) > 500
    assert np.array_equal(filtered.left, planned.left) and np.array_equal(filtered.right, planned.right)


def test_reasons_json_is_what_the_reasons_of_each_match_give(kept: tuple[list[int], list[str]]) -> None:
    import json

    from pearl.dataquality.services.duplicates import reason_rows

    ids, texts = kept
    # Values JSON must escape (the normalisers would clean them away): put them in kept features.
    first = scan_batch(_as_strings(ids, texts), CONFIG)
    texts = list(texts)
    for row in (int(first.left[0]), int(first.right[0])):
        features = unstored(str(ids[row]), texts[row], CONFIG) or {}
        texts[row] = stored({**features, "cfull": 'x"y\\z', "addr": "路\t1号"}, CONFIG)
    for batch in (_as_strings(ids, texts), _encoded(ids, texts)):
        result = scan_batch(batch, CONFIG)
        expected = [json.dumps(reason_rows(m.reasons), ensure_ascii=False) for m in result]
        assert any('\\"' in e and "\\\\" in e and "\\t" in e and "路" in e for e in expected)
        assert list(result.reasons_json()) == expected
        assert list(result.reasons_json(7, 40)) == expected[7:40]


def test_a_configuration_without_table_keys_gets_its_keys_row_by_row() -> None:
    from pearl.dataquality.matching import febrl_config

    config = febrl_config()
    rows = [
        {"id": "a", "given_name": "john", "surname": "smith", "postcode": "2000", "soc_sec_id": "1234567"},
        {"id": "b", "given_name": "jon", "surname": "smith", "postcode": "2000", "soc_sec_id": "1234567"},
        {"id": "c", "given_name": "mary", "surname": "jones", "postcode": "3000", "soc_sec_id": "7654321"},
    ]
    features = [config.featurize(r) for r in rows]
    reader = StoredReader(config)
    reader.add([1, 2, 3], [stored(f, config) for f in features])
    slow, fast = scan_batch(from_features(features, config), config), scan_batch(reader.result(), config)
    assert len(slow) == 1 and [(m.score, m.reasons) for m in slow] == [(m.score, m.reasons) for m in fast]


def test_the_queue_written_with_reasons_made_by_workers_is_the_same(org: Org, monkeypatch: pytest.MonkeyPatch) -> None:
    from pearl.customers.tests.factories import make_dupe
    from pearl.dataquality.models import DuplicatePair, PairStatus
    from pearl.dataquality.services import duplicates

    make_dupe(org.owner, name="广州鑫海海鲜酒楼有限公司", address="广州市天河区天河路100号")
    make_dupe(org.owner, name="鑫海酒楼", city="广州市", address="天河区天河路100号")
    make_dupe(org.owner, name="鑫海海鲜酒楼", city="广州", address="广州天河路100号")
    make_dupe(org.owner, name="金湾贸易有限公司", city="深圳市", address="南山区科技路8号")
    make_dupe(org.owner, name="金湾贸易", city="深圳市", contacts=[{"name": "陈静"}])
    monkeypatch.setattr(duplicates, "SLICE", 1)

    def queue() -> list[tuple[object, ...]]:
        return sorted(DuplicatePair.objects.values_list("left_id", "right_id", "score", "band", "reasons", "status"))

    assert duplicates.duplicates_scan(actor=org.owner).new == 4
    one = queue()
    DuplicatePair.objects.all().delete()
    assert duplicates.duplicates_scan(actor=org.owner, workers=2).new == 4
    assert queue() == one
    # Found again by workers: scores and reasons refreshed in place, a merged pair reopened.
    DuplicatePair.objects.filter(pk=DuplicatePair.objects.first().pk).update(  # type: ignore[union-attr]
        status=PairStatus.MERGED, score=0, reasons=[]
    )
    assert duplicates.duplicates_scan(actor=org.owner, workers=2).new == 0
    assert queue() == one
