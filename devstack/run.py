"""`make run`: the whole Relance stack on this machine, on the embedded AWS emulator.

Starts moto server, creates every resource from infra/resources.yaml, starts `chalice local`
(stage `local`), loads demo invoices, writes `.local/stack.json`, then runs the event pump
until Ctrl-C, which stops every child process it started.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import warnings
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
REGION = os.environ.get("AWS_DEFAULT_REGION", "eu-west-1")
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    # Children get SIGTERM if this process dies without cleaning up (no orphans).
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _say(message: str) -> None:
    print(f"relance │ {message}", flush=True)


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _wait_http(url: str, timeout_s: float, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status < 500:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout_s:.0f} s")


class LocalStack:
    """Owns the child processes and the stack file; `close()` undoes everything."""

    def __init__(self, api_port: int, aws_port: int, local_dir: Path) -> None:
        self.api_port = api_port
        self.aws_port = aws_port
        self.local_dir = local_dir
        self.endpoint = f"http://127.0.0.1:{aws_port}"
        self.api_url = f"http://127.0.0.1:{api_port}"
        self.children: list[subprocess.Popen[bytes]] = []
        self.stack_file = local_dir / "stack.json"

    def _spawn(
        self, args: list[str], log_name: str, env: dict[str, str]
    ) -> subprocess.Popen[bytes]:
        log = (self.local_dir / log_name).open("ab")
        child = subprocess.Popen(
            args,
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        self.children.append(child)
        return child

    def start_emulator(self) -> None:
        moto = self._spawn(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.aws_port)],
            "moto.log",
            dict(os.environ),
        )
        _wait_http(f"{self.endpoint}/moto-api/", 30, moto)

    def environment(
        self, provisioned_env: dict[str, str], webhook: dict[str, str]
    ) -> dict[str, str]:
        config = json.loads((ROOT / ".chalice" / "config.json").read_text())
        env = dict(os.environ)
        env.update(config["stages"]["local"]["environment_variables"])
        env.update(provisioned_env)
        env.update(
            {
                "AWS_ENDPOINT_URL": self.endpoint,
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_DEFAULT_REGION": REGION,
                "AWS_EC2_METADATA_DISABLED": "true",
                "PUBLIC_BASE_URL": self.api_url,
                "RELANCE_SECRET_PAY_LINK_KEY": secrets.token_hex(32),
                "RELANCE_SECRET_WEBHOOK_STRIPE": webhook["stripe"],
                "RELANCE_SECRET_WEBHOOK_GOCARDLESS": webhook["gocardless"],
                "RELANCE_SECRET_WEBHOOK_GENERIC": webhook["generic"],
                "PYTHONPATH": str(ROOT),
            }
        )
        return env

    def start_api(self, env: dict[str, str]) -> None:
        chalice = str(Path(sys.executable).parent / "chalice")
        api = self._spawn(
            [
                chalice,
                "local",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.api_port),
                "--stage",
                "local",
                "--no-autoreload",
            ],
            "api.log",
            env,
        )
        _wait_http(f"{self.api_url}/health", 30, api)

    def write_stack_file(self, content: dict[str, Any]) -> None:
        tmp = self.stack_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(content, indent=2))
        tmp.replace(self.stack_file)

    def close(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.stack_file.unlink()
        for child in reversed(self.children):
            if child.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(child.pid, signal.SIGTERM)
        for child in self.children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(child.pid, signal.SIGKILL)
                child.wait()


def _bootstrap_in_process(env: dict[str, str]) -> Any:
    # The pump and the demo loader run the same handlers in this process, so the process
    # environment must be the Lambda environment before anything reads settings.
    os.environ.update(env)
    # The handlers run in this process too; their INFO lines go to the log files, not the
    # console, which keeps the start-up summary readable. Warnings and errors still show.
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    from chalicelib import bootstrap
    from chalicelib.settings import reset_settings_cache

    reset_settings_cache()
    bootstrap.reset_for_tests()
    return bootstrap.get_services()


def main() -> int:  # noqa: C901 - a linear start-up script reads best as one function
    # If `make` (our parent) is killed, we are told too, and stop our own children.
    _die_with_parent()
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    api_port = int(os.environ.get("API_PORT", "8000"))
    aws_port = int(os.environ.get("AWS_PORT", "5055"))
    local_dir = Path(os.environ.get("RELANCE_LOCAL_DIR", ROOT / ".local"))
    local_dir.mkdir(parents=True, exist_ok=True)
    for name, port in (("API_PORT", api_port), ("AWS_PORT", aws_port)):
        if not _port_free(port):
            _say(f"port {port} is busy; set {name}=<free port> and try again")
            return 2
    stack = LocalStack(api_port, aws_port, local_dir)
    stop = threading.Event()

    def _stop(signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    started = time.monotonic()
    try:
        _say(f"starting the AWS emulator (moto server) on {stack.endpoint}")
        stack.start_emulator()
        from devstack.provision import provision

        provisioned = provision(stack.endpoint, REGION, "local")
        _say(f"created {len(provisioned.physical)} resources from infra/resources.yaml")
        webhook = {
            name: f"whsec_{secrets.token_hex(16)}" if name == "stripe" else secrets.token_hex(16)
            for name in ("stripe", "gocardless", "generic")
        }
        env = stack.environment(provisioned.environment, webhook)
        services = _bootstrap_in_process(env)
        from chalicelib.domain.records import Role
        from devstack.local_setup import prepare_local_accounts

        prepare_local_accounts(stack.endpoint, REGION, env["EMAIL_FROM_ADDRESS"])
        admin_token = "rl_" + secrets.token_urlsafe(32)
        services.tokens.install(admin_token, Role.ADMIN, "make run admin")
        _say(f"starting the HTTP API (chalice local) on {stack.api_url}")
        stack.start_api(env)
        from devstack.local_setup import build_pump

        pump = build_pump(stack.endpoint, REGION, "local")
        if os.environ.get("RELANCE_DEMO", "1") != "0":
            from devstack.demo import load_demo

            load_demo(stack.endpoint, REGION, provisioned.physical["InvoiceBucket"], pump)
        pump.fire_schedules_now()
        stack.write_stack_file(
            {
                "api_url": stack.api_url,
                "aws_endpoint_url": stack.endpoint,
                "region": REGION,
                "admin_token": admin_token,
                "inbox_bucket": provisioned.physical["InvoiceBucket"],
                "inbox_prefix": "inbox/",
                "webhook_secrets": webhook,
                "dlq_urls": {
                    "ingest": provisioned.physical["IngestDeadLetterQueue"],
                    "actions": provisioned.physical["ActionsDeadLetterQueue"],
                },
            }
        )
        _say(f"ready in {time.monotonic() - started:.1f} s")
        _say(f"  API            {stack.api_url}  (OpenAPI: {stack.api_url}/openapi.json)")
        _say(f"  admin token    {admin_token}")
        _say(
            f"  try            curl -H 'Authorization: Bearer {admin_token}' "
            f"{stack.api_url}/admin/invoices"
        )
        _say("  upload         make upload FILE=invoices.csv   (another terminal)")
        _say(f"  stack file     {stack.stack_file}   logs: {local_dir}/*.log")
        _say("event pump running (SQS queues, SES events, schedules); Ctrl-C stops everything")
        pump.run(stop)
    except KeyboardInterrupt:
        pass
    except Exception as exc:  # a start-up failure must still stop the children
        _say(f"failed: {exc}")
        return 1
    finally:
        _say("stopping")
        stack.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
