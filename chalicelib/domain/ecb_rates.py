"""Domain data: the ECB main refinancing operations (MRO) rate in force on 1 January and 1 July.

French B2B late-payment interest (Code de commerce L441-10) uses the rate in force on 1 January
for the first half-year and on 1 July for the second. To update: add one `_row(...)` line per
half-year, newest last, and flip `verified` once the rate is confirmed by the ECB.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class EcbRate:
    """The MRO rate used for every day of one half-year.

    Attributes:
        year: Calendar year.
        half: 1 for January-June, 2 for July-December.
        rate_percent: The MRO rate in force on the half-year's first day, in percent.
        source: Where the figure comes from.
        verified: False while the figure is a forecast that still has to be checked.
        note: Anything a reader of the table should know about this row.
    """

    year: int
    half: int
    rate_percent: Decimal
    source: str
    verified: bool = True
    note: str = ""

    @property
    def in_force_on(self) -> date:
        """The reference day: 1 January or 1 July."""
        return date(self.year, 1 if self.half == 1 else 7, 1)


_ECB = "ECB monetary policy decisions (press releases), MRO rate in force since {since}"
_BDF = "Banque de France, taux d'intérêt légal / pénalités de retard, {year} S{half}"


def _row(
    year: int, half: int, rate: str, since: str, *, verified: bool = True, note: str = ""
) -> EcbRate:
    source = _ECB.format(since=since) + "; " + _BDF.format(year=year, half=half)
    return EcbRate(year, half, Decimal(rate), source, verified, note)


ECB_MRO_RATES: tuple[EcbRate, ...] = (
    _row(2013, 1, "0.75", "2012-07-11"),
    _row(2013, 2, "0.50", "2013-05-08"),
    _row(2014, 1, "0.25", "2013-11-13"),
    _row(2014, 2, "0.15", "2014-06-11"),
    _row(2015, 1, "0.05", "2014-09-10"),
    _row(2015, 2, "0.05", "2014-09-10"),
    _row(2016, 1, "0.05", "2014-09-10"),
    _row(2016, 2, "0.00", "2016-03-16"),
    _row(2017, 1, "0.00", "2016-03-16"),
    _row(2017, 2, "0.00", "2016-03-16"),
    _row(2018, 1, "0.00", "2016-03-16"),
    _row(2018, 2, "0.00", "2016-03-16"),
    _row(2019, 1, "0.00", "2016-03-16"),
    _row(2019, 2, "0.00", "2016-03-16"),
    _row(2020, 1, "0.00", "2016-03-16"),
    _row(2020, 2, "0.00", "2016-03-16"),
    _row(2021, 1, "0.00", "2016-03-16"),
    _row(2021, 2, "0.00", "2016-03-16"),
    _row(2022, 1, "0.00", "2016-03-16"),
    _row(2022, 2, "0.00", "2016-03-16", note="first hike (0.50%) only on 2022-07-27"),
    _row(2023, 1, "2.50", "2022-12-21"),
    _row(2023, 2, "4.00", "2023-06-21"),
    _row(2024, 1, "4.50", "2023-09-20"),
    _row(2024, 2, "4.25", "2024-06-12"),
    _row(2025, 1, "3.15", "2024-12-18"),
    _row(2025, 2, "2.15", "2025-06-11"),
    _row(2026, 1, "2.15", "2025-06-11"),
    _row(2026, 2, "2.15", "2025-06-11", verified=False, note="unverified; update from the ECB"),
)

_BY_HALF = {(row.year, row.half): row for row in ECB_MRO_RATES}


def half_of(day: date) -> int:
    """1 for a day in January-June, 2 for July-December."""
    return 1 if day.month <= 6 else 2


def ecb_rate_for(day: date) -> EcbRate | None:
    """The row that applies to `day` (its half-year's reference rate).

    Business rule: after the table's last half-year, the last known rate is carried forward,
    marked unverified: the rate in force on 1 January or 1 July is the last one the ECB set,
    and it changes rarely. None before the table starts.
    """
    key = (day.year, half_of(day))
    found = _BY_HALF.get(key)
    if found is not None:
        return found
    last = ECB_MRO_RATES[-1]
    if key < (last.year, last.half):
        return None
    return replace(
        last,
        year=day.year,
        half=half_of(day),
        verified=False,
        note=f"carried forward from {last.year} H{last.half}; update from the ECB",
    )
