from __future__ import annotations

from typing import Any

import pytest

from pearl.core.testing.personas import Org, build_org


@pytest.fixture
def org(db: None) -> Org:
    return build_org()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    # PBKDF2's deliberate slowness is for production; personas are created in almost every test.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _plain_static_storage(settings: Any) -> None:
    # The manifest storage needs `collectstatic`; tests render templates without collecting.
    settings.STORAGES = {**settings.STORAGES, "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}


@pytest.fixture
def en(client: Any) -> Any:
    """A client reading English, so page assertions match the source strings."""
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def admin(en: Any, org: Org) -> Any:
    """An English-reading client logged in as the administrator."""
    en.force_login(org.admin)
    return en
