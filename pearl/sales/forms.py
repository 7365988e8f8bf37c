"""Page forms of the sales app. They only read the request; the services validate the values
(one message per problem, the same on the pages as through the API) and their field errors are
put back on these forms."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django import forms
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from pearl.sales.choices import InvoiceType, OrderStatus, PaymentMethod
from pearl.sales.filters import (
    OrderFilterForm,
    PaymentFilterForm,
    ProductFilterForm,
    ReceivableFilterForm,
)
from pearl.sales.models import Payment, Product, ProductCategory

MAX_LINE_ROWS = 60
NUMBER_ATTRS = {"inputmode": "decimal", "autocomplete": "off"}


class ServiceErrorsMixin:
    """Puts a service's ``field_errors`` on matching fields and the rest on the form."""

    def _choices(self, name: str, choices: list[tuple[str, Any]]) -> None:
        field = self.fields[name]  # type: ignore[attr-defined]  # a Form
        assert isinstance(field, forms.ChoiceField)
        field.choices = choices

    def apply_service_errors(self, errors: dict[str, list[Any]]) -> None:
        for key, messages in errors.items():
            field = key if key in self.fields else None  # type: ignore[attr-defined]  # a Form
            self.add_error(field, [str(m) for m in messages])  # type: ignore[attr-defined]


def category_choices(tree: list[tuple[ProductCategory, int]], blank: str = "—") -> list[tuple[str, str]]:
    return [("", blank)] + [(str(c.pk), "\u3000" * depth + c.name) for c, depth in tree]


def product_choices(products: list[Product]) -> list[tuple[str, Any]]:
    """Products grouped by category for a <select> (optgroups)."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for p in products:
        label = f"{p.name} · {p.spec} ({p.sku})" if p.spec else f"{p.name} ({p.sku})"
        groups.setdefault(p.category.name, []).append((str(p.pk), label))
    return [("", "—"), *groups.items()]


def local_input(moment: dt.datetime | None) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M") if moment else ""


# --- catalogue -------------------------------------------------------------------------------------


class ProductForm(ServiceErrorsMixin, forms.Form):
    sku = forms.CharField(label=_("SKU"), max_length=40, required=False)
    name = forms.CharField(label=_("Name"), max_length=100, required=False)
    category = forms.ChoiceField(label=_("Category"), required=False)
    unit = forms.CharField(label=_("Unit"), max_length=8, required=False, help_text=_("e.g. 斤, kg, 箱, 件"))
    spec = forms.CharField(label=_("Specification"), max_length=100, required=False)
    price = forms.CharField(label=_("List price (¥)"), max_length=20, required=False,
                            widget=forms.TextInput(attrs=NUMBER_ATTRS))  # fmt: skip
    cost = forms.CharField(label=_("Unit cost (¥)"), max_length=20, required=False,
                           widget=forms.TextInput(attrs=NUMBER_ATTRS))  # fmt: skip
    is_active = forms.BooleanField(label=_("On sale"), required=False, initial=True)
    version = forms.IntegerField(required=False, widget=forms.HiddenInput, min_value=0)
    required_names = ("sku", "name", "category", "unit", "price")

    def __init__(self, data: Any = None, *, tree: list[tuple[ProductCategory, int]], product: Product | None = None):
        initial = None
        if product is not None:
            initial = {
                "sku": product.sku, "name": product.name, "category": str(product.category_id), "unit": product.unit,
                "spec": product.spec, "price": f"{product.price}", "cost": "" if product.cost is None else product.cost,
                "is_active": product.is_active, "version": product.version,
            }  # fmt: skip
        super().__init__(data, initial=initial)
        self.product = product
        self._choices("category", category_choices(tree))

    def data_for_service(self) -> dict[str, Any]:
        d = self.cleaned_data
        return {
            "sku": d["sku"], "name": d["name"], "category": d["category"] or None, "unit": d["unit"],
            "spec": d["spec"], "price": d["price"], "cost": d["cost"] or None, "is_active": d["is_active"],
        }  # fmt: skip


class CategoryForm(ServiceErrorsMixin, forms.Form):
    name = forms.CharField(label=_("Name"), max_length=32, required=False)
    parent = forms.ChoiceField(label=_("Parent category"), required=False)
    required_names = ("name",)

    def __init__(self, data: Any = None, *, tree: list[tuple[ProductCategory, int]]):
        super().__init__(data)
        self._choices("parent", category_choices(tree, blank=str(_("(top level)"))))


class ProductImportForm(forms.Form):
    file = forms.FileField(label=_("Spreadsheet (.xlsx, .xls or .csv)"))
    dry_run = forms.BooleanField(label=_("Check only, write nothing"), required=False)


class ProductFilterPageForm(ProductFilterForm):
    def __init__(self, data: Any = None, *, tree: list[tuple[ProductCategory, int]]):
        super().__init__(data)
        self.fields["category"] = forms.TypedChoiceField(
            label=_("Category"), required=False, choices=category_choices(tree), coerce=int, empty_value=None
        )
        self.fields["active"].widget = forms.Select(
            choices=[("", "—"), ("true", _("On sale")), ("false", _("Off sale"))]
        )


# --- orders ----------------------------------------------------------------------------------------


class OrderForm(ServiceErrorsMixin, forms.Form):
    customer = forms.IntegerField(label=_("Customer"), required=False, widget=forms.HiddenInput, min_value=1)
    ordered_at = forms.DateTimeField(
        label=_("Ordered at"), required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )  # fmt: skip
    due_date = forms.DateField(
        label=_("Payment due"), required=False, help_text=_("Empty: 30 days after the order date."),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )  # fmt: skip
    delivery_contact = forms.CharField(label=_("Receiver"), max_length=64, required=False)
    delivery_phone = forms.CharField(label=_("Receiver phone"), max_length=16, required=False,
                                     widget=forms.TextInput(attrs={"inputmode": "tel"}))  # fmt: skip
    delivery_address = forms.CharField(label=_("Delivery address"), max_length=200, required=False)
    note = forms.CharField(label=_("Note"), max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2}))
    version = forms.IntegerField(required=False, widget=forms.HiddenInput, min_value=0)
    required_names = ("customer",)

    def header(self) -> dict[str, Any]:
        d = self.cleaned_data
        return {
            "ordered_at": d.get("ordered_at"), "due_date": d.get("due_date"),
            "delivery_contact": d.get("delivery_contact") or "", "delivery_phone": d.get("delivery_phone") or "",
            "delivery_address": d.get("delivery_address") or "", "note": d.get("note") or "",
        }  # fmt: skip


class LineForm(ServiceErrorsMixin, forms.Form):
    product = forms.ChoiceField(label=_("Product"), required=False)
    quantity = forms.CharField(label=_("Quantity"), max_length=20, required=False,
                               widget=forms.TextInput(attrs=NUMBER_ATTRS))  # fmt: skip
    unit_price = forms.CharField(label=_("Unit price (¥)"), max_length=20, required=False,
                                 widget=forms.TextInput(attrs=NUMBER_ATTRS))  # fmt: skip
    discount = forms.CharField(label=_("Discount (¥)"), max_length=20, required=False,
                               widget=forms.TextInput(attrs=NUMBER_ATTRS))  # fmt: skip

    def __init__(self, data: Any = None, *, index: int, choices: list[tuple[str, Any]], initial: Any = None):
        super().__init__(data, prefix=f"line-{index}", initial=initial)
        self.index = index
        self._choices("product", choices)
        # Picking a product fills the unit price from the customer's price list (htmx).
        self.fields["product"].widget.attrs.update(
            {
                "hx-get": reverse("sales:line_price"),
                "hx-trigger": "change",
                "hx-include": "this, #order-form [name=customer]",
                "hx-vals": json.dumps({"index": str(index)}),
                "hx-target": f"#line-{index}-price",
                "hx-swap": "outerHTML",
            }
        )

    def is_blank(self) -> bool:
        return not any((self.cleaned_data.get(k) or "").strip() for k in ("product", "quantity", "unit_price"))

    def line(self) -> dict[str, Any]:
        d = self.cleaned_data
        out: dict[str, Any] = {"product": d["product"] or None, "quantity": d["quantity"]}
        if (d.get("unit_price") or "").strip():
            out["unit_price"] = d["unit_price"]
        if (d.get("discount") or "").strip():
            out["discount"] = d["discount"]
        return out


class StatusForm(forms.Form):
    status = forms.ChoiceField(choices=OrderStatus.choices)
    version = forms.IntegerField(required=False, min_value=0)


class OrderFilterPageForm(OrderFilterForm):
    def __init__(self, data: Any = None) -> None:
        super().__init__(data)
        self.fields["date_from"].widget = forms.DateInput(attrs={"type": "date"})
        self.fields["date_to"].widget = forms.DateInput(attrs={"type": "date"})
        self.fields["overdue"].widget = forms.Select(choices=[("", "—"), ("true", _("Overdue only"))])
        self.fields["owner"].widget = forms.Select(choices=[("", _("Everyone I may see")), ("me", _("My customers"))])
        self.fields["customer"].widget = forms.HiddenInput()


# --- payments --------------------------------------------------------------------------------------


class PaymentForm(ServiceErrorsMixin, forms.Form):
    customer = forms.IntegerField(label=_("Customer"), required=False, widget=forms.HiddenInput, min_value=1)
    amount = forms.CharField(label=_("Amount (¥)"), max_length=20, required=False,
                             widget=forms.TextInput(attrs=NUMBER_ATTRS))  # fmt: skip
    received_at = forms.DateTimeField(
        label=_("Received at"), required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )  # fmt: skip
    method = forms.ChoiceField(label=_("Method"), choices=PaymentMethod.choices, initial=PaymentMethod.BANK)
    reference = forms.CharField(label=_("Reference (bank slip no.)"), max_length=64, required=False)
    note = forms.CharField(label=_("Note"), max_length=500, required=False)
    allocate = forms.ChoiceField(
        label=_("Allocate to orders"), required=False, initial="auto",
        choices=[("auto", _("Automatically, oldest due first")), ("manual", _("By hand, below"))],
        widget=forms.RadioSelect,
    )  # fmt: skip
    required_names = ("customer", "amount", "received_at")

    def manual_allocations(self, data: Any) -> list[dict[str, Any]]:
        out = []
        for key, value in data.items():
            if key.startswith("alloc-") and key[6:].isdigit() and str(value).strip():
                out.append({"order": int(key[6:]), "amount": str(value).strip()})
        return out


class PaymentEditForm(ServiceErrorsMixin, forms.Form):
    """What may change on a recorded payment (the service's ``EDITABLE``); the amount, customer and
    allocations are fixed, so the form has no fields for them and ignores them if posted."""

    received_at = forms.DateTimeField(
        label=_("Received at"), required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )  # fmt: skip
    method = forms.ChoiceField(label=_("Method"), choices=PaymentMethod.choices)
    reference = forms.CharField(label=_("Reference (bank slip no.)"), max_length=64, required=False)
    note = forms.CharField(label=_("Note"), max_length=500, required=False)
    version = forms.IntegerField(required=False, widget=forms.HiddenInput, min_value=0)
    required_names = ("received_at", "method")

    @classmethod
    def for_payment(cls, payment: Payment) -> PaymentEditForm:
        return cls(
            initial={
                "received_at": local_input(payment.received_at), "method": payment.method,
                "reference": payment.reference, "note": payment.note, "version": payment.version,
            }
        )  # fmt: skip

    def data_for_service(self) -> dict[str, Any]:
        # Every editable key is sent, so a cleared date is refused by the service rather than skipped.
        return {k: self.cleaned_data.get(k) for k in ("received_at", "method", "reference", "note")}


class PaymentFilterPageForm(PaymentFilterForm):
    def __init__(self, data: Any = None) -> None:
        super().__init__(data)
        self.fields["date_from"].widget = forms.DateInput(attrs={"type": "date"})
        self.fields["date_to"].widget = forms.DateInput(attrs={"type": "date"})
        self.fields["owner"].widget = forms.Select(choices=[("", _("Everyone I may see")), ("me", _("My customers"))])
        self.fields["customer"].widget = forms.HiddenInput()


class ReceivableFilterPageForm(ReceivableFilterForm):
    def __init__(self, data: Any = None) -> None:
        super().__init__(data)
        self.fields["owner"].widget = forms.Select(choices=[("", _("Everyone I may see")), ("me", _("My customers"))])
        self.fields["customer"].widget = forms.HiddenInput()


# --- invoicing details -----------------------------------------------------------------------------


class BillingForm(ServiceErrorsMixin, forms.Form):
    invoice_type = forms.ChoiceField(label=_("Invoice type"), choices=InvoiceType.choices)
    title = forms.CharField(label=_("Invoice title"), max_length=200, required=False)
    tax_id = forms.CharField(label=_("Taxpayer id"), max_length=40, required=False,
                             help_text=_("15, 18 or 20 letters and digits."))  # fmt: skip
    bank = forms.CharField(label=_("Bank"), max_length=100, required=False)
    account = forms.CharField(label=_("Bank account"), max_length=40, required=False)
    address = forms.CharField(label=_("Registered address"), max_length=200, required=False)
    phone = forms.CharField(label=_("Registered phone"), max_length=32, required=False)
    email = forms.CharField(label=_("Email for e-invoices"), max_length=254, required=False)
    version = forms.IntegerField(required=False, widget=forms.HiddenInput, min_value=0)
    required_names = ("title",)

    def data_for_service(self) -> dict[str, Any]:
        return {k: v for k, v in self.cleaned_data.items() if k != "version"}


class PriceListForm(ServiceErrorsMixin, forms.Form):
    name = forms.CharField(label=_("Name"), max_length=64, required=False)
    customer_type = forms.ChoiceField(label=_("For customer type"), required=False)
    is_active = forms.BooleanField(label=_("In use"), required=False, initial=True)
    items = forms.CharField(
        label=_("Prices"), required=False, widget=forms.Textarea(attrs={"rows": 10, "spellcheck": "false"}),
        help_text=_("One product per line: SKU and price, e.g. “P-001 9.50”."),
    )  # fmt: skip
    required_names = ("name",)

    def __init__(self, data: Any = None, *, types: list[tuple[str, str]], initial: Any = None):
        super().__init__(data, initial=initial)
        self._choices("customer_type", [("", "—"), *types])

    def item_lines(self) -> list[tuple[int, str, str]]:
        """(line number, SKU, price text) per non-empty line of the prices box."""
        out = []
        for number, raw in enumerate((self.cleaned_data.get("items") or "").splitlines(), start=1):
            parts = raw.replace(",", " ").replace("，", " ").split()
            if parts:
                out.append((number, parts[0], parts[1] if len(parts) > 1 else ""))
        return out
