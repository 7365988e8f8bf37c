"""`pearl dedupe`: pairs within a file, a file against the database, the database scan, and bad input."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from pearl.core.testing.personas import Org
from pearl.customers.tests.factories import make_dupe
from pearl.dataquality.models import DuplicatePair

HEADER = "编号,客户名称,客户类型,联系人,手机,地址\n"
ROWS = [
    "K001,广州鑫海海鲜酒楼有限公司,餐饮,张伟,13800138000,广州市天河区天河路100号",
    "K002,鑫海酒楼,餐饮,张伟,138 0013 8000,广州市天河区天河路100号",
    "K003,永辉超市（五一店）,超市,李娜,13911112222,福州市鼓楼区五一路1号",
    "K004,永辉超市（万达店）,超市,王芳,13933334444,福州市台江区万达广场",
    "K005,深圳蓝湾贸易有限公司,贸易,陈静,13755556666,深圳市南山区科技路8号",
]


def _file(tmp_path: Path, rows: list[str] = ROWS, name: str = "客户.csv") -> Path:
    path = tmp_path / name
    path.write_text(HEADER + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def _run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    with translation.override("en"):
        call_command("dedupe", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def _pairs(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_file_pairs_are_written_with_reasons(db: None, tmp_path: Path) -> None:
    out_path = tmp_path / "pairs.csv"
    out, _err = _run(str(_file(tmp_path)), "--out", str(out_path))
    pairs = _pairs(out_path)
    assert {(p["left_id"], p["right_id"]) for p in pairs} == {("K001", "K002")}
    pair = pairs[0]
    assert pair["band"] == "duplicate" and float(pair["score"]) >= 11.5
    assert "mobile:exact=+11.0" in pair["reasons"] and "name:core=" in pair["reasons"]
    assert "1 duplicate pairs, 0 possible" in out and "5 rows" in out


def test_row_numbers_stand_in_without_an_id_column_and_thresholds_override(db: None, tmp_path: Path) -> None:
    rows = [r.split(",", 1)[1] for r in ROWS]
    path = tmp_path / "no-id.csv"
    path.write_text("客户名称,客户类型,联系人,手机,地址\n" + "\n".join(rows) + "\n", encoding="utf-8")
    out, err = _run(str(path), "--duplicate", "100", "--possible", "20")
    lines = list(csv.DictReader(io.StringIO(out)))
    # Rows 2 and 3 of the sheet (header is row 1); with the duplicate score at 100 the pair is only possible.
    assert [(p["left_id"], p["right_id"], p["band"]) for p in lines] == [("2", "3", "possible")]
    assert "0 duplicate pairs, 1 possible" in err


def test_id_column_option_and_its_errors(db: None, tmp_path: Path) -> None:
    path = _file(tmp_path)
    out, _err = _run(str(path), "--id-column", "手机")
    assert "13800138000" in out.splitlines()[1]
    with pytest.raises(CommandError, match=re.escape("No column “代码” in the sheet. Its headers are: 编号、客户名称")):
        _run(str(path), "--id-column", "代码")
    clash = _file(tmp_path, [ROWS[0], ROWS[1].replace("K002", "K001")], name="clash.csv")
    with pytest.raises(CommandError, match="K001"):
        _run(str(clash))


def test_bad_input_is_refused_clearly(db: None, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="No such file"):
        _run(str(tmp_path / "missing.xlsx"))
    junk = tmp_path / "junk.xlsx"
    junk.write_bytes(b"PK\x03\x04 not really a workbook" * 10)
    with pytest.raises(CommandError):
        _run(str(junk))
    unmappable = tmp_path / "odd.csv"
    unmappable.write_text("颜色,尺寸\n红,大\n", encoding="utf-8")
    with pytest.raises(CommandError, match="customer name"):
        _run(str(unmappable))
    with pytest.raises(CommandError, match="spreadsheet"):
        _run()


def test_against_db_pairs_only_file_rows_with_customers(org: Org, tmp_path: Path) -> None:
    existing = make_dupe(
        org.owner, name="广州鑫海海鲜酒楼有限公司", city="广州市", contacts=[{"name": "张伟", "mobile": "13800138000"}]
    )
    hidden = make_dupe(
        org.outsider, name="深圳蓝湾贸易有限公司", city="深圳市", contacts=[{"name": "陈静", "mobile": "13755556666"}]
    )
    out_path = tmp_path / "pairs.csv"
    _run(str(_file(tmp_path)), "--against-db", "--user", "owner", "--out", str(out_path))
    pairs = {(p["left_id"], p["right_id"]) for p in _pairs(out_path)}
    # K001 and K002 both match the customer; they are not paired with each other (file × file), and the
    # outsider's customer is out of the owner's scope.
    assert pairs == {("K001", str(existing.pk)), ("K002", str(existing.pk))}
    _run(str(_file(tmp_path)), "--against-db", "--out", str(out_path))  # default: the administrator sees all
    assert ("K005", str(hidden.pk)) in {(p["left_id"], p["right_id"]) for p in _pairs(out_path)}


def test_db_option_fills_the_review_queue(org: Org) -> None:
    # A mobile belongs to one customer only, so these two agree on the name and the street address.
    a = make_dupe(org.owner, name="广州鑫海海鲜酒楼有限公司", address="广州市天河区天河路100号")
    b = make_dupe(org.owner, name="鑫海酒楼", city="广州市", address="天河区天河路100号")
    make_dupe(org.owner, name="深圳蓝湾贸易有限公司", city="深圳市")
    out, _err = _run("--db", "--user", "owner")
    assert "3 customers scanned" in out and "1 pairs (1 new)" in out
    pair = DuplicatePair.objects.get()
    assert (pair.left_id, pair.right_id, pair.status) == (a.pk, b.pk, "pending")
    with pytest.raises(CommandError, match="No such active user"):
        _run("--db", "--user", "ghost")
