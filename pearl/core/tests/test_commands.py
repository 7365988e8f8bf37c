from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from pearl.accounts.services import token_authenticate


def test_token_prints_a_working_secret(org) -> None:
    out = StringIO()
    call_command("token", "owner", stdout=out)
    secret = out.getvalue().strip()
    assert secret.startswith("pearl_")
    assert token_authenticate(secret) == org.owner


def test_token_for_unknown_or_inactive_user_is_a_clear_error(org) -> None:
    with pytest.raises(CommandError, match="nobody"):
        call_command("token", "nobody")
    org.outsider.is_active = False
    org.outsider.save()
    with pytest.raises(CommandError, match="outsider"):
        call_command("token", "outsider")


def test_serve_refuses_a_bad_port() -> None:
    with pytest.raises(CommandError, match="65535"):
        call_command("serve", port="http")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_serve_answers_pages_and_static_files_with_the_worker_running(tmp_path: Path) -> None:
    """`pearl serve` as a real process on a fresh data dir: migrate, serve, static, stop."""
    env = {**os.environ, "PEARL_DATA_DIR": str(tmp_path), "PEARL_LOG_LEVEL": "INFO"}
    env.pop("DATABASE_URL", None)
    subprocess.run([sys.executable, "-m", "pearl", "migrate", "-v0"], env=env, check=True, timeout=120)
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "pearl", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                status, body = _get(base + "/accounts/login/")
                break
            except OSError:
                assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
                assert time.monotonic() < deadline, "pearl serve did not start"
                time.sleep(0.3)
        assert status == 200 and b"password" in body
        status, body = _get(base + "/static/htmx/htmx.min.js")
        assert status == 200 and b"htmx" in body
        assert _get(base + "/api/v1/customers")[0] == 401
    finally:
        proc.terminate()
        output, _ = proc.communicate(timeout=30)
    assert "Huey consumer started" in output
    assert (tmp_path / "secret_key").exists()


def _echo_address(environ: dict, start_response: object) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])  # type: ignore[operator]
    return [environ.get("REMOTE_ADDR", "").encode()]


@pytest.mark.parametrize(
    ("trusted", "seen"), [("127.0.0.1", "203.0.113.9"), ("", "127.0.0.1"), ("10.9.9.9", "127.0.0.1")]
)
def test_a_trusted_proxy_gives_the_visitor_address(trusted: str, seen: str) -> None:
    """With PEARL_TRUSTED_PROXY the real waitress server takes the visitor's address from that proxy's
    X-Forwarded-For (what the web forms' per-visitor limit counts); from anyone else the header is ignored."""
    import threading

    from waitress.server import create_server

    from pearl.core.management.commands.serve import proxy_options

    server = create_server(_echo_address, host="127.0.0.1", port=0, **proxy_options(trusted))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        port = server.socket.getsockname()[1]
        request = urllib.request.Request(f"http://127.0.0.1:{port}/", headers={"X-Forwarded-For": "203.0.113.9"})
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.read().decode() == seen
    finally:
        server.close()
        thread.join(timeout=5)
