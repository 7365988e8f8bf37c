"""`pearl import-products FILE` (also `pearl import_products`): products from a spreadsheet.

Columns SKU, 名称, 分类, 单位, 规格, 价格, 成本 (在售 optional); create or update by SKU, each row
whole or not at all, refused rows listed with their row number and reason. Exit status 1 when any
row was refused, so a script notices.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from pearl.accounts.models import User
from pearl.core.context import Channel, acting_through
from pearl.core.errors import ApplicationError
from pearl.sales.services import import_products


class Command(BaseCommand):
    help = "Import products from a spreadsheet (.xlsx, .xls, .csv): columns SKU, 名称, 分类, 单位, 规格, 价格, 成本."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file")
        parser.add_argument("--dry-run", action="store_true", help="check every row, write nothing")
        parser.add_argument("--user", help="import as this user (default: the first superuser)")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(_("No such file: %(path)s") % {"path": path})
        users = User.objects.filter(is_active=True)
        username = options["user"]
        actor = (
            users.filter(username=username) if username else users.filter(is_superuser=True).order_by("pk")
        ).first()
        if actor is None:
            raise CommandError(_("No such active user: %(name)s") % {"name": username or "(superuser)"})
        try:
            with acting_through(Channel.COMMAND):
                report = import_products(actor=actor, source=str(path), dry_run=options["dry_run"])
        except ApplicationError as exc:
            raise CommandError(str(exc.message)) from exc
        if report.dry_run:
            self.stdout.write(_("Checked only; nothing was written."))
        self.stdout.write(
            _("New: %(created)d · Updated: %(updated)d · Unchanged: %(unchanged)d · Refused: %(refused)d")
            % {
                "created": report.created,
                "updated": report.updated,
                "unchanged": report.unchanged,
                "refused": len(report.problems),
            }
        )
        if report.new_categories:
            self.stdout.write(_("New categories: %(names)s") % {"names": "、".join(report.new_categories)})
        for problem in report.problems:
            self.stdout.write(
                _("row %(row)d (%(sku)s): %(reason)s") % {"row": problem.row, "sku": problem.sku or "—",
                                                          "reason": problem.reason}
            )  # fmt: skip
        if report.problems:
            raise SystemExit(1)
