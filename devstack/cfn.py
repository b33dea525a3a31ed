"""Read infra/resources.yaml and resolve its intrinsic functions for a local deployment."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_PATH = ROOT / "infra" / "resources.yaml"
_SUB_VAR = re.compile(r"\$\{([^}]+)\}")


def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    # The template avoids YAML short tags (!Ref) so that a plain safe_load reads it.
    with path.open(encoding="utf-8") as handle:
        loaded = yaml.safe_load(handle)
    if not isinstance(loaded, dict):
        raise ValueError(f"{path} is not a CloudFormation template")
    return loaded


class Resolver:
    """Resolves Ref, Fn::GetAtt and Fn::Sub against parameters and created resources."""

    def __init__(
        self,
        parameters: dict[str, str],
        pseudo: dict[str, str],
        ref: Callable[[str], str],
        get_att: Callable[[str, str], str],
    ) -> None:
        self._parameters = parameters
        self._pseudo = pseudo
        self._ref = ref
        self._get_att = get_att

    def _name(self, name: str) -> str:
        if name in self._parameters:
            return self._parameters[name]
        if name in self._pseudo:
            return self._pseudo[name]
        if "." in name:
            logical, attribute = name.split(".", 1)
            return self._get_att(logical, attribute)
        return self._ref(name)

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if set(value) == {"Ref"}:
            return self._name(value["Ref"])
        if set(value) == {"Fn::GetAtt"}:
            logical, attribute = value["Fn::GetAtt"]
            return self._get_att(logical, attribute)
        if set(value) == {"Fn::Sub"}:
            return _SUB_VAR.sub(lambda m: self._name(m.group(1)), value["Fn::Sub"])
        return {k: self.resolve(v) for k, v in value.items()}
