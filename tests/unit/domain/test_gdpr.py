"""GDPR rules: what counts as personal, how free text is redacted, what erasure keeps."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chalicelib.domain.gdpr import (
    REDACTED,
    erase_customer,
    personal_data_of,
    pseudonym,
    redact,
    scrub_event,
)
from chalicelib.domain.invoices import ChannelStatus, Customer
from chalicelib.domain.records import EventType, TimelineEvent

CUSTOMER = Customer(
    customer_id="cus_42",
    seller_id="seller",
    name="Atelier Dupont & Fils",
    email="jean.dupont@atelier-dupont.fr",
    phone="+33612345678",
    country="FR",
    vat_id="FR12345678901",
    legal_id="123456789",
    endpoint_id="0009:12345678900011",
    email_status=ChannelStatus.BOUNCED,
    edited_fields=frozenset({"email"}),
    file_values=(("email", "j.dupont@old-mail.fr"), ("name", "Atelier Dupont")),
    version=3,
)
PERSONAL = personal_data_of(CUSTOMER)


def test_pseudonym_is_stable_and_reveals_nothing_but_the_id():
    assert pseudonym("cus_42") == pseudonym("cus_42")
    assert pseudonym("cus_42") != pseudonym("cus_43")
    assert pseudonym("cus_42").startswith("erased-")
    assert len(pseudonym("cus_42")) == len("erased-") + 12


def test_personal_data_covers_stored_and_imported_values():
    assert "jean.dupont@atelier-dupont.fr" in PERSONAL.values
    assert "j.dupont@old-mail.fr" in PERSONAL.values
    assert "Atelier Dupont & Fils" in PERSONAL.values
    assert "FR12345678901" in PERSONAL.values
    assert "Dupont" in PERSONAL.tokens
    assert "Fils" in PERSONAL.tokens
    assert PERSONAL.phone_digits == ("33612345678",)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Rappel : facture F-1 — Atelier Dupont & Fils", f"Rappel : facture F-1 — {REDACTED}"),
        ("mail JEAN.DUPONT@ATELIER-DUPONT.FR bounced", f"mail {REDACTED} bounced"),
        ("Bonjour M. Dupont,", f"Bonjour M. {REDACTED},"),
        ("call 06 12 34 56 78 today", f"call {REDACTED} today"),
        ("call +33 (0)6-12-34-56-78", f"call {REDACTED}"),
        ("<Name>Atelier Dupont &amp; Fils</Name>", f"<Name>{REDACTED}</Name>"),
        ("VAT FR12345678901.", f"VAT {REDACTED}."),
    ],
)
def test_redaction_finds_every_form_of_the_values(text, expected):
    assert redact(text, PERSONAL) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Invoice F-2026-0042 of 1200.00 EUR due 2026-03-15",
        "Dupontel & Co",  # a longer word is someone else
        "call 01 98 76 54 32",
        "",
    ],
)
def test_redaction_leaves_other_text_alone(text):
    assert redact(text, PERSONAL) == text


def test_shared_files_lose_whole_values_but_not_single_name_words():
    text = "Atelier Dupont & Fils;jean.dupont@atelier-dupont.fr\nAtelier Martin;martin@ex.fr"

    redacted = redact(text, PERSONAL, tokens=False)

    assert redacted == f"{REDACTED};{REDACTED}\nAtelier Martin;martin@ex.fr"


def test_an_event_keeps_its_facts_and_loses_its_personal_text():
    event = TimelineEvent(
        event_id="e1",
        invoice_id="inv_1",
        customer_id="cus_42",
        type=EventType.REMINDER_SENT,
        at=datetime(2026, 3, 1, tzinfo=UTC),
        actor="dunning",
        details=(
            ("channel", "email"),
            ("step", "friendly"),
            ("subject", "Facture F-1 — Atelier Dupont & Fils"),
            ("to", "someone@else.example"),
        ),
    )

    scrubbed = scrub_event(event, PERSONAL)

    assert dict(scrubbed.details) == {
        "channel": "email",
        "step": "friendly",
        "subject": f"Facture F-1 — {REDACTED}",
        "to": REDACTED,
    }
    assert (scrubbed.event_id, scrubbed.at, scrubbed.type) == (event.event_id, event.at, event.type)
    assert scrub_event(scrubbed, PERSONAL) == scrubbed


def test_erased_customer_keeps_only_id_seller_country_and_settings():
    erased = erase_customer(CUSTOMER)

    assert erased.customer_id == "cus_42"
    assert erased.seller_id == "seller"
    assert erased.country == "FR"
    assert erased.name == pseudonym("cus_42")
    assert (erased.email, erased.phone, erased.vat_id) == (None, None, None)
    assert (erased.legal_id, erased.endpoint_id) == (None, None)
    assert erased.file_values == ()
    assert erased.edited_fields == frozenset()
    assert erased.erased
    assert erased.version == CUSTOMER.version
    assert personal_data_of(erased).is_empty
