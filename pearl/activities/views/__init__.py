"""Pages of the activities app."""

from pearl.activities.views.attachments import (
    attachment_delete,
    attachment_file,
    communication_attach,
    complaint_attach,
)
from pearl.activities.views.communications import (
    communication_create,
    communication_delete,
    communication_detail,
    communication_edit,
    communication_list,
    follow_up_list,
    quick_log,
)
from pearl.activities.views.complaints import (
    complaint_create,
    complaint_delete,
    complaint_detail,
    complaint_edit,
    complaint_list,
    complaint_status,
)

__all__ = [
    "attachment_delete",
    "attachment_file",
    "communication_attach",
    "communication_create",
    "communication_delete",
    "communication_detail",
    "communication_edit",
    "communication_list",
    "complaint_attach",
    "complaint_create",
    "complaint_delete",
    "complaint_detail",
    "complaint_edit",
    "complaint_list",
    "complaint_status",
    "follow_up_list",
    "quick_log",
]
