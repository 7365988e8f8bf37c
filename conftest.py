from __future__ import annotations

import pytest

from pearl.core.testing.personas import Org, build_org


@pytest.fixture
def org(db: None) -> Org:
    return build_org()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings) -> None:  # type: ignore[no-untyped-def]
    # PBKDF2's deliberate slowness is for production; personas are created in almost every test.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
