"""Speed of the batch duplicate scan: N generated Chinese customers, time and peak memory.

    .venv/bin/python benchmarks/dedupe_speed.py --size 100000        # appends a section to RESULTS.md
    .venv/bin/python benchmarks/dedupe_speed.py --size 1000000 --workers 2

Records come from benchmarks/chinese_customers.py (generation is not timed). The scan is
``pearl.dataquality.matching.scan``: featurising every record, blocking, comparing every candidate
pair. Peak memory is the process's maximum RSS (resource.getrusage), generation included.
Target (issue 3): 1M customers in <= 90 s with <= 4 GB on this 2-core machine.
This is a measurement, not a test.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pearl.settings")
os.environ.setdefault("PEARL_DATA_DIR", "/tmp/pearl-bench-dedupe")

import django  # noqa: E402

django.setup()

from benchmarks.chinese_customers import generate  # noqa: E402
from pearl.dataquality.matching import chinese_config, scan  # noqa: E402

RESULTS = ROOT / "benchmarks" / "RESULTS.md"


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _load() -> str:
    try:
        return f"{os.getloadavg()[0]:.1f}"
    except OSError:
        return "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workers", type=int, default=2, help="processes that featurise records")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()

    started = time.perf_counter()
    data = generate(args.size, args.seed)
    generated = time.perf_counter() - started
    rss_before = _rss_mb()
    load_before = _load()
    print(f"generated {len(data.records):,} records in {generated:.1f} s", flush=True)

    started = time.perf_counter()
    result = scan(data.records, chinese_config(), workers=args.workers)
    seconds = time.perf_counter() - started
    rss_after = _rss_mb()
    stats = result.stats
    bands = result.bands
    duplicates = int((bands == "duplicate").sum())
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    text = "\n".join(
        [
            f"## Duplicate scan speed, {len(data.records):,} customers — {now}",
            "",
            f"Machine: {os.cpu_count()} CPUs ({platform.machine()}), Python {platform.python_version()}; "
            f"load average before / after: {load_before} / {_load()} (the machine is shared). "
            f"Script: `benchmarks/dedupe_speed.py --size {args.size} --workers {args.workers}`.",
            "",
            "| step | seconds |",
            "|---|---:|",
            f"| featurise {stats['records']:,} records ({args.workers} processes) | {stats['prepare_s']:.1f} |",
            f"| blocking: {stats['keys']:,} keys → {stats['candidates']:,} candidate pairs "
            f"({stats['skipped_blocks']} oversize blocks skipped) | {stats['block_s']:.1f} |",
            f"| compare all candidate pairs, keep the two bands | {stats['compare_s']:.1f} |",
            f"| **scan total** | **{seconds:.1f}** |",
            "",
            f"- Pairs found: {len(result):,} ({duplicates:,} duplicate, {len(result) - duplicates:,} possible).",
            f"- Peak RSS: {rss_after:,.0f} MB ({rss_before:,.0f} MB after generating the records, before the scan).",
            "- Baseline: none in this script; the issue quotes Splink 5 at about 86 s for 1M Chinese records here.",
            "",
        ]
    )
    print(text)
    if not args.no_write:
        with RESULTS.open("a", encoding="utf-8") as out:
            out.write("\n" + text)


if __name__ == "__main__":
    main()
