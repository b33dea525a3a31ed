"""A figure is a measured value beside its bound; the table prints them side by side."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

BoundKind = Literal["lower", "upper", "required"]
"""lower: the least any design could do (counts, costs, times); upper: the most any reader or
loop could do (parse-only ceilings); required: the least needed to meet a documented limit."""


@dataclass(frozen=True, slots=True)
class Figure:
    """One reported number; `ratio` = value / bound (how far from the bound we are).

    `key` is stable across runs and modes (docs/benchmarks.md lists every key).
    """

    key: str
    section: str
    label: str
    value: float | None
    unit: str
    bound: float | None
    bound_kind: BoundKind
    bound_basis: str
    method: str = "measured"
    target: float | None = None
    note: str | None = None

    @property
    def ratio(self) -> float | None:
        if self.value is None or self.bound is None or self.bound == 0:
            return None
        return self.value / self.bound

    def as_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "section": self.section,
            "label": self.label,
            "value": _clean(self.value),
            "unit": self.unit,
            "bound": _clean(self.bound),
            "bound_kind": self.bound_kind,
            "bound_basis": self.bound_basis,
            "ratio": _clean(self.ratio),
            "target": self.target,
            "method": self.method,
            "note": self.note,
        }


def _clean(value: float | None) -> float | None:
    if value is None or math.isnan(value) or math.isinf(value):
        return None
    return float(f"{value:.6g}")


def fmt(value: float | None) -> str:
    if value is None:
        return "n/a"
    magnitude = abs(value)
    if magnitude == 0:
        return "0"
    if magnitude >= 100_000:
        return f"{value:,.0f}"
    if magnitude >= 100:
        return f"{value:,.1f}"
    if magnitude >= 1:
        return f"{value:.2f}"
    if magnitude >= 0.01:
        return f"{value:.3f}"
    return f"{value:.2g}"


def table(figures: list[Figure]) -> str:
    """The stdout table: one line per figure, grouped by section."""
    rows: list[tuple[str, ...]] = []
    section = None
    for figure in figures:
        if figure.section != section:
            section = figure.section
            rows.append((f"[{section}]", "", "", "", "", ""))
        kind = {"lower": "floor", "upper": "ceiling", "required": "needed"}[figure.bound_kind]
        ratio = figure.ratio
        target = f" (target {fmt(figure.target)})" if figure.target is not None else ""
        flag = "" if figure.method == "measured" else f" [{figure.method}]"
        rows.append(
            (
                "  " + figure.label + flag,
                fmt(figure.value),
                figure.unit,
                f"{kind} {fmt(figure.bound)}",
                (f"x{ratio:.2f}" if ratio is not None else "") + target,
                figure.note or "",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    lines = []
    for row in rows:
        if row[0].startswith("["):
            lines.append(row[0])
            continue
        cells = [
            row[0].ljust(widths[0]),
            row[1].rjust(widths[1]),
            row[2].ljust(widths[2]),
            row[3].ljust(widths[3]),
            row[4].ljust(widths[4]),
        ]
        text = "  ".join(cells).rstrip()
        if row[5]:
            text += "  -- " + row[5]
        lines.append(text)
    return "\n".join(lines)
