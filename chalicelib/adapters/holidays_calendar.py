"""Adapter: HolidaysCalendar, business days per country from the `holidays` package."""

from __future__ import annotations

import functools
from datetime import date
from typing import Any


@functools.lru_cache(maxsize=64)
def _country_holidays(country: str, year: int) -> Any:
    # Imported on first use: only the dunning worker needs it, every Lambda imports app.py.
    import holidays

    try:
        return holidays.country_holidays(country, years=year)
    except NotImplementedError:
        return {}


class HolidaysCalendar:
    def is_business_day(self, country: str, day: date) -> bool:
        if day.weekday() >= 5:
            return False
        return day not in _country_holidays(country.upper(), day.year)
