"""Choices of the reminders app."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class OutboxChannel(models.TextChoices):
    EMAIL = "email", _("Email")
    WECOM = "wecom", _("WeCom")
    DINGTALK = "dingtalk", _("DingTalk")
    SMS = "sms", _("SMS")
