"""Customer pages: list / search / filters, create and edit, detail with contacts and history, delete, export."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from pearl.core import paging as page_common
from pearl.core.context import Channel, acting_through
from pearl.core.models import ChangeLog
from pearl.customers.choices import ChoiceList
from pearl.customers.models import ChoiceOption, Contact, Customer
from pearl.customers.services import (
    choice_option_update,
    contact_update,
    custom_field_create,
    customer_update,
    tag_create,
)
from pearl.customers.tests.factories import make_customer, mobile


def as_user(client: Any, user: Any) -> Any:
    client.force_login(user)
    return client


def hx(target: str = "") -> dict[str, str]:
    headers = {"HTTP_HX_REQUEST": "true"}
    if target:
        headers["HTTP_HX_TARGET"] = target
    return headers


def option(list_name: str, label: str) -> ChoiceOption:
    return ChoiceOption.objects.get(list_name=list_name, label=label)


def customer_form(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "kind": "company", "name": "广州鑫海海鲜酒楼有限公司", "short_name": "鑫海海鲜酒楼",
        "customer_type": option(ChoiceList.CUSTOMER_TYPE, "餐饮").pk, "industry": "", "source": "",
        "province": "广东省", "city": "广州市", "district": "天河区", "address": "天河路 1 号", "grade": "A",
        "status": "prospect", "contact_rows": ["0"], "contact-0-name": "张伟", "contact-0-mobile": "138-0013-8000",
        "contact-0-email": "", "contact-0-wechat": "zw_8000",
        "contact-0-position": option(ChoiceList.POSITION, "老板").pk,
    }
    data.update(overrides)
    return data


def edit_form(customer: Customer, **overrides: Any) -> dict[str, Any]:
    """What the edit page posts when the user changes only ``overrides``."""
    customer.refresh_from_db()
    data: dict[str, Any] = {
        "kind": customer.kind, "name": customer.name, "short_name": customer.short_name,
        "customer_type": customer.customer_type_id or "", "industry": customer.industry_id or "",
        "source": customer.source_id or "", "province": customer.province, "city": customer.city,
        "district": customer.district, "address": customer.address, "grade": customer.grade,
        "status": customer.status, "owner": customer.owner_id or "", "team": customer.team_id or "",
        "tags": [t.pk for t in customer.tags.all()], "version": customer.version,
    }
    data.update(overrides)
    return data


def section(html: str, marker: str) -> str:
    """The part of a page from ``marker`` up to the next fieldset/section, to tie an error to its row."""
    start = html.index(marker)
    ends = [i for i in (html.find("</fieldset>", start), html.find("</section>", start)) if i > 0]
    return html[start : min(ends)]


# --- every page: login, scope, permissions ---------------------------------------------------------

def _customer_pages(customer: Customer) -> list[str]:
    contact = customer.contacts.first()
    assert contact is not None
    return [
        reverse("customers:customer_detail", args=[customer.pk]),
        reverse("customers:customer_edit", args=[customer.pk]),
        reverse("customers:customer_history", args=[customer.pk]),
        reverse("customers:customer_delete", args=[customer.pk]),
        reverse("customers:contact_list", args=[customer.pk]),
        reverse("customers:contact_edit", args=[customer.pk, contact.pk]),
        reverse("customers:contact_delete", args=[customer.pk, contact.pk]),
    ]


def test_anonymous_is_sent_to_log_in_from_every_page(en, org) -> None:
    customer = make_customer(org.owner, contacts=[{"name": "张伟"}])
    urls = [
        reverse("customers:customer_list"), reverse("customers:customer_create"),
        reverse("customers:contact_row"), reverse("customers:customer_export"),
        *_customer_pages(customer),
    ]
    for url in urls:
        response = en.get(url)
        assert response.status_code == 302, url
        assert response.url.startswith(reverse("accounts:login")), url
    response = en.post(reverse("customers:customer_delete", args=[customer.pk]))
    assert response.status_code == 302 and Customer.objects.filter(pk=customer.pk).exists()


def test_outsider_gets_404_on_every_page_of_a_customer_and_changes_nothing(en, org) -> None:
    customer = make_customer(org.owner, contacts=[{"name": "张伟", "mobile": mobile(1)}])
    as_user(en, org.outsider)
    for url in _customer_pages(customer):
        assert en.get(url).status_code == 404, url
        assert en.get(url, **hx("contacts")).status_code == 404, url
    contact = customer.contacts.get()
    posts = [
        (reverse("customers:customer_edit", args=[customer.pk]), edit_form(customer, short_name="改名")),
        (reverse("customers:customer_delete", args=[customer.pk]), {"version": customer.version}),
        (reverse("customers:contact_create", args=[customer.pk]), {"new-name": "李娜"}),
        (reverse("customers:contact_edit", args=[customer.pk, contact.pk]), {f"c{contact.pk}-name": "改名"}),
        (reverse("customers:contact_delete", args=[customer.pk, contact.pk]), {"version": contact.version}),
    ]
    for url, data in posts:
        response = en.post(url, data)
        assert response.status_code == 404, url
        assert "广州" not in response.text  # nothing of the customer leaks into the page
    customer.refresh_from_db()
    assert customer.version == 1 and customer.contacts.get().name == "张伟"


def test_outsider_does_not_find_the_customer_in_list_search_or_export(en, org) -> None:
    make_customer(org.owner, short_name="鑫海海鲜酒楼", contacts=[{"name": "张伟", "mobile": mobile(7)}])
    as_user(en, org.outsider)
    for q in ("hxjl", "鑫海", mobile(7)[-4:], "张伟"):
        response = en.get(reverse("customers:customer_list"), {"q": q})
        assert response.status_code == 200 and "鑫海海鲜酒楼" not in response.text, q
        assert "0 customers" in response.text


def test_sales_cannot_delete_and_sees_no_delete_button(en, org) -> None:
    customer = make_customer(org.owner)
    as_user(en, org.owner)
    detail = en.get(reverse("customers:customer_detail", args=[customer.pk]))
    assert reverse("customers:customer_delete", args=[customer.pk]) not in detail.text
    assert reverse("customers:customer_edit", args=[customer.pk]) in detail.text
    url = reverse("customers:customer_delete", args=[customer.pk])
    assert en.get(url).status_code == 403
    response = en.post(url, {"version": customer.version})
    assert response.status_code == 403
    assert "Your role may not delete records." in response.text
    assert Customer.objects.filter(pk=customer.pk).exists()


def test_role_without_create_gets_403_on_the_create_page_and_no_button(en, org) -> None:
    as_user(en, org.service)  # service: edit only
    assert "New customer" not in en.get(reverse("customers:customer_list")).text
    assert en.get(reverse("customers:customer_create")).status_code == 403
    assert en.get(reverse("customers:contact_row")).status_code == 403
    response = en.post(reverse("customers:customer_create"), customer_form())
    assert response.status_code == 403 and not Customer.objects.exists()


def test_role_without_edit_gets_403_on_edit_pages(en, org) -> None:
    customer = make_customer(org.admin, contacts=[{"name": "张伟"}])
    contact = customer.contacts.get()
    as_user(en, org.finance)  # sees everything, may only export
    detail = en.get(reverse("customers:customer_detail", args=[customer.pk]))
    assert detail.status_code == 200 and "Add contact" not in detail.text
    assert en.get(reverse("customers:customer_edit", args=[customer.pk])).status_code == 403
    response = en.post(reverse("customers:customer_edit", args=[customer.pk]), edit_form(customer, grade="C"))
    assert response.status_code == 403
    assert en.post(reverse("customers:contact_create", args=[customer.pk]), {"new-name": "李娜"}).status_code == 403
    edit_url = reverse("customers:contact_edit", args=[customer.pk, contact.pk])
    assert en.get(edit_url).status_code == 403
    delete_url = reverse("customers:contact_delete", args=[customer.pk, contact.pk])
    assert en.post(delete_url, {"version": contact.version}).status_code == 403
    assert Contact.objects.filter(pk=contact.pk, name="张伟").exists() and customer.contacts.count() == 1


# --- list, search, filters, sorting, pagination ----------------------------------------------------

def test_list_shows_a_row_with_names_type_region_tags_owner_and_formatted_mobile(en, org) -> None:
    tag = tag_create(actor=org.admin, data={"name": "大客户", "color": "#c62f2f"})
    make_customer(
        org.owner, short_name="鑫海海鲜酒楼", customer_type=option(ChoiceList.CUSTOMER_TYPE, "餐饮").pk,
        province="广东省", city="广州市", district="天河区", grade="A", tags=[tag.pk],
        contacts=[{"name": "张伟", "mobile": "13800138000"}],
    )
    response = as_user(en, org.owner).get(reverse("customers:customer_list"))
    assert response.status_code == 200
    text = response.text
    for expected in ("鑫海海鲜酒楼", "海鲜酒楼", "餐饮", "广东省 广州市 天河区", "大客户", "background:#c62f2f",
                     "张伟", "138 0013 8000", "1 customer"):
        assert expected in text, expected
    assert 'data-label="Primary contact"' in text  # the phone layout labels every cell


def test_list_shows_only_the_actors_scope_with_exact_count(en, org) -> None:
    mine = [make_customer(org.owner) for _ in range(2)]
    theirs = make_customer(org.outsider)
    response = as_user(en, org.owner).get(reverse("customers:customer_list"))
    assert "2 customers" in response.text
    for customer in mine:
        assert reverse("customers:customer_detail", args=[customer.pk]) in response.text
    assert reverse("customers:customer_detail", args=[theirs.pk]) not in response.text


@pytest.mark.parametrize("q", ["hxjl", "海鲜酒楼", "haixian", "8000", "13800138000", "138 0013 8000", "张伟"])
def test_search_finds_by_name_pinyin_initials_phone_and_contact(en, org, q) -> None:
    target = make_customer(
        org.owner, name="广州鑫海海鲜酒楼有限公司", contacts=[{"name": "张伟", "mobile": "13800138000"}]
    )
    other = make_customer(org.owner, name="深圳金湾冻品贸易有限公司", contacts=[{"name": "李娜", "mobile": mobile(2)}])
    response = as_user(en, org.owner).get(reverse("customers:customer_list"), {"q": q})
    assert reverse("customers:customer_detail", args=[target.pk]) in response.text
    assert reverse("customers:customer_detail", args=[other.pk]) not in response.text


def test_search_through_htmx_returns_only_the_results_part(en, org) -> None:
    make_customer(org.owner, name="广州鑫海海鲜酒楼有限公司")
    response = as_user(en, org.owner).get(reverse("customers:customer_list"), {"q": "hxjl"}, **hx("results"))
    assert response.status_code == 200
    assert "<html" not in response.text and 'id="filters"' not in response.text
    assert "鑫海海鲜酒楼" in response.text and "1 customer" in response.text
    assert "HX-Request" in response["Vary"]
    # The same URL without htmx (or an htmx history restore) is the whole page.
    assert "<html" in en.get(reverse("customers:customer_list"), {"q": "hxjl"}).text
    restore = en.get(reverse("customers:customer_list"), {"q": "hxjl"}, HTTP_HX_HISTORY_RESTORE_REQUEST="true",
                     **hx("results"))
    assert "<html" in restore.text


def test_search_box_and_filters_are_wired_for_htmx(en, org) -> None:
    text = as_user(en, org.owner).get(reverse("customers:customer_list")).text
    assert 'hx-trigger="keyup changed delay:300ms' in text and 'hx-push-url="true"' in text
    assert 'hx-target="#results"' in text and 'name="q"' in text


def test_list_count_is_capped_for_common_words_and_broad_filters(en, org, settings) -> None:
    settings.PEARL_SEARCH_COUNT_CAP = 2
    for _ in range(3):
        make_customer(org.owner)  # every factory name holds 海鲜酒楼
    response = as_user(en, org.owner).get(reverse("customers:customer_list"), {"q": "海鲜"})
    assert "2+ customers" in response.text
    assert "2+ customers" in en.get(reverse("customers:customer_list")).text
    settings.PEARL_SEARCH_COUNT_CAP = 3
    assert "3 customers" in en.get(reverse("customers:customer_list")).text  # under the cap: exact


def test_filters_narrow_the_list(en, org) -> None:
    tag = tag_create(actor=org.admin, data={"name": "月结"})
    kind = option(ChoiceList.CUSTOMER_TYPE, "批发")
    a = make_customer(org.owner, grade="A", province="广东省", city="广州市", tags=[tag.pk], customer_type=kind.pk)
    b = make_customer(org.teammate, grade="B", province="福建省", city="厦门市", status="active")
    c = make_customer(org.outsider, grade="C", kind="individual", name="王小明")
    as_user(en, org.manager)

    def found(**filters: Any) -> set[int]:
        response = en.get(reverse("customers:customer_list"), filters)
        assert response.status_code == 200
        return {x.pk for x in (a, b, c) if reverse("customers:customer_detail", args=[x.pk]) in response.text}

    assert found() == {a.pk, b.pk, c.pk}
    assert found(grade="A") == {a.pk}
    assert found(province="福建省") == {b.pk}
    assert found(city="广州市") == {a.pk}
    assert found(tag=tag.pk) == {a.pk}
    assert found(customer_type=kind.pk) == {a.pk}
    assert found(status="active") == {b.pk}
    assert found(kind="individual") == {c.pk}
    assert found(owner=org.teammate.pk) == {b.pk}
    assert found(team=org.team_b.pk) == {c.pk}
    assert found(owner="me") == set()
    as_user(en, org.owner)
    assert found(owner="me") == {a.pk}


def test_custom_field_filter_and_select(en, org) -> None:
    custom_field_create(actor=org.admin, data={
        "object_type": "customer", "key": "payment", "label": "结算方式", "field_type": "choice",
        "choices": ["月结", "现结"],
    })
    monthly = make_customer(org.owner, custom_fields={"payment": "月结"})
    cash = make_customer(org.owner, custom_fields={"payment": "现结"})
    response = as_user(en, org.owner).get(reverse("customers:customer_list"), {"cf_payment": "月结"})
    assert reverse("customers:customer_detail", args=[monthly.pk]) in response.text
    assert reverse("customers:customer_detail", args=[cash.pk]) not in response.text
    assert "结算方式" in response.text and '<option value="现结"' in response.text


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"owner": "abc"}, "Owner: Owner is a user id or “me”."),
        ({"tag": "x"}, "Tag: Enter a whole number."),
        ({"grade": "Z"}, "Grade: Select a valid choice."),
        ({"ordering": "password"}, "Sort: Select a valid choice."),
        ({"page": "abc"}, "The page number must be a whole number from 1 up."),
    ],
)
def test_bad_filter_values_show_the_message_not_an_error_page(en, org, params, message) -> None:
    make_customer(org.owner)
    response = as_user(en, org.owner).get(reverse("customers:customer_list"), params)
    assert response.status_code == 200
    assert message in response.text


def test_sorting_by_pinyin_name(en, org) -> None:
    zhu = make_customer(org.owner, name="珠海渔人水产有限公司")  # zhu…
    ao = make_customer(org.owner, name="澳门金湾水产有限公司")  # ao…
    as_user(en, org.owner)
    text = en.get(reverse("customers:customer_list"), {"ordering": "name"}).text
    assert text.index("澳门金湾") < text.index("珠海渔人")
    text = en.get(reverse("customers:customer_list"), {"ordering": "-name"}).text
    assert text.index("珠海渔人") < text.index("澳门金湾")
    text = en.get(reverse("customers:customer_list")).text  # newest first by default
    assert text.index(reverse("customers:customer_detail", args=[ao.pk])) < text.index(
        reverse("customers:customer_detail", args=[zhu.pk])
    )


def test_pagination_keeps_filters_and_clamps_past_the_end(en, org, monkeypatch) -> None:
    monkeypatch.setattr(page_common, "PAGE_SIZE", 2)
    customers = [make_customer(org.owner, grade="A") for _ in range(5)]
    as_user(en, org.owner)
    first = en.get(reverse("customers:customer_list"), {"grade": "A"})
    assert "5 customers" in first.text and "Page 1 of 3" in first.text
    assert "?grade=A&amp;page=2" in first.text  # the next link keeps the filter
    last = en.get(reverse("customers:customer_list"), {"grade": "A", "page": "3"})
    assert "Page 3 of 3" in last.text
    assert reverse("customers:customer_detail", args=[customers[0].pk]) in last.text  # oldest on the last page
    beyond = en.get(reverse("customers:customer_list"), {"grade": "A", "page": "99"})
    assert "Page 3 of 3" in beyond.text


def test_page_size_is_25(en, org) -> None:
    assert page_common.PAGE_SIZE == 25
    for _ in range(26):
        make_customer(org.owner)
    text = as_user(en, org.owner).get(reverse("customers:customer_list")).text
    assert text.count('class="name-cell"') == 25 and "Page 1 of 2" in text


def test_list_query_count_does_not_grow_with_rows(en, org, django_assert_max_num_queries) -> None:
    tag = tag_create(actor=org.admin, data={"name": "大客户"})
    kind = option(ChoiceList.CUSTOMER_TYPE, "餐饮").pk

    def add(n: int) -> None:
        for i in range(n):
            make_customer(org.owner, tags=[tag.pk], customer_type=kind,
                          contacts=[{"name": f"联系人{i}", "mobile": mobile(100 + i + n * 10)}])

    as_user(en, org.owner)
    url = reverse("customers:customer_list")
    add(2)
    with CaptureQueriesContext(connection) as few:
        assert en.get(url).status_code == 200
    add(10)
    with CaptureQueriesContext(connection) as many:
        assert en.get(url).status_code == 200
    assert len(many) == len(few)
    with django_assert_max_num_queries(15):
        en.get(url, {"q": "海鲜", "grade": "A"})


# --- create ----------------------------------------------------------------------------------------

def test_create_page_has_one_contact_row_and_the_add_row_button(en, org) -> None:
    text = as_user(en, org.owner).get(reverse("customers:customer_create")).text
    assert 'name="contact-0-name"' in text and 'name="contact-1-name"' not in text
    assert reverse("customers:contact_row") + "?index=1" in text
    assert 'name="owner"' not in text and "You will be the owner" in text  # sales: own scope
    assert "老板" in text and "餐饮" in text  # position and type selects from the choice lists


def test_blank_contact_row_partial_for_htmx(en, org) -> None:
    response = as_user(en, org.owner).get(reverse("customers:contact_row"), {"index": "3"}, **hx())
    assert response.status_code == 200
    assert 'name="contact-3-name"' in response.text and 'value="3"' in response.text
    assert 'hx-swap-oob="true"' in response.text and "?index=4" in response.text


def test_create_with_a_contact_redirects_to_the_new_customer(en, org) -> None:
    response = as_user(en, org.owner).post(reverse("customers:customer_create"), customer_form())
    customer = Customer.objects.get()
    assert response.status_code == 302 and response.url == reverse("customers:customer_detail", args=[customer.pk])
    assert customer.owner == org.owner and customer.grade == "A" and customer.district == "天河区"
    contact = customer.contacts.get()
    assert contact.mobile == "13800138000" and contact.position == option(ChoiceList.POSITION, "老板")
    detail = en.get(response.url)
    assert "created" in detail.text and "138 0013 8000" in detail.text and "zw_8000" in detail.text
    log = ChangeLog.objects.get(object_type="customers.customer", root_id=customer.pk)
    assert log.channel == Channel.PAGE


def test_create_skips_blank_rows_and_ties_errors_to_their_row(en, org) -> None:
    data = customer_form(**{
        "contact_rows": ["0", "1", "2"], "contact-1-name": "", "contact-2-name": "李娜", "contact-2-mobile": "12345",
    })
    response = as_user(en, org.owner).post(reverse("customers:customer_create"), data)
    assert response.status_code == 422 and not Customer.objects.exists()
    row2 = section(response.text, 'id="contact-row-2"')
    assert "Enter a mainland mobile" in row2 and 'value="李娜"' in row2 and 'value="12345"' in row2
    assert "Enter a mainland mobile" not in section(response.text, 'id="contact-row-0"')
    data["contact-2-mobile"] = "020-87654321"
    assert en.post(reverse("customers:customer_create"), data).status_code == 302
    assert sorted(Customer.objects.get().contacts.values_list("name", flat=True)) == ["张伟", "李娜"]


def test_create_without_a_name_keeps_the_input(en, org) -> None:
    response = as_user(en, org.owner).post(reverse("customers:customer_create"), customer_form(name=""))
    assert response.status_code == 422 and not Customer.objects.exists()
    assert "The full legal name is required." in response.text
    assert 'value="鑫海海鲜酒楼"' in response.text and 'value="张伟"' in response.text
    assert 'value="天河区"' in response.text


def test_create_with_a_duplicate_legal_name_links_the_existing_customer(en, org) -> None:
    existing = make_customer(org.owner, name="广州鑫海（海鲜）有限责任公司")
    data = customer_form(name="广州 鑫海(海鲜)有限公司")
    response = as_user(en, org.owner).post(reverse("customers:customer_create"), data)
    assert response.status_code == 422 and Customer.objects.count() == 1
    assert "A customer with this legal name already exists" in response.text
    assert f'href="{reverse("customers:customer_detail", args=[existing.pk])}"' in response.text
    assert "Open the existing customer" in response.text


def test_create_with_a_mobile_held_by_another_customer_names_it(en, org) -> None:
    make_customer(org.owner, name="深圳金湾冻品贸易有限公司", contacts=[{"name": "王", "mobile": "13800138000"}])
    response = as_user(en, org.owner).post(reverse("customers:customer_create"), customer_form())
    assert response.status_code == 409 and Customer.objects.count() == 1
    assert "already belongs to customer" in response.text and "深圳金湾冻品贸易有限公司" in response.text
    assert 'value="广州鑫海海鲜酒楼有限公司"' in response.text  # input kept


def test_a_mobile_held_by_a_customer_out_of_scope_names_its_owner_not_the_customer(en, org) -> None:
    """Another team's customer stays unseen: the salesperson learns whom to ask, not what the customer is."""
    make_customer(org.owner, name="深圳金湾冻品贸易有限公司", contacts=[{"name": "王", "mobile": "13800138000"}])
    response = as_user(en, org.outsider).post(reverse("customers:customer_create"), customer_form())
    assert response.status_code == 409 and Customer.objects.count() == 1
    assert "already belongs to a customer of owner, outside what you can see" in response.text
    assert "深圳金湾冻品贸易有限公司" not in response.text


def test_without_javascript_add_contact_adds_a_row_and_saves_nothing(en, org) -> None:
    data = customer_form(add_contact="1")
    response = as_user(en, org.owner).post(reverse("customers:customer_create"), data)
    assert response.status_code == 200 and not Customer.objects.exists()
    assert 'name="contact-1-name"' in response.text and 'value="张伟"' in response.text


def test_manager_may_pick_the_owner_sales_may_not(en, org) -> None:
    as_user(en, org.manager)
    assert 'name="owner"' in en.get(reverse("customers:customer_create")).text
    en.post(reverse("customers:customer_create"), customer_form(owner=org.teammate.pk))
    assert Customer.objects.get().owner == org.teammate
    Customer.objects.all().delete()
    as_user(en, org.owner)  # an owner in the post is ignored: the field is not on a sales form
    en.post(reverse("customers:customer_create"), customer_form(owner=org.teammate.pk))
    assert Customer.objects.get().owner == org.owner


def _define_custom_fields(org: Any) -> None:
    fields: list[tuple[str, str, dict[str, Any]]] = [
        ("note", "text", {"required": True, "help_text": "写给同事看的"}),
        ("tables", "number", {}),
        ("credit", "decimal", {}),
        ("since", "date", {}),
        ("payment", "choice", {"choices": ["月结", "现结"]}),
        ("fish", "multi_choice", {"choices": ["龙虾", "石斑", "鲍鱼"]}),
        ("vip", "boolean", {}),
    ]
    for i, (key, field_type, extra) in enumerate(fields):
        custom_field_create(actor=org.admin, data={
            "object_type": "customer", "key": key, "label": f"字段{key}", "field_type": field_type, "order": i,
            **extra,
        })


def test_create_form_renders_custom_fields_by_type_with_required_marker(en, org) -> None:
    _define_custom_fields(org)
    text = as_user(en, org.owner).get(reverse("customers:customer_create")).text
    note = section(text, 'for="id_cf_note"')
    assert "字段note" in note and 'class="req"' in note
    assert "写给同事看的" in text
    assert 'type="number" name="cf_tables"' in text and 'type="date" name="cf_since"' in text
    assert 'type="checkbox" name="cf_fish" value="石斑"' in text
    assert '<select name="cf_vip"' in text and '<select name="cf_payment"' in text
    assert text.index("字段note") < text.index("字段tables") < text.index("字段vip")  # definition order


def test_create_saves_custom_fields_and_reports_their_errors(en, org) -> None:
    _define_custom_fields(org)
    as_user(en, org.owner)
    bad = customer_form(cf_note="", cf_tables="1.5")
    response = en.post(reverse("customers:customer_create"), bad)
    assert response.status_code == 422 and not Customer.objects.exists()
    assert "字段note is required." in section(response.text, 'for="id_cf_note"')
    assert "Enter a whole number." in section(response.text, 'for="id_cf_tables"')
    good = customer_form(cf_note="老客户", cf_tables="12", cf_credit="5000.50", cf_since="2024-03-01",
                         cf_payment="月结", cf_fish=["龙虾", "鲍鱼"], cf_vip="yes")
    assert en.post(reverse("customers:customer_create"), good).status_code == 302
    assert Customer.objects.get().custom_fields == {
        "note": "老客户", "tables": 12, "credit": "5000.50", "since": "2024-03-01", "payment": "月结",
        "fish": ["龙虾", "鲍鱼"], "vip": True,
    }


def test_contact_custom_fields_on_the_create_rows_and_the_inline_form(en, org) -> None:
    custom_field_create(actor=org.admin, data={
        "object_type": "contact", "key": "birthday", "label": "生日", "field_type": "date", "required": True,
    })
    as_user(en, org.owner)
    assert 'type="date" name="contact-0-cf_birthday"' in en.get(reverse("customers:customer_create")).text
    response = en.post(reverse("customers:customer_create"), customer_form(**{"contact-0-cf_birthday": "明天"}))
    assert response.status_code == 422 and not Customer.objects.exists()
    assert "Enter a date as YYYY-MM-DD." in section(response.text, 'id="contact-row-0"')
    data = customer_form(**{"contact-0-cf_birthday": "1980-05-06"})
    assert en.post(reverse("customers:customer_create"), data).status_code == 302
    customer = Customer.objects.get()
    assert customer.contacts.get().custom_fields == {"birthday": "1980-05-06"}
    url = reverse("customers:contact_create", args=[customer.pk])
    missing = en.post(url, {"new-name": "李娜"}, **hx("contacts"))
    assert "生日 is required." in missing.text and customer.contacts.count() == 1
    done = en.post(url, {"new-name": "李娜", "new-cf_birthday": "1990-01-02"}, **hx("contacts"))
    assert "生日: 1990-01-02" in done.text and customer.contacts.count() == 2


# --- edit ------------------------------------------------------------------------------------------

def test_edit_saves_a_change_and_shows_it_in_history(en, org) -> None:
    customer = make_customer(org.owner, grade="B")
    as_user(en, org.owner)
    url = reverse("customers:customer_edit", args=[customer.pk])
    page = en.get(url)
    assert page.status_code == 200 and f'name="version" value="{customer.version}"' in page.text
    response = en.post(url, edit_form(customer, grade="A"))
    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.grade == "A" and customer.version == 2
    log = ChangeLog.objects.filter(root_id=customer.pk, action="update").get()
    assert log.changes == {"grade": ["B", "A"]} and log.channel == Channel.PAGE  # only what was changed


def test_edit_with_a_stale_version_keeps_the_input_and_saves_on_purpose_next(en, org) -> None:
    customer = make_customer(org.owner, grade="B")
    stale = edit_form(customer, short_name="我的新简称")
    customer_update(actor=org.owner, customer_id=customer.pk, data={"grade": "C"})
    url = reverse("customers:customer_edit", args=[customer.pk])
    response = as_user(en, org.owner).post(url, stale)
    assert response.status_code == 412
    assert "Someone else changed this customer meanwhile" in response.text
    assert 'value="我的新简称"' in response.text and 'name="version" value="2"' in response.text
    customer.refresh_from_db()
    assert customer.short_name != "我的新简称"
    again = dict(stale, version="2")
    assert en.post(url, again).status_code == 302
    customer.refresh_from_db()
    assert customer.short_name == "我的新简称" and customer.version == 3


def test_edit_keeps_a_retired_option_and_refuses_bad_values(en, org) -> None:
    retired = option(ChoiceList.CUSTOMER_TYPE, "电商")
    customer = make_customer(org.owner, customer_type=retired.pk)
    choice_option_update(actor=org.admin, option=retired, data={"is_active": False})
    as_user(en, org.owner)
    url = reverse("customers:customer_edit", args=[customer.pk])
    assert "(no longer in use)" in en.get(url).text
    assert en.post(url, edit_form(customer, address="新地址")).status_code == 302  # untouched: not re-checked
    customer.refresh_from_db()
    assert customer.customer_type == retired and customer.address == "新地址"
    response = en.post(url, edit_form(customer, customer_type="999999", name=""))
    assert response.status_code == 422
    assert "Select a valid choice." in response.text


def test_edit_name_to_an_existing_legal_name_is_refused_with_link(en, org) -> None:
    other = make_customer(org.owner, name="广州金湾水产有限公司")
    customer = make_customer(org.owner)
    url = reverse("customers:customer_edit", args=[customer.pk])
    response = as_user(en, org.owner).post(url, edit_form(customer, name="广州金湾水产有限责任公司"))
    assert response.status_code == 422
    assert reverse("customers:customer_detail", args=[other.pk]) in response.text
    assert 'value="广州金湾水产有限责任公司"' in response.text


def test_edit_offers_only_allowed_status_moves(en, org) -> None:
    customer = make_customer(org.owner, status="active")
    text = as_user(en, org.owner).get(reverse("customers:customer_edit", args=[customer.pk])).text
    status = section(text, 'name="status"')
    assert 'value="dormant"' in status and 'value="prospect"' not in status


# --- detail and contacts ---------------------------------------------------------------------------

def test_detail_shows_profile_custom_fields_tags_and_contacts(en, org) -> None:
    _define_custom_fields(org)
    tag = tag_create(actor=org.admin, data={"name": "月结客户", "color": "#1f8a4c"})
    customer = make_customer(
        org.owner, short_name="鑫海酒楼", province="广东省", city="广州市", address="天河路 1 号",
        source=ChoiceOption.objects.filter(list_name=ChoiceList.SOURCE).values_list("pk", flat=True)[0],
        tags=[tag.pk], custom_fields={"note": "老客户", "vip": True, "fish": ["龙虾", "石斑"]},
        contacts=[{"name": "张伟", "mobile": "13800138000", "email": "zw@example.com", "is_primary": True},
                  {"name": "李娜", "mobile": "020-87654321"}],
    )
    text = as_user(en, org.owner).get(reverse("customers:customer_detail", args=[customer.pk])).text
    for expected in ("鑫海酒楼", customer.name, "天河路 1 号", "月结客户", "字段note", "老客户", "龙虾、石斑",
                     "138 0013 8000", "020 8765 4321", "zw@example.com", "Primary", str(customer.source)):
        assert expected in text, expected
    assert section(text[text.index('id="profile"') :], "字段vip").count("Yes") == 1


def test_add_contact_inline_with_htmx(en, org) -> None:
    customer = make_customer(org.owner, contacts=[{"name": "张伟"}])
    url = reverse("customers:contact_create", args=[customer.pk])
    response = as_user(en, org.owner).post(url, {"new-name": "李娜", "new-mobile": "13900001111"}, **hx("contacts"))
    assert response.status_code == 200
    assert response["HX-Retarget"] == "#contacts" and response["HX-Reswap"] == "outerHTML"
    assert "<html" not in response.text and 'id="contacts"' in response.text
    assert "Contact 李娜 added." in response.text and "139 0000 1111" in response.text
    assert customer.contacts.count() == 2


def test_add_contact_errors_show_inline_and_keep_the_input(en, org) -> None:
    customer = make_customer(org.owner)
    url = reverse("customers:contact_create", args=[customer.pk])
    as_user(en, org.owner)
    response = en.post(url, {"new-name": "李娜", "new-mobile": "12"}, **hx("contacts"))
    assert response.status_code == 200  # htmx swaps only 2xx answers
    assert "Enter a mainland mobile" in response.text and 'value="李娜"' in response.text
    assert "<details class=\"add-contact\" open" in response.text
    other = make_customer(org.owner, contacts=[{"name": "王", "mobile": "13800138000"}])
    response = en.post(url, {"new-name": "李娜", "new-mobile": "13800138000"}, **hx("contacts"))
    assert "already belongs to customer" in response.text and other.name in response.text
    without_js = en.post(url, {"new-name": ""})
    assert without_js.status_code == 422 and "<html" in without_js.text
    assert "The contact&#x27;s name is required." in without_js.text  # autoescaped apostrophe
    assert customer.contacts.count() == 0


def test_edit_contact_inline_with_htmx(en, org) -> None:
    customer = make_customer(org.owner, contacts=[{"name": "张伟", "mobile": "13800138000"}])
    contact = customer.contacts.get()
    url = reverse("customers:contact_edit", args=[customer.pk, contact.pk])
    as_user(en, org.owner)
    form = en.get(url, **hx())
    assert form.status_code == 200 and "<html" not in form.text
    assert f'id="contact-{contact.pk}"' in form.text and 'value="138 0013 8000"' in form.text
    prefix = f"c{contact.pk}-"
    data = {prefix + "name": "张伟强", prefix + "mobile": "138 0013 8000", prefix + "version": contact.version,
            prefix + "is_primary": "on"}
    response = en.post(url, data, **hx())
    assert response.status_code == 200 and response["HX-Retarget"] == "#contacts"
    assert "张伟强" in response.text
    contact.refresh_from_db()
    assert contact.name == "张伟强" and contact.mobile == "13800138000"
    log = ChangeLog.objects.filter(object_type="customers.contact", action="update").get()
    assert log.changes == {"name": ["张伟", "张伟强"]}


def test_edit_contact_errors_and_stale_version_stay_in_the_row(en, org) -> None:
    customer = make_customer(org.owner, contacts=[{"name": "张伟"}])
    contact = customer.contacts.get()
    url = reverse("customers:contact_edit", args=[customer.pk, contact.pk])
    prefix = f"c{contact.pk}-"
    as_user(en, org.owner)
    bad = en.post(url, {prefix + "name": "张伟", prefix + "email": "not-an-email", prefix + "version": 1}, **hx())
    assert bad.status_code == 200 and "Enter a valid email address." in bad.text
    assert 'value="not-an-email"' in bad.text and "HX-Retarget" not in bad
    contact_update(actor=org.owner, contact_id=contact.pk, data={"wechat": "zw"})
    stale = en.post(url, {prefix + "name": "张大伟", prefix + "version": 1}, **hx())
    assert "Someone else changed this contact meanwhile" in stale.text and 'value="张大伟"' in stale.text
    contact.refresh_from_db()
    assert contact.name == "张伟"
    page = en.get(url)  # without JavaScript: a page of its own
    assert page.status_code == 200 and "<html" in page.text


def test_delete_contact_inline_and_without_javascript(en, org) -> None:
    customer = make_customer(org.owner, contacts=[{"name": "张伟"}, {"name": "李娜"}])
    zhang, li = customer.contacts.order_by("id")
    as_user(en, org.owner)
    url = reverse("customers:contact_delete", args=[customer.pk, zhang.pk])
    assert "Delete contact 张伟?" in en.get(url).text  # the confirmation page
    response = en.post(url, {"version": zhang.version}, **hx("contacts"))
    assert response.status_code == 200 and "Contact 张伟 deleted." in response.text
    assert list(customer.contacts.all()) == [li]
    url = reverse("customers:contact_delete", args=[customer.pk, li.pk])
    stale = en.post(url, {"version": li.version + 5})
    assert stale.status_code == 302 and customer.contacts.count() == 1
    assert "Someone else changed this contact" in en.get(stale.url).text
    done = en.post(url, {"version": li.version})
    assert done.url == reverse("customers:customer_detail", args=[customer.pk]) + "#contacts"
    assert customer.contacts.count() == 0


def test_a_contact_of_another_customer_is_404(en, org) -> None:
    mine = make_customer(org.owner, contacts=[{"name": "张伟"}])
    other = make_customer(org.owner, contacts=[{"name": "李娜"}])
    li = other.contacts.get()
    as_user(en, org.owner)
    assert en.get(reverse("customers:contact_edit", args=[mine.pk, li.pk])).status_code == 404
    assert en.post(reverse("customers:contact_delete", args=[mine.pk, li.pk]), {}).status_code == 404
    assert other.contacts.count() == 1


# --- history ---------------------------------------------------------------------------------------

def test_history_tab_shows_who_channel_and_readable_before_after(en, org) -> None:
    _define_custom_fields(org)
    restaurant, wholesale = option(ChoiceList.CUSTOMER_TYPE, "餐饮"), option(ChoiceList.CUSTOMER_TYPE, "批发")
    customer = make_customer(org.manager, customer_type=restaurant.pk, custom_fields={"note": "旧"},
                             contacts=[{"name": "张伟", "mobile": "13800138000"}])
    with acting_through(Channel.API):
        customer_update(actor=org.manager, customer_id=customer.pk, data={
            "customer_type": wholesale.pk, "owner": org.teammate.pk, "status": "active",
            "custom_fields": {"note": "新", "vip": True},
        })
    as_user(en, org.manager)
    contact = customer.contacts.get()
    en.post(reverse("customers:contact_edit", args=[customer.pk, contact.pk]),
            {f"c{contact.pk}-name": "张伟", f"c{contact.pk}-mobile": "13900002222", f"c{contact.pk}-version": 1})
    response = en.get(reverse("customers:customer_history", args=[customer.pk]))
    assert response.status_code == 200
    text = response.text
    for expected in ("Customer type", "餐饮", "批发", "Owner", "manager", "teammate", "Status", "Prospect",
                     "Active", "字段note", "旧", "新", "字段vip", "Yes", "via API", "via Page", "Contact “张伟”",
                     "Mobile / phone", "138 0013 8000", "139 0000 2222", "Updated", "Created"):
        assert expected in text, expected
    assert f">{wholesale.pk}<" not in text and f">{org.teammate.pk}<" not in text  # ids read as names
    assert text.index("139 0000 2222") < text.index("批发")  # newest first


def test_history_tab_switches_with_htmx_and_works_as_a_page(en, org) -> None:
    customer = make_customer(org.owner)
    as_user(en, org.owner)
    detail = en.get(reverse("customers:customer_detail", args=[customer.pk])).text
    assert f'hx-get="{reverse("customers:customer_history", args=[customer.pk])}"' in detail
    assert 'hx-select="#customer-body"' in detail
    history = en.get(reverse("customers:customer_history", args=[customer.pk]), {"page": "x"}).text
    assert "Created" in history and "The page number must be a whole number" in history


# --- delete ----------------------------------------------------------------------------------------

def test_delete_asks_first_then_returns_to_the_list(en, org) -> None:
    customer = make_customer(org.owner, contacts=[{"name": "张伟"}])
    as_user(en, org.manager)
    url = reverse("customers:customer_delete", args=[customer.pk])
    confirm = en.get(url)
    assert confirm.status_code == 200 and "cannot be undone" in confirm.text
    assert Customer.objects.filter(pk=customer.pk).exists()
    stale = en.post(url, {"version": customer.version + 1})
    assert stale.status_code == 412 and Customer.objects.filter(pk=customer.pk).exists()
    response = en.post(url, {"version": customer.version}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("customers:customer_list")
    assert "deleted" in response.text and not Customer.objects.filter(pk=customer.pk).exists()
    damaged = make_customer(org.owner)
    bad = en.post(reverse("customers:customer_delete", args=[damaged.pk]), {"version": "abc"})
    assert bad.status_code == 422 and Customer.objects.filter(pk=damaged.pk).exists()


# --- export ----------------------------------------------------------------------------------------

def _csv(response: Any) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:])))


def test_export_streams_the_filtered_list_in_scope_as_excel_ready_csv(en, org) -> None:
    _define_custom_fields(org)
    in_scope = make_customer(org.teammate, grade="A", short_name="鑫海", custom_fields={"note": "=1+1"},
                             contacts=[{"name": "张伟", "mobile": "13800138000"}])
    other_grade = make_customer(org.owner, grade="B", custom_fields={"note": "-"})
    # The admin's customer sits in the company team, above the manager's region: out of scope.
    out_of_scope = make_customer(org.admin, grade="A", custom_fields={"note": "-"})
    response = as_user(en, org.manager).get(reverse("customers:customer_export"), {"grade": "A", "page": "2"})
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"].startswith("text/csv") and "attachment" in response["Content-Disposition"]
    rows = _csv(response)
    assert rows[0][:3] == ["ID", "Full name", "Short name"] and "字段note" in rows[0]
    ids = [int(r[0]) for r in rows[1:]]
    assert ids == [in_scope.pk]
    assert other_grade.pk not in ids and out_of_scope.pk not in ids
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["Primary contact"] == "张伟" and row["Mobile / phone"] == "138 0013 8000"
    assert row["字段note"] == "'=1+1"  # a formula is defused


def test_export_needs_the_export_permission(en, org) -> None:
    make_customer(org.owner)
    as_user(en, org.owner)
    assert "Export CSV" not in en.get(reverse("customers:customer_list")).text
    response = en.get(reverse("customers:customer_export"))
    assert response.status_code == 403 and "Your role may not export data." in response.text
    as_user(en, org.finance)
    assert "Export CSV" in en.get(reverse("customers:customer_list")).text
    assert len(_csv(en.get(reverse("customers:customer_export")))) == 2


def test_export_with_a_bad_filter_says_why(en, org) -> None:
    response = as_user(en, org.finance).get(reverse("customers:customer_export"), {"owner": "abc"})
    assert response.status_code == 400 and "Owner is a user id" in response.text
