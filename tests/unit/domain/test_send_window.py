"""Send windows: local business hours on business days, in the customer's own time zone."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from chalicelib.domain.errors import ValidationError
from chalicelib.domain.send_window import (
    Place,
    SendWindow,
    customer_zone,
    first_opening_from,
    is_open,
    local_day,
    next_day_opening,
    next_opening,
    require_aware,
)

from .dunning_builders import CALENDAR, PARIS, NoBusinessDays, paris, utc

OFFICE = SendWindow()  # 9:00-18:00, business days
EVERY_DAY = SendWindow(8, 20, business_days_only=False)
FRANCE = Place(PARIS, "FR")
GERMANY = Place(ZoneInfo("Europe/Berlin"), "DE")
NEW_YORK = Place(ZoneInfo("America/New_York"), "US")
KOLKATA = Place(ZoneInfo("Asia/Kolkata"), "IN")

# fmt: off
OPEN = [
    # Columns: case, window, place, instant, open.
    ("Thursday 10:00", OFFICE, FRANCE, paris(10, 23, 10), True),
    ("opening minute", OFFICE, FRANCE, paris(10, 23, 9), True),
    ("one minute before", OFFICE, FRANCE, paris(10, 23, 8, 59), False),
    ("last minute", OFFICE, FRANCE, paris(10, 23, 17, 59), True),
    ("closing time", OFFICE, FRANCE, paris(10, 23, 18), False),
    ("Saturday", OFFICE, FRANCE, paris(10, 25, 10), False),
    ("Sunday", OFFICE, FRANCE, paris(10, 26, 10), False),
    ("French holiday", OFFICE, FRANCE, paris(11, 11, 10), False),
    ("German holiday is not French", OFFICE, FRANCE, paris(10, 3, 10), True),
    ("German holiday in Germany", OFFICE, GERMANY, paris(10, 3, 10), False),
    ("10:00 Paris is 04:00 New York", OFFICE, NEW_YORK, paris(10, 23, 10), False),
    ("16:00 Paris is 10:00 New York", OFFICE, NEW_YORK, paris(10, 23, 16), True),
    ("half-hour zone", OFFICE, KOLKATA, utc(10, 23, 3, 29), False),
    ("half-hour zone open", OFFICE, KOLKATA, utc(10, 23, 3, 30), True),
    ("window every day: Sunday", EVERY_DAY, FRANCE, paris(10, 26, 10), True),
    ("window every day: holiday", EVERY_DAY, FRANCE, paris(11, 11, 19, 59), True),
    ("window every day: late evening", EVERY_DAY, FRANCE, paris(11, 11, 20), False),
    ("whole day window at midnight", SendWindow(0, 24), FRANCE, paris(10, 23, 0), True),
    ("whole day window at 23:59", SendWindow(0, 24), FRANCE, paris(10, 23, 23, 59), True),
]
# fmt: on


@pytest.mark.parametrize(
    ("window", "place", "at", "expected"), [c[1:] for c in OPEN], ids=[c[0] for c in OPEN]
)
def test_is_open(window, place, at, expected) -> None:
    assert is_open(window, at, place, CALENDAR) is expected


# fmt: off
NEXT = [
    # Columns: case, window, place, instant, next opening.
    ("before opening: same day", OFFICE, FRANCE, paris(10, 23, 7), paris(10, 23, 9)),
    ("open now: next day", OFFICE, FRANCE, paris(10, 23, 10), paris(10, 24, 9)),
    ("at opening: next day", OFFICE, FRANCE, paris(10, 23, 9), paris(10, 24, 9)),
    ("Friday evening: Monday", OFFICE, FRANCE, paris(10, 24, 19), utc(10, 27, 8)),
    ("before a holiday: day after", OFFICE, FRANCE, paris(11, 10, 19), paris(11, 12, 9)),
    ("Christmas to the next business day", OFFICE, FRANCE, paris(12, 24, 19), paris(12, 26, 9)),  # noqa: E501
    ("German Christmas is two days", OFFICE, GERMANY, paris(12, 24, 19), paris(12, 29, 9)),
    ("New Year's Eve", OFFICE, FRANCE, paris(12, 31, 19), paris(1, 2, 9, year=2026)),
    ("New York evening, in their time", OFFICE, NEW_YORK, utc(10, 23, 23), utc(10, 24, 13)),
    ("every-day window on Saturday", EVERY_DAY, FRANCE, paris(10, 25, 21), paris(10, 26, 8)),
]
# fmt: on


@pytest.mark.parametrize(
    ("window", "place", "at", "expected"), [c[1:] for c in NEXT], ids=[c[0] for c in NEXT]
)
def test_next_opening(window, place, at, expected) -> None:
    assert next_opening(window, at, place, CALENDAR) == expected


def test_openings_are_in_utc() -> None:
    opening = next_opening(OFFICE, paris(10, 24, 19), FRANCE, CALENDAR)
    assert opening.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2025, 10, 23), paris(10, 23, 9)),
        (date(2025, 10, 25), utc(10, 27, 8)),
        (date(2025, 11, 11), paris(11, 12, 9)),
        (date(2025, 3, 30), paris(3, 31, 9)),  # DST starts on Sunday 30 March
    ],
    ids=["business day", "Saturday", "holiday", "spring DST weekend"],
)
def test_first_opening_from_a_day(day, expected) -> None:
    assert first_opening_from(OFFICE, day, FRANCE, CALENDAR) == expected


def test_next_day_opening_skips_the_rest_of_today() -> None:
    assert next_day_opening(OFFICE, paris(10, 23, 7), FRANCE, CALENDAR) == paris(10, 24, 9)


def test_local_day_is_the_customers_day() -> None:
    late_evening_in_new_york = utc(10, 24, 2)
    assert local_day(late_evening_in_new_york, NEW_YORK) == date(2025, 10, 23)
    assert local_day(late_evening_in_new_york, FRANCE) == date(2025, 10, 24)


def test_calendar_without_business_days_is_reported() -> None:
    with pytest.raises(ValidationError) as error:
        first_opening_from(OFFICE, date(2025, 10, 23), FRANCE, NoBusinessDays())
    assert error.value.field == "calendar"


def test_calendar_is_not_consulted_for_every_day_windows() -> None:
    assert first_opening_from(EVERY_DAY, date(2025, 10, 25), FRANCE, NoBusinessDays()) == paris(
        10, 25, 8
    )


@pytest.mark.parametrize("name", ["Mars/Olympus", "", "../etc/passwd", "Europe/"])
def test_unknown_time_zone_is_refused(name) -> None:
    with pytest.raises(ValidationError) as error:
        customer_zone(name)
    assert error.value.field == "timezone"


def test_known_time_zone() -> None:
    assert customer_zone("Europe/Paris") == PARIS


def test_naive_instants_are_refused() -> None:
    with pytest.raises(ValidationError) as error:
        require_aware(datetime(2025, 10, 23, 10))
    assert error.value.field == "as_of"
    with pytest.raises(ValidationError):
        is_open(OFFICE, datetime(2025, 10, 23, 10), FRANCE, CALENDAR)


@pytest.mark.parametrize(
    ("window", "problems"),
    [
        (SendWindow(), []),
        (SendWindow(0, 24), []),
        (SendWindow(9, 9), [("end_hour", "must be after start_hour")]),
        (SendWindow(18, 9), [("end_hour", "must be after start_hour")]),
        (SendWindow(-1, 9), [("start_hour", "must be between 0 and 23")]),
        (SendWindow(9, 25), [("end_hour", "must be between 1 and 24")]),
    ],
)
def test_window_problems(window, problems) -> None:
    assert window.problems() == problems
