from django.db import models
from django.utils.translation import pgettext_lazy


class StageKind(models.TextChoices):
    """What reaching a stage means: still being worked on, won, or lost (the last two close it)."""

    OPEN = "open", pgettext_lazy("stage kind", "Open")
    WON = "won", pgettext_lazy("stage kind", "Won")
    LOST = "lost", pgettext_lazy("stage kind", "Lost")


# An opportunity's status is the kind of its stage, kept on the row so lists and the pool's sweep
# filter on one indexed column.
OpportunityStatus = StageKind

# The default pipeline the data migration creates: (name, win probability, kind).
DEFAULT_PIPELINE_NAME = "销售流程"
DEFAULT_STAGES = [
    ("新线索", 10, StageKind.OPEN),
    ("初步沟通", 20, StageKind.OPEN),
    ("需求确认", 40, StageKind.OPEN),
    ("方案报价", 60, StageKind.OPEN),
    ("商务谈判", 80, StageKind.OPEN),
    ("赢单", 100, StageKind.WON),
    ("输单", 0, StageKind.LOST),
]


class StageRole(models.TextChoices):
    """What a stage stands for, so code finds it whatever it is called (``quote``: a sent quote moves
    the opportunity there)."""

    QUOTE = "quote", pgettext_lazy("stage role", "Quote")


QUOTE_STAGE_NAME = "方案报价"  # the default pipeline's quote stage, used when no stage has the role


class QuoteStatus(models.TextChoices):
    DRAFT = "draft", pgettext_lazy("quote status", "Draft")
    SENT = "sent", pgettext_lazy("quote status", "Sent")
    ACCEPTED = "accepted", pgettext_lazy("quote status", "Accepted")
    REJECTED = "rejected", pgettext_lazy("quote status", "Rejected")
    EXPIRED = "expired", pgettext_lazy("quote status", "Expired")


# Allowed quote transitions: a draft is sent; a sent quote is answered (accepted / rejected) or runs out.
QUOTE_TRANSITIONS: dict[str, set[str]] = {
    QuoteStatus.DRAFT: {QuoteStatus.SENT},
    QuoteStatus.SENT: {QuoteStatus.ACCEPTED, QuoteStatus.REJECTED, QuoteStatus.EXPIRED},
    QuoteStatus.ACCEPTED: set(),
    QuoteStatus.REJECTED: set(),
    QuoteStatus.EXPIRED: set(),
}

# Days a sent quote may wait for an answer before its owner gets a follow-up task.
QUOTE_FOLLOW_UP_DAYS = 3
