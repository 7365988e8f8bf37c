"""What the sales services share: reading money and quantities, the customer in scope, numbers."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from pearl.core.errors import NotFound, PreconditionFailed, ValidationFailed
from pearl.core.permissions import scope_q
from pearl.customers.models import Customer
from pearl.sales.models import NumberSequence

FEN = Decimal("0.01")
MILLI = Decimal("0.001")
MAX_MONEY = Decimal("9999999999.99")  # 12 digits, two places: what a price or a line column holds
MAX_QUANTITY = Decimal("999999999.999")


def fen(value: Decimal) -> Decimal:
    """Rounded to the fen (0.01), half up as on a Chinese invoice."""
    return value.quantize(FEN, rounding=ROUND_HALF_UP)


def raise_errors(errors: dict[str, list[str]]) -> None:
    if errors:
        raise ValidationFailed(next(iter(errors.values()))[0], field_errors=errors)


def parse_decimal(
    value: Any, *, places: int, maximum: Decimal, allow_zero: bool = True, allow_negative: bool = False
) -> tuple[Decimal | None, str | None]:
    """(number, error) for a number given as Decimal, int, float or text ("1,280.50" and "¥12" too)."""
    if value is None or value == "":
        return None, _("Enter a number.")
    if isinstance(value, bool):
        return None, _("Enter a number.")
    try:
        if isinstance(value, float):
            number = Decimal(repr(value))
        elif isinstance(value, Decimal | int):
            number = Decimal(value)
        else:
            text = str(value).strip().replace(",", "").replace("，", "").lstrip("¥￥").strip()
            number = Decimal(text)
    except (InvalidOperation, ValueError):
        return None, _("Enter a number.")
    if not number.is_finite():
        return None, _("Enter a number.")
    if number < 0 and not allow_negative:
        return number, _("Must not be negative.")
    if number == 0 and not allow_zero:
        return number, _("Must be more than zero.")
    exponent = number.normalize().as_tuple().exponent
    if isinstance(exponent, int) and -exponent > places:
        return number, _("At most %(n)d decimal places.") % {"n": places}
    if abs(number) > maximum:
        return number, _("Too large: at most %(max)s.") % {"max": f"{maximum:,}"}
    return number, None


def parse_money(value: Any, *, allow_zero: bool = True) -> tuple[Decimal | None, str | None]:
    number, error = parse_decimal(value, places=2, maximum=MAX_MONEY, allow_zero=allow_zero)
    return (fen(number) if number is not None and error is None else number), error


def parse_datetime(value: Any) -> tuple[dt.datetime | None, str | None]:
    """An aware datetime from a datetime, a date (midnight local time) or ISO text."""
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, dt.date):
        moment = dt.datetime.combine(value, dt.time.min)
    elif isinstance(value, str) and value.strip():
        text = value.strip()
        try:
            moment = dt.datetime.fromisoformat(text)
        except ValueError:
            return None, _("Enter a valid date and time, such as 2026-11-23 14:30.")
    else:
        return None, _("Enter a valid date and time, such as 2026-11-23 14:30.")
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    if not dt.datetime(2000, 1, 1, tzinfo=dt.UTC) <= moment <= timezone.now() + dt.timedelta(days=366):
        return moment, _("The date must lie between 2000 and a year from now.")
    return moment, None


def parse_date(value: Any) -> tuple[dt.date | None, str | None]:
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).date() if timezone.is_aware(value) else value.date(), None
    if isinstance(value, dt.date):
        return value, None
    if isinstance(value, str) and value.strip():
        try:
            return dt.date.fromisoformat(value.strip()), None
        except ValueError:
            pass
    return None, _("Enter a valid date, such as 2026-12-23.")


def clean_short_text(value: Any, limit: int) -> tuple[str, str | None]:
    if value is None:
        return "", None
    if not isinstance(value, str):
        return "", _("Enter text.")
    text = " ".join(value.split())
    if len(text) > limit:
        return text, _("At most %(n)d characters.") % {"n": limit}
    return text, None


def as_id(value: Any) -> int | None:
    """A positive id from an int, a digit string or a model instance; None for anything else."""
    if hasattr(value, "pk"):
        value = value.pk
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 < value < 2**63 else None
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) <= 18:
        return int(value.strip()) or None
    return None


def visible_customer(actor: Any, customer_id: Any) -> Customer:
    """The customer if the actor may see it; out of scope is the same as missing."""
    pk = as_id(customer_id)
    customer = Customer.objects.filter(scope_q(actor)).filter(pk=pk).first() if pk else None
    if customer is None:
        raise NotFound(_("Customer not found."), field_errors={"customer": [_("Customer not found.")]})
    return customer


def check_version(instance: Any, expected_version: int | None, what: str) -> None:
    if expected_version is not None and int(expected_version) != instance.version:
        raise PreconditionFailed(
            _(
                "Someone else changed this %(what)s meanwhile (version %(now)s, you edited %(yours)s). "
                "Reload and apply your change again."
            )
            % {"what": what, "now": instance.version, "yours": expected_version},
            extra={"version": instance.version},
        )


def due_days() -> int:
    """Days from the order to payment due; ``PEARL_SALES_DUE_DAYS`` in the settings, 30 by default."""
    return int(getattr(settings, "PEARL_SALES_DUE_DAYS", 30))


def next_number(prefix: str, moment: dt.datetime, taken: Any) -> str:
    """The next free ``PREFIXyyyymmdd-0001`` for the local day of ``moment``.

    The day's counter row is locked for the transaction, so concurrent writers queue on it. Numbers
    written without the counter (a bulk loader) are skipped: ``taken(number)`` tells whether a
    number is in use, and on a clash the counter jumps past the day's highest number.
    """
    day = timezone.localtime(moment).strftime("%Y%m%d")
    key = f"{prefix}{day}"
    sequence = NumberSequence.objects.select_for_update().filter(key=key).first()
    if sequence is None:
        try:
            with transaction.atomic():
                NumberSequence.objects.create(key=key, last=0)
        except IntegrityError:
            pass  # someone created it meanwhile; the lock below waits for them
        sequence = NumberSequence.objects.select_for_update().get(key=key)
    sequence.last += 1
    number = f"{key}-{sequence.last:04d}"
    if taken(number):
        sequence.last = max(sequence.last, highest_taken(key, taken)) + 1
        number = f"{key}-{sequence.last:04d}"
    sequence.save(update_fields=["last"])
    return number


def highest_taken(key: str, taken: Any) -> int:
    """The highest sequence number in use for ``key`` (an exponential then binary search on ``taken``)."""
    low, high = 0, 1
    while taken(f"{key}-{high:04d}"):
        low, high = high, high * 2
    while high - low > 1:
        middle = (low + high) // 2
        if taken(f"{key}-{middle:04d}"):
            low = middle
        else:
            high = middle
    return low
