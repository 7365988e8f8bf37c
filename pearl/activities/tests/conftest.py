from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation
from PIL import Image

from pearl.core.testing.personas import Org
from pearl.customers.models import Customer
from pearl.customers.tests.factories import make_customer, mobile


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    """Messages are asserted in English (the source strings)."""
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def media(settings: Any, tmp_path: Path) -> Path:
    """Every test stores its files in its own directory."""
    root = tmp_path / "media"
    root.mkdir()
    settings.MEDIA_ROOT = str(root)
    return root


def stored_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def png_bytes(size: tuple[int, int] = (8, 6), fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, fmt)
    return buffer.getvalue()


def photo(name: str = "门头.jpg", fmt: str = "JPEG") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, png_bytes(fmt=fmt), content_type="image/jpeg")


def not_a_photo(name: str = "visit.jpg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, b"%PDF-1.4 this is not an image at all", content_type="image/jpeg")


@pytest.fixture
def customer(org: Org) -> Customer:
    """A customer of org.owner (team 一组) with a primary contact."""
    return make_customer(org.owner, contacts=[{"name": "张伟", "mobile": mobile(501)}])
