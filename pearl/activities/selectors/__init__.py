"""Reads of the activities app: the timeline (``timeline``) and the records on it."""

from pearl.activities.selectors.timeline import (
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
    "TimelineItem",
    "TimelinePage",
    "day_start",
    "decode_cursor",
    "encode_cursor",
    "timeline_events",
    "timeline_kinds",
    "timeline_page",
]
