"""Products, orders, payments (回款) and the customer's invoicing details.

Money is ``Decimal`` with two places and an explicit currency (CNY by default); quantities have
three places (斤 and kg come in fractions). What a customer owes is read from its orders:
``amount - paid_amount`` of an order not cancelled, due on ``due_date`` (the receivable).
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from pearl.core.models import TimestampedModel, VersionedModel
from pearl.customers.models import ChoiceOption, Customer
from pearl.sales.choices import InvoiceType, OrderStatus, PaymentMethod

ZERO = Decimal("0.00")


class ProductCategory(models.Model):
    name = models.CharField(_("name"), max_length=32, unique=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children", verbose_name=_("parent")
    )
    order = models.PositiveIntegerField(_("order"), default=0)

    class Meta:
        ordering = ["order", "id"]
        verbose_name = _("product category")
        verbose_name_plural = _("product categories")

    def __str__(self) -> str:
        return self.name


class Product(VersionedModel):
    sku = models.CharField(_("SKU"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    category = models.ForeignKey(
        ProductCategory, on_delete=models.PROTECT, related_name="products", verbose_name=_("category")
    )
    unit = models.CharField(_("unit"), max_length=8, help_text=_("e.g. 斤, kg, 箱, 件"))
    spec = models.CharField(_("specification"), max_length=100, blank=True)
    price = models.DecimalField(_("list price"), max_digits=12, decimal_places=2)
    cost = models.DecimalField(_("unit cost"), max_digits=12, decimal_places=2, null=True, blank=True)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    is_active = models.BooleanField(_("on sale"), default=True)

    class Meta:
        ordering = ["category__order", "sku"]
        verbose_name = _("product")
        verbose_name_plural = _("products")
        constraints = [
            models.CheckConstraint(condition=Q(price__gte=0), name="product_price_nonneg"),
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.sku}）"


class PriceList(models.Model):
    """Prices for one kind of customer (e.g. 酒楼 pay less than 零售); the list price otherwise."""

    name = models.CharField(_("name"), max_length=64, unique=True)
    customer_type = models.ForeignKey(
        ChoiceOption, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        verbose_name=_("for customer type"),
    )  # fmt: skip
    is_active = models.BooleanField(_("in use"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("price list")
        verbose_name_plural = _("price lists")

    def __str__(self) -> str:
        return self.name


class PriceListItem(models.Model):
    price_list = models.ForeignKey(PriceList, on_delete=models.CASCADE, related_name="items")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    price = models.DecimalField(_("price"), max_digits=12, decimal_places=2)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["price_list", "product"], name="pricelistitem_uniq"),
            models.CheckConstraint(condition=Q(price__gte=0), name="pricelistitem_price_nonneg"),
        ]

    def __str__(self) -> str:
        return f"{self.price_list_id}:{self.product_id}={self.price}"


class Order(VersionedModel):
    number = models.CharField(_("order number"), max_length=32, unique=True)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+", db_index=False)
    status = models.CharField(_("status"), max_length=16, choices=OrderStatus.choices, default=OrderStatus.PLACED)
    ordered_at = models.DateTimeField(_("ordered at"))
    salesperson = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        verbose_name=_("salesperson"),
    )  # fmt: skip
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    # Sums of the lines, kept by the service: gross (qty × price), discounts, and what is owed.
    subtotal = models.DecimalField(_("subtotal"), max_digits=14, decimal_places=2, default=ZERO)
    discount = models.DecimalField(_("discount"), max_digits=14, decimal_places=2, default=ZERO)
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2, default=ZERO)
    cost = models.DecimalField(_("cost"), max_digits=14, decimal_places=2, null=True, blank=True)
    paid_amount = models.DecimalField(_("paid"), max_digits=14, decimal_places=2, default=ZERO)
    due_date = models.DateField(_("payment due"), null=True, blank=True)
    paid_at = models.DateTimeField(_("fully paid at"), null=True, blank=True)
    delivery_contact = models.CharField(_("receiver"), max_length=64, blank=True)
    delivery_phone = models.CharField(_("receiver phone"), max_length=16, blank=True)
    delivery_address = models.CharField(_("delivery address"), max_length=200, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=500, blank=True)

    class Meta:
        ordering = ["-ordered_at", "-id"]
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        indexes = [
            models.Index(fields=["customer", "-ordered_at"], name="order_customer_idx"),
            models.Index(fields=["-ordered_at"], name="order_time_idx"),
            models.Index(fields=["status", "-ordered_at"], name="order_status_idx"),
            # Receivables: unpaid orders by due date (ageing, the overdue sweep).
            models.Index(
                fields=["due_date"],
                name="order_unpaid_due_idx",
                condition=Q(paid_at__isnull=True) & ~Q(status=OrderStatus.CANCELLED),
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="order_amount_nonneg"),
            models.CheckConstraint(condition=Q(paid_amount__gte=0), name="order_paid_nonneg"),
            models.CheckConstraint(condition=Q(paid_amount__lte=F("amount")), name="order_not_overpaid"),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def outstanding(self) -> Decimal:
        return ZERO if self.status == OrderStatus.CANCELLED else self.amount - self.paid_amount


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+", verbose_name=_("product"))
    quantity = models.DecimalField(_("quantity"), max_digits=12, decimal_places=3)
    unit_price = models.DecimalField(_("unit price"), max_digits=12, decimal_places=2)
    discount = models.DecimalField(_("discount"), max_digits=12, decimal_places=2, default=ZERO)
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)

    class Meta:
        ordering = ["id"]
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="orderline_quantity_pos"),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="orderline_price_nonneg"),
            models.CheckConstraint(condition=Q(discount__gte=0), name="orderline_discount_nonneg"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="orderline_amount_nonneg"),
        ]

    def __str__(self) -> str:
        return f"{self.product_id} × {self.quantity}"


class Payment(VersionedModel):
    """Money received (回款), allocated to one or more of the customer's orders."""

    number = models.CharField(_("receipt number"), max_length=32, unique=True)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+", db_index=False)
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    received_at = models.DateTimeField(_("received at"))
    method = models.CharField(_("method"), max_length=16, choices=PaymentMethod.choices, default=PaymentMethod.BANK)
    reference = models.CharField(_("reference"), max_length=64, blank=True)
    note = models.CharField(_("note"), max_length=500, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        indexes = [models.Index(fields=["customer", "-received_at"], name="payment_customer_idx")]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_pos")]

    def __str__(self) -> str:
        return self.number


class PaymentAllocation(models.Model):
    payment = models.ForeignKey(Payment, on_delete=models.CASCADE, related_name="allocations")
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="allocations")
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["payment", "order"], name="allocation_payment_order_uniq"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="allocation_amount_pos"),
        ]

    def __str__(self) -> str:
        return f"{self.payment_id}→{self.order_id}: {self.amount}"


class CustomerBilling(TimestampedModel):
    """开票信息: what goes on the customer's invoices."""

    version = models.PositiveIntegerField(_("version"), default=1)

    customer = models.OneToOneField(Customer, on_delete=models.CASCADE, related_name="+", primary_key=True)
    invoice_type = models.CharField(
        _("invoice type"), max_length=16, choices=InvoiceType.choices, default=InvoiceType.NORMAL
    )
    title = models.CharField(_("invoice title"), max_length=200)
    tax_id = models.CharField(_("taxpayer id"), max_length=20, blank=True)
    bank = models.CharField(_("bank"), max_length=100, blank=True)
    account = models.CharField(_("bank account"), max_length=40, blank=True)
    address = models.CharField(_("registered address"), max_length=200, blank=True)
    phone = models.CharField(_("registered phone"), max_length=32, blank=True)
    email = models.EmailField(_("email for e-invoices"), blank=True)

    class Meta:
        verbose_name = _("invoicing details")
        verbose_name_plural = _("invoicing details")

    def __str__(self) -> str:
        return self.title


class NumberSequence(models.Model):
    """The last number handed out per prefix and day (``SO20261123`` → 17): order and receipt numbers.

    The service locks the row, so two orders placed at once never get the same number.
    """

    key = models.CharField(max_length=32, primary_key=True)
    last = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.key}={self.last}"
