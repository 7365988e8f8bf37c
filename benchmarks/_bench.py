"""What the scale scripts share: Django on a loaded base (SQLite data dir or PostgreSQL URL), migrated,
and the database's name and version for the results."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def django_on(data_dir: str, database_url: str, *, test_client: bool = False) -> None:
    """Set up Django on this base and apply migrations added since it was loaded."""
    os.environ["PEARL_DATA_DIR"] = data_dir
    os.environ["DJANGO_SETTINGS_MODULE"] = "pearl.settings"
    os.environ.setdefault("PEARL_ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")  # the test client's host
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    else:
        os.environ.pop("DATABASE_URL", None)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    if not database_url:
        # New tables on a consistent copy: skip SQLite's whole-database foreign-key check after the
        # migration (tens of minutes over a million customers' rows).
        from django.db.backends.sqlite3.base import DatabaseWrapper

        DatabaseWrapper.check_constraints = lambda self, table_names=None: None  # type: ignore[method-assign]
    call_command("migrate", verbosity=0)
    if test_client:
        from django.test.utils import setup_test_environment

        setup_test_environment()


def database_version() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT sqlite_version()")
            return f"SQLite {cursor.fetchone()[0]}"
        cursor.execute("SHOW server_version")
        return f"PostgreSQL {cursor.fetchone()[0]}"
