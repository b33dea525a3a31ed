"""Cold import time of the Lambda entry points, from `python -X importtime` in fresh processes.

Every function (the API, the schedule, the queue and topic consumers) is `app.py`: Chalice
imports that one module for each of them, so one figure covers every entry point.

Two cases:
- bytecode cached: `__pycache__` from earlier runs is used (a developer's machine);
- as deployed: `chalice package` ships no `.pyc` files and Lambda's code directory is read-only,
  so every module is compiled from source at each cold start. An empty `PYTHONPYCACHEPREFIX`
  per run reproduces that: nothing cached is read.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
from collections import defaultdict
from dataclasses import dataclass

from bench.stack import ROOT, import_environment

APP_STATEMENT = "import app"
FLOOR_STATEMENT = "import chalice.app, boto3"
"""The floor: the framework every handler needs plus the AWS SDK every function uses."""


@dataclass(frozen=True, slots=True)
class ImportLine:
    self_us: int
    cumulative_us: int
    depth: int
    module: str


@dataclass(frozen=True, slots=True)
class ImportProfile:
    """One fresh interpreter's `-X importtime` report."""

    lines: tuple[ImportLine, ...]

    def total_us(self, startup: frozenset[str]) -> int:
        """Import time of what the statement imported (top-level entries not from startup)."""
        return sum(
            line.cumulative_us
            for line in self.lines
            if line.depth == 0 and line.module not in startup
        )

    def self_by_package(self, startup: frozenset[str]) -> dict[str, int]:
        totals: dict[str, int] = defaultdict(int)
        for line in self.lines:
            if line.module not in startup:
                totals[line.module.split(".")[0]] += line.self_us
        return dict(totals)


def parse_importtime(stderr: str) -> ImportProfile:
    lines = []
    for raw in stderr.splitlines():
        if not raw.startswith("import time:") or "self [us]" in raw:
            continue
        self_us, cumulative_us, name = raw[len("import time:") :].split("|", 2)
        stripped = name.lstrip(" ")
        depth = (len(name) - len(stripped) - 1) // 2
        lines.append(ImportLine(int(self_us), int(cumulative_us), depth, stripped.strip()))
    return ImportProfile(tuple(lines))


def profile(statement: str, *, cached_bytecode: bool) -> ImportProfile:
    env = import_environment()
    with tempfile.TemporaryDirectory(prefix="relance-pycache-") as empty:
        if not cached_bytecode:
            env["PYTHONPYCACHEPREFIX"] = empty
        done = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", statement],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
    if done.returncode != 0:
        raise RuntimeError(f"`{statement}` failed in a fresh interpreter:\n{done.stderr[-2000:]}")
    return parse_importtime(done.stderr)


@dataclass(frozen=True, slots=True)
class ColdImport:
    """Median import time of `app` and of the floor over fresh interpreters."""

    runs: int
    cached_bytecode: bool
    app_ms: float
    floor_ms: float
    heaviest: tuple[tuple[str, float], ...]
    """Top-level packages by their own import time (median ms), heaviest first."""


def cold_import(runs: int, *, cached_bytecode: bool, warm: bool = True) -> ColdImport:
    if cached_bytecode and warm:
        # Warm the cache once, so that "cached" means cached for every measured run.
        profile(APP_STATEMENT, cached_bytecode=True)
    startup = frozenset(
        line.module for line in profile("pass", cached_bytecode=cached_bytecode).lines
    )
    app_totals, floor_totals = [], []
    packages: dict[str, list[int]] = defaultdict(list)
    for _ in range(runs):
        app = profile(APP_STATEMENT, cached_bytecode=cached_bytecode)
        app_totals.append(app.total_us(startup))
        for package, self_us in app.self_by_package(startup).items():
            packages[package].append(self_us)
        floor_totals.append(
            profile(FLOOR_STATEMENT, cached_bytecode=cached_bytecode).total_us(startup)
        )
    heaviest = sorted(
        (
            (name, statistics.median(values + [0] * (runs - len(values))) / 1000)
            for name, values in packages.items()
        ),
        key=lambda item: -item[1],
    )[:5]
    return ColdImport(
        runs=runs,
        cached_bytecode=cached_bytecode,
        app_ms=statistics.median(app_totals) / 1000,
        floor_ms=statistics.median(floor_totals) / 1000,
        heaviest=tuple((name, round(ms, 1)) for name, ms in heaviest),
    )


def lambda_functions() -> list[str]:
    """The Lambda functions that share `app.py` (Chalice's API handler and each event source)."""
    env = import_environment()
    code = (
        "from app import app\n"
        "names = ['api_handler'] if app.routes else []\n"
        "names += sorted(s.name for s in app.event_sources)\n"
        "print(','.join(names))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    return [name for name in done.stdout.strip().split(",") if name]
