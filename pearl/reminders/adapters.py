"""Group-robot senders for WeCom (企业微信) and DingTalk (钉钉): one outbox message, one webhook call.

Both take a JSON POST and answer ``{"errcode": 0, "errmsg": "ok"}``; anything else (a status other than
200, a body that is not that JSON, a non-zero ``errcode``) raises ``WebhookFailed``, which
``channels.outbox_deliver`` writes on the message and leaves it unsent, as it does for email. The
standard library's ``urllib.request`` is enough for one POST, so no HTTP client is added.

Configuration (Django settings or environment, see ``pearl.reminders.channels``): ``PEARL_WECOM_WEBHOOK``,
``PEARL_DINGTALK_WEBHOOK``, ``PEARL_DINGTALK_SECRET`` (the robot's 加签 secret, optional) and
``PEARL_BASE_URL`` to turn a message's path into a link people can open.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

from pearl.reminders.models import OutboxMessage

TIMEOUT = 10  # seconds; a robot that does not answer in time is a failure to retry, not a hung worker
WECOM_LIMIT = 4096  # bytes of a WeCom markdown message
DINGTALK_LIMIT = 18000  # bytes of a DingTalk markdown text (the documented limit is 20,000)


class WebhookFailed(Exception):
    """The robot refused or did not answer; the message says why (kept on the outbox row)."""


def config(name: str, default: str = "") -> str:
    """A setting by name: Django settings first, then the environment."""
    return str(getattr(settings, name, "") or os.environ.get(name, default)).strip()


def wecom_configured() -> bool:
    return bool(config("PEARL_WECOM_WEBHOOK"))


def dingtalk_configured() -> bool:
    return bool(config("PEARL_DINGTALK_WEBHOOK"))


def absolute_link(link: str) -> str:
    """The message's link as an address to open: as given when it is one, else under ``PEARL_BASE_URL``
    (without it, a path means nothing in a chat and is left out)."""
    link = (link or "").strip()
    if link.startswith(("http://", "https://")):
        return link
    base = config("PEARL_BASE_URL").rstrip("/")
    return f"{base}/{link.lstrip('/')}" if base and link else ""


def _fit(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` UTF-8 bytes (a robot refuses longer messages)."""
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[: limit - 3].decode("utf-8", errors="ignore") + "…"


def markdown(message: OutboxMessage, limit: int) -> str:
    """The message as robot markdown: its title, whom it is for, its text and a link to open."""
    with translation.override(settings.LANGUAGE_CODE):
        whom = _("For: %(name)s") % {"name": message.recipient}
        head = f"### {message.subject}\n> {whom}\n\n"
        link = absolute_link(message.link)
        tail = f"\n\n[{_('Open in Pearl')}]({link})" if link else ""
    room = limit - len(head.encode("utf-8")) - len(tail.encode("utf-8"))
    return head + _fit(message.body, max(room, 0)) + tail


def post_json(url: str, payload: dict[str, Any]) -> dict[str, Any]:
    """POST ``payload`` to a robot and return its answer; anything but 200 with ``errcode`` 0 raises."""
    if not url.startswith(("http://", "https://")):
        raise WebhookFailed("the webhook must be an http(s) address")
    request = urllib.request.Request(
        url,
        data=json.dumps(payload, ensure_ascii=False).encode("utf-8"),
        headers={"Content-Type": "application/json; charset=utf-8"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # the scheme is checked above
            status, raw = response.status, response.read(65536)
    except urllib.error.HTTPError as exc:
        raise WebhookFailed(f"HTTP {exc.code}") from exc
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise WebhookFailed(f"no answer: {getattr(exc, 'reason', exc)}") from exc
    if status != 200:
        raise WebhookFailed(f"HTTP {status}")
    try:
        answer = json.loads(raw.decode("utf-8"))
    except ValueError as exc:
        raise WebhookFailed(f"not a JSON answer: {raw[:200]!r}") from exc
    if not isinstance(answer, dict) or answer.get("errcode") != 0:
        code = answer.get("errcode") if isinstance(answer, dict) else None
        text = answer.get("errmsg", "") if isinstance(answer, dict) else ""
        raise WebhookFailed(f"errcode {code}: {text}"[:500])
    return answer


def send_wecom(message: OutboxMessage) -> None:
    """Post one message to the WeCom group robot (``PEARL_WECOM_WEBHOOK``) as markdown."""
    post_json(
        config("PEARL_WECOM_WEBHOOK"),
        {"msgtype": "markdown", "markdown": {"content": markdown(message, WECOM_LIMIT)}},
    )


def dingtalk_signed(url: str, secret: str, now_ms: int | None = None) -> str:
    """The webhook with DingTalk's 加签 parameters: ``timestamp`` (ms) and ``sign``, the Base64 of the
    HMAC-SHA256 of "timestamp\\nsecret" keyed with the secret (URL-encoded by ``urlencode``)."""
    timestamp = str(now_ms if now_ms is not None else int(time.time() * 1000))
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    query = urllib.parse.urlencode({"timestamp": timestamp, "sign": base64.b64encode(digest).decode("ascii")})
    return f"{url}{'&' if '?' in url else '?'}{query}"


def send_dingtalk(message: OutboxMessage) -> None:
    """Post one message to the DingTalk group robot (``PEARL_DINGTALK_WEBHOOK``, signed when
    ``PEARL_DINGTALK_SECRET`` is set) as markdown."""
    url = config("PEARL_DINGTALK_WEBHOOK")
    secret = config("PEARL_DINGTALK_SECRET")
    if secret:
        url = dingtalk_signed(url, secret)
    title = message.subject or message.recipient
    post_json(
        url,
        {"msgtype": "markdown", "markdown": {"title": title, "text": markdown(message, DINGTALK_LIMIT)}},
    )
