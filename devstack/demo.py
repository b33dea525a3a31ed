"""Demo invoices for `make run`, dated relative to today so every dunning step shows up."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import boto3
from tqdm import tqdm

from devstack.pump import EventPump

SELLER = "FR40303265045"

# (number, customer, email, phone, country, language, days from today to due date, total, paid)
_INVOICES: tuple[tuple[str, str, str, str, str, str, int, str, str], ...] = (
    (
        "F-2026-0101",
        "Boulangerie Martin SARL",
        "compta@boulangerie-martin.example",
        "+33612345678",
        "FR",
        "fr",
        3,
        "1 250,00",
        "0",
    ),
    (
        "F-2026-0102",
        "Boulangerie Martin SARL",
        "compta@boulangerie-martin.example",
        "+33612345678",
        "FR",
        "fr",
        -2,
        "480,50",
        "0",
    ),
    (
        "F-2026-0103",
        "Transports Lefèvre SA",
        "factures@lefevre-transports.example",
        "+33698765432",
        "FR",
        "fr",
        -9,
        "12 400,00",
        "2 000,00",
    ),
    (
        "F-2026-0104",
        "Cabinet Durand & Associés",
        "admin@durand-avocats.example",
        "+33155550101",
        "FR",
        "fr",
        -16,
        "3 600,00",
        "0",
    ),
    (
        "F-2026-0105",
        "Hôtel du Lac",
        "direction@hoteldulac.example",
        "+41223456789",
        "CH",
        "fr",
        -31,
        "8 950,00",
        "0",
    ),
    (
        "F-2026-0106",
        "Garage Moreau",
        "contact@garage-moreau.example",
        "+33240111222",
        "FR",
        "fr",
        -46,
        "2 180,40",
        "0",
    ),
    (
        "F-2026-0107",
        "Northwind Traders Ltd",
        "ap@northwind.example",
        "+447700900123",
        "GB",
        "en",
        -5,
        "4 999,99",
        "0",
    ),
    (
        "F-2026-0108",
        "Northwind Traders Ltd",
        "ap@northwind.example",
        "+447700900123",
        "GB",
        "en",
        10,
        "760,00",
        "0",
    ),
    (
        "F-2026-0109",
        "Atelier Bernard",
        "atelier.bernard@example.org",
        "",
        "FR",
        "fr",
        -1,
        "95,00",
        "95,00",
    ),
)


def demo_csv(today: date) -> bytes:
    """A French accounting export: semicolons, decimal commas, dd/mm/yyyy dates."""
    lines = [
        "Export comptable - clients;;;;;;;;;;;",
        "N° facture;Date de facture;Échéance;Client;E-mail;Téléphone;Pays;Langue;"
        "Montant TTC;Montant payé;Devise;TVA intracom vendeur",
    ]
    for number, name, email, phone, country, lang, due_in, total, paid in _INVOICES:
        due = today + timedelta(days=due_in)
        issued = due - timedelta(days=30)
        lines.append(
            ";".join(
                [
                    number,
                    issued.strftime("%d/%m/%Y"),
                    due.strftime("%d/%m/%Y"),
                    name,
                    email,
                    phone,
                    country,
                    lang,
                    total,
                    paid,
                    "EUR",
                    SELLER,
                ]
            )
        )
    return ("\n".join(lines) + "\n").encode("utf-8-sig")


def demo_jsonl(today: date) -> bytes:
    """Two invoices in the JSON Lines format of docs/invoice.schema.json."""
    records: list[dict[str, Any]] = [
        {
            "number": "EXP-7781",
            "issue_date": str(today - timedelta(days=40)),
            "due_date": str(today - timedelta(days=10)),
            "currency": "EUR",
            "amount_total": "1540.00",
            "amount_paid": "0.00",
            "seller": {"name": "Atelier Démo SAS", "vat_id": SELLER},
            "buyer": {
                "name": "Brasserie Koenig GmbH",
                "email": "buchhaltung@koenig.example",
                "country": "DE",
                "language": "en",
                "vat_id": "DE123456789",
            },
        },
        {
            "number": "EXP-7782",
            "issue_date": str(today - timedelta(days=5)),
            "due_date": str(today + timedelta(days=25)),
            "currency": "EUR",
            "amount_total": "320.00",
            "amount_paid": "0.00",
            "seller": {"name": "Atelier Démo SAS", "vat_id": SELLER},
            "buyer": {
                "name": "Brasserie Koenig GmbH",
                "email": "buchhaltung@koenig.example",
                "country": "DE",
                "language": "en",
                "vat_id": "DE123456789",
            },
        },
    ]
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode()


def load_demo(
    endpoint: str, region: str, bucket: str, pump: EventPump, today: date | None = None
) -> int:
    """Upload the demo files to inbox/ and pump the uploads through the real ingest path."""
    today = today or date.today()
    s3 = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    files = {
        "inbox/demo/export-comptable.csv": demo_csv(today),
        "inbox/demo/erp-export.jsonl": demo_jsonl(today),
    }
    for key, body in tqdm(files.items(), desc="relance │ uploading demo invoices", unit="file"):
        s3.put_object(Bucket=bucket, Key=key, Body=body)
    return pump.drain()
