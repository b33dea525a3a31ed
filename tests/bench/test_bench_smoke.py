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
    "import.CSV: invoices per CPU second, reader alone (CPU only)",
    "import.UBL: invoices per CPU second, reader alone (CPU only)",
    "import.Factur-X: invoices per CPU second, reader alone (CPU only)",
    "import.CSV: invoices per CPU second, against the emulator",
    "import.CSV: DynamoDB requests per imported invoice",
    "import.CSV: items read per imported invoice",
    "import.CSV: items written per imported invoice",
    "import.CSV: write units per imported invoice",
    "import.UBL: DynamoDB requests per imported invoice",
    "import.Factur-X: DynamoDB requests per imported invoice",
    "import.same upload delivered again: DynamoDB requests",
    "dunning.planner: items read per run, 600 invoices, 1 % due",
    "dunning.planner: DynamoDB requests per run, 600 invoices, 1 % due",
    "dunning.DynamoDB requests per reminder sent",
    "dunning.DynamoDB requests per due invoice examined",
    "dunning.engine decisions per CPU second (pure decide())",
    "webhooks.generic: DynamoDB requests per webhook",
    "webhooks.generic: DynamoDB requests per duplicate webhook",
    "webhooks.stripe: DynamoDB requests per webhook",
    "webhooks.stripe: DynamoDB requests per duplicate webhook",
    "cold start.import app, bytecode cached",
    "cost.us-east-1, 10,000 open invoices: infrastructure",
    "cost.us-east-1, 1,000,000 open invoices: with email (SES)",
    "cost.eu-west-3, 1,000,000 open invoices: infrastructure",
}

FIGURE_FIELDS = {
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


def _labels(results: dict) -> set[str]:
    return {f"{f['section']}.{f['label']}" for f in results["figures"].values()}


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

    assert _labels(results) >= EXPECTED_FIGURES


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
    figures = {f"{f['section']}.{f['label']}": f for f in results["figures"].values()}

    planner = figures["dunning.planner: items read per run, 600 invoices, 1 % due"]
    assert planner["value"] >= planner["bound"] > 0
    reminder = figures["dunning.DynamoDB requests per reminder sent"]
    assert reminder["value"] >= 1
    assert results["details"]["worker"]["reminders_sent"] > 0
    csv_requests = figures["import.CSV: DynamoDB requests per imported invoice"]
    assert csv_requests["value"] > csv_requests["bound"]


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
