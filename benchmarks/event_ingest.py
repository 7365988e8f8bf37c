"""Channel-event ingestion at scale: the batch endpoint against a naive baseline, same run.

    .venv/bin/python benchmarks/event_ingest.py                        # SQLite: a copy of /tmp/pearl-bench
    .venv/bin/python benchmarks/event_ingest.py --events 20000 --naive 500
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ingest_bench .venv/bin/python benchmarks/event_ingest.py

Posts ``--events`` channel events (default 100,000) through ``POST /api/v1/events/batch``, 1,000 per
call, with Django's test client (the whole request path: auth, JSON, validation, resolution, writes,
answer), against a database of a million demo customers: 80 % carry the mobile of an existing
customer (in the formats channels send: plain, ``+86 …``, with dashes), 20 % a new mobile — half of
those name the person (so the duplicate matcher is asked), and a tenth of the new ones repeat a mobile
an earlier event introduced. In the same run the naive baseline posts a sample of the same mix one
event per call to ``POST /api/v1/events``. Then one batch is replayed (1,000 replays).

SQLite: the 1M-customer base in ``--source`` (``pearl demo --customers 1000000`` in
``PEARL_DATA_DIR=/tmp/pearl-bench``) is copied to ``--work`` first and never written to. PostgreSQL
(``DATABASE_URL`` set): the database is used as it is and written to — give it one of its own.
Results go to ``benchmarks/results/event_ingest.md`` (appended per database). A measurement, not a test.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import itertools
import json
import os
import platform
import random
import shutil
import sqlite3
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "event_ingest.md"
TITLES = ["询价 大闸蟹", "下单 基围虾 5 斤", "咨询 冻品配送", "投诉 送货晚了"]
TYPES = ["order", "call", "form_submitted", "wechat", "page_view", "complaint", "coupon_used"]


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--naive", type=int, default=1000, help="events of the one-per-call baseline sample")
    parser.add_argument("--known", type=float, default=0.8, help="share of events with an existing mobile")
    parser.add_argument("--named", type=float, default=0.5, help="share of new-mobile events that name the person")
    parser.add_argument("--source", default="/tmp/pearl-bench", help="PEARL_DATA_DIR of the 1M-customer base")
    parser.add_argument("--work", default="/tmp/ingest-bench", help="where the SQLite copy goes")
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--reuse", action="store_true", help="keep the SQLite copy of an earlier run (migrated)")
    parser.add_argument("--no-write", action="store_true", help="print the figures, do not append them to the results")
    parser.add_argument("--profile", metavar="PATH", help="cProfile the batch requests into PATH (pstats format)")
    parser.add_argument("--quiet-machine", action="store_true", help="say in the results that nothing else ran")
    return parser.parse_args()


def _prepare_sqlite(source: Path, work: Path) -> None:
    db = work / "pearl.sqlite3"
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    for suffix in ("", "-wal", "-shm"):
        if (source / f"pearl.sqlite3{suffix}").exists():
            shutil.copy2(source / f"pearl.sqlite3{suffix}", work / f"pearl.sqlite3{suffix}")
    if (source / "secret_key").exists():
        shutil.copy2(source / "secret_key", work / "secret_key")
    assert db.exists(), f"no base at {source}: build it with `pearl demo --customers 1000000`"


def main() -> None:
    args = _args()
    on_postgres = os.environ.get("DATABASE_URL", "").startswith("postgres")
    if not on_postgres:
        if not (args.reuse and (Path(args.work) / "pearl.sqlite3").exists()):
            _prepare_sqlite(Path(args.source), Path(args.work))
        os.environ["PEARL_DATA_DIR"] = str(Path(args.work).resolve())
    else:
        os.environ.setdefault("PEARL_DATA_DIR", str(Path(args.work).resolve()))
        Path(os.environ["PEARL_DATA_DIR"]).mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pearl.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command
    from django.test.utils import setup_test_environment

    if not on_postgres:
        # Migrations added since the base was built would each end with SQLite's whole-database
        # ``PRAGMA foreign_key_check`` (tens of minutes over 1M customers' tokens); they add tables
        # and columns to a consistent copy, so that check is skipped here.
        from django.db.backends.sqlite3.base import DatabaseWrapper

        DatabaseWrapper.check_constraints = lambda self, table_names=None: None  # type: ignore[method-assign]
    call_command("migrate", verbosity=0)
    setup_test_environment()  # the test client's host is allowed; nothing else changes
    run(args, on_postgres)


def run(args: argparse.Namespace, on_postgres: bool) -> None:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from pearl.accounts.models import User
    from pearl.accounts.services import token_create
    from pearl.activities.models import TimelineEvent
    from pearl.customers.models import Customer, Identity

    rng = random.Random(args.seed)
    if on_postgres:
        # A base just bulk-loaded may have no planner statistics yet (autovacuum gets there later);
        # without them the identity lookup is planned as a scan of every mobile.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE customers_identity, customers_customer, activities_timelineevent")
    customers = Customer.objects.count()
    actor = User.objects.filter(is_active=True, role__can_create=True, role__data_scope="all").order_by("pk").first()
    assert actor is not None, "no active user who may create and sees everything"
    _token, secret = token_create(actor=None, user=actor)
    client = Client(headers={"Authorization": f"Bearer {secret}", "Accept-Language": "zh-hans"})

    started = time.perf_counter()
    total_known = int(args.events * args.known) + int(args.naive * args.known) + 10
    order = "RANDOM()"
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT value FROM customers_identity WHERE kind = 'mobile' ORDER BY {order} LIMIT %s", [total_known]
        )
        known = [row[0] for row in cursor.fetchall()]
    # New mobiles: a range the demo does not use, checked against the identities.
    fresh_pool = [f"199{n:08d}" for n in rng.sample(range(10**8), args.events)]
    taken = set(Identity.objects.filter(kind="mobile", value__in=fresh_pool[:30000]).values_list("value", flat=True))
    fresh_pool = [m for m in fresh_pool if m not in taken]
    sampled = time.perf_counter() - started

    def shape(mobile: str) -> str:
        style = rng.random()
        if style < 0.2:
            return f"+86 {mobile[:3]} {mobile[3:7]} {mobile[7:]}"
        if style < 0.3:
            return f"{mobile[:3]}-{mobile[3:7]}-{mobile[7:]}"
        return mobile

    introduced: list[str] = []
    known_iter = itertools.cycle(known)  # a few more than expected may be drawn: some repeat
    fresh_iter = iter(fresh_pool)
    base = dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC)

    def make(event_id: str) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "title": rng.choice(["询价 大闸蟹", "下单 基围虾 5 斤", "咨询 冻品配送", "投诉 送货晚了"])
        }
        if rng.random() < args.known:
            mobile = next(known_iter)
        else:
            if introduced and rng.random() < 0.1:
                mobile = rng.choice(introduced)
            else:
                mobile = next(fresh_iter)
                introduced.append(mobile)
            if rng.random() < args.named:
                payload["name"] = rng.choice("张王李赵陈刘黄周吴郑") + rng.choice(
                    ["伟", "芳", "娜", "敏", "静", "强", "磊", "洋"]
                )
        return {
            "id": event_id,
            "channel": rng.choice(["web", "shop", "callcenter", "wechat"]),
            "type": rng.choice(TYPES),
            "occurred_at": (base + dt.timedelta(seconds=rng.randrange(86400 * 20))).isoformat(),
            "identifiers": {"mobile": shape(mobile)},
            "payload": payload,
        }

    run_id = f"{time.time():.0f}"  # event ids unique per run, so a reused database sees new events
    events = [make(f"bench-{run_id}-{n}") for n in range(args.events)]
    naive_events = [make(f"naive-{run_id}-{n}") for n in range(args.naive)]
    before_customers, before_events = customers, TimelineEvent.objects.count()

    # --- the batch endpoint ---------------------------------------------------------------------------
    batch_times: list[float] = []
    outcomes: Counter[str] = Counter()
    queries_per_batch = 0
    batch_cpu = 0.0
    profiler = cProfile.Profile() if args.profile else None
    t0 = time.perf_counter()
    for n, start in enumerate(range(0, len(events), args.batch)):
        body = json.dumps({"events": events[start : start + args.batch]}, ensure_ascii=False)
        t, cpu = time.perf_counter(), time.process_time()
        if n == 1:
            with CaptureQueriesContext(connection) as captured:
                response = client.post("/api/v1/events/batch", body, content_type="application/json")
            queries_per_batch = len(captured.captured_queries)
            slowest = sorted(captured.captured_queries, key=lambda q: -float(q["time"]))[:6]
            print("  slowest statements of the second batch:", flush=True)
            for q in slowest:
                print(f"    {float(q['time']) * 1000:8.1f} ms  {q['sql'][:150]}", flush=True)
        elif profiler is not None and n > 1:  # the first batch pays for imports and caches: not profiled
            response = profiler.runcall(client.post, "/api/v1/events/batch", body, content_type="application/json")
        else:
            response = client.post("/api/v1/events/batch", body, content_type="application/json")
        batch_times.append(time.perf_counter() - t)
        batch_cpu += time.process_time() - cpu
        assert response.status_code == 200, response.content[:500]
        answer = json.loads(response.content)
        assert answer["failed"] == 0, [i["error"] for i in answer["items"] if i["error"]][:3]
        outcomes.update(i["matched_by"] for i in answer["items"])
        outcomes["customers_created"] += answer["customers_created"]
        if (n + 1) % 10 == 0:
            done = start + args.batch
            print(f"  {done:,} events  {done / (time.perf_counter() - t0):,.0f}/s", flush=True)
    batch_seconds = time.perf_counter() - t0
    if profiler is not None:
        profiler.dump_stats(args.profile)
    created = Customer.objects.count() - before_customers
    recorded = TimelineEvent.objects.count() - before_events
    assert recorded == len(events), (recorded, len(events))
    assert created == outcomes["customers_created"], (created, outcomes)

    # --- a replayed batch ----------------------------------------------------------------------------
    body = json.dumps({"events": events[: args.batch]}, ensure_ascii=False)
    t = time.perf_counter()
    response = client.post("/api/v1/events/batch", body, content_type="application/json")
    replay_seconds = time.perf_counter() - t
    replayed = json.loads(response.content)
    assert replayed["replayed"] == args.batch and replayed["recorded"] == 0
    assert TimelineEvent.objects.count() - before_events == len(events)

    # --- the naive baseline: one event per call -----------------------------------------------------------
    naive_times = []
    naive_cpu = 0.0
    t0 = time.perf_counter()
    for one in naive_events:
        t, cpu = time.perf_counter(), time.process_time()
        response = client.post("/api/v1/events", json.dumps(one, ensure_ascii=False), content_type="application/json")
        naive_times.append(time.perf_counter() - t)
        naive_cpu += time.process_time() - cpu
        assert response.status_code in (200, 201), response.content[:500]
    naive_seconds = time.perf_counter() - t0

    rate = len(events) / batch_seconds
    naive_rate = len(naive_events) / naive_seconds
    vendor = "PostgreSQL" if on_postgres else f"SQLite {sqlite3.sqlite_version}"
    if on_postgres:
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            vendor += " " + cursor.fetchone()[0]
    lines = [
        f"## Channel events — {vendor}, {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
        + (
            "nothing else running (quiet machine)."
            if args.quiet_machine
            else "**shared** with other jobs running at the same time, so the figures are conservative and vary run "
            "to run."
        )
        + (" **Profiled** (cProfile slows the batches; rates not comparable)." if profiler is not None else ""),
        f"Base: {customers:,} customers (`pearl demo --customers 1000000`); {len(events):,} events in batches of "
        f"{args.batch:,} through `POST /api/v1/events/batch` (Django test client, full request path), "
        f"{args.known:.0%} with an existing customer's mobile, the rest new mobiles ({args.named:.0%} of those name "
        "the person — only those are put to the duplicate matcher, one call each; a tenth of the new ones repeat an "
        "earlier new mobile).",
        "",
        "| path | events | wall time | events/s (wall) | CPU time | events per CPU-second |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
        f"| batch endpoint, 1,000 per call | {len(events):,} | {batch_seconds:,.1f} s | **{rate:,.0f}** | "
        f"{batch_cpu:,.1f} s | **{len(events) / batch_cpu:,.0f}** |",
        f"| naive: one event per call (`POST /api/v1/events`), sample | {len(naive_events):,} | "
        f"{naive_seconds:,.1f} s | {naive_rate:,.0f} | {naive_cpu:,.1f} s | {len(naive_events) / naive_cpu:,.0f} |",
        f"| replay of one batch (1,000 already recorded) | {args.batch:,} | {replay_seconds:,.2f} s | "
        f"{args.batch / replay_seconds:,.0f} | | |",
        "",
        f"- Speed-up of the batch path over the naive one: **{rate / naive_rate:,.1f}×** wall, "
        f"**{(len(events) / batch_cpu) / (len(naive_events) / naive_cpu):,.1f}×** CPU. Target ≥ 2,000 events/s: "
        f"**{'met' if rate >= 2000 else 'not met'}** on the wall clock, "
        f"**{'met' if len(events) / batch_cpu >= 2000 else 'not met'}** per CPU-second (the whole request in this "
        "process: auth, JSON, validation, resolution, writes, answer; "
        + (
            "the PostgreSQL server's own CPU is not in it)."
            if on_postgres
            else "SQLite runs in-process, so it is in it)."
        ),
        f"- Per batch of 1,000: median {statistics.median(batch_times) * 1000:,.0f} ms, "
        f"p95 {sorted(batch_times)[int(len(batch_times) * 0.95) - 1] * 1000:,.0f} ms, "
        f"{queries_per_batch} SQL statements for the second batch.",
        f"- Naive, per event: median {statistics.median(naive_times) * 1000:,.1f} ms.",
        "- Landed by: "
        + ", ".join(f"{k} {v:,}" for k, v in sorted(outcomes.items()) if k != "customers_created")
        + f"; customers created: {created:,}; timeline rows written: {recorded:,}.",
        f"- Sampling the known mobiles (not timed in the rates): {sampled:,.1f} s.",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if args.no_write or profiler is not None:
        return
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    header = "# Channel-event ingestion (`benchmarks/event_ingest.py`)\n\n"
    existing = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else header
    RESULTS.write_text(existing + "\n" + text, encoding="utf-8")


if __name__ == "__main__":
    main()
