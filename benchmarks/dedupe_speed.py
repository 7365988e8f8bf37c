"""Speed of the batch duplicate scan on N generated Chinese customers, against Splink 5 in the same run.

    .venv/bin/python benchmarks/dedupe_speed.py --size 100000        # appends a section to RESULTS.md
    .venv/bin/python benchmarks/dedupe_speed.py --size 1000000 --workers 2
    .venv/bin/python benchmarks/dedupe_speed.py --size 1000000 --splink-size 100000   # Splink on fewer

Records come from benchmarks/chinese_customers.py (generation is not timed). Pearl: the whole
``pearl.dataquality.matching.scan`` (featurise, block, compare). Wall seconds and CPU seconds (this
process plus its worker processes: the machine is shared, so wall time depends on the load and CPU
time says what the work costs). Peak memory is the maximum RSS of this process, and of the largest
worker (forked: it shares the parent's pages, so the two are not added).
Splink 5 (DuckDB backend) runs on the same records after Pearl: its own plain preprocessing (timed
separately), a model with blocking rules on mobile / company name / city + name core (a person's
name only with the city: 张伟 alone joins thousands), comparisons on name core,
city, mobile, contact and address; u by random sampling, m by EM, then predict. Precision and recall
of both on the generator's labels are given for context (accuracy proper: dedupe_accuracy.py).
Target (issue 3): 1M customers in <= 90 s with <= 4 GB on this 2-core machine.
This is a measurement, not a test.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import platform
import re
import resource
import sys
import time
import unicodedata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pearl.settings")
os.environ.setdefault("PEARL_DATA_DIR", "/tmp/pearl-bench-dedupe")

import django  # noqa: E402

django.setup()

import pandas as pd  # noqa: E402

from benchmarks.chinese_customers import generate  # noqa: E402
from pearl.dataquality.matching import chinese_config, scan  # noqa: E402

RESULTS = ROOT / "benchmarks" / "RESULTS.md"


def _rss_mb(who: int = resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024


def _cpu() -> float:
    """CPU seconds of this process and of its finished children (the worker processes)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _load() -> str:
    try:
        return f"{os.getloadavg()[0]:.1f}"
    except OSError:
        return "?"


def _prf(predicted: set[tuple[str, str]], truth: set[tuple[str, str]]) -> str:
    tp = len(predicted & truth)
    precision = tp / len(predicted) if predicted else 1.0
    recall = tp / len(truth) if truth else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return f"P {precision:.4f} / R {recall:.4f} / F1 {f1:.4f} ({len(predicted):,} pairs)"


def _pairs(left: Any, right: Any) -> set[tuple[str, str]]:
    return {(a, b) if a < b else (b, a) for a, b in zip(left, right, strict=True)}


# --- Splink 5 (DuckDB) on the same records --------------------------------------------------

_LEGAL_TAIL = re.compile(r"(股份有限公司|有限责任公司|集团有限公司|有限公司|股份公司|集团|公司)$")
_PUNCT = re.compile(r"[\s()（）【】\[\]·,，.。、\-_/]+")


def _plain(text: str | None) -> str:
    return _PUNCT.sub("", unicodedata.normalize("NFKC", text or "")).lower()


def _plain_mobile(raw: str) -> str:
    text = unicodedata.normalize("NFKC", raw).strip()
    if "e" in text.lower():
        try:
            text = str(int(float(text)))
        except ValueError:
            return ""
    digits = re.sub(r"\D", "", text.removesuffix(".0"))
    return digits[-11:] if len(digits) >= 11 else ""


def splink_frame(records: list[Any]) -> pd.DataFrame:
    """The preprocessing a Splink user would write (no Pearl code): NFKC, lower case, punctuation and the
    legal form off the name, the region prefix off the name when it is the record's own city or
    province, digits of the first mobile, the first contact, the address as typed."""
    rows = []
    for r in records:
        name = _plain(r.name or r.short_name)
        city = _plain(r.city).removesuffix("市")
        province = _plain(r.province)
        core = _LEGAL_TAIL.sub("", name)
        for prefix in (province, province.removesuffix("省"), city + "市", city):
            if prefix and core.startswith(prefix) and len(core) > len(prefix) + 1:
                core = core[len(prefix) :]
        rows.append(
            {
                "unique_id": r.id,
                # A person's name alone (张伟) joins thousands across the country: block on it only with the city.
                "company_name": (name or None) if r.kind != "individual" else None,
                "name_core": core or None,
                "city": city or None,
                "mobile": next((m for m in map(_plain_mobile, r.mobiles) if m), None),
                "contact": _plain(r.contact_names[0]) if r.contact_names else None,
                "address": _plain(r.address) or None,
            }
        )
    return pd.DataFrame(rows)


def run_splink(frame: pd.DataFrame, threshold: float) -> tuple[pd.DataFrame, dict[str, float]]:
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    times: dict[str, float] = {}
    started = time.perf_counter()
    settings = SettingsCreator(
        link_type="dedupe_only",
        comparisons=[
            cl.JaroWinklerAtThresholds("name_core", [0.95, 0.88, 0.8]),
            cl.ExactMatch("city"),
            cl.ExactMatch("mobile"),
            cl.JaroWinklerAtThresholds("contact", [0.9]),
            cl.JaroWinklerAtThresholds("address", [0.95, 0.85]),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("mobile"),
            block_on("company_name"),
            block_on("city", "name_core"),
        ],
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
    )
    db_api = DuckDBAPI()
    linker = Linker(db_api.register(frame, dataset_display_name="customers"), settings, log_level=logging.WARNING)
    linker.training.estimate_probability_two_random_records_match([block_on("mobile", "name_core")], recall=0.6)
    linker.training.estimate_u_using_random_sampling(max_pairs=2e6, seed=1)
    times["u"] = time.perf_counter() - started
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("mobile"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("city", "name_core"))
    times["train"] = time.perf_counter() - started
    predicted = linker.inference.predict(threshold_match_probability=threshold).as_pandas_dataframe()
    times["total"] = time.perf_counter() - started
    return predicted, times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workers", type=int, default=2, help="processes of the Pearl scan")
    parser.add_argument("--splink-size", type=int, help="records for Splink (default: all; 0: skip Splink)")
    parser.add_argument("--splink-threshold", type=float, default=0.99, help="match probability for a pair")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()

    started = time.perf_counter()
    data = generate(args.size, args.seed)
    records = data.records
    generated = time.perf_counter() - started
    rss_before = _rss_mb()
    load_before = _load()
    print(f"generated {len(records):,} records in {generated:.1f} s (load {load_before})", flush=True)

    cpu = _cpu()
    started = time.perf_counter()
    result = scan(records, chinese_config(), workers=args.workers)
    seconds = time.perf_counter() - started
    cpu = _cpu() - cpu
    rss_after, rss_workers = _rss_mb(), _rss_mb(resource.RUSAGE_CHILDREN)
    load_after = _load()
    stats = result.stats
    frame = result.frame()
    duplicates = int((frame.band == "duplicate").sum())
    truth = data.true_pairs()
    pearl_duplicate = _pairs(frame.left_id[frame.band == "duplicate"], frame.right_id[frame.band == "duplicate"])
    del result  # the feature table: Splink's memory should not sit on top of it
    print(f"pearl {seconds:.1f} s wall, {cpu:.1f} s CPU, {stats}", flush=True)

    splink_lines = ["- Splink: skipped (--splink-size 0)."]
    splink_size = len(records) if args.splink_size is None else min(args.splink_size, len(records))
    if splink_size:
        subset = records[:splink_size]
        started = time.perf_counter()
        splink_input = splink_frame(subset)
        prep = time.perf_counter() - started
        splink_cpu = _cpu()
        predicted, times = run_splink(splink_input, args.splink_threshold)
        splink_cpu = _cpu() - splink_cpu
        splink_rss = _rss_mb()
        ids = {r.id for r in subset}
        subset_truth = {p for p in truth if p[0] in ids and p[1] in ids}
        splink_pairs = _pairs(predicted.unique_id_l, predicted.unique_id_r)
        pearl_subset = {p for p in pearl_duplicate if p[0] in ids and p[1] in ids}
        scope = "the same records" if splink_size == len(records) else f"the first {splink_size:,} records"
        splink_lines = [
            f"- **Splink 5.0 (DuckDB {_duckdb_version()})** on {scope}: **{times['total']:.1f} s** wall "
            f"({times['u']:.1f} s to the u estimates, {times['train'] - times['u']:.1f} s EM, "
            f"{times['total'] - times['train']:.1f} s predict), {splink_cpu:.1f} s CPU; its pandas preprocessing "
            f"{prep:.1f} s more (not counted). Process peak RSS after Splink: {splink_rss:,.0f} MB.",
            f"- On the labels ({len(subset_truth):,} true pairs among those records): Splink at match probability "
            f">= {args.splink_threshold}: {_prf(splink_pairs, subset_truth)}; Pearl's duplicate band: "
            f"{_prf(pearl_subset, subset_truth)}.",
        ]
        print("\n".join(splink_lines), flush=True)

    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    text = "\n".join(
        [
            f"## Duplicate scan speed, {len(records):,} customers, with Splink — {now}",
            "",
            f"Machine: {os.cpu_count()} CPUs ({platform.machine()}), Python {platform.python_version()}; "
            f"1-minute load average before / after the Pearl scan: {load_before} / {load_after} — other "
            f"sessions share the machine, so CPU seconds are given with wall seconds. "
            f"Script: `benchmarks/dedupe_speed.py --size {args.size} --workers {args.workers}"
            + (f" --splink-size {args.splink_size}" if args.splink_size is not None else "")
            + "`.",
            "",
            "| Pearl scan step | wall seconds |",
            "|---|---:|",
            f"| featurise {stats['records']:,} records and encode the features ({args.workers} processes) "
            f"| {stats['prepare_s']:.1f} |",
            f"| blocking: {stats['key_entries']:,} keys ({stats['keys']:,} distinct) → {stats['candidates']:,} "
            f"candidate pairs ({stats['skipped_blocks']} blocks over 500 records skipped) | {stats['block_s']:.1f} |",
            f"| compare all candidate pairs, keep the two bands ({args.workers} processes) "
            f"| {stats['compare_s']:.1f} |",
            f"| **scan total** | **{seconds:.1f}** (CPU {cpu:.1f} s) |",
            "",
            f"- Pairs found: {len(frame):,} ({duplicates:,} duplicate, {len(frame) - duplicates:,} possible). "
            f"Duplicate band on the labels ({len(truth):,} true pairs): {_prf(pearl_duplicate, truth)}.",
            f"- Peak RSS: this process {rss_after:,.0f} MB ({rss_before:,.0f} MB after generating the records, "
            f"before the scan); largest worker {rss_workers:,.0f} MB (forked, sharing the parent's pages).",
            *splink_lines,
            "",
        ]
    )
    print(text)
    if not args.no_write:
        with RESULTS.open("a", encoding="utf-8") as out:
            out.write("\n" + text)


def _duckdb_version() -> str:
    import duckdb

    return str(duckdb.__version__)


if __name__ == "__main__":
    main()
