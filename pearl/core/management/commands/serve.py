"""`pearl serve`: the production server (waitress + WhiteNoise) and, when no separate worker is
configured, the background task worker in the same process."""

from __future__ import annotations

import logging
import os
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)


def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        port = -1
    if not 1 <= port <= 65535:
        raise CommandError(_("The port must be a number from 1 to 65535. / 端口必须是 1–65535 之间的数字。"))
    return port


class Command(BaseCommand):
    help = "Serve Pearl with a production WSGI server (static files included) and the task worker."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=os.environ.get("PEARL_HOST", "127.0.0.1"))
        parser.add_argument("--port", default=os.environ.get("PEARL_PORT", "8000"))
        parser.add_argument("--threads", type=int, default=int(os.environ.get("PEARL_THREADS", "8")))
        parser.add_argument("--no-worker", action="store_true", help="don't run the task worker in-process")

    def handle(self, *args: Any, **options: Any) -> None:
        from waitress import serve

        port = _port(str(options["port"]))
        # Static files are served by WhiteNoise from STATIC_ROOT; collecting is quick and idempotent,
        # and must happen before the WSGI app (and WhiteNoise) is built.
        call_command("collectstatic", interactive=False, verbosity=0)
        from pearl.wsgi import application

        consumer = None
        if settings.PEARL_INPROCESS_WORKER and not options["no_worker"]:
            consumer = start_inprocess_worker()
        self.stdout.write(f"Pearl: http://{options['host']}:{port}/")
        try:
            serve(
                application, host=options["host"], port=port, threads=options["threads"], ident="Pearl",
                **proxy_options(os.environ.get("PEARL_TRUSTED_PROXY", "")),
            )  # fmt: skip
        finally:
            if consumer is not None:
                consumer.stop(graceful=True)


def proxy_options(trusted: str) -> dict[str, Any]:
    """waitress's reverse-proxy options for ``PEARL_TRUSTED_PROXY`` (the proxy's address, or ``*``): the
    visitor's address and scheme are then taken from that proxy's X-Forwarded-For / -Proto, so per-visitor
    limits (the web forms') count visitors, not the proxy; the headers from anyone else are dropped."""
    trusted = trusted.strip()
    if not trusted:
        return {}
    return {
        "trusted_proxy": trusted,
        "trusted_proxy_headers": {"x-forwarded-for", "x-forwarded-proto"},
        "clear_untrusted_proxy_headers": True,
    }


def start_inprocess_worker() -> Any:
    """Huey's consumer in threads of this process (the embedded, one-machine set-up)."""
    from django.utils.module_loading import autodiscover_modules
    from huey.contrib.djhuey import HUEY

    autodiscover_modules("tasks")  # as `run_huey` does: registers every app's tasks.py
    consumer = HUEY.create_consumer(workers=2, worker_type="thread", periodic=True, check_worker_health=False)
    # waitress owns the process signals; the consumer is stopped from serve's finally block instead.
    consumer._set_signal_handlers = lambda: None
    consumer.start()
    return consumer
