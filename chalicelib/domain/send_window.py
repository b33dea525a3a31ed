"""Domain: when a customer may be contacted (business hours, business days, their time zone)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from chalicelib.domain.errors import ValidationError

# A calendar with no business day in a year is broken; stop looking instead of looping forever.
_MAX_SEARCH_DAYS = 366


class BusinessCalendar(Protocol):
    """Port: which days are working days in a country (weekends and public holidays excluded)."""

    def is_business_day(self, country: str, day: date) -> bool:
        """True when `day` is a working day in `country` (ISO 3166-1 alpha-2)."""
        ...  # pragma: no cover


@dataclass(frozen=True, slots=True)
class SendWindow:
    """Hours of the customer's local day during which messages may go out.

    Attributes:
        start_hour: First local hour messages may be sent (inclusive, 0-23).
        end_hour: Local hour sending stops (exclusive, 1-24).
        business_days_only: Skip weekends and public holidays of the customer's country.
    """

    start_hour: int = 9
    end_hour: int = 18
    business_days_only: bool = True

    def problems(self) -> list[tuple[str, str]]:
        """What is wrong with the window, as (field, reason) pairs; empty when valid."""
        found: list[tuple[str, str]] = []
        if not 0 <= self.start_hour <= 23:
            found.append(("start_hour", "must be between 0 and 23"))
        if not 1 <= self.end_hour <= 24:
            found.append(("end_hour", "must be between 1 and 24"))
        if self.start_hour >= self.end_hour:
            found.append(("end_hour", "must be after start_hour"))
        return found


@dataclass(frozen=True, slots=True)
class Place:
    """Where a customer is, for the send window: their time zone and their holiday country."""

    zone: ZoneInfo
    country: str


def customer_zone(name: str) -> ZoneInfo:
    """The IANA time zone of a customer.

    Raises:
        ValidationError: unknown zone name.
    """
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise ValidationError(f"unknown time zone {name!r}", "timezone") from exc


def require_aware(at: datetime, field: str = "as_of") -> datetime:
    """Reject naive datetimes: a decision instant must be unambiguous.

    Raises:
        ValidationError: `at` has no UTC offset.
    """
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValidationError(f"{field} must be timezone-aware", field)
    return at


def local_day(at: datetime, place: Place) -> date:
    """The customer's calendar day at instant `at`."""
    return require_aware(at).astimezone(place.zone).date()


def is_sending_day(window: SendWindow, day: date, place: Place, calendar: BusinessCalendar) -> bool:
    """Business rule: every day counts, unless the window is restricted to business days."""
    return not window.business_days_only or calendar.is_business_day(place.country, day)


def opening_on(window: SendWindow, day: date, place: Place) -> datetime:
    """The window's opening on a given local day, in UTC."""
    local = datetime(day.year, day.month, day.day, window.start_hour, tzinfo=place.zone)
    return local.astimezone(UTC)


def first_opening_from(
    window: SendWindow, day: date, place: Place, calendar: BusinessCalendar
) -> datetime:
    """Business rule: the first window opening on `day` or the next sending day after it.

    Raises:
        ValidationError: the calendar has no sending day in the following year.
    """
    for offset in range(_MAX_SEARCH_DAYS):
        candidate = day + timedelta(days=offset)
        if is_sending_day(window, candidate, place, calendar):
            return opening_on(window, candidate, place)
    raise ValidationError(f"no business day in {place.country} within a year", "calendar")


def is_open(window: SendWindow, at: datetime, place: Place, calendar: BusinessCalendar) -> bool:
    """Business rule: a message may go out on a sending day between start and end hour, local."""
    local = require_aware(at).astimezone(place.zone)
    in_hours = window.start_hour <= local.hour < window.end_hour
    return in_hours and is_sending_day(window, local.date(), place, calendar)


def next_opening(
    window: SendWindow, at: datetime, place: Place, calendar: BusinessCalendar
) -> datetime:
    """Business rule: the first window opening strictly after `at`."""
    today = local_day(at, place)
    candidate = first_opening_from(window, today, place, calendar)
    if candidate > at:
        return candidate
    return first_opening_from(window, today + timedelta(days=1), place, calendar)


def next_day_opening(
    window: SendWindow, at: datetime, place: Place, calendar: BusinessCalendar
) -> datetime:
    """The first window opening on a later local day than `at`'s."""
    return first_opening_from(window, local_day(at, place) + timedelta(days=1), place, calendar)
