"""Writes of the activities app: the timeline (``timeline``) and the records on it."""

from pearl.activities.services.timeline import (
    NewEvent,
    subject_key,
    timeline_record,
    timeline_record_many,
    timeline_remove_subject,
    timeline_update_subject,
)

__all__ = [
    "NewEvent",
    "subject_key",
    "timeline_record",
    "timeline_record_many",
    "timeline_remove_subject",
    "timeline_update_subject",
]
