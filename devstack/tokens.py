r"""Admin API tokens from the command line (a real deployment's first admin token).

    RECORDS_TABLE_NAME=relance-dev-records AWS_DEFAULT_REGION=eu-west-1 \\
        python -m devstack.tokens create --role admin --label "ops team" [--days 90]
    python -m devstack.tokens list
    python -m devstack.tokens revoke tok_0123456789abcdef

The secret is printed once; only its SHA-256 is stored.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime, timedelta

from chalicelib.adapters.dynamodb.records import DynamoTokenStore
from chalicelib.adapters.dynamodb.tables import bind_records_table
from chalicelib.adapters.system_clock import SystemClock
from chalicelib.domain.records import Role
from chalicelib.services.auth import TokenService


def _service() -> TokenService:
    table = os.environ.get("RECORDS_TABLE_NAME")
    if not table:
        sys.exit("set RECORDS_TABLE_NAME (e.g. relance-dev-records) and AWS credentials/region")
    bind_records_table(table, os.environ.get("AWS_DEFAULT_REGION"))
    return TokenService(DynamoTokenStore(), SystemClock())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devstack.tokens",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create", help="create a token and print its secret once")
    create.add_argument("--role", choices=[r.value for r in Role], required=True)
    create.add_argument("--label", required=True)
    create.add_argument("--days", type=int, help="expire after this many days")
    commands.add_parser("list", help="list tokens (never their secrets)")
    revoke = commands.add_parser("revoke", help="revoke a token by id")
    revoke.add_argument("token_id")
    args = parser.parse_args(argv)
    service = _service()
    if args.command == "create":
        expires = datetime.now(UTC) + timedelta(days=args.days) if args.days else None
        issued = service.issue(Role(args.role), args.label, expires)
        print(
            f"token id   {issued.token.token_id}\nrole       {issued.token.role}\n"
            f"expires    {expires.isoformat() if expires else 'never'}\n"
            f"secret     {issued.secret}\n(store the secret now: it is not shown again)"
        )
    elif args.command == "list":
        for token in service.list():
            state = "revoked" if token.revoked else "active"
            print(f"{token.token_id}  {token.role:<9}  {state:<7}  {token.label}")
    elif not service.revoke(args.token_id):
        print(f"no active token {args.token_id}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
