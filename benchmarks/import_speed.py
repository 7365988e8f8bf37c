"""Spreadsheet import at scale: Pearl's batched import against a naive baseline, same run.

    .venv/bin/python benchmarks/import_speed.py                          # 100,000 rows, bench DB copy or demo
    .venv/bin/python benchmarks/import_speed.py --rows 10000 --existing 20000

Builds a messy .xlsx (title block, mobiles as 1.38e10 / 13800138000.0, full-width digits, one address
column, rows that duplicate existing customers, duplicates within the file, invalid mobiles, a totals
row), imports it end to end (job_create → job_run: read, map, validate, match, write, report) and, in the
same run, imports a sample of the same rows the naive way (pandas ``read_excel`` + one
``customer_create`` service call per row). The database is a copy of the lead's 1M-customer SQLite
bench DB when it exists and ``--copy-bench`` is given (it is never written to), else a fresh one loaded
with ``pearl demo``. Everything lives in $PEARL_IMPORT_BENCH_DIR (default /tmp/pearl-import-bench).
Figures are appended to benchmarks/RESULTS.md. This is a measurement, not a test.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import platform
import random
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "RESULTS.md"
BENCH_DIR = Path(os.environ.get("PEARL_IMPORT_BENCH_DIR", "/tmp/pearl-import-bench"))
LEAD_BENCH = Path("/tmp/pearl-bench/sqlite")
FULL = str.maketrans("0123456789", "０１２３４５６７８９")


def _pearl(data_dir: Path, *args: str) -> None:
    env = {**os.environ, "PEARL_DATA_DIR": str(data_dir)}
    subprocess.run([sys.executable, "-m", "pearl", *args], cwd=ROOT, env=env, check=True)


def prepare(args: argparse.Namespace) -> Path:
    data_dir = BENCH_DIR / "db"
    if data_dir.exists():
        shutil.rmtree(data_dir)
    if args.copy_bench and (LEAD_BENCH / "pearl.sqlite3").exists():
        # A copy, never the lead's file; the WAL is copied too so the copy is consistent.
        shutil.copytree(LEAD_BENCH, data_dir, ignore=shutil.ignore_patterns("static", "tasks.sqlite3*"))
        _pearl(data_dir, "migrate", "-v0")
    else:
        data_dir.mkdir(parents=True)
        _pearl(data_dir, "migrate", "-v0")
        _pearl(data_dir, "demo", "--customers", str(args.existing), "--no-serve")
    return data_dir


# --- inside the child process (Django set up on the bench DB) ----------------------------------------


def _mobile_cell(rng: random.Random, mobile: str) -> Any:
    pick = rng.random()
    if pick < 0.2:
        return float(mobile)  # Excel turned it into a number: 13800138000.0
    if pick < 0.3:
        return f"{int(mobile) / 1e10:.11f}E10"  # pasted as text in scientific notation
    if pick < 0.4:
        return mobile.translate(FULL)  # full-width digits
    if pick < 0.5:
        return f"{mobile[:3]}-{mobile[3:7]}-{mobile[7:]}"
    return mobile


def build_sheet(rows: int, existing: list[tuple[str, str]], seed: int = 7) -> tuple[bytes, dict[str, int]]:
    from openpyxl import Workbook

    rng = random.Random(seed)
    book = Workbook(write_only=True)
    sheet = book.create_sheet("客户")
    sheet.append(["2026年客户名单（销售部）"])
    sheet.append([])
    sheet.append(["客户名称", "联系人", "手机", "地址", "客户等级", "备注"])
    plan = {"new": 0, "existing": 0, "in_file_duplicate": 0, "invalid": 0}
    written: list[list[Any]] = []
    cities = [
        "广东省广州市天河区天河路",
        "广东省深圳市南山区科技园路",
        "浙江省杭州市西湖区文三路",
        "上海市浦东新区世纪大道",
    ]
    for i in range(rows):
        roll = rng.random()
        if roll < 0.10 and existing:
            name, mobile = rng.choice(existing)
            plan["existing"] += 1
            row = [name, "老客户", _mobile_cell(rng, mobile), "", rng.choice("ABC"), "来自旧系统"]
        elif roll < 0.13 and written:
            row = list(rng.choice(written))
            plan["in_file_duplicate"] += 1
        elif roll < 0.15:
            row = [f"坏号码{i}商贸有限公司", "王", "1234567", "", "", ""]
            plan["invalid"] += 1
        else:
            mobile = str(15_000_000_000 + i * 13 + seed)
            address = f"{rng.choice(cities)}{rng.randint(1, 999)}号"
            row = [
                f"导入测试{i}号水产有限公司",
                f"陈{i % 97}",
                _mobile_cell(rng, mobile),
                address,
                rng.choice("ABC"),
                "",
            ]
            plan["new"] += 1
            written.append(row)
        sheet.append(row)
    sheet.append(["合计", f"{rows}户"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue(), plan


def _setup() -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pearl.settings")
    django.setup()


def _actor() -> Any:
    from pearl.accounts.models import User

    actor = User.objects.filter(is_superuser=True).order_by("pk").first()
    if actor is None:
        actor = User.objects.create_superuser("bench", password="bench-import-2026")
    return actor


def build(args: argparse.Namespace) -> dict[str, Any]:
    """In its own process, so the import's peak memory is not the sheet builder's."""
    _setup()
    from pearl.customers.models import Contact, Customer

    _actor()
    existing = list(
        Contact.objects.filter(is_primary=True, customer__kind="company")
        .exclude(mobile="")
        .order_by("?")[:5000]
        .values_list("customer__name", "mobile")
    )
    t0 = time.perf_counter()
    data, plan = build_sheet(args.rows, existing)
    build_s = time.perf_counter() - t0
    (BENCH_DIR / "messy.xlsx").write_bytes(data)
    sample_bytes, _plan = build_sheet(args.baseline_sample, existing, seed=11)
    (BENCH_DIR / "sample.xlsx").write_bytes(sample_bytes)
    return {
        "plan": plan,
        "build_s": build_s,
        "file_mb": len(data) / 1e6,
        "existing_customers": Customer.objects.count(),
    }


def _cpu() -> tuple[float, float]:
    """CPU seconds of this process and of its finished children (the import's second process)."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, kids.ru_utime + kids.ru_stime


def child(args: argparse.Namespace) -> dict[str, Any]:
    _setup()
    from django.db import connection

    from pearl.core.context import Channel, acting_through
    from pearl.core.errors import ApplicationError
    from pearl.customers.services import customer_create
    from pearl.dataquality.services import imports

    actor = _actor()
    path = BENCH_DIR / "messy.xlsx"

    # Pearl: the whole pipeline, as `pearl import` runs it.
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    cpu0 = _cpu()
    t0 = time.perf_counter()
    with acting_through(Channel.COMMAND), path.open("rb") as fh:
        job = imports.job_create(actor=actor, file=fh, filename=path.name, require_mapping=True)
        imports.job_start(actor=actor, job_id=job.pk)
        job = imports.job_run(job_id=job.pk)
    pearl_s = time.perf_counter() - t0
    cpu1 = _cpu()
    rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    worker_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    rows_done = job.rows_processed

    # Baseline: pandas read_excel + one service call per row, on a sample of the same rows.
    import pandas as pd

    sample = BENCH_DIR / "sample.xlsx"
    t0 = time.perf_counter()
    frame = pd.read_excel(sample, header=2, dtype=str)
    ok = failed = 0
    with acting_through(Channel.COMMAND):
        for record in frame.itertuples(index=False):
            name, contact, mobile, address = (str(v) if isinstance(v, str) else "" for v in record[:4])
            try:
                customer_create(
                    actor=actor, data={"name": name, "address": address[:200]},
                    contacts=[{"name": contact or name[:64], "mobile": mobile}] if mobile else [],
                )  # fmt: skip
                ok += 1
            except ApplicationError:
                failed += 1
    baseline_s = time.perf_counter() - t0
    return {
        "rows": rows_done,
        "batch_size": imports.BATCH_SIZE,
        "counts": job.counts,
        "pearl_s": pearl_s,
        "pearl_rate": rows_done / pearl_s,
        "pearl_cpu_s": cpu1[0] - cpu0[0],
        "worker_cpu_s": cpu1[1] - cpu0[1],
        "rss_mb_before": rss0 / 1024,
        "rss_mb_after": rss1 / 1024,
        "worker_rss_mb": worker_rss / 1024,
        "baseline_rows": len(frame),
        "baseline_ok": ok,
        "baseline_failed": failed,
        "baseline_s": baseline_s,
        "baseline_rate": len(frame) / baseline_s,
        "vendor": connection.vendor,
    }


def report(result: dict[str, Any], args: argparse.Namespace, load: tuple[float, ...]) -> str:
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    ratio = result["pearl_rate"] / result["baseline_rate"]
    c = result["counts"]
    lines = [
        "",
        f"## Spreadsheet import, {result['rows']:,} rows against {result['existing_customers']:,} customers — {now}",
        "",
        f"Machine: {os.cpu_count()} CPUs ({platform.machine()}), Python {platform.python_version()}, "
        f"{result['vendor']}; load average before / after: {' / '.join(f'{x:.1f}' for x in load)} (the machine "
        f"is shared). Script: `benchmarks/import_speed.py --rows {args.rows}`.",
        "",
        "| import | rows | seconds | rows/s |",
        "|---|---:|---:|---:|",
        f"| Pearl (`job_create` + `job_run`, batches of {result['batch_size']:,}) | {result['rows']:,} | "
        f"{result['pearl_s']:.1f} | **{result['pearl_rate']:,.0f}** |",
        f"| naive: pandas `read_excel` + `customer_create` per row | {result['baseline_rows']:,} | "
        f"{result['baseline_s']:.1f} | {result['baseline_rate']:,.0f} |",
        "",
        f"- Ratio: Pearl imports {ratio:.1f}× as many rows per second as the naive baseline, and the baseline "
        "neither matches existing customers, nor collapses duplicates, nor writes a report.",
        f"- Outcome: created {c['created']:,}, updated {c['updated']:,}, unchanged {c['unchanged']:,}, "
        f"duplicate in file {c['duplicate']:,}, invalid {c['invalid']:,} "
        f"(sheet made with {json.dumps(result['plan'])}).",
        f"- CPU: {result['pearl_cpu_s']:.1f} s in the importing process ({result['rows'] / result['pearl_cpu_s']:,.0f} "
        f"rows per CPU second) + {result['worker_cpu_s']:.1f} s in its second process (reading ahead and "
        "validating); the wall time depends on what else the shared machine runs.",
        f"- File: {result['file_mb']:.1f} MB .xlsx; peak RSS of the importing process "
        f"{result['rss_mb_before']:.0f} MB before the import (Django set up), {result['rss_mb_after']:.0f} MB "
        f"after; second process {result['worker_rss_mb']:.0f} MB.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--existing", type=int, default=100_000, help="demo customers when not copying the bench DB")
    parser.add_argument("--copy-bench", action="store_true", help=f"copy {LEAD_BENCH} (1M customers) if present")
    parser.add_argument("--baseline-sample", type=int, default=1000)
    parser.add_argument("--reuse", action="store_true", help="use the database prepared by an earlier run")
    parser.add_argument("--no-record", action="store_true", help="print the figures, do not append to RESULTS.md")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--build", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    if args.child:
        print(json.dumps(build(args) if args.build else child(args)))
        return
    data_dir = BENCH_DIR / "db" if args.reuse else prepare(args)
    load = os.getloadavg()
    env = {**os.environ, "PEARL_DATA_DIR": str(data_dir)}
    cmd = [
        sys.executable,
        __file__,
        "--child",
        "--rows",
        str(args.rows),
        "--baseline-sample",
        str(args.baseline_sample),
    ]
    built = subprocess.run([*cmd, "--build"], env=env, check=True, capture_output=True, text=True).stdout
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
    result = {**json.loads(built.strip().splitlines()[-1]), **json.loads(out.strip().splitlines()[-1])}
    text = report(result, args, load + os.getloadavg())
    if not args.no_record:
        with RESULTS.open("a", encoding="utf-8") as fh:
            fh.write(text)
    print(text)


if __name__ == "__main__":
    main()
