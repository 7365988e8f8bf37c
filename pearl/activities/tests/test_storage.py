"""Attachments go to S3-compatible storage when PEARL_S3_BUCKET is set, to the data dir otherwise."""

from __future__ import annotations

import runpy
from pathlib import Path
from typing import Any

import pytest
from storages.backends.s3 import S3Storage

import pearl.settings

SETTINGS = pearl.settings.__file__


def _settings(monkeypatch: Any, tmp_path: Path, **env: str) -> dict[str, Any]:
    for key in ("PEARL_S3_BUCKET", "PEARL_S3_ENDPOINT_URL", "PEARL_S3_ACCESS_KEY", "PEARL_S3_SECRET_KEY"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("PEARL_DATA_DIR", str(tmp_path))
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return runpy.run_path(SETTINGS)


def test_local_storage_by_default(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    values = _settings(monkeypatch, tmp_path)
    assert values["STORAGES"]["default"]["BACKEND"] == "django.core.files.storage.FileSystemStorage"
    assert values["MEDIA_ROOT"] == tmp_path.resolve() / "media"


def test_s3_by_configuration(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    values = _settings(
        monkeypatch, tmp_path, PEARL_S3_BUCKET="pearl-files", PEARL_S3_ENDPOINT_URL="http://127.0.0.1:9000",
        PEARL_S3_ACCESS_KEY="key", PEARL_S3_SECRET_KEY="secret",
    )  # fmt: skip
    default = values["STORAGES"]["default"]
    assert default["BACKEND"] == "storages.backends.s3.S3Storage"
    storage = S3Storage(**default["OPTIONS"])  # builds without a network round trip
    assert storage.bucket_name == "pearl-files" and storage.endpoint_url == "http://127.0.0.1:9000"
    assert storage.default_acl == "private" and storage.file_overwrite is False
