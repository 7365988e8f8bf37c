"""`pearl dedupe`: the duplicate matcher on a spreadsheet, on a spreadsheet against the base, or on the base.

    pearl dedupe customers.xlsx --out pairs.csv           # pairs within the file
    pearl dedupe customers.xlsx --against-db --user wang  # file rows × existing customers wang may see
    pearl dedupe --db --user wang                         # scan the base, refresh the review queue
    pearl dedupe --reindex                                # recompute the kept match keys and features

The file is read by the import's reader and automatic column mapping; the CSV has one line per pair
in either band: ``left_id,right_id,score,band,reasons``.
"""

from __future__ import annotations

import csv
import re
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from pearl.accounts.models import User
from pearl.core.errors import ApplicationError
from pearl.dataquality import selectors
from pearl.dataquality.mapping import auto_map, normalize_header, validate_mapping
from pearl.dataquality.matching import MatchConfig, Record, prepare, scan, with_thresholds
from pearl.dataquality.reader import open_sheet
from pearl.dataquality.services import duplicates
from pearl.dataquality.services.matchkeys import match_keys_rebuild

_SPLIT = re.compile(r"[,，;；/、]+")  # not spaces: "138 0013 8000" is one number
_PERSON_WORDS = ("个人", "自然人", "individual", "person", "personal")
FILE, DB = "f", "d"  # prefixes that keep file ids and customer ids apart inside one scan


def _many(value: str | None) -> tuple[str, ...]:
    return tuple(v.strip() for v in _SPLIT.split(value or "") if v.strip())


def row_record(record_id: str, values: dict[str, str | None]) -> Record:
    """A matcher record from a mapped sheet row (a person's row is named after its contact, as in import)."""
    name = (values.get("name") or "").strip()
    contact = (values.get("contact_name") or "").strip()
    kind_text = (values.get("kind") or "").strip().lower()
    person = any(word in kind_text for word in _PERSON_WORDS) or (not name and not values.get("short_name"))
    return Record(
        id=record_id,
        kind="individual" if person else "company",
        name=name or (contact if person else ""),
        short_name=(values.get("short_name") or "").strip(),
        customer_type=(values.get("customer_type") or "").strip(),
        contact_names=(contact,) if contact else (),
        mobiles=_many(values.get("mobile")),
        emails=_many(values.get("email")),
        wechats=_many(values.get("wechat")),
        province=(values.get("province") or "").strip(),
        city=(values.get("city") or "").strip(),
        district=(values.get("district") or "").strip(),
        address=(values.get("address") or "").strip(),
    )


class Command(BaseCommand):
    help = "Find duplicate customers in a spreadsheet (or against the database) and write the pairs as CSV."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", nargs="?", help="spreadsheet (.xlsx, .xls, .ods, .csv)")
        parser.add_argument("--id-column", help="header of the column that identifies a row (default: 编号/id)")
        parser.add_argument("--out", help="CSV file to write (default: standard output)")
        parser.add_argument("--against-db", action="store_true", help="match the file's rows against customers")
        parser.add_argument("--db", action="store_true", help="scan all customers and refresh the review queue")
        parser.add_argument(
            "--reindex", action="store_true",
            help="recompute every customer's match keys and features (after writes that bypassed Pearl)",
        )
        parser.add_argument("--sheet", help="sheet name (default: the first sheet with data)")
        parser.add_argument("--duplicate", type=float, help="score from which a pair is a duplicate")
        parser.add_argument("--possible", type=float, help="score from which a pair is a possible duplicate")
        parser.add_argument("--user", help="act as this user (default: the first administrator)")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["reindex"]:
            if options["file"] or options["db"]:
                raise CommandError(_("--reindex runs on its own."))
            started = time.monotonic()
            keys = match_keys_rebuild(progress=lambda done: self.stdout.write(f"  {done:,}"))
            self.stdout.write(_("Duplicate-check keys: %(keys)s in %(seconds).0f s.")
                              % {"keys": f"{keys:,}", "seconds": time.monotonic() - started})
            return
        if options["db"]:
            if options["file"]:
                raise CommandError(_("Give either a file or --db, not both."))
            self._scan_db(self._actor(options["user"]))
            return
        if not options["file"]:
            raise CommandError(_("Give a spreadsheet to check, or --db to scan the customers."))
        config = self._config(options["duplicate"], options["possible"])
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(_("No such file: %(path)s") % {"path": path})
        actor = self._actor(options["user"]) if options["against_db"] else None
        try:
            records = self._read(path, options["sheet"], options["id_column"])
            pairs = list(self._against_db(records, config, actor) if actor else self._within(records, config))
        except ApplicationError as exc:
            raise CommandError(str(exc.message)) from exc
        counts = {"duplicate": 0, "possible": 0}
        to_file = bool(options["out"])
        out: Any = open(options["out"], "w", newline="", encoding="utf-8") if to_file else self.stdout  # noqa: SIM115
        try:
            writer = csv.writer(out, lineterminator="\n")
            writer.writerow(["left_id", "right_id", "score", "band", "reasons"])
            for left, right, match in sorted(pairs, key=lambda p: -p[2].score):
                counts[match.band or "possible"] += 1
                writer.writerow([left, right, f"{match.score:.2f}", match.band, duplicates.reasons_text(match.reasons)])
        finally:
            if to_file:
                out.close()
        # The CSV may be on standard output: the summary then goes to standard error.
        report = self.stdout if to_file else self.stderr
        report.write(
            _("%(rows)d rows: %(dup)d duplicate pairs, %(pos)d possible duplicate pairs.")
            % {"rows": len(records), "dup": counts["duplicate"], "pos": counts["possible"]}
        )
        if options["out"]:
            report.write(_("Pairs written to %(path)s") % {"path": options["out"]})

    # -- input ------------------------------------------------------------------------------------

    def _config(self, duplicate: float | None, possible: float | None) -> MatchConfig:
        config = selectors.match_config()
        duplicate = config.duplicate if duplicate is None else duplicate
        possible = config.possible if possible is None else possible
        if possible > duplicate:
            raise CommandError(_("--possible must not be above --duplicate."))
        return with_thresholds(config, duplicate=duplicate, possible=possible)

    def _read(self, path: Path, sheet_name: str | None, id_column: str | None) -> list[Record]:
        with open_sheet(path, sheet=sheet_name) as sheet:
            headers = list(sheet.headers)
            mapping = auto_map(headers).mapping
            validate_mapping(mapping, column_count=len(headers))
            id_index = self._id_index(headers, mapping, id_column)
            records: list[Record] = []
            seen: dict[str, int] = {}
            for row in sheet.rows():
                raw = (row.values[id_index] or "").strip() if id_index is not None else ""
                record_id = raw or str(row.number)
                if record_id in seen:
                    raise CommandError(
                        _("The id “%(id)s” is in rows %(a)d and %(b)d; ids must be unique (or leave out --id-column).")
                        % {"id": record_id, "a": seen[record_id], "b": row.number}
                    )
                seen[record_id] = row.number
                values = {k: v for k, v in row.mapped(mapping).items() if k != "external_id"}
                records.append(row_record(record_id, values))
        return records

    def _id_index(self, headers: list[str], mapping: dict[int, str], id_column: str | None) -> int | None:
        if id_column:
            wanted = normalize_header(id_column)
            for index, header in enumerate(headers):
                if header == id_column or normalize_header(header) == wanted:
                    return index
            raise CommandError(
                _("No column “%(col)s” in the sheet. Its headers are: %(headers)s")
                % {"col": id_column, "headers": "、".join(h for h in headers if h)}
            )
        return next((index for index, key in mapping.items() if key == "external_id"), None)

    def _actor(self, username: str | None) -> User:
        users = User.objects.filter(is_active=True)
        found = (
            users.filter(username=username) if username else users.filter(is_superuser=True).order_by("pk")
        ).first()
        if found is None and not username:
            found = next((u for u in users.order_by("pk") if u.data_scope == "all" and u.may("manage_settings")), None)
        if found is None:
            raise CommandError(_("No such active user: %(name)s") % {"name": username or _("(an administrator)")})
        return found

    # -- matching ---------------------------------------------------------------------------------

    def _within(self, records: list[Record], config: MatchConfig) -> Iterator[tuple[str, str, Any]]:
        for match in scan(records, config):
            yield match.left, match.right, match

    def _against_db(self, records: list[Record], config: MatchConfig, actor: User) -> Iterator[tuple[str, str, Any]]:
        """File rows × the customers sharing a blocking key with one of them (read from the kept match
        keys); never file × file or db × db."""
        tagged = [_tag(r, FILE) for r in records]
        keys: set[str] = set()
        for record in tagged:
            keys.update(prepare(record, config).keys)
        ids = selectors.customers_sharing_keys(actor=actor, keys=keys)
        candidates = [_tag(c, DB) for c in selectors.match_records(ids)]
        if not candidates:
            return
        for match in scan([*tagged, *candidates], config):
            a, b = match.left.split(":", 1), match.right.split(":", 1)
            if a[0] == b[0]:
                continue
            (file_id, db_id) = (a[1], b[1]) if a[0] == FILE else (b[1], a[1])
            yield file_id, db_id, match

    def _scan_db(self, actor: User) -> None:
        try:
            summary = duplicates.duplicates_scan(actor=actor, workers=2)
        except ApplicationError as exc:
            raise CommandError(str(exc.message)) from exc
        self.stdout.write(
            _(
                "%(customers)d customers scanned in %(seconds)ss: %(pairs)d pairs (%(new)d new), "
                "%(removed)d dropped, %(merged)d merged automatically."
            )
            % summary.as_dict()
        )


def _tag(record: Record, prefix: str) -> Record:
    return replace(record, id=f"{prefix}:{record.id}")
