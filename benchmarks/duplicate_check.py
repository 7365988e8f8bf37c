"""The duplicate check while typing, at scale: Pearl's indexed match keys against a naive query, same run.

    .venv/bin/python benchmarks/duplicate_check.py                 # SQLite, on the data benchmarks/search.py loaded
    .venv/bin/python benchmarks/duplicate_check.py --db postgres
    .venv/bin/python benchmarks/duplicate_check.py --data-dir /tmp/scan1m --scan --no-baseline-scan --no-write

Runs on the demo data that ``benchmarks/search.py`` loads (1,000,000 customers by default; load it
first with ``benchmarks/search.py --db sqlite --load-only``). Migrates, keys every customer once
(``match_keys_rebuild``, timed) when the keys are missing, then times ``selectors.duplicate_check``
on candidates a salesperson would type for customers that exist (short name + city, the name
without its region and legal form + a reformatted mobile, a name being typed character by
character) and for customers that do not. The naive baseline is what a CRM without the index does:
``name__icontains`` / ``short_name__icontains`` / contact mobile, then the same matcher on what it
finds. Appends the figures to benchmarks/RESULTS.md. A measurement, not a test.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from search import RESULTS, machine, percentile, prepare_env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--customers", type=int, default=100, help="existing customers to derive queries from")
    parser.add_argument("--baseline-queries", type=int, default=12)
    parser.add_argument("--no-write", action="store_true", help="print, do not append to RESULTS.md")
    parser.add_argument("--scan", action="store_true", help="also time the batch scan (kept features vs parsing)")
    parser.add_argument("--no-baseline-scan", action="store_true", help="with --scan: skip the parsing baseline")
    parser.add_argument("--reindex", action="store_true", help="time a full rebuild of the keys and features")
    parser.add_argument("--data-dir", help="use the base in this PEARL_DATA_DIR (e.g. one `pearl demo` made)")
    parser.add_argument("--queue", action="store_true", help="with --scan: time duplicates_scan too (writes the queue)")
    args = parser.parse_args()
    prepare_env(args.db)
    if args.data_dir:
        os.environ["PEARL_DATA_DIR"] = str(Path(args.data_dir).resolve())

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from pearl.accounts.models import User
    from pearl.customers.models import Customer
    from pearl.dataquality.models import MatchKey
    from pearl.dataquality.services.matchkeys import match_keys_rebuild

    total = Customer.objects.count()
    if not total:
        sys.exit("no customers: load them first with benchmarks/search.py --load-only")
    started = time.monotonic()
    call_command("migrate", verbosity=0)  # 0003 keys the existing customers when it is applied here
    migrate_seconds = time.monotonic() - started
    rebuild_seconds = None
    if args.reindex or not MatchKey.objects.exists():
        started = time.monotonic()
        match_keys_rebuild(progress=lambda done: print(f"  keyed {done:,}", flush=True))
        rebuild_seconds = time.monotonic() - started
    keys = MatchKey.objects.count()
    print(f"{total:,} customers, {keys:,} match keys; migrate {migrate_seconds:.0f} s, rebuild {rebuild_seconds} s")
    queries = _queries(args.customers)
    actors = {name: User.objects.get(username=name) for name in ("admin", "sales1")}
    result: dict[str, Any] = {"db": connection.vendor, "customers": total, "keys": keys,
                              "keying_seconds": rebuild_seconds or migrate_seconds, "queries": len(queries),
                              "keying_how": "match_keys_rebuild of the whole base took" if rebuild_seconds
                              else "migrate, which keyed the base, took"}
    result["pearl"] = {name: _time(actor, queries) for name, actor in actors.items()}
    result["naive"] = _time_naive(actors["admin"], random.Random(2).sample(queries, args.baseline_queries))
    if args.scan:
        result["scan"] = _time_scan(actors["admin"], baseline=not args.no_baseline_scan, queue=args.queue)
    section = _report(result)
    print(section)
    if not args.no_write:
        with RESULTS.open("a", encoding="utf-8") as out:
            out.write(section)
        print(f"appended to {RESULTS}")


def _queries(count: int) -> list[tuple[str, Any, int | None]]:
    """(kind, Candidate, id of the customer it should find or None) — varied the way people type."""
    from pearl.core.duplicates import Candidate
    from pearl.core.phones import format_phone
    from pearl.customers.models import Customer

    rng = random.Random(1)
    top = Customer.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    picked = sorted({rng.randint(1, top) for _i in range(count * 2)})
    found = list(Customer.objects.filter(pk__in=picked, kind="company").prefetch_related("contacts")[:count])
    out: list[tuple[str, Any, int | None]] = []
    for c in found:
        contacts = list(c.contacts.all())
        short = c.short_name or c.name
        out.append(("short name + city", Candidate(name=short, city=c.city), c.pk))
        if contacts and contacts[0].mobile:
            core = c.name.removeprefix(c.province).removeprefix(c.city).replace("有限公司", "")
            typed = Candidate(name=core, mobiles=(format_phone(contacts[0].mobile),))
            out.append(("name core + mobile as typed", typed, c.pk))
        for n in range(2, min(len(short), 5) + 1):
            out.append(("name being typed", Candidate(name=short[:n]), None))
        out.append(("a new customer", Candidate(name=f"{c.city}{short[::-1]}新开{rng.randint(1, 999)}号店",
                                               city=c.city), None))
    return out


def _time(actor: Any, queries: list[tuple[str, Any, int | None]]) -> dict[str, Any]:
    from pearl.dataquality import selectors

    for _kind, candidate, _expect in queries[:20]:  # warm the caches (pinyin, regions) as a running server has
        selectors.duplicate_check(actor=actor, candidate=candidate)
    by_kind: dict[str, list[float]] = {}
    expected = hit = 0
    for kind, candidate, expect in queries:
        started = time.perf_counter()
        check = selectors.duplicate_check(actor=actor, candidate=candidate)
        by_kind.setdefault(kind, []).append((time.perf_counter() - started) * 1000)
        if expect is not None:
            expected += 1
            hit += any(h.customer_id == expect for h in check.hits)
    every = [t for times in by_kind.values() for t in times]
    return {
        "kinds": {k: (len(v), percentile(v, 0.5), percentile(v, 0.95)) for k, v in by_kind.items()},
        "all": (len(every), percentile(every, 0.5), percentile(every, 0.95)),
        "found": (hit, expected),
    }


def _time_naive(actor: Any, queries: list[tuple[str, Any, int | None]]) -> dict[str, Any]:
    """No index: substring and mobile match over the customers, then the same matcher on the few found."""
    from django.db.models import Q

    from pearl.customers.selectors import customer_visible
    from pearl.dataquality import selectors
    from pearl.dataquality.matching import Record, compare_many, prepare

    config = selectors.match_config()
    times = []
    for _kind, candidate, _expect in queries:
        started = time.perf_counter()
        text = candidate.name or candidate.short_name
        where = Q(name__icontains=text) | Q(short_name__icontains=text)
        if candidate.mobiles:
            digits = "".join(ch for ch in candidate.mobiles[0] if ch.isdigit())
            where |= Q(contacts__mobile=digits)
        ids = list(customer_visible(actor=actor).filter(where).values_list("pk", flat=True).distinct()[:200])
        query = prepare(Record(id="", name=candidate.name, city=candidate.city, mobiles=candidate.mobiles), config)
        compare_many(query, [prepare(r, config) for r in selectors.match_records(ids)], config)
        times.append((time.perf_counter() - started) * 1000)
    return {"all": (len(times), percentile(times, 0.5), percentile(times, 0.95))}


def _cpu() -> float:
    """CPU seconds of this process and its finished children (the scan's worker processes)."""
    import resource

    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _time_scan(actor: Any, baseline: bool = True, queue: bool = False) -> dict[str, Any]:
    """The whole base through the scan: from the kept features (as ``duplicates_scan`` reads it) and,
    as the baseline in the same run, parsing every customer again (as before the features were kept).
    With ``queue``, ``duplicates_scan`` itself too (the scan and the writes to the review queue)."""
    import resource

    from pearl.dataquality import selectors
    from pearl.dataquality.matching import scan
    from pearl.dataquality.matching.scan import scan_batch

    config = selectors.match_config()
    cpu, started = _cpu(), time.perf_counter()
    batch = selectors.match_batch(actor=actor, config=config)
    loaded = time.perf_counter()
    kept = scan_batch(batch, config, workers=2)
    finished = time.perf_counter()
    del batch
    out = {"load_s": loaded - started, "scan_s": finished - loaded, "pairs": len(kept), "stats": kept.stats,
           "cpu_s": _cpu() - cpu, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
           "worker_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}
    print(f"  kept features: load {out['load_s']:.1f} s + scan {out['scan_s']:.1f} s ({out['cpu_s']:.1f} CPU s), "
          f"{len(kept):,} pairs, peak RSS {out['rss_mb']:,.0f} MB (workers {out['worker_rss_mb']:,.0f} MB)", flush=True)
    print("  steps:", {k: round(v, 2) if isinstance(v, float) else v for k, v in kept.stats.items()}, flush=True)
    del kept
    if queue:
        from pearl.dataquality.services.duplicates import duplicates_scan

        cpu, started = _cpu(), time.perf_counter()
        summary = duplicates_scan(actor=actor, workers=2)
        out["queue_s"], out["queue_cpu_s"] = time.perf_counter() - started, _cpu() - cpu
        out["queue_new"] = summary.new
        out["queue_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"  duplicates_scan (scan + review queue): {out['queue_s']:.1f} s ({out['queue_cpu_s']:.1f} CPU s), "
              f"{summary.pairs:,} pairs, {summary.new:,} new, peak RSS {out['queue_rss_mb']:,.0f} MB", flush=True)
    if not baseline:
        return out
    started = time.perf_counter()
    parsed = scan(selectors.customer_match_records(actor=actor), config, workers=2)
    out["parsed_s"] = time.perf_counter() - started
    out["parsed_pairs"] = len(parsed)
    print(f"  parsing every record: {out['parsed_s']:.1f} s, {len(parsed):,} pairs", flush=True)
    return out


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def _report(r: dict[str, Any]) -> str:
    m = machine()
    admin, sales = r["pearl"]["admin"], r["pearl"]["sales1"]
    naive = r["naive"]["all"]
    lines = [
        "",
        f"## Duplicate check while typing at {r['customers']:,} customers ({r['db']}) — "
        f"{dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}",
        "",
        f"Machine: {m['cpus']} CPUs ({m['cpu']}), {m['ram']} RAM; Python {m['python']}. "
        f"{r['keys']:,} match keys ({r['keying_how']} {r['keying_seconds']:.0f} s). "
        "`selectors.duplicate_check` timed in the Django process, warm caches; ms.",
        "",
        "| query kind | n | admin p50 | p95 | sales1 p50 | p95 |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for kind, (n, p50, p95) in admin["kinds"].items():
        s = sales["kinds"][kind]
        lines.append(f"| {kind} | {n} | {_ms(p50)} | {_ms(p95)} | {_ms(s[1])} | {_ms(s[2])} |")
    lines.append(f"| **all** | {admin['all'][0]} | {_ms(admin['all'][1])} | {_ms(admin['all'][2])} | "
                 f"{_ms(sales['all'][1])} | {_ms(sales['all'][2])} |")
    ratio = naive[1] / admin["all"][1] if naive[1] and admin["all"][1] else None
    lines += [
        "",
        f"Existing customer among the hits (admin): {admin['found'][0]} of {admin['found'][1]} queries. "
        f"Naive baseline (substring + mobile over the customers, then the matcher), {naive[0]} queries: "
        f"p50 {_ms(naive[1])} ms, p95 {_ms(naive[2])} ms"
        + (f" — {ratio:.0f}× Pearl's p50." if ratio else "."),
        "",
    ]
    if "scan" in r:
        sc = r["scan"]
        st = sc["stats"]
        lines += [
            f"Batch scan of all {r['customers']:,} customers as admin (2 processes): from the kept features "
            f"**{sc['load_s'] + sc['scan_s']:.1f} s** (reading the features {sc['load_s']:.1f} s; blocking "
            f"{st['block_s']:.1f} s, {st['candidates']:,} candidate pairs; comparing {st['compare_s']:.1f} s), "
            f"{sc['pairs']:,} pairs in either band, {sc['cpu_s']:.1f} CPU s, peak RSS {sc['rss_mb']:,.0f} MB "
            f"(workers {sc['worker_rss_mb']:,.0f} MB)."
            + (f" `duplicates_scan` (the same scan and the review queue's writes, {sc['queue_new']:,} new pairs): "
               f"{sc['queue_s']:.1f} s, {sc['queue_cpu_s']:.1f} CPU s, peak RSS {sc['queue_rss_mb']:,.0f} MB."
               if "queue_s" in sc else "")
            + (f" Baseline in the same run, parsing every customer again: {sc['parsed_s']:.1f} s, "
               f"{sc['parsed_pairs']:,} pairs." if "parsed_s" in sc else ""),
            "",
        ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
