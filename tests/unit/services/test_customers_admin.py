"""CustomerAdmin: edits are validated, marked as edited, and survive the next file."""

from __future__ import annotations

from dataclasses import replace

import pytest

from chalicelib.domain.errors import (
    ConcurrentUpdateError,
    CustomerNotFoundError,
    InvalidTransitionError,
    ValidationError,
)
from chalicelib.domain.intake import ParsedParty
from chalicelib.domain.invoices import ChannelStatus, Customer, RiskClass
from chalicelib.domain.records import EventType
from chalicelib.services.customer_merge import merge_customer
from chalicelib.services.customers_admin import CustomerAdmin
from tests.fakes import FixedClock, InMemoryCustomerRepository, InMemoryTimeline

CUSTOMER = Customer(
    customer_id="cus_1",
    seller_id="s",
    name="Dupont SARL",
    email="old@dupont.example",
    phone="+33612345678",
    email_status=ChannelStatus.BOUNCED,
    sms_status=ChannelStatus.OPTED_OUT,
    file_values=(("email", "old@dupont.example"), ("name", "Dupont SARL")),
)


@pytest.fixture
def admin() -> tuple[CustomerAdmin, InMemoryCustomerRepository, InMemoryTimeline]:
    customers = InMemoryCustomerRepository()
    customers.save_new_batch([CUSTOMER])
    timeline = InMemoryTimeline()
    return CustomerAdmin(customers, timeline, FixedClock()), customers, timeline


def test_an_edit_marks_the_fields_and_names_them_on_the_timeline(admin):
    service, _, timeline = admin

    updated = service.update(
        "cus_1",
        {"email": "new@dupont.example", "timezone": "Europe/Brussels", "risk_override": "high"},
        by="alice",
    )

    assert updated.email == "new@dupont.example"
    assert updated.email_status == ChannelStatus.OK  # the bounce was the old address's
    assert updated.timezone == "Europe/Brussels"
    assert updated.risk_override == RiskClass.HIGH
    assert updated.edited_fields == {"email", "timezone", "risk_override"}
    [event] = timeline.events
    assert event.type == EventType.UPDATED
    assert event.detail("changed") == "email,risk_override,timezone"
    assert "new@dupont.example" not in str(event.details)


def test_a_later_file_with_the_old_value_does_not_undo_the_edit(admin):
    service, _, _ = admin
    edited = service.update("cus_1", {"email": "new@dupont.example"}, by="alice")

    merged = merge_customer(edited, ParsedParty(name="Dupont SARL", email="old@dupont.example"))

    assert merged.email == "new@dupont.example"


def test_a_new_phone_is_reachable_again_and_values_can_be_cleared(admin):
    service, _, _ = admin

    updated = service.update("cus_1", {"phone": "+33698765432", "country": "be"}, by="a")
    assert (updated.sms_status, updated.country) == (ChannelStatus.OK, "BE")

    cleared = service.update("cus_1", {"email": None, "risk_override": None}, by="a")
    assert cleared.email is None


def test_unchanged_values_change_nothing(admin):
    service, customers, timeline = admin

    same = service.update("cus_1", {"name": "Dupont SARL"}, by="a")

    assert same.version == 1
    assert timeline.events == []


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"timezone": None}, "timezone"),
        ({"email": "not-an-email"}, "email"),
        ({"phone": "06 12 34 56 78"}, "phone"),
        ({"country": "FRA"}, "country"),
        ({"locale": "French"}, "locale"),
        ({"segment": "VIP customers!"}, "segment"),
        ({"risk_override": "extreme"}, "risk_override"),
        ({"name": "  "}, "name"),
        ({"erased": "false"}, "erased"),
    ],
)
def test_bad_values_name_the_field_and_change_nothing(admin, changes, field):
    service, customers, _ = admin

    with pytest.raises(ValidationError) as error:
        service.update("cus_1", changes, by="a")

    assert error.value.field == field
    assert customers.items["cus_1"].version == 1


def test_edits_need_a_known_customer_the_current_version_and_no_erasure(admin):
    service, customers, _ = admin
    with pytest.raises(CustomerNotFoundError):
        service.update("cus_x", {"name": "X"}, by="a")
    with pytest.raises(ConcurrentUpdateError):
        service.update("cus_1", {"name": "X"}, by="a", version=9)
    customers.items["cus_1"] = replace(customers.items["cus_1"], erased=True)
    with pytest.raises(InvalidTransitionError):
        service.update("cus_1", {"email": "back@dupont.example"}, by="a")


def test_listing_pages_and_checks_the_limit(admin):
    service, _, _ = admin

    assert [c.customer_id for c in service.list(limit=10).items] == ["cus_1"]
    with pytest.raises(ValidationError) as error:
        service.list(limit=0)
    assert error.value.field == "limit"
