"""The nightly figures + grading + smart-tag sweep over a million customers, against a per-customer loop.

Not a test. Usage (SQLite by default; set DATABASE_URL for PostgreSQL):

    PEARL_DATA_DIR=/tmp/analytics-bench .venv/bin/python benchmarks/figures_sweep.py --customers 1000000

1. A base of N customers: ``pearl demo --customers N --no-serve --no-history`` when the data directory
   has none (an existing demo with its history is used as it is).
2. When the base has no orders, a history written set-based here (INSERT … SELECT over the customers
   and a table of small numbers): 0–7 orders per customer (3.5 on average) every 7–66 days over the
   last ~2 years, 1–5 lines per order (≈10 lines per customer) from the demo catalogue, every 50th
   order cancelled, 10 % of customers on a 12 % discount, orders older than 45 days paid 5–44 days
   after ordering except by every 20th customer (overdue money), complaints for ~2 % of customers.
3. ``figures_rebuild()`` (what the demo loader calls), three grading rules (A/B at the 90th and 50th
   percentile of the 12-month revenue, else C) and the five example smart tags switched on.
4. The sweep as of AT (the first grading writes a grade and a timeline event for most customers), the
   same sweep again (idempotent: nothing written), and the nightly one a day later (AT + 1 day).
5. The naive baseline in the same run: the per-customer recompute (figures, grade, every smart tag —
   ``customer_derived_refresh``, the event path) timed on an evenly spread sample and extrapolated.

Results go to benchmarks/results/figures_sweep.md (appended per run).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pearl.settings")

AT = dt.datetime(2026, 11, 23, 0, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
RESULTS = ROOT / "benchmarks" / "results" / "figures_sweep.md"


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


class Timer:
    def __init__(self, label: str) -> None:
        self.label = label
        self.seconds = 0.0

    def __enter__(self) -> Timer:
        self.started = time.perf_counter()
        log(f"{self.label}…")
        return self

    def __exit__(self, *exc: Any) -> None:
        self.seconds = time.perf_counter() - self.started
        log(f"{self.label}: {self.seconds:.1f} s")


def ensure_base(customers: int) -> None:
    import django

    django.setup()
    from django.core.management import call_command

    from pearl.customers.models import Customer

    call_command("migrate", verbosity=0)
    if Customer.objects.exists():
        return
    log(f"loading a base of {customers:,} customers (pearl demo --no-history)")
    subprocess.run(
        [str(ROOT / ".venv" / "bin" / "pearl"), "demo", "--customers", str(customers), "--no-serve", "--no-history"],
        check=True,
        env=os.environ.copy(),
    )


def _sql(vendor: str) -> dict[str, str]:
    if vendor == "postgresql":
        return {
            "minus_days": "(%s::timestamptz - make_interval(secs => ({x}) * 86400.0))",
            "plus_days": "({t} + make_interval(days => ({x})::int))",
            "date": "(({t}) AT TIME ZONE 'Asia/Shanghai')::date",
        }
    return {
        "minus_days": "datetime(%s, '-' || (({x}) * 86400) || ' seconds')",
        "plus_days": "datetime({t}, '+' || ({x}) || ' days')",
        "date": "date({t}, '+8 hours')",
    }


def generate_history() -> dict[str, int]:
    """Orders, lines and complaints for every customer, in a few INSERT … SELECT statements."""
    from django.db import connection, transaction
    from django.utils import timezone

    from pearl.activities.models import Complaint
    from pearl.sales.demo import catalogue_ensure
    from pearl.sales.models import Order, OrderLine, Product

    catalogue_ensure()
    vendor = connection.vendor
    s = _sql(vendor)
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    at = connection.ops.adapt_datetimefield_value(AT)
    products = list(Product.objects.order_by("pk").values_list("pk", "price", "cost"))
    with transaction.atomic(), connection.cursor() as c:
        c.execute("CREATE TEMPORARY TABLE bench_k (i integer PRIMARY KEY)")
        c.executemany("INSERT INTO bench_k (i) VALUES (%s)", [(i,) for i in range(8)])
        c.execute("CREATE TEMPORARY TABLE bench_p (rn integer PRIMARY KEY, id bigint, price numeric, cost numeric)")
        c.executemany(
            "INSERT INTO bench_p (rn, id, price, cost) VALUES (%s, %s, %s, %s)",
            [(rn, pk, str(price), str(cost or 0)) for rn, (pk, price, cost) in enumerate(products)],
        )
        n_products = len(products)
        ordered = s["minus_days"].format(x="(c.id % 200) + k.i * (7 + (c.id % 60)) + (c.id % 24) / 24.0")
        t0 = time.perf_counter()
        c.execute(
            f"""
            INSERT INTO {Order._meta.db_table} (created_at, updated_at, version, number, customer_id, status,
                ordered_at, currency, subtotal, discount, amount, paid_amount, delivery_contact, delivery_phone,
                delivery_address, note)
            SELECT %s, %s, 1, 'BM' || c.id || '-' || k.i, c.id,
                   CASE WHEN (c.id + k.i) % 50 = 0 THEN 'cancelled' ELSE 'delivered' END,
                   {ordered}, 'CNY', 0, 0, 0, 0, '', '', '', ''
            FROM customers_customer c JOIN bench_k k ON k.i < (c.id * 2654435761) % 8
            """,
            [now, now, at],
        )
        log(f"  orders inserted ({time.perf_counter() - t0:.0f} s)")
        t0 = time.perf_counter()
        c.execute(
            f"""
            INSERT INTO {OrderLine._meta.db_table} (order_id, product_id, quantity, unit_price, discount, amount)
            SELECT o.id, p.id, 1 + (o.id + k.i) % 9, p.price,
                   CASE WHEN o.customer_id % 10 = 0 THEN ROUND((1 + (o.id + k.i) % 9) * p.price * 0.12, 2) ELSE 0 END,
                   (1 + (o.id + k.i) % 9) * p.price
                   - CASE WHEN o.customer_id % 10 = 0 THEN ROUND((1 + (o.id + k.i) % 9) * p.price * 0.12, 2) ELSE 0 END
            FROM {Order._meta.db_table} o
            JOIN bench_k k ON k.i < 1 + o.id % 5
            JOIN bench_p p ON p.rn = (o.id * 31 + k.i * 7) % {n_products}
            WHERE o.number LIKE 'BM%%'
            """
        )
        log(f"  lines inserted ({time.perf_counter() - t0:.0f} s)")
        t0 = time.perf_counter()
        paid_at = s["plus_days"].format(t=f"{Order._meta.db_table}.ordered_at", x=f"5 + {Order._meta.db_table}.id % 40")
        due = s["date"].format(t=s["plus_days"].format(t=f"{Order._meta.db_table}.ordered_at", x="30"))
        c.execute(
            f"""
            UPDATE {Order._meta.db_table}
            SET subtotal = ROUND(t.subtotal, 2), discount = ROUND(t.discount, 2), amount = ROUND(t.amount, 2),
                cost = ROUND(t.cost, 2), due_date = {due}
            FROM (
                SELECT l.order_id, SUM(l.quantity * l.unit_price) AS subtotal, SUM(l.discount) AS discount,
                       SUM(l.amount) AS amount, SUM(l.quantity * p.cost) AS cost
                FROM {OrderLine._meta.db_table} l JOIN bench_p p ON p.id = l.product_id
                GROUP BY l.order_id
            ) t
            WHERE {Order._meta.db_table}.id = t.order_id
            """
        )
        old = s["minus_days"].format(x="45")
        c.execute(
            f"""
            UPDATE {Order._meta.db_table} SET paid_amount = amount, paid_at = {paid_at}
            WHERE number LIKE 'BM%%' AND status <> 'cancelled' AND customer_id % 20 <> 0 AND ordered_at < {old}
            """,
            [at],
        )
        log(f"  orders summed and paid ({time.perf_counter() - t0:.0f} s)")
        received = s["minus_days"].format(x="(c.id % 10) + k.i * 5")
        c.execute(
            f"""
            INSERT INTO {Complaint._meta.db_table} (created_at, updated_at, version, customer_id, kind, category,
                title, description, status, received_at, resolution)
            SELECT %s, %s, 1, c.id, 'complaint', 'quality', '虾不新鲜', '', 'open', {received}, ''
            FROM customers_customer c JOIN bench_k k ON k.i < CASE WHEN c.id % 97 = 0 THEN 2 ELSE 1 END
            WHERE c.id % 97 = 0 OR c.id % 89 = 0
            """,
            [now, now, at],
        )
        c.execute("DROP TABLE bench_k")
        c.execute("DROP TABLE bench_p")
    with connection.cursor() as c:
        c.execute("ANALYZE")
    return {"orders": Order.objects.count(), "lines": OrderLine.objects.count()}


def configure_rules() -> dict[str, Any]:
    """A/B at the 90th and 50th percentile of the 12-month revenue, else C; the example smart tags on."""
    from decimal import Decimal

    from pearl.accounts.models import User
    from pearl.analytics import services
    from pearl.analytics.models import CustomerFigures, GradingRule, SmartTagRule

    admin = User.objects.filter(is_superuser=True).first() or User.objects.filter(role__name="admin").first()
    assert admin is not None, "the demo has an admin"
    if not GradingRule.objects.exists():
        buyers = CustomerFigures.objects.filter(revenue_12m__gt=0).order_by("revenue_12m")
        count = buyers.count()
        p50 = buyers.values_list("revenue_12m", flat=True)[count // 2] if count else Decimal("1000")
        p90 = buyers.values_list("revenue_12m", flat=True)[count * 9 // 10] if count else Decimal("10000")
        a, b = int(round(float(p90), -3)), int(round(float(p50), -2))
        services.grading_rule_create(actor=admin, data={"grade": "A", "order": 1, "min_revenue_12m": str(a)})
        services.grading_rule_create(actor=admin, data={"grade": "B", "order": 2, "min_revenue_12m": str(b)})
        services.grading_rule_create(actor=admin, data={"grade": "C", "order": 3})
    services.smart_tag_examples_install(actor=admin)
    SmartTagRule.objects.update(is_active=True)  # switched on together; the sweep applies them
    rules = [(r.grade, r.min_revenue_12m) for r in GradingRule.objects.order_by("order")]
    return {"grading": rules, "smart_tags": list(SmartTagRule.objects.values_list("tag__name", flat=True))}


def sweep(at: dt.datetime) -> dict[str, Any]:
    from pearl.analytics import figures as compute
    from pearl.analytics import services

    out: dict[str, Any] = {}
    with Timer(f"  time-dependent figures as of {at:%Y-%m-%d}") as t1:
        out["figures_changed"] = compute.sweep_time(at)
    with Timer("  grading") as t2:
        out["grades_changed"] = services.grades_apply(at=at)
    with Timer("  smart tags") as t3:
        out["tags"] = services.smart_tags_apply(at=at)
    out["seconds"] = {"figures": t1.seconds, "grading": t2.seconds, "tags": t3.seconds}
    out["total"] = t1.seconds + t2.seconds + t3.seconds
    return out


def baseline(sample: int, at: dt.datetime) -> dict[str, Any]:
    """The per-customer loop (the event path for every customer) on an evenly spread sample."""
    from pearl.analytics.services import customer_derived_refresh
    from pearl.customers.models import Customer

    ids = list(Customer.objects.order_by("pk").values_list("pk", flat=True))
    step = max(len(ids) // sample, 1)
    picked = ids[::step][:sample]
    started = time.perf_counter()
    for pk in picked:
        customer_derived_refresh(customer_id=pk, at=at)
    seconds = time.perf_counter() - started
    return {"sample": len(picked), "seconds": seconds, "per_customer_ms": 1000 * seconds / len(picked),
            "extrapolated": seconds / len(picked) * len(ids)}  # fmt: skip


def machine() -> str:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f"{kb / 1024 / 1024:.0f} GB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return f"{os.cpu_count()} CPUs ({cpu}), {mem}; Python {platform.python_version()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=2000, help="customers timed in the per-customer baseline")
    parser.add_argument("--no-write", action="store_true", help="do not append to the results file")
    parser.add_argument("--quiet-machine", action="store_true", help="say in the results that nothing else ran")
    args = parser.parse_args()

    ensure_base(args.customers)
    from django.db import connection

    from pearl.activities.models import TimelineEvent
    from pearl.analytics.services import figures_rebuild
    from pearl.customers.models import Customer
    from pearl.sales.models import Order, OrderLine

    vendor = connection.vendor
    with connection.cursor() as c:
        c.execute("SELECT sqlite_version()" if vendor == "sqlite" else "SHOW server_version")
        version = f"{'SQLite' if vendor == 'sqlite' else 'PostgreSQL'} {c.fetchone()[0]}"
    generated = {}
    if not Order.objects.exists():
        with Timer("history written set-based") as gen:
            generated = generate_history()
        generated["seconds"] = round(gen.seconds)
    counts = {"customers": Customer.objects.count(), "orders": Order.objects.count(),
              "lines": OrderLine.objects.count()}  # fmt: skip
    log(f"data: {counts}")
    with Timer("figures_rebuild() over everyone") as rebuild:
        rows = figures_rebuild(at=AT)
    rules = configure_rules()
    events_before = TimelineEvent.objects.filter(kind="grade").count()
    log("sweep 1 (first grading)")
    first = sweep(AT)
    grade_events = TimelineEvent.objects.filter(kind="grade").count() - events_before
    log("sweep 2 (same moment again)")
    second = sweep(AT)
    log("sweep 3 (the next night)")
    nightly = sweep(AT + dt.timedelta(days=1))
    log(f"baseline: per-customer loop on {args.sample} customers")
    base = baseline(args.sample, AT + dt.timedelta(days=1))
    log(f"baseline {base['per_customer_ms']:.1f} ms per customer → {base['extrapolated']:.0f} s extrapolated")

    def tags(result: dict[str, Any]) -> str:
        return ", ".join(f"{k} +{v['added']:,}/−{v['removed']:,}" for k, v in result["tags"].items())

    def row(label: str, r: dict[str, Any]) -> str:
        sec = r["seconds"]
        return (f"| {label} | {sec['figures']:.1f} s ({r['figures_changed']:,} rows) | {sec['grading']:.1f} s "
                f"({r['grades_changed']:,} changed) | {sec['tags']:.1f} s | **{r['total']:.1f} s** |")  # fmt: skip

    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    shared = (
        "Quiet machine (nothing else ran but the database server)."
        if args.quiet_machine
        else "**Machine shared with other jobs** (other helpers' tests and benchmarks were running)."
    )
    lines = [
        f"## Nightly figures + grading + smart-tag sweep — {version} — {stamp}",
        "",
        f"Machine: {machine()}. {shared}",
        f"Data: {counts['customers']:,} customers, {counts['orders']:,} orders, {counts['lines']:,} order lines"
        + (
            f" (history generated set-based by the script in {generated['seconds']} s)"
            if generated
            else " (demo history)"
        )
        + f"; as of {AT.isoformat()}.",
        f"Rules: grading {rules['grading']}; smart tags {', '.join(rules['smart_tags'])} (all on).",
        "",
        "- `figures_rebuild()` over everyone (INSERT … SELECT … GROUP BY, what `pearl demo` calls): "
        f"**{rebuild.seconds:.1f} s** ({rows:,} figures rows).",
        "",
        "| sweep | time-dependent figures | grading | smart tags | total |",
        "|---|---:|---:|---:|---:|",
        row("1st, as of AT (first grading; one timeline event per change)", first),
        row("2nd, same moment (idempotent)", second),
        row("**nightly**, AT + 1 day", nightly),
        "",
        f"- First sweep wrote {grade_events:,} grade timeline events; smart tags: {tags(first)}.",
        f"- Second sweep: {tags(second)}. Nightly: {tags(nightly)}.",
        f"- **Baseline** (per-customer recompute loop — figures, grade and every smart tag of one customer, the event "
        f"path — timed on {base['sample']:,} customers spread evenly over the ids and extrapolated to "
        f"{counts['customers']:,}): {base['per_customer_ms']:.1f} ms per customer → "
        f"**≈{base['extrapolated']:.0f} s** (extrapolated, not run in full). "
        f"Nightly sweep vs baseline: **{base['extrapolated'] / nightly['total']:.0f}×**.",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        with RESULTS.open("a", encoding="utf-8") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
