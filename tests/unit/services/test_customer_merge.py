from __future__ import annotations

from dataclasses import replace

from chalicelib.domain.intake import ParsedParty
from chalicelib.domain.invoices import ChannelStatus
from chalicelib.services.customer_merge import merge_customer, new_customer

BUYER = ParsedParty(
    name="Acme SARL",
    vat_id="FR12345678901",
    email="ap@acme.example",
    phone="+33612345678",
    country="FR",
    language="fr",
)


def test_file_updates_contacts_nobody_edited():
    customer = new_customer("seller", BUYER)
    merged = merge_customer(customer, replace(BUYER, email="billing@acme.example"))
    assert merged.email == "billing@acme.example"


def test_contact_edited_through_the_api_survives_a_file_with_the_old_value():
    customer = replace(
        new_customer("seller", BUYER), email="new@acme.example", edited_fields=frozenset({"email"})
    )
    assert merge_customer(customer, BUYER).email == "new@acme.example"


def test_edited_contact_is_replaced_when_the_file_carries_a_new_value():
    customer = replace(
        new_customer("seller", BUYER), email="new@acme.example", edited_fields=frozenset({"email"})
    )
    merged = merge_customer(customer, replace(BUYER, email="third@acme.example"))
    assert merged.email == "third@acme.example"
    assert "email" not in merged.edited_fields


def test_new_email_address_clears_a_bounce():
    customer = replace(new_customer("seller", BUYER), email_status=ChannelStatus.BOUNCED)
    merged = merge_customer(customer, replace(BUYER, email="fixed@acme.example"))
    assert merged.email_status == ChannelStatus.OK


def test_erased_customer_is_never_filled_again_by_a_file():
    erased = replace(
        new_customer("seller", BUYER), name="erased-1a2b", email=None, phone=None, erased=True
    )
    assert merge_customer(erased, BUYER) is erased
