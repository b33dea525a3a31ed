"""A bounded load test of a running local stack (loopback only): webhooks and admin reads.

    python -m devstack.load [--requests 500] [--concurrency 8] [--max-seconds 60]

Reads `.local/stack.json` (written by `make run`). Sends signed generic payment webhooks (each
delivered twice, as providers do) and admin reads, then prints throughput and p50/p99 latency
per kind of request and the number of failures; exits 1 if any request failed.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import statistics
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


@dataclass
class Results:
    latencies: dict[str, list[float]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, kind: str, seconds: float, error: str | None) -> None:
        with self.lock:
            self.latencies.setdefault(kind, []).append(seconds)
            if error:
                self.failures.append(f"{kind}: {error}")


def _request(
    url: str,
    *,
    method: str = "GET",
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _signed_webhook(secret: str, invoice_number: str, event_id: str) -> tuple[bytes, dict]:
    event = {
        "event_id": event_id,
        "type": "payment_succeeded",
        "occurred_at": datetime.now(UTC).isoformat(),
        "amount": "0.01",
        "currency": "EUR",
        "payment_id": f"load-{event_id}",
        "invoice_number": invoice_number,
    }
    body = json.dumps(event, separators=(",", ":")).encode()
    t = int(time.time())
    signature = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return body, {"Content-Type": "application/json", "Relance-Signature": f"t={t},v1={signature}"}


def _plan(stack: dict[str, Any], total: int) -> list[tuple[str, str, str, bytes | None, dict]]:
    api, auth = stack["api_url"], {"Authorization": f"Bearer {stack['admin_token']}"}
    _, raw = _request(f"{api}/admin/invoices?limit=50", headers=auth)
    invoices = json.loads(raw)["items"]
    if not invoices:
        raise SystemExit("the stack has no invoices: start it with demo data (RELANCE_DEMO=1)")
    _, spec = _request(f"{api}/openapi.json")
    has_webhooks = "/webhooks/generic" in json.loads(spec)["paths"]
    plan: list[tuple[str, str, str, bytes | None, dict]] = []
    for index in range(total):
        invoice = invoices[index % len(invoices)]
        choice = index % 4
        if choice == 0 and has_webhooks:
            event_id = f"evt_{uuid.uuid4().hex[:12]}"
            body, headers = _signed_webhook(
                stack["webhook_secrets"]["generic"], invoice["number"], event_id
            )
            plan.append(("webhook", "POST", f"{api}/webhooks/generic", body, headers))
            plan.append(("webhook_duplicate", "POST", f"{api}/webhooks/generic", body, headers))
        elif choice == 1:
            plan.append(
                ("invoice", "GET", f"{api}/admin/invoices/{invoice['invoice_id']}", None, auth)
            )
        elif choice == 2:
            plan.append(
                (
                    "timeline",
                    "GET",
                    f"{api}/admin/invoices/{invoice['invoice_id']}/timeline",
                    None,
                    auth,
                )
            )
        else:
            plan.append(("list", "GET", f"{api}/admin/invoices?limit=20", None, auth))
    return plan[:total]


def run(stack: dict[str, Any], total: int, concurrency: int, max_seconds: float) -> Results:
    host = urlparse(stack["api_url"]).hostname
    if host not in LOOPBACK:
        raise SystemExit(f"refusing to load {host}: this script only targets loopback")
    results = Results()
    deadline = time.monotonic() + max_seconds

    def one(item: tuple[str, str, str, bytes | None, dict]) -> None:
        kind, method, url, body, headers = item
        if time.monotonic() > deadline:
            return
        started = time.perf_counter()
        status, raw = _request(url, method=method, body=body, headers=headers)
        error = None if 200 <= status < 300 else f"HTTP {status} {raw[:120]!r}"
        results.add(kind, time.perf_counter() - started, error)

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(one, _plan(stack, total)))
    return results


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def report(results: Results, elapsed: float) -> str:
    lines = [f"{'request':<18} {'count':>6} {'p50 ms':>8} {'p99 ms':>8}"]
    total = 0
    for kind, values in sorted(results.latencies.items()):
        total += len(values)
        lines.append(
            f"{kind:<18} {len(values):>6} {statistics.median(values) * 1000:>8.1f} "
            f"{_percentile(values, 0.99) * 1000:>8.1f}"
        )
    lines.append(
        f"{total} requests in {elapsed:.1f} s = {total / elapsed:.1f} req/s; "
        f"{len(results.failures)} failed"
    )
    lines += [f"  failed: {f}" for f in results.failures[:10]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devstack.load",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--max-seconds", type=float, default=60)
    parser.add_argument(
        "--stack",
        type=Path,
        default=Path(os.environ.get("RELANCE_LOCAL_DIR", ROOT / ".local")) / "stack.json",
    )
    args = parser.parse_args(argv)
    if not args.stack.exists():
        print(f"{args.stack} not found: start the stack with `make run` first", file=sys.stderr)
        return 2
    stack = json.loads(args.stack.read_text())
    started = time.perf_counter()
    results = run(stack, args.requests, args.concurrency, args.max_seconds)
    print(report(results, time.perf_counter() - started))
    return 1 if results.failures else 0


if __name__ == "__main__":
    sys.exit(main())
