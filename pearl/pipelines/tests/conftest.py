from __future__ import annotations

import importlib
from collections.abc import Iterator

import pytest
from django.apps import apps
from django.utils import translation

from pearl.core.testing.personas import Org
from pearl.customers.models import Customer
from pearl.customers.tests.factories import make_customer
from pearl.pipelines.models import Pipeline, Stage


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    """Messages in English so the tests read the source strings."""
    with translation.override("en"):
        yield


@pytest.fixture
def pipeline(db: None) -> Pipeline:
    """The default pipeline the data migration ships (put back if a transactional test flushed it)."""
    importlib.import_module("pearl.pipelines.migrations.0002_default_pipeline").create_default_pipeline(apps, None)
    return Pipeline.objects.get(is_default=True)


@pytest.fixture
def stages(pipeline: Pipeline) -> dict[str, Stage]:
    return {s.name: s for s in pipeline.stages.all()}


@pytest.fixture
def customer(org: Org) -> Customer:
    """A customer of org.owner (team 一组)."""
    return make_customer(org.owner)
