from __future__ import annotations

import pytest

from pearl.core.testing.personas import Org, build_org


@pytest.fixture
def org(db: None) -> Org:
    return build_org()
