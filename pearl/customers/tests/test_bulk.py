"""customer_bulk_upsert: the write path of spreadsheet imports."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import translation

from pearl.core.context import Channel, acting_through
from pearl.core.errors import PermissionDenied
from pearl.core.models import ChangeLog
from pearl.core.testing.personas import Org
from pearl.customers.choices import ChoiceList, CustomFieldType
from pearl.customers.models import ChoiceOption, Contact, Customer, CustomerSearchToken, Identity, Tag
from pearl.customers.search import search_filter
from pearl.customers.services import custom_field_create
from pearl.customers.services.bulk import BulkState, Outcome, customer_bulk_upsert
from pearl.customers.tests.factories import make_customer


@pytest.fixture(autouse=True)
def _english() -> Any:
    with translation.override("en"):
        yield


def _rows() -> list[dict[str, Any]]:
    return [
        {"row": 2, "name": "广州鑫海海鲜酒楼有限公司", "contact_name": "陈伟", "mobile": "138 0013 8000", "tags": ""},
        {"row": 3, "name": "深圳蓝湾贸易有限公司", "contact_name": "李娜", "mobile": "13900139000", "grade": "a"},
        {"row": 4, "name": "佛山渔人码头", "mobile": "13700137000.0", "email": "BOSS@example.com"},
    ]


def _upsert(actor: Any, rows: list[dict[str, Any]], **kw: Any) -> Any:
    kw.setdefault("key", "mobile")
    kw.setdefault("rule", "fill_empty")
    return customer_bulk_upsert(actor=actor, rows=rows, **kw)  # type: ignore[arg-type]


def test_creates_customers_with_contacts_identities_tokens_and_history(org: Org) -> None:
    with acting_through(Channel.IMPORT):
        result = _upsert(org.owner, _rows())
    assert result.counts["created"] == 3, result.rows
    c = Customer.objects.get(name="深圳蓝湾贸易有限公司")
    assert c.owner == org.owner and c.team == org.team_a and c.grade == "A"
    assert Contact.objects.get(customer=c).mobile == "13900139000"
    assert Identity.objects.filter(kind="mobile", value="13700137000").exists()  # Excel-mangled mobile
    assert Identity.objects.filter(kind="email", value="boss@example.com").exists()
    assert CustomerSearchToken.objects.filter(customer=c).count() > 5
    assert Customer.objects.filter(search_filter("蓝湾")).get() == c
    assert Customer.objects.filter(search_filter("13900139000")).get() == c
    logs = ChangeLog.objects.filter(root_id=c.pk, root_type="customers.customer")
    assert {log.object_type for log in logs} == {"customers.customer", "customers.contact"}
    assert {log.channel for log in logs} == {"import"}
    assert logs.get(object_type="customers.customer").changes["name"] == [None, "深圳蓝湾贸易有限公司"]


def test_second_import_changes_nothing(org: Org) -> None:
    _upsert(org.owner, _rows())
    logs, versions = ChangeLog.objects.count(), list(Customer.objects.values_list("version", flat=True))
    again = _upsert(org.owner, _rows())
    assert again.counts["unchanged"] == 3, again.rows
    assert ChangeLog.objects.count() == logs
    assert list(Customer.objects.values_list("version", flat=True)) == versions


@pytest.mark.parametrize("key", ["mobile", "email", "wechat", "external_id", "name"])
def test_each_key_finds_the_existing_customer(org: Org, key: str) -> None:
    existing = make_customer(
        org.owner,
        name="广州金湾酒楼",
        contacts=[{"name": "王五", "mobile": "13800138001", "email": "a@b.cn", "wechat": "wx_w"}],
    )
    Identity.objects.create(kind="external", value="ERP-7", customer=existing)
    row = {"row": 2, "name": "另一个名字" if key != "name" else "广州金湾酒楼", "grade": "B",
           "mobile": "13800138001", "email": "a@b.cn", "wechat": "wx_w", "external_id": "ERP-7"}  # fmt: skip
    result = _upsert(org.owner, [row], key=key)
    assert result.rows[0].outcome == Outcome.UPDATED and result.rows[0].customer_id == existing.pk
    existing.refresh_from_db()
    assert existing.grade == "B" and existing.name == "广州金湾酒楼"  # fill_empty keeps the name
    assert existing.version == 2


def test_fill_empty_versus_overwrite(org: Org) -> None:
    existing = make_customer(
        org.owner, name="广州东江酒楼", grade="C", contacts=[{"name": "赵六", "mobile": "13800138002"}]
    )
    row = {"row": 2, "name": "广州东江酒楼", "grade": "A", "city": "广州市", "mobile": "13800138002"}
    assert _upsert(org.owner, [row]).rows[0].outcome == Outcome.UPDATED
    existing.refresh_from_db()
    assert (existing.grade, existing.city) == ("C", "广州市")
    assert _upsert(org.owner, [row], rule="overwrite").rows[0].outcome == Outcome.UPDATED
    existing.refresh_from_db()
    assert existing.grade == "A"
    change = ChangeLog.objects.filter(object_id=existing.pk, action="update").first()
    assert change is not None and change.changes["grade"] == ["C", "A"]


def test_duplicates_in_the_file_and_across_batches(org: Org) -> None:
    state = BulkState()
    later_rows = [{"row": 5, "name": "另一家", "mobile": "13800138000"}, {"row": 6, "name": "广州鑫海海鲜酒楼有限公司"}]
    rows = [*_rows(), *later_rows]
    result = _upsert(org.owner, rows, state=state)
    assert [r.outcome for r in result.rows[3:]] == [Outcome.DUPLICATE, Outcome.DUPLICATE]
    assert result.rows[3].duplicate_of == 2 and result.rows[4].duplicate_of == 2
    later = _upsert(org.owner, [{"row": 9, "name": "第三家", "mobile": "13900139000"}], state=state)
    assert later.rows[0].outcome == Outcome.DUPLICATE and later.rows[0].duplicate_of == 3
    assert Customer.objects.count() == 3


def test_invalid_rows_say_why_and_do_not_stop_the_others(org: Org) -> None:
    ChoiceOption.objects.get_or_create(list_name=ChoiceList.CUSTOMER_TYPE, label="餐饮")
    custom_field_create(actor=org.admin, data={"object_type": "customer", "key": "tables", "label": "桌数",
                                               "field_type": CustomFieldType.NUMBER})  # fmt: skip
    rows = [
        {"row": 2, "name": "甲", "customer_type": "火星"},
        {"row": 3, "name": "乙", "mobile": "12345"},
        {"row": 4, "name": "丙", "grade": "Z"},
        {"row": 5, "name": "丁", "owner": "nobody"},
        {"row": 6, "name": "戊", "custom_fields": {"tables": "很多"}},
        {"row": 7, "name": "己", "tags": "不存在的标签"},
        {"row": 8, "contact_name": "", "grade": "A"},
        {"row": 9, "name": "庚", "customer_type": "餐饮", "custom_fields": {"tables": "12"}},
        {"row": 10, "name": "辛", "errors": ["The cell shows the formula error #DIV/0!."]},
    ]
    result = _upsert(org.owner, rows)
    outcomes = [r.outcome for r in result.rows]
    assert outcomes == [Outcome.INVALID] * 7 + [Outcome.CREATED, Outcome.INVALID]
    text = [" ".join(r.messages) for r in result.rows]
    assert "餐饮" in text[0] and "火星" in text[0]  # lists what is allowed
    assert "11 digits" in text[1]
    assert "A, B or C" in text[2]
    assert "yourself" in text[3]  # a sales role may only own its own customers
    assert "whole number" in text[4]
    assert "不存在的标签" in text[5]
    assert "required" in text[6]
    assert Customer.objects.get(name="庚").custom_fields == {"tables": 12}


def test_identity_of_another_customer_refuses_the_row(org: Org) -> None:
    make_customer(org.owner, name="原来的客户", contacts=[{"name": "甲", "mobile": "13800138003"}])
    result = _upsert(org.owner, [{"row": 2, "name": "新客户", "email": "x@y.cn", "mobile": "13800138003"}], key="email")
    assert result.rows[0].outcome == Outcome.INVALID
    assert "原来的客户" in result.rows[0].messages[0]


def test_sales_user_cannot_update_a_customer_outside_their_scope(org: Org) -> None:
    theirs = make_customer(org.outsider, name="别人的客户", contacts=[{"name": "甲", "mobile": "13800138004"}])
    result = _upsert(org.owner, [{"row": 2, "name": "别人的客户", "grade": "A", "mobile": "13800138004"}])
    assert result.rows[0].outcome == Outcome.INVALID
    assert "not visible to you" in result.rows[0].messages[0]
    theirs.refresh_from_db()
    assert theirs.grade == ""


def test_roles_without_create_or_edit(org: Org) -> None:
    with pytest.raises(PermissionDenied):
        _upsert(org.finance, _rows())
    mine = make_customer(org.owner, name="服务组的客户", contacts=[{"name": "甲", "mobile": "13800138005"}])
    result = _upsert(org.service, [{"row": 2, "name": "新的", "mobile": "13800138006"},
                                   {"row": 3, "name": "服务组的客户", "grade": "B"}], key="name")  # fmt: skip
    assert result.rows[0].outcome == Outcome.INVALID and "create" in result.rows[0].messages[0]
    assert result.rows[1].outcome == Outcome.UPDATED and result.rows[1].customer_id == mine.pk


def test_dry_run_writes_nothing_but_predicts(org: Org) -> None:
    make_customer(org.owner, name="广州鑫海海鲜酒楼有限公司")
    result = _upsert(org.owner, _rows(), dry_run=True)
    assert result.counts["created"] == 2 and result.counts["updated"] == 1
    assert Customer.objects.count() == 1 and Contact.objects.count() == 0


def test_admin_import_creates_unknown_tags_and_adds_to_existing(org: Org) -> None:
    Tag.objects.create(name="VIP")
    result = _upsert(org.admin, [{"row": 2, "name": "甲公司", "tags": "vip，新客户"}])
    assert result.rows[0].outcome == Outcome.CREATED
    customer = Customer.objects.get(name="甲公司")
    assert sorted(t.name for t in customer.tags.all()) == ["VIP", "新客户"]


def test_people_named_after_their_contact(org: Org) -> None:
    result = _upsert(org.owner, [{"row": 2, "contact_name": "张三", "mobile": "13800138007"}])
    assert result.rows[0].outcome == Outcome.CREATED
    person = Customer.objects.get(pk=result.rows[0].customer_id)
    assert (person.name, person.kind) == ("张三", "individual")


def test_rows_clashing_with_unseen_customers_name_the_owner_in_a_fixed_number_of_queries(org: Org) -> None:
    """The holders of a batch's clashing phones, and which the importer may see, are read once per batch."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for i in range(4):
        make_customer(org.owner, name=f"佛山{i}号冻品有限公司", contacts=[{"name": "甲", "mobile": f"1390000000{i}"}])

    def dry(count: int) -> tuple[Any, int]:
        rows = [{"row": 2 + i, "name": f"新客户{i}", "mobile": f"1390000000{i}"} for i in range(count)]
        with translation.override("en"), CaptureQueriesContext(connection) as queries:
            result = _upsert(org.outsider, rows, key="external_id", dry_run=True)  # the phone is not the key
        return result, len(queries)

    one, queries_one = dry(1)
    assert one.rows[0].outcome == Outcome.INVALID
    four, queries_four = dry(4)
    assert [r.outcome for r in four.rows] == [Outcome.INVALID] * 4
    assert "a customer of owner, outside what you can see" in four.rows[3].messages[0]
    assert "佛山" not in " ".join(m for r in four.rows for m in r.messages)
    assert queries_four == queries_one
