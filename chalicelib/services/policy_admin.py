"""Service: reading and saving dunning policies (validated, versioned)."""

from __future__ import annotations

from chalicelib.domain.errors import NotFoundError
from chalicelib.domain.policies import DEFAULT_FRENCH_B2B_POLICY, DunningPolicy, ensure_valid_policy
from chalicelib.schemas.policies import PolicyIn
from chalicelib.services.ports import PolicyStore


class PolicyAdmin:
    """Policies as admins see them; the built-in default is version 1 until changed."""

    def __init__(self, store: PolicyStore) -> None:
        self._store = store

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
        return policy
