"""Data migrations that rewrite stored rows, run against rows written the old way."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from pearl.customers.search import document

BEFORE = [("customers", "0004_merge")]
AFTER = [("customers", "0005_search_ranges")]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # later transactional tests restore the same data
def test_0005_rebuilds_every_customers_tokens() -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    customer = old.get_model("customers", "Customer").objects.create(
        name="广州鑫海海鲜酒楼有限公司", short_name="鑫海酒楼", name_normalized="广州鑫海海鲜酒楼有限公司"
    )
    old.get_model("customers", "Contact").objects.create(customer=customer, name="张伟", mobile="13800138000")
    tokens = old.get_model("customers", "CustomerSearchToken")
    # What the index held before: one-syllable and two-initial tokens among them.
    tokens.objects.bulk_create(tokens(token=t, customer_id=customer.pk) for t in ("phai", "ihx", "n鑫海"))

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(AFTER)
    new = executor.loader.project_state(AFTER).apps
    stored = set(
        new.get_model("customers", "CustomerSearchToken").objects.filter(customer_id=customer.pk)
        .values_list("token", flat=True)
    )
    expected, _blob, _pinyin = document(["广州鑫海海鲜酒楼有限公司", "鑫海酒楼", "张伟"], ["13800138000"])
    assert stored == expected
    assert "phai" not in stored and "ihx" not in stored and "jhaixian" in stored
    assert {"kgs_", "kjl_", "kzw_"} <= stored  # padded last windows: 有限公司, 鑫海酒楼, 张伟


@pytest.fixture(autouse=True)
def _back_to_the_latest_schema() -> Iterator[None]:
    """Leave every app migrated to its latest state for the tests that follow."""
    yield
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
