"""Writes of the activities app: the timeline (``timeline``) and the records on it."""

from pearl.activities.services.attachments import (
    attachment_add,
    attachment_delete,
    check_file,
    on_attachments_changed,
)
from pearl.activities.services.communications import (
    communication_create,
    communication_delete,
    communication_event,
    communication_update,
)
from pearl.activities.services.complaints import (
    complaint_create,
    complaint_delete,
    complaint_event,
    complaint_set_status,
    complaint_update,
)
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
    "attachment_add",
    "attachment_delete",
    "check_file",
    "communication_create",
    "communication_delete",
    "communication_event",
    "communication_update",
    "complaint_create",
    "complaint_delete",
    "complaint_event",
    "complaint_set_status",
    "complaint_update",
    "on_attachments_changed",
    "subject_key",
    "timeline_record",
    "timeline_record_many",
    "timeline_remove_subject",
    "timeline_update_subject",
]
