"""The sweeps on the Redis-backed queue, end to end against a real Redis server: a separate
`pearl run_huey` worker takes the reminder sweep a second process enqueues, and its notification lands
in the database. Skipped without Redis on 127.0.0.1:6379, unless PEARL_REQUIRE_REDIS=1 (CI), where
a missing server is a failure."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

REDIS = ("127.0.0.1", 6379)


def _redis_up() -> bool:
    try:
        with socket.create_connection(REDIS, timeout=1) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _pearl(env: dict[str, str], *args: str, timeout: int = 120) -> str:
    done = subprocess.run([sys.executable, "-m", "pearl", *args], env=env, capture_output=True, text=True,
                          timeout=timeout)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""


SETUP = """
import datetime as dt
from django.utils import timezone
from pearl.accounts.models import User
from pearl.reminders.services import task_create
owner = User.objects.create_user("worker_test", password="Pearl-worker-2026")
task_create(actor=None, owner=owner, title="redis queue check", due_at=timezone.now() - dt.timedelta(minutes=1))
"""
# A periodic task's return value is not kept by Huey: the test reads its effect in the database.
ENQUEUE = """
from pearl.reminders.tasks import frequent_sweeps
frequent_sweeps()
"""
CHECK = """
from pearl.reminders.models import Notification
print(Notification.objects.filter(recipient__username="worker_test", title__contains="redis queue check").count())
"""


def test_a_worker_on_redis_runs_the_reminder_sweep(tmp_path: Path) -> None:
    if not _redis_up():
        if os.environ.get("PEARL_REQUIRE_REDIS") == "1":
            pytest.fail("PEARL_REQUIRE_REDIS=1 but no Redis answers on 127.0.0.1:6379")
        pytest.skip("no Redis on 127.0.0.1:6379")
    env = {**os.environ, "PEARL_DATA_DIR": str(tmp_path), "PEARL_REDIS_URL": "redis://127.0.0.1:6379/15",
           "PEARL_HUEY_NAME": f"pearl-test-{uuid.uuid4().hex[:12]}"}  # fmt: skip
    env.pop("DATABASE_URL", None)  # the queue is under test: the worker and this test share a SQLite file
    _pearl(env, "migrate", "-v0")
    _pearl(env, "shell", "-c", SETUP)
    worker = subprocess.Popen([sys.executable, "-m", "pearl", "run_huey", "--workers", "1"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip
    try:
        assert _pearl(env, "shell", "-c", CHECK).strip() == "0"
        _pearl(env, "shell", "-c", ENQUEUE)
        deadline = time.monotonic() + 60
        while (found := _pearl(env, "shell", "-c", CHECK).strip()) == "0" and time.monotonic() < deadline:
            time.sleep(1)
    finally:
        worker.terminate()
        log, _ = worker.communicate(timeout=30)
    assert found == "1", log
    assert "Executing pearl.reminders.tasks.frequent_sweeps" in log, log
