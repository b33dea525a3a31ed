"""Service: reading and saving dunning policies (validated, versioned)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from chalicelib.domain.errors import NotFoundError, ValidationError
from chalicelib.domain.policies import (
    DEFAULT_FRENCH_B2B_POLICY,
    DunningPolicy,
    PolicyAssignmentRule,
    ensure_valid_policy,
)
from chalicelib.schemas.policies import PolicyIn
from chalicelib.services.ports import PolicyStore


class PolicyAdmin:
    """Policies as admins see them; the built-in default is version 1 until changed."""

    def __init__(
        self, store: PolicyStore, on_rules_saved: Callable[[], None] = lambda: None
    ) -> None:
        self._store = store
        self._on_rules_saved = on_rules_saved

    def list(self) -> list[DunningPolicy]:
        """The latest version of every policy, the default included."""
        stored = {p.policy_id: p for p in self._store.list()}
        stored.setdefault(DEFAULT_FRENCH_B2B_POLICY.policy_id, DEFAULT_FRENCH_B2B_POLICY)
        return sorted(stored.values(), key=lambda p: p.policy_id)

    def get(self, policy_id: str, version: int | None = None) -> DunningPolicy:
        """One policy (latest, or a given version).

        Raises:
            NotFoundError: unknown policy or version.
        """
        found = self._store.get(policy_id, version)
        if (
            found is None
            and policy_id == DEFAULT_FRENCH_B2B_POLICY.policy_id
            and version in (None, DEFAULT_FRENCH_B2B_POLICY.version)
        ):
            found = DEFAULT_FRENCH_B2B_POLICY
        if found is None:
            raise NotFoundError(
                f"no policy {policy_id}" + (f" version {version}" if version else "")
            )
        return found

    def save(self, policy_id: str, body: PolicyIn) -> DunningPolicy:
        """Business rule: every save is a new version; running invoices keep theirs.

        Raises:
            ValidationError: the policy is invalid (the field is named).
            ConcurrentUpdateError: someone saved the same version first.
        """
        try:
            current = self.get(policy_id).version
        except NotFoundError:
            current = 0
        policy = ensure_valid_policy(body.to_domain(policy_id, current + 1))
        self._store.put(policy)
        self._on_rules_saved()
        return policy

    def rules(self) -> Sequence[PolicyAssignmentRule]:
        """The assignment rules, lowest priority number first."""
        return sorted(self._store.rules(), key=lambda r: r.priority)

    def save_rules(self, rules: Sequence[PolicyAssignmentRule]) -> Sequence[PolicyAssignmentRule]:
        """Replace the rule set; every rule must name an existing policy.

        Raises:
            ValidationError: a rule names an unknown policy (the field says which rule).
        """
        for index, rule in enumerate(rules):
            try:
                self.get(rule.policy_id)
            except NotFoundError as exc:
                raise ValidationError(
                    f"no policy {rule.policy_id}", field=f"rules[{index}].policy_id"
                ) from exc
        self._store.put_rules(rules)
        self._on_rules_saved()
        return self.rules()
