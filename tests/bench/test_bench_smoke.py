"""`make bench` in miniature: a --quick run writes every figure beside its bound."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

EXPECTED_FIGURES = {
    *(
        f"import.{fmt}.{name}"
        for fmt in ("csv", "ubl", "facturx")
        for name in (
            "reader_invoices_per_cpu_s",
            "emulator_invoices_per_cpu_s",
            "ddb_requests_per_invoice",
            "ddb_items_read_per_invoice",
            "ddb_items_written_per_invoice",
            "ddb_wru_per_invoice",
            "ddb_rru_per_invoice",
        )
    ),
    "import.csv_policy_read_once.ddb_requests_per_invoice",
    "import.redelivered_upload.ddb_requests",
    "dunning.planner.items_read_per_run",
    "dunning.planner.ddb_requests_per_run",
    "dunning.planner.ddb_requests_per_idle_run",
    "dunning.ddb_requests_per_reminder",
    "dunning.ddb_requests_per_due_invoice",
    "dunning.ddb_items_read_per_due_invoice",
    "dunning.ddb_items_written_per_reminder",
    "dunning.ddb_wru_per_reminder",
    "dunning.ddb_rru_per_reminder",
    "dunning.decisions_per_cpu_s",
    *(
        f"webhooks.{provider}.{name}"
        for provider in ("generic", "stripe")
        for name in (
            "ddb_requests_per_webhook",
            "ddb_requests_per_duplicate",
            "ddb_wru_per_webhook",
            "ddb_wru_per_duplicate",
        )
    ),
    "cold_start.app_import_ms_cached",
    *(
        f"cost.{region}.{size}.{name}"
        for region in ("us-east-1", "eu-west-3")
        for size in (10_000, 1_000_000)
        for name in ("infra_usd_month", "total_usd_month")
    ),
}

FIGURE_FIELDS = {
    "key",
    "section",
    "label",
    "value",
    "unit",
    "bound",
    "bound_kind",
    "bound_basis",
    "ratio",
    "target",
    "method",
    "note",
}


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, str]:
    output = tmp_path_factory.mktemp("bench") / "results.json"
    # A subprocess: moto's backends are process-wide, and the bench sets its own environment.
    done = subprocess.run(
        [sys.executable, "-m", "bench.run", "--quick", "--no-progress", "--output", str(output)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(output.read_text()), done.stdout


def test_quick_run_writes_the_documented_top_level_keys(quick_run):
    results, _ = quick_run

    assert {
        "schema_version",
        "mode",
        "generated_at",
        "duration_s",
        "phase_seconds",
        "environment",
        "sizes",
        "as_of",
        "figures",
        "cold_start",
        "cost",
        "details",
        "notes",
    } <= set(results)
    assert results["mode"] == "quick"
    assert results["schema_version"] == 1


def test_quick_run_reports_every_expected_figure(quick_run):
    results, _ = quick_run

    assert set(results["figures"]) >= EXPECTED_FIGURES
    assert all(key == figure["key"] for key, figure in results["figures"].items())


def test_every_figure_has_a_bound_and_a_ratio(quick_run):
    results, _ = quick_run

    for key, figure in results["figures"].items():
        assert set(figure) == FIGURE_FIELDS, key
        assert figure["bound_kind"] in {"lower", "upper", "required"}, key
        assert figure["bound"] is not None, key
        assert figure["bound_basis"], key
        if figure["value"] is not None and figure["bound"]:
            assert figure["ratio"] == pytest.approx(figure["value"] / figure["bound"], rel=1e-3)


def test_measured_counts_are_real_numbers_not_placeholders(quick_run):
    results, _ = quick_run
    figures = results["figures"]

    planner = figures["dunning.planner.items_read_per_run"]
    assert planner["value"] >= planner["bound"] > 0
    assert figures["dunning.ddb_requests_per_reminder"]["value"] >= 1
    assert results["details"]["worker"]["reminders_sent"] > 0
    csv_requests = figures["import.csv.ddb_requests_per_invoice"]
    assert csv_requests["value"] > csv_requests["bound"]
    assert figures["webhooks.generic.ddb_requests_per_duplicate"]["value"] >= 1


def test_cost_figures_are_priced_from_the_prices_file(quick_run):
    results, _ = quick_run
    prices = json.loads((ROOT / "bench" / "prices.json").read_text())

    assert results["cost"]["prices_copied_on"] == prices["copied_on"]
    for scenario in results["cost"]["scenarios"].values():
        assert scenario["measured"]["total"] >= scenario["measured"]["infra"] > 0
        assert scenario["floor"]["infra"] > 0


def test_the_table_prints_each_figure_beside_its_bound(quick_run):
    results, stdout = quick_run

    for figure in results["figures"].values():
        assert figure["label"] in stdout
    assert "floor" in stdout
    assert "ceiling" in stdout


def test_every_price_names_its_source_and_evidence_label():
    prices = json.loads((ROOT / "bench" / "prices.json").read_text())

    assert prices["copied_on"]
    for region, entries in prices["regions"].items():
        for name, price in entries.items():
            assert price["usd"] > 0, (region, name)
            assert price["label"] in {"V", "S", "U"}, (region, name)
            assert price["source"], (region, name)
