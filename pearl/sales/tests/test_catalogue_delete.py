"""Deleting products and product categories on the pages: a confirmation page, then the catalogue
service; its refusals are shown on the page (never a 500) and only the manage-settings right may."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from pearl.sales.models import PriceList, PriceListItem, Product, ProductCategory
from pearl.sales.services import product_update
from pearl.sales.tests.factories import category, order, product


def test_delete_a_product_after_confirming(admin, org, catalogue) -> None:
    spare = product(org.admin, "X-100", name="备用品")
    price_list = PriceList.objects.create(name="酒楼价")
    PriceListItem.objects.create(price_list=price_list, product=spare, price="9.00")
    edit = admin.get(reverse("sales:product_edit", args=[spare.pk])).text
    url = reverse("sales:product_delete", args=[spare.pk])
    assert url in edit  # reachable from the product's edit page
    r = admin.get(url)
    assert r.status_code == 200 and "Delete product 备用品 (X-100)?" in r.text
    assert Product.objects.filter(pk=spare.pk).exists()  # the GET only asks
    r = admin.post(url, {"version": str(spare.version)})
    assert r.status_code == 302 and r["Location"] == reverse("sales:product_list")
    assert not Product.objects.filter(pk=spare.pk).exists()
    assert not PriceListItem.objects.filter(product_id=spare.pk).exists()
    assert "Product “备用品” deleted." in admin.get(r["Location"]).text


def test_a_product_on_an_order_is_refused_on_the_page(admin, org, catalogue, customer) -> None:
    order(org.owner, customer.pk, [(catalogue.prawn, "1")])
    prawn = catalogue.prawn
    r = admin.post(reverse("sales:product_delete", args=[prawn.pk]), {"version": str(prawn.version)})
    assert r.status_code == 409
    assert "appears on orders and cannot be deleted; take it off sale instead" in r.text
    assert 'role="alert"' in r.text and Product.objects.filter(pk=prawn.pk).exists()


def test_a_stale_product_delete_is_refused(admin, org, catalogue) -> None:
    sauce = catalogue.sauce
    loaded = str(sauce.version)
    product_update(actor=org.admin, product_id=sauce.pk, data={"price": "3.50"})
    r = admin.post(reverse("sales:product_delete", args=[sauce.pk]), {"version": loaded})
    assert r.status_code == 412 and "Someone else changed this product meanwhile" in r.text
    assert Product.objects.filter(pk=sauce.pk).exists()


def test_delete_a_category_and_refusals(admin, org, catalogue) -> None:
    empty = category("空类")
    parent = category("冻品")
    category("冻虾", parent=parent)
    listing = admin.get(reverse("sales:product_list")).text
    assert reverse("sales:category_delete", args=[empty.pk]) in listing  # reachable from the list
    r = admin.get(reverse("sales:category_delete", args=[empty.pk]))
    assert r.status_code == 200 and "Delete category 空类?" in r.text
    r = admin.post(reverse("sales:category_delete", args=[empty.pk]))
    assert r.status_code == 302 and not ProductCategory.objects.filter(pk=empty.pk).exists()
    assert "Category “空类” deleted." in admin.get(r["Location"]).text
    shrimp = catalogue.prawn.category  # holds products
    for full in (shrimp, parent):  # products in it; a subcategory under it
        r = admin.post(reverse("sales:category_delete", args=[full.pk]))
        assert r.status_code == 409 and "still has products or subcategories; move them first" in r.text
        assert ProductCategory.objects.filter(pk=full.pk).exists()


def test_only_the_manage_settings_right_may_delete(en: Any, org, catalogue) -> None:
    en.force_login(org.manager)  # may delete records, not change the catalogue
    prawn, shrimp = catalogue.prawn, catalogue.prawn.category
    for url in (reverse("sales:product_delete", args=[prawn.pk]), reverse("sales:category_delete", args=[shrimp.pk])):
        assert en.get(url).status_code == 403
        r = en.post(url, {"version": str(prawn.version)})
        assert r.status_code == 403 and "Your role may not change settings." in r.text
    assert Product.objects.filter(pk=prawn.pk).exists() and ProductCategory.objects.filter(pk=shrimp.pk).exists()
    assert reverse("sales:category_delete", args=[shrimp.pk]) not in en.get(reverse("sales:product_list")).text
    en.force_login(org.admin)
    assert en.get(reverse("sales:product_delete", args=[prawn.pk + 1000])).status_code == 404
    assert en.post(reverse("sales:category_delete", args=[shrimp.pk + 1000])).status_code == 404
