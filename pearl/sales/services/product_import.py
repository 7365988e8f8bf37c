"""Products from a spreadsheet (.xlsx / .xls / .csv): create or update by SKU, row by row with a report.

Columns (header names, Chinese or English): SKU, 名称, 分类, 单位, 规格, 价格, 成本 (and 在售 optionally).
Each row is written whole or not at all (its own savepoint); a refused row is reported with its row
number and the reason and the other rows go in. A category named in the file that does not exist yet
is created (at the top level) and listed in the report, so a new catalogue can be loaded in one go.
The same SKU twice in one file: the later row is refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import IO, Any

from django.db import transaction
from django.utils.translation import gettext as _

from pearl.accounts.models import User
from pearl.core.changes import created, record_change, snapshot
from pearl.core.errors import ApplicationError, ValidationFailed
from pearl.core.events import emit
from pearl.core.models import ChangeAction
from pearl.core.permissions import require
from pearl.dataquality.reader import open_sheet
from pearl.sales.models import Product, ProductCategory
from pearl.sales.services.catalogue import PRODUCT_FIELDS, clean_product, product_apply

COLUMNS: dict[str, tuple[str, ...]] = {
    "sku": ("sku", "编码", "商品编码", "货号", "产品编码"),
    "name": ("名称", "name", "商品名称", "产品名称", "品名"),
    "category": ("分类", "category", "类别", "品类"),
    "unit": ("单位", "unit"),
    "spec": ("规格", "spec", "specification"),
    "price": ("价格", "price", "单价", "售价", "标准价"),
    "cost": ("成本", "cost", "成本价"),
    "is_active": ("在售", "on sale", "active", "状态"),
}
REQUIRED = ("sku", "name", "category", "unit", "price")
_YES = {"是", "在售", "1", "true", "yes", "y", "上架"}
_NO = {"否", "停售", "0", "false", "no", "n", "下架"}
MAX_ROWS = 20_000


@dataclass
class RowProblem:
    row: int
    sku: str
    reason: str


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    new_categories: list[str] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems


def _header_map(headers: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for index, header in enumerate(headers):
        text = header.strip().lower()
        for key, names in COLUMNS.items():
            if text in names and key not in found:
                found[key] = index
    return found


def _row_data(values: list[str | None], columns: dict[str, int]) -> dict[str, Any]:
    return {key: (values[i] if i < len(values) else None) for key, i in columns.items()}


def import_products(
    *, actor: User, source: str | bytes | IO[bytes] | Any, filename: str = "", dry_run: bool = False
) -> ImportReport:
    """Read the file and write each good row; raises ValidationFailed when the file cannot be used at all."""
    require(actor, "manage_settings")
    report = ImportReport(dry_run=dry_run)
    labels = [(k, names[0]) for k, names in COLUMNS.items()]
    with open_sheet(source, filename=filename, custom_fields=labels) as sheet:
        columns = _header_map(sheet.headers)
        missing = [COLUMNS[k][0] for k in REQUIRED if k not in columns]
        if missing:
            message = _(
                "The header row lacks the columns %(columns)s (expected SKU, 名称, 分类, 单位, 规格, 价格, 成本)."
            ) % {"columns": "、".join(missing)}
            raise ValidationFailed(message, field_errors={"file": [message]})
        seen: dict[str, int] = {}
        categories = {c.name: c for c in ProductCategory.objects.all()}
        count = 0
        for row in sheet.rows():
            count += 1
            if count > MAX_ROWS:
                message = _("At most %(n)d rows can be imported at once; split the file.") % {"n": MAX_ROWS}
                raise ValidationFailed(message, field_errors={"file": [message]})
            data = _row_data(row.values, columns)
            sku = (data.get("sku") or "").strip()
            if row.errors:
                reason = _("A cell could not be read (an Excel error value).")
                report.problems.append(RowProblem(row.number, sku, reason))
                continue
            if sku and sku in seen:
                reason = _("SKU %(sku)s appears in row %(row)d already.") % {"sku": sku, "row": seen[sku]}
                report.problems.append(RowProblem(row.number, sku, reason))
                continue
            if sku:
                seen[sku] = row.number
            try:
                _import_row(actor, data, categories, report)
            except ApplicationError as exc:
                reasons = [f"{_label(k)}: {m}" for k, msgs in exc.field_errors.items() for m in msgs]
                reasons = reasons or [str(exc.message)]
                report.problems.append(RowProblem(row.number, sku, "；".join(reasons)))
        if dry_run:
            report.new_categories = sorted(set(report.new_categories))
    return report


def _label(key: str) -> str:
    names = COLUMNS.get(key) or (key,)
    return names[0].upper() if key == "sku" else names[0]


def _active(value: Any) -> Any:
    if value in (None, ""):
        return None
    text = str(value).strip().lower()
    if text in _YES:
        return True
    if text in _NO:
        return False
    return text  # clean_product refuses it: "Enter true or false."


def _import_row(
    actor: User, data: dict[str, Any], categories: dict[str, ProductCategory], report: ImportReport
) -> None:
    """One row in its own savepoint: written whole or not at all."""
    category_name = " ".join((data.pop("category", None) or "").split())
    if not category_name:
        message = _("This field is required.")
        raise ValidationFailed(message, field_errors={"category": [message]})
    if len(category_name) > 32:
        message = _("At most %(n)d characters.") % {"n": 32}
        raise ValidationFailed(message, field_errors={"category": [message]})
    active = _active(data.pop("is_active", None))
    if active is not None:
        data["is_active"] = active
    if data.get("cost") in (None, ""):
        data.pop("cost", None)
    if data.get("spec") is None:
        data.pop("spec", None)
    with transaction.atomic():
        category = categories.get(category_name)
        if category is None:
            category = ProductCategory.objects.filter(name=category_name).first()
        is_new_category = category is None
        if category is None:
            category = ProductCategory(name=category_name)
            category.save()
            record_change(
                actor=actor,
                action=ChangeAction.CREATE,
                instance=category,
                changes=created(snapshot(category, ["name"])),
            )
        data["category"] = category.pk
        existing = Product.objects.select_for_update().filter(sku=(data.get("sku") or "").strip()).first()
        values = clean_product(data, existing)
        if existing is None:
            product = Product(**values)
            product.save()
            record_change(
                actor=actor,
                action=ChangeAction.CREATE,
                instance=product,
                changes=created(snapshot(product, PRODUCT_FIELDS)),
            )
            emit("product.changed", product_id=product.pk, actor_id=actor.pk)
            report.created += 1
        elif product_apply(actor, existing, values):
            report.updated += 1
        else:
            report.unchanged += 1
        if report.dry_run:
            transaction.set_rollback(True)
        elif is_new_category:
            categories[category_name] = category
        if is_new_category:
            report.new_categories.append(category_name)
