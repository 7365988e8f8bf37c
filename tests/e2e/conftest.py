"""Browser tests: Playwright (sync API) driving Debian's headless Chromium against pytest-django's live server.

Without a Chromium these tests skip with the reason; CI sets PEARL_REQUIRE_BROWSER=1 so a missing
browser fails instead of passing silently. Never `playwright install`: we use the system Chromium.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest
from django.urls import reverse

CHROMIUM = os.environ.get("PEARL_CHROMIUM", "/usr/bin/chromium")
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _unavailable(reason: str) -> NoReturn:
    if os.environ.get("PEARL_REQUIRE_BROWSER") == "1":
        pytest.fail(f"PEARL_REQUIRE_BROWSER=1 but the browser tests cannot run: {reason}", pytrace=False)
    pytest.skip(f"browser tests skipped: {reason} (set PEARL_CHROMIUM or install Debian's chromium)")


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if not (Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)):
        _unavailable(f"no Chromium executable at {CHROMIUM}")
    try:
        import playwright.sync_api  # noqa: F401  # only checking that it is installed
    except ImportError:
        _unavailable("the playwright Python package is not installed")
    return CHROMIUM


# Rows the data migrations ship (roles, default choice lists, the default pipeline and pool); idempotent seeds.
SEEDS = [
    ("pearl.accounts.migrations.0002_default_roles", "create_roles"),
    ("pearl.customers.migrations.0002_default_choices", "create_choices"),
    ("pearl.pipelines.migrations.0002_default_pipeline", "create_default_pipeline"),
    ("pearl.pools.migrations.0002_default_pool", "create_default_pool"),
]


@pytest.fixture
def seeded_db(transactional_db: None) -> None:
    """A live-server test runs outside a transaction, so any transactional test before it has flushed
    every table, including the rows the data migrations seeded. Put those back."""
    from django.apps import apps

    for module, function in SEEDS:
        getattr(importlib.import_module(module), function)(apps, None)


@pytest.fixture
def browser(chromium_path: str, live_server: Any, seeded_db: None) -> Iterator[Any]:
    """Chromium for one test, started only after the test database is ready.

    Playwright's sync API marks an asyncio loop as running in this thread, and Django then keeps
    database connections per async context instead of per thread. Starting it after pytest-django
    has set up the database keeps that work on the usual connection; the test's own queries use a
    second connection to the same shared in-memory database, which is why the ORM has to be told
    that this is safe.
    """
    from playwright.sync_api import sync_playwright

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            try:
                chromium = playwright.chromium.launch(executable_path=chromium_path, headless=True, args=LAUNCH_ARGS)
            except Exception as exc:  # any launch failure means "no usable browser"
                _unavailable(f"Chromium at {chromium_path} did not start: {exc}")
            yield chromium
            chromium.close()
            # Close the connection the test opened in Playwright's async context, or PostgreSQL
            # refuses to drop the test database at the end ("being accessed by other users").
            from django.db import connections

            connections.close_all()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh English-reading browser tab."""
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    tab = context.new_page()
    tab.on("dialog", lambda dialog: dialog.accept())  # hx-confirm prompts
    yield tab
    context.close()


@pytest.fixture
def log_in(live_server: Any) -> Callable[[Any, str, str], None]:
    """Log a tab in through the real login form, as a person would."""

    def go(tab: Any, username: str, password: str) -> None:
        tab.goto(live_server.url + reverse("accounts:login"))
        tab.fill("input[name=username]", username)
        tab.fill("input[name=password]", password)
        tab.click("button[type=submit]")
        tab.wait_for_url(live_server.url + reverse("customers:customer_list"))

    return go
