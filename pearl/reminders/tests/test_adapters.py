"""WeCom and DingTalk group robots against a real HTTP server on 127.0.0.1 (a thread of this test):
the payloads, DingTalk's signature, a refusal kept as the message's error, and the unconfigured outbox."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.utils import translation

from pearl.core.testing.personas import Org
from pearl.reminders import adapters, channels, services
from pearl.reminders.models import OutboxMessage

SECRET = "SEC0123456789abcdef"


@dataclass
class Robot:
    """A fake group robot: records each request and answers with ``status`` and ``answer``."""

    url: str
    requests: list[dict[str, Any]] = field(default_factory=list)
    status: int = 200
    answer: bytes = b'{"errcode":0,"errmsg":"ok"}'


@pytest.fixture
def robot() -> Iterator[Robot]:
    holder: dict[str, Robot] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            me = holder["robot"]
            me.requests.append(
                {"path": self.path, "content_type": self.headers["Content-Type"], "json": json.loads(body)}
            )
            self.send_response(me.status)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(me.answer)

        def log_message(self, format: str, *args: Any) -> None:  # quiet test output
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port = server.server_address[1]
    holder["robot"] = Robot(url=f"http://127.0.0.1:{port}/robot/send?access_token=tok")
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield holder["robot"]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def _queue(channel: str, link: str = "/customers/7/") -> int:
    [pk] = services.outbox_queue(channel=channel, messages=[("王芳", "回访提醒：张伟", "今天 15:00 回电话", link)])
    return pk


def test_unconfigured_robots_leave_messages_in_the_outbox(db: None, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PEARL_WECOM_WEBHOOK", "PEARL_DINGTALK_WEBHOOK"):
        monkeypatch.delenv(name, raising=False)
    ids = [_queue("wecom"), _queue("dingtalk")]
    assert channels.sender_for("wecom") is None and channels.sender_for("dingtalk") is None
    assert channels.outbox_deliver(ids) == 0
    assert list(OutboxMessage.objects.values_list("sent_at", "error")) == [(None, ""), (None, "")]


def test_wecom_gets_markdown_with_title_body_and_link(db: None, robot: Robot, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PEARL_WECOM_WEBHOOK", robot.url)
    monkeypatch.setenv("PEARL_BASE_URL", "https://crm.example.cn/")
    pk = _queue("wecom")
    with translation.override("en"):
        assert channels.outbox_deliver([pk]) == 1
    [request] = robot.requests
    assert request["path"] == "/robot/send?access_token=tok"
    assert request["content_type"] == "application/json; charset=utf-8"
    assert request["json"]["msgtype"] == "markdown" and set(request["json"]) == {"msgtype", "markdown"}
    content = request["json"]["markdown"]["content"]
    assert content.startswith("### 回访提醒：张伟\n") and "王芳" in content and "今天 15:00 回电话" in content
    assert content.endswith("(https://crm.example.cn/customers/7/)")
    message = OutboxMessage.objects.get(pk=pk)
    assert message.sent_at is not None and message.error == ""
    assert channels.outbox_deliver([pk]) == 0 and len(robot.requests) == 1  # sent once only


def test_dingtalk_is_signed_with_timestamp_and_hmac(db: None, robot: Robot, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PEARL_DINGTALK_WEBHOOK", robot.url)
    monkeypatch.setenv("PEARL_DINGTALK_SECRET", SECRET)
    monkeypatch.delenv("PEARL_BASE_URL", raising=False)
    pk = _queue("dingtalk")
    before = int(time.time() * 1000)
    assert channels.outbox_deliver([pk]) == 1
    after = int(time.time() * 1000)
    [request] = robot.requests
    path, _, query = request["path"].partition("?")
    params = urllib.parse.parse_qs(query)
    assert path == "/robot/send" and params["access_token"] == ["tok"]
    [timestamp], [sign] = params["timestamp"], params["sign"]
    assert before <= int(timestamp) <= after
    expected = hmac.new(SECRET.encode(), f"{timestamp}\n{SECRET}".encode(), hashlib.sha256).digest()
    assert base64.b64decode(sign) == expected
    payload = request["json"]
    assert payload["msgtype"] == "markdown" and payload["markdown"]["title"] == "回访提醒：张伟"
    text = payload["markdown"]["text"]
    assert text.startswith("### 回访提醒：张伟\n") and "今天 15:00 回电话" in text
    assert "](" not in text  # no PEARL_BASE_URL: a bare path is no link in a chat, so none is added


def test_dingtalk_signature_matches_the_documented_example() -> None:
    # The documented recipe, computed by hand: Base64(HMAC-SHA256(secret, "timestamp\nsecret")), URL-encoded.
    url = adapters.dingtalk_signed("https://oapi.dingtalk.com/robot/send?access_token=x", "s3cr3t", 1700000000000)
    digest = hmac.new(b"s3cr3t", b"1700000000000\ns3cr3t", hashlib.sha256).digest()
    encoded = urllib.parse.quote_plus(base64.b64encode(digest).decode())
    assert url == f"https://oapi.dingtalk.com/robot/send?access_token=x&timestamp=1700000000000&sign={encoded}"


def test_without_a_secret_dingtalk_is_not_signed(db: None, robot: Robot, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PEARL_DINGTALK_WEBHOOK", robot.url)
    monkeypatch.delenv("PEARL_DINGTALK_SECRET", raising=False)
    assert channels.outbox_deliver([_queue("dingtalk")]) == 1
    assert robot.requests[0]["path"] == "/robot/send?access_token=tok"


@pytest.mark.parametrize(
    ("status", "answer", "error"),
    [
        (200, b'{"errcode":310000,"errmsg":"sign not match"}', "WebhookFailed: errcode 310000: sign not match"),
        (200, b'{"errcode":93000,"errmsg":"invalid webhook url"}', "WebhookFailed: errcode 93000: invalid webhook url"),
        (500, b"oops", "WebhookFailed: HTTP 500"),
        (200, b"<html>gateway</html>", "WebhookFailed: not a JSON answer"),
    ],
)
def test_a_refusal_is_kept_as_the_error_and_the_message_stays_unsent(
    db: None, robot: Robot, monkeypatch: pytest.MonkeyPatch, status: int, answer: bytes, error: str
) -> None:
    monkeypatch.setenv("PEARL_WECOM_WEBHOOK", robot.url)
    monkeypatch.setenv("PEARL_DINGTALK_WEBHOOK", robot.url)
    robot.status, robot.answer = status, answer
    ids = [_queue("wecom"), _queue("dingtalk")]
    assert channels.outbox_deliver(ids) == 0
    for message in OutboxMessage.objects.filter(pk__in=ids):
        assert message.sent_at is None and message.error.startswith(error)
    # the robot is fixed: a later delivery sends them and clears the error
    robot.status, robot.answer = 200, b'{"errcode":0,"errmsg":"ok"}'
    assert channels.outbox_deliver(ids) == 2
    assert list(OutboxMessage.objects.filter(pk__in=ids).values_list("error", flat=True)) == ["", ""]


def test_a_robot_that_is_not_there_is_an_error_not_a_hang(db: None, monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("PEARL_WECOM_WEBHOOK", f"http://127.0.0.1:{port}/send?key=k")
    pk = _queue("wecom")
    assert channels.outbox_deliver([pk]) == 0
    assert OutboxMessage.objects.get(pk=pk).error.startswith("WebhookFailed: no answer")


def test_a_webhook_that_is_not_http_is_refused(db: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PEARL_WECOM_WEBHOOK", "file:///etc/passwd")
    pk = _queue("wecom")
    assert channels.outbox_deliver([pk]) == 0
    assert "http(s)" in OutboxMessage.objects.get(pk=pk).error


def test_a_long_message_is_cut_to_the_robots_limit(db: None, robot: Robot, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PEARL_WECOM_WEBHOOK", robot.url)
    [pk] = services.outbox_queue(channel="wecom", messages=[("王芳", "长消息", "鱼" * 5000)])
    assert channels.outbox_deliver([pk]) == 1
    content = robot.requests[0]["json"]["markdown"]["content"]
    assert len(content.encode()) <= adapters.WECOM_LIMIT and content.endswith("…")


def test_a_reminder_reaches_the_robot_end_to_end(
    org: Org, robot: Robot, monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    from huey.contrib.djhuey import HUEY

    monkeypatch.setenv("PEARL_WECOM_WEBHOOK", robot.url)
    services.reminder_rules_update(actor=org.admin, data={"send_wecom": True})
    HUEY.immediate = True
    try:
        with django_capture_on_commit_callbacks(execute=True):
            services.notify(recipients=[org.owner], title="线索待跟进", link="/leads/1/")
    finally:
        HUEY.immediate = False
    assert "线索待跟进" in robot.requests[0]["json"]["markdown"]["content"]
    assert OutboxMessage.objects.get().sent_at is not None
