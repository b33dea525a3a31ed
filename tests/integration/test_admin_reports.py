"""Reports through the HTTP API on moto reproduce the hand-computed example of docs/reports.md."""

from __future__ import annotations

import csv
import io
import json

import pytest

from chalicelib.adapters.dynamodb.customers import DynamoCustomerRepository
from chalicelib.adapters.dynamodb.invoices import DynamoInvoiceRepository
from chalicelib.adapters.dynamodb.timeline import DynamoTimeline
from chalicelib.bootstrap import get_services
from tests.report_portfolio import portfolio

AGING_CSV = """\
customer_id,customer_name,currency,invoices,not_due,1-30,31-60,61-90,over_90,total
C1,Atelier Dupont,EUR,2,1200.00,500.00,0.00,0.00,0.00,1700.00
C3,Cafe Lumiere,EUR,2,0.00,700.00,0.00,0.00,300.00,1000.00
C2,Boulangerie Martin,EUR,2,0.00,0.00,500.00,450.00,0.00,950.00
TOTAL,,EUR,6,1200.00,1200.00,500.00,450.00,300.00,3650.00
"""
DSO_CSV = """\
month_start,month_end,days,credit_sales,receivables_to_cover,days_counted,receivables_left,currency
2026-03-01,2026-03-15,15,1200.00,3650.00,15.00,2450.00,EUR
2026-02-01,2026-02-28,28,1400.00,2450.00,28.00,1050.00,EUR
2026-01-01,2026-01-31,31,2200.00,1050.00,14.80,0.00,EUR
TOTAL,,74,4800.00,3650.00,57.80,0.00,EUR
"""


@pytest.fixture
def example(stack):
    services = get_services()
    customers, invoices, events = portfolio()
    DynamoCustomerRepository().save_new_batch(customers)
    DynamoInvoiceRepository(shards=services.settings.due_index_shards).save_new_batch(invoices)
    DynamoTimeline().append(events)


def get(api, headers, url):
    response = api.http.get(url, headers=headers)
    assert response.status_code == 200, response.body
    return response


def csv_rows(response) -> list[list[str]]:
    assert response.headers["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.body.decode())))


def expected(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_aging_json_and_csv(api, admin_headers, example):
    body = get(api, admin_headers, "/admin/reports/aging?as_of=2026-03-15&currency=EUR").json_body
    exported = get(api, admin_headers, "/admin/reports/aging?as_of=2026-03-15&format=csv")

    assert body["total"] == {
        "not_due": "1200.00",
        "days_1_30": "1200.00",
        "days_31_60": "500.00",
        "days_61_90": "450.00",
        "over_90": "300.00",
        "total": "3650.00",
    }
    assert [c["customer_id"] for c in body["customers"]] == ["C1", "C3", "C2"]
    assert body["excluded_other_currency"] == 1
    assert body["excluded_cancelled_or_written_off"] == 2
    assert csv_rows(exported) == expected(AGING_CSV)
    assert "attachment" in exported.headers["Content-Disposition"]


def test_dso_csv_walks_back_month_by_month(api, admin_headers, example):
    exported = get(api, admin_headers, "/admin/reports/dso?as_of=2026-03-15&format=csv")
    one_month = get(api, admin_headers, "/admin/reports/dso?as_of=2026-03-15&period_months=1")

    assert csv_rows(exported) == expected(DSO_CSV)
    assert one_month.json_body["dso"] == "15.00"
    assert one_month.json_body["is_lower_bound"] is True


def test_kpis_reproduce_the_hand_computed_values(api, admin_headers, example):
    kpis = get(api, admin_headers, "/admin/reports/kpis?as_of=2026-03-15&currency=EUR").json_body

    assert kpis["dso"]["dso"] == "57.80"
    assert kpis["days_delinquent"]["dso"] == "56.27"
    assert kpis["days_delinquent"]["best_possible_dso"] == "18.50"
    assert kpis["days_delinquent"]["average_days_delinquent"] == "37.77"
    assert kpis["days_delinquent"]["average_days_late_paid"] == "13.44"
    assert [
        (
            s["step_id"],
            s["reached"],
            s["recovered"],
            s["recovery_rate"],
            s["median_days_to_payment"],
        )
        for s in kpis["recovery"]["steps"]
    ] == [
        ("pre_due", 1, 1, "100.00", "1.00"),
        ("reminder_1", 8, 2, "25.00", "19.50"),
        ("reminder_2", 4, 1, "25.00", "19.00"),
        ("formal_notice", 2, 0, "0.00", None),
    ]
    assert kpis["skipped_invoices"] == 0


def test_cei_promises_and_disputes_over_their_periods(api, admin_headers, example):
    cei = get(
        api,
        admin_headers,
        "/admin/reports/cei?as_of=2026-03-15&period_start=2026-02-01&period_end=2026-02-28",
    ).json_body
    quarter = "as_of=2026-03-31&period_start=2026-01-01&period_end=2026-03-31"
    promises = get(api, admin_headers, f"/admin/reports/promises?{quarter}&currency=EUR").json_body
    disputes = get(api, admin_headers, f"/admin/reports/disputes?{quarter}&currency=EUR").json_body
    every = get(api, admin_headers, f"/admin/reports/disputes?{quarter}").json_body
    recovery_all = get(api, admin_headers, "/admin/reports/recovery?as_of=2026-03-15").json_body

    assert (cei["beginning_receivables"], cei["credit_sales"]) == ("2950.00", "1400.00")
    assert (cei["ending_receivables"], cei["ending_current_receivables"]) == ("3350.00", "1400.00")
    assert cei["cei"] == "33.90"
    assert (promises["kept"], promises["broken"], promises["pending"]) == (2, 2, 1)
    assert promises["kept_rate"] == "50.00"
    assert (disputes["issued"], disputes["disputed"], disputes["dispute_rate"]) == (7, 2, "28.57")
    assert every["dispute_rate"] == "25.00"
    reminder_1 = next(s for s in recovery_all["steps"] if s["step_id"] == "reminder_1")
    assert reminder_1["recovery_rate"] == "22.22"


@pytest.mark.parametrize(
    "path",
    [
        "cei?as_of=2026-03-15&period_start=2026-02-01&period_end=2026-02-28",
        "days-delinquent?as_of=2026-03-15",
        "recovery?as_of=2026-03-15",
        "promises?as_of=2026-03-31",
        "disputes?as_of=2026-03-31",
        "kpis?as_of=2026-03-15",
    ],
)
def test_every_report_exports_csv_with_a_header(api, admin_headers, example, path):
    rows = csv_rows(get(api, admin_headers, f"/admin/reports/{path}&format=csv"))

    assert len(rows) > 1
    assert rows[0][0] in ("metric", "step_id")
    assert all(len(row) == len(rows[0]) for row in rows)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("aging?as_of=15/03/2026", "as_of"),
        ("aging?currency=euro", "currency"),
        ("aging?format=xlsx", "format"),
        ("dso?period_months=0", "period_months"),
        ("dso?period_months=x", "period_months"),
        ("cei?period_start=2026-03-01&period_end=2026-02-01", "period_start"),
        ("promises?period_end=31-03-2026", "period_end"),
        ("recovery?currency=12", "currency"),
    ],
)
def test_bad_report_parameters_name_the_field(api, admin_headers, query, field):
    response = api.http.get(f"/admin/reports/{query}", headers=admin_headers)

    assert response.status_code == 422
    assert json.loads(response.body)["field"] == field


def test_empty_portfolio_reports_nothing_without_errors(api, admin_headers, stack):
    aging = get(api, admin_headers, "/admin/reports/aging").json_body
    kpis = get(api, admin_headers, "/admin/reports/kpis").json_body

    assert aging["total"]["total"] == "0.00"
    assert kpis["dso"]["dso"] is None
    assert kpis["cei"]["cei"] is None


def test_openapi_documents_the_csv_export(api):
    document = api.http.get("/openapi.json").json_body

    for name in ("aging", "dso", "cei", "days-delinquent", "recovery", "promises", "disputes"):
        operation = document["paths"][f"/admin/reports/{name}"]["get"]
        assert set(operation["responses"]["200"]["content"]) == {"application/json", "text/csv"}
        assert "format" in {p["name"] for p in operation["parameters"]}
