from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class CustomerKind(models.TextChoices):
    COMPANY = "company", _("Company")
    INDIVIDUAL = "individual", _("Individual")


class Grade(models.TextChoices):
    A = "A", "A"
    B = "B", "B"
    C = "C", "C"


class CustomerStatus(models.TextChoices):
    PROSPECT = "prospect", _("Prospect")
    ACTIVE = "active", pgettext_lazy("customer status", "Active")
    DORMANT = "dormant", _("Dormant")
    CLOSED = "closed", _("Closed")


# Which status may follow which: a closed account must be re-opened as a prospect first.
STATUS_TRANSITIONS: dict[str, set[str]] = {
    CustomerStatus.PROSPECT: {CustomerStatus.ACTIVE, CustomerStatus.DORMANT, CustomerStatus.CLOSED},
    CustomerStatus.ACTIVE: {CustomerStatus.DORMANT, CustomerStatus.CLOSED},
    CustomerStatus.DORMANT: {CustomerStatus.ACTIVE, CustomerStatus.CLOSED},
    CustomerStatus.CLOSED: {CustomerStatus.PROSPECT},
}


class ChoiceList(models.TextChoices):
    """Admin-editable lists, so 销售总监 and 销售VP never become two things."""

    CUSTOMER_TYPE = "customer_type", _("Customer type")
    INDUSTRY = "industry", _("Industry")
    SOURCE = "source", _("Source channel")
    POSITION = "position", _("Contact position")


class IdentityKind(models.TextChoices):
    MOBILE = "mobile", _("Phone")
    EMAIL = "email", _("Email")
    WECHAT = "wechat", _("WeChat")
    EXTERNAL = "external", _("External id")


class CustomFieldObject(models.TextChoices):
    CUSTOMER = "customer", _("Customer")
    CONTACT = "contact", _("Contact")


class CustomFieldType(models.TextChoices):
    TEXT = "text", _("Text")
    NUMBER = "number", _("Whole number")
    DECIMAL = "decimal", _("Decimal")
    DATE = "date", _("Date")
    CHOICE = "choice", _("Single choice")
    MULTI_CHOICE = "multi_choice", _("Multiple choice")
    BOOLEAN = "boolean", _("Yes / no")
