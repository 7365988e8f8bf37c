"""The pipeline board with 5,000 open opportunities, against a naive board in the same run.

    .venv/bin/python benchmarks/kanban_board.py --data-dir /tmp/ingest-bench            # SQLite base (written to)
    .venv/bin/python benchmarks/kanban_board.py --database-url postgres://postgres@127.0.0.1:5432/demo1m

On a base loaded by ``pearl demo --customers 1000000`` (a copy: it is written to), tops the default
pipeline up to ``--open`` open opportunities (through ``opportunity_create`` / ``opportunity_move``,
spread over the open stages and the salespeople's customers), then requests
``GET /pipelines/<id>/board/`` through the test client as ``admin`` (who sees every card) (warm-up, then ``--requests``
timed). Baseline in the same run: the naive board — every open opportunity read with its customer,
owner and stage, and every card rendered by the template engine, no per-column cap.
Results: benchmarks/results/kanban_board.md. A measurement, not a test.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
from _bench import database_version, django_on  # noqa: E402  (beside this script)

RESULTS = ROOT / "benchmarks" / "results" / "kanban_board.md"


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default="/tmp/ingest-bench", help="PEARL_DATA_DIR of the SQLite base")
    parser.add_argument("--database-url", default="", help="PostgreSQL URL (else SQLite in --data-dir)")
    parser.add_argument("--open", type=int, default=5000)
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--baseline-requests", type=int, default=10)
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--quiet-machine", action="store_true", help="say in the results that nothing else ran")
    return parser.parse_args()


def _p95(values: list[float]) -> float:
    return sorted(values)[max(int(len(values) * 0.95) - 1, 0)]


def _top_up(target: int) -> tuple[int, int, float]:
    """Open opportunities in the default pipeline up to ``target``; returns (pipeline id, open count, seconds)."""
    from pearl.accounts.models import User
    from pearl.customers.models import Customer
    from pearl.pipelines.choices import StageKind
    from pearl.pipelines.models import Opportunity, Pipeline
    from pearl.pipelines.services import opportunity_create

    pipeline = Pipeline.objects.get(is_default=True)
    stages = list(pipeline.stages.filter(kind=StageKind.OPEN).order_by("order"))
    have = Opportunity.objects.filter(pipeline=pipeline, status=StageKind.OPEN).count()
    rng = random.Random(5)
    started = time.perf_counter()
    if have < target:
        # Customers someone active owns (after a reclaim most of a demo base lies in the pool).
        owned = list(
            Customer.objects.filter(owner__is_active=True).order_by("-id").values_list("pk", "owner_id")[: 3 * target]
        )
        owners = {u.pk: u for u in User.objects.filter(pk__in={o for _c, o in owned})}
        for customer_id, owner_id in rng.sample(owned, min(len(owned), target - have)):
            opportunity_create(
                actor=owners[owner_id], customer_id=customer_id,
                name=rng.choice(["冷库扩建", "春节备货", "年度框架协议"]),
                amount=rng.randrange(2_000, 200_000), stage_id=rng.choice(stages).pk,
                expected_close_date=dt.date.today() + dt.timedelta(days=rng.randrange(5, 120)),
            )  # fmt: skip
            have += 1
    return pipeline.pk, have, time.perf_counter() - started


def _naive_board(pipeline_id: int) -> int:
    """Every open opportunity with its relations, each card through the template engine."""
    from django.template import Context, Template

    from pearl.pipelines.choices import StageKind
    from pearl.pipelines.models import Opportunity

    card = Template(
        '<article class="card"><h3>{{ o.name }}</h3><p>{{ o.customer.name }}</p><p>{{ o.amount }}</p>'
        "<p>{{ o.owner }}</p><p>{{ o.stage.name }} · {{ o.stage.probability }}%</p></article>"
    )
    rows = Opportunity.objects.filter(pipeline_id=pipeline_id, status=StageKind.OPEN).select_related(
        "customer", "owner", "stage"
    )
    return sum(len(card.render(Context({"o": o}))) for o in rows)


def run(args: argparse.Namespace) -> None:
    from django.test import Client

    from pearl.accounts.models import User

    pipeline_id, open_count, topped = _top_up(args.open)
    client = Client()
    client.force_login(User.objects.get(username="admin"))  # sees every card
    url = f"/pipelines/{pipeline_id}/board/"
    for _ in range(3):
        assert client.get(url).status_code == 200
    times = []
    for _ in range(args.requests):
        t = time.perf_counter()
        response = client.get(url)
        times.append(time.perf_counter() - t)
        assert response.status_code == 200
    naive = []
    for _ in range(args.baseline_requests):
        t = time.perf_counter()
        _naive_board(pipeline_id)
        naive.append(time.perf_counter() - t)
    version = database_version()
    p95 = _p95(times)
    lines = [
        f"## Pipeline board — {version} — {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
        + ("nothing else running (quiet machine)." if args.quiet_machine else "**shared** with other jobs.")
        + f" {open_count:,} open opportunities in the default pipeline (topped up in {topped:.0f} s).",
        "",
        f"- `GET {url}` as `admin` (sees every card; test client, {args.requests} requests after 3 warm-up): p50 "
        f"{statistics.median(times) * 1000:.1f} ms, **p95 {p95 * 1000:.1f} ms** (target ≤ 300 ms: "
        f"**{'met' if p95 <= 0.3 else 'not met'}**), {len(response.content):,} bytes.",
        f"- Baseline (every open card read with its relations and rendered by the template engine, "
        f"{args.baseline_requests} times): p50 {statistics.median(naive) * 1000:.0f} ms → the board is "
        f"**{statistics.median(naive) / statistics.median(times):.0f}×** faster at the median.",
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
