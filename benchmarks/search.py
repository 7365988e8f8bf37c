"""Customer search at scale: Pearl's token index against a naive ``icontains`` query, same run.

    .venv/bin/python benchmarks/search.py                    # 1,000,000 customers, SQLite + PostgreSQL
    .venv/bin/python benchmarks/search.py --db sqlite --customers 100000
    .venv/bin/python benchmarks/search.py --reuse            # measure again on the loaded data

Each database runs in its own child process (Django settings are read from the environment once).
Data goes to $PEARL_BENCH_DIR (default /tmp/pearl-bench) and the PostgreSQL database
``pearl_bench`` on $PEARL_BENCH_PG (default postgres://postgres@127.0.0.1:5432); ./var is never
touched. The figures are appended to benchmarks/RESULTS.md. This is a measurement, not a test.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "RESULTS.md"
BENCH_DIR = Path(os.environ.get("PEARL_BENCH_DIR", "/tmp/pearl-bench"))
PG_SERVER = os.environ.get("PEARL_BENCH_PG", "postgres://postgres@127.0.0.1:5432")
PG_DB = "pearl_bench"
KINDS = ["name2", "name4", "initials", "pinyin", "phone_tail", "phone", "contact"]
KIND_LABELS = {
    "name2": "2 Chinese characters of a name",
    "name4": "3–4 Chinese characters of a name",
    "initials": "pinyin initials (hxjl)",
    "pinyin": "full pinyin",
    "phone_tail": "last 4 digits of a phone",
    "phone": "full mobile number",
    "contact": "contact's name",
}


# --- parent: orchestrates the children and writes RESULTS.md ---------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=40, help="queries per kind (7 kinds)")
    parser.add_argument("--baseline-queries", type=int, default=8, help="naive queries per kind")
    parser.add_argument("--page-requests", type=int, default=60)
    parser.add_argument("--reuse", action="store_true", help="measure on data already loaded")
    parser.add_argument("--load-only", action="store_true", help="load the data, measure nothing")
    parser.add_argument("--no-write", action="store_true", help="print, do not append to RESULTS.md")
    parser.add_argument("--child", choices=["sqlite", "postgres"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    results = []
    for db in (["sqlite", "postgres"] if args.db == "both" else [args.db]):
        command = [sys.executable, __file__, "--child", db, "--customers", str(args.customers),
                   "--queries", str(args.queries), "--baseline-queries", str(args.baseline_queries),
                   "--page-requests", str(args.page_requests)] + (["--reuse"] if args.reuse else []) \
            + (["--load-only"] if args.load_only else [])
        print(f"== {db}", flush=True)
        last = ""
        with subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True) as proc:
            assert proc.stdout is not None
            for line in proc.stdout:
                if line.startswith("{"):
                    last = line
                else:
                    print(line, end="", flush=True)
        if proc.returncode != 0 or not last:
            sys.exit(f"{db} run failed (exit {proc.returncode})")
        results.append(json.loads(last))
    if args.load_only:
        return
    section = report(results)
    print(section)
    if not args.no_write:
        with RESULTS.open("a", encoding="utf-8") as out:
            out.write(section)
        print(f"appended to {RESULTS}")


def machine() -> dict[str, str]:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                  if line.startswith("MemTotal"))
    return {"cpus": str(os.cpu_count()), "cpu": cpu, "ram": f"{mem_kb / 1024 / 1024:.0f} GB",
            "python": platform.python_version()}


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def report(results: list[dict[str, Any]]) -> str:
    m = machine()
    lines = [
        "",
        f"## Search at {results[0]['dataset']['customers']:,} customers — "
        f"{dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}",
        "",
        f"Machine: {m['cpus']} CPUs ({m['cpu']}), {m['ram']} RAM; Python {m['python']}. "
        "Warm cache (every query run once before timing). Times in ms, measured in the Django process.",
        "",
    ]
    for r in results:
        d = r["dataset"]
        lines += [
            f"### {r['database']}",
            "",
            f"- Dataset: {d['customers']:,} customers, {d['contacts']:,} contacts, {d['identities']:,} identities, "
            f"{d['tokens']:,} search tokens; database size {d['size_gb']:.2f} GB.",
            f"- Load (`build_demo`, incl. migrate and {r['analyze']}): "
            + (f"{r['load_seconds']:.0f} s." if r["load_seconds"] is not None else "reused an earlier load."),
            f"- Pearl: `customer_list(actor, {{'q': q}})`, first page of 25 rows materialised (tags prefetched) "
            f"+ `capped_count` (cap {r['count_cap']:,}). Naive: `Customer.objects.filter(name__icontains | "
            "short_name__icontains | contacts__name__icontains | contacts__mobile__endswith)` first page + "
            f"`.count()`, {r['baseline_per_kind']} queries per kind.",
            "",
            "| query kind | n | Pearl admin p50 | p95 | Pearl sales1 p50 | p95 | naive p50 | p95 | naive/Pearl (p50) |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for kind in [*KINDS, "all"]:
            s = r["search"][kind]
            ratio = (s["naive_p50"] / s["admin_p50"]) if s["naive_p50"] and s["admin_p50"] else None
            lines.append(
                f"| {KIND_LABELS.get(kind, '**all queries**')} | {s['n']} | {_ms(s['admin_p50'])} | "
                f"{_ms(s['admin_p95'])} | {_ms(s['sales_p50'])} | {_ms(s['sales_p95'])} | {_ms(s['naive_p50'])} | "
                f"{_ms(s['naive_p95'])} | {'–' if ratio is None else f'{ratio:.0f}×'} |"
            )
        low = r["search_cap_1000"]["all"]
        lines += [
            "",
            f"Same {low['n']} queries with the count capped at 1,000 instead of {r['count_cap']:,}: "
            f"admin p50 {_ms(low['admin_p50'])} / p95 {_ms(low['admin_p95'])} ms, "
            f"sales1 p50 {_ms(low['sales_p50'])} / p95 {_ms(low['sales_p95'])} ms.",
        ]
        p = r["page"]
        lines += [
            "",
            f"List page with a filter ({p['how']}), {p['n']} requests over {len(p['urls'])} filters: "
            f"p50 {_ms(p['p50'])} ms, p95 {_ms(p['p95'])} ms. Per filter, next to the selector alone "
            "(`customer_list` first page + `capped_count`, no template, no uncapped count):",
            "",
            "| filter | page p50 | page p95 | selector + capped count p50 | p95 |",
            "|---|---:|---:|---:|---:|",
        ]
        for url, (p50, p95) in p["per_url"].items():
            s50, s95 = p["per_url_selector"][url]
            lines.append(f"| `{url}` | {_ms(p50)} | {_ms(p95)} | {_ms(s50)} | {_ms(s95)} |")
        lines.append("")
    return "\n".join(lines) + "\n"


# --- child: one database ----------------------------------------------------------------------


def log(message: str) -> None:
    print(message, flush=True)


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def prepare_env(db: str) -> Path:
    data_dir = BENCH_DIR / db
    data_dir.mkdir(parents=True, exist_ok=True)
    os.environ["PEARL_DATA_DIR"] = str(data_dir)
    os.environ["DJANGO_SETTINGS_MODULE"] = "pearl.settings"
    if db == "postgres":
        os.environ["DATABASE_URL"] = f"{PG_SERVER}/{PG_DB}"
    else:
        os.environ.pop("DATABASE_URL", None)
    sys.path.insert(0, str(ROOT))
    return data_dir


def fresh_database(db: str, data_dir: Path) -> None:
    if db == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            (data_dir / f"pearl.sqlite3{suffix}").unlink(missing_ok=True)
        return
    host = PG_SERVER.rsplit("@", 1)[-1]
    hostname, _sep, port = host.partition(":")
    base = ["-h", hostname, "-p", port or "5432", "-U", "postgres"]
    subprocess.run(["dropdb", *base, "--if-exists", PG_DB], check=True)
    subprocess.run(["createdb", *base, PG_DB], check=True)


def child(args: argparse.Namespace) -> None:
    db = args.child
    data_dir = prepare_env(db)
    if not args.reuse:
        fresh_database(db, data_dir)

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from pearl.core.context import Channel, acting_through
    from pearl.customers.demo import build_demo, demo_present

    load_seconds = None
    if not args.reuse or not demo_present():
        started = time.monotonic()
        call_command("migrate", verbosity=0)

        def progress(done: int, total: int) -> None:
            if done % 100_000 == 0 or done == total:
                log(f"  loaded {done:,} / {total:,} ({time.monotonic() - started:.0f} s)")

        with acting_through(Channel.COMMAND):
            build_demo(customers=args.customers, seed=1, progress=progress)
        analyze(connection)
        load_seconds = time.monotonic() - started
        log(f"  load + analyze: {load_seconds:.0f} s")
    result: dict[str, Any] = {
        "database": database_label(connection),
        "load_seconds": load_seconds,
        "analyze": "VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE",
        "count_cap": settings.PEARL_SEARCH_COUNT_CAP,
        "baseline_per_kind": args.baseline_queries,
        "dataset": dataset(connection, data_dir),
    }
    if args.load_only:
        print(json.dumps(result, ensure_ascii=False))
        return
    queries = pick_queries(args.queries)
    result["search"] = measure_search(queries, args.baseline_queries)
    # The same queries with the count capped at 1,000 instead of the setting, to show what the
    # cap costs (counting is most of a common word's time).
    default_cap = settings.PEARL_SEARCH_COUNT_CAP
    settings.PEARL_SEARCH_COUNT_CAP = 1000
    result["search_cap_1000"] = measure_search(queries, 0)
    settings.PEARL_SEARCH_COUNT_CAP = default_cap
    result["page"] = measure_page(args.page_requests)
    print(json.dumps(result, ensure_ascii=False))


def analyze(connection: Any) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    else:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def database_label(connection: Any) -> str:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SHOW server_version")
            return f"PostgreSQL {cursor.fetchone()[0]}"
        cursor.execute("SELECT sqlite_version()")
        return f"SQLite {cursor.fetchone()[0]} (WAL)"


def dataset(connection: Any, data_dir: Path) -> dict[str, Any]:
    from pearl.customers.models import Contact, Customer, CustomerSearchToken, Identity

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_database_size(current_database())")
            size = cursor.fetchone()[0]
        else:
            size = sum(f.stat().st_size for f in data_dir.glob("pearl.sqlite3*"))
    return {
        "customers": Customer.objects.count(),
        "contacts": Contact.objects.count(),
        "identities": Identity.objects.count(),
        "tokens": CustomerSearchToken.objects.count(),
        "size_gb": size / 1024**3,
    }


def pick_queries(per_kind: int) -> list[tuple[str, str]]:
    """Queries taken from real rows: random customers by id, deterministic."""
    from django.db.models import Max

    from pearl.core.text import is_cjk, pinyin_initials, search_normalize
    from pearl.customers.models import Contact, Customer
    from pearl.customers.search import fast_syllables

    rng = random.Random(7)
    top = Customer.objects.aggregate(m=Max("id"))["m"]
    out: list[tuple[str, str]] = []
    while len(out) < per_kind * len(KINDS):
        customer = Customer.objects.filter(id__gte=rng.randint(1, top)).order_by("id").first()
        if customer is None:
            continue
        contact = Contact.objects.filter(customer=customer).order_by("id").first()
        name = search_normalize(rng.choice([customer.name, customer.short_name or customer.name]))
        cjk = "".join(c for c in name if is_cjk(c))
        kind = KINDS[len(out) // per_kind]
        q = ""
        if kind == "name2" and len(cjk) >= 2:
            i = rng.randrange(len(cjk) - 1)
            q = cjk[i : i + 2]
        elif kind == "name4" and len(cjk) >= 4:
            n = rng.choice([3, 4])
            i = rng.randrange(len(cjk) - n + 1)
            q = cjk[i : i + n]
        elif kind in ("initials", "pinyin") and len(cjk) >= 2:
            word = search_normalize(customer.short_name or customer.name)
            n = min(len(word), rng.choice([2, 3, 4]))
            i = rng.randrange(len(word) - n + 1)
            syllables = fast_syllables(word[i : i + n])
            q = pinyin_initials(syllables) if kind == "initials" else "".join(syllables)
        elif kind == "phone_tail" and contact is not None:
            q = contact.mobile[-4:]
        elif kind == "phone" and contact is not None:
            q = contact.mobile
        elif kind == "contact" and contact is not None:
            q = contact.name
        if q:
            out.append((kind, q))
    return out


def timed(fn: Any) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def measure_search(queries: list[tuple[str, str]], baseline_per_kind: int) -> dict[str, Any]:
    from django.db.models import Q

    from pearl.accounts.models import User
    from pearl.customers import search
    from pearl.customers.models import Customer
    from pearl.customers.search import capped_count
    from pearl.customers.selectors import customer_list

    admin = User.objects.select_related("role", "team").get(username="admin")
    sales = User.objects.select_related("role", "team").get(username="sales1")

    def pearl(actor: Any, q: str) -> tuple[int, bool]:
        search._common.clear()  # no cached token counts: every query pays for its own look-ups
        qs = customer_list(actor=actor, filters={"q": q})
        list(qs[:25])
        return capped_count(qs)

    def naive(q: str) -> int:
        qs = Customer.objects.filter(
            Q(name__icontains=q) | Q(short_name__icontains=q) | Q(contacts__name__icontains=q)
            | Q(contacts__mobile__endswith=q)
        ).order_by("-id")
        list(qs[:25])
        return qs.count()

    for _kind, q in queries:  # warm-up pass
        pearl(admin, q)
    times: dict[str, dict[str, list[float]]] = {k: {"admin": [], "sales": [], "naive": []} for k in KINDS}
    found = dict.fromkeys(KINDS, 0)
    for kind, q in queries:
        times[kind]["admin"].append(timed(lambda q=q: pearl(admin, q)))
        found[kind] += pearl(admin, q)[0] > 0
        times[kind]["sales"].append(timed(lambda q=q: pearl(sales, q)))
    per_kind: dict[str, list[str]] = {}
    for kind, q in queries:
        per_kind.setdefault(kind, [])
        if len(per_kind[kind]) < baseline_per_kind:
            per_kind[kind].append(q)
    for kind, qs in per_kind.items():
        for q in qs:
            times[kind]["naive"].append(timed(lambda q=q: naive(q)))
        log(f"  {kind:<10} admin p95 {_ms(percentile(times[kind]['admin'], 0.95))} ms, "
            f"sales1 p95 {_ms(percentile(times[kind]['sales'], 0.95))} ms, "
            f"naive p50 {_ms(percentile(times[kind]['naive'], 0.5))} ms, "
            f"found {found[kind]}/{len(times[kind]['admin'])}")
    out: dict[str, Any] = {}
    for kind in [*KINDS, "all"]:
        picked = KINDS if kind == "all" else [kind]
        values = {who: [v for k in picked for v in times[k][who]] for who in ("admin", "sales", "naive")}
        out[kind] = {"n": len(values["admin"]), "found": sum(found[k] for k in picked)}
        for who, vals in values.items():
            out[kind][f"{who}_p50"] = percentile(vals, 0.5)
            out[kind][f"{who}_p95"] = percentile(vals, 0.95)
        if kind == "all":
            out[kind]["naive_p50"] = statistics.median(values["naive"]) if values["naive"] else None
    return out


def measure_page(requests: int) -> dict[str, Any]:
    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client

    from pearl.accounts.models import User
    from pearl.customers.models import ChoiceOption, Tag
    from pearl.customers.search import capped_count
    from pearl.customers.selectors import customer_list

    admin = User.objects.select_related("role", "team").get(username="admin")
    tag = Tag.objects.get(name="重点客户")
    restaurant = ChoiceOption.objects.get(list_name="customer_type", label="餐饮")
    filters = [
        {"grade": "A"},
        {"city": "广州市"},
        {"tag": str(tag.pk)},
        {"grade": "A", "city": "广州市"},
        {"customer_type": str(restaurant.pk), "district": "番禺区"},
        {"status": "dormant", "ordering": "name"},
    ]
    call_command("collectstatic", interactive=False, verbosity=0)  # as `pearl serve` does
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    client = Client()
    client.force_login(admin)
    probe = client.get("/customers/", {"grade": "A"})
    page_ready = probe.status_code == 200 and b"<table" in probe.content
    urls = ["&".join(f"{k}={v}" for k, v in f.items()) for f in filters]
    times: list[float] = []

    def render(f: dict[str, str]) -> None:
        response = client.get("/customers/", f)
        assert response.status_code == 200, response.status_code

    def selector(f: dict[str, str]) -> None:
        qs = customer_list(actor=admin, filters=f)
        list(qs[:25])
        capped_count(qs)

    run = render if page_ready else selector
    for f in filters:
        run(f)  # warm-up
        selector(f)
    per_url: dict[str, list[float]] = {u: [] for u in urls}
    per_url_selector: dict[str, list[float]] = {u: [] for u in urls}
    for i in range(requests):
        chosen, url = filters[i % len(filters)], urls[i % len(filters)]
        elapsed = timed(lambda f=chosen: run(f))
        times.append(elapsed)
        per_url[url].append(elapsed)
        per_url_selector[url].append(timed(lambda f=chosen: selector(f)))
    how = ("GET /customers/?… through Django's test Client as admin, full template render" if page_ready
           else "the list page was not built yet: selector first page + capped_count, no template")
    log(f"  page ({'rendered' if page_ready else 'selector only'}): p95 {percentile(times, 0.95):.1f} ms")
    return {
        "how": how, "n": len(times), "urls": urls, "p50": percentile(times, 0.5), "p95": percentile(times, 0.95),
        "per_url": {u: [percentile(v, 0.5), percentile(v, 0.95)] for u, v in per_url.items()},
        "per_url_selector": {u: [percentile(v, 0.5), percentile(v, 0.95)] for u, v in per_url_selector.items()},
    }


if __name__ == "__main__":
    main()
