"""`pearl demo`: load the demo company (鑫海水产) and serve it.

Running it again on a database that already holds the demo skips the load and serves what is
there, so `make demo` can be run any number of times.
"""

from __future__ import annotations

import importlib
import os
import time
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.translation import gettext as _

from pearl.core.context import Channel, acting_through

MAX_CUSTOMERS = 10_000_000


def _whole_number(raw: Any, option: str, low: int, high: int) -> int:
    try:
        value = int(str(raw).strip())
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        raise CommandError(
            _("%(option)s must be a whole number from %(low)s to %(high)s, not “%(value)s”.")
            % {"option": option, "low": f"{low:,}", "high": f"{high:,}", "value": raw}
        )
    return value


class Command(BaseCommand):
    help = "Load the demo company (a seafood wholesaler in Guangzhou) and serve it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--customers", default="2000", help="how many customers (default 2000)")
        parser.add_argument("--seed", default="1", help="random seed; the same seed gives the same company")
        parser.add_argument("--no-serve", action="store_true", help="load only, do not start the server")
        parser.add_argument("--no-history", action="store_true",
                            help="customers only: no orders, payments, communications or complaints")
        parser.add_argument("--host", default=os.environ.get("PEARL_HOST", "127.0.0.1"))
        parser.add_argument("--port", default=os.environ.get("PEARL_PORT", "8000"))

    def handle(self, *args: Any, **options: Any) -> None:
        # Imported here: models are not ready when Django lists the commands.
        from pearl.customers.demo import DemoExists, build_demo, build_trade, demo_present, trade_present
        from pearl.dataquality.services.matchkeys import match_keys_rebuild

        count = _whole_number(options["customers"], "--customers", 0, MAX_CUSTOMERS)
        seed = _whole_number(options["seed"], "--seed", 0, 2**31 - 1)
        verbose = options["verbosity"] > 1
        started = time.monotonic()

        def progress(done: int, total: int) -> None:
            if total >= 50_000 and (done % 100_000 == 0 or done == total):
                self.stdout.write(f"  {done:,} / {total:,}  ({time.monotonic() - started:.0f} s)")

        def trade_progress(done: int, total: int) -> None:
            if total >= 50_000:  # called every TRADE_COMMIT_EVERY customers
                self.stdout.write(
                    _("  history of %(done)s / %(total)s customers  (%(seconds).0f s)")
                    % {"done": f"{done:,}", "total": f"{total:,}", "seconds": time.monotonic() - started}
                )

        if demo_present():
            self.stdout.write(_("The demo company is already loaded; using the data that is there."))
            if not trade_present():
                # A demo loaded before it had a history (or with --no-history): add it now.
                self.stdout.write(_("Adding the orders, payments and communications of its customers…"))
                with acting_through(Channel.COMMAND):
                    trade = build_trade(seed=seed, progress=trade_progress)
                self._report_trade(trade, verbose)
                self._derive(verbose)
        else:
            self.stdout.write(_("Loading the demo company with %(n)s customers…") % {"n": f"{count:,}"})
            try:
                with acting_through(Channel.COMMAND):
                    result = build_demo(customers=count, seed=seed, progress=progress,
                                        trade=not options["no_history"], trade_progress=trade_progress)
            except DemoExists as exc:
                raise CommandError(
                    _("This database already has users or settings the demo would overwrite (%(what)s). "
                      "Load the demo into an empty database, e.g. with another PEARL_DATA_DIR.")
                    % {"what": exc}
                ) from exc
            self.stdout.write(
                _("Loaded %(customers)s customers, %(contacts)s contacts in %(seconds).0f s.")
                % {"customers": f"{result.customers:,}", "contacts": f"{result.contacts:,}",
                   "seconds": result.seconds}
            )
            if verbose:
                self.stdout.write("  " + ", ".join(f"{name} {sec:.0f} s" for name, sec in result.phases.items()))
            if result.trade is not None:
                self._report_trade(result.trade, verbose)
            # The loader writes customers in bulk, past the services: key them for the duplicate
            # check in one pass (column-wise, in two processes).
            self.stdout.write(_("Building the duplicate-check keys…"))
            started = time.monotonic()
            keys = match_keys_rebuild(progress=lambda done: progress(done, count))
            self.stdout.write(
                _("Duplicate-check keys: %(keys)s in %(seconds).0f s.")
                % {"keys": f"{keys:,}", "seconds": time.monotonic() - started}
            )
            if result.trade is not None:
                self._derive(verbose)
            self._sales_automation(count, seed)
        self._print_logins(options)
        if not options["no_serve"]:
            call_command("serve", host=options["host"], port=options["port"])

    def _report_trade(self, trade: Any, verbose: bool) -> None:
        if not trade.loaded:
            return
        rows = trade.rows
        self.stdout.write(
            _("History: %(orders)s orders, %(lines)s order lines, %(payments)s payments, %(communications)s "
              "communications, %(complaints)s complaints, %(events)s timeline events in %(seconds).0f s.")
            % {"orders": f"{rows.get('sales.Order', 0):,}", "lines": f"{rows.get('sales.OrderLine', 0):,}",
               "payments": f"{rows.get('sales.Payment', 0):,}",
               "communications": f"{rows.get('activities.Communication', 0):,}",
               "complaints": f"{rows.get('activities.Complaint', 0):,}",
               "events": f"{rows.get('activities.TimelineEvent', 0):,}", "seconds": trade.seconds}
        )
        if verbose:
            self.stdout.write("  " + ", ".join(f"{name} {sec:.0f} s" for name, sec in trade.phases.items()))

    def _derive(self, verbose: bool) -> None:
        """The customers' figures, grades and smart tags (pearl.analytics), when that app provides them."""
        try:
            analytics: Any = importlib.import_module("pearl.analytics.services")
        except ImportError:
            analytics = None
        rebuild = getattr(analytics, "figures_rebuild", None)
        sweep = getattr(analytics, "analytics_sweep", None)
        if rebuild is None:
            self.stdout.write(_("Customer figures are not computed: this version has no figures_rebuild()."))
            return
        self.stdout.write(_("Computing the customers' figures…"))
        started = time.monotonic()
        with acting_through(Channel.COMMAND):
            figures = rebuild()
        self.stdout.write(
            _("Figures of %(n)s customers in %(seconds).0f s.")
            % {"n": f"{figures:,}", "seconds": time.monotonic() - started}
        )
        if sweep is None:
            self.stdout.write(_("Grades and smart tags are not applied: this version has no analytics_sweep()."))
            return
        started = time.monotonic()
        with acting_through(Channel.COMMAND):
            summary = sweep(timezone.now())
        self.stdout.write(_("Grades and smart tags applied in %(seconds).0f s.") % {
            "seconds": time.monotonic() - started})
        if verbose:
            self.stdout.write(f"  {summary}")

    def _sales_automation(self, count: int, seed: int) -> None:
        """Leads and their rules, opportunities, a few customers in the public pool, sales1's tasks."""
        from pearl.leads.demo import build_leads
        from pearl.leads.services import leads_reminders_sweep
        from pearl.pipelines.demo import build_opportunities
        from pearl.pools.demo import build_pool
        from pearl.reminders.demo import build_tasks

        started = time.monotonic()
        now = timezone.now()
        with acting_through(Channel.COMMAND):
            leads = build_leads(customers=count, seed=seed, now=now)
            leads_reminders_sweep(now)  # the no-follow-up reminders of the leads left untouched
            opportunities = build_opportunities(customers=count, seed=seed, now=now)
            pooled = build_pool(seed=seed)
            tasks = build_tasks(seed=seed, now=now)
        open_leads = leads.by_status.get("new", 0) + leads.by_status.get("contacted", 0)
        self.stdout.write(
            _("Sales: %(leads)s leads (%(open)s open, %(converted)s converted), %(opportunities)s opportunities, "
              "%(pooled)s customers in the public pool, %(tasks)s tasks in %(seconds).0f s.")
            % {"leads": f"{leads.leads:,}", "open": f"{open_leads:,}",
               "converted": f"{leads.by_status.get('converted', 0):,}",
               "opportunities": f"{opportunities.opportunities:,}", "pooled": pooled, "tasks": tasks,
               "seconds": time.monotonic() - started}
        )

    def _print_logins(self, options: dict[str, Any]) -> None:
        from pearl.customers.demo import PASSWORD, USERS

        self.stdout.write("")
        self.stdout.write(_("Open http://%(host)s:%(port)s/ and log in as:") % {
            "host": options["host"], "port": options["port"]})
        for username, role, _team, display in USERS:
            self.stdout.write(f"  {username:<8} {display}  ({role})")
        self.stdout.write(_("Password for every user: %(password)s") % {"password": PASSWORD})
        self.stdout.write("")
