from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class LeadStatus(models.TextChoices):
    NEW = "new", pgettext_lazy("lead status", "New")
    CONTACTED = "contacted", pgettext_lazy("lead status", "Contacted")
    CONVERTED = "converted", pgettext_lazy("lead status", "Converted")
    DISQUALIFIED = "disqualified", pgettext_lazy("lead status", "Disqualified")


# Which status may follow which. A converted lead is final (its customer carries the story on);
# a disqualified one may be reopened as new when it turns out to be real after all.
LEAD_TRANSITIONS: dict[str, set[str]] = {
    LeadStatus.NEW: {LeadStatus.CONTACTED, LeadStatus.CONVERTED, LeadStatus.DISQUALIFIED},
    LeadStatus.CONTACTED: {LeadStatus.CONVERTED, LeadStatus.DISQUALIFIED},
    LeadStatus.CONVERTED: set(),
    LeadStatus.DISQUALIFIED: {LeadStatus.NEW},
}

# A lead still being worked: counts towards a person's load and a rule's capacity.
OPEN_STATUSES = (LeadStatus.NEW, LeadStatus.CONTACTED)


class FollowUpKind(models.TextChoices):
    CALL = "call", pgettext_lazy("lead follow-up", "Call")
    VISIT = "visit", pgettext_lazy("lead follow-up", "Visit")
    WECHAT = "wechat", pgettext_lazy("lead follow-up", "WeChat")
    NOTE = "note", pgettext_lazy("lead follow-up", "Note")
    # What the person sent through a channel (web form, channel event): not a follow-up by the owner.
    INQUIRY = "inquiry", pgettext_lazy("lead follow-up", "Inquiry")


class AssignMethod(models.TextChoices):
    ROUND_ROBIN = "round_robin", _("Round robin")
    LEAST_LOADED = "least_loaded", _("Fewest open leads")


class ConditionOp(models.TextChoices):
    CONTAINS = "contains", _("contains")
    EQ = "eq", _("equals")
    EMPTY = "empty", _("is empty")
    NOT_EMPTY = "not_empty", _("is not empty")


# Lead fields a rule's generic condition may test.
CONDITION_FIELDS = ("name", "company", "mobile", "email", "wechat", "province", "city", "note")
