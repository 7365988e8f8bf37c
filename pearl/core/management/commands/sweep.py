"""`pearl sweep [--at ISO-8601] [--only NAME]`: run every registered time-based sweep once, as of a
moment (now by default; a moment in the future or past is time travel, for tests and catch-up)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from pearl.core import sweeps


def parse_moment(value: str) -> dt.datetime:
    """An ISO-8601 moment; without an offset it is read in the local time zone (Asia/Shanghai)."""
    try:
        moment = parse_datetime(value.strip())
    except ValueError:
        moment = None
    if moment is None:
        try:
            day = dt.date.fromisoformat(value.strip())
        except ValueError:
            raise CommandError(
                _("--at takes an ISO-8601 moment such as 2027-01-01T00:00:00+08:00, not %(value)s.")
                % {"value": value[:40]}
            ) from None
        moment = dt.datetime.combine(day, dt.time.min)
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


class Command(BaseCommand):
    help = "Run the time-based sweeps (figures, grades, smart tags, …) once, as of now or --at."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--at", help="ISO-8601 moment to run as of, e.g. 2027-01-01T00:00:00+08:00")
        parser.add_argument("--only", action="append", help="run only this sweep (repeatable)")

    def handle(self, *args: Any, **options: Any) -> None:
        at = parse_moment(options["at"]) if options.get("at") else timezone.now()
        names = options.get("only")
        known = {s.name for s in sweeps.registered()}
        unknown = sorted(set(names or ()) - known)
        if unknown:
            raise CommandError(
                _("Unknown sweep %(name)s; registered: %(known)s.")
                % {"name": unknown[0], "known": ", ".join(sorted(known)) or "—"}
            )
        self.stdout.write(_("Sweeping as of %(at)s") % {"at": timezone.localtime(at).isoformat()})
        failed = False
        for result in sweeps.run_all(at, names=names):
            if result.error:
                failed = True
                self.stderr.write(f"{result.name}: {_('failed')}: {result.error}")
                continue
            summary = json.dumps(result.summary, ensure_ascii=False, sort_keys=True, default=str)
            self.stdout.write(f"{result.name} ({result.seconds:.2f} s): {summary}")
        if failed:
            raise CommandError(_("A sweep failed; see above."))
