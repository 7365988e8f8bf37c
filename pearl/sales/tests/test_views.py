"""The sales pages: render, scope (404), forms re-rendering with the service's message, query counts."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.template.loader import render_to_string
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from pearl.customers.models import ChoiceOption
from pearl.customers.tests.factories import make_customer
from pearl.sales import selectors
from pearl.sales.models import CustomerBilling, Order, Payment, PriceList, Product
from pearl.sales.tests.factories import order, payment


@pytest.fixture
def owner(en: Any, org: Any) -> Any:
    en.force_login(org.owner)
    return en


def _line(index: int, product: Product | None, quantity: str, **extra: str) -> dict[str, str]:
    data = {f"line-{index}-product": str(product.pk) if product else "", f"line-{index}-quantity": quantity}
    data.update({f"line-{index}-{k}": v for k, v in extra.items()})
    return data


def test_order_pages_render_and_hide_other_teams_orders(owner, org, catalogue, customer, other_customer) -> None:
    mine = order(org.owner, customer.pk, [(catalogue.prawn, "2")])
    theirs = order(org.outsider, other_customer.pk, [(catalogue.crab, "1")])
    r = owner.get(reverse("sales:order_list"))
    assert r.status_code == 200
    assert mine.number in r.content.decode() and theirs.number not in r.content.decode()
    r = owner.get(reverse("sales:order_detail", args=[mine.pk]))
    assert r.status_code == 200 and "基围虾" in r.content.decode() and "→ Picking" in r.content.decode()
    assert owner.get(reverse("sales:order_detail", args=[theirs.pk])).status_code == 404
    assert owner.get(reverse("sales:order_edit", args=[theirs.pk])).status_code == 404
    assert owner.get(reverse("sales:order_list"), {"customer": other_customer.pk}).status_code == 404
    r = owner.get(reverse("sales:order_list"), {"status": "lost"})
    assert r.status_code == 200 and "Status:" in r.content.decode()


def test_order_list_query_count_does_not_grow_with_rows(owner, org, catalogue, customer) -> None:
    order(org.owner, customer.pk, [(catalogue.prawn, "1")])
    with CaptureQueriesContext(connection) as few:
        assert owner.get(reverse("sales:order_list")).status_code == 200
    for _ in range(6):
        order(org.owner, customer.pk, [(catalogue.prawn, "1"), (catalogue.crab, "1")])
    with CaptureQueriesContext(connection) as many:
        assert owner.get(reverse("sales:order_list")).status_code == 200
    assert len(many) == len(few) <= 10


def test_payment_and_receivable_lists_query_counts(owner, org, catalogue, customer) -> None:
    for days in (0, 45, 100):
        order(org.owner, customer.pk, [(catalogue.prawn, "3")], ordered_at=timezone.now() - dt.timedelta(days=days))
    payment(org.owner, customer.pk, "10")
    with CaptureQueriesContext(connection) as first:
        r = owner.get(reverse("sales:payment_list"))
    assert r.status_code == 200
    payment(org.owner, customer.pk, "5")
    payment(org.owner, customer.pk, "25")  # spans two orders
    with CaptureQueriesContext(connection) as second:
        owner.get(reverse("sales:payment_list"))
    assert len(first) == len(second) <= 10
    r = owner.get(reverse("sales:receivable_list"))
    body = r.content.decode()
    assert r.status_code == 200 and "Over 90 days" in body and "¥50.00" in body  # 90 − 40 paid
    with CaptureQueriesContext(connection) as queries:
        owner.get(reverse("sales:receivable_list"), {"bucket": "90_plus"})
    assert len(queries) <= 10


def test_create_order_through_the_page(owner, org, catalogue, customer) -> None:
    r = owner.get(reverse("sales:order_create"), {"customer": customer.pk})
    assert r.status_code == 200 and customer.name in r.content.decode()
    data = {
        "customer": str(customer.pk), "line_rows": ["0", "1", "2"], "ordered_at": "", "note": "早上送",
        **_line(0, catalogue.prawn, "2.5"), **_line(1, catalogue.crab, "1", discount="8.5"), **_line(2, None, ""),
    }  # fmt: skip
    r = owner.post(reverse("sales:order_create"), data)
    assert r.status_code == 302, r.content.decode()[:2000]
    o = Order.objects.get()
    assert r["Location"] == reverse("sales:order_detail", args=[o.pk])
    assert o.amount.to_eng_string() == "105.00" and o.note == "早上送" and o.lines.count() == 2


def test_bad_line_re_renders_the_form_in_place(owner, org, catalogue, customer) -> None:
    data = {"customer": str(customer.pk), "line_rows": ["0", "3"], **_line(0, catalogue.prawn, "1"),
            **_line(3, catalogue.crab, "-2")}  # fmt: skip
    r = owner.post(reverse("sales:order_create"), data)
    assert r.status_code == 422
    body = r.content.decode()
    assert "Line 2: the quantity must be more than zero (got -2)" in body
    assert 'name="line-3-quantity" value="-2"' in body  # what was typed stays
    assert not Order.objects.exists()


def test_no_javascript_add_and_remove_rows(owner, catalogue, customer) -> None:
    data = {"customer": str(customer.pk), "line_rows": ["0"], **_line(0, catalogue.prawn, "1"), "add_line": "1"}
    body = owner.post(reverse("sales:order_create"), data).content.decode()
    assert 'name="line-1-quantity"' in body and 'value="1"' in body
    data = {"customer": str(customer.pk), "line_rows": ["0", "1"], **_line(0, catalogue.prawn, "1"),
            **_line(1, catalogue.crab, "2"), "remove_line": "0"}  # fmt: skip
    body = owner.post(reverse("sales:order_create"), data).content.decode()
    assert 'name="line-0-quantity"' not in body and 'name="line-1-quantity"' in body


def test_htmx_row_and_price_prefill(owner, org, catalogue, customer) -> None:
    r = owner.get(reverse("sales:line_row"), {"index": "4"}, headers={"HX-Request": "true"})
    body = r.content.decode()
    assert 'name="line-4-product"' in body and 'hx-swap-oob="true"' in body and "index=5" in body
    r = owner.get(reverse("sales:line_price"), {"index": "4", "line-4-product": catalogue.crab.pk,
                                                "customer": customer.pk})  # fmt: skip
    assert 'id="line-4-price"' in r.content.decode() and 'value="88.50"' in r.content.decode()
    other = make_customer(org.outsider)
    r = owner.get(reverse("sales:line_price"), {"index": "1", "line-1-product": catalogue.crab.pk,
                                                "customer": other.pk})  # fmt: skip
    assert r.status_code == 404


def test_status_buttons_and_refusals_show_on_the_page(owner, en, org, catalogue, customer) -> None:
    o = order(org.owner, customer.pk, [(catalogue.prawn, "10")])
    r = owner.post(reverse("sales:order_status", args=[o.pk]), {"status": "delivered", "version": "1"})
    assert r.status_code == 409 and "cannot go from Placed to Delivered" in r.content.decode()
    r = owner.post(reverse("sales:order_status", args=[o.pk]), {"status": "picking", "version": "1"})
    assert r.status_code == 302 and Order.objects.get().status == "picking"
    payment(org.owner, customer.pk, "20")
    r = owner.post(reverse("sales:order_status", args=[o.pk]), {"status": "cancelled", "version": "3"})
    assert r.status_code == 409 and "delete the payment or reallocate" in r.content.decode()
    history = owner.get(reverse("sales:order_detail", args=[o.pk])).content.decode().split('id="history"')[1]
    assert '<th scope="row">Status</th><td class="before">Placed</td>' in history


def test_record_a_payment_with_preview(owner, org, catalogue, customer) -> None:
    o = order(org.owner, customer.pk, [(catalogue.prawn, "10")])
    r = owner.get(reverse("sales:payment_create"), {"customer": customer.pk})
    assert r.status_code == 200 and o.number in r.content.decode()
    data = {"customer": str(customer.pk), "amount": "40", "received_at": "2026-11-20T10:00", "method": "cash",
            "allocate": "auto"}  # fmt: skip
    r = owner.post(reverse("sales:payment_create"), {**data, "preview": "1"}, headers={"HX-Request": "true"})
    assert "¥40.00 will pay" in r.content.decode() and "¥60.00 still owed" in r.content.decode()
    assert not Payment.objects.exists()
    r = owner.post(reverse("sales:payment_create"), {**data, "amount": "100.5"})
    assert r.status_code == 422 and "more than the ¥100.00 the customer owes" in r.content.decode()
    r = owner.post(reverse("sales:payment_create"), {**data, "allocate": "manual", f"alloc-{o.pk}": "30"})
    assert r.status_code == 422 and "add up to ¥30.00 but the payment is ¥40.00" in r.content.decode()
    assert f'name="alloc-{o.pk}" aria-label="Amount for {o.number}" value="30"' in r.content.decode()
    r = owner.post(reverse("sales:payment_create"), data)
    assert r.status_code == 302
    p = Payment.objects.get()
    assert owner.get(reverse("sales:payment_detail", args=[p.pk])).status_code == 200
    assert owner.get(reverse("sales:payment_delete", args=[p.pk])).status_code == 403  # sales may not delete


def test_products_page_import_and_permissions(owner, org, catalogue) -> None:
    admin = Client(headers={"Accept-Language": "en"})
    admin.force_login(org.admin)
    r = owner.get(reverse("sales:product_list"), {"q": "基围"})
    assert r.status_code == 200 and "P-001" in r.content.decode() and "C-001" not in r.content.decode()
    assert owner.get(reverse("sales:product_create")).status_code == 403
    r = admin.post(reverse("sales:product_create"), {"sku": "P-001", "name": "x", "category": "", "unit": "斤",
                                                     "price": "abc", "is_active": "on"})  # fmt: skip
    body = r.content.decode()
    assert r.status_code == 422 and "belongs to “基围虾” already" in body and "Choose an existing category" in body
    csv = "SKU,名称,分类,单位,规格,价格,成本\nN-1,青蟹,蟹,只,,30,\nN-2,无价,蟹,只,,,\n".encode()
    r = admin.post(reverse("sales:product_import"), {"file": SimpleUploadedFile("p.csv", csv)})
    body = r.content.decode()
    assert r.status_code == 200 and "New: 1" in body and "1 row refused" in body
    assert Product.objects.filter(sku="N-1").exists() and not Product.objects.filter(sku="N-2").exists()


def test_billing_page_and_customer_panel(owner, org, catalogue, customer, django_assert_max_num_queries) -> None:
    r = owner.post(reverse("sales:billing_edit", args=[customer.pk]), {"invoice_type": "normal", "title": "鑫海",
                                                                      "tax_id": "ABC", "version": "0"})  # fmt: skip
    assert r.status_code == 422 and "15, 18 or 20" in r.content.decode()
    good = {"invoice_type": "normal", "title": "鑫海", "tax_id": "914401010000000001", "version": "0"}
    r = owner.post(reverse("sales:billing_edit", args=[customer.pk]), good)
    assert r.status_code == 302 and CustomerBilling.objects.get().tax_id == "914401010000000001"
    old = order(org.owner, customer.pk, [(catalogue.prawn, "5")], ordered_at=timezone.now() - dt.timedelta(days=45))
    order(org.owner, customer.pk, [(catalogue.prawn, "1")])
    with django_assert_max_num_queries(5):  # customer, recent orders, ageing, overdue orders, billing
        overview = selectors.customer_sales_overview(actor=org.owner, customer_id=customer.pk)
    assert overview.unpaid_total.to_eng_string() == "60.00" and overview.overdue_total.to_eng_string() == "50.00"
    assert [o.pk for o in overview.overdue_orders] == [old.pk] and len(overview.recent_orders) == 2
    html = render_to_string(
        "sales/_customer-sales.html", {"sales_overview": overview, "customer": customer, "may": {"create": True}}
    )
    assert f"/sales/orders/new/?customer={customer.pk}" in html and old.number in html and "914401010000000001" in html
    with pytest.raises(Exception, match="not found"):
        selectors.customer_sales_overview(actor=org.outsider, customer_id=customer.pk)
    assert owner.get(reverse("sales:billing_edit", args=[make_customer(org.outsider).pk])).status_code == 404


def test_price_list_page(owner, org, catalogue) -> None:
    admin = Client(headers={"Accept-Language": "en"})
    admin.force_login(org.admin)
    assert owner.get(reverse("sales:price_list_create")).status_code == 403
    kind = ChoiceOption.objects.filter(list_name="customer_type").first()
    assert kind is not None
    data = {"name": "酒楼价", "customer_type": str(kind.pk), "is_active": "on", "items": "P-001 9.5\nX-404 1\nC-001 -2"}
    r = admin.post(reverse("sales:price_list_create"), data)
    assert r.status_code == 422 and "Line 2: there is no product with SKU X-404." in r.content.decode()
    r = admin.post(reverse("sales:price_list_create"), {**data, "items": "P-001 9.5\nC-001 -2"})
    assert r.status_code == 422 and "Line 2: Must not be negative." in r.content.decode()
    r = admin.post(reverse("sales:price_list_create"), {**data, "items": "P-001 9.5\n\nC-001, 80"})
    assert r.status_code == 302
    price_list = PriceList.objects.get()
    assert dict(price_list.items.values_list("product__sku", "price")) == {"P-001": Decimal("9.50"),
                                                                          "C-001": Decimal("80.00")}  # fmt: skip
    body = owner.get(reverse("sales:price_list_list")).content.decode()
    assert "酒楼价" in body and kind.label in body
    r = admin.get(reverse("sales:price_list_edit", args=[price_list.pk]))
    assert "P-001 9.50" in r.content.decode()


def test_customer_picker_and_delete_pages(owner, org, catalogue, customer, other_customer) -> None:
    r = owner.get(reverse("sales:customer_picker"), {"q": customer.name[:4], "next": "payment"})
    body = r.content.decode()
    assert f"/sales/payments/new/?customer={customer.pk}" in body and other_customer.name not in body
    assert owner.get(reverse("sales:order_create")).status_code == 200  # no customer yet: the picker
    manager = Client(headers={"Accept-Language": "en"})
    manager.force_login(org.manager)
    o = order(org.owner, customer.pk, [(catalogue.prawn, "1")])
    p = payment(org.owner, customer.pk, "5")
    r = manager.post(reverse("sales:order_delete", args=[o.pk]), {"version": str(o.version + 1)})
    assert r.status_code == 409 and "Payments are allocated" in r.content.decode()
    r = manager.post(reverse("sales:payment_delete", args=[p.pk]), {"version": "1"})
    assert r.status_code == 302 and not Payment.objects.exists()
    o.refresh_from_db()
    r = manager.post(reverse("sales:order_delete", args=[o.pk]), {"version": "1"})
    assert r.status_code == 412  # the payment and its removal moved the order to version 3
    r = manager.post(reverse("sales:order_delete", args=[o.pk]), {"version": str(o.version)})
    assert r.status_code == 302 and not Order.objects.exists()
