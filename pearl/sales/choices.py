from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class OrderStatus(models.TextChoices):
    PLACED = "placed", pgettext_lazy("order status", "Placed")
    PICKING = "picking", pgettext_lazy("order status", "Picking")
    SHIPPED = "shipped", pgettext_lazy("order status", "Shipped")
    DELIVERED = "delivered", pgettext_lazy("order status", "Delivered")
    CANCELLED = "cancelled", pgettext_lazy("order status", "Cancelled")


# 下单 → 配货 → 发货 → 签收, or 取消 before delivery. Delivered and cancelled are final.
ORDER_TRANSITIONS: dict[str, set[str]] = {
    OrderStatus.PLACED: {OrderStatus.PICKING, OrderStatus.CANCELLED},
    OrderStatus.PICKING: {OrderStatus.SHIPPED, OrderStatus.CANCELLED},
    OrderStatus.SHIPPED: {OrderStatus.DELIVERED, OrderStatus.CANCELLED},
    OrderStatus.DELIVERED: set(),
    OrderStatus.CANCELLED: set(),
}


class PaymentMethod(models.TextChoices):
    BANK = "bank", _("Bank transfer")
    WECHAT = "wechat", _("WeChat Pay")
    ALIPAY = "alipay", _("Alipay")
    CASH = "cash", _("Cash")
    CHEQUE = "cheque", _("Cheque / draft")
    OTHER = "other", _("Other")


class InvoiceType(models.TextChoices):
    NORMAL = "normal", _("General VAT invoice")
    SPECIAL = "special", _("Special VAT invoice")
