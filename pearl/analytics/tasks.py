"""The nightly sweep on the task worker."""

from __future__ import annotations

from typing import Any

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from pearl.core import sweeps


# 02:30 Asia/Shanghai: Huey evaluates crontabs in UTC (its default), and Shanghai is UTC+8 all year.
@db_periodic_task(crontab(hour="18", minute="30"))
def nightly_sweep() -> dict[str, Any]:
    """Every registered sweep (figures, grades, smart tags; later reclaim, reminders) as of now."""
    return {r.name: (r.error or r.summary) for r in sweeps.run_all()}
