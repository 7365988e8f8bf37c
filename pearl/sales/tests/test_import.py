"""Products from a spreadsheet: good rows in, bad rows reported with number and reason, never half a row."""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from openpyxl import Workbook

from pearl.core.errors import PermissionDenied, ValidationFailed
from pearl.sales.models import Product, ProductCategory
from pearl.sales.services import import_products


def xlsx(rows: list[list[Any]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


HEADER = ["SKU", "名称", "分类", "单位", "规格", "价格", "成本"]


def test_xlsx_creates_updates_and_reports_bad_rows(org, catalogue) -> None:
    data = xlsx(
        [
            ["鑫海水产 商品表"],  # a title above the header
            HEADER,
            ["P-001", "基围虾(大)", "虾", "斤", "20-30只/斤", 12.8, 7],  # update
            ["F-100", "多宝鱼", "鱼类", "条", "", "45", None],  # new, new category
            ["F-101", "", "鱼类", "条", "", "45", ""],  # no name
            ["F-102", "石斑鱼", "鱼类", "条", "", -3, ""],  # negative price
            ["F-100", "多宝鱼2", "鱼类", "条", "", "46", ""],  # same SKU again
            ["F-103", "带鱼", "", "箱", "", "80", ""],  # no category
            ["S-001", "海鲜酱", "调料", "瓶", "", "3.33", ""],  # unchanged except unit → updated
        ]
    )
    report = import_products(actor=org.admin, source=data, filename="products.xlsx")
    assert (report.created, report.updated) == (1, 2)
    problems = {(p.row, p.sku): p.reason for p in report.problems}
    assert set(problems) == {(5, "F-101"), (6, "F-102"), (7, "F-100"), (8, "F-103")}
    assert "名称" in problems[(5, "F-101")] and "required" in problems[(5, "F-101")]
    assert "价格" in problems[(6, "F-102")] and "negative" in problems[(6, "F-102")]
    assert "row 4 already" in problems[(7, "F-100")]
    assert "分类" in problems[(8, "F-103")]
    assert report.new_categories == ["鱼类"]
    prawn = Product.objects.get(sku="P-001")
    assert (prawn.name, prawn.price, prawn.cost, prawn.version) == ("基围虾(大)", Decimal("12.80"), Decimal("7.00"), 2)
    assert Product.objects.get(sku="F-100").category.name == "鱼类"
    assert not Product.objects.filter(sku__in=["F-101", "F-102", "F-103"]).exists()


def test_a_refused_row_leaves_no_new_category_behind(org) -> None:
    data = "SKU,名称,分类,单位,价格\nX-1,坏价格,新分类,斤,abc\n".encode()
    report = import_products(actor=org.admin, source=data, filename="p.csv")
    assert report.created == 0 and len(report.problems) == 1 and report.problems[0].row == 2
    assert not ProductCategory.objects.filter(name="新分类").exists()  # never half a row


def test_dry_run_writes_nothing(org) -> None:
    data = "SKU,名称,分类,单位,价格\nX-1,对虾,新分类,斤,10\nX-2,蟹,新分类,只,20\n".encode()
    report = import_products(actor=org.admin, source=data, filename="p.csv", dry_run=True)
    assert report.created == 2 and report.new_categories == ["新分类"] and report.dry_run
    assert not Product.objects.exists() and not ProductCategory.objects.filter(name="新分类").exists()


def test_unusable_files_are_refused_whole(org) -> None:
    with pytest.raises(ValidationFailed) as exc:
        import_products(actor=org.admin, source="名字,电话\n张三,138\n".encode(), filename="p.csv")
    assert "lacks the columns" in str(exc.value.message)
    with pytest.raises(ValidationFailed):
        import_products(actor=org.admin, source=b"\x00\x01garbage" * 10, filename="p.xlsx")
    with pytest.raises(PermissionDenied):
        import_products(actor=org.owner, source=b"SKU,x\n", filename="p.csv")


def test_command(org, tmp_path: Path, capsys: Any) -> None:
    org.admin.is_superuser = True
    org.admin.save()
    path = tmp_path / "products.csv"
    path.write_text("SKU,名称,分类,单位,价格,成本\nA-1,对虾,虾,斤,10,6\nA-2,蟹,蟹,只,-1,\n", encoding="utf-8")
    with pytest.raises(SystemExit) as exit_info:
        call_command("import-products", str(path), "--user", "admin")
    assert exit_info.value.code == 1
    out = capsys.readouterr().out
    assert "New: 1" in out and "row 3 (A-2)" in out
    assert Product.objects.filter(sku="A-1").exists()
    with pytest.raises(SystemExit):
        call_command("import_products", str(path), "--dry-run")  # the superuser by default
    out = capsys.readouterr().out
    assert "Checked only" in out and "Unchanged: 1" in out
