"""The product catalogue: categories (a tree), products, price lists per customer type.

The catalogue is the company's, not a salesperson's: writing it needs the manage-settings right
(admins); everybody who is logged in reads it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models.deletion import ProtectedError
from django.utils.translation import gettext as _

from pearl.accounts.models import User
from pearl.core.changes import created, deleted, diff, record_change, snapshot
from pearl.core.errors import Conflict, NotFound, ValidationFailed
from pearl.core.events import emit
from pearl.core.models import ChangeAction
from pearl.core.permissions import require
from pearl.customers.models import ChoiceOption, Customer
from pearl.sales.models import PriceList, PriceListItem, Product, ProductCategory
from pearl.sales.services.common import (
    as_id,
    check_version,
    clean_short_text,
    parse_money,
    raise_errors,
)

PRODUCT_FIELDS = ["sku", "name", "category", "unit", "spec", "price", "cost", "is_active"]
CATEGORY_FIELDS = ["name", "parent", "order"]
TEXT_LIMITS = {"sku": 40, "name": 100, "unit": 8, "spec": 100}


# --- categories ------------------------------------------------------------------------------------


def _clean_category(data: dict[str, Any], instance: ProductCategory | None) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    out: dict[str, Any] = {}
    for key in sorted(set(data) - set(CATEGORY_FIELDS)):
        errors[key] = [_("Unknown field %(field)s.") % {"field": key}]
    if "name" in data or instance is None:
        name, error = clean_short_text(data.get("name"), 32)
        if error:
            errors["name"] = [error]
        elif not name:
            errors["name"] = [_("The name is required.")]
        elif ProductCategory.objects.filter(name=name).exclude(pk=instance.pk if instance else 0).exists():
            errors["name"] = [_("A category named “%(name)s” exists already.") % {"name": name}]
        out["name"] = name
    if "parent" in data:
        parent = None
        if data["parent"] not in (None, ""):
            pk = as_id(data["parent"])
            parent = ProductCategory.objects.filter(pk=pk).first() if pk else None
            if parent is None:
                errors["parent"] = [_("Choose an existing category.")]
            elif instance is not None:
                node: ProductCategory | None = parent
                while node is not None:  # a category cannot sit under itself or its descendants
                    if node.pk == instance.pk:
                        errors["parent"] = [_("A category cannot sit under itself or one of its subcategories.")]
                        break
                    node = node.parent
        out["parent"] = parent
    if "order" in data:
        order = data["order"]
        if isinstance(order, bool) or not isinstance(order, int) or not 0 <= order < 2**31:
            errors["order"] = [_("Enter a whole number from 0 up.")]
        out["order"] = order
    raise_errors(errors)
    return out


@transaction.atomic
def category_create(*, actor: User, data: dict[str, Any]) -> ProductCategory:
    require(actor, "manage_settings")
    values = _clean_category(data, None)
    category = ProductCategory(**values)
    category.save()
    record_change(
        actor=actor,
        action=ChangeAction.CREATE,
        instance=category,
        changes=created(snapshot(category, CATEGORY_FIELDS)),
    )
    return category


def _locked_category(category_id: int) -> ProductCategory:
    category = ProductCategory.objects.select_for_update().filter(pk=category_id).first()
    if category is None:
        raise NotFound(_("Category not found."))
    return category


@transaction.atomic
def category_update(*, actor: User, category_id: int, data: dict[str, Any]) -> ProductCategory:
    require(actor, "manage_settings")
    category = _locked_category(category_id)
    before = snapshot(category, CATEGORY_FIELDS)
    for key, value in _clean_category(data, category).items():
        setattr(category, key, value)
    changes = diff(before, snapshot(category, CATEGORY_FIELDS))
    if changes:
        category.save()
        record_change(actor=actor, action=ChangeAction.UPDATE, instance=category, changes=changes)
    return category


@transaction.atomic
def category_delete(*, actor: User, category_id: int) -> None:
    require(actor, "manage_settings")
    category = _locked_category(category_id)
    if category.children.exists() or category.products.exists():
        raise Conflict(_("This category still has products or subcategories; move them first."))
    record_change(
        actor=actor,
        action=ChangeAction.DELETE,
        instance=category,
        changes=deleted(snapshot(category, CATEGORY_FIELDS)),
    )
    category.delete()


# --- products --------------------------------------------------------------------------------------


def clean_product(data: dict[str, Any], instance: Product | None) -> dict[str, Any]:
    """Validated product values; raises ValidationFailed with every problem (shared with the import)."""
    errors: dict[str, list[str]] = {}
    out: dict[str, Any] = {}
    for key in sorted(set(data) - set(PRODUCT_FIELDS)):
        errors[key] = [_("Unknown field %(field)s.") % {"field": key}]
    for key, limit in TEXT_LIMITS.items():
        if key in data or (instance is None and key != "spec"):
            text, error = clean_short_text(data.get(key), limit)
            if error:
                errors[key] = [error]
            elif not text and key != "spec":
                errors[key] = [_("This field is required.")]
            out[key] = text
    if "sku" in out and "sku" not in errors:
        clash = Product.objects.filter(sku=out["sku"]).exclude(pk=instance.pk if instance else 0).first()
        if clash is not None:
            errors["sku"] = [_("SKU %(sku)s belongs to “%(name)s” already.") % {"sku": out["sku"], "name": clash.name}]
    if "category" in data or instance is None:
        pk = as_id(data.get("category"))
        category = ProductCategory.objects.filter(pk=pk).first() if pk else None
        if category is None:
            errors["category"] = [_("Choose an existing category.")]
        out["category"] = category
    if "price" in data or instance is None:
        price, error = parse_money(data.get("price"))
        if error:
            errors["price"] = [error]
        out["price"] = price
    if "cost" in data:
        if data["cost"] in (None, ""):
            out["cost"] = None
        else:
            cost, error = parse_money(data["cost"])
            if error:
                errors["cost"] = [error]
            out["cost"] = cost
    if "is_active" in data:
        if not isinstance(data["is_active"], bool):
            errors["is_active"] = [_("Enter true or false.")]
        out["is_active"] = data["is_active"]
    raise_errors(errors)
    return out


def _save_product(product: Product) -> None:
    try:
        with transaction.atomic():
            product.save()
    except IntegrityError as exc:  # a concurrent write took the SKU
        message = _("SKU %(sku)s is taken.") % {"sku": product.sku}
        raise ValidationFailed(message, field_errors={"sku": [message]}) from exc


@transaction.atomic
def product_create(*, actor: User, data: dict[str, Any]) -> Product:
    require(actor, "manage_settings")
    product = Product(**clean_product(data, None))
    _save_product(product)
    record_change(
        actor=actor, action=ChangeAction.CREATE, instance=product, changes=created(snapshot(product, PRODUCT_FIELDS))
    )
    emit("product.changed", product_id=product.pk, actor_id=actor.pk)
    return product


def _locked_product(product_id: int) -> Product:
    product = Product.objects.select_for_update().filter(pk=product_id).first()
    if product is None:
        raise NotFound(_("Product not found."))
    return product


def product_apply(actor: User, product: Product, values: dict[str, Any]) -> dict[str, list[Any]]:
    """Write cleaned values to a locked product; the change (empty when nothing changed)."""
    before = snapshot(product, PRODUCT_FIELDS)
    for key, value in values.items():
        setattr(product, key, value)
    changes = diff(before, snapshot(product, PRODUCT_FIELDS))
    if changes:
        product.version += 1
        _save_product(product)
        record_change(actor=actor, action=ChangeAction.UPDATE, instance=product, changes=changes)
        emit("product.changed", product_id=product.pk, actor_id=actor.pk)
    return changes


@transaction.atomic
def product_update(
    *, actor: User, product_id: int, data: dict[str, Any], expected_version: int | None = None
) -> Product:
    require(actor, "manage_settings")
    product = _locked_product(product_id)
    check_version(product, expected_version, _("product"))
    product_apply(actor, product, clean_product(data, product))
    return product


@transaction.atomic
def product_delete(*, actor: User, product_id: int, expected_version: int | None = None) -> None:
    """Only a product never ordered can go; one that was is taken off sale instead."""
    require(actor, "manage_settings")
    product = _locked_product(product_id)
    check_version(product, expected_version, _("product"))
    record_change(
        actor=actor, action=ChangeAction.DELETE, instance=product, changes=deleted(snapshot(product, PRODUCT_FIELDS))
    )
    pk = product.pk
    try:
        with transaction.atomic():
            product.delete()
    except (ProtectedError, IntegrityError) as exc:
        raise Conflict(_("This product appears on orders and cannot be deleted; take it off sale instead.")) from exc
    emit("product.changed", product_id=pk, actor_id=actor.pk)


# --- price lists -----------------------------------------------------------------------------------


def _clean_price_list(data: dict[str, Any], instance: PriceList | None) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    out: dict[str, Any] = {}
    for key in sorted(set(data) - {"name", "customer_type", "is_active", "items"}):
        errors[key] = [_("Unknown field %(field)s.") % {"field": key}]
    if "name" in data or instance is None:
        name, error = clean_short_text(data.get("name"), 64)
        if error or not name:
            errors["name"] = [error or _("The name is required.")]
        elif PriceList.objects.filter(name=name).exclude(pk=instance.pk if instance else 0).exists():
            errors["name"] = [_("A price list named “%(name)s” exists already.") % {"name": name}]
        out["name"] = name
    if "customer_type" in data:
        option = None
        if data["customer_type"] not in (None, ""):
            pk = as_id(data["customer_type"])
            option = ChoiceOption.objects.filter(pk=pk, list_name="customer_type").first() if pk else None
            if option is None:
                errors["customer_type"] = [_("Choose one of the listed options.")]
        out["customer_type"] = option
    if "is_active" in data:
        if not isinstance(data["is_active"], bool):
            errors["is_active"] = [_("Enter true or false.")]
        out["is_active"] = data["is_active"]
    if "items" in data:
        items: dict[int, Decimal] = {}
        raw = data["items"] or []
        if not isinstance(raw, list):
            errors["items"] = [_("Enter a list of {product, price}.")]
            raw = []
        products = {
            p.pk: p
            for p in Product.objects.filter(
                pk__in=[as_id(i.get("product")) for i in raw if isinstance(i, dict) and as_id(i.get("product"))]
            )
        }
        for index, item in enumerate(raw):
            pk = as_id(item.get("product")) if isinstance(item, dict) else None
            if pk is None or pk not in products:
                errors[f"items.{index}.product"] = [_("Choose an existing product.")]
                continue
            if pk in items:
                errors[f"items.{index}.product"] = [_("This product is listed twice.")]
                continue
            price, error = parse_money(item.get("price"))
            if error or price is None:
                errors[f"items.{index}.price"] = [error or _("Enter a number.")]
                continue
            items[pk] = price
        out["items"] = items
    raise_errors(errors)
    return out


def _price_list_snapshot(price_list: PriceList) -> dict[str, Any]:
    data = snapshot(price_list, ["name", "customer_type", "is_active"])
    data["items"] = {str(i.product_id): str(i.price) for i in price_list.items.all()} if price_list.pk else {}
    return data


def _set_items(price_list: PriceList, items: dict[int, Decimal]) -> None:
    price_list.items.exclude(product_id__in=list(items)).delete()
    current = {i.product_id: i for i in price_list.items.all()}
    for product_id, price in items.items():
        item = current.get(product_id)
        if item is None:
            PriceListItem.objects.create(price_list=price_list, product_id=product_id, price=price)
        elif item.price != price:
            item.price = price
            item.save(update_fields=["price"])


@transaction.atomic
def price_list_create(*, actor: User, data: dict[str, Any]) -> PriceList:
    require(actor, "manage_settings")
    values = _clean_price_list(data, None)
    items = values.pop("items", {})
    price_list = PriceList.objects.create(**values)
    _set_items(price_list, items)
    record_change(
        actor=actor, action=ChangeAction.CREATE, instance=price_list, changes=created(_price_list_snapshot(price_list))
    )
    return price_list


@transaction.atomic
def price_list_update(*, actor: User, price_list_id: int, data: dict[str, Any]) -> PriceList:
    require(actor, "manage_settings")
    price_list = PriceList.objects.select_for_update().filter(pk=price_list_id).first()
    if price_list is None:
        raise NotFound(_("Price list not found."))
    before = _price_list_snapshot(price_list)
    values = _clean_price_list(data, price_list)
    items = values.pop("items", None)
    for key, value in values.items():
        setattr(price_list, key, value)
    price_list.save()
    if items is not None:
        _set_items(price_list, items)
    changes = diff(before, _price_list_snapshot(price_list))
    record_change(actor=actor, action=ChangeAction.UPDATE, instance=price_list, changes=changes)
    return price_list


@transaction.atomic
def price_list_delete(*, actor: User, price_list_id: int) -> None:
    require(actor, "manage_settings")
    price_list = PriceList.objects.select_for_update().filter(pk=price_list_id).first()
    if price_list is None:
        raise NotFound(_("Price list not found."))
    record_change(
        actor=actor, action=ChangeAction.DELETE, instance=price_list, changes=deleted(_price_list_snapshot(price_list))
    )
    price_list.delete()


def prices_for(customer: Customer, products: list[Product]) -> dict[int, Decimal]:
    """The price each product is sold at to this customer: its type's active price list, else list price."""
    prices = {p.pk: p.price for p in products}
    if customer.customer_type_id is None or not products:
        return prices
    price_list = (
        PriceList.objects.filter(customer_type_id=customer.customer_type_id, is_active=True).order_by("id").first()
    )
    if price_list is not None:
        for product_id, price in PriceListItem.objects.filter(
            price_list=price_list, product_id__in=list(prices)
        ).values_list("product_id", "price"):
            prices[product_id] = price
    return prices
