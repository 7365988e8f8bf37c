"""`pearl import`: progress output, dry run, presets; and a run killed half-way resumes to the same result."""

from __future__ import annotations

import io
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from pearl.core.testing.personas import Org
from pearl.customers.models import Customer
from pearl.dataquality.models import ImportJob
from pearl.dataquality.tests.test_import_jobs import sample_rows, xlsx

ROOT = Path(__file__).resolve().parents[3]


def _run(*args: str) -> str:
    out = io.StringIO()
    with translation.override("en"):
        call_command("import", *args, stdout=out)
    return out.getvalue()


def test_command_imports_with_progress_and_counts(org: Org, tmp_path: Path) -> None:
    path = tmp_path / "客户.xlsx"
    path.write_bytes(xlsx(sample_rows()))
    dry = _run(str(path), "--dry-run", "--user", "owner")
    assert "created: 6" in dry and "invalid: 1" in dry and Customer.objects.count() == 0
    out = _run(str(path), "--user", "owner", "--batch-size", "3")
    assert "\r  3/8 (38%)" in out and "\r  8/8 (100%)" in out
    assert "created: 6, updated: 0, unchanged: 0, duplicate in file: 1, invalid: 1" in out
    assert "Rejected rows:" in out
    assert Customer.objects.filter(owner=org.owner).count() == 6
    again = _run(str(path), "--user", "owner")
    assert "unchanged: 6" in again


def test_command_counts_read_as_outcomes_in_chinese(org: Org, tmp_path: Path) -> None:
    """ "created" alone is the timestamp field's label (创建时间); the counts say what happened to rows."""
    path = tmp_path / "客户.xlsx"
    path.write_bytes(xlsx(sample_rows()))
    out = io.StringIO()
    with translation.override("zh-hans"):
        call_command("import", str(path), "--dry-run", "--user", "owner", stdout=out)
    assert "新建: 6, 更新: 0, 无变化: 0, 文件内重复: 1, 无效: 1" in out.getvalue()
    assert "时间" not in out.getvalue()


def test_command_refuses_bad_input_clearly(org: Org, tmp_path: Path) -> None:
    bad = tmp_path / "not.xlsx"
    bad.write_bytes(b"hello, I am text pretending")
    with pytest.raises(CommandError):
        _run(str(bad), "--user", "owner")
    with pytest.raises(CommandError, match="No such active user"):
        _run(str(bad), "--user", "ghost")
    good = tmp_path / "good.xlsx"
    good.write_bytes(xlsx(sample_rows()))
    with pytest.raises(CommandError, match="preset"):
        _run(str(good), "--user", "owner", "--preset", "nope")
    assert ImportJob.objects.count() == 0


# --- killed half-way ---------------------------------------------------------------------------------------


def _pearl(data_dir: Path, *args: str, **kw: Any) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PEARL_DATA_DIR": str(data_dir), "PEARL_LOG_LEVEL": "CRITICAL"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    # Each process works on its own SQLite file in data_dir (the test reads it directly), never on
    # the database the suite runs against (on PostgreSQL it would migrate and fill that one).
    env.pop("DATABASE_URL", None)
    return subprocess.Popen([sys.executable, "-m", "pearl", *args], cwd=ROOT, env=env, **kw)


def _state(data_dir: Path) -> dict[str, Any]:
    db = sqlite3.connect(data_dir / "pearl.sqlite3")
    try:
        customers = sorted(
            db.execute(
                "SELECT c.name, c.province, c.city, c.grade, k.mobile FROM customers_customer c "
                "LEFT JOIN customers_contact k ON k.customer_id = c.id"
            ).fetchall()
        )
        counts = {
            table: db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
            for table in ("customers_identity", "customers_customersearchtoken", "dataquality_importissue")
        }
        job = db.execute(
            "SELECT status, created_count, updated_count, unchanged_count, duplicate_count, invalid_count "
            "FROM dataquality_importjob ORDER BY id DESC LIMIT 1"
        ).fetchone()
        logs = db.execute("SELECT COUNT(*) FROM core_changelog WHERE channel = 'import'").fetchone()[0]
    finally:
        db.close()
    return {"customers": customers, "counts": counts, "job": job, "logs": logs}


def test_killed_import_resumes_to_the_same_result(tmp_path: Path) -> None:
    base = tmp_path / "base"
    base.mkdir()
    assert _pearl(base, "migrate", "-v0").wait(timeout=300) == 0
    make_admin = "from pearl.accounts.models import User; User.objects.create_superuser('boss', password='x' * 12)"
    assert _pearl(base, "shell", "-c", make_admin).wait(timeout=120) == 0
    rows = [
        [f"广州{i}号水产有限公司", f"人{i}", 13000000000 + i * 7, "广东省佛山市顺德区大良街道1号", "B", f"K{i}"]
        for i in range(2000)
    ]
    rows += [[f"广州{i}号水产有限公司", "重复", "", "", "", ""] for i in range(0, 2000, 200)]
    sheet = tmp_path / "big.xlsx"
    sheet.write_bytes(xlsx(rows))
    killed, clean = tmp_path / "killed", tmp_path / "clean"
    shutil.copytree(base, killed)
    shutil.copytree(base, clean)

    args = ("import", str(sheet), "--user", "boss", "--batch-size", "100")
    proc = _pearl(killed, *args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    db_path, last_row = killed / "pearl.sqlite3", 0
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with sqlite3.connect(db_path, timeout=0.2) as db:
                found = db.execute("SELECT last_row FROM dataquality_importjob").fetchone()
            last_row = found[0] if found else 0
        except sqlite3.OperationalError:
            last_row = 0
        if last_row > 0:
            os.kill(proc.pid, signal.SIGKILL)
            break
        time.sleep(0.02)
    proc.wait(timeout=30)
    assert last_row > 0, "the import never committed a batch"
    half = _state(killed)
    assert half["job"][0] == "running", "the import finished before it could be killed"
    # Whole batches only: every committed row is in, nothing after the resume point.
    assert len(half["customers"]) == half["job"][1] and len(half["customers"]) % 100 == 0

    assert _pearl(killed, *args, stdout=subprocess.DEVNULL).wait(timeout=300) == 0
    assert _pearl(clean, *args, stdout=subprocess.DEVNULL).wait(timeout=300) == 0
    resumed, fresh = _state(killed), _state(clean)
    assert fresh["job"] == ("done", 2000, 0, 0, 10, 0)
    assert resumed["job"] == fresh["job"]
    assert resumed["customers"] == fresh["customers"] and len(fresh["customers"]) == 2000
    assert resumed["counts"] == fresh["counts"]
    assert resumed["logs"] == fresh["logs"]


def test_command_imports_leads_with_target(org: Org, tmp_path: Path) -> None:
    from pearl.leads.models import Lead

    path = tmp_path / "展会名单.xlsx"
    rows = [["林先生", "深圳海鲜楼", "13922220001"], ["赵女士", "", "13922220002"], ["无电话", "", ""]]
    path.write_bytes(xlsx(rows, headers=["姓名", "公司", "手机"], title=None))
    out = _run(str(path), "--user", "owner", "--target", "leads")
    assert "created: 2" in out and "invalid: 1" in out
    assert sorted(Lead.objects.values_list("name", flat=True)) == ["林先生", "赵女士"]
    assert Customer.objects.count() == 0
    assert ImportJob.objects.get().target == "leads"
