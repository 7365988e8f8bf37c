from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from pearl.core import events
from pearl.core.changes import created, deleted, diff, record_change
from pearl.core.context import Channel, acting_through, current
from pearl.core.errors import ValidationFailed
from pearl.core.models import ChangeLog, IdempotencyRecord
from pearl.core.phones import format_phone, normalize_phone
from pearl.core.tasks import idempotency_records_purge
from pearl.core.text import normalize_company_name, pinyin_initials, pinyin_syllables, search_normalize


@pytest.mark.parametrize(
    ("raw", "stored", "shown"),
    [
        ("13800138000", "13800138000", "138 0013 8000"),
        ("+86 138-0013-8000", "13800138000", "138 0013 8000"),
        ("１３８００１３８０００", "13800138000", "138 0013 8000"),
        ("13800138000.0", "13800138000", "138 0013 8000"),
        ("020-87654321", "02087654321", "020 8765 4321"),
        ("(0755)86013388", "075586013388", "0755 8601 3388"),
    ],
)
def test_phone_normalised_and_formatted(raw: str, stored: str, shown: str) -> None:
    assert normalize_phone(raw) == stored
    assert format_phone(stored) == shown


@pytest.mark.parametrize("raw", ["12345", "1380013800", "abc", "+1 415 555 0100", "23800138000"])
def test_bad_phone_refused_with_message(raw: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        normalize_phone(raw)
    assert "11" in str(info.value.message)


def test_company_names_normalise_across_widths_brackets_and_legal_forms() -> None:
    key = normalize_company_name("广州鑫海（海鲜）有限公司")
    assert normalize_company_name("广州 鑫海(海鲜)有限责任公司") == key
    assert normalize_company_name("广州鑫海【海鲜】有限公司") == key
    assert normalize_company_name("广州鑫海海产有限公司") != key


def test_pinyin_follows_words_and_keeps_latin() -> None:
    syllables = pinyin_syllables("重庆火锅ABC")
    assert syllables[:4] == ["chong", "qing", "huo", "guo"]
    assert pinyin_initials(syllables) == "cqhgabc"
    assert search_normalize("Ａ Ｂ（海）") == "ab海"


def test_diff_created_deleted() -> None:
    assert diff({"a": 1, "b": 2}, {"a": 1, "b": 3}) == {"b": [2, 3]}
    assert created({"a": "", "b": "x", "c": []}) == {"b": [None, "x"]}
    assert deleted({"a": None, "b": 5}) == {"b": [5, None]}


def test_context_defaults_to_system_and_nests() -> None:
    assert current().channel == Channel.SYSTEM
    with acting_through(Channel.COMMAND) as ctx:
        assert current() == ctx and ctx.request_id
        with acting_through(Channel.API, "req-1"):
            assert current().request_id == "req-1"
        assert current().channel == Channel.COMMAND


@transaction.atomic
def _emit_then_fail() -> None:
    events.emit("thing.happened", n=2)
    raise RuntimeError("roll back")


# pytest-django's on-commit capture runs the callbacks Django would run at the real commit, without
# a transactional test (which would flush the seeded roles and choice lists for later tests).
@pytest.mark.django_db
def test_events_are_dispatched_only_after_commit(django_capture_on_commit_callbacks: Any) -> None:
    heard: list[tuple[str, dict]] = []

    def handler(name: str, payload: dict) -> None:
        heard.append((name, payload))

    events.subscribe("thing.happened", handler)
    try:
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            events.emit("thing.happened", n=1)
            assert heard == []
            with pytest.raises(RuntimeError):
                _emit_then_fail()  # its savepoint rolls back, and its event with it
        assert len(callbacks) == 1
        assert heard == [("thing.happened", {"n": 1})]
    finally:
        events.unsubscribe("thing.happened", handler)


@pytest.mark.django_db
def test_a_failing_subscriber_does_not_silence_the_others(django_capture_on_commit_callbacks: Any) -> None:
    heard: list[str] = []

    def broken(name: str, payload: dict) -> None:
        raise ValueError("boom")

    def fine(name: str, payload: dict) -> None:
        heard.append(name)

    events.subscribe("x.y", broken)
    events.subscribe("x.y", fine)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            events.emit("x.y")
        assert heard == ["x.y"]
    finally:
        events.unsubscribe("x.y", broken)
        events.unsubscribe("x.y", fine)


def test_record_change_carries_channel_and_skips_empty_updates(org) -> None:
    with acting_through(Channel.COMMAND, "r-9"):
        row = record_change(actor=org.admin, action="update", instance=org.team_a, changes={"name": ["a", "b"]})
        assert record_change(actor=org.admin, action="update", instance=org.team_a, changes={}) is None
    assert row is not None
    stored = ChangeLog.objects.get(pk=row.pk)
    assert (stored.channel, stored.request_id, stored.actor_label) == ("command", "r-9", "admin")
    assert stored.root_type == "accounts.team" and stored.root_id == org.team_a.pk


def test_idempotency_records_older_than_a_day_are_purged(org) -> None:
    old = IdempotencyRecord.objects.create(
        user=org.admin, key="k1", method="POST", path="/x", request_hash="h", status_code=201, response_body="{}"
    )
    IdempotencyRecord.objects.filter(pk=old.pk).update(created_at=timezone.now() - dt.timedelta(days=2))
    IdempotencyRecord.objects.create(
        user=org.admin, key="k2", method="POST", path="/x", request_hash="h", status_code=201, response_body="{}"
    )
    assert idempotency_records_purge() == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["k2"]
