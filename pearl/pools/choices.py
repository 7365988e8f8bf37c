from django.db import models
from django.utils.translation import gettext_lazy as _


class EntryReason(models.TextChoices):
    RECLAIMED = "reclaimed", _("Reclaimed by rule")
    RELEASED = "released", _("Released by owner")
    HANDOVER = "handover", _("Handover")


class ClaimVia(models.TextChoices):
    CLAIM = "claim", _("Claimed from the pool")
    HANDOVER = "handover", _("Handed over")
