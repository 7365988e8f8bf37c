from django.db import models
from django.utils.translation import pgettext_lazy


class TimelineKind(models.TextChoices):
    """What a timeline entry is about; the filter chips of the timeline list these.

    ``change`` entries are not stored as events: the timeline reads them from the change log.
    """

    ORDER = "order", pgettext_lazy("timeline", "Order")
    PAYMENT = "payment", pgettext_lazy("timeline", "Payment")
    CALL = "call", pgettext_lazy("timeline", "Call")
    VISIT = "visit", pgettext_lazy("timeline", "Visit")
    WECHAT = "wechat", pgettext_lazy("timeline", "WeChat")
    EMAIL = "email", pgettext_lazy("timeline", "Email")
    MEETING = "meeting", pgettext_lazy("timeline", "Meeting")
    NOTE = "note", pgettext_lazy("timeline", "Note")
    COMPLAINT = "complaint", pgettext_lazy("timeline", "Complaint / feedback")
    GRADE = "grade", pgettext_lazy("timeline", "Grade")
    TAG = "tag", pgettext_lazy("timeline", "Tag")
    CHANNEL = "channel", pgettext_lazy("timeline", "Channel event")
    OPPORTUNITY = "opportunity", pgettext_lazy("timeline", "Opportunity")
    # Who owns the customer: assigned by a rule, claimed from or reclaimed to the public pool, handed over.
    OWNERSHIP = "ownership", pgettext_lazy("timeline", "Ownership")
    TASK = "task", pgettext_lazy("timeline", "Task")
    CHANGE = "change", pgettext_lazy("timeline", "Data change")


# Kinds stored as TimelineEvent rows (everything but the change log's entries).
STORED_KINDS = frozenset(TimelineKind.values) - {TimelineKind.CHANGE}


class CommunicationKind(models.TextChoices):
    """The ways of being in touch; each is also the timeline kind of its entries."""

    CALL = "call", pgettext_lazy("timeline", "Call")
    VISIT = "visit", pgettext_lazy("timeline", "Visit")
    WECHAT = "wechat", pgettext_lazy("timeline", "WeChat")
    EMAIL = "email", pgettext_lazy("timeline", "Email")
    MEETING = "meeting", pgettext_lazy("timeline", "Meeting")
    NOTE = "note", pgettext_lazy("timeline", "Note")


class Outcome(models.TextChoices):
    REACHED = "reached", pgettext_lazy("outcome", "Reached, progressing")
    INTERESTED = "interested", pgettext_lazy("outcome", "Interested")
    ORDERED = "ordered", pgettext_lazy("outcome", "Ordered")
    NO_ANSWER = "no_answer", pgettext_lazy("outcome", "No answer")
    NOT_NOW = "not_now", pgettext_lazy("outcome", "Not now")
    ISSUE = "issue", pgettext_lazy("outcome", "Raised a problem")


class ComplaintStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("complaint status", "Open")
    IN_PROGRESS = "in_progress", pgettext_lazy("complaint status", "In progress")
    RESOLVED = "resolved", pgettext_lazy("complaint status", "Resolved")
    CLOSED = "closed", pgettext_lazy("complaint status", "Closed")


COMPLAINT_TRANSITIONS: dict[str, set[str]] = {
    ComplaintStatus.OPEN: {ComplaintStatus.IN_PROGRESS, ComplaintStatus.RESOLVED, ComplaintStatus.CLOSED},
    ComplaintStatus.IN_PROGRESS: {ComplaintStatus.RESOLVED, ComplaintStatus.CLOSED},
    ComplaintStatus.RESOLVED: {ComplaintStatus.CLOSED, ComplaintStatus.OPEN},
    ComplaintStatus.CLOSED: {ComplaintStatus.OPEN},
}


class ComplaintKind(models.TextChoices):
    COMPLAINT = "complaint", pgettext_lazy("complaint kind", "Complaint")
    FEEDBACK = "feedback", pgettext_lazy("complaint kind", "Feedback / suggestion")


class ComplaintCategory(models.TextChoices):
    QUALITY = "quality", pgettext_lazy("complaint", "Product quality")
    DELIVERY = "delivery", pgettext_lazy("complaint", "Delivery")
    PRICE = "price", pgettext_lazy("complaint", "Price / billing")
    SERVICE = "service", pgettext_lazy("complaint", "Service attitude")
    OTHER = "other", pgettext_lazy("complaint", "Other")
