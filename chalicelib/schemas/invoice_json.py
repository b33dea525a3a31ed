"""Schema: the canonical JSON invoice record (a JSON array of them, or one per line in JSON Lines).

Money is a decimal string ("1234.56"), never a JSON number, so no amount ever passes through
a float. Dates are ISO 8601 calendar dates. Unknown fields are refused so that a typo
("amount_tota") is reported instead of silently ignored. `docs/invoice.schema.json` is
generated from these models by `invoice_json_schema()`; run
`python -m chalicelib.schemas.invoice_json > docs/invoice.schema.json` after a change.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

DECIMAL_PATTERN = r"^-?[0-9]{1,15}(\.[0-9]{1,6})?$"

DecimalString = Annotated[
    str,
    StringConstraints(pattern=DECIMAL_PATTERN),
    Field(
        description='Decimal amount as a string, "." as decimal separator.', examples=["1234.56"]
    ),
]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]


class PartyJson(BaseModel):
    """A seller or buyer."""

    model_config = ConfigDict(extra="forbid", strict=True, title="Party")

    name: Text | None = Field(None, description="Legal or trading name.")
    vat_id: ShortText | None = Field(None, description="VAT identifier, e.g. FR12345678901.")
    legal_id: ShortText | None = Field(None, description="SIREN, SIRET or other legal id.")
    endpoint_id: ShortText | None = Field(
        None, description='Electronic address, "scheme:value" (e.g. "0009:12345678900012").'
    )
    email: ShortText | None = Field(None, description="E-mail address for reminders.")
    phone: ShortText | None = Field(None, description="Phone number; normalised to E.164.")
    country: Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{2}$")] | None = Field(
        None, description="ISO 3166-1 alpha-2 country code."
    )
    language: (
        Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{2}([-_][A-Za-z0-9]{2,8})*$")] | None
    ) = Field(None, description='Language to write in: "fr", "en", "de" or a tag such as "fr-BE".')
    street: Text | None = None
    city: ShortText | None = None
    postcode: ShortText | None = None


class InvoiceJson(BaseModel):
    """One invoice or credit note; a file is a JSON array of these or JSON Lines."""

    model_config = ConfigDict(extra="forbid", strict=True, title="Invoice")

    number: ShortText = Field(description="Invoice number as printed.")
    kind: Literal["invoice", "credit_note"] = Field(
        "invoice", description="A credit note gives money back; its amounts are positive."
    )
    issue_date: date = Field(description="Issue date, YYYY-MM-DD.")
    due_date: date | None = Field(
        None, description="Due date; if absent, issue date + payment_terms_days, else + 30 days."
    )
    payment_terms_days: int | None = Field(
        None, ge=0, le=3650, description="Agreed payment period."
    )
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] = Field(
        description="ISO 4217 currency code."
    )
    amount_total: DecimalString = Field(description="Total including tax.")
    amount_paid: DecimalString | None = Field(None, description="Already paid; default 0.")
    amount_due: DecimalString | None = Field(
        None, description="Still to pay; default amount_total - amount_paid."
    )
    seller: PartyJson | None = Field(None, description="The issuer; default: the upload's seller.")
    buyer: PartyJson = Field(description="The customer to chase.")
    purchase_order: ShortText | None = None
    payment_reference: ShortText | None = None
    iban: ShortText | None = Field(None, description="Payee IBAN.")
    referenced_invoice: ShortText | None = Field(
        None, description="For a credit note: the number of the invoice it corrects."
    )


def invoice_json_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of one invoice record, as committed in docs/."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        **InvoiceJson.model_json_schema(),
    }


if __name__ == "__main__":
    print(json.dumps(invoice_json_schema(), indent=2, ensure_ascii=False))
