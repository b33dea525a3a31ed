from __future__ import annotations

import json

from devstack.upload import main
from tests.conftest import MOTO_URL, REGION


def test_upload_cli_puts_files_in_the_inbox_and_they_are_imported(
    stack, pump, api, admin_headers, tmp_path
):
    stack_file = tmp_path / "stack.json"
    stack_file.write_text(
        json.dumps(
            {
                "aws_endpoint_url": MOTO_URL,
                "region": REGION,
                "inbox_bucket": stack.bucket,
                "inbox_prefix": "inbox/",
            }
        )
    )
    export = tmp_path / "export.csv"
    export.write_text(
        "Invoice Number,Invoice Date,Due Date,Customer,Total,Currency\n"
        "U-1,2026-10-01,2026-10-31,Acme,10.00,EUR\n"
    )

    assert main([str(export), "--stack", str(stack_file)]) == 0
    pump.drain()

    items = api.http.get("/admin/invoices?number=U-1", headers=admin_headers).json_body["items"]
    assert [i["number"] for i in items] == ["U-1"]
    assert main([str(export), "--prefix", "elsewhere/", "--stack", str(stack_file)]) == 2
