"""The README's first command: `make run` boots the whole stack, serves it, and stops cleanly."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import ROOT

READY_TIMEOUT_S = 90


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _get(url: str, token: str | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, json.loads(response.read())


@pytest.mark.slow
def test_make_run_serves_the_stack_and_stops_every_child(tmp_path: Path):
    api_port, aws_port = _free_port(), _free_port()
    env = {
        **os.environ,
        "API_PORT": str(api_port),
        "AWS_PORT": str(aws_port),
        "RELANCE_LOCAL_DIR": str(tmp_path),
    }
    for name in ("AWS_ENDPOINT_URL", "STAGE", "INVOICES_TABLE_NAME", "ACTIONS_QUEUE_URL"):
        env.pop(name, None)
    process = subprocess.Popen(
        ["make", "--no-print-directory", "run"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    stack_file = tmp_path / "stack.json"
    try:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not stack_file.exists():
            assert process.poll() is None, process.stdout.read().decode() if process.stdout else ""
            assert time.monotonic() < deadline, "make run did not become ready"
            time.sleep(0.2)
        stack = json.loads(stack_file.read_text())
        assert stack["api_url"] == f"http://127.0.0.1:{api_port}"
        assert stack["aws_endpoint_url"] == f"http://127.0.0.1:{aws_port}"
        assert {"admin_token", "inbox_bucket", "inbox_prefix", "webhook_secrets", "region"} <= set(
            stack
        )

        assert _get(f"{stack['api_url']}/health") == (200, {"status": "ok"})
        status, page = _get(f"{stack['api_url']}/admin/invoices?limit=200", stack["admin_token"])
        assert status == 200
        assert len(page["items"]) == 11  # the demo invoices
        with pytest.raises(urllib.error.HTTPError) as refused:
            _get(f"{stack['api_url']}/admin/invoices")
        assert refused.value.code == 401
        # The schedule fired at start-up: the overdue demo invoices got their reminders.
        deadline = time.monotonic() + 30
        while True:
            _, outbox = _get(f"{stack['api_url']}/admin/outbox", stack["admin_token"])
            if outbox["items"] or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert outbox["items"], "no reminder went out after the start-up cycle"
        # A bounded load on loopback: admin reads and (once there) signed webhooks, twice each.
        load = subprocess.run(
            [
                str(ROOT / ".venv" / "bin" / "python"),
                "-m",
                "devstack.load",
                "--requests",
                "80",
                "--concurrency",
                "4",
                "--stack",
                str(stack_file),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert load.returncode == 0, load.stdout + load.stderr
        assert "0 failed" in load.stdout
        # Schemathesis against the live OpenAPI document: no 5xx, every documented response
        # matches its schema. (Its "coverage" phase probes TRACE, which the development
        # server behind `chalice local` answers 501 where API Gateway answers 403.)
        fuzz = subprocess.run(
            [
                str(ROOT / ".venv" / "bin" / "schemathesis"),
                "run",
                f"{stack['api_url']}/openapi.json",
                "-H",
                f"Authorization: Bearer {stack['admin_token']}",
                "--checks",
                "not_a_server_error,response_schema_conformance",
                "--phases",
                "examples,fuzzing",
                "--max-examples",
                "4",
                "--generation-deterministic",
                "--request-timeout",
                "20",
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert fuzz.returncode == 0, fuzz.stdout[-4000:] + fuzz.stderr[-2000:]
    finally:
        os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C does in a terminal
        output, _ = process.communicate(timeout=60)
    # make reports the Ctrl-C it received; our runner itself stopped cleanly.
    assert process.returncode in (0, -signal.SIGINT, 130), output.decode()
    assert "relance │ stopping" in output.decode()
    assert "failed:" not in output.decode()
    assert not stack_file.exists()
    for port in (api_port, aws_port):
        assert not _listening(port), f"port {port} still served after Ctrl-C"
