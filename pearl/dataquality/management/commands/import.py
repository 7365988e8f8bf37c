"""`pearl import FILE`: the import wizard from the command line (same services, progress on stdout).

Running the same file again after an interrupted run (process killed) resumes that job after its
last committed batch instead of starting over.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from pearl.accounts.models import User
from pearl.core.context import Channel, acting_through
from pearl.core.errors import ApplicationError
from pearl.dataquality import selectors
from pearl.dataquality.choices import ImportKey, ImportRule, ImportTarget
from pearl.dataquality.mapping import field_label
from pearl.dataquality.models import ImportJob
from pearl.dataquality.services import imports


class Command(BaseCommand):
    help = "Import customers from a spreadsheet (.xlsx, .xls, .ods, .csv)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file")
        parser.add_argument(
            "--target", choices=ImportTarget.values, default=ImportTarget.CUSTOMERS,
            help="customers (default) or leads (assigned by the assignment rules as they arrive)",
        )  # fmt: skip
        parser.add_argument("--preset", help="name of a saved column mapping")
        parser.add_argument("--key", choices=ImportKey.values, help="match existing customers on (default mobile)")
        parser.add_argument("--rule", choices=ImportRule.values, help="fill_empty (default) or overwrite")
        parser.add_argument("--sheet", help="sheet name (default: the first sheet with data)")
        parser.add_argument("--dry-run", action="store_true", help="only show what would happen")
        parser.add_argument("--user", help="import as this user (default: the first superuser)")
        parser.add_argument("--batch-size", type=int, default=imports.BATCH_SIZE)

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(_("No such file: %(path)s") % {"path": path})
        actor = self._actor(options["user"])
        try:
            with acting_through(Channel.COMMAND):
                job = self._job(actor, path, options)
                self.stdout.write(_("Import #%(id)s: %(file)s") % {"id": job.pk, "file": job.filename})
                if options["dry_run"]:
                    job = imports.job_preview(actor=actor, job_id=job.pk, batch_size=options["batch_size"])
                    self._counts(job.preview.get("counts", {}))
                    for issue in job.preview.get("issues", [])[:20]:
                        self.stdout.write(f"  {_('row')} {issue['row']}: {'；'.join(issue['messages'])}")
                    return
                if job.status not in ("running", "queued"):  # a job left queued or running is claimed as it is
                    job = imports.job_start(actor=actor, job_id=job.pk)
                job = imports.job_run(job_id=job.pk, batch_size=options["batch_size"], on_progress=self._progress)
        except ApplicationError as exc:
            raise CommandError(str(exc.message)) from exc
        self.stdout.write("")
        self._counts(job.counts)
        if job.report:
            self.stdout.write(_("Rejected rows: %(path)s") % {"path": job.report.path})

    def _actor(self, username: str | None) -> Any:
        users = User.objects.filter(is_active=True)
        actor = (
            users.filter(username=username) if username else users.filter(is_superuser=True).order_by("pk")
        ).first()
        if actor is None:
            raise CommandError(_("No such active user: %(name)s") % {"name": username or "(superuser)"})
        return actor

    def _job(self, actor: Any, path: Path, options: dict[str, Any]) -> ImportJob:
        unfinished = selectors.job_resumable(actor=actor, path=path)
        if unfinished is not None and not options["dry_run"]:
            self.stdout.write(
                _("Resuming import #%(id)s after row %(row)s.") % {"id": unfinished.pk, "row": unfinished.last_row}
            )
            return unfinished
        preset_id = None
        if options["preset"]:
            preset = selectors.preset_list(actor=actor).filter(name=options["preset"]).first()
            if preset is None:
                raise CommandError(_("No mapping preset named %(name)s.") % {"name": options["preset"]})
            preset_id = preset.pk
        with path.open("rb") as fh:
            job = imports.job_create(
                actor=actor, file=fh, filename=path.name, sheet=options["sheet"], preset_id=preset_id,
                key=options["key"] or ImportKey.MOBILE, rule=options["rule"] or ImportRule.FILL_EMPTY,
                require_mapping=True, target=options["target"],
            )  # fmt: skip
        if preset_id is not None and (options["key"] or options["rule"]):
            job = imports.job_set_mapping(
                actor=actor, job_id=job.pk, mapping={int(i): k for i, k in job.mapping.items()},
                key=options["key"], rule=options["rule"],
            )  # fmt: skip
        for index, key in sorted((int(i), k) for i, k in job.mapping.items()):
            self.stdout.write(f"  {job.headers[index]} → {field_label(key)}")
        return job

    def _progress(self, job: ImportJob) -> None:
        total = job.total_rows or 0
        self.stdout.write(f"\r  {job.rows_processed}/{total} ({job.percent}%)", ending="")
        self.stdout.flush()

    def _counts(self, counts: dict[str, int]) -> None:
        labels = {
            # With a context: the bare words are the "created / updated" timestamps of every model (创建时间).
            "created": pgettext("import outcome", "created"),
            "updated": pgettext("import outcome", "updated"),
            "unchanged": _("unchanged"),
            "duplicate": _("duplicate in file"),
            "invalid": _("invalid"),
        }
        self.stdout.write("  " + ", ".join(f"{labels[k]}: {v}" for k, v in counts.items() if k in labels))
