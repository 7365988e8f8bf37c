"""The import's memory of earlier batches (bulk_state): first row wins, kinds apart, on disk."""

from __future__ import annotations

from pearl.customers.services.bulk_state import BulkState, Seen


def test_the_first_row_of_a_key_is_kept_and_kinds_stay_apart() -> None:
    with BulkState() as state:
        assert state.first_rows(Seen.KEY, ["13800138000"]) == {}  # nothing remembered yet
        state.remember(Seen.KEY, [("13800138000", 3), ("13900139000", 4)])
        state.remember(Seen.KEY, [("13800138000", 9)])  # a later row does not replace the first
        state.remember(Seen.NAME, [("鑫海酒楼", 5)])
        assert state.first_rows(Seen.KEY, ["13800138000", "13900139000", "鑫海酒楼", ""]) == {
            "13800138000": 3,
            "13900139000": 4,
        }
        assert state.first_rows(Seen.NAME, ["鑫海酒楼", "13800138000"]) == {"鑫海酒楼": 5}


def test_created_customers_are_remembered() -> None:
    with BulkState() as state:
        assert state.created_among([1, 2]) == set()
        state.add_created([2, 7])
        state.add_created(iter([11]))
        assert state.created_among([1, 2, 7, 11, 12]) == {2, 7, 11}


def test_many_keys_are_asked_in_one_go() -> None:
    with BulkState() as state:
        state.remember(Seen.IDENTITY, ((f"mobile:{13800000000 + i}", i) for i in range(50_000)))
        wanted = [f"mobile:{13800000000 + i}" for i in range(0, 60_000, 7)]
        found = state.first_rows(Seen.IDENTITY, wanted)
        assert len(found) == len(range(0, 50_000, 7)) and found["mobile:13800000007"] == 7
