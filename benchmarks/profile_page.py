"""The 360° customer page with 10,000 events on one customer, against a recompute-on-view page, same run.

    .venv/bin/python benchmarks/profile_page.py --data-dir /tmp/pearl-demo-1m          # SQLite base
    .venv/bin/python benchmarks/profile_page.py --database-url postgres://postgres@127.0.0.1:5432/demo1m

Runs against a database already loaded by ``pearl demo --customers 1000000`` (orders, payments,
calls and visits included). It picks the customer with the most orders, gives it 10,000 timeline
events of mixed kinds spread over three years (written once, tagged ``source = "bench"``, so a rerun
adds nothing), then requests ``GET /customers/<id>/`` through Django's test client as ``manager``
(warm-up, then ``--requests`` timed) and the timeline API's first and a deep page.

Baseline, same run and same customer: the page as a naive implementation would build it — the
customer's figures recomputed from its orders, lines and payments on every view, and the whole
timeline (every event and change) read and rendered without paging.

Writes a section to benchmarks/results/profile_page.md. A measurement, not a test.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "results" / "profile_page.md"
EVENTS = 10_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default="/tmp/pearl-demo-1m", help="PEARL_DATA_DIR of the SQLite base")
    parser.add_argument("--database-url", default="", help="PostgreSQL URL (else SQLite in --data-dir)")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--baseline-requests", type=int, default=20)
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--quiet-machine", action="store_true", help="say in the results that nothing else ran")
    args = parser.parse_args()
    os.environ["PEARL_DATA_DIR"] = args.data_dir
    os.environ["DJANGO_SETTINGS_MODULE"] = "pearl.settings"
    os.environ.setdefault("PEARL_ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")  # the test client's host
    if args.database_url:
        os.environ["DATABASE_URL"] = args.database_url
    else:
        os.environ.pop("DATABASE_URL", None)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    run(args)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def heavy_customer() -> int:
    from django.db.models import Count

    from pearl.sales.models import Order

    row = Order.objects.values("customer_id").annotate(n=Count("id")).order_by("-n").first()
    if row is None:
        sys.exit("no orders: load the base with `pearl demo --customers 1000000` first")
    return int(row["customer_id"])


def give_events(customer_id: int) -> int:
    """10,000 events of mixed kinds on the customer, once (``source = "bench"``)."""
    from django.utils import timezone

    from pearl.activities.models import TimelineEvent
    from pearl.activities.services import NewEvent, timeline_record_many
    from pearl.core.context import Channel, acting_through

    have = TimelineEvent.objects.filter(customer_id=customer_id, source="bench").count()
    kinds = ["call", "visit", "wechat", "note", "order", "payment", "channel"]
    now = timezone.now()
    new = [
        NewEvent(
            customer_id=customer_id,
            kind=kinds[n % len(kinds)],
            occurred_at=now - dt.timedelta(minutes=157 * n),
            title=f"基准事件 {n}",
            payload={"summary": "客户反馈上周的虾很新鲜，下次加订两箱。", "outcome": "reached"},
            source="bench",
            external_id=f"bench-{customer_id}-{n}",
        )
        for n in range(have, EVENTS)
    ]
    with acting_through(Channel.COMMAND):
        timeline_record_many(new)
    return TimelineEvent.objects.filter(customer_id=customer_id).count()


def naive_view(customer_id: int) -> int:
    """What a recompute-on-view page costs: figures from the raw rows, the whole timeline rendered."""
    from django.db.models import Count, Max, Min, Sum
    from django.template.loader import render_to_string
    from django.utils import timezone

    from pearl.accounts.models import User
    from pearl.activities.models import TimelineEvent
    from pearl.activities.selectors import TimelineItem
    from pearl.core.models import ChangeLog
    from pearl.customers.views.timeline import timeline_entries
    from pearl.sales.models import Order, OrderLine, Payment

    year_ago = timezone.now() - dt.timedelta(days=365)
    orders = Order.objects.filter(customer_id=customer_id).exclude(status="cancelled")
    figures = orders.aggregate(n=Count("id"), first=Min("ordered_at"), last=Max("ordered_at"), total=Sum("amount"))
    figures["year"] = orders.filter(ordered_at__gte=year_ago).aggregate(s=Sum("amount"))["s"]
    dates = list(orders.order_by("ordered_at").values_list("ordered_at", flat=True))
    gaps = [(b - a).days for a, b in itertools.pairwise(dates)]
    figures["cycle"] = statistics.median(gaps) if gaps else None
    figures["top"] = list(
        OrderLine.objects.filter(order__in=orders).values("product__category__name").annotate(s=Sum("amount"))
        .order_by("-s")[:3]
    )  # fmt: skip
    figures["paid"] = Payment.objects.filter(customer_id=customer_id).aggregate(s=Sum("amount"))["s"]
    figures["overdue"] = orders.filter(due_date__lt=timezone.localdate(), paid_at__isnull=True).aggregate(
        s=Sum("amount")
    )["s"]
    events = [TimelineItem(e.kind, e.occurred_at, 1, e.pk, event=e) for e in TimelineEvent.objects.filter(
        customer_id=customer_id).select_related("actor")]  # fmt: skip
    changes = [TimelineItem("change", c.occurred_at, 0, c.pk, change=c) for c in ChangeLog.objects.filter(
        root_type="customers.customer", root_id=customer_id).select_related("actor")]  # fmt: skip
    items = sorted(events + changes, key=lambda i: (i.occurred_at, i.rank, i.id), reverse=True)
    manager = User.objects.get(username="manager")
    html = render_to_string(
        "customers/_timeline-items.html", {"timeline_entries": timeline_entries(manager, items), "figures": figures}
    )
    return len(html)


def run(args: argparse.Namespace) -> None:
    from django.db import connection
    from django.test import Client

    from pearl.accounts.models import User
    from pearl.customers.models import Customer

    customer_id = heavy_customer()
    total_events = give_events(customer_id)
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(User.objects.get(username="manager"))
    url = f"/customers/{customer_id}/"

    def timed(path: str, n: int, **extra: Any) -> list[float]:
        for _ in range(5):
            assert client.get(path, **extra).status_code == 200
        out = []
        for _ in range(n):
            started = time.perf_counter()
            response = client.get(path, **extra)
            out.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.status_code
        return out

    page = timed(url, args.requests)
    api_first = timed(f"/api/v1/customers/{customer_id}/timeline", args.requests // 2)
    body = client.get(f"/api/v1/customers/{customer_id}/timeline", {"limit": 200}).json()
    for _ in range(20):  # 4,000 entries deep
        body = client.get(
            f"/api/v1/customers/{customer_id}/timeline", {"limit": 200, "cursor": body["next_cursor"]}
        ).json()
    deep = timed(f"/api/v1/customers/{customer_id}/timeline?cursor={body['next_cursor']}", args.requests // 2)
    naive_view(customer_id)
    naive = []
    for _ in range(args.baseline_requests):
        started = time.perf_counter()
        naive_view(customer_id)
        naive.append((time.perf_counter() - started) * 1000)

    database = connection.vendor
    if database == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            database += " " + cursor.fetchone()[0]
    else:
        import sqlite3

        database += " " + sqlite3.sqlite_version
    rows = {
        "customers": Customer.objects.count(),
        "timeline events of the customer": total_events,
    }
    with connection.cursor() as cursor:
        for table in ("sales_orderline", "sales_order", "activities_timelineevent"):
            cursor.execute(f"SELECT COUNT(*) FROM {table}")
            rows[table] = cursor.fetchone()[0]
    section = [
        f"\n## 360° page, one customer with {total_events:,} events — {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC\n",
        f"- Machine: {os.cpu_count()} cores, Python {platform.python_version()}, {database}; "
        + ("nothing else running (quiet machine)." if args.quiet_machine else "shared with other jobs."),
        "- Data: " + ", ".join(f"{k} {v:,}" for k, v in rows.items()) + ".",
        f"- `GET {url.replace(str(customer_id), '<id>')}` as `manager` (Django test client, in process, "
        f"{args.requests} requests after 5 warm-up): p50 {statistics.median(page):.1f} ms, "
        f"**p95 {percentile(page, 95):.1f} ms**, max {max(page):.1f} ms.",
        f"- `GET /api/v1/customers/<id>/timeline` first page (30): p50 {statistics.median(api_first):.1f} ms, "
        f"p95 {percentile(api_first, 95):.1f} ms; 4,000 entries deep by cursor: p50 {statistics.median(deep):.1f} ms, "
        f"p95 {percentile(deep, 95):.1f} ms.",
        f"- Baseline (recompute figures from orders on view + read and render the whole timeline), "
        f"{args.baseline_requests} views: p50 {statistics.median(naive):.0f} ms, p95 {percentile(naive, 95):.0f} ms "
        f"→ the page is **{statistics.median(naive) / statistics.median(page):.0f}×** faster at the median.",
    ]
    text = "\n".join(section) + "\n"
    print(text)
    if not args.no_write:
        with OUT.open("a", encoding="utf-8") as out:
            out.write(text)


if __name__ == "__main__":
    main()
