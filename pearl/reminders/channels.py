"""Where outbox messages go: a small registry of senders by channel name.

Every message is first written to the outbox (``OutboxMessage``), which is the default and, until a
channel is configured, the only adapter: the row stays there to inspect. A sender registered for
its channel delivers it after commit on the task worker (``pearl.reminders.tasks``).

Email is registered when SMTP is configured through the environment (``PEARL_EMAIL_HOST``, and
optionally ``PEARL_EMAIL_PORT``, ``PEARL_EMAIL_USER``, ``PEARL_EMAIL_PASSWORD``,
``PEARL_EMAIL_USE_TLS`` / ``PEARL_EMAIL_USE_SSL``, ``PEARL_EMAIL_FROM``); it goes through Django's
mail backend.

WeCom and DingTalk post to a group robot (``pearl.reminders.adapters``), each when its webhook is
set (environment or Django settings): ``PEARL_WECOM_WEBHOOK`` is the 企业微信 group robot's address
(``https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…``); ``PEARL_DINGTALK_WEBHOOK`` the 钉钉
custom robot's (``https://oapi.dingtalk.com/robot/send?access_token=…``), with ``PEARL_DINGTALK_SECRET``
when the robot uses 加签 (each call then carries ``timestamp`` and the HMAC-SHA256 ``sign``).
``PEARL_BASE_URL`` (e.g. ``https://crm.example.cn``) turns a message's page into a link to open in
the robot message and the email. Unset, a channel's messages just stay in the outbox. Which
channels reminders also go to is chosen on the settings page 提醒规则 (``ReminderRules``). A failed
send keeps its reason in ``error`` and stays unsent; another sender replaces a built-in one with
``register("wecom", send)``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.utils import timezone

from pearl.reminders import adapters
from pearl.reminders.choices import OutboxChannel
from pearl.reminders.models import OutboxMessage

logger = logging.getLogger(__name__)

Sender = Callable[[OutboxMessage], None]
_senders: dict[str, Sender] = {}


def register(channel: str, sender: Sender) -> None:
    _senders[channel] = sender


def unregister(channel: str) -> None:
    _senders.pop(channel, None)


def _env(name: str, default: str = "") -> str:
    return adapters.config(name, default)


def _flag(name: str, default: bool) -> bool:
    raw = _env(name).strip().lower()
    return default if not raw else raw in ("1", "true", "yes", "on")


def email_configured() -> bool:
    return bool(_env("PEARL_EMAIL_HOST").strip())


def send_email(message: OutboxMessage) -> None:
    """Send one outbox email through Django's mail backend with the ``PEARL_EMAIL_*`` SMTP settings."""
    use_ssl = _flag("PEARL_EMAIL_USE_SSL", False)
    connection = get_connection(
        host=_env("PEARL_EMAIL_HOST"),
        port=int(_env("PEARL_EMAIL_PORT", "465" if use_ssl else "587")),
        username=_env("PEARL_EMAIL_USER"),
        password=_env("PEARL_EMAIL_PASSWORD"),
        use_tls=_flag("PEARL_EMAIL_USE_TLS", not use_ssl),
        use_ssl=use_ssl,
        timeout=30,
    )
    sender = _env("PEARL_EMAIL_FROM") or settings.DEFAULT_FROM_EMAIL
    link = adapters.absolute_link(message.link)
    body = f"{message.body}\n\n{link}".strip() if link else message.body
    EmailMessage(message.subject, body, sender, [message.recipient], connection=connection).send()


# The built-in sender of each channel and whether it is configured; ``register`` overrides them.
_BUILT_IN: dict[str, tuple[Callable[[], bool], Sender]] = {
    OutboxChannel.EMAIL: (email_configured, send_email),
    OutboxChannel.WECOM: (adapters.wecom_configured, adapters.send_wecom),
    OutboxChannel.DINGTALK: (adapters.dingtalk_configured, adapters.send_dingtalk),
}


def configured(channel: str) -> bool:
    """Whether messages on this channel leave the outbox (a registered or a configured sender)."""
    return sender_for(channel) is not None


def sender_for(channel: str) -> Sender | None:
    """The sender of a channel, or None: the message stays in the outbox."""
    if channel in _senders:
        return _senders[channel]
    built_in = _BUILT_IN.get(channel)
    if built_in is not None and built_in[0]():
        return built_in[1]
    return None


def outbox_deliver(message_ids: Sequence[int]) -> int:
    """Send the unsent messages among these ids whose channel has a sender; how many went out.

    A message is claimed with a conditional update, so two workers never send it twice; a failure
    is written on the message (``error``) and the message is released for a later try."""
    sent = 0
    for message in OutboxMessage.objects.filter(pk__in=list(message_ids), sent_at__isnull=True).order_by("pk"):
        send = sender_for(message.channel)
        if send is None:
            continue
        claimed_at = timezone.now()
        if not OutboxMessage.objects.filter(pk=message.pk, sent_at__isnull=True).update(sent_at=claimed_at):
            continue
        try:
            send(message)
        except Exception as exc:  # the reason stays on the message; the outbox keeps it to retry or inspect
            logger.warning("outbox message %s (%s) failed: %s", message.pk, message.channel, exc)
            reason = f"{type(exc).__name__}: {exc}"[:2000]
            OutboxMessage.objects.filter(pk=message.pk).update(sent_at=None, error=reason)
            continue
        OutboxMessage.objects.filter(pk=message.pk).update(error="")
        sent += 1
    return sent
