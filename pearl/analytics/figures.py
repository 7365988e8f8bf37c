"""Computing the figures: one customer in Python (the event path), everyone in SQL (rebuild, sweep).

Both read the other apps' tables read-only and agree to the cent and the tenth of a day (a test
compares them). Cancelled orders never count. "The last 12 months" is ``(at − 12 months, at]``;
"overdue" is what an order not fully paid (``paid_at`` empty) still owes after its due date, as of
the local day of ``at``.

The SQL is plain SQL with a few dialect spellings (epoch seconds, local day numbers, JSON
aggregation, null-safe comparison) for SQLite and PostgreSQL; identifiers come from the models.
"""

from __future__ import annotations

import datetime as dt
import itertools
import statistics
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.db import connection
from django.db.models import Count, Max, Min, Sum
from django.utils import timezone

from pearl.activities.choices import ComplaintKind
from pearl.activities.models import Communication, Complaint
from pearl.analytics.conditions import day_number
from pearl.analytics.models import CustomerCategoryFigure, CustomerFigures, SweepMark
from pearl.customers.models import Customer
from pearl.sales.choices import OrderStatus
from pearl.sales.models import Order, OrderLine, Product, ProductCategory

CENT = Decimal("0.01")
TENTH = Decimal("0.1")
RATE = Decimal("0.0001")
ZERO = Decimal("0.00")
TOP_CATEGORIES = 3
DAY = 86400


def window(at: dt.datetime) -> tuple[dt.datetime, dt.datetime, dt.date, dt.datetime]:
    """(start of the 12-month window, 30 days before, local day of ``at``, ``at``)."""
    return at - relativedelta(months=12), at - dt.timedelta(days=30), timezone.localtime(at).date(), at


def _q(value: Decimal | float | None, step: Decimal) -> Decimal | None:
    if value is None:
        return None
    return Decimal(str(value)).quantize(step, rounding=ROUND_HALF_UP)


def _days(seconds: float) -> float:
    return seconds / DAY


# --- one customer, in Python ------------------------------------------------------------------------


def compute_one(customer_id: int, at: dt.datetime) -> tuple[dict[str, Any], list[CustomerCategoryFigure]]:
    """The figures row (as field values) and the category rows of one customer: four indexed reads."""
    since, since30, today, _at = window(at)
    orders = list(
        Order.objects.filter(customer_id=customer_id)
        .exclude(status=OrderStatus.CANCELLED)
        .order_by("ordered_at", "id")
        .values_list("ordered_at", "amount", "subtotal", "discount", "cost", "paid_amount", "paid_at", "due_date")
    )
    values: dict[str, Any] = {
        "first_order_at": None, "last_order_at": None, "last_order_day": None, "order_count": len(orders),
        "orders_12m": 0, "purchase_cycle_days": None, "avg_order_value": None, "revenue_12m": ZERO,
        "revenue_total": ZERO, "margin_12m": None, "avg_discount_rate": None, "avg_days_to_pay": None,
        "unpaid_amount": ZERO, "overdue_amount": ZERO,
    }  # fmt: skip
    if orders:
        times = [o[0] for o in orders]
        total = sum((o[1] for o in orders), ZERO)
        subtotal = sum((o[2] for o in orders), ZERO)
        discount = sum((o[3] for o in orders), ZERO)
        in_window = [o for o in orders if since < o[0] <= at]
        costed = [o[1] - o[4] for o in in_window if o[4] is not None]
        paid = [_days((o[6] - o[0]).total_seconds()) for o in orders if o[6] is not None]
        gaps = [_days((b - a).total_seconds()) for a, b in itertools.pairwise(times)]
        values.update(
            first_order_at=times[0],
            last_order_at=times[-1],
            last_order_day=day_number(times[-1]),
            orders_12m=len(in_window),
            purchase_cycle_days=_q(statistics.median(gaps), TENTH) if gaps else None,
            avg_order_value=_q(total / len(orders), CENT),
            revenue_12m=sum((o[1] for o in in_window), ZERO),
            revenue_total=total,
            margin_12m=sum(costed, ZERO) if costed else None,
            avg_discount_rate=_q(discount / subtotal, RATE) if subtotal > 0 else None,
            avg_days_to_pay=_q(sum(paid) / len(paid), TENTH) if paid else None,
            unpaid_amount=sum((o[1] - o[5] for o in orders if o[6] is None), ZERO),
            overdue_amount=sum(
                (o[1] - o[5] for o in orders if o[6] is None and o[7] is not None and o[7] < today), ZERO
            ),
        )
    values["complaints_30d"] = Complaint.objects.filter(
        customer_id=customer_id, kind=ComplaintKind.COMPLAINT, received_at__gte=since30, received_at__lte=at
    ).count()
    contact = Communication.objects.filter(customer_id=customer_id).aggregate(
        last=Max("occurred_at"), follow=Max("next_follow_up_at")
    )
    values["last_contact_at"], values["next_follow_up_at"] = contact["last"], contact["follow"]

    rows = (
        OrderLine.objects.filter(order__customer_id=customer_id)
        .exclude(order__status=OrderStatus.CANCELLED)
        .values("product__category_id", "product__category__name")
        .annotate(
            first=Min("order__ordered_at"), last=Max("order__ordered_at"), amount=Sum("amount"),
            quantity=Sum("quantity"), orders=Count("order_id", distinct=True),
        )
    )  # fmt: skip
    categories = [
        CustomerCategoryFigure(
            customer_id=customer_id, category_id=r["product__category_id"], first_at=r["first"], last_at=r["last"],
            amount=_q(r["amount"], CENT) or ZERO, quantity=r["quantity"], orders=r["orders"],
        )
        for r in rows
    ]  # fmt: skip
    names = {r["product__category_id"]: r["product__category__name"] for r in rows}
    top = sorted(categories, key=lambda c: (-(c.amount or ZERO), c.category_id))[:TOP_CATEGORIES]
    values["top_categories"] = [
        {"category_id": c.category_id, "category": names[c.category_id], "amount": f"{c.amount:.2f}"} for c in top
    ]
    return values, categories


def refresh_one(customer_id: int, at: dt.datetime) -> CustomerFigures:
    """Recompute and store one customer's figures (call inside a transaction)."""
    values, categories = compute_one(customer_id, at)
    values["computed_at"] = timezone.now()
    figures, _ = CustomerFigures.objects.update_or_create(customer_id=customer_id, defaults=values)
    CustomerCategoryFigure.objects.filter(customer_id=customer_id).delete()
    CustomerCategoryFigure.objects.bulk_create(categories)
    return figures


# --- everyone (or a set), in SQL --------------------------------------------------------------------


def _t(model: type[Any]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _epoch(expr: str) -> str:
    if connection.vendor == "postgresql":
        return f"EXTRACT(EPOCH FROM {expr})"
    return f"((julianday({expr}) - 2440587.5) * 86400.0)"


def _local_day(expr: str, at: dt.datetime) -> str:
    if connection.vendor == "postgresql":
        zone = settings.TIME_ZONE.replace("'", "")
        return f"((({expr}) AT TIME ZONE '{zone}')::date - DATE '1970-01-01')"
    offset = timezone.localtime(at).utcoffset() or dt.timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    return f"CAST(julianday(date({expr}, '{minutes:+d} minutes')) - 2440587.5 AS INTEGER)"


def _distinct(a: str, b: str) -> str:
    return f"{a} IS DISTINCT FROM {b}" if connection.vendor == "postgresql" else f"{a} IS NOT {b}"


def _dt(value: dt.datetime) -> Any:
    return connection.ops.adapt_datetimefield_value(value)


def _d(value: dt.date) -> Any:
    return connection.ops.adapt_datefield_value(value)


def _ids_clause(column: str, customer_ids: Sequence[int] | None) -> tuple[str, list[Any]]:
    if customer_ids is None:
        return "", []
    ids = [int(i) for i in customer_ids] or [0]
    return f" AND {column} IN ({', '.join(['%s'] * len(ids))})", ids


def _rowcount(cursor: Any) -> int:
    """Rows the last statement wrote (Python's sqlite3 reports -1 for a statement opening with WITH)."""
    if connection.vendor == "sqlite":
        cursor.execute("SELECT changes()")
        return int(cursor.fetchone()[0])
    return int(cursor.rowcount)


def _top_json() -> str:
    if connection.vendor == "postgresql":
        return (
            "json_agg(json_build_object('category_id', r.category_id, 'category', r.name, "
            "'amount', r.amount::numeric(16,2)::text) ORDER BY r.rn)::jsonb"
        )
    return (
        "json_group_array(json_object('category_id', r.category_id, 'category', r.name, "
        "'amount', printf('%%.2f', r.amount)))"
    )


def _chunks(ids: Sequence[int] | None, size: int = 5000) -> list[Sequence[int] | None]:
    if ids is None:
        return [None]
    ids = list(ids)
    return [ids[i : i + size] for i in range(0, len(ids), size)] or [[]]


def rebuild(customer_ids: Sequence[int] | None, at: dt.datetime) -> int:
    """Rewrite the figures (and category figures) of the given customers, or of every customer, in a
    few INSERT … SELECT … GROUP BY statements. Returns the number of figures rows written."""
    written = 0
    for chunk in _chunks(customer_ids):
        written += _rebuild_chunk(chunk, at)
    if customer_ids is None:
        _mark(at)  # everyone's time-dependent figures are as of ``at`` now
    return written


def _rebuild_chunk(customer_ids: Sequence[int] | None, at: dt.datetime) -> int:
    since, since30, today, _at = window(at)
    order, line, product, category = _t(Order), _t(OrderLine), _t(Product), _t(ProductCategory)
    figures, catfig, customer = _t(CustomerFigures), _t(CustomerCategoryFigure), _t(Customer)
    complaint, communication = _t(Complaint), _t(Communication)
    cancelled = OrderStatus.CANCELLED.value
    o_ids, o_params = _ids_clause("o.customer_id", customer_ids)
    c_ids, c_params = _ids_clause("c.id", customer_ids)
    x_ids, x_params = _ids_clause("x.customer_id", customer_ids)
    pg = connection.vendor == "postgresql"
    now = _dt(timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {catfig} WHERE 1=1{_ids_clause('customer_id', customer_ids)[0]}", o_params)
        cursor.execute(
            f"""
            INSERT INTO {catfig} (customer_id, category_id, first_at, last_at, amount, quantity, orders)
            SELECT o.customer_id, p.category_id, MIN(o.ordered_at), MAX(o.ordered_at),
                   ROUND(SUM(l.amount), 2), SUM(l.quantity), COUNT(DISTINCT o.id)
            FROM {line} l
            JOIN {order} o ON o.id = l.order_id
            JOIN {product} p ON p.id = l.product_id
            WHERE o.status <> %s{o_ids}
            GROUP BY o.customer_id, p.category_id
            """,
            [cancelled, *o_params],
        )
        cursor.execute(f"DELETE FROM {figures} WHERE 1=1{_ids_clause('customer_id', customer_ids)[0]}", o_params)
        in_window = "o.ordered_at > %s AND o.ordered_at <= %s"
        top_type = "::jsonb" if pg else ""
        cursor.execute(
            f"""
            WITH o AS (
                SELECT o.id, o.customer_id, o.ordered_at, o.amount, o.subtotal, o.discount, o.cost,
                       o.paid_amount, o.paid_at, o.due_date, {_epoch("o.ordered_at")} AS t
                FROM {order} o WHERE o.status <> %s{o_ids}
            ),
            g AS (
                SELECT customer_id, t - LAG(t) OVER (PARTITION BY customer_id ORDER BY t, id) AS gap FROM o
            ),
            gr AS (
                SELECT customer_id, gap,
                       ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY gap) AS rn,
                       COUNT(*) OVER (PARTITION BY customer_id) AS n
                FROM g WHERE gap IS NOT NULL
            ),
            med AS (
                SELECT customer_id, AVG(gap) AS gap FROM gr
                WHERE rn = (n + 1) / 2 OR rn = (n + 2) / 2 GROUP BY customer_id
            ),
            agg AS (
                SELECT o.customer_id,
                       MIN(o.ordered_at) AS first_at, MAX(o.ordered_at) AS last_at, COUNT(*) AS n,
                       SUM(o.amount) AS total, SUM(o.subtotal) AS subtotal, SUM(o.discount) AS discount,
                       SUM(CASE WHEN {in_window} THEN o.amount ELSE 0 END) AS rev12,
                       SUM(CASE WHEN {in_window} THEN 1 ELSE 0 END) AS n12,
                       SUM(CASE WHEN {in_window} AND o.cost IS NOT NULL THEN o.amount - o.cost END) AS margin12,
                       AVG(CASE WHEN o.paid_at IS NOT NULL THEN {_epoch("o.paid_at")} - o.t END) AS pay,
                       SUM(CASE WHEN o.paid_at IS NULL THEN o.amount - o.paid_amount ELSE 0 END) AS unpaid,
                       SUM(CASE WHEN o.paid_at IS NULL AND o.due_date < %s
                                THEN o.amount - o.paid_amount ELSE 0 END) AS overdue
                FROM o GROUP BY o.customer_id
            ),
            cp AS (
                SELECT x.customer_id, COUNT(*) AS n FROM {complaint} x
                WHERE x.kind = %s AND x.received_at >= %s AND x.received_at <= %s{x_ids}
                GROUP BY x.customer_id
            ),
            cm AS (
                SELECT x.customer_id, MAX(x.occurred_at) AS last_at, MAX(x.next_follow_up_at) AS follow
                FROM {communication} x WHERE 1=1{x_ids} GROUP BY x.customer_id
            ),
            top AS (
                SELECT r.customer_id, {_top_json()} AS items
                FROM (
                    SELECT * FROM (
                        SELECT f.customer_id, f.category_id, f.amount, pc.name,
                               ROW_NUMBER() OVER (
                                   PARTITION BY f.customer_id ORDER BY f.amount DESC, f.category_id
                               ) AS rn
                        FROM {catfig} f JOIN {category} pc ON pc.id = f.category_id
                        WHERE 1=1{_ids_clause("f.customer_id", customer_ids)[0]}
                    ) ranked
                    WHERE ranked.rn <= {TOP_CATEGORIES}
                    ORDER BY ranked.customer_id, ranked.rn
                ) r
                GROUP BY r.customer_id
            )
            INSERT INTO {figures} (
                customer_id, first_order_at, last_order_at, last_order_day, order_count, orders_12m,
                purchase_cycle_days, avg_order_value, revenue_12m, revenue_total, margin_12m,
                avg_discount_rate, avg_days_to_pay, unpaid_amount, overdue_amount, complaints_30d,
                last_contact_at, next_follow_up_at, top_categories, computed_at
            )
            SELECT c.id, agg.first_at, agg.last_at,
                   CASE WHEN agg.last_at IS NULL THEN NULL ELSE {_local_day("agg.last_at", at)} END,
                   COALESCE(agg.n, 0), COALESCE(agg.n12, 0),
                   ROUND(med.gap / {DAY}.0, 1),
                   ROUND(agg.total * 1.0 / agg.n, 2),
                   ROUND(COALESCE(agg.rev12, 0), 2), ROUND(COALESCE(agg.total, 0), 2), ROUND(agg.margin12, 2),
                   CASE WHEN agg.subtotal > 0 THEN ROUND(agg.discount * 1.0 / agg.subtotal, 4) END,
                   ROUND(agg.pay / {DAY}.0, 1),
                   ROUND(COALESCE(agg.unpaid, 0), 2), ROUND(COALESCE(agg.overdue, 0), 2), COALESCE(cp.n, 0),
                   cm.last_at, cm.follow, COALESCE(top.items, '[]'{top_type}), %s
            FROM {customer} c
            LEFT JOIN agg ON agg.customer_id = c.id
            LEFT JOIN med ON med.customer_id = c.id
            LEFT JOIN cp ON cp.customer_id = c.id
            LEFT JOIN cm ON cm.customer_id = c.id
            LEFT JOIN top ON top.customer_id = c.id
            WHERE 1=1{c_ids}
            """,
            [
                cancelled, *o_params,
                _dt(since), _dt(at), _dt(since), _dt(at), _dt(since), _dt(at), _d(today),
                ComplaintKind.COMPLAINT.value, _dt(since30), _dt(at), *x_params,
                *x_params,
                *o_params,
                now, *c_params,
            ],
        )  # fmt: skip
        return _rowcount(cursor)


MARK = "figures.time"


def _mark(at: dt.datetime) -> None:
    SweepMark.objects.update_or_create(name=MARK, defaults={"at": at})


def sweep_time(at: dt.datetime) -> int:
    """Bring the figures that move with the clock (revenue, orders and margin in the last 12 months,
    overdue amount, complaints in 30 days) up to ``at``, set-based. Returns the rows changed.

    Only customers something happened to since the last sweep are recomputed: an order leaving or
    entering the 12-month window, an unpaid order falling due, a complaint leaving or entering the
    30 days (all found through indexed ranges). Everything else moves through the events. The first
    sweep, and one going back in time, recompute everyone. One UPDATE writes only the rows whose
    values change, so a second run as of the same moment writes nothing.
    """
    mark = SweepMark.objects.filter(name=MARK).first()
    previous = mark.at if mark is not None and mark.at <= at else None
    changed = _sweep_time(at, previous)
    _mark(at)
    return changed


def _sweep_time(at: dt.datetime, previous: dt.datetime | None) -> int:
    since, since30, today, _at = window(at)
    order, figures, complaint = _t(Order), _t(CustomerFigures), _t(Complaint)
    pg = connection.vendor == "postgresql"
    params: dict[str, Any] = {
        "since": _dt(since), "at": _dt(at), "since30": _dt(since30), "today": _d(today),
        "cancelled": OrderStatus.CANCELLED.value, "complaint": ComplaintKind.COMPLAINT.value,
        "now": _dt(timezone.now()),
    }  # fmt: skip
    cand, only, only_f = "", "", ""
    if previous is not None:
        p_since, p_since30, p_today, _p = window(previous)
        params.update(p_since=_dt(p_since), p_at=_dt(previous), p_since30=_dt(p_since30), p_today=_d(p_today))
        cand = f"""
        cand AS (
            SELECT o.customer_id FROM {order} o WHERE o.ordered_at > %(p_since)s AND o.ordered_at <= %(since)s
            UNION SELECT o.customer_id FROM {order} o WHERE o.ordered_at > %(p_at)s AND o.ordered_at <= %(at)s
            UNION SELECT o.customer_id FROM {order} o
                WHERE o.paid_at IS NULL AND o.status <> %(cancelled)s
                  AND o.due_date >= %(p_today)s AND o.due_date < %(today)s
            UNION SELECT x.customer_id FROM {complaint} x
                WHERE x.kind = %(complaint)s AND x.received_at >= %(p_since30)s AND x.received_at < %(since30)s
            UNION SELECT x.customer_id FROM {complaint} x
                WHERE x.kind = %(complaint)s AND x.received_at > %(p_at)s AND x.received_at <= %(at)s
        ),"""
        only = " AND o.customer_id IN (SELECT customer_id FROM cand)"
        only_f = " WHERE f.customer_id IN (SELECT customer_id FROM cand)"
    only_x = only.replace("o.", "x.")
    changed = " OR ".join(
        _distinct(f"{figures}.{col}", f"n.{col}")
        for col in ("revenue_12m", "orders_12m", "margin_12m", "overdue_amount", "complaints_30d")
    )
    sql = f"""
        WITH {cand}
        w AS (
            SELECT o.customer_id, SUM(o.amount) AS rev, COUNT(*) AS n,
                   SUM(CASE WHEN o.cost IS NOT NULL THEN o.amount - o.cost END) AS margin
            FROM {order} o
            WHERE o.ordered_at > %(since)s AND o.ordered_at <= %(at)s AND o.status <> %(cancelled)s{only}
            GROUP BY o.customer_id
        ),
        od AS (
            SELECT o.customer_id, SUM(o.amount - o.paid_amount) AS overdue
            FROM {order} o
            WHERE o.paid_at IS NULL AND o.status <> %(cancelled)s AND o.due_date < %(today)s{only}
            GROUP BY o.customer_id
        ),
        cp AS (
            SELECT x.customer_id, COUNT(*) AS n FROM {complaint} x
            WHERE x.kind = %(complaint)s AND x.received_at >= %(since30)s AND x.received_at <= %(at)s{only_x}
            GROUP BY x.customer_id
        ),
        n AS (
            SELECT f.customer_id,
                   ROUND(COALESCE(w.rev, 0), 2) AS revenue_12m, COALESCE(w.n, 0) AS orders_12m,
                   ROUND(w.margin, 2) AS margin_12m, ROUND(COALESCE(od.overdue, 0), 2) AS overdue_amount,
                   COALESCE(cp.n, 0) AS complaints_30d
            FROM {figures} f
            LEFT JOIN w ON w.customer_id = f.customer_id
            LEFT JOIN od ON od.customer_id = f.customer_id
            LEFT JOIN cp ON cp.customer_id = f.customer_id{only_f}
        )
        UPDATE {figures}
        SET revenue_12m = n.revenue_12m, orders_12m = n.orders_12m, margin_12m = n.margin_12m,
            overdue_amount = n.overdue_amount, complaints_30d = n.complaints_30d, computed_at = %(now)s
        FROM n
        WHERE {figures}.customer_id = n.customer_id AND ({changed})
    """
    if not pg:
        # SQLite stores these as REAL: compare rounded values so float noise is not a change.
        for col in ("revenue_12m", "margin_12m", "overdue_amount"):
            sql = sql.replace(
                _distinct(f"{figures}.{col}", f"n.{col}"), _distinct(f"ROUND({figures}.{col}, 2)", f"n.{col}")
            )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return _rowcount(cursor)
