"""Reads of the activities app: the timeline (``timeline``) and the records on it."""

from pearl.activities.selectors.timeline import (
    MAX_LIMIT,
    TimelineItem,
    TimelinePage,
    day_start,
    decode_cursor,
    encode_cursor,
    timeline_events,
    timeline_kinds,
    timeline_page,
)

__all__ = [
    "MAX_LIMIT",
    "TimelineItem",
    "TimelinePage",
    "day_start",
    "decode_cursor",
    "encode_cursor",
    "timeline_events",
    "timeline_kinds",
    "timeline_page",
]
