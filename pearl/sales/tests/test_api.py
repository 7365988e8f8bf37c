"""/api/v1 products, orders, payments, receivables and billing through real HTTP requests."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from pearl.customers.tests.test_api import Api, assert_problem
from pearl.sales.models import Order, Payment
from pearl.sales.tests.factories import order


class SalesApi(Api):
    def put(self, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
        data = json.dumps(body)
        return self.client.put("/api/v1" + path, data, content_type="application/json", headers=self._h(headers))


@pytest.fixture
def api(org: Any) -> Any:
    return {name: SalesApi(getattr(org, name)) for name in ("admin", "manager", "owner", "outsider", "service")}


def _when(days_ago: int = 0) -> str:
    return (timezone.now() - dt.timedelta(days=days_ago)).isoformat()


def test_create_order_and_read_it_back_with_etag(api, catalogue, customer) -> None:
    body = {
        "customer": customer.pk,
        "lines": [
            {"product": catalogue.prawn.pk, "quantity": "2.5"},
            {"product": catalogue.crab.pk, "quantity": 1, "unit_price": "80", "discount": 0.5},
        ],
        "ordered_at": _when(1),
        "delivery_address": "广州市天河区",
    }
    r = api["owner"].post("/orders", body, headers={"Idempotency-Key": "o-1"})
    assert r.status_code == 201, r.content
    data = r.json()
    assert data["amount"] == "104.50" and data["subtotal"] == "105.00" and data["status"] == "placed"
    assert [line["amount"] for line in data["lines"]] == ["25.00", "79.50"]
    assert data["lines"][0]["quantity"] == "2.500" and data["outstanding"] == "104.50"
    assert r["ETag"] == '"1"' and r["Location"].endswith(f"/orders/{data['id']}")
    again = api["owner"].post("/orders", body, headers={"Idempotency-Key": "o-1"})
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert Order.objects.count() == 1
    got = api["owner"].get(f"/orders/{data['id']}")
    assert got.status_code == 200 and got["ETag"] == '"1"'
    assert_problem(api["outsider"].get(f"/orders/{data['id']}"), 404)
    listed = api["outsider"].get("/orders").json()
    assert listed["count"] == 0 and listed["items"] == []
    assert api["owner"].get("/orders", {"customer": customer.pk}).json()["count"] == 1


def test_bad_order_lines_are_422_with_field_paths(api, catalogue, customer) -> None:
    r = api["owner"].post("/orders", {"customer": customer.pk, "lines": [{"product": catalogue.prawn.pk,
                                                                          "quantity": "-3"}]})  # fmt: skip
    body = assert_problem(r, 422, "validation_failed")
    assert "must be more than zero (got -3)" in body["errors"]["lines.0.quantity"][0]
    r = api["owner"].post("/orders", {"customer": customer.pk, "lines": [{"product": catalogue.prawn.pk,
                                                                          "quantity": True}]})  # fmt: skip
    assert_problem(r, 422)
    r = api["owner"].post("/orders", {"customer": customer.pk, "lines": [], "colour": "red"})
    assert "colour" in assert_problem(r, 422)["errors"]
    assert_problem(api["outsider"].post("/orders", {"customer": customer.pk, "lines": [
        {"product": catalogue.prawn.pk, "quantity": 1}]}), 404)  # fmt: skip
    assert not Order.objects.exists()


def test_status_by_patch_follows_the_map(api, org, catalogue, customer) -> None:
    o = order(org.owner, customer.pk, [(catalogue.prawn, "1")])
    r = api["owner"].patch(f"/orders/{o.pk}", {"status": "shipped"})
    body = assert_problem(r, 409, "conflict")
    assert "cannot go from Placed to Shipped" in body["detail"] and body["allowed"] == ["cancelled", "picking"]
    assert_problem(api["owner"].patch(f"/orders/{o.pk}", {"status": "lost"}), 422)
    r = api["owner"].patch(f"/orders/{o.pk}", {"status": "picking"}, headers={"If-Match": '"1"'})
    assert r.status_code == 200 and r.json()["status"] == "picking" and r["ETag"] == '"2"'
    assert_problem(api["owner"].patch(f"/orders/{o.pk}", {"status": "shipped"}, headers={"If-Match": '"1"'}), 412)
    assert_problem(api["owner"].patch(f"/orders/{o.pk}", {"note": "x"}), 409)
    assert_problem(api["outsider"].patch(f"/orders/{o.pk}", {"status": "shipped"}), 404)
    history = api["owner"].get(f"/orders/{o.pk}/history").json()
    assert [h["action"] for h in history["items"]] == ["update", "create"]


def test_delete_order_rules(api, org, catalogue, customer) -> None:
    o = order(org.owner, customer.pk, [(catalogue.prawn, "1")])
    assert_problem(api["owner"].delete(f"/orders/{o.pk}"), 403)  # sales may not delete
    assert_problem(api["outsider"].delete(f"/orders/{o.pk}"), 404)
    assert api["manager"].delete(f"/orders/{o.pk}").status_code == 204
    assert_problem(api["manager"].get(f"/orders/{o.pk}"), 404)


def test_payments_overpay_and_allocate(api, org, catalogue, customer, other_customer) -> None:
    a = order(org.owner, customer.pk, [(catalogue.prawn, "10")], ordered_at=timezone.now() - dt.timedelta(days=50))
    b = order(org.owner, customer.pk, [(catalogue.prawn, "5")])
    foreign = order(org.outsider, other_customer.pk, [(catalogue.prawn, "5")])
    r = api["owner"].post("/payments", {"customer": customer.pk, "amount": "150.01", "received_at": _when()})
    body = assert_problem(r, 422)
    assert "more than the ¥150.00 the customer owes" in body["errors"]["amount"][0]
    r = api["owner"].post("/payments", {"customer": customer.pk, "amount": "10", "received_at": _when(),
                                        "allocations": [{"order": foreign.pk, "amount": "10"}]})  # fmt: skip
    assert "another customer" in assert_problem(r, 422)["errors"]["allocations.0.order"][0]
    r = api["owner"].post("/payments", {"customer": customer.pk, "amount": "120", "received_at": _when(),
                                        "method": "alipay"})  # fmt: skip
    assert r.status_code == 201, r.content
    data = r.json()
    assert [(x["order"], x["amount"]) for x in data["allocations"]] == [(a.pk, "100.00"), (b.pk, "20.00")]
    assert r["ETag"] == '"1"'
    assert api["outsider"].get("/payments").json()["count"] == 0
    assert_problem(api["outsider"].get(f"/payments/{data['id']}"), 404)
    r = api["owner"].patch(f"/payments/{data['id']}", {"reference": "ZFB-1"}, headers={"If-Match": '"1"'})
    assert r.status_code == 200 and r.json()["reference"] == "ZFB-1"
    r = api["owner"].patch(f"/payments/{data['id']}", {"amount": "1"})
    assert_problem(r, 422)
    receivables = api["owner"].get("/receivables").json()
    assert receivables["count"] == 1 and receivables["total"] == "30.00"
    assert receivables["items"][0]["order"] == b.pk and receivables["items"][0]["bucket"] == "not_due"
    assert api["outsider"].get("/receivables").json()["total"] == "50.00"  # only the outsider's own
    assert api["manager"].delete(f"/payments/{data['id']}").status_code == 204
    assert not Payment.objects.exists()
    assert api["owner"].get("/receivables").json()["total"] == "150.00"


def test_receivables_ageing_buckets_and_filters(api, org, catalogue, customer) -> None:
    for days in (0, 40, 75, 200):
        order(org.owner, customer.pk, [(catalogue.prawn, "1")], ordered_at=timezone.now() - dt.timedelta(days=days))
    data = api["owner"].get("/receivables").json()
    amounts = {b["key"]: (b["amount"], b["count"]) for b in data["buckets"]}
    assert amounts == {
        "not_due": ("10.00", 1),
        "1_30": ("10.00", 1),  # 40 days ago, due after 30: 10 days overdue
        "31_60": ("10.00", 1),
        "61_90": ("0.00", 0),
        "90_plus": ("10.00", 1),
    }
    assert data["overdue"] == "30.00" and data["total"] == "40.00"
    only = api["owner"].get("/receivables", {"bucket": "90_plus"}).json()
    assert [i["days_overdue"] for i in only["items"]] == [170] and only["items"][0]["bucket"] == "90_plus"
    assert_problem(api["owner"].get("/receivables", {"bucket": "ancient"}), 422)
    assert_problem(api["owner"].get("/receivables", {"colour": "red"}), 422)
    overdue_orders = api["owner"].get("/orders", {"overdue": "true"}).json()
    assert overdue_orders["count"] == 3


def test_products_api(api, catalogue) -> None:
    r = api["owner"].get("/products", {"q": "P-"})
    assert r.status_code == 200 and [p["sku"] for p in r.json()["items"]] == ["P-001", "P-999"]
    assert api["owner"].get("/products", {"active": "false"}).json()["count"] == 1
    assert_problem(api["owner"].post("/products", {"sku": "X", "name": "x", "category": 1, "unit": "斤",
                                                   "price": "1"}), 403)  # fmt: skip
    cat = api["admin"].post("/product-categories", {"name": "贝类"}).json()
    r = api["admin"].post("/products", {"sku": "B-1", "name": "扇贝", "category": cat["id"], "unit": "只",
                                        "price": 2.5})  # fmt: skip
    assert r.status_code == 201 and r.json()["price"] == "2.50" and r["ETag"] == '"1"'
    pid = r.json()["id"]
    assert_problem(api["admin"].patch(f"/products/{pid}", {"price": "3"}, headers={"If-Match": '"9"'}), 412)
    r = api["admin"].patch(f"/products/{pid}", {"price": "3"}, headers={"If-Match": '"1"'})
    assert r.json()["price"] == "3.00" and r["ETag"] == '"2"'
    body = assert_problem(api["admin"].post("/products", {"sku": "B-1", "name": "x", "category": cat["id"],
                                                          "unit": "只", "price": "1"}), 422)  # fmt: skip
    assert "SKU B-1 belongs to" in body["errors"]["sku"][0]
    assert_problem(api["admin"].delete(f"/product-categories/{cat['id']}"), 409)
    assert api["admin"].delete(f"/products/{pid}").status_code == 204
    assert api["admin"].delete(f"/product-categories/{cat['id']}").status_code == 204


def test_price_for_a_customer(api, org, catalogue, customer, other_customer) -> None:
    r = api["owner"].get(f"/products/{catalogue.crab.pk}/price", {"customer": customer.pk})
    assert r.json() == {"product": catalogue.crab.pk, "customer": customer.pk, "price": "88.50"}
    assert_problem(api["owner"].get(f"/products/{catalogue.crab.pk}/price", {"customer": other_customer.pk}), 404)


def test_product_import_api(api) -> None:
    csv = "SKU,名称,分类,单位,规格,价格,成本\nA-1,对虾,虾,斤,大,12.5,8\nA-2,坏行,虾,斤,,abc,\n".encode()
    upload = SimpleUploadedFile("p.csv", csv, content_type="text/csv")
    r = api["admin"].client.post("/api/v1/products/import", {"file": upload}, headers=api["admin"].headers)
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["created"] == 1 and body["problems"][0]["row"] == 3 and "价格" in body["problems"][0]["reason"]


def test_billing_get_put(api, org, customer) -> None:
    assert_problem(api["owner"].get(f"/customers/{customer.pk}/billing"), 404)
    r = api["owner"].put(f"/customers/{customer.pk}/billing", {"title": "鑫海", "tax_id": "123"})
    assert "15, 18 or 20" in assert_problem(r, 422)["errors"]["tax_id"][0]
    r = api["owner"].put(f"/customers/{customer.pk}/billing",
                         {"title": "广州鑫海有限公司", "tax_id": "91440101MA5ABCDE1X"})  # fmt: skip
    assert r.status_code == 200 and r["ETag"] == '"1"' and r.json()["tax_id"] == "91440101MA5ABCDE1X"
    r = api["owner"].put(f"/customers/{customer.pk}/billing", {"title": "新抬头"}, headers={"If-Match": '"5"'})
    assert_problem(r, 412)
    assert api["owner"].get(f"/customers/{customer.pk}/billing").json()["title"] == "广州鑫海有限公司"
    assert_problem(api["outsider"].get(f"/customers/{customer.pk}/billing"), 404)
    assert_problem(api["outsider"].put(f"/customers/{customer.pk}/billing", {"title": "x"}), 404)


def test_payment_to_nothing_owed_and_unknown_ids(api, org, customer) -> None:
    r = api["owner"].post("/payments", {"customer": customer.pk, "amount": "1", "received_at": _when()})
    assert "owes nothing" in assert_problem(r, 422)["detail"]
    assert_problem(api["owner"].get(f"/orders/{2**63}"), 404)
    assert_problem(api["owner"].get("/orders", {"status": "lost"}), 422)


def test_price_lists_set_the_default_price(api, org, catalogue) -> None:
    from pearl.customers.models import ChoiceOption
    from pearl.customers.tests.factories import make_customer

    kind = ChoiceOption.objects.filter(list_name="customer_type").first()
    assert kind is not None
    body = {"name": "酒楼价", "customer_type": kind.pk, "items": [{"product": catalogue.crab.pk, "price": "80"}]}
    assert_problem(api["owner"].post("/price-lists", body), 403)
    r = api["admin"].post("/price-lists", body)
    assert r.status_code == 201 and r.json()["items"] == [{"product": catalogue.crab.pk, "price": "80.00"}]
    typed = make_customer(org.owner, customer_type=kind.pk)
    price = api["owner"].get(f"/products/{catalogue.crab.pk}/price", {"customer": typed.pk}).json()["price"]
    assert price == "80.00"
    negative = {"items": [{"product": catalogue.crab.pk, "price": "-1"}]}
    bad = api["admin"].patch(f"/price-lists/{r.json()['id']}", negative)
    assert "items.0.price" in assert_problem(bad, 422)["errors"]
    assert api["admin"].patch(f"/price-lists/{r.json()['id']}", {"is_active": False}).json()["is_active"] is False
    price = api["owner"].get(f"/products/{catalogue.crab.pk}/price", {"customer": typed.pk}).json()["price"]
    assert price == "88.50"
    assert api["admin"].delete(f"/price-lists/{r.json()['id']}").status_code == 204


def test_customer_sales_overview(api, org, catalogue, customer) -> None:
    old = order(org.owner, customer.pk, [(catalogue.prawn, "5")], ordered_at=timezone.now() - dt.timedelta(days=70))
    order(org.owner, customer.pk, [(catalogue.prawn, "1")])
    data = api["owner"].get(f"/customers/{customer.pk}/sales").json()
    assert data["unpaid_total"] == "60.00" and data["overdue_total"] == "50.00"
    assert [o["id"] for o in data["overdue_orders"]] == [old.pk] and len(data["recent_orders"]) == 2
    assert {b["key"]: b["amount"] for b in data["ageing"]}["31_60"] == "50.00" and data["billing"] is None
    assert_problem(api["outsider"].get(f"/customers/{customer.pk}/sales"), 404)
