"""Check the packaged template and zip: every handler and the runtime templates are inside."""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

import yaml

EXPECTED_FUNCTIONS = ("APIHandler",)


def main(out_dir: str) -> int:
    out = Path(out_dir)
    template = yaml.safe_load((out / "sam.yaml").read_text())
    resources = template["Resources"]
    problems = [f"missing function {name}" for name in EXPECTED_FUNCTIONS if name not in resources]
    with zipfile.ZipFile(out / "deployment.zip") as archive:
        names = set(archive.namelist())
    if "app.py" not in names:
        problems.append("app.py is not in deployment.zip")
    templates = [n for n in names if n.startswith("chalicelib/templates/") and n.endswith(".j2")]
    source = Path("chalicelib/templates")
    expected = {str(p) for p in source.rglob("*.j2")}
    missing = expected - set(templates)
    if missing:
        problems.append(f"templates missing from deployment.zip: {sorted(missing)[:5]}")
    functions = sorted(k for k, v in resources.items() if v["Type"] == "AWS::Serverless::Function")
    for problem in problems:
        print(f"package check: {problem}", file=sys.stderr)
    if not problems:
        print(
            f"package check: {len(functions)} functions ({', '.join(functions)}), "
            f"{len(templates)} templates, {len(names)} files in deployment.zip"
        )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "out"))
