from __future__ import annotations

import pytest

from pearl.core.errors import NotFound, ValidationFailed
from pearl.customers.selectors import contact_get, contact_list, customer_get, customer_history, customer_list
from pearl.customers.services import custom_field_create, customer_update, tag_create
from pearl.customers.tests.factories import make_customer, mobile


@pytest.fixture
def book(org):
    """One customer per seller: owner and teammate in 一组, outsider in 二组."""
    return {
        "owner": make_customer(
            org.owner, name="广州鑫海海鲜酒楼有限公司", contacts=[{"name": "张伟", "mobile": mobile(1)}]
        ),
        "teammate": make_customer(org.teammate, name="广州金湾水产批发有限公司"),
        "outsider": make_customer(org.outsider, name="佛山顺德渔港酒家有限公司"),
    }


def _names(actor, **filters) -> set[str]:
    return {c.name for c in customer_list(actor=actor, filters=filters)}


def test_each_scope_sees_exactly_its_customers(org, book) -> None:
    everyone = {c.name for c in book.values()}
    assert _names(org.owner) == {book["owner"].name}
    assert _names(org.outsider) == {book["outsider"].name}
    assert _names(org.service) == {book["owner"].name, book["teammate"].name}  # team scope
    assert _names(org.manager) == everyone  # region subtree holds both teams
    assert _names(org.admin) == everyone
    assert _names(org.finance) == everyone


def test_out_of_scope_detail_history_and_contacts_are_not_found(org, book) -> None:
    customer = book["owner"]
    contact = customer.contacts.get()
    for call in (
        lambda: customer_get(actor=org.outsider, customer_id=customer.pk),
        lambda: customer_history(actor=org.outsider, customer_id=customer.pk),
        lambda: contact_get(actor=org.outsider, contact_id=contact.pk),
    ):
        with pytest.raises(NotFound):
            call()
    assert list(contact_list(actor=org.outsider)) == []
    assert customer_get(actor=org.manager, customer_id=customer.pk) == customer


def test_inactive_user_sees_nothing(org, book) -> None:
    org.admin.is_active = False
    assert _names(org.admin) == set()


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("海鲜", {"owner"}),
        ("hxjl", {"owner"}),
        ("haixian", {"owner"}),
        ("zhangwei", {"owner"}),
        ("张伟", {"owner"}),
        (mobile(1)[-4:], {"owner"}),
        (mobile(1), {"owner"}),
        ("广州", {"owner", "teammate"}),
        ("gz", {"owner", "teammate"}),
        ("渔港", {"outsider"}),
        ("海鲜水产", set()),
    ],
)
def test_search_kinds(org, book, q: str, expected: set[str]) -> None:
    assert _names(org.admin, q=q) == {book[k].name for k in expected}


def test_search_respects_scope(org, book) -> None:
    assert _names(org.outsider, q="广州") == set()


def test_filters_and_ordering(org, book) -> None:
    tag = tag_create(actor=org.admin, data={"name": "重点客户"})
    customer_update(actor=org.admin, customer_id=book["teammate"].pk, data={"grade": "A", "tags": [tag.pk]})
    assert _names(org.admin, grade="A") == {book["teammate"].name}
    assert _names(org.admin, tag=str(tag.pk)) == {book["teammate"].name}
    assert _names(org.owner, owner="me") == {book["owner"].name}
    assert _names(org.admin, team=str(org.team_b.pk)) == {book["outsider"].name}
    ordered = [c.name for c in customer_list(actor=org.admin, filters={"ordering": "name"})]
    # By pinyin: foshan… < guangzhoujinwan… < guangzhouxinhai…
    assert ordered == [book["outsider"].name, book["teammate"].name, book["owner"].name]


def test_custom_field_filters_including_multi_choice(org) -> None:
    custom_field_create(
        actor=org.admin,
        data={
            "object_type": "customer",
            "key": "cats",
            "label": "主营品类",
            "field_type": "multi_choice",
            "choices": "虾\n蟹",
        },
    )
    custom_field_create(
        actor=org.admin,
        data={
            "object_type": "customer",
            "key": "invoice",
            "label": "是否开票",
            "field_type": "boolean",
        },
    )
    a = make_customer(org.owner, custom_fields={"cats": ["虾", "蟹"], "invoice": True})
    b = make_customer(org.owner, custom_fields={"cats": ["蟹"], "invoice": False})
    assert _names(org.admin, cf_cats="虾") == {a.name}
    assert _names(org.admin, cf_cats="蟹") == {a.name, b.name}
    assert _names(org.admin, cf_invoice="是") == {a.name}
    assert _names(org.admin, cf_invoice="false") == {b.name}
    with pytest.raises(ValidationFailed) as info:
        customer_list(actor=org.admin, filters={"cf_cats": "鱼"})
    assert "cf_cats" in info.value.field_errors


def test_bad_filters_are_validation_errors(org) -> None:
    with pytest.raises(ValidationFailed) as info:
        customer_list(actor=org.admin, filters={"grade": "Z", "tag": "abc", "owner": "someone", "ordering": "x"})
    assert set(info.value.field_errors) == {"grade", "tag", "owner", "ordering"}
