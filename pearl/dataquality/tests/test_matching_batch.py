"""The batch path (columns, workers, block filters) gives what the one-record path gives."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

from benchmarks.chinese_customers import generate
from pearl.dataquality.matching import Record, blocking_keys, chinese_config, compare, prepare, scan
from pearl.dataquality.matching.blocking import candidate_pairs
from pearl.dataquality.matching.columns import one_by_one
from pearl.dataquality.matching.scan import featurize_all

CONFIG = chinese_config()
SCAN = importlib.import_module("pearl.dataquality.matching.scan")  # the package exports a function of that name

# Shapes the generator does not make: missing and None fields, repeats, long keys, brackets, landlines.
ODD = [
    Record("o1", name="", short_name="鑫海", mobiles=("13800138000", "138 0013 8000", ""), contact_names=("", "陈伟")),
    Record("o2", name=None, short_name=None, address=None, city=None, mobiles=(None,), emails=(None,)),  # type: ignore[arg-type]
    Record("o3", kind="individual", name="歐陽娜娜", contact_names=("欧阳娜娜", "歐陽娜娜"), wechats=("WX 1", "wx1")),
    Record("o4", name="永辉超市（五一店）", city="福州", emails=("a-very-long-mailbox-name-for-testing@example.com",)),
    Record("o5", name="广州市鑫海水产有限公司", mobiles=("020-8888 1234", "1.38001380000E10"), address="天河路385号"),
    Record("o6", kind="individual", name="", address="广东省广州市天河区体育西路1号", emails=("x@y.cn",) * 6),
]  # fmt: skip


@pytest.fixture(scope="module")
def records() -> list[Record]:
    return generate(800, seed=5).records + ODD


def test_batch_features_and_keys_equal_the_one_record_path(records: list[Record]) -> None:
    batch = CONFIG.featurize_batch(records)  # type: ignore[misc]
    assert list(batch.ids) == [r.id for r in records]
    for i, record in enumerate(records):
        prepared = prepare(record, CONFIG)
        features = prepared.features
        expected = {
            name: tuple(features.get(name) or ())[:4] if kind == "many" else features.get(name) or ""
            for name, kind in CONFIG.features.items()
        }
        assert batch.row(i) == expected, record
        assert batch.keys_of(i) == blocking_keys(prepared), record


def test_batch_columns_equal_record_by_record_columns(records: list[Record]) -> None:
    batch, slow = CONFIG.featurize_batch(records), one_by_one(records, CONFIG)  # type: ignore[misc]
    for name in CONFIG.features:
        assert np.array_equal(batch.columns[name], slow.columns[name]), name
    assert sorted(zip(batch.key_rows, batch.key_values, strict=True)) == sorted(
        zip(slow.key_rows, slow.key_values, strict=True)
    )


def test_workers_give_the_same_batch(records: list[Record], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(SCAN, "MIN_PARALLEL", 100)
    one, two = featurize_all(records, CONFIG), featurize_all(records, CONFIG, workers=2)
    assert all(np.array_equal(one.columns[n], two.columns[n]) for n in CONFIG.features)
    # Keys come family by family within each slice: the same set, in another order.
    assert sorted(zip(one.key_rows, one.key_values, strict=True)) == sorted(
        zip(two.key_rows, two.key_values, strict=True)
    )


def test_parallel_scan_equals_serial_scan(records: list[Record], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(SCAN, "MIN_PARALLEL", 100)
    monkeypatch.setattr(SCAN, "SLICE", 500)
    serial, parallel = scan(records, CONFIG), scan(records, CONFIG, workers=2)
    assert len(serial) > 100
    assert serial.frame().equals(parallel.frame())
    assert np.array_equal(serial.outcomes, parallel.outcomes)


def test_block_filters_drop_only_pairs_that_cannot_be_duplicates(records: list[Record]) -> None:
    """Without the filters the scan compares more pairs, and finds no more duplicate-band pairs."""
    filtered = scan(records, CONFIG)
    unfiltered = scan(records, CONFIG.__class__(**{**CONFIG.__dict__, "block_filters": {}}))
    assert unfiltered.stats["candidates"] > filtered.stats["candidates"]
    duplicates = {(m.left, m.right) for m in filtered if m.band == "duplicate"}
    assert duplicates == {(m.left, m.right) for m in unfiltered if m.band == "duplicate"}
    # A pair sharing only the name core is compared when one side lacks the city, not across cities.
    a = Record("a", name="鑫海水产", city="广州", contact_names=("陈伟",))
    b = Record("b", name="鑫海水产有限公司", contact_names=("陈伟",))
    c = Record("c", name="鑫海水产", city="深圳", contact_names=("陈伟",))
    assert {(m.left, m.right) for m in scan([a, b, c], CONFIG)} == {("a", "b"), ("b", "c")}
    assert compare(prepare(a, CONFIG), prepare(c, CONFIG), CONFIG).band is None


def test_candidate_pairs_never_pair_a_row_with_itself() -> None:
    rows = np.array([0, 0, 1, 2, 2], dtype=np.int64)
    pairs = candidate_pairs(rows, ["k", "k", "k", "j", "j"], 3)
    assert list(zip(pairs.left, pairs.right, strict=True)) == [(0, 1)]
