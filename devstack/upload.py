"""Drop invoice files into the local stack's inbox (what a business does on AWS with S3).

    python -m devstack.upload export.csv [more files...] [--prefix inbox/acme/]
    make upload FILE=export.csv

Reads `.local/stack.json` (written by `make run`); the running event pump ingests the files.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import boto3

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devstack.upload",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--prefix", default=None, help="default: the stack's inbox prefix")
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
    prefix = args.prefix or stack["inbox_prefix"]
    if not prefix.startswith("inbox/"):
        print("the prefix must be under inbox/ (only uploads there are imported)", file=sys.stderr)
        return 2
    s3 = boto3.client(
        "s3",
        endpoint_url=stack["aws_endpoint_url"],
        region_name=stack["region"],
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    for path in args.files:
        if not path.is_file():
            print(f"{path}: no such file", file=sys.stderr)
            return 2
        key = prefix.rstrip("/") + "/" + path.name
        s3.upload_file(str(path), stack["inbox_bucket"], key)
        print(f"uploaded {path} to s3://{stack['inbox_bucket']}/{key}")
    print("the event pump imports them within a second: GET /admin/imports shows the outcome")
    return 0


if __name__ == "__main__":
    sys.exit(main())
