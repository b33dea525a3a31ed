"""Entry point: collection reports as of any date, as JSON or CSV (docs/reports.md)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import pydantic
from chalice.app import Blueprint, Request, Response

from chalicelib.bootstrap import get_services
from chalicelib.domain.errors import ValidationError
from chalicelib.domain.records import Role
from chalicelib.domain.reports import to_csv_rows
from chalicelib.entrypoints.http import QueryParam, api_route, query_int, query_str
from chalicelib.schemas.admin_collections import (
    AgingOut,
    CeiOut,
    DaysDelinquentOut,
    DisputesOut,
    DsoOut,
    KpisOut,
    PromisesOut,
    RecoveryOut,
)
from chalicelib.services.reporting import DEFAULT_PERIOD_MONTHS, kpi_csv_rows

bp = Blueprint(__name__)

CSV = "text/csv"
_DATE = {"type": "string", "format": "date"}
AS_OF = QueryParam("as_of", "Report date, YYYY-MM-DD (default: today, UTC)", _DATE)
CURRENCY = QueryParam("currency", "ISO 4217 code (default EUR)")
ANY_CURRENCY = QueryParam("currency", "ISO 4217 code (default: every currency)")
FORMAT = QueryParam("format", "json (default) or csv", {"type": "string", "enum": ["json", "csv"]})
PERIOD_MONTHS = QueryParam(
    "period_months",
    "Calendar months in the window ending on as_of (default 3)",
    {"type": "integer", "minimum": 1, "maximum": 120},
)
PERIOD = (
    QueryParam("period_start", "First day (default: start of the period_months window)", _DATE),
    QueryParam("period_end", "Last day (default: as_of)", _DATE),
    PERIOD_MONTHS,
)


def _date(request: Request, name: str) -> date | None:
    raw = query_str(request, name)
    if raw is None:
        return None
    try:
        return date.fromisoformat(raw) if len(raw) == 10 else datetime.fromisoformat(raw).date()
    except ValueError as exc:
        raise ValidationError(f"{name} must be a date such as 2026-03-15", name) from exc


def _as_of(request: Request) -> date:
    return _date(request, "as_of") or get_services().clock.now().date()


def _currency(request: Request, default: str | None = "EUR") -> str | None:
    raw = query_str(request, "currency")
    return raw.strip().upper() if raw else default


def _months(request: Request) -> int:
    return query_int(request, "period_months", DEFAULT_PERIOD_MONTHS)


def _wants_csv(request: Request) -> bool:
    wanted = (query_str(request, "format") or "json").lower()
    if wanted not in ("json", "csv"):
        raise ValidationError("format must be json or csv", "format")
    return wanted == "csv"


def _csv(rows: list[list[str]], name: str) -> Response:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return Response(
        out.getvalue(),
        status_code=200,
        headers={
            "Content-Type": f"{CSV}; charset=utf-8",
            "Content-Disposition": f'attachment; filename="{name}.csv"',
        },
    )


def _answer(
    request: Request, name: str, rows: Callable[[], list[list[str]]], body: pydantic.BaseModel
) -> pydantic.BaseModel | Response:
    return _csv(rows(), name) if _wants_csv(request) else body


def report_route(
    path: str, summary: str, response: type[pydantic.BaseModel], *query: QueryParam
) -> Callable[[Callable[..., object]], Callable[..., Response]]:
    return api_route(
        bp,
        path,
        summary=summary,
        role=Role.VIEWER,
        response=response,
        query=(AS_OF, *query, FORMAT),
        alternate_content_types=(CSV,),
    )


@report_route(
    "/admin/reports/aging",
    "Aging buckets (not due, 1-30, 31-60, 61-90, over 90) by customer and in total",
    AgingOut,
    CURRENCY,
)
def aging_report(request: Request, **_: Any) -> object:
    result = get_services().reports.aging(_as_of(request), _currency(request) or "EUR")
    report = result.report
    name = f"aging-{report.currency}-{report.as_of.isoformat()}"
    return _answer(
        request, name, lambda: to_csv_rows(report), AgingOut.of(report, result.skipped_invoices)
    )


@report_route(
    "/admin/reports/dso",
    "Days sales outstanding, countback method, month by month",
    DsoOut,
    CURRENCY,
    PERIOD_MONTHS,
)
def dso_report(request: Request, **_: Any) -> object:
    report = get_services().reports.dso(
        _as_of(request), _currency(request) or "EUR", _months(request)
    )
    name = f"dso-{report.report.currency}-{report.report.as_of.isoformat()}"
    return _answer(request, name, lambda: to_csv_rows(report.report), DsoOut.of(report.report))


@report_route(
    "/admin/reports/cei",
    "Collection effectiveness index over a period",
    CeiOut,
    CURRENCY,
    *PERIOD,
)
def cei_report(request: Request, **_: Any) -> object:
    report = (
        get_services()
        .reports.cei(
            _as_of(request),
            _currency(request) or "EUR",
            _date(request, "period_start"),
            _date(request, "period_end"),
            _months(request),
        )
        .report
    )
    name = f"cei-{report.currency}-{report.period_start}-{report.period_end}"
    return _answer(request, name, lambda: to_csv_rows(report), CeiOut.of(report))


@report_route(
    "/admin/reports/days-delinquent",
    "Average days delinquent (DSO - best possible DSO) and days late of paid invoices",
    DaysDelinquentOut,
    CURRENCY,
    PERIOD_MONTHS,
)
def days_delinquent_report(request: Request, **_: Any) -> object:
    report = (
        get_services()
        .reports.days_delinquent(_as_of(request), _currency(request) or "EUR", _months(request))
        .report
    )
    name = f"days-delinquent-{report.currency}-{report.as_of.isoformat()}"
    return _answer(request, name, lambda: to_csv_rows(report), DaysDelinquentOut.of(report))


def _period_args(request: Request) -> tuple[Any, ...]:
    """as_of, currency (any), period start and end, months: the count reports' parameters."""
    return (
        _as_of(request),
        _currency(request, None),
        _date(request, "period_start"),
        _date(request, "period_end"),
        _months(request),
    )


@report_route(
    "/admin/reports/recovery",
    "Recovery rate and median days to payment after each policy step",
    RecoveryOut,
    ANY_CURRENCY,
)
def recovery_report(request: Request, **_: Any) -> object:
    report = get_services().reports.recovery(_as_of(request), _currency(request, None)).report
    name = f"recovery-{report.as_of.isoformat()}"
    return _answer(request, name, lambda: to_csv_rows(report), RecoveryOut.of(report))


@report_route(
    "/admin/reports/promises",
    "Promises to pay due in a period: kept, broken, pending, kept rate",
    PromisesOut,
    ANY_CURRENCY,
    *PERIOD,
)
def promises_report(request: Request, **_: Any) -> object:
    report = get_services().reports.promises(*_period_args(request)).report
    name = f"promises-{report.period_start}-{report.period_end}"
    return _answer(request, name, lambda: to_csv_rows(report), PromisesOut.of(report))


@report_route(
    "/admin/reports/disputes",
    "Share of the invoices issued in a period that were disputed",
    DisputesOut,
    ANY_CURRENCY,
    *PERIOD,
)
def disputes_report(request: Request, **_: Any) -> object:
    report = get_services().reports.disputes(*_period_args(request)).report
    name = f"disputes-{report.period_start}-{report.period_end}"
    return _answer(request, name, lambda: to_csv_rows(report), DisputesOut.of(report))


@report_route(
    "/admin/reports/kpis",
    "Every indicator at once: DSO, CEI, days delinquent, recovery, promises, disputes",
    KpisOut,
    CURRENCY,
    *PERIOD,
)
def kpis_report(request: Request, **_: Any) -> object:
    result = get_services().reports.kpis(
        _as_of(request),
        _currency(request) or "EUR",
        period_months=_months(request),
        period_start=_date(request, "period_start"),
        period_end=_date(request, "period_end"),
    )
    k = result.report
    body = KpisOut(
        as_of=k.as_of,
        currency=k.currency,
        period_start=k.period.start,
        period_end=k.period.end,
        dso=DsoOut.of(k.dso),
        days_delinquent=DaysDelinquentOut.of(k.days_delinquent),
        cei=CeiOut.of(k.cei),
        recovery=RecoveryOut.of(k.recovery),
        promises=PromisesOut.of(k.promises),
        disputes=DisputesOut.of(k.disputes),
        skipped_invoices=result.skipped_invoices,
    )
    return _answer(
        request, f"kpis-{k.currency}-{k.as_of.isoformat()}", lambda: kpi_csv_rows(k), body
    )
