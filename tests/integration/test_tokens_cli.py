from __future__ import annotations

from devstack.tokens import main


def test_cli_creates_lists_and_revokes_a_token(stack, api, capsys):
    assert main(["create", "--role", "collector", "--label", "night shift", "--days", "30"]) == 0
    created = capsys.readouterr().out
    secret = next(line.split()[-1] for line in created.splitlines() if line.startswith("secret"))
    token_id = next(
        line.split()[-1] for line in created.splitlines() if line.startswith("token id")
    )
    headers = {"Authorization": f"Bearer {secret}"}
    assert api.http.get("/admin/invoices", headers=headers).status_code == 200

    assert main(["list"]) == 0
    listed = capsys.readouterr().out
    assert token_id in listed
    assert secret not in listed

    assert main(["revoke", token_id]) == 0
    assert api.http.get("/admin/invoices", headers=headers).status_code == 401
    assert main(["revoke", token_id]) == 1
