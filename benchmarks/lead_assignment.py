"""Assigning incoming leads by rule at scale, against a per-lead loop in the same run.

    .venv/bin/python benchmarks/lead_assignment.py --data-dir /tmp/ingest-bench            # SQLite base (written to)
    .venv/bin/python benchmarks/lead_assignment.py --database-url postgres://postgres@127.0.0.1:5432/demo1m

Runs on a database already loaded by ``pearl demo --customers 1000000`` (a copy: it is written to).
Once per base it adds 40 salespeople in two teams, two assignment rules (华南 provinces → round robin
among 20 people with a capacity; everything else → fewest open leads among the other 20) and tops
the open leads up to ``--open`` (default 200,000) through the bulk path. Then, timed:

1. ``--incoming`` (default 10,000) new leads through ``leads.services.leads_create_many`` in batches of
   ``--batch`` (an import or a channel batch), each assigned the moment it is written;
2. the baseline: ``lead_create`` one lead per call (the per-row loop) on a sample of ``--naive``;
3. ``POST /api/v1/leads`` one at a time through the test client (a lead arriving by API: the issue asks
   for it to be assigned within a second);
4. ``--events`` (default 10,000) channel ``lead`` events through ``POST /api/v1/events/batch``, 500 a call,
   a fifth of them repeat inquiries of people who have an open lead (they land on it), against
   ``--events-naive`` of them one per call to ``POST /api/v1/events``.

Results go to benchmarks/results/lead_assignment.md. A measurement, not a test.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
from _bench import database_version, django_on  # noqa: E402  (beside this script)

RESULTS = ROOT / "benchmarks" / "results" / "lead_assignment.md"
SOUTH = ["广东省", "广西壮族自治区", "海南省", "福建省"]
OTHER = ["浙江省", "江苏省", "湖南省", "湖北省", "四川省", "山东省"]


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default="/tmp/ingest-bench", help="PEARL_DATA_DIR of the SQLite base")
    parser.add_argument("--database-url", default="", help="PostgreSQL URL (else SQLite in --data-dir)")
    parser.add_argument("--open", type=int, default=200_000, help="open leads present before the timed part")
    parser.add_argument("--incoming", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--naive", type=int, default=500)
    parser.add_argument("--api", type=int, default=100)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--events-naive", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--quiet-machine", action="store_true", help="say in the results that nothing else ran")
    return parser.parse_args()


def _row(rng: random.Random, n: int, sources: list[int]) -> dict[str, Any]:
    south = rng.random() < 0.5
    return {
        "name": rng.choice("张王李赵陈刘黄周吴郑") + rng.choice(["伟", "芳", "娜", "敏", "静", "强", "磊", "洋"]),
        "company": f"{rng.choice(['鑫海', '蓝湾', '金沙', '渔港', '海纳'])}海鲜{n}号",
        "mobile": f"17{n % 10**9:09d}",
        "source": rng.choice(sources),
        "province": rng.choice(SOUTH if south else OTHER),
        "note": "询价 大闸蟹",
    }


def _lead_events(rng: random.Random, n: int, count: int, *, repeat_mobiles: list[str]) -> list[dict[str, Any]]:
    """Channel lead events: four in five from new people, one in five from someone with an open lead."""
    out = []
    for i in range(count):
        mobile = rng.choice(repeat_mobiles) if rng.random() < 0.2 else f"178{(n + i) % 10**8:08d}"
        out.append({
            "id": f"bench-lead-{n + i}", "channel": "线上询盘", "type": "lead.form",
            "identifiers": {"mobile": mobile},
            "payload": {"name": rng.choice("张王李赵陈刘") + "先生", "province": rng.choice(SOUTH + OTHER),
                        "message": "询价 大闸蟹 200 箱"},
        })  # fmt: skip
    return out


def _setup(args: argparse.Namespace, rng: random.Random) -> tuple[Any, list[int], dict[str, Any]]:
    """Salespeople, rules and the open leads, once per base; returns (admin, source ids, setup facts)."""
    from pearl.accounts.models import Role, Team, User
    from pearl.accounts.services import user_create
    from pearl.customers.models import ChoiceOption
    from pearl.leads.choices import LeadStatus
    from pearl.leads.models import AssignmentRule, Lead
    from pearl.leads.services import assignment_rule_create, leads_create_many

    admin = User.objects.get(username="admin")
    sources = list(ChoiceOption.objects.filter(list_name="source", is_active=True).values_list("pk", flat=True))
    role = Role.objects.get(name="sales")
    teams = list(Team.objects.filter(name__in=["销售一组", "销售二组"]).order_by("name"))
    people = list(User.objects.filter(username__startswith="bench_sales_").order_by("username"))
    if len(people) < 40:
        people = [
            User.objects.filter(username=f"bench_sales_{i:02d}").first()
            or user_create(actor=None, username=f"bench_sales_{i:02d}", password="bench-Pass-2026", role=role,
                           team=teams[i % 2], display_name=f"业务员{i:02d}")
            for i in range(40)
        ]  # fmt: skip
    if not AssignmentRule.objects.filter(name__startswith="bench ").exists():
        assignment_rule_create(actor=admin, data={
            "name": "bench 华南区", "method": "round_robin", "capacity": 20_000,
            "conditions": {"provinces": SOUTH}, "members": [p.pk for p in people[:20]],
        })  # fmt: skip
        assignment_rule_create(actor=admin, data={
            "name": "bench 其他地区", "method": "least_loaded", "members": [p.pk for p in people[20:]],
        })  # fmt: skip
    open_statuses = [LeadStatus.NEW, LeadStatus.CONTACTED]
    have = Lead.objects.filter(status__in=open_statuses).count()
    started = time.perf_counter()
    n = Lead.objects.count()
    while have < args.open:
        size = min(5000, args.open - have)
        result = leads_create_many(actor=admin, rows=[_row(rng, n + i, sources) for i in range(size)])
        assert not result.errors, list(result.errors.items())[:2]
        have += size
        n += size
    return admin, sources, {"open_before": have, "topped_up_seconds": time.perf_counter() - started}


def run(args: argparse.Namespace) -> None:
    from django.test import Client

    from pearl.accounts.services import token_create
    from pearl.customers.models import Customer
    from pearl.leads.models import AssignmentRule, Lead
    from pearl.leads.services import lead_create, leads_create_many

    rng = random.Random(args.seed)
    admin, sources, facts = _setup(args, rng)
    customers = Customer.objects.count()
    base = Lead.objects.count() + 1_000_000

    # 1. the bulk path
    rows = [_row(rng, base + i, sources) for i in range(args.incoming)]
    started, cpu = time.perf_counter(), time.process_time()
    by_rule_id: dict[int | None, int] = {}
    for start in range(0, len(rows), args.batch):
        result = leads_create_many(actor=admin, rows=rows[start : start + args.batch])
        assert not result.errors
        for lead in result.created:
            assert lead.owner_id is not None, "every incoming lead is assigned"
            by_rule_id[lead.assigned_rule_id] = by_rule_id.get(lead.assigned_rule_id, 0) + 1
    bulk_seconds, bulk_cpu = time.perf_counter() - started, time.process_time() - cpu
    names = dict(AssignmentRule.objects.values_list("pk", "name"))
    by_rule = {names.get(pk, "(no rule)") if pk else "(no rule)": count for pk, count in by_rule_id.items()}

    # 2. the per-lead loop
    naive_rows = [_row(rng, base + args.incoming + i, sources) for i in range(args.naive)]
    started = time.perf_counter()
    for row in naive_rows:
        lead_create(actor=admin, data=row)
    naive_seconds = time.perf_counter() - started

    # 3. one lead by API, as a channel would send it
    _token, secret = token_create(actor=None, user=admin)
    client = Client(headers={"Authorization": f"Bearer {secret}"})
    api_rows = [_row(rng, base + args.incoming + args.naive + i, sources) for i in range(args.api)]
    latencies = []
    for row in api_rows:
        t = time.perf_counter()
        response = client.post("/api/v1/leads", json.dumps(row, ensure_ascii=False), content_type="application/json")
        latencies.append(time.perf_counter() - t)
        assert response.status_code == 201, response.content[:300]
        assert json.loads(response.content)["owner"], "the answer names the owner"

    # 4. lead events from a channel, by batch and one per call
    events = _lead_events(
        rng, base + 2_000_000, args.events + args.events_naive, repeat_mobiles=[r["mobile"] for r in rows]
    )
    started = time.perf_counter()
    landed: dict[str, int] = {}
    for start in range(0, args.events, 500):
        chunk = events[start : min(start + 500, args.events)]
        response = client.post("/api/v1/events/batch", json.dumps({"events": chunk}, ensure_ascii=False),
                               content_type="application/json")  # fmt: skip
        assert response.status_code == 200, response.content[:300]
        for item in json.loads(response.content)["items"]:
            # (a number the demo gave a customer lands on that customer, as it should)
            assert item["error"] is None and (item["lead"] or item["customer"]), item
            landed[item["matched_by"]] = landed.get(item["matched_by"], 0) + 1
    events_seconds = time.perf_counter() - started
    started = time.perf_counter()
    for event in events[args.events :]:
        response = client.post("/api/v1/events", json.dumps(event, ensure_ascii=False), content_type="application/json")
        assert response.status_code == 201, response.content[:300]
    events_naive_seconds = time.perf_counter() - started

    version = database_version()
    rate, naive_rate = args.incoming / bulk_seconds, args.naive / naive_seconds
    p95 = sorted(latencies)[max(int(len(latencies) * 0.95) - 1, 0)]
    lines = [
        f"## Lead assignment — {version} — {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
        + ("nothing else running (quiet machine)." if args.quiet_machine else "**shared** with other jobs.")
        + f" Base: {customers:,} customers; {facts['open_before']:,} open leads before the timed part; 40 "
        "salespeople; rules: 华南 provinces → round robin among 20 (capacity 20,000 each), else fewest open "
        "leads among the other 20.",
        "",
        "| path | leads | wall time | leads/s |",
        "| --- | ---: | ---: | ---: |",
        f"| `leads_create_many`, {args.batch:,} per call, assigned on arrival | {args.incoming:,} | "
        f"{bulk_seconds:,.1f} s | **{rate:,.0f}** |",
        f"| baseline: `lead_create`, one per call | {args.naive:,} | {naive_seconds:,.1f} s | {naive_rate:,.0f} |",
        "",
        f"- Bulk over per-lead loop: **{rate / naive_rate:,.1f}×**; target ≥ 500 leads/s: "
        f"**{'met' if rate >= 500 else 'not met'}** (CPU of this process {bulk_cpu:,.1f} s).",
        f"- Landed by rule: {', '.join(f'{k} {v:,}' for k, v in sorted(by_rule.items()))}.",
        f"- `POST /api/v1/leads`, one lead per request ({args.api} requests, the answer naming the owner and rule): "
        f"p50 {statistics.median(latencies) * 1000:,.1f} ms, p95 {p95 * 1000:,.1f} ms.",
        f"- Channel `lead` events, `POST /api/v1/events/batch` 500 a call: {args.events:,} in {events_seconds:,.1f} s, "
        f"**{args.events / events_seconds:,.0f}/s** ({', '.join(f'{k} {v:,}' for k, v in sorted(landed.items()))}); "
        f"baseline one per call to `POST /api/v1/events`: {args.events_naive / events_naive_seconds:,.0f}/s.",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        with RESULTS.open("a", encoding="utf-8") as f:
            f.write(text + "\n")


def main() -> None:
    args = _args()
    django_on(args.data_dir, args.database_url, test_client=True)
    run(args)


if __name__ == "__main__":
    main()
