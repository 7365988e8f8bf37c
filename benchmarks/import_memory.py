"""Import memory against file size: peak RSS of ``pearl import --dry-run`` and of its second process.

    .venv/bin/python benchmarks/import_memory.py                      # on the import benchmark's database
    .venv/bin/python benchmarks/import_memory.py --rows 20000 100000 300000 --data-dir DIR

Builds the import benchmark's messy sheet (``import_speed.build_sheet``) at each size, written twice: by
openpyxl's write-only mode (texts inline, no recorded size, as many exporters write) and by XlsxWriter
(a shared-strings table, as Excel and WPS write). Each file is checked with ``pearl import FILE --dry-run``
(reads, validates and matches every row against the database, writes nothing) while this script samples
the resident memory of the command and of its second process every 0.2 s. The database is the one
``import_speed.py --copy-bench`` prepared (a copy of the 1M-customer bench base), or ``--data-dir``.
A second pass with ``--page-cache-kib`` shows how much of the importing process's growth is SQLite's page
cache filling up to its configured size (``PRAGMA cache_size`` in settings). This is a measurement, not a test.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from import_speed import BENCH_DIR, RESULTS, ROOT, build_sheet

SAMPLE_SECONDS = 0.2


def _existing(count: int = 1000) -> list[tuple[str, str]]:
    """Made-up existing customers: the memory figures do not depend on how many rows match."""
    rng = random.Random(5)
    return [(f"老客户{i}贸易有限公司", str(13_600_000_000 + rng.randrange(10**8))) for i in range(count)]


def _excel_copy(source: Path, target: Path) -> None:
    """The same cells through XlsxWriter: a shared-strings table and a recorded size, as Excel writes."""
    import python_calamine
    import xlsxwriter

    rows = python_calamine.CalamineWorkbook.from_path(str(source)).get_sheet_by_index(0).to_python()
    with xlsxwriter.Workbook(str(target), {"constant_memory": False}) as book:
        sheet = book.add_worksheet("客户")
        for number, row in enumerate(rows):
            for column, value in enumerate(row):
                if value != "":
                    sheet.write(number, column, value)


def _rss_mb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            return int(status.read().split("VmRSS:")[1].split()[0]) // 1024
    except (OSError, IndexError):
        return 0


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as found:
            return [int(c) for c in found.read().split()]
    except OSError:
        return []


def measure(path: Path, data_dir: Path, page_cache_kib: int | None) -> dict[str, Any]:
    env = {**os.environ, "PEARL_DATA_DIR": str(data_dir)}
    if page_cache_kib is not None:
        env["PEARL_SQLITE_CACHE_KIB"] = str(page_cache_kib)
    cmd = [sys.executable, "-m", "pearl", "import", str(path), "--dry-run", "--user", "admin"]
    started = time.perf_counter()
    process = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    main = worker = 0
    while process.poll() is None:
        main = max(main, _rss_mb(process.pid))
        worker = max([worker, *(_rss_mb(c) for c in _children(process.pid))])
        time.sleep(SAMPLE_SECONDS)
    if process.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed: {process.stderr.read().decode()[-2000:] if process.stderr else ''}")
    return {"seconds": time.perf_counter() - started, "main_mb": main, "worker_mb": worker}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[20_000, 100_000, 300_000])
    parser.add_argument("--data-dir", type=Path, default=BENCH_DIR / "db")
    parser.add_argument("--page-cache-kib", type=int, default=2000, help="the second pass's SQLite page cache")
    parser.add_argument("--no-record", action="store_true", help="print the figures, do not append to RESULTS.md")
    args = parser.parse_args()
    if not (args.data_dir / "pearl.sqlite3").exists():
        raise SystemExit(f"No database in {args.data_dir}: run benchmarks/import_speed.py --copy-bench first.")
    files = BENCH_DIR / "memory"
    files.mkdir(parents=True, exist_ok=True)
    load = os.getloadavg()
    table = []
    for rows in args.rows:
        inline = files / f"inline-{rows}.xlsx"
        inline.write_bytes(build_sheet(rows, _existing())[0])
        excel = files / f"excel-{rows}.xlsx"
        _excel_copy(inline, excel)
        for label, path in (("openpyxl write-only (inline texts)", inline), ("XlsxWriter (shared strings)", excel)):
            for cache in (None, args.page_cache_kib):
                result = measure(path, args.data_dir, cache)
                table.append((rows, label, path.stat().st_size / 1e6, cache, result))
                print(rows, label, cache, result, flush=True)
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "",
        f"## Import memory against file size — {now}",
        "",
        f"Machine: {os.cpu_count()} CPUs ({platform.machine()}), Python {platform.python_version()}; load average "
        f"before: {' / '.join(f'{x:.1f}' for x in load)}. Script: `benchmarks/import_memory.py` (`pearl import "
        f"--dry-run` on `{args.data_dir}`; peak RSS sampled every {SAMPLE_SECONDS} s).",
        "",
        "| rows | written by | file MB | SQLite page cache | importing process | second process | seconds |",
        "|---:|---|---:|---|---:|---:|---:|",
    ]
    for rows, label, size, cache, result in table:
        cache_label = "settings (64 MB)" if cache is None else f"{cache:,} KiB"
        lines.append(
            f"| {rows:,} | {label} | {size:.1f} | {cache_label} | {result['main_mb']:,} MB | "
            f"{result['worker_mb']:,} MB | {result['seconds']:.1f} |"
        )
    text = "\n".join(lines) + "\n"
    print(text)
    if not args.no_record:
        with RESULTS.open("a") as out:
            out.write(text)


if __name__ == "__main__":
    main()
