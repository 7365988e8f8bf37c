from __future__ import annotations

import pytest

from pearl.core.context import Channel, acting_through
from pearl.core.errors import Conflict, NotFound, PermissionDenied, PreconditionFailed, ValidationFailed
from pearl.core.models import ChangeLog
from pearl.customers.choices import ChoiceList
from pearl.customers.models import ChoiceOption, Contact, Customer, CustomerSearchToken, Identity, Tag
from pearl.customers.services import (
    contact_create,
    contact_delete,
    contact_update,
    custom_field_create,
    custom_field_delete,
    customer_create,
    customer_delete,
    customer_update,
    tag_create,
)
from pearl.customers.tests.factories import make_customer, mobile


def _history(customer: Customer) -> list[ChangeLog]:
    return list(ChangeLog.objects.filter(root_type="customers.customer", root_id=customer.pk).order_by("id"))


def test_create_with_contacts_writes_everything_in_step(org) -> None:
    kind = ChoiceOption.objects.get(list_name=ChoiceList.CUSTOMER_TYPE, label="餐饮")
    boss = ChoiceOption.objects.get(list_name=ChoiceList.POSITION, label="老板")
    with acting_through(Channel.PAGE):
        customer = customer_create(
            actor=org.owner,
            data={"name": "广州鑫海海鲜酒楼有限公司", "short_name": "鑫海酒楼", "customer_type": kind.pk, "grade": "a"},
            contacts=[
                {"name": "张伟", "mobile": "138-0013-8000", "position": boss.pk, "wechat": "zw_8000"},
                {"name": "李娜", "email": "LiNa@Example.com"},
            ],
        )
    assert customer.owner == org.owner and customer.team == org.team_a  # follows the owner's team
    assert customer.grade == "A" and customer.version == 1
    contacts = list(customer.contacts.order_by("id"))
    assert [c.is_primary for c in contacts] == [True, False]
    assert contacts[0].mobile == "13800138000" and contacts[1].email == "lina@example.com"
    assert set(Identity.objects.filter(customer=customer).values_list("kind", "value")) == {
        ("mobile", "13800138000"),
        ("wechat", "zw_8000"),
        ("email", "lina@example.com"),
    }
    assert CustomerSearchToken.objects.filter(customer=customer, token="t8000").exists()
    history = _history(customer)
    assert [(h.action, h.object_type, h.channel) for h in history] == [
        ("create", "customers.contact", "page"),
        ("create", "customers.contact", "page"),
        ("create", "customers.customer", "page"),
    ]
    assert history[-1].changes["name"] == [None, "广州鑫海海鲜酒楼有限公司"]


def test_create_is_all_or_nothing_when_a_contact_is_bad(org) -> None:
    with pytest.raises(ValidationFailed) as info:
        customer_create(
            actor=org.owner,
            data={"name": "佛山顺德渔港有限公司"},
            contacts=[{"name": "王五", "mobile": "13800138001"}, {"name": "赵六", "mobile": "12345"}],
        )
    assert "contacts.1.mobile" in info.value.field_errors
    assert not Customer.objects.exists() and not Contact.objects.exists() and not Identity.objects.exists()
    assert not ChangeLog.objects.exists()


def test_duplicate_legal_name_is_refused_with_a_link(org) -> None:
    first = make_customer(org.owner, name="广州鑫海（海鲜）有限公司")
    with pytest.raises(ValidationFailed) as info:
        make_customer(org.outsider, name="广州 鑫海(海鲜)有限责任公司")
    assert info.value.extra["existing"] == first.pk
    assert info.value.extra["existing_url"] == f"/customers/{first.pk}/"
    assert "广州鑫海（海鲜）有限公司" in str(info.value.message)
    # Two individuals may share a name.
    make_customer(org.owner, name="张伟", kind="individual")
    make_customer(org.owner, name="张伟", kind="individual")


def test_identity_held_by_another_customer_is_refused_naming_it(org) -> None:
    holder = make_customer(org.owner, name="深圳蓝湾海鲜有限公司", contacts=[{"name": "甲", "mobile": mobile(1)}])
    with pytest.raises(Conflict) as info:
        make_customer(org.manager, contacts=[{"name": "乙", "mobile": mobile(1)}])  # the manager sees the holder
    assert "深圳蓝湾海鲜有限公司" in str(info.value.message) and info.value.extra["customer"] == holder.pk
    with pytest.raises(Conflict) as info:
        make_customer(org.teammate, contacts=[{"name": "乙", "mobile": mobile(1)}])  # own customers only
    assert "深圳蓝湾海鲜有限公司" not in str(info.value.message) and "owner" in str(info.value.message)
    assert Customer.objects.count() == 1


def test_required_fields_and_bad_values_name_each_field(org) -> None:
    with pytest.raises(ValidationFailed) as info:
        customer_create(
            actor=org.owner,
            data={"name": "", "kind": "robot", "grade": "Z", "customer_type": 99999, "bogus": 1, "tags": "x"},
        )
    assert set(info.value.field_errors) >= {"name", "kind", "grade", "customer_type", "bogus", "tags"}


def test_sales_may_not_assign_customers_to_others(org) -> None:
    with pytest.raises(ValidationFailed) as info:
        customer_create(actor=org.owner, data={"name": "东莞金湾水产有限公司", "owner": org.teammate.pk})
    assert "owner" in info.value.field_errors
    customer = customer_create(actor=org.manager, data={"name": "东莞金湾水产有限公司", "owner": org.teammate.pk})
    assert customer.owner == org.teammate and customer.team == org.team_a


def test_roles_without_the_action_are_denied(org) -> None:
    customer = make_customer(org.owner)
    with pytest.raises(PermissionDenied):
        customer_create(actor=org.service, data={"name": "某某有限公司"})
    with pytest.raises(PermissionDenied):
        customer_delete(actor=org.owner, customer_id=customer.pk)
    with pytest.raises(PermissionDenied):
        customer_update(actor=org.finance, customer_id=customer.pk, data={"grade": "B"})


def test_out_of_scope_writes_are_not_found(org) -> None:
    customer = make_customer(org.owner)
    with pytest.raises(NotFound):
        customer_update(actor=org.outsider, customer_id=customer.pk, data={"grade": "B"})
    with pytest.raises(NotFound):
        contact_create(actor=org.outsider, customer_id=customer.pk, data={"name": "x"})
    # The service role sees its team's customers and may edit them.
    assert customer_update(actor=org.service, customer_id=customer.pk, data={"grade": "B"}).grade == "B"


def test_update_logs_field_diffs_bumps_version_and_refuses_stale(org) -> None:
    tag = tag_create(actor=org.admin, data={"name": "重点客户", "color": "#FF0000"})
    customer = make_customer(org.owner, grade="C")
    updated = customer_update(
        actor=org.owner, customer_id=customer.pk, data={"grade": "A", "tags": [tag.pk]}, expected_version=1
    )
    assert updated.version == 2
    last = _history(customer)[-1]
    assert last.action == "update" and last.changes == {"grade": ["C", "A"], "tags": [[], ["重点客户"]]}
    with pytest.raises(PreconditionFailed):
        customer_update(actor=org.owner, customer_id=customer.pk, data={"grade": "B"}, expected_version=1)
    # Saving the same values writes nothing and keeps the version.
    same = customer_update(actor=org.owner, customer_id=customer.pk, data={"grade": "A"})
    assert same.version == 2 and len(_history(customer)) == 2


def test_status_follows_its_transition_map(org) -> None:
    customer = make_customer(org.owner)
    customer_update(actor=org.owner, customer_id=customer.pk, data={"status": "closed"})
    with pytest.raises(ValidationFailed) as info:
        customer_update(actor=org.owner, customer_id=customer.pk, data={"status": "active"})
    assert "status" in info.value.field_errors
    assert customer_update(actor=org.owner, customer_id=customer.pk, data={"status": "prospect"}).status == "prospect"


def test_renaming_reindexes_search(org) -> None:
    customer = make_customer(org.owner, name="广州鑫海海鲜酒楼有限公司")
    customer_update(actor=org.owner, customer_id=customer.pk, data={"name": "广州蓝湾渔港有限公司"})
    tokens = set(CustomerSearchToken.objects.filter(customer=customer).values_list("token", flat=True))
    assert "n蓝湾" in tokens and "n鑫海" not in tokens
    assert Customer.objects.get(pk=customer.pk).name_pinyin.startswith("guangzhoulanwan")


def test_contact_changes_keep_identities_primary_and_version(org) -> None:
    customer = make_customer(org.owner, contacts=[{"name": "甲", "mobile": mobile(2)}])
    second = contact_create(actor=org.owner, customer_id=customer.pk, data={"name": "乙", "is_primary": True})
    first = customer.contacts.get(name="甲")
    assert not first.is_primary and second.is_primary
    contact_update(actor=org.owner, contact_id=first.pk, data={"mobile": mobile(3)})
    assert set(Identity.objects.filter(customer=customer).values_list("value", flat=True)) == {mobile(3)}
    assert Customer.objects.get(pk=customer.pk).version == 3
    with pytest.raises(PreconditionFailed):
        contact_update(actor=org.owner, contact_id=first.pk, data={"name": "丙"}, expected_version=1)
    contact_delete(actor=org.owner, contact_id=second.pk)
    assert Contact.objects.get(pk=first.pk).is_primary
    assert [h.action for h in _history(customer)][-2:] == ["update", "delete"]


def test_contact_mobile_taken_elsewhere_rolls_back_the_change(org) -> None:
    make_customer(org.teammate, contacts=[{"name": "甲", "mobile": mobile(5)}])
    customer = make_customer(org.owner, contacts=[{"name": "乙", "mobile": mobile(6)}])
    contact = customer.contacts.get()
    with pytest.raises(Conflict):
        contact_update(actor=org.owner, contact_id=contact.pk, data={"mobile": mobile(5)})
    assert Contact.objects.get(pk=contact.pk).mobile == mobile(6)


def test_delete_logs_and_removes_identities(org) -> None:
    customer = make_customer(org.owner, contacts=[{"name": "甲", "mobile": mobile(7)}])
    customer_delete(actor=org.manager, customer_id=customer.pk)
    assert not Customer.objects.filter(pk=customer.pk).exists()
    assert not Identity.objects.exists() and not CustomerSearchToken.objects.exists()
    actions = [h.action for h in _history(customer)]
    assert actions[-2:] == ["delete", "delete"]


def test_custom_fields_validated_on_every_write(org) -> None:
    custom_field_create(
        actor=org.admin,
        data={
            "object_type": "customer",
            "key": "volume",
            "label": "月采购量",
            "field_type": "decimal",
            "required": True,
        },
    )
    custom_field_create(
        actor=org.admin,
        data={
            "object_type": "customer",
            "key": "cats",
            "label": "主营品类",
            "field_type": "multi_choice",
            "choices": "虾\n蟹\n贝类",
        },
    )
    custom_field_create(
        actor=org.admin,
        data={
            "object_type": "contact",
            "key": "birthday",
            "label": "生日",
            "field_type": "date",
        },
    )
    with pytest.raises(ValidationFailed) as info:
        make_customer(org.owner)
    assert "cf_volume" in info.value.field_errors
    with pytest.raises(ValidationFailed) as info:
        make_customer(org.owner, custom_fields={"volume": "lots", "cats": ["鱼"]})
    assert set(info.value.field_errors) == {"cf_volume", "cf_cats"}
    with pytest.raises(ValidationFailed) as info:
        make_customer(
            org.owner, custom_fields={"volume": "120.5"}, contacts=[{"name": "甲", "custom_fields": {"birthday": "x"}}]
        )
    assert "contacts.0.cf_birthday" in info.value.field_errors
    customer = make_customer(org.owner, custom_fields={"volume": "120.5", "cats": ["蟹", "虾"]})
    assert customer.custom_fields == {"volume": "120.5", "cats": ["虾", "蟹"]}
    with pytest.raises(Conflict):
        custom_field_delete(actor=org.admin, field=customer_field("cats"))


def customer_field(key: str):
    from pearl.customers.models import CustomFieldDefinition

    return CustomFieldDefinition.objects.get(key=key)


def test_settings_writes_need_manage_settings(org) -> None:
    with pytest.raises(PermissionDenied):
        tag_create(actor=org.owner, data={"name": "x"})
    with pytest.raises(ValidationFailed) as info:
        tag_create(actor=org.admin, data={"name": "x", "color": "red"})
    assert "color" in info.value.field_errors
    assert not Tag.objects.exists()


def test_deleting_a_tag_lands_in_each_customers_history(org) -> None:
    from pearl.customers.services import tag_delete

    tag = tag_create(actor=org.admin, data={"name": "账期客户"})
    customer = make_customer(org.owner, tags=[tag.pk])
    tag_delete(actor=org.admin, tag=tag)
    last = _history(customer)[-1]
    assert last.changes == {"tags": [["账期客户"], []]} and last.actor == org.admin
    assert Customer.objects.get(pk=customer.pk).version == 2
