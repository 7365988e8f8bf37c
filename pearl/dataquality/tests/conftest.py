"""Fixtures shared by the data-quality tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from huey.contrib.djhuey import HUEY


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Path) -> None:
    """Uploaded sheets and reports go to the test's own folder, never the data dir."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def immediate_tasks() -> Iterator[None]:
    """Huey runs a task inside the call that enqueues it (the browser test goes through the queue)."""
    HUEY.immediate = True
    try:
        yield
    finally:
        HUEY.immediate = False
